"""Retrieval interop: our `lightrag-pg query` against Python LightRAG's
`aquery_data` and `aquery(only_need_context=True)`, on a dataset migrated by
`lightrag-pg migrate`, for every mode and both graph engines.

    python retrieval.py                          # every scenario
    python retrieval.py retrieval_sample_age     # some of them

Both sides embed with the same deterministic hashing embedder (hash_embed.py):
ours over HTTP, from a local OpenAI-compatible endpoint this script serves
(`POST /v1/embeddings`), Python in-process. Both use LightRAG's default
tokenizer, tiktoken's `o200k_base`, offline: TIKTOKEN_CACHE_DIR gets the table
that tiktoken-rs ships (`TIKTOKEN_O200K` names the file; by default it is found
in cargo's registry). Keywords are given, so no LLM runs; or none are given, Python's scripted LLM
(offline.py) extracts them and LightRAG caches the reply in lightrag_llm_cache,
where ours finds it under LightRAG's own key.

Compared, per mode: `aquery_data`'s whole dictionary (status, message, data:
entities, relationships, chunks, references in order; metadata), with JSON
numbers by value (N9, the only normalisation; retrieval_compare.py, tested by
test_compare.py), and the context string byte for byte.
"""
from __future__ import annotations

import asyncio
import base64
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


def _tiktoken_offline() -> None:
    """Points tiktoken at a cache holding o200k_base (before LightRAG imports it)."""
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return
    src = os.environ.get("TIKTOKEN_O200K") or next(iter(sorted(glob.glob(
        os.path.join(os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo")),
                     "registry/src/*/tiktoken-rs-*/assets/o200k_base.tiktoken")))), None)
    if not src:
        return  # tiktoken will try to download it; the retrieval scenarios say so if that fails
    cache = Path(tempfile.gettempdir()) / "lightrag-pg-tiktoken"
    cache.mkdir(exist_ok=True)
    shutil.copy(src, cache / hashlib.sha1(TIKTOKEN_URL.encode()).hexdigest())
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)


_tiktoken_offline()

from lightrag import LightRAG, QueryParam  # noqa: E402
from lightrag.utils import EmbeddingFunc  # noqa: E402

import harness as h  # noqa: E402
import hash_embed  # noqa: E402
from retrieval_compare import first_difference  # noqa: E402
from harness import check, log  # noqa: E402
from offline import scripted_llm, scripted_reply  # noqa: E402

MODES = ["local", "global", "hybrid", "mix", "naive", "bypass"]
# Python's connection: nested loops (see compare_dataset) and custom plans. asyncpg
# keeps its prepared statements for the whole scenario, and after five runs
# PostgreSQL may switch one to a generic plan, which orders equally distant
# vectors differently from the custom plan each of our processes gets.
PYTHON_SERVER_SETTINGS = "enable_hashjoin=off&enable_mergejoin=off&plan_cache_mode=force_custom_plan"


def f32(text: str, dim: int) -> list[float]:
    """The shared embedding: the hashing embedder, rounded to float32."""
    return [float(x) for x in np.asarray(hash_embed.embed_text(text, dim), dtype=np.float32)]


def encode(v: list[float], b64: bool):
    """A vector as JSON floats, or (OpenAI's `encoding_format: base64`) little-endian float32."""
    return base64.b64encode(np.asarray(v, dtype="<f4").tobytes()).decode() if b64 else v


