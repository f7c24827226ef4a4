"""Compare two workspace dumps record by record (`lightrag-pg dump` against
`dump_python.py`, or any two dumps of that shape).

Everything must be equal except for the KNOWN, deliberate deviations, which are
normalised here and listed (with their reasons) in interop/README.md,
"Normalisations". Every normalisation below is tagged `N<k>` like the README.
Anything else that differs is reported as a failure.

Usage:
    python compare.py OURS.json PYTHON.json      # exit 1 and a list of differences
"""
from __future__ import annotations

import datetime
import json
import math
import sys
from typing import Any

SEP = "<SEP>"
VECTOR_TOLERANCE = 1e-5  # N4: float32 round trips (pgvector text vs binary)


# --------------------------------------------------------------------------- values

def values_equal(a: Any, b: Any) -> bool:
    """Deep equality of JSON values; numbers by value (N9: 1 == 1.0), NaN == NaN."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    return a == b


def short(v: Any, n: int = 160) -> str:
    s = json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)
    return s if len(s) <= n else s[: n - 3] + "..."


class Diff:
    """Collects differences as lines `where: what`."""

    def __init__(self, left: str, right: str) -> None:
        self.left, self.right = left, right
        self.lines: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.lines.append(f"{where}: {what}")

    def record(self, where: str, a: dict | None, b: dict | None) -> None:
        """Field-by-field comparison of two records (both ways: extra keys on either side fail)."""
        if a is None or b is None:
            if (a is None) != (b is None):
                self.add(where, f"only in {self.left if b is None else self.right}")
            return
        for k in sorted(set(a) | set(b)):
            if k not in b:
                self.add(f"{where}.{k}", f"only in {self.left}: {short(a[k])}")
            elif k not in a:
                self.add(f"{where}.{k}", f"only in {self.right}: {short(b[k])}")
            elif not values_equal(a[k], b[k]):
                self.add(f"{where}.{k}", f"{self.left}={short(a[k])} {self.right}={short(b[k])}")

    def keyed(self, where: str, a: dict, b: dict, each) -> None:
        """Same key set both ways, then `each(where, key, va, vb)` per common key."""
        for k in sorted(set(a) - set(b)):
            self.add(f"{where}[{k}]", f"only in {self.left}")
        for k in sorted(set(b) - set(a)):
            self.add(f"{where}[{k}]", f"only in {self.right}")
        for k in sorted(set(a) & set(b)):
            each(f"{where}[{k}]", k, a[k], b[k])


# --------------------------------------------------------------------------- normalisations

def parse_instant(v: Any) -> Any:
    """N3: a doc-status timestamp as an instant (aware UTC datetime); naive ISO
    strings are read as UTC, epoch numbers as seconds."""
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return datetime.datetime.fromtimestamp(v, datetime.timezone.utc)
    if isinstance(v, str):
        s = v.strip().replace("Z", "+00:00")
        try:
            dt = datetime.datetime.fromisoformat(s)
        except ValueError:
            return v
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=datetime.timezone.utc)
        return dt.astimezone(datetime.timezone.utc)
    return v


def norm_doc_status(rec: dict) -> dict:
    out = dict(rec)
    for k in ("created_at", "updated_at"):
        if k in out:
            out[k] = parse_instant(out[k])
    return out


PY_VECTOR_COLUMNS_DROPPED = ("workspace", "create_time", "update_time")


def norm_vector_payload(ns: str, rec: dict, python_columns: bool) -> dict:
    """N1/N2: the meaningful fields of a vector record, under LightRAG's names.

    Python's PGVectorStorage.get_by_ids returns the raw row (`SELECT *`): the
    bookkeeping columns workspace/create_time/update_time (create_time is also
    returned as `created_at`, epoch seconds, which is compared), `chunk_ids`
    (a list) where LightRAG's payload has `source_id` (chunk ids joined by
    `<SEP>`), and for relations `source_id`/`target_id` where the payload has
    `src_id`/`tgt_id`. Ours returns LightRAG's payload names."""
    # N8: a NULL column (Python's raw row) and an absent payload field (ours)
    # both mean "not set".
    out = {k: v for k, v in rec.items() if k != "vector" and v is not None}
    if not python_columns:
        return out
    for k in PY_VECTOR_COLUMNS_DROPPED:
        out.pop(k, None)
    if ns == "relationships":
        if "source_id" in out:
            out["src_id"] = out.pop("source_id")
        if "target_id" in out:
            out["tgt_id"] = out.pop("target_id")
    if "chunk_ids" in out:
        ids = out.pop("chunk_ids")
        if ids:
            out["source_id"] = SEP.join(ids)
    return out


