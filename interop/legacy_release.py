"""Runs inside the virtual environment of an OLDER lightrag-hku release
(target/interop/legacy/<version>, made by `cargo xtask interop`) and writes a
small knowledge base through that release's own PostgreSQL storages, in the
database named by POSTGRES_DATABASE (workspace `default`, so that the AGE graph
is `chunk_entity_relation` under every release's naming rule).

    python legacy_release.py OUT.json

`initialize_storages()` creates the release's schema; then every store gets
records through the release's storage classes (`upsert`, `upsert_node`,
`upsert_edge`): full docs, text chunks, LLM cache, the three vector stores, the
graph and doc status. Old releases take no tokenizer or model name, and 1.2.x
cannot write its own entity/relation vector rows (its SQL names a `chunk_ids`
column its DDL lacks); those rows are written with that release's
`PostgreSQLDB.execute` into the tables as it created them. 1.2.x's AGE graph
(label `Entity`, hex-encoded `node_id`) is a layout that 1.5.7 neither reads
nor migrates, so no graph record of it is expected back.

OUT.json receives what was written, in the shape of `lightrag-pg dump`, for
`legacy_scenarios.py` to find again after the upgrade. Self-contained: it
imports from this folder only `hash_embed.py`, since the other modules need LightRAG 1.5.7.
"""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import os
import sys
from datetime import datetime, timezone

import numpy as np
from lightrag import LightRAG
from lightrag.utils import EmbeddingFunc

import hash_embed

try:
    from importlib.metadata import version as _dist_version

    RELEASE = _dist_version("lightrag-hku")
except Exception:  # noqa: BLE001 - only for the report
    RELEASE = "unknown"

DIM = int(os.environ.get("EMBEDDING_DIM", "64"))
DOC = (
    "Alice Moreau founded the Harbour Guild in Port Elin. Bob Tanaka repairs the Old Lighthouse "
    "for the Harbour Guild, and Alice Moreau funds his work."
)
CHUNK = DOC
FILE = "legacy/harbour.txt"
ENTITIES = {
    "Alice Moreau": "Founder of the Harbour Guild.",
    "Bob Tanaka": "Repairs the Old Lighthouse.",
    "Harbour Guild": "A guild in Port Elin.",
}
RELATIONS = [("Alice Moreau", "Harbour Guild", "founded"), ("Bob Tanaka", "Harbour Guild", "works for")]


def embed_text(text: str) -> list[float]:
    return hash_embed.embed_text(text, DIM)


async def _embed(texts, **_kwargs):
    return np.array([embed_text(t) for t in texts], dtype=np.float32)


async def _llm(prompt, **_kwargs):
    return "unused"


def mdhash(content: str, prefix: str) -> str:
    return prefix + hashlib.md5(content.encode()).hexdigest()


class _Chars:
    """A tokenizer that needs no download (tiktoken would fetch its tables)."""

    def encode(self, content: str):
        return [ord(c) for c in content]

    def decode(self, tokens):
        return "".join(chr(t) for t in tokens)


def make_rag(workdir: str) -> LightRAG:
    fields = {f.name for f in dataclasses.fields(LightRAG)}
    kwargs = dict(
        working_dir=workdir,
        llm_model_func=_llm,
        embedding_func=EmbeddingFunc(embedding_dim=DIM, max_token_size=8192, func=_embed),
        kv_storage="PGKVStorage",
        vector_storage="PGVectorStorage",
        graph_storage="PGGraphStorage",
        doc_status_storage="PGDocStatusStorage",
        vector_db_storage_cls_kwargs={"cosine_better_than_threshold": 0.2},
    )
    if "tokenizer" in fields:
        from lightrag.utils import Tokenizer

        kwargs["tokenizer"] = Tokenizer("chars", _Chars())
    if "workspace" in fields:
        kwargs["workspace"] = "default"
    if "auto_manage_storages_states" in fields:
        kwargs["auto_manage_storages_states"] = False
    return LightRAG(**kwargs)