def rerank_score(query: str, document: str) -> float:
    """The stand-in rerank model's score: a hash of the pair, in [0, 1)."""
    digest = hashlib.sha1(f"{query}\n{document}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def rerank_reply(body: dict) -> dict:
    """A Cohere/Jina `/rerank` answer (Aliyun's nested shape for an Aliyun
    request): every document scored by `rerank_score`, best first, cut to
    `top_n`."""
    aliyun = "input" in body
    req = body["input"] if aliyun else body
    top_n = (body.get("parameters") or {}).get("top_n") if aliyun else body.get("top_n")
    results = sorted(({"index": i, "relevance_score": rerank_score(req["query"], d)}
                      for i, d in enumerate(req["documents"])), key=lambda r: -r["relevance_score"])
    if top_n is not None:
        results = results[:top_n]
    return {"output": {"results": results}} if aliyun else {"results": results}


class EmbeddingServer:
    """An OpenAI-compatible `/v1/embeddings` endpoint serving `f32` at `dim`
    dimensions, `/v1/chat/completions` answering with the scripted LLM of
    offline.py (keyword extraction, and answers that name the system prompt
    and the history they were asked under), whole or (`stream`) as
    server-sent events, and `/v1/rerank`, a rerank model scoring by
    `rerank_score`. `chat_calls` and `rerank_calls` count the requests."""

    def __init__(self, dim: int):
        dim_ = dim
        self.chat_calls = 0
        self.rerank_calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, and no Nagle: headers and body are two writes, and
            # with Nagle the body waits for the client's delayed ACK (40 ms).
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if self.path.endswith("/chat/completions"):
                    outer.chat_calls += 1
                    if body.get("stream"):
                        return self.stream(chat_text(body))
                    return self.reply(chat_completion(body))
                if self.path.endswith("/rerank"):
                    outer.rerank_calls += 1
                    return self.reply(rerank_reply(body))
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                b64 = body.get("encoding_format") == "base64"
                data = [{"object": "embedding", "index": i, "embedding": encode(f32(t, dim_), b64)}
                        for i, t in enumerate(texts)]
                self.reply({"object": "list", "data": data, "model": body.get("model"),
                            "usage": {"prompt_tokens": 0, "total_tokens": 0}})

            def reply(self, obj: dict) -> None:
                out = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def stream(self, text: str) -> None:
                """The reply as OpenAI's server-sent events, in three pieces."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                cut = [0, len(text) // 3, 2 * len(text) // 3, len(text)]
                for a, b in zip(cut, cut[1:]):
                    chunk = {"id": "chatcmpl-interop", "object": "chat.completion.chunk", "created": 0,
                             "model": "interop-scripted",
                             "choices": [{"index": 0, "delta": {"content": text[a:b]}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def chat_text(body: dict) -> str:
    """The scripted LLM's reply to the last user message (JSON mode, LightRAG's
    keyword extraction, is a `response_format`); an answer also names the MD5
    of the system prompt and the number of earlier messages, so that equal
    answers mean equal prompts."""
    messages = body.get("messages", [])
    prompt = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
    if isinstance(prompt, list):  # content parts
        prompt = "".join(p.get("text", "") for p in prompt if isinstance(p, dict))
    json_mode = (body.get("response_format") or {}).get("type") == "json_object"
    text = scripted_reply(prompt, keyword_extraction=json_mode)
    if json_mode:
        return text
    system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
    earlier = len([m for m in messages if m.get("role") != "system"]) - 1
    return f"{text} [system {hashlib.md5(system.encode()).hexdigest()[:12]}, {earlier} earlier messages]"


def chat_completion(body: dict) -> dict:
    """An OpenAI chat completion of `chat_text`."""
    text = chat_text(body)
    return {"id": "chatcmpl-interop", "object": "chat.completion", "created": 0, "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}


# A second set of settings: weighted polling instead of vector picks, small
# top_k and token budgets, so that entities, relations and chunks get truncated.
TIGHT_ENV = {"KG_CHUNK_PICK_METHOD": "WEIGHT", "RELATED_CHUNK_NUMBER": "3", "TOP_K": "12", "CHUNK_TOP_K": "6",
             "MAX_ENTITY_TOKENS": "300", "MAX_RELATION_TOKENS": "400", "MAX_TOTAL_TOKENS": "5000"}
TIGHT_PARAM = {"top_k": 12, "chunk_top_k": 6, "max_entity_tokens": 300, "max_relation_tokens": 400,
               "max_total_tokens": 5000}


def make_rag(ws: str, graph_cls: str, dim: int, model: str, threshold: float, **kwargs) -> LightRAG:
    async def _embed(texts, **_kwargs):
        return np.array([f32(t, dim) for t in texts], dtype=np.float32)

    os.makedirs("/tmp/lightrag-interop", exist_ok=True)
    return LightRAG(
        working_dir="/tmp/lightrag-interop",
        workspace=ws,
        llm_model_func=scripted_llm,
        embedding_func=EmbeddingFunc(embedding_dim=dim, max_token_size=8192, func=_embed, model_name=model),
        kv_storage="PGKVStorage",
        vector_storage="PGVectorStorage",
        graph_storage=graph_cls,
        doc_status_storage="PGDocStatusStorage",
        vector_db_storage_cls_kwargs={"cosine_better_than_threshold": threshold},
        **kwargs,
    )


def ours(ws: str, engine: str, model: str, dim: int, url: str, threshold: float, question: str, mode: str,
         hl: list[str], ll: list[str], fmt: str, tight: bool = False, extra_env: dict | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "POSTGRES_SERVER_SETTINGS"}
    if tight:
        env.update(TIGHT_ENV)
    env.update(extra_env or {})
    env = dict(env, EMBEDDING_BINDING="openai", EMBEDDING_BINDING_HOST=url, EMBEDDING_MODEL=model,
               EMBEDDING_DIM=str(dim), COSINE_THRESHOLD=str(threshold))
    cmd = [h.BIN, "-w", ws, "query", question, "--mode", mode, "--graph", engine, "--format", fmt]
    if hl:
        cmd += ["--hl-keywords", ",".join(hl)]
    if ll:
        cmd += ["--ll-keywords", ",".join(ll)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise h.ScenarioFailure(f"lightrag-pg query failed (exit {p.returncode}): {p.stderr.strip()[-2000:]}")
    return p.stdout


def keywords(ds: Path) -> tuple[list[str], list[str]]:
    """Deterministic keywords from the dataset's graph: the two most connected
    names (low level) and words of the most common relation keywords (high level)."""
    nodes, edges = h.graphml(ds)
    degree: dict[str, int] = {}
    for a, b in edges:
        degree[a] = degree.get(a, 0) + 1
        degree[b] = degree.get(b, 0) + 1
    top = sorted(nodes, key=lambda n: (-degree.get(n, 0), n))[:2]
    return [f"{top[0]} and {top[1]}", "relationships"], top


async def migrated(dataset: str, graph_cls: str, tag: str) -> tuple[str, Path, int, str, str]:
    """`dataset` migrated by `lightrag-pg migrate` into a fresh workspace, with
    vector tables of this run only (model `iop-<tag><run>`), analyzed:
    (engine, dataset folder, dimension, workspace, model)."""
    engine = h.GRAPHS[graph_cls]
    ds = h.DATASETS / dataset
    dim = h.dataset_dim(ds)
    ws = h.workspace(f"{tag}{dataset.split('-')[0][:5]}{engine[0]}")
    # Vector tables of this run only: an HNSW search in a table shared with
    # other workspaces (or holding their dead rows) is approximate in ways that
    # may change between two queries, e.g. when autovacuum cleans the index.
    model = f"iop-{tag}{h.RUN_ID}"
    await h.cleanup(ws)
    h.rust_migrate(ws, ds, engine, model)
    await analyze(ws, model, dim)
    return engine, ds, dim, ws, model


def rerank_settings(binding: str, url: str, min_score: float) -> tuple[dict, dict]:
    """A rerank model at the stand-in `url`: our settings (LightRAG server's
    variables) and the LightRAG arguments of Python's side, whose rerank
    function is LightRAG's own `cohere_rerank` / `jina_rerank` called as
    lightrag_server.py's `server_rerank_func` calls it."""
    from lightrag.rerank import cohere_rerank, jina_rerank

    host, key, model = f"{url}/rerank", "interop", f"interop-{binding}-rerank"

    async def rerank_func(query: str, documents: list, top_n: int = None, extra_body: dict = None):
        kwargs = dict(query=query, documents=documents, top_n=top_n, api_key=key, model=model, base_url=host)
        if binding == "cohere":
            return await cohere_rerank(**kwargs, enable_chunking=False, max_tokens_per_doc=4096, extra_body=extra_body)
        return await jina_rerank(**kwargs, extra_body=extra_body)

    env = {"RERANK_BINDING": binding, "RERANK_BINDING_HOST": host, "RERANK_BINDING_API_KEY": key,
           "RERANK_MODEL": model, "MIN_RERANK_SCORE": str(min_score)}
    return env, {"rerank_model_func": rerank_func, "min_rerank_score": min_score}


