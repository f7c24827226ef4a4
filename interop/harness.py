"""What the interop scenarios share: the Rust programs, both dumps, the
comparison, workspace names and clean-up, context parsing, GraphML reading.

Environment:
    POSTGRES_HOST/PORT/USER/PASSWORD/DATABASE   the server (`cargo xtask pg env`)
    LIGHTRAG_PG_BIN          the `lightrag-pg` CLI (default ../target/debug/lightrag-pg)
    LIGHTRAG_PG_INTEROP_BIN  `lightrag-pg-interop` (default ../target/debug/lightrag-pg-interop)
    LIGHTRAG_SHARED_DATASETS the datasets folder (default ../../shared/datasets)
    INTEROP_KEEP=1           keep the scenario workspaces (for debugging)
    INTEROP_VERBOSE=1        show LightRAG's INFO logs
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import asyncpg
from lightrag.utils import logger as lightrag_logger

import compare as cmp
import dump_python

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = os.environ.get("LIGHTRAG_PG_BIN", str(ROOT / "target" / "debug" / "lightrag-pg"))
IBIN = os.environ.get("LIGHTRAG_PG_INTEROP_BIN", str(ROOT / "target" / "debug" / "lightrag-pg-interop"))
DATASETS = Path(os.environ.get("LIGHTRAG_SHARED_DATASETS", str(ROOT.parent / "shared" / "datasets")))
GRAPHS = {"PGGraphStorage": "age", "PGTableGraphStorage": "table"}
if os.environ.get("INTEROP_VERBOSE") != "1":
    lightrag_logger.setLevel("WARNING")
RUN_ID = os.environ.get("INTEROP_RUN_ID", str(os.getpid() % 100000))


class ScenarioFailure(AssertionError):
    """A scenario's check failed."""


def check(ok: bool, what: str) -> None:
    if not ok:
        raise ScenarioFailure(what)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


_CREATED: list[str] = []


def workspace(tag: str) -> str:
    """A fresh workspace name for this run (short enough for an AGE graph name);
    `main_for` removes it after the scenario, passed or failed."""
    ws = f"iop_{tag}_{RUN_ID}"
    _CREATED.append(ws)
    return ws


# ------------------------------------------------------------------ Rust programs

def run(cmd: list[str], what: str) -> str:
    """Runs a program; its stdout, or a ScenarioFailure quoting its stderr."""
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise ScenarioFailure(f"{what} failed (exit {p.returncode}): {' '.join(cmd)}\n{p.stderr.strip()[-3000:]}")
    return p.stdout


def rust_dump(ws: str, graph: str, model: str | None, kgs: list[tuple[str, int, int]] = ()) -> dict:
    """`lightrag-pg dump` (+ `lightrag-pg graph` per requested knowledge graph)."""
    cmd = [BIN, "-w", ws, "dump", "--graph", graph]
    if model:
        cmd += ["--model-name", model]
    d = json.loads(run(cmd, "lightrag-pg dump"))
    d["knowledge_graphs"] = {}
    for label, depth, max_nodes in kgs:
        out = run([BIN, "-w", ws, "graph", "--graph", graph, "--label", label, "--depth", str(depth),
                   "--max-nodes", str(max_nodes), "--format", "json"], "lightrag-pg graph")
        d["knowledge_graphs"][f"{label}:{depth}:{max_nodes}"] = json.loads(out)
    return d


def rust_migrate(ws: str, dataset: Path, graph: str, model: str) -> dict:
    """Loads a LightRAG working directory with `lightrag-pg migrate`; its JSON report."""
    out = run([BIN, "-w", ws, "migrate", "--from", str(dataset), "--graph", graph, "--model-name", model, "--json"],
              "lightrag-pg migrate")
    try:
        return json.loads(out)
    except json.JSONDecodeError as e:
        raise ScenarioFailure(f"lightrag-pg migrate --json printed no JSON ({e}): {out[-500:]}") from e


def rust_edit(ws: str, graph: str, model: str, dim: int, **plan: list[str]) -> dict:
    cmd = [IBIN, "edit", "-w", ws, "--graph", graph, "--model-name", model, "--dim", str(dim)]
    for k, values in plan.items():
        for v in values:
            cmd += [f"--{k}", v]
    return json.loads(run(cmd, "lightrag-pg-interop edit"))


# ------------------------------------------------------------------ dumps and comparison

async def python_dump(ws: str, graph_cls: str, dim: int | None, model: str | None,
                      kgs: list[tuple[str, int, int]] = (), **rag_kwargs) -> dict:
    return await dump_python.dump(ws, graph_cls, dim, model, list(kgs), **rag_kwargs)


def assert_same(ours: dict, python: dict, what: str) -> None:
    """Every record equal both ways, up to the documented normalisations."""
    lines = cmp.compare(ours, python)
    if lines:
        shown = "\n  ".join(lines[:60])
        more = f"\n  … and {len(lines) - 60} more" if len(lines) > 60 else ""
        raise ScenarioFailure(f"{what}: {len(lines)} difference(s) between our dump and Python's:\n  {shown}{more}")
    log(f"{what}: equal ({cmp.summary(ours)})")