def empty_source_id_equivalent(a: dict, b: dict) -> None:
    """N2 (cont.): an empty/NULL chunk_ids column reads as no `source_id` in
    Python and as `source_id: ""` (or absent) in ours: both mean "no chunk"."""
    for d in (a, b):
        if d.get("source_id") in ("", None):
            d.pop("source_id", None)


def compare_vectors(diff: Diff, where: str, a: Any, b: Any) -> None:
    """N4: vectors compared component-wise within 1e-5 (float32 storage)."""
    if a is None or b is None:
        if (a is None) != (b is None):
            diff.add(where, f"vector only in {diff.left if b is None else diff.right}")
        return
    if len(a) != len(b):
        diff.add(where, f"dimension {len(a)} vs {len(b)}")
        return
    worst = max((abs(x - y) for x, y in zip(a, b)), default=0.0)
    if not worst <= VECTOR_TOLERANCE:
        diff.add(where, f"vectors differ by up to {worst:g}")


def edge_map(diff: Diff, side: str, edges: list[dict]) -> dict:
    """N5: edges keyed by the unordered pair {source, target}; ours nests the
    properties under `properties`, Python's get_all_edges flattens them next to
    source/target. A pair seen twice is a failure (one edge per unordered pair)."""
    out: dict = {}
    for e in edges:
        if "properties" in e and set(e) <= {"source", "target", "properties"}:
            props = dict(e["properties"] or {})
        else:
            props = {k: v for k, v in e.items() if k not in ("source", "target")}
        key = "<->".join(sorted([e["source"], e["target"]]))
        if key in out:
            diff.add(f"graph.edges[{key}]", f"duplicate edge in {side}")
        out[key] = props
    return out


def kg_view(kg: dict) -> dict:
    """N6: a KnowledgeGraph by entity names. AGE node ids are graphids in Python
    and entity names in ours (by design), edge ids likewise, and `type` is
    Python's constant "DIRECTED"; so nodes are keyed by `entity_id`, edges by
    the unordered pair of their endpoints' entity names."""
    names = {}
    nodes = {}
    for n in kg.get("nodes", []):
        props = n.get("properties") or {}
        name = props.get("entity_id") or (n.get("labels") or [n.get("id")])[0]
        names[str(n.get("id"))] = name
        nodes[name] = {"labels": n.get("labels"), "properties": props}
    edges = {}
    for e in kg.get("edges", []):
        s = names.get(str(e.get("source")), e.get("source"))
        t = names.get(str(e.get("target")), e.get("target"))
        edges["<->".join(sorted([str(s), str(t)]))] = e.get("properties") or {}
    return {"nodes": nodes, "edges": edges, "is_truncated": bool(kg.get("is_truncated"))}


# --------------------------------------------------------------------------- compare