async def initialize_with_nested_loops(rag: LightRAG) -> None:
    """`rag.initialize_storages()` with its connections under
    PYTHON_SERVER_SETTINGS (the pool reads POSTGRES_SERVER_SETTINGS when it
    opens; the variable is put back afterwards)."""
    saved = os.environ.get("POSTGRES_SERVER_SETTINGS")
    os.environ["POSTGRES_SERVER_SETTINGS"] = PYTHON_SERVER_SETTINGS
    try:
        await rag.initialize_storages()
    finally:
        if saved is None:
            os.environ.pop("POSTGRES_SERVER_SETTINGS", None)
        else:
            os.environ["POSTGRES_SERVER_SETTINGS"] = saved


async def compare_dataset(dataset: str, graph_cls: str, threshold: float, tight: bool = False,
                          rerank: tuple[str, float] | None = None) -> None:
    """`rerank`: (binding, MIN_RERANK_SCORE) of a rerank model on both sides."""
    engine, ds, dim, ws, model = await migrated(dataset, graph_cls, "q")
    hl, ll = keywords(ds)
    await compare_workspace(dataset, ws, graph_cls, dim, model, hl, ll, threshold, tight, rerank)


async def compare_workspace(name: str, ws: str, graph_cls: str, dim: int, model: str, hl: list[str],
                            ll: list[str], threshold: float, tight: bool = False,
                            rerank: tuple[str, float] | None = None) -> None:
    """Every mode, with given, low-level only and cached keywords: our
    `lightrag-pg query` against Python's `aquery_data` and `only_need_context`
    on workspace `ws` (vector tables of `model` at `dim`); drops the model's
    tables and the workspace afterwards."""
    engine = h.GRAPHS[graph_cls]
    question = f"What connects {ll[0]} and {ll[1]}?"
    log(f"{name} ({dim}-d, {engine}) in {ws}: hl={hl} ll={ll}")
    server = EmbeddingServer(dim)
    # Python reads a node's AGE edges through a cypher join whose order is the
    # plan's: a hash join returns them newest first, a nested loop in heap
    # order (ours). Relations tied on (degree, weight) keep that order, so
    # Python runs with nested loops only (its connection's server settings).
    extra = {"kg_chunk_pick_method": "WEIGHT", "related_chunk_number": 3} if tight else {}
    extra_env = {}
    if rerank:
        extra_env, rerank_args = rerank_settings(rerank[0], server.url, rerank[1])
        extra.update(rerank_args)
    rag = make_rag(ws, graph_cls, dim, model, threshold, **extra)
    await initialize_with_nested_loops(rag)
    try:
        for mode in MODES:
            # "cached keywords": none given; Python's scripted LLM extracts them
            # and LightRAG caches the reply, which ours then finds under the same key.
            for label, kw in [("given keywords", (hl, ll)), ("low-level only", ([], ll)), ("cached keywords", ([], []))]:
                if mode in ("naive", "bypass") and label != "given keywords":
                    continue
                qp = dict(mode=mode, hl_keywords=kw[0], ll_keywords=kw[1], **(TIGHT_PARAM if tight else {}))
                py = await rag.aquery_data(question, QueryParam(**qp))
                py_ctx = await rag.aquery(question, QueryParam(**qp, only_need_context=True))
                got = json.loads(ours(ws, engine, model, dim, server.url, threshold, question, mode, kw[0], kw[1],
                                      "json", tight, extra_env))
                where = (f"{name} {engine} {mode} ({label}{', tight' if tight else ''}"
                         f"{f', {rerank[0]} rerank' if rerank else ''})")
                if os.environ.get("INTEROP_DUMP"):
                    for side, v in [("ours", got), ("python", py)]:
                        Path(os.environ["INTEROP_DUMP"], f"{engine}-{mode}-{label[:5]}-{side}.json").write_text(
                            json.dumps(v, indent=1, ensure_ascii=False))
                diff = first_difference(got, py)
                check(not diff, f"{where}: aquery_data differs at {diff}")
                if py.get("status") == "success" and mode != "bypass":
                    ctx = ours(ws, engine, model, dim, server.url, threshold, question, mode, kw[0], kw[1],
                               "context", tight, extra_env)
                    ctx = ctx[:-1] if ctx.endswith("\n") else ctx
                    if ctx != py_ctx:
                        i = next((i for i, (x, y) in enumerate(zip(ctx, py_ctx)) if x != y), min(len(ctx), len(py_ctx)))
                        raise h.ScenarioFailure(f"{where}: context differs at {i}: ours {ctx[i-80:i+80]!r} "
                                                f"python {py_ctx[i-80:i+80]!r}")
                d = py.get("data") or {}
                if rerank:
                    log(f"{where}: {server.rerank_calls} rerank requests so far")
                log(f"{where}: equal ({py.get('status')}; {len(d.get('entities', []))} entities, "
                    f"{len(d.get('relationships', []))} relations, {len(d.get('chunks', []))} chunks, "
                    f"{len(d.get('references', []))} references)")
        # Both sides asked the model for every query that found chunks.
        check(not rerank or server.rerank_calls > 0, "the rerank model was never called")
    finally:
        await rag.finalize_storages()
        server.close()
        await drop_model_tables(model, dim)
    await h.cleanup(ws)


