"""How retrieval results are compared (retrieval.py), with no LightRAG import so
that test_compare.py can test it: `aquery_data` dictionaries must be identical,
key order and list order included, but for N9 (JSON numbers by value: `1 == 1.0`;
booleans are not numbers). Context strings are compared byte for byte."""
from __future__ import annotations


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