def _cache_is_flat(rag: LightRAG) -> bool:
    """1.4 keys the LLM cache `mode:cache_type:hash`; older releases nest by mode."""
    import inspect

    from lightrag.kg import postgres_impl

    return "cache_type" in inspect.getsource(postgres_impl.PGKVStorage.upsert)


async def initialize_one_by_one(rag: LightRAG) -> None:
    """Initialise the storages once, one at a time, as LightRAG does since 1.4.

    Releases before 1.4 default `auto_manage_storages_states` to true: their
    `__post_init__` schedules `initialize_storages()` as a task, which then races
    the caller's own call, and the two AGE graph set-ups deadlock on each other's
    `CREATE INDEX CONCURRENTLY` (1.3.9, twice in a row in CI; the server log shows
    two connections creating the same graph's indexes). `make_rag` turns the
    automatic start off, and this initialises in sequence, as 1.4 does ("must be
    called one by one to prevent deadlock"), in the release's own order.
    """
    from lightrag.base import StoragesStatus

    if rag._storages_status != StoragesStatus.CREATED:
        return
    for name in ("full_docs", "text_chunks", "full_entities", "full_relations", "entities_vdb",
                 "relationships_vdb", "chunks_vdb", "chunk_entity_relation_graph", "llm_response_cache",
                 "doc_status"):
        storage = getattr(rag, name, None)
        if storage:
            await storage.initialize()
    rag._storages_status = StoragesStatus.INITIALIZED