async def keyword_cache_both_ways(dataset: str, graph_cls: str, threshold: float) -> None:
    """Keyword extraction through an LLM, cached by one side and hit by the
    other: `lightrag-pg query` with an LLM (`LLM_BINDING=openai` at the
    stand-in) extracts the keywords of a question and caches them, and Python's
    `aquery_data` (whose keyword LLM has the same identity and counts its
    calls: none allowed) finds them; Python extracts another question's (scripted LLM) and
    caches them, and ours finds them without asking the stand-in. Both answers
    equal up to N9."""
    from lightrag.llm_roles import RoleLLMConfig

    engine, ds, dim, ws, model = await migrated(dataset, graph_cls, "k")
    hl, ll = keywords(ds)
    server = EmbeddingServer(dim)
    identity = {"binding": "openai", "host": server.url, "model": "interop-scripted"}
    llm_env = {"LLM_BINDING": "openai", "LLM_BINDING_HOST": server.url, "LLM_MODEL": "interop-scripted",
               "LLM_BINDING_API_KEY": "interop"}
    python_calls: list[str] = []

    async def keyword_llm(prompt, system_prompt=None, history_messages=None, **kwargs):
        python_calls.append(prompt)
        return scripted_reply(prompt, keyword_extraction=True)

    rag = make_rag(ws, graph_cls, dim, model, threshold,
                   role_llm_configs={"keyword": RoleLLMConfig(func=keyword_llm, metadata=identity)})
    await initialize_with_nested_loops(rag)
    try:
        for mode in ["local", "global", "hybrid", "mix"]:
            # Ours first: it asks the stand-in and caches; Python must hit.
            question = f"What connects {ll[1]} and {ll[0]}?"
            before = server.chat_calls
            got = json.loads(ours(ws, engine, model, dim, server.url, threshold, question, mode, [], [], "json",
                                  extra_env=llm_env))
            check(server.chat_calls == before + 1, f"{mode}: ours asked the LLM {server.chat_calls - before} times")
            calls = len(python_calls)
            py = await rag.aquery_data(question, QueryParam(mode=mode))
            check(len(python_calls) == calls, f"{mode}: Python's keyword LLM was called instead of hitting ours' cache")
            diff = first_difference(got, py)
            check(not diff, f"{dataset} {engine} {mode} (ours cached the keywords): aquery_data differs at {diff}")
            # Python first: it extracts and caches; ours must hit.
            question = f"What connects {ll[0]} and {ll[1]}?"
            py = await rag.aquery_data(question, QueryParam(mode=mode))
            check(len(python_calls) == calls + 1, f"{mode}: Python did not extract the keywords")
            before = server.chat_calls
            got = json.loads(ours(ws, engine, model, dim, server.url, threshold, question, mode, [], [], "json",
                                  extra_env=llm_env))
            check(server.chat_calls == before, f"{mode}: ours asked the LLM instead of hitting Python's cache")
            diff = first_difference(got, py)
            check(not diff, f"{dataset} {engine} {mode} (Python cached the keywords): aquery_data differs at {diff}")
            kws = (py.get("metadata") or {}).get("keywords")
            log(f"{dataset} {engine} {mode}: keyword cache hit both ways, equal answers (keywords {kws})")
    finally:
        await rag.finalize_storages()
        server.close()
        await drop_model_tables(model, dim)
    await h.cleanup(ws)


