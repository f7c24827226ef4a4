"""Upgrades of databases that OLDER lightrag-hku releases created (run with the
1.5.7 virtual environment by `cargo xtask interop`; see README.md).

    python legacy_scenarios.py 1.2.6=/path/to/venv/bin/python 1.3.9=... [--keep]
    python legacy_scenarios.py --start DATABASE [--fresh]  # (child) 1.5.7 initialize_storages

For each release, in a fresh database of its own (dropped afterwards):

1. that release's own storages create their schema and write a small knowledge
   base (`legacy_release.py`, run with the release's virtual environment);
2. `lightrag-pg init --dry-run --json` lists upgrade steps and changes nothing;
3. `lightrag-pg init` (same model name and dimension) upgrades it; a second
   dry run lists no step;
4. the columns of every `lightrag_*` table (name, type, nullability, default)
   equal those of a database Python LightRAG 1.5.7 created fresh, but for the
   legacy columns 1.5.7 keeps too (LEGACY_KEPT);
5. `lightrag-pg dump` reads back every record the old release wrote;
6. Python 1.5.7 `initialize_storages()` starts on the upgraded database and
   logs no error and no failed migration.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = os.environ.get("LIGHTRAG_PG_BIN", str(ROOT / "target" / "debug" / "lightrag-pg"))
DIM = 64
MODEL = "interop-hash"
# Columns of an older release that 1.5.7 no longer declares and never drops
# (neither does our upgrade): 1.2's doc-status copy of the document, and the
# chunk vectors that 1.2/1.3 kept beside the text chunks.
LEGACY_KEPT = {("lightrag_doc_status", "content"), ("lightrag_doc_chunks", "content_vector")}
COLUMNS_SQL = (
    "SELECT table_name::text, column_name::text, data_type::text, udt_name::text, character_maximum_length, "
    "is_nullable::text, column_default::text FROM information_schema.columns "
    "WHERE table_schema = 'public' AND table_name LIKE 'lightrag%' AND table_name <> 'lightrag_pg_schema_migrations'")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Failure(AssertionError):
    pass


def check(ok: bool, what: str) -> None:
    if not ok:
        raise Failure(what)


def dsn(database: str | None = None) -> dict:
    return dict(host=os.environ.get("POSTGRES_HOST", "127.0.0.1"), port=int(os.environ.get("POSTGRES_PORT", "5432")),
                user=os.environ.get("POSTGRES_USER", "postgres"), password=os.environ.get("POSTGRES_PASSWORD", ""),
                database=database or os.environ.get("POSTGRES_DATABASE", "postgres"))


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(**dsn())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_db(name: str) -> None:
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin(f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(**dsn(name))
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS age")
    finally:
        await conn.close()


async def columns(db: str) -> dict[tuple[str, str], tuple]:
    conn = await asyncpg.connect(**dsn(db))
    try:
        rows = await conn.fetch(COLUMNS_SQL)
    finally:
        await conn.close()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def env_for(db: str) -> dict:
    env = dict(os.environ, POSTGRES_DATABASE=db, POSTGRES_WORKSPACE="default", EMBEDDING_DIM=str(DIM),
               EMBEDDING_MODEL=MODEL, PYTHONUNBUFFERED="1")
    return env


def run(cmd: list[str], db: str, what: str) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True, env=env_for(db), cwd=HERE)
    if p.returncode != 0:
        raise Failure(f"{what} failed (exit {p.returncode}): {' '.join(cmd)}\n{(p.stderr or p.stdout)[-4000:]}")
    return p.stdout


def ours(db: str, *args: str) -> str:
    return run([BIN, "-w", "default", *args], db, f"lightrag-pg {' '.join(args)}")


def init_args() -> list[str]:
    return ["init", "--graph", "age", "--embedding-dim", str(DIM), "--model-name", MODEL]


def start_157(db: str, fresh: bool = False) -> None:
    """Python 1.5.7's start-up on `db`, in a child (its client pool is process-wide).
    On a fresh database its probes of missing tables log errors, so none is checked."""
    cmd = [sys.executable, __file__, "--start", db] + (["--fresh"] if fresh else [])
    out = run(cmd, db, "Python LightRAG 1.5.7 initialize_storages")
    log(f"  1.5.7 start-up: {out.strip().splitlines()[-1] if out.strip() else 'ok'}")


# ------------------------------------------------------------------ checks

def compare_columns(got: dict, want: dict, release: str) -> None:
    problems = []
    for key, shape in sorted(want.items()):
        if key not in got:
            problems.append(f"missing column {key[0]}.{key[1]} {shape}")
        elif got[key] != shape:
            problems.append(f"{key[0]}.{key[1]}: {got[key]} != 1.5.7's {shape}")
    fresh_tables = {t for t, _ in want}
    for key in sorted(got):
        if key[0] in fresh_tables and key not in want and key not in LEGACY_KEPT:
            problems.append(f"extra column {key[0]}.{key[1]} {got[key]}")
    check(not problems, f"{release}: the upgraded columns differ from a fresh 1.5.7 database:\n  "
          + "\n  ".join(problems))


def find_records(dump: dict, expected: dict, release: str) -> int:
    """Every record the old release wrote is in our dump, with the fields written."""
    problems, n = [], 0

    def same(path: str, got: dict | None, want: dict) -> None:
        nonlocal n
        n += 1
        if got is None:
            problems.append(f"{path}: missing")
            return
        for k, v in want.items():
            if got.get(k) != v:
                problems.append(f"{path}.{k}: {got.get(k)!r} != {v!r}")

    for section in ("kv", "vectors"):
        for ns, recs in expected[section].items():
            for rid, want in recs.items():
                same(f"{section}.{ns}.{rid}", dump.get(section, {}).get(ns, {}).get(rid), want)
    for rid, want in expected["doc_status"].items():
        same(f"doc_status.{rid}", dump.get("doc_status", {}).get(rid), want)
    nodes = dump.get("graph", {}).get("nodes", {})
    for name, want in expected["graph"]["nodes"].items():
        same(f"graph.nodes.{name}", nodes.get(name), want)
    pairs = {frozenset((e.get("source"), e.get("target"))): e for e in dump.get("graph", {}).get("edges", [])}
    for e in expected["graph"]["edges"]:
        got = pairs.get(frozenset((e["source"], e["target"])))
        same(f"graph.edges.{e['source']}-{e['target']}", got and got.get("properties", got),
             {"description": e["description"]})
    for ns, recs in expected["vectors"].items():
        for rid in recs:
            vec = dump.get("vectors", {}).get(ns, {}).get(rid, {}).get("vector")
            if vec is not None and len(vec) != DIM:
                problems.append(f"vectors.{ns}.{rid}: {len(vec)} dimensions, not {DIM}")
    check(not problems, f"{release}: records written by the old release do not read back:\n  " + "\n  ".join(problems))
    return n


async def scenario(release: str, python: str, reference: dict, keep: bool) -> None:
    db = f"iop_legacy_{release.replace('.', '_')}_{os.getpid() % 100000}"
    await create_db(db)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            expected_path = Path(tmp) / "expected.json"
            t = time.time()
            writer = [python, str(HERE / "legacy_release.py"), str(expected_path)]
            # The writer initialises the storages one by one (see
            # legacy_release.initialize_one_by_one), so no retry hides a deadlock.
            run(writer, db, f"lightrag-hku {release} writer")
            expected = json.loads(expected_path.read_text())
            log(f"  lightrag-hku {expected['release']} wrote its knowledge base ({time.time() - t:.1f} s)")
        before = await columns(db)
        steps = json.loads(ours(db, "init", "--dry-run", "--json"))
        check(len(steps) > 0, f"{release}: the dry run lists no upgrade step")
        check(await columns(db) == before, f"{release}: the dry run changed the schema")
        log(f"  dry run: {len(steps)} step(s): {', '.join(s['name'] for s in steps)}")
        t = time.time()
        ours(db, *init_args())
        log(f"  lightrag-pg init upgraded it ({time.time() - t:.1f} s)")
        again = json.loads(ours(db, "init", "--dry-run", "--json"))
        check(again == [], f"{release}: steps left after the upgrade: {[s['name'] for s in again]}")
        ours(db, *init_args())
        compare_columns(await columns(db), reference, release)
        log(f"  columns equal a fresh 1.5.7 database's ({len(reference)} columns)")
        dump = json.loads(ours(db, "dump", "--graph", "age", "--model-name", MODEL))
        n = find_records(dump, expected, release)
        log(f"  {n} records written by {release} read back through our storages")
        if "unread_layout" in expected["graph"]:
            log(f"  (graph not compared: {expected['graph']['unread_layout']} is not a layout 1.5.7 reads)")
        start_157(db)
        compare_columns(await columns(db), reference, release)
    finally:
        if keep:
            log(f"  keeping database {db}")
        else:
            await admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


async def reference_columns(keep: bool) -> dict:
    db = f"iop_legacy_ref_{os.getpid() % 100000}"
    await create_db(db)
    try:
        start_157(db, fresh=True)
        return await columns(db)
    finally:
        if not keep:
            await admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


# ------------------------------------------------------------------ child: 1.5.7 start-up

async def start(db: str, fresh: bool) -> None:
    """initialize_storages of Python 1.5.7 on `db`; exit 1 on a logged error or a
    failed migration (1.5.7 logs those and carries on)."""
    from lightrag.utils import logger

    from offline import make_rag

    bad: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            msg = record.getMessage()
            if record.levelno >= logging.ERROR or "fail" in msg.lower():
                bad.append(f"{record.levelname}: {msg}")

    logger.setLevel(logging.WARNING)
    logger.addHandler(Catch(level=logging.WARNING))
    rag = make_rag("default", "PGGraphStorage", working_dir=f"/tmp/lightrag-legacy-157-{os.getpid()}", dim=DIM,
                   model=MODEL)
    await rag.initialize_storages()
    await rag.finalize_storages()
    if bad and not fresh:
        sys.exit("Python LightRAG 1.5.7 logged, starting on " + db + ":\n  " + "\n  ".join(bad))
    print(f"initialize_storages on {db}: no error")


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--start"]:
        asyncio.run(start(args[1], "--fresh" in args))
        return
    keep = "--keep" in args
    releases = [a.split("=", 1) for a in args if "=" in a]
    if not releases:
        sys.exit(__doc__)
    t0 = time.time()
    reference = asyncio.run(reference_columns(keep))
    log(f"fresh 1.5.7 database: {len(reference)} columns in {len({t for t, _ in reference})} tables")
    failed = []
    for release, python in releases:
        t = time.time()
        log(f"=== legacy_{release}")
        try:
            asyncio.run(scenario(release, python, reference, keep))
            log(f"=== legacy_{release}: PASS ({time.time() - t:.1f} s)")
        except Exception as e:  # noqa: BLE001 - report every failure, then exit 1
            failed.append(release)
            log(f"=== legacy_{release}: FAIL ({time.time() - t:.1f} s)\n{type(e).__name__}: {e}")
    log(f"legacy scenarios: {time.time() - t0:.1f} s")
    if failed:
        sys.exit(f"FAILED: {', '.join('legacy_' + r for r in failed)}")


if __name__ == "__main__":
    main()
