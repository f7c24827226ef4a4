"""The hashing embedder of the interop scenarios, with no LightRAG import, so
that the scripts run by older LightRAG releases (`legacy_release.py`) share it
with `offline.py`."""
from __future__ import annotations

import hashlib
import math
import re


def embed_text(text: str, dim: int) -> list[float]:
    """Hashing embedder: bag of lower-cased words, signed feature hashing, L2-normalised."""
    v = [0.0] * dim
    for w in re.findall(r"\w+", text.lower()):
        h = int.from_bytes(hashlib.md5(w.encode()).digest()[:8], "little")
        v[h % dim] += 1.0 if (h >> 40) & 1 else -1.0
    n = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / n for x in v]