async def retrieval_keyword_cache_sample_table() -> None:
    await keyword_cache_both_ways("lightrag-1.5.7-format-sample", "PGTableGraphStorage", 0.2)


def vdb_table(base: str, model: str, dim: int) -> str:
    """The quoted name of `model`'s vector table `base` at `dim` (LightRAG's
    `<base>_<model suffix>_<dim>d`)."""
    return f'"{base}_{re.sub(r"[^a-z0-9_]", "_", model.lower())}_{dim}d"'


async def analyze(ws: str, model: str, dim: int) -> None:
    """ANALYZE the tables the queries read, right after the migration: else
    autovacuum may analyze them between Python's query and ours and change a
    plan, and with it the order of equally distant vectors (the hashing
    embedder gives many entities the same vector)."""
    tables = [vdb_table(base, model, dim) for base in ["lightrag_vdb_entity", "lightrag_vdb_relation",
                                                         "lightrag_vdb_chunks"]]
    tables += ["lightrag_doc_chunks", "lightrag_graph_nodes", "lightrag_graph_edges"]
    graph = h.age_graph_name(ws)
    tables += [f'"{graph}".base', f'"{graph}"."DIRECTED"']
    # Only those that exist (the other graph engine's tables may never have been created).
    tables = [t for t in tables if (await h.sql("SELECT to_regclass($1) IS NOT NULL AS ok", t))[0]["ok"]]
    await h.sql("ANALYZE " + ", ".join(tables))


