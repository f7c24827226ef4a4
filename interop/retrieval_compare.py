"""How retrieval results are compared (retrieval.py, serve_compare.py), with no
LightRAG import so that test_compare.py can test it: `aquery_data` dictionaries
must be identical, key order and list order included, but for N9 (JSON numbers
by value: `1 == 1.0`; booleans are not numbers). Context strings are compared
byte for byte. HTTP bodies of the two servers (`serve_compare_bodies`): the
same, plus S1 (`response_time`) and S2 (`/graphs` by entity names, N6/N7)."""
from __future__ import annotations

from compare import kg_view


def by_value(v):
    """N9: every JSON number as a float (booleans stay booleans)."""
    if isinstance(v, dict):
        return {k: by_value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [by_value(x) for x in v]
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return v


def first_difference(a, b, path: str = "") -> str:
    """Where two results first differ ('' when equal up to N9)."""
    return _diff(by_value(a), by_value(b), path)


def _diff(a, b, path: str) -> str:
    if type(a) is not type(b):
        return f"{path}: {type(a).__name__} {str(a)[:200]!r} vs {type(b).__name__} {str(b)[:200]!r}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} vs {list(b)}"
        for k in a:
            d = _diff(a[k], b[k], f"{path}/{k}")
            if d:
                return d
        return ""
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = _diff(x, y, f"{path}[{i}]")
            if d:
                return d
        if len(a) != len(b):
            return f"{path}: {len(a)} items vs {len(b)}"
        return ""
    return "" if a == b else f"{path}: {str(a)[:300]!r} vs {str(b)[:300]!r}"


def serve_compare_bodies(route: str, ours, python) -> str:
    """Where the bodies the two servers gave for `route` differ ('' when equal):
    identical up to N9, but for
    S1: `/query`'s `response_time` (wall clock) is a non-negative number on
        both sides (or absent on both), its value not compared (also the
        `{"response_time"}` line of `/query/stream`);
    S3: `/query/stream`'s NDJSON lines compared with the `{"response"}`
        pieces of a streamed answer joined into one (where the text is cut is
        the stand-in's and the transport's);
    S2: `/graphs` compared by entity names (N6; AGE node and edge ids are
        graphids in Python; the order of nodes, edges and properties is not
        significant), and a truncated graph that kept other nodes by its node
        count and `is_truncated` only (N7)."""
    if route == "/query/stream" and isinstance(ours, list) and isinstance(python, list):
        ours, python = joined_stream(ours), joined_stream(python)
    if route == "/query" and isinstance(ours, dict) and isinstance(python, dict):
        times = [d.get("response_time") for d in (ours, python)]
        if (times[0] is None) != (times[1] is None):
            return f"/response_time: {times[0]!r} vs {times[1]!r}"
        for t in times:
            if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or t < 0):
                return f"/response_time: not a duration: {t!r}"
        ours = {k: (0 if k == "response_time" and v is not None else v) for k, v in ours.items()}
        python = {k: (0 if k == "response_time" and v is not None else v) for k, v in python.items()}
    if route == "/graphs" and isinstance(ours, dict) and isinstance(python, dict) and "nodes" in python:
        va, vb = kg_view(ours), kg_view(python)
        if set(ours) != set(python):
            return f": keys {sorted(ours)} vs {sorted(python)}"
        if va["is_truncated"] != vb["is_truncated"] or len(va["nodes"]) != len(vb["nodes"]):
            return (f": {len(va['nodes'])} nodes (truncated {va['is_truncated']}) vs {len(vb['nodes'])} "
                    f"(truncated {vb['is_truncated']})")
        if va["is_truncated"] and set(va["nodes"]) != set(vb["nodes"]):
            return ""
        return first_difference(canonical({"nodes": va["nodes"], "edges": va["edges"]}),
                                canonical({"nodes": vb["nodes"], "edges": vb["edges"]}))
    return first_difference(ours, python)


def joined_stream(lines: list) -> list:
    """NDJSON lines with consecutive `{"response": piece}` lines joined (S3),
    and a `{"response_time": seconds}` line's value (a non-negative number)
    set to 0 (S1)."""
    out: list = []
    for line in lines:
        t = line.get("response_time") if isinstance(line, dict) and set(line) == {"response_time"} else None
        if isinstance(t, (int, float)) and not isinstance(t, bool) and t >= 0:
            line = {"response_time": 0}
        if isinstance(line, dict) and set(line) == {"response"} and out and isinstance(out[-1], dict) \
                and set(out[-1]) == {"response"}:
            out[-1] = {"response": out[-1]["response"] + line["response"]}
        else:
            out.append(line)
    return out


def canonical(v):
    """`v` with every object's keys sorted."""
    if isinstance(v, dict):
        return {k: canonical(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [canonical(x) for x in v]
    return v