async def write(out_path: str) -> None:
    workdir = f"/tmp/lightrag-legacy-{RELEASE}-{os.getpid()}"
    os.makedirs(workdir, exist_ok=True)
    rag = make_rag(workdir)
    await initialize_one_by_one(rag)
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    doc_id, chunk_id = mdhash(DOC, "doc-"), mdhash(CHUNK, "chunk-")
    expected: dict = {"release": RELEASE, "dim": DIM, "kv": {}, "vectors": {}, "graph": {}, "doc_status": {}}
    try:
        await rag.full_docs.upsert({doc_id: {"content": DOC, "file_path": FILE}})
        expected["kv"]["full_docs"] = {doc_id: {"content": DOC}}

        chunk = {"tokens": len(CHUNK), "content": CHUNK, "chunk_order_index": 0, "full_doc_id": doc_id,
                 "file_path": FILE}
        await rag.text_chunks.upsert({chunk_id: dict(chunk, llm_cache_list=[])})
        await rag.chunks_vdb.upsert({chunk_id: dict(chunk)})
        # Before 1.4 text chunks live in lightrag_doc_chunks as vector rows only.
        expected["kv"]["text_chunks"] = {chunk_id: {"content": CHUNK, "full_doc_id": doc_id, "chunk_order_index": 0}}
        expected["vectors"]["chunks"] = {chunk_id: {"content": CHUNK, "full_doc_id": doc_id}}

        prompt, answer = "extract entities from: " + CHUNK, "entity<|>Alice Moreau"
        if _cache_is_flat(rag):
            key = "default:extract:" + hashlib.md5(prompt.encode()).hexdigest()
            await rag.llm_response_cache.upsert({key: {"return": answer, "original_prompt": prompt,
                                                       "cache_type": "extract", "chunk_id": chunk_id}})
        else:
            key = hashlib.md5(prompt.encode()).hexdigest()
            await rag.llm_response_cache.upsert({"default": {key: {"return": answer, "original_prompt": prompt,
                                                                   "chunk_id": chunk_id}}})
            # The 1.5.7 flattening: mode:extract:md5(original_prompt).
            key = "default:extract:" + hashlib.md5(prompt.encode()).hexdigest()
        expected["kv"]["llm_response_cache"] = {key: {"return": answer, "original_prompt": prompt}}

        ents = {mdhash(n, "ent-"): {"entity_name": n, "content": f"{n}\n{d}", "source_id": chunk_id,
                                     "file_path": FILE} for n, d in ENTITIES.items()}
        rels = {mdhash(a + b, "rel-"): {"src_id": a, "tgt_id": b, "content": f"{k}\t{a}\n{b}",
                                         "source_id": chunk_id, "file_path": FILE} for a, b, k in RELATIONS}
        if RELEASE.startswith("1.2."):
            await _write_vectors_by_sql(rag, ents, rels)
        else:
            await rag.entities_vdb.upsert(ents)
            await rag.relationships_vdb.upsert(rels)
        expected["vectors"]["entities"] = {k: {"entity_name": v["entity_name"], "content": v["content"]}
                                           for k, v in ents.items()}
        expected["vectors"]["relationships"] = {k: {"src_id": v["src_id"], "tgt_id": v["tgt_id"],
                                                    "content": v["content"]} for k, v in rels.items()}

        g = rag.chunk_entity_relation_graph
        nodes = {}
        for n, d in ENTITIES.items():
            nodes[n] = {"entity_id": n, "entity_type": "concept", "description": d, "source_id": chunk_id,
                        "file_path": FILE}
            await g.upsert_node(n, nodes[n])
        edges = []
        for a, b, k in RELATIONS:
            e = {"weight": "1.0", "description": f"{a} {k} {b}", "keywords": k, "source_id": chunk_id,
                 "file_path": FILE}
            await g.upsert_edge(a, b, e)
            edges.append({"source": a, "target": b, "description": e["description"]})
        expected["graph"] = {"nodes": {n: {"description": v["description"]} for n, v in nodes.items()},
                             "edges": edges}
        if RELEASE.startswith("1.2."):
            # 1.2's AGE layout (label `Entity`, hex-encoded `node_id`) is one that
            # 1.5.7 neither reads nor migrates; the graph is left as it is.
            expected["graph"] = {"nodes": {}, "edges": [], "unread_layout": "1.2 (Entity, hex node_id)"}

        status = {"status": "processed", "content_summary": DOC[:100], "content_length": len(DOC),
                  "chunks_count": 1, "created_at": now, "updated_at": now, "file_path": FILE,
                  "content": DOC, "chunks_list": [chunk_id]}
        await rag.doc_status.upsert({doc_id: status})
        expected["doc_status"] = {doc_id: {"status": "processed", "content_length": len(DOC), "chunks_count": 1,
                                           "file_path": FILE}}
        for store in (rag.full_docs, rag.text_chunks, rag.llm_response_cache, rag.chunks_vdb, rag.entities_vdb,
                      rag.relationships_vdb, g, rag.doc_status):
            await store.index_done_callback()
    finally:
        await rag.finalize_storages()
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
    print(f"lightrag-hku {RELEASE}: wrote {len(ENTITIES)} entities, {len(RELATIONS)} relations, 1 document")


async def _write_vectors_by_sql(rag: LightRAG, ents: dict, rels: dict) -> None:
    """1.2.x: its entity/relation upserts name a column its DDL lacks; write the
    rows it meant to write, into its own tables, through its own connection."""
    db = rag.entities_vdb.db
    for k, v in ents.items():
        await db.execute(
            "INSERT INTO LIGHTRAG_VDB_ENTITY (workspace, id, entity_name, content, content_vector, chunk_id, "
            "file_path) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            {"workspace": db.workspace, "id": k, "entity_name": v["entity_name"], "content": v["content"],
             "content_vector": json.dumps(embed_text(v["content"])), "chunk_id": v["source_id"],
             "file_path": v["file_path"]})
    for k, v in rels.items():
        await db.execute(
            "INSERT INTO LIGHTRAG_VDB_RELATION (workspace, id, source_id, target_id, content, content_vector, "
            "chunk_id, file_path) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            {"workspace": db.workspace, "id": k, "source_id": v["src_id"], "target_id": v["tgt_id"],
             "content": v["content"], "content_vector": json.dumps(embed_text(v["content"])),
             "chunk_id": v["source_id"], "file_path": v["file_path"]})


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: legacy_release.py OUT.json")
    asyncio.run(write(sys.argv[1]))
