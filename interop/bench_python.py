"""The Python half of `cargo xtask bench --vs-python`: the same operations as
`lightrag-pg-interop bench`, through Python LightRAG 1.5.7's own PostgreSQL
storage classes called directly (PGKVStorage, PGVectorStorage with its buffered
upsert + index_done_callback, PGGraphStorage, PGTableGraphStorage,
PGDocStatusStorage), on the workload that `lightrag-pg-interop bench-data`
wrote and the read sets that `bench-prepare` loaded. Writes one JSON document to --out.

    python bench_python.py --data DIR --out FILE [--only PREFIX]
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

import asyncpg
import numpy as np
from lightrag import LightRAG
from lightrag.namespace import NameSpace
from lightrag.utils import EmbeddingFunc, Tokenizer

import harness as h
from offline import WordTokenizer, scripted_llm


def ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


class Bench:
    def __init__(self, data: Path, only: str | None):
        self.dir = data
        self.only = only
        self.meta = json.loads((data / "meta.json").read_text())
        self.sizes = self.meta["sizes"]
        self.runs = self.sizes["runs"]
        self.dim = self.meta["dim"]
        self.chunks = dict(json.loads((data / "chunks.json").read_text()))
        self.vec_records = dict(json.loads((data / "vec_records.json").read_text()))
        vectors = np.fromfile(data / "vectors.f32", dtype="<f4").reshape(-1, self.dim)
        self.queries = np.fromfile(data / "queries.f32", dtype="<f4").reshape(-1, self.dim)
        # The embedder of the upsert is a lookup: the workload's vectors, by content.
        self.by_content = {r["content"]: vectors[i] for i, r in enumerate(self.vec_records.values())}
        self.nodes = [(k, v) for k, v in json.loads((data / "nodes.json").read_text())]
        self.edges = [(a, b, p) for a, b, p in json.loads((data / "edges.json").read_text())]
        self.report: dict[str, dict] = {}

    def selected(self, op: str) -> bool:
        return self.only is None or op.startswith(self.only)

    def put(self, name: str, runs: list[float], note: str = "") -> None:
        self.report[name] = {"runs_ms": runs, "median_ms": statistics.median(runs), **({"note": note} if note else {})}
        print(f"python {name}: {statistics.median(runs):.1f} ms", file=sys.stderr, flush=True)

    def template(self, model: str, graph: str = "PGGraphStorage") -> LightRAG:
        """A LightRAG whose storage classes (bound to its global config) make the
        storages; it is never initialised itself."""
        async def lookup(texts, **_kw):
            return np.stack([self.by_content.get(t, np.zeros(self.dim, dtype=np.float32)) for t in texts])

        return LightRAG(
            working_dir="/tmp/lightrag-interop-bench",
            workspace="bvp_template",
            llm_model_func=scripted_llm,
            embedding_func=EmbeddingFunc(embedding_dim=self.dim, max_token_size=8192, func=lookup, model_name=model),
            tokenizer=Tokenizer("words", WordTokenizer()),
            kv_storage="PGKVStorage",
            vector_storage="PGVectorStorage",
            graph_storage=graph,
            doc_status_storage="PGDocStatusStorage",
            vector_db_storage_cls_kwargs={"cosine_better_than_threshold": -1.0},
            embedding_batch_num=2048,
        )

    async def execute(self, sql: str, *args) -> None:
        conn = await asyncpg.connect(**h.pg_dsn())
        try:
            await conn.execute("LOAD 'age'")
            await conn.execute(sql, *args)
        finally:
            await conn.close()

    async def drop_graph(self, ws: str) -> None:
        await self.execute("SELECT ag_catalog.drop_graph(g.name, true) FROM ag_catalog.ag_graph g "
                           "WHERE g.name = $1::text::name", h.age_graph_name(ws))

    async def run(self) -> dict:
        tq = self.template(self.meta["query_model"])
        tu = self.template(self.meta["upsert_model"])
        graphs = {"age": self.template(self.meta["query_model"], "PGGraphStorage"),
                  "table": self.template(self.meta["query_model"], "PGTableGraphStorage")}

        if self.selected("kv.upsert"):
            runs = []
            for r in range(self.runs):
                s = tq.key_string_value_json_storage_cls(namespace=NameSpace.KV_STORE_TEXT_CHUNKS,
                                                         workspace=f"bvp_w_py_kv_upsert_{r}",
                                                         embedding_func=tq.embedding_func)
                await s.initialize()
                await s.drop()
                data = {k: dict(v) for k, v in self.chunks.items()}
                t = time.perf_counter()
                await s.upsert(data)
                await s.index_done_callback()
                runs.append(ms(t))
                await s.drop()
                await s.finalize()
            self.put("kv.upsert", runs)

        if self.selected("kv.get_by_ids"):
            s = tq.key_string_value_json_storage_cls(namespace=NameSpace.KV_STORE_TEXT_CHUNKS,
                                                     workspace=self.meta["ws_kv_read"], embedding_func=tq.embedding_func)
            await s.initialize()
            ids = self.meta["kv_get_ids"]
            await s.get_by_ids(ids)
            runs = []
            for _ in range(self.runs):
                t = time.perf_counter()
                got = await s.get_by_ids(ids)
                runs.append(ms(t))
                h.check(all(g is not None for g in got), "kv.get_by_ids: a record is missing")
            await s.finalize()
            self.put("kv.get_by_ids", runs)

        if self.selected("vector.upsert"):
            runs = []
            for r in range(self.runs):
                s = tu.vector_db_storage_cls(namespace=NameSpace.VECTOR_STORE_CHUNKS, workspace=f"bvp_w_py_vector_upsert_{r}",
                                             embedding_func=tu.embedding_func,
                                             meta_fields={"full_doc_id", "content", "file_path"})
                await self.execute(f"DROP TABLE IF EXISTS {s.table_name}")
                await s.initialize()
                data = {k: dict(v) for k, v in self.vec_records.items()}
                t = time.perf_counter()
                await s.upsert(data)
                await s.index_done_callback()
                runs.append(ms(t))
                await s.finalize()
                await self.execute(f"DROP TABLE IF EXISTS {s.table_name}")
            self.put("vector.upsert", runs, "upsert buffers; index_done_callback embeds (a lookup) and writes")

        if self.selected("vector.query"):
            s = tq.vector_db_storage_cls(namespace=NameSpace.VECTOR_STORE_CHUNKS, workspace=self.meta["ws_query"],
                                         embedding_func=tq.embedding_func, meta_fields={"full_doc_id", "content", "file_path"})
            await s.initialize()
            k = self.sizes["top_k"]
            qs = self.queries
            for i in range(10):
                await s.query("", top_k=k, query_embedding=qs[i % len(qs)])
            runs = []
            for _ in range(self.runs):
                t = time.perf_counter()
                for i in range(self.sizes["queries_1"]):
                    hits = await s.query("", top_k=k, query_embedding=qs[i % len(qs)])
                    h.check(len(hits) == k, "vector.query_1: fewer hits than top_k")
                runs.append(ms(t))
            self.put("vector.query_1", runs)
            # The hits of the first queries, for the recall column of the report.
            self.report["vector.query_1"]["hits"] = [
                [h["id"] for h in await s.query("", top_k=k, query_embedding=qs[i % len(qs)])]
                for i in range(self.meta["recall_queries"])
            ]
            callers, per = self.sizes["callers"], self.sizes["queries_per_caller"]

            async def caller(c: int) -> None:
                for j in range(per):
                    await s.query("", top_k=k, query_embedding=qs[(c * per + j) % len(qs)])

            runs = []
            for _ in range(self.runs):
                t = time.perf_counter()
                await asyncio.gather(*(caller(c) for c in range(callers)))
                runs.append(ms(t))
            self.put("vector.query_16", runs)
            await s.finalize()

        for engine, tg in graphs.items():
            p = f"graph_{engine}"
            if self.selected(f"{p}.upsert"):
                rn, re_ = [], []
                for r in range(self.runs):
                    ws = f"bvp_w_py_g{engine}_{r}"
                    if engine == "age":
                        await self.drop_graph(ws)
                    g = tg.graph_storage_cls(namespace=NameSpace.GRAPH_STORE_CHUNK_ENTITY_RELATION, workspace=ws,
                                             embedding_func=tg.embedding_func)
                    await g.initialize()
                    await g.drop()
                    nodes = [(n, dict(props)) for n, props in self.nodes]
                    edges = [(a, b, dict(props)) for a, b, props in self.edges]
                    t = time.perf_counter()
                    await g.upsert_nodes_batch(nodes)
                    await g.index_done_callback()
                    rn.append(ms(t))
                    t = time.perf_counter()
                    await g.upsert_edges_batch(edges)
                    await g.index_done_callback()
                    re_.append(ms(t))
                    await g.drop()
                    await g.finalize()
                    if engine == "age":
                        await self.drop_graph(ws)
                self.put(f"{p}.upsert_nodes", rn, "upsert_nodes_batch")
                self.put(f"{p}.upsert_edges", re_, "upsert_edges_batch")
            if self.selected(f"{p}.get") or self.selected(f"{p}.get_knowledge_graph"):
                g = tg.graph_storage_cls(namespace=NameSpace.GRAPH_STORE_CHUNK_ENTITY_RELATION,
                                         workspace=self.meta["ws_graph"][engine], embedding_func=tg.embedding_func)
                await g.initialize()
                ids = self.meta["graph_get_ids"]
                await g.get_nodes_batch(ids)
                a, b, c = [], [], []
                for _ in range(self.runs):
                    t = time.perf_counter()
                    got = await g.get_nodes_batch(ids)
                    a.append(ms(t))
                    h.check(len(got) == len(ids), f"{p}.get_nodes_batch: a node is missing ({len(got)})")
                    t = time.perf_counter()
                    await g.get_nodes_edges_batch(ids)
                    b.append(ms(t))
                    t = time.perf_counter()
                    kg = await g.get_knowledge_graph(self.meta["kg_label"], max_depth=self.sizes["kg_depth"],
                                                     max_nodes=self.sizes["kg_max_nodes"])
                    c.append(ms(t))
                    h.check(len(kg.nodes) > 0, f"{p}.get_knowledge_graph: empty")
                await g.finalize()
                self.put(f"{p}.get_nodes_batch", a)
                self.put(f"{p}.get_nodes_edges_batch", b)
                self.put(f"{p}.get_knowledge_graph", c)

        if self.selected("doc_status.paginate"):
            d = tq.doc_status_storage_cls(namespace=NameSpace.DOC_STATUS, workspace=self.meta["ws_docs"],
                                          global_config=dataclasses.asdict(tq), embedding_func=None)
            await d.initialize()
            size = self.sizes["page_size"]
            pages = -(-self.sizes["docs"] // size)
            runs = []
            for _ in range(self.runs):
                t = time.perf_counter()
                n = 0
                for page in range(1, pages + 1):
                    docs, _total = await d.get_docs_paginated(page=page, page_size=size)
                    n += len(docs)
                runs.append(ms(t))
                h.check(n == self.sizes["docs"], f"doc_status.paginate: {n} documents")
            await d.finalize()
            self.put("doc_status.paginate", runs, "every page, updated_at desc")
        return {"ops": self.report}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--only", default=None)
    ap.add_argument("--out", required=True, type=Path, help="where the JSON goes (stdout carries LightRAG's logs)")
    a = ap.parse_args()
    out = asyncio.run(Bench(a.data, a.only).run())
    a.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
