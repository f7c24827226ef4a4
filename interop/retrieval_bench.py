"""The retrieval section of `cargo xtask bench --vs-python`: per mode and graph
engine, our `Retriever::retrieve` (`lightrag-pg-interop bench-retrieval`)
against Python LightRAG's `aquery_data` on the same workspace, in one run, and
the server floor (the execution time of our statements, EXPLAIN ANALYZE).

    python retrieval_bench.py [--dataset NAME] [--runs N] [--out FILE]

The dataset is migrated by `lightrag-pg migrate` into one workspace per engine.
Both sides embed through the same local OpenAI-compatible endpoint
(retrieval.EmbeddingServer): Python through LightRAG's own `openai_embed`
binding, ours through its HTTP embedder. Keywords are given (no LLM), the
tokenizer is LightRAG's default (o200k_base), the threshold -1 (every hit
passes, as the query vectors are hashes). Medians of --runs queries per mode
after one warm-up each.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time

import retrieval as r  # sets up tiktoken offline first

from lightrag import LightRAG, QueryParam  # noqa: E402
from lightrag.llm.openai import openai_embed  # noqa: E402
from lightrag.utils import EmbeddingFunc  # noqa: E402

import harness as h  # noqa: E402
from harness import log  # noqa: E402
from offline import scripted_llm  # noqa: E402

MODES = ["local", "global", "hybrid", "mix", "naive"]
IBIN = os.environ.get("LIGHTRAG_PG_INTEROP_BIN", str(h.ROOT / "target" / "release" / "lightrag-pg-interop"))


def python_rag(ws: str, graph_cls: str, dim: int, model: str, url: str) -> LightRAG:
    async def _embed(texts, **_kwargs):
        return await openai_embed.func(texts, model=model, base_url=url, api_key="bench")

    return LightRAG(
        working_dir="/tmp/lightrag-interop", workspace=ws, llm_model_func=scripted_llm,
        embedding_func=EmbeddingFunc(embedding_dim=dim, max_token_size=8192, func=_embed, model_name=model),
        kv_storage="PGKVStorage", vector_storage="PGVectorStorage", graph_storage=graph_cls,
        doc_status_storage="PGDocStatusStorage",
        vector_db_storage_cls_kwargs={"cosine_better_than_threshold": -1.0})


async def bench_engine(dataset: str, graph_cls: str, runs: int) -> dict:
    engine = h.GRAPHS[graph_cls]
    ds = h.DATASETS / dataset
    dim = h.dataset_dim(ds)
    model = f"iop-b{h.RUN_ID}"
    ws = h.workspace(f"rb{dataset.split('-')[0][:5]}{engine[0]}")
    await h.cleanup(ws)
    h.rust_migrate(ws, ds, engine, model)
    # Statistics for the planner, as the retrieval scenarios and bench --serve
    # have them: else each side meets whatever autovacuum left at its turn.
    await r.analyze(ws, model, dim)
    hl, ll = r.keywords(ds)
    question = f"What connects {ll[0]} and {ll[1]}?"
    server = r.EmbeddingServer(dim)
    out: dict = {}
    try:
        env = dict(os.environ, EMBEDDING_BINDING="openai", EMBEDDING_BINDING_HOST=server.url, EMBEDDING_MODEL=model,
                   EMBEDDING_DIM=str(dim), COSINE_THRESHOLD="-1")
        p = subprocess.run([IBIN, "bench-retrieval", "-w", ws, "--graph", engine, "--question", question,
                            "--hl", ",".join(hl), "--ll", ",".join(ll), "--modes", ",".join(MODES),
                            "--runs", str(runs)], capture_output=True, text=True, env=env)
        if p.returncode != 0:
            raise h.ScenarioFailure(f"bench-retrieval failed: {p.stderr[-2000:]}")
        ours = json.loads(p.stdout)
        rag = python_rag(ws, graph_cls, dim, model, server.url)
        await rag.initialize_storages()
        try:
            for mode in MODES:
                param = QueryParam(mode=mode, hl_keywords=hl, ll_keywords=ll, enable_rerank=False)
                await rag.aquery_data(question, param)
                times = []
                for _ in range(runs):
                    t = time.perf_counter()
                    await rag.aquery_data(question, param)
                    times.append((time.perf_counter() - t) * 1e3)
                o = ours[mode]
                out[mode] = {"ours_ms": statistics.median(o["ms"]), "python_ms": statistics.median(times),
                             "floor_ms": statistics.median(o["floor_ms"]), "ours_runs": o["ms"],
                             "python_runs": times, "floor_runs": o["floor_ms"]}
        finally:
            await rag.finalize_storages()
    finally:
        server.close()
        await h.cleanup(ws)
        await r.drop_model_tables(model, dim)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="dickens-christmas-carol-en")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--out", default=str(h.ROOT / "target" / "bench-vs-python-retrieval.json"))
    a = ap.parse_args()
    import logging
    logging.getLogger("lightrag").setLevel(logging.ERROR)
    result = {}
    for graph_cls in ["PGGraphStorage", "PGTableGraphStorage"]:
        result[h.GRAPHS[graph_cls]] = asyncio.run(bench_engine(a.dataset, graph_cls, a.runs))
    with open(a.out, "w") as f:
        json.dump({"dataset": a.dataset, "runs": a.runs, "engines": result}, f, indent=1)
    print(f"\nretrieval, {a.dataset}, medians of {a.runs} queries (ms; speed-up = Python / ours)")
    print(f"{'mode':<8} {'engine':<6} {'ours':>8} {'python':>8} {'speed-up':>9} {'floor':>7}")
    for engine, modes in result.items():
        for mode, m in modes.items():
            print(f"{mode:<8} {engine:<6} {m['ours_ms']:>8.1f} {m['python_ms']:>8.1f} "
                  f"{m['python_ms'] / m['ours_ms']:>8.1f}x {m['floor_ms']:>7.2f}")
    print(f"(saved to {a.out})")


if __name__ == "__main__":
    main()