async def drop_model_tables(model: str, dim: int) -> None:
    """Drops the vector tables of `model` (this run's own)."""
    if os.environ.get("INTEROP_KEEP") == "1":
        return
    for base in ["lightrag_vdb_entity", "lightrag_vdb_relation", "lightrag_vdb_chunks"]:
        await h.sql(f"DROP TABLE IF EXISTS {vdb_table(base, model, dim)}")


async def retrieval_sample_age() -> None:
    await compare_dataset("lightrag-1.5.7-format-sample", "PGGraphStorage", 0.2)


async def retrieval_sample_table() -> None:
    await compare_dataset("lightrag-1.5.7-format-sample", "PGTableGraphStorage", 0.2)


async def retrieval_dickens_age() -> None:
    # Real 1536-d embeddings, hashing query vectors: every hit passes.
    await compare_dataset("dickens-christmas-carol-en", "PGGraphStorage", -1.0)


async def retrieval_dickens_table() -> None:
    await compare_dataset("dickens-christmas-carol-en", "PGTableGraphStorage", -1.0)


async def retrieval_yogyakarta_age() -> None:
    # 384-d, 524 entity vectors for 403 nodes: vector hits without a node.
    await compare_dataset("yogyakarta-trafficking-perda-id", "PGGraphStorage", -1.0)


