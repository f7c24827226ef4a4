"""Smoke: Python LightRAG inserts two documents into PostgreSQL and queries them."""
import asyncio
import sys

from lightrag import QueryParam

from offline import make_rag

DOCS = [
    "Alice Smith founded Acme Robotics in Berlin. Acme Robotics builds Warehouse Robots for Logistics.",
    "Bob Jones joined Acme Robotics from Siemens. Bob Jones leads the Berlin Lab with Alice Smith.",
]


async def main(ws: str, graph: str):
    rag = make_rag(ws, graph)
    await rag.initialize_storages()
    try:
        await rag.ainsert(DOCS, file_paths=["a.txt", "b.txt"])
        ctx = await rag.aquery("What did Alice build in Berlin?", param=QueryParam(mode="local", only_need_context=True))
        print("CONTEXT-OK" if ctx and "Alice" in str(ctx) else "CONTEXT-MISSING", file=sys.stderr)
        print(str(ctx)[:300])
    finally:
        await rag.finalize_storages()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "PGGraphStorage"))