def compare(ours: dict, python: dict, left: str = "ours", right: str = "python") -> list[str]:
    """Every difference between our dump and Python's (empty when they agree).
    Checked both ways: a record, field or edge present on one side only fails."""
    d = Diff(left, right)

    # KV: records must be identical (N9 numbers by value only).
    kv_a, kv_b = ours.get("kv", {}), python.get("kv", {})
    d.keyed("kv", kv_a, kv_b, lambda w, ns, a, b: d.keyed(w, a, b, lambda w2, _id, x, y: d.record(w2, x, y)))

    # Doc status: N3 timestamps as instants.
    d.keyed("doc_status", ours.get("doc_status", {}), python.get("doc_status", {}),
            lambda w, _id, a, b: d.record(w, norm_doc_status(a), norm_doc_status(b)))

    # Vectors: N1/N2 payload names, N4 tolerance.
    def vec_ns(w: str, ns: str, a: dict, b: dict) -> None:
        def each(w2: str, _id: str, x: dict, y: dict) -> None:
            px = norm_vector_payload(ns, x, python_columns=False)
            py = norm_vector_payload(ns, y, python_columns=True)
            empty_source_id_equivalent(px, py)
            d.record(w2, px, py)
            compare_vectors(d, f"{w2}.vector", x.get("vector"), y.get("vector"))
        d.keyed(w, a, b, each)
    d.keyed("vectors", ours.get("vectors", {}), python.get("vectors", {}), vec_ns)

    # Graph: nodes and degrees exactly, edges as unordered pairs (N5).
    ga, gb = ours.get("graph", {}), python.get("graph", {})
    d.keyed("graph.nodes", ga.get("nodes", {}), gb.get("nodes", {}), lambda w, _id, a, b: d.record(w, a, b))
    d.keyed("graph.degrees", ga.get("degrees", {}), gb.get("degrees", {}),
            lambda w, _id, a, b: None if a == b else d.add(w, f"{left}={a} {right}={b}"))
    d.keyed("graph.edges", edge_map(d, left, ga.get("edges", [])), edge_map(d, right, gb.get("edges", [])),
            lambda w, _k, a, b: d.record(w, a, b))

    # get_knowledge_graph (N6), when both dumps carry it.
    ka, kb = ours.get("knowledge_graphs"), python.get("knowledge_graphs")
    if ka is not None and kb is not None:
        def kg_each(w: str, _k: str, a: dict, b: dict) -> None:
            va, vb = kg_view(a), kg_view(b)
            if va["is_truncated"] != vb["is_truncated"]:
                d.add(f"{w}.is_truncated", f"{left}={va['is_truncated']} {right}={vb['is_truncated']}")
            if len(va["nodes"]) != len(vb["nodes"]):
                d.add(w, f"node counts {left}={len(va['nodes'])} {right}={len(vb['nodes'])}")
            if (va["is_truncated"] or vb["is_truncated"]) and set(va["nodes"]) != set(vb["nodes"]):
                # N7: which nodes a truncated BFS keeps at its last level is not
                # specified (ties); then only the node count is compared (the
                # edges follow from the nodes kept).
                return
            d.keyed(f"{w}.nodes", va["nodes"], vb["nodes"], lambda w2, _n, x, y: d.record(w2, x, y))
            d.keyed(f"{w}.edges", va["edges"], vb["edges"], lambda w2, _e, x, y: d.record(w2, x, y))
        d.keyed("knowledge_graphs", ka, kb, kg_each)
    return d.lines


def summary(dump: dict) -> str:
    kv = ", ".join(f"{k} {len(v)}" for k, v in sorted(dump.get("kv", {}).items()))
    vec = ", ".join(f"{k} {len(v)}" for k, v in sorted(dump.get("vectors", {}).items()))
    g = dump.get("graph", {})
    return (f"kv: {kv}; doc_status {len(dump.get('doc_status', {}))}; vectors: {vec}; "
            f"graph {len(g.get('nodes', {}))} nodes / {len(g.get('edges', []))} edges")


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        ours = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        python = json.load(f)
    lines = compare(ours, python)
    if lines:
        print(f"{len(lines)} difference(s):")
        for line in lines[:200]:
            print("  " + line)
        sys.exit(1)
    print("equal: " + summary(ours))


if __name__ == "__main__":
    main()