async def retrieval_english_table() -> None:
    # 768-d, 6 documents of which 2 failed.
    await compare_dataset("english-reading-topics-en", "PGTableGraphStorage", -1.0)


async def retrieval_film_age() -> None:
    # 3072-d: above HNSW's limit, exact search.
    await compare_dataset("film-24-2016-en", "PGGraphStorage", -1.0)


async def retrieval_academic_table() -> None:
    # old-v0: quoted names, float created_at.
    await compare_dataset("academic-bio-en-legacy", "PGTableGraphStorage", -1.0)


async def retrieval_dickens_tight_age() -> None:
    await compare_dataset("dickens-christmas-carol-en", "PGGraphStorage", -1.0, tight=True)


async def retrieval_dickens_tight_table() -> None:
    await compare_dataset("dickens-christmas-carol-en", "PGTableGraphStorage", -1.0, tight=True)


async def python_written(graph_cls: str, docs: dict[str, str]) -> None:
    """A workspace that Python LightRAG wrote itself (its pipeline: the scripted
    extractor, the deterministic embedder at 64 dimensions, its own PostgreSQL
    storages), then queried by both sides without an LLM for ours."""
    engine = h.GRAPHS[graph_cls]
    dim, model = 64, f"iop-pw{h.RUN_ID}"
    ws = h.workspace(f"qpw{engine[0]}")
    await h.cleanup(ws)
    rag = make_rag(ws, graph_cls, dim, model, 0.2, enable_llm_cache=True)
    await rag.initialize_storages()
    try:
        await rag.ainsert(list(docs.values()), file_paths=list(docs.keys()))
    finally:
        await rag.finalize_storages()
    await analyze(ws, model, dim)
    # The two most connected entities Python extracted, and their relation's words.
    relations = vdb_table("lightrag_vdb_relation", model, dim)
    rows = await h.sql(f"SELECT n AS id FROM (SELECT source_id AS n FROM {relations} WHERE workspace = $1 "
                       f"UNION ALL SELECT target_id FROM {relations} WHERE workspace = $1) e "
                       "GROUP BY n ORDER BY count(*) DESC, n LIMIT 2", ws)
    ll = [r["id"] for r in rows]
    check(len(ll) == 2, f"Python's pipeline wrote no graph in {ws}")
    hl = [f"{ll[0]} and {ll[1]}", "relationships"]
    await compare_workspace(f"Python-written ({len(docs)} documents)", ws, graph_cls, dim, model, hl, ll, 0.2)


async def retrieval_rerank_cohere_age() -> None:
    # Python's aquery_data with LightRAG's cohere_rerank, ours with RERANK_BINDING=cohere,
    # both posting to the same stand-in model; MIN_RERANK_SCORE drops some chunks.
    await compare_dataset("lightrag-1.5.7-format-sample", "PGGraphStorage", 0.2, rerank=("cohere", 0.3))


async def retrieval_rerank_jina_table() -> None:
    # jina_rerank / RERANK_BINDING=jina, with chunk_top_k 6 as top_n (tight).
    await compare_dataset("dickens-christmas-carol-en", "PGTableGraphStorage", -1.0, tight=True,
                          rerank=("jina", 0.2))


SCENARIOS = {f.__name__: f for f in [retrieval_rerank_cohere_age, retrieval_rerank_jina_table,
                                     retrieval_keyword_cache_sample_table,
                                     retrieval_dickens_tight_age, retrieval_dickens_tight_table, retrieval_sample_age, retrieval_sample_table, retrieval_dickens_age,
                                     retrieval_dickens_table, retrieval_yogyakarta_age, retrieval_english_table,
                                     retrieval_film_age, retrieval_academic_table]}

if __name__ == "__main__":
    h.main_for(SCENARIOS)
