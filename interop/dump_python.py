"""Dump every record of a workspace as PYTHON LightRAG's own storage classes read it.

The output has the shape of `lightrag-pg dump` (our crates' view of the same rows):

    {"workspace": ..., "kv": {namespace: {id: record}}, "doc_status": {id: record},
     "vectors": {"chunks"|"entities"|"relationships": {id: payload + "vector"}},
     "graph": {"nodes": {id: props}, "edges": [{source, target, properties}],
               "degrees": {id: n}},
     "knowledge_graphs": {label: {"nodes": [...], "edges": [...], "is_truncated": b}}}

Ids are listed with plain SQL (asyncpg, through the storage's own pool); every
record is then read with the storage's public API: `get_by_ids` (KV, doc status,
vectors), `get_vectors_by_ids`, `get_all_labels`, `get_nodes_batch`,
`get_all_edges`, `node_degrees_batch`, `get_knowledge_graph`.

Usage:
    python dump_python.py WORKSPACE [--graph PGGraphStorage|PGTableGraphStorage]
        [--dim N] [--model NAME] [--kg LABEL[:DEPTH[:MAX_NODES]]]... [--out FILE]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import sys
from typing import Any

import numpy as np

from offline import make_rag

KV_NAMESPACES = [
    ("full_docs", "full_docs", "LIGHTRAG_DOC_FULL"),
    ("text_chunks", "text_chunks", "LIGHTRAG_DOC_CHUNKS"),
    ("llm_response_cache", "llm_response_cache", "LIGHTRAG_LLM_CACHE"),
    ("full_entities", "full_entities", "LIGHTRAG_FULL_ENTITIES"),
    ("full_relations", "full_relations", "LIGHTRAG_FULL_RELATIONS"),
    ("entity_chunks", "entity_chunks", "LIGHTRAG_ENTITY_CHUNKS"),
    ("relation_chunks", "relation_chunks", "LIGHTRAG_RELATION_CHUNKS"),
]
VECTOR_NAMESPACES = [("chunks", "chunks_vdb"), ("entities", "entities_vdb"), ("relationships", "relationships_vdb")]


def to_json(v: Any) -> Any:
    """JSON-able copy: datetimes as ISO strings, numpy values as Python numbers."""
    if isinstance(v, dict):
        return {str(k): to_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    if isinstance(v, (datetime.datetime, datetime.date)):
        return v.isoformat()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


async def list_ids(storage, table: str, workspace: str) -> list[str]:
    """Ids of the workspace in `table`, sorted; [] when the table does not exist."""
    db = storage.db
    exists = await db.query("SELECT to_regclass($1) IS NOT NULL AS e", [table.lower()])
    if not exists or not exists.get("e"):
        return []
    rows = await db.query(f"SELECT id FROM {table} WHERE workspace = $1 ORDER BY id", [workspace], multirows=True)
    return [r["id"] for r in rows or []]


async def dump(workspace: str, graph: str, dim: int, model: str, kgs: list[tuple[str, int, int]], **rag_kwargs) -> dict:
    rag = make_rag(workspace, graph, dim=dim, model=model, **rag_kwargs)
    await rag.initialize_storages()
    try:
        return await dump_rag(rag, kgs)
    finally:
        await rag.finalize_storages()


async def dump_rag(rag, kgs: list[tuple[str, int, int]] = ()) -> dict:
    """Reads everything through an initialised LightRAG's storages."""
    ws = rag.full_docs.workspace
    kv: dict[str, dict] = {}
    for name, attr, table in KV_NAMESPACES:
        store = getattr(rag, attr)
        ids = await list_ids(store, table, ws)
        recs = await store.get_by_ids(ids) if ids else []
        kv[name] = {i: to_json(r) for i, r in zip(ids, recs) if r is not None}

    ds = rag.doc_status
    doc_ids = await list_ids(ds, "LIGHTRAG_DOC_STATUS", ws)
    doc_recs = await ds.get_by_ids(doc_ids) if doc_ids else []
    doc_status = {i: to_json(r) for i, r in zip(doc_ids, doc_recs) if r is not None}

    vectors: dict[str, dict] = {}
    for name, attr in VECTOR_NAMESPACES:
        store = getattr(rag, attr)
        ids = await list_ids(store, store.table_name, ws)
        payloads = await store.get_by_ids(ids) if ids else []
        vecs = await store.get_vectors_by_ids(ids) if ids else {}
        out = {}
        for i, p in zip(ids, payloads):
            if p is None:
                continue
            p = to_json(p)
            p["vector"] = to_json(vecs.get(i))
            out[i] = p
        vectors[name] = out

    g = rag.chunk_entity_relation_graph
    labels = await g.get_all_labels()
    nodes = await g.get_nodes_batch(labels) if labels else {}
    degrees = await g.node_degrees_batch(labels) if labels else {}
    edges = await g.get_all_edges()
    knowledge_graphs = {}
    for label, depth, max_nodes in kgs:
        kg = await g.get_knowledge_graph(label, max_depth=depth, max_nodes=max_nodes)
        knowledge_graphs[f"{label}:{depth}:{max_nodes}"] = to_json(kg.model_dump() if hasattr(kg, "model_dump") else kg.dict())

    return {
        "workspace": ws,
        "kv": kv,
        "doc_status": doc_status,
        "vectors": vectors,
        "graph": {
            "nodes": {k: to_json(v) for k, v in sorted(nodes.items())},
            "edges": [to_json(e) for e in edges],
            "degrees": {k: int(v) for k, v in sorted(degrees.items())},
        },
        "knowledge_graphs": knowledge_graphs,
    }


def parse_kg(spec: str) -> tuple[str, int, int]:
    """`LABEL[:DEPTH[:MAX_NODES]]`; a label may itself contain `:`."""
    label, nums = spec, []
    while len(nums) < 2 and ":" in label and label.rsplit(":", 1)[1].isdigit():
        label, n = label.rsplit(":", 1)
        nums.insert(0, int(n))
    depth = nums[0] if nums else 3
    max_nodes = nums[1] if len(nums) > 1 else 1000
    return label, depth, max_nodes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workspace")
    ap.add_argument("--graph", default="PGGraphStorage", choices=["PGGraphStorage", "PGTableGraphStorage"])
    ap.add_argument("--dim", type=int, default=None)
    ap.add_argument("--model", default=None)
    ap.add_argument("--kg", action="append", default=[], help="LABEL[:DEPTH[:MAX_NODES]]")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    d = asyncio.run(dump(a.workspace, a.graph, a.dim, a.model, [parse_kg(s) for s in a.kg]))
    text = json.dumps(d, ensure_ascii=False, indent=1, sort_keys=True)
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text + "\n")


if __name__ == "__main__":
    main()
