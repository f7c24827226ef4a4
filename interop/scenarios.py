"""The interop scenarios against the real Python LightRAG 1.5.7 (see README.md).

    python scenarios.py                       # all of them
    python scenarios.py python_writes_rust_reads_age mixed_writers_table

Each scenario uses fresh workspaces, asserts equality both ways (every record
on each side is on the other and equal, up to the normalisations listed in
README.md), and removes what it wrote (INTEROP_KEEP=1 keeps it).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

from lightrag import QueryParam

import harness as h
import retrieval
import serve_compare
from harness import check, log
from offline import DIM, MODEL, embed_text, make_rag
from offline import WORD as KEYWORD

# Documents written for these scenarios: overlapping names across documents so
# that merges (<SEP>-joined source_id / file_path, weights, summaries) happen.
OWN_DOCS = {
    "harbour.txt": "The Harbour Authority of Port Elin maintains the Northern Breakwater and the Old Lighthouse. "
    "Captain Mara Voss commands the pilot boat Heron, which guides container ships past the Breakwater. "
    "The Lighthouse Keeper, Tomas Brandt, logs every storm in the Harbour Journal.",
    "observatory.txt": "The Elin Observatory stands on Copper Hill above Port Elin. Astronomer Lena Okafor studies "
    "Variable Stars with the Meridian Telescope. Tomas Brandt sends the Harbour Journal to the Observatory so that "
    "Lena Okafor can compare storm records with Solar Activity.",
    "railway.txt": "The Coastal Railway links Port Elin with Granite Falls. Engineer Ravi Menon rebuilt the Copper Hill "
    "Tunnel after the Great Storm. The Harbour Authority funds the railway freight service for the container ships.",
    "festival.txt": "Every summer Port Elin holds the Lantern Festival on the Northern Breakwater. Captain Mara Voss "
    "leads the boat parade, Lena Okafor gives a night talk about Variable Stars, and the Coastal Railway runs extra "
    "trains from Granite Falls.",
    "quotes.txt": "Harbour notes: the Keeper's \"Storm Log\" mentions Heron, Breakwater and Lighthouse again; "
    "a back\\slash path C:\\Elin\\Journal and the unicode names Zoë Åberg and Ünal Öztürk appear beside Heron.",
    "removed.txt": "Temporary notice about Granite Falls and the Coastal Railway timetable, later withdrawn by "
    "the Harbour Authority.",
}
# Texts of a real dataset's documents are appended at run time (never copied
# into the repository); INTEROP_DATASET_DOCS=0 leaves them out.
DATASET_FOR_DOCS = "lightrag-1.5.7-format-sample"
DATASET_DOCS = int(os.environ.get("INTEROP_DATASET_DOCS", "2"))

MIXED_A = {
    "mixed-a1.txt": "Alice Smith founded Acme Robotics in Berlin. Acme Robotics builds Warehouse Robots with Siemens.",
    "mixed-a2.txt": "Bob Jones joined Acme Robotics from Siemens. Bob Jones leads the Berlin Lab with Alice Smith.",
}
MIXED_B = {
    "mixed-b1.txt": "Siemens opened a second Berlin Lab next to Zephyr. Zephyr supplies Acme Robotics with sensors.",
    "mixed-b2.txt": "Zephyr and Siemens signed a contract in Berlin. Alice Smith and Zephyr met Bob Jones.",
}


async def insert(ws: str, graph_cls: str, docs: dict[str, str], **kw) -> None:
    rag = make_rag(ws, graph_cls, **kw)
    await rag.initialize_storages()
    try:
        await rag.ainsert(list(docs.values()), file_paths=list(docs.keys()))
    finally:
        await rag.finalize_storages()


async def doc_id_of(ws: str, file_path: str) -> str:
    rows = await h.sql("SELECT id FROM public.lightrag_doc_status WHERE workspace = $1 AND file_path = $2", ws, file_path)
    check(len(rows) == 1, f"one doc_status row for {file_path} (got {len(rows)})")
    return rows[0]["id"]


def kg_specs(d: dict) -> list[tuple[str, int, int]]:
    """Knowledge graphs to compare: from the most connected node (depth 2, whole
    neighbourhood), the whole graph (`*`), and a truncated one (counts only)."""
    deg = d["graph"]["degrees"]
    top = sorted(deg, key=lambda k: (-deg[k], k))[0]
    return [(top, 2, 1000), ("*", 3, 1000), (top, 3, 5)]


# ------------------------------------------------------------------ Python writes, Rust reads

async def python_writes_rust_reads(graph_cls: str) -> None:
    engine = h.GRAPHS[graph_cls]
    ws = h.workspace(f"pw{engine[0]}")
    await h.cleanup(ws)
    docs = dict(OWN_DOCS)
    if DATASET_DOCS > 0:
        texts, names = h.dataset_docs(DATASET_FOR_DOCS, DATASET_DOCS)
        docs.update(zip(names, texts))
    log(f"Python LightRAG inserts {len(docs)} documents into {ws} ({graph_cls})")
    await insert(ws, graph_cls, docs)

    # One deletion through Python's pipeline too (doc status, chunks, vectors,
    # graph rebuild of the entities it shared with other documents).
    rag = make_rag(ws, graph_cls)
    await rag.initialize_storages()
    try:
        await rag.adelete_by_doc_id(await doc_id_of(ws, "removed.txt"))
    finally:
        await rag.finalize_storages()

    first = await h.python_dump(ws, graph_cls, None, None)
    h.check_nonempty(first, "python dump")
    check("removed.txt" not in json.dumps(first["doc_status"]), "the deleted document is gone")
    kgs = kg_specs(first)
    py = await h.python_dump(ws, graph_cls, None, None, kgs)
    ours = h.rust_dump(ws, engine, MODEL, kgs)
    h.assert_same(ours, py, f"python_writes_rust_reads[{engine}]")
    await h.cleanup(ws)


async def retrieval_python_written_table() -> None:
    # `lightrag-pg query` with given keywords (no LLM on our side) on a workspace
    # Python LightRAG's own pipeline wrote: equal to its aquery_data. (Not on
    # AGE: on a graph this small Python's cypher edge read joins the other ends'
    # vertices by a sequential scan, so relations tied on degree and weight come
    # in the vertices' heap order, not the edges' order that its index plan on
    # larger graphs, and ours, give; interop/README.md, "Not equal".)
    await retrieval.python_written("PGTableGraphStorage", OWN_DOCS)


async def python_writes_rust_reads_age() -> None:
    await python_writes_rust_reads("PGGraphStorage")


async def python_writes_rust_reads_table() -> None:
    await python_writes_rust_reads("PGTableGraphStorage")


# ------------------------------------------------------------------ Rust writes, Python reads

WORD = re.compile(r"^[A-Z][a-zA-Z]{2,}$")


def surely_in_top_k(ds: Path, keywords: str, top_k: int) -> set[str]:
    """The entity names of `ds` whose stored vectors are strictly more similar
    to the hashing embedding of `keywords` (the scripted LLM's low-level
    keywords, joined as LightRAG joins them) than the `top_k`-th most similar."""
    import base64

    import numpy as np

    with open(ds / "vdb_entities.json", encoding="utf-8") as f:
        vdb = json.load(f)
    dim = vdb["embedding_dim"]
    matrix = np.frombuffer(base64.b64decode(vdb["matrix"]), dtype="<f4").reshape(-1, dim)
    q = np.asarray(embed_text(keywords, dim), dtype=np.float32)
    sims = matrix @ q
    if len(sims) <= top_k:
        return {r["entity_name"] for r in vdb["data"]}
    cut = np.sort(sims)[::-1][top_k - 1]
    return {r["entity_name"] for r, s in zip(vdb["data"], sims) if s > cut + 1e-6}


async def rust_writes_python_reads(dataset: str, graph_cls: str = "PGGraphStorage") -> None:
    engine = h.GRAPHS[graph_cls]
    ds = h.DATASETS / dataset
    dim = h.dataset_dim(ds)
    short = re.sub(r"[^a-z0-9]", "", dataset.split("-")[0])[:6]
    model = f"iop-{short}"
    ws = h.workspace(f"rw{short}{engine[0]}")
    await h.cleanup(ws)
    h.rust_migrate(ws, ds, engine, model)
    log(f"lightrag-pg migrate loaded {dataset} ({dim}-d) into {ws}")

    nodes, edges = h.graphml(ds)
    degree: dict[str, int] = {}
    for a, b in edges:
        degree[a] = degree.get(a, 0) + 1
        degree[b] = degree.get(b, 0) + 1
    words = sorted((n for n in nodes if WORD.match(n)), key=lambda n: (-degree.get(n, 0), n))[:2]
    check(len(words) == 2, f"{dataset}: two single-word entity names to ask about")
    query = f"What do {words[0]} and {words[1]} have in common?"
    with open(ds / "kv_store_text_chunks.json", encoding="utf-8") as f:
        chunk_texts = {v.get("content", "").strip() for v in json.load(f).values()}
    # Same-embedder datasets: the query's words must come back as entities,
    # those whose entity vector is strictly nearer the query's keywords than
    # the 40th (LightRAG's top_k) nearest is. An entity whose similarity ties
    # the cut (hash collisions can cancel a word out) may or may not be kept:
    # PostgreSQL orders ties by where the rows happen to lie.
    same_embedder = dim == DIM
    surely_found = surely_in_top_k(ds, ", ".join(sorted(set(KEYWORD.findall(query)))), 40) if same_embedder else set()

    # Real embeddings and a hashing query embedder: similarities are meaningless,
    # so every hit must pass (threshold -1) and the checks are on what the
    # context is built from: our rows.
    rag = make_rag(ws, graph_cls, dim=dim, model=model,
                   vector_db_storage_cls_kwargs={"cosine_better_than_threshold": -1.0})
    await rag.initialize_storages()
    try:
        for mode in ["local", "global", "hybrid", "naive"]:
            ctx = await rag.aquery(query, param=QueryParam(mode=mode, only_need_context=True))
            got = h.parse_context(ctx)
            where = f"{dataset} {mode} context"
            if mode == "naive":
                check(len(got["chunks"]) > 0, f"{where}: no chunk")
                unknown = [c[:60] for c in got["chunks"] if c.strip() not in chunk_texts]
                check(not unknown, f"{where}: chunks not in the dataset: {unknown[:3]}")
            else:
                check(len(got["entities"]) > 0, f"{where}: no entity")
                unknown = [e for e in got["entities"] if e not in nodes]
                check(not unknown, f"{where}: entities not in the dataset's graph: {unknown[:5]}")
                bad = [r for r in got["relations"] if r[0] not in nodes or r[1] not in nodes]
                check(not bad, f"{where}: relations with unknown endpoints: {bad[:5]}")
                if mode != "local":
                    check(len(got["relations"]) > 0, f"{where}: no relation")
                if same_embedder and mode == "local":
                    expected = [w for w in words if w in surely_found]
                    missing = [w for w in expected if w not in got["entities"]]
                    check(not missing, f"{where}: the query's entities {missing} are not in the context")
            log(f"{where}: {len(got['entities'])} entities, {len(got['relations'])} relations, "
                f"{len(got['chunks'])} chunks")
        first = await dump_rag_checked(rag, dataset)
        kgs = kg_specs(first)
        py = await h.dump_python.dump_rag(rag, kgs)
    finally:
        await rag.finalize_storages()
    ours = h.rust_dump(ws, engine, model, kgs)
    h.assert_same(ours, py, f"rust_writes_python_reads[{dataset}, {engine}]")
    check(set(py["graph"]["nodes"]) == nodes, f"{dataset}: Python reads exactly the GraphML's nodes")
    await h.cleanup(ws)


async def rust_migrates_from_a_dotenv_folder() -> None:
    """An operator's folder holding only the LightRAG server's `.env` (no
    POSTGRES_* in the environment): `lightrag-pg migrate` run there writes the
    tables LightRAG's server reads with that `.env` (EMBEDDING_MODEL +
    EMBEDDING_DIM suffix the vector tables, LIGHTRAG_GRAPH_STORAGE picks the
    engine), and Python LightRAG configured with the same model reads it all."""
    graph_cls, engine = "PGTableGraphStorage", "table"
    ds = h.DATASETS / "lightrag-1.5.7-format-sample"
    dim = h.dataset_dim(ds)
    model = "BAAI/bge-m3:iop"  # characters _generate_collection_suffix rewrites
    ws = h.workspace("dotenv")
    await h.cleanup(ws)
    pg = h.pg_dsn()
    dotenv = "\n".join([
        "# LightRAG server configuration (as an operator has it)",
        f"POSTGRES_HOST={pg['host']}", f"POSTGRES_PORT={pg['port']}", f"POSTGRES_USER={pg['user']}",
        f"POSTGRES_PASSWORD='{pg['password']}'", f"POSTGRES_DATABASE={pg['database']}",
        f"WORKSPACE={ws}", f"EMBEDDING_MODEL={model}", f"EMBEDDING_DIM={dim}",
        "LIGHTRAG_KV_STORAGE=PGKVStorage", "LIGHTRAG_VECTOR_STORAGE=PGVectorStorage",
        f"LIGHTRAG_GRAPH_STORAGE={graph_cls}", "LIGHTRAG_DOC_STATUS_STORAGE=PGDocStatusStorage", "",
    ])
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("POSTGRES_", "LIGHTRAG_", "EMBEDDING_")) and k not in ("DATABASE_URL", "WORKSPACE")}
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, ".env").write_text(dotenv, encoding="utf-8")
        p = subprocess.run([h.BIN, "migrate", "--from", str(ds), "--json"], cwd=folder, env=env,
                           capture_output=True, text=True)
        check(p.returncode == 0, f"migrate from a .env folder failed: {p.stderr[-2000:]}")
        check(json.loads(p.stdout)["workspace"] == ws, "WORKSPACE came from .env")
    log(f"lightrag-pg migrate (configured by .env only) loaded the sample into {ws}")

    rag = make_rag(ws, graph_cls, dim=dim, model=model)
    await rag.initialize_storages()
    try:
        table = rag.chunks_vdb.table_name.lower()
        check(table.endswith(f"_{dim}d") and table != "lightrag_vdb_chunks",
              f"Python reads a model-suffixed table ({table})")
        rows = await h.sql(f"SELECT count(*) FROM {table} WHERE workspace = $1", ws)
        check(rows[0][0] > 0, f"Python's table {table} holds what we wrote")
        py = await dump_rag_checked(rag, "dotenv")
    finally:
        await rag.finalize_storages()
    ours = h.rust_dump(ws, engine, model)
    h.assert_same(ours, py, "rust_migrates_from_a_dotenv_folder")
    await h.cleanup(ws)


async def dump_rag_checked(rag, what: str) -> dict:
    d = await h.dump_python.dump_rag(rag)
    h.check_nonempty(d, what)
    return d


async def rust_writes_python_reads_sample() -> None:
    await rust_writes_python_reads("lightrag-1.5.7-format-sample", "PGGraphStorage")


async def rust_writes_python_reads_sample_table() -> None:
    await rust_writes_python_reads("lightrag-1.5.7-format-sample", "PGTableGraphStorage")


async def rust_writes_python_reads_english() -> None:
    await rust_writes_python_reads("english-reading-topics-en", "PGGraphStorage")


# ------------------------------------------------------------------ mixed writers

async def graph_duplicates(ws: str, engine: str) -> list[str]:
    """Entity ids with more than one vertex, and unordered pairs with more than one edge."""
    out = []
    if engine == "age":
        g = h.age_graph_name(ws)
        eid = "ag_catalog.agtype_access_operator(VARIADIC ARRAY[properties, '\"entity_id\"'::ag_catalog.agtype])"
        rows = await h.sql(f'SELECT {eid}::text AS id, count(*) AS n FROM "{g}".base GROUP BY 1 HAVING count(*) > 1')
        out += [f"vertex {r['id']} ×{r['n']}" for r in rows]
        rows = await h.sql(f'SELECT least(start_id, end_id)::text AS a, greatest(start_id, end_id)::text AS b, count(*) AS n '
                           f'FROM "{g}"."DIRECTED" GROUP BY 1, 2 HAVING count(*) > 1')
        out += [f"edge {r['a']}-{r['b']} ×{r['n']}" for r in rows]
    else:
        rows = await h.sql("SELECT id, count(*) AS n FROM public.lightrag_graph_nodes WHERE workspace = $1 "
                           "GROUP BY 1 HAVING count(*) > 1", ws)
        out += [f"vertex {r['id']} ×{r['n']}" for r in rows]
        rows = await h.sql("SELECT least(src_id, tgt_id) AS a, greatest(src_id, tgt_id) AS b, count(*) AS n "
                           "FROM public.lightrag_graph_edges WHERE workspace = $1 GROUP BY 1, 2 HAVING count(*) > 1", ws)
        out += [f"edge {r['a']}-{r['b']} ×{r['n']}" for r in rows]
    return out


def store_counts(d: dict) -> dict:
    return {
        "nodes": len(d["graph"]["nodes"]), "edges": len(d["graph"]["edges"]),
        "entity_vectors": len(d["vectors"]["entities"]), "relation_vectors": len(d["vectors"]["relationships"]),
        "entity_chunks": len(d["kv"]["entity_chunks"]), "relation_chunks": len(d["kv"]["relation_chunks"]),
    }


def check_counts_agree(d: dict, what: str) -> None:
    c = store_counts(d)
    check(c["nodes"] == c["entity_vectors"] == c["entity_chunks"], f"{what}: node counts disagree {c}")
    check(c["edges"] == c["relation_vectors"] == c["relation_chunks"], f"{what}: edge counts disagree {c}")


async def mixed_writers(graph_cls: str) -> None:
    engine = h.GRAPHS[graph_cls]
    ws = h.workspace(f"mx{engine[0]}")
    await h.cleanup(ws)
    log(f"Python inserts {len(MIXED_A)} documents into {ws} ({graph_cls})")
    await insert(ws, graph_cls, MIXED_A)
    before = await h.python_dump(ws, graph_cls, None, None)
    check_counts_agree(before, "after Python's first insert")
    check("Siemens" in before["graph"]["nodes"] and "Alice" in before["graph"]["nodes"], "the expected entities exist")
    smith = [e for e in before["graph"]["edges"] if {e["source"], e["target"]} == {"Alice", "Smith"}]
    check(len(smith) == 1, "the Alice–Smith relation exists")

    log("Rust adds Zephyr (linked to Acme), updates Berlin, deletes Siemens and the Alice–Smith relation")
    h.rust_edit(ws, engine, MODEL, DIM, add=["Zephyr"], link=["Zephyr|Acme"], update=["Berlin"],
                delete=["Siemens"], unlink=["Alice|Smith"])
    mid_py = await h.python_dump(ws, graph_cls, None, None)
    mid_rs = h.rust_dump(ws, engine, MODEL)
    h.assert_same(mid_rs, mid_py, f"mixed_writers[{engine}] after the Rust edit")
    nodes = mid_py["graph"]["nodes"]
    check("Siemens" not in nodes and "Zephyr" in nodes, "Python reads Rust's deletion and addition")
    check(nodes["Berlin"]["description"] == "Berlin was updated by the Rust writer.", "Python reads Rust's update")
    check(not any({e["source"], e["target"]} == {"Alice", "Smith"} for e in mid_py["graph"]["edges"]),
          "Python no longer sees the deleted relation")
    check_counts_agree(mid_py, "after the Rust edit")

    log(f"Python inserts {len(MIXED_B)} more documents naming Zephyr, Siemens, Berlin again")
    await insert(ws, graph_cls, MIXED_B)
    dups = await graph_duplicates(ws, engine)
    check(not dups, f"no duplicate vertices or edges: {dups}")
    after_py = await h.python_dump(ws, graph_cls, None, None, kg_specs(mid_py))
    after_rs = h.rust_dump(ws, engine, MODEL, kg_specs(mid_py))
    h.assert_same(after_rs, after_py, f"mixed_writers[{engine}] after Python's second insert")
    check_counts_agree(after_py, "after Python's second insert")
    nodes = after_py["graph"]["nodes"]
    check("Siemens" in nodes, "Python re-created Siemens")
    zephyr = nodes.get("Zephyr", {})
    check("rust-edit.txt" in zephyr.get("file_path", "") and "mixed-b" in zephyr.get("file_path", ""),
          f"Python merged into Rust's Zephyr vertex: file_path={zephyr.get('file_path')!r}")
    log(f"counts: {store_counts(after_py)}")
    await h.cleanup(ws)


async def mixed_writers_age() -> None:
    await mixed_writers("PGGraphStorage")


async def mixed_writers_table() -> None:
    await mixed_writers("PGTableGraphStorage")


async def rust_writes_python_reads_dickens() -> None:
    await rust_writes_python_reads("dickens-christmas-carol-en", "PGTableGraphStorage")


async def rust_writes_python_reads_yogyakarta() -> None:
    await rust_writes_python_reads("yogyakarta-trafficking-perda-id", "PGGraphStorage")


async def rust_writes_python_reads_film() -> None:
    await rust_writes_python_reads("film-24-2016-en", "PGGraphStorage")


async def rust_writes_python_reads_academic() -> None:
    await rust_writes_python_reads("academic-bio-en-legacy", "PGGraphStorage")


SCENARIOS = {
    "rust_migrates_from_a_dotenv_folder": rust_migrates_from_a_dotenv_folder,
    "python_writes_rust_reads_age": python_writes_rust_reads_age,
    "python_writes_rust_reads_table": python_writes_rust_reads_table,
    "rust_writes_python_reads_sample": rust_writes_python_reads_sample,
    "rust_writes_python_reads_sample_table": rust_writes_python_reads_sample_table,
    "rust_writes_python_reads_english": rust_writes_python_reads_english,
    "rust_writes_python_reads_dickens": rust_writes_python_reads_dickens,
    "rust_writes_python_reads_yogyakarta": rust_writes_python_reads_yogyakarta,
    "rust_writes_python_reads_film": rust_writes_python_reads_film,
    "rust_writes_python_reads_academic": rust_writes_python_reads_academic,
    "mixed_writers_age": mixed_writers_age,
    "mixed_writers_table": mixed_writers_table,
    "retrieval_python_written_table": retrieval_python_written_table,
    # Retrieval: our `lightrag-pg query` equals aquery_data (retrieval.py).
    **retrieval.SCENARIOS,
    # `lightrag-pg serve` and the real lightrag-server answer alike (serve_compare.py).
    **serve_compare.SCENARIOS,
}

if __name__ == "__main__":
    h.main_for(SCENARIOS)
