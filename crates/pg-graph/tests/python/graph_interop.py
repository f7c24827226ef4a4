"""Drive Python LightRAG 1.5.7's own graph storages (PGGraphStorage on AGE,
PGTableGraphStorage on tables) against the database, for the interop test in
tests/python_interop.rs.

    python graph_interop.py write|read age|table <workspace>  < request.json > reply.json

write: request {"nodes": [[id, props], ...], "edges": [[src, tgt, props], ...]}
       upserts them with upsert_node / upsert_edge (the first half) and the batch
       forms (the rest).
read:  request {"nodes": [id, ...], "edges": [[src, tgt], ...]}
       replies {"nodes": {id: props | null}, "edges": [props | null, ...],
                "degrees": {id: n}, "node_edges": {id: [[a, b], ...] | null},
                "labels": [...]}
Connection settings come from POSTGRES_* as for LightRAG itself.
"""
import asyncio
import json
import sys

from lightrag.kg.shared_storage import initialize_share_data
from lightrag.kg.postgres_impl import ClientManager, PGGraphStorage
from lightrag.kg.pgtable_impl import PGTableGraphStorage


async def main(mode: str, engine: str, workspace: str) -> None:
    initialize_share_data()
    cls = PGGraphStorage if engine == "age" else PGTableGraphStorage
    g = cls(
        namespace="chunk_entity_relation",
        workspace=workspace,
        global_config={"max_graph_nodes": 1000, "vector_storage": "NanoVectorDBStorage"},
        embedding_func=None,
    )
    await g.initialize()
    req = json.load(sys.stdin)
    try:
        if mode == "write":
            nodes, edges = req["nodes"], req["edges"]
            half_n, half_e = len(nodes) // 2, len(edges) // 2
            for node_id, props in nodes[:half_n]:
                await g.upsert_node(node_id, {**props, "entity_id": node_id})
            await g.upsert_nodes_batch([(i, {**p, "entity_id": i}) for i, p in nodes[half_n:]])
            for src, tgt, props in edges[:half_e]:
                await g.upsert_edge(src, tgt, props)
            await g.upsert_edges_batch([(s, t, p) for s, t, p in edges[half_e:]])
            await g.index_done_callback()
            json.dump({"ok": True}, sys.stdout)
        else:
            ids, pairs = req["nodes"], req["edges"]
            out = {"nodes": {}, "edges": [], "degrees": {}, "node_edges": {}}
            for i in ids:
                out["nodes"][i] = await g.get_node(i)
                out["degrees"][i] = await g.node_degree(i)
                edges = await g.get_node_edges(i)
                out["node_edges"][i] = None if edges is None else sorted([a, b] for a, b in edges)
            for src, tgt in pairs:
                out["edges"].append(await g.get_edge(src, tgt))
            out["labels"] = await g.get_all_labels()
            json.dump(out, sys.stdout, ensure_ascii=False)
    finally:
        await g.finalize()
        await ClientManager.release_client(g.db)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