def check_nonempty(d: dict, what: str) -> None:
    """A dump that compares equal because both sides read nothing proves nothing."""
    g = d.get("graph", {})
    check(len(g.get("nodes", {})) > 0 and len(g.get("edges", [])) > 0, f"{what}: the graph is empty")
    check(any(d.get("kv", {}).values()), f"{what}: no KV record")
    check(len(d.get("doc_status", {})) > 0, f"{what}: no doc status")
    check(all(len(v) > 0 for v in d.get("vectors", {}).values()) and len(d.get("vectors", {})) == 3,
          f"{what}: a vector namespace is empty")


# ------------------------------------------------------------------ database helpers

def pg_dsn() -> dict:
    return dict(host=os.environ.get("POSTGRES_HOST", "127.0.0.1"), port=int(os.environ.get("POSTGRES_PORT", "5432")),
                user=os.environ.get("POSTGRES_USER", "postgres"), password=os.environ.get("POSTGRES_PASSWORD", ""),
                database=os.environ.get("POSTGRES_DATABASE", "postgres"))


def age_graph_name(ws: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", ws) + "_chunk_entity_relation"


async def sql(query: str, *args):
    conn = await asyncpg.connect(**pg_dsn())
    try:
        await conn.execute("LOAD 'age'")
        await conn.execute('SET search_path = ag_catalog, "$user", public')
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def cleanup(ws: str) -> None:
    """Deletes every row of `ws` from the LightRAG tables and drops its AGE graph."""
    if os.environ.get("INTEROP_KEEP") == "1":
        log(f"keeping workspace {ws} (INTEROP_KEEP=1)")
        return
    conn = await asyncpg.connect(**pg_dsn())
    try:
        tables = await conn.fetch(
            "SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND a.attname = 'workspace' AND n.nspname = 'public' AND c.relname LIKE 'lightrag%'")
        for t in tables:
            await conn.execute(f'DELETE FROM public."{t["relname"]}" WHERE workspace = $1', ws)
        await conn.execute("LOAD 'age'")
        await conn.execute(
            "SELECT ag_catalog.drop_graph(g.name, true) FROM ag_catalog.ag_graph g WHERE g.name = $1::text::name",
            age_graph_name(ws))
    finally:
        await conn.close()


# ------------------------------------------------------------------ contexts and datasets

def parse_context(ctx: str) -> dict:
    """Entities, relations and chunk contents named in an `only_need_context` answer."""
    out = {"entities": [], "relations": [], "chunks": []}
    for line in str(ctx).splitlines():
        line = line.strip()
        if not (line.startswith("{") and line.endswith("}")):
            continue
        try:
            o = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "entity" in o:
            out["entities"].append(o["entity"])
        elif "entity1" in o:
            out["relations"].append((o["entity1"], o.get("entity2")))
        elif "content" in o:
            out["chunks"].append(o["content"])
    return out


def graphml(dataset: Path) -> tuple[set[str], list[tuple[str, str]]]:
    """Node ids and edges of a dataset's GraphML."""
    tree = ET.parse(dataset / "graph_chunk_entity_relation.graphml")
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    nodes = {unquote(n.get("id")) for n in tree.getroot().iter("{http://graphml.graphdrawing.org/xmlns}node")}
    edges = [(unquote(e.get("source")), unquote(e.get("target")))
             for e in tree.getroot().iter("{http://graphml.graphdrawing.org/xmlns}edge")]
    del ns
    return nodes, edges


def unquote(name: str) -> str:
    """Old-v0 directories wrap entity names in literal double quotes; migrate
    unquotes them (lightrag-pg-files `strip_legacy_quotes`, on by default)."""
    if len(name) >= 2 and name.startswith('"') and name.endswith('"'):
        return name[1:-1]
    return name


def dataset_dim(dataset: Path) -> int:
    with open(dataset / "vdb_entities.json", encoding="utf-8") as f:
        head = f.read(4096)
    m = re.search(r'"embedding_dim"\s*:\s*(\d+)', head)
    if m:
        return int(m.group(1))
    with open(dataset / "vdb_entities.json", encoding="utf-8") as f:
        return int(json.load(f)["embedding_dim"])


def dataset_docs(name: str, limit: int | None = None) -> tuple[list[str], list[str]]:
    """Texts and file names of a dataset's full_docs (read at run time)."""
    with open(DATASETS / name / "kv_store_full_docs.json", encoding="utf-8") as f:
        docs = json.load(f)
    items = sorted(docs.items())[:limit]
    return [v["content"] for _, v in items], [f"{name}/{k}.txt" for k, _ in items]


def main_for(scenarios: dict) -> None:
    """Runs the named scenarios (all when none is named); exit 1 when one fails."""
    names = sys.argv[1:] or list(scenarios)
    failed = []
    for name in names:
        if name not in scenarios:
            sys.exit(f"unknown scenario {name!r}; known: {', '.join(scenarios)}")
        t = time.time()
        log(f"=== {name}")
        try:
            asyncio.run(scenarios[name]())
            log(f"=== {name}: PASS ({time.time() - t:.1f} s)")
        except Exception as e:  # noqa: BLE001 - report every failure, then exit 1
            failed.append(name)
            log(f"=== {name}: FAIL ({time.time() - t:.1f} s)\n{type(e).__name__}: {e}\n"
                f"(INTEROP_KEEP=1 keeps the scenario's workspaces for a look)")
        finally:
            while _CREATED:
                asyncio.run(cleanup(_CREATED.pop()))
    if failed:
        log(f"FAILED: {', '.join(failed)}")
        sys.exit(1)
    log(f"all {len(names)} scenario(s) passed")
