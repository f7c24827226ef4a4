"""`lightrag-pg serve`'s validation errors against LightRAG's own pydantic model.

Usage (the interop venv, a running `lightrag-pg serve`):

    venv/bin/python interop/serve_validation.py http://127.0.0.1:9622

Each body below is validated by lightrag-hku 1.5.7's `QueryRequest` (the class
source of `lightrag/api/routers/query_routes.py`, run without FastAPI, which the
plain `lightrag-hku` install lacks) and sent to `POST /query`. A body pydantic
refuses must get 422 with `detail` equal to pydantic's errors as FastAPI renders
them (`loc` under `"body"`, `ctx.error` encoded as `{}`, no `url`); a body it
accepts must not get 422. Bodies that are not objects are left out: FastAPI
reports them as `model_attributes_type`, raw pydantic as `model_type`.
Exit status 1 on any mismatch.
"""
from __future__ import annotations

import inspect
import json
import re
import sys
import urllib.error
import urllib.request

CASES = [
    {}, {"query": 5}, {"query": "   "}, {"query": "ab"}, {"query": "ab", "mode": "bypass"},
    {"query": "abc", "mode": "x"}, {"query": "abc", "mode": None}, {"query": None},
    {"query": "abc", "top_k": "x"}, {"query": "abc", "top_k": 5.5}, {"query": "abc", "top_k": 0},
    {"query": "abc", "top_k": 1001}, {"query": "abc", "top_k": None}, {"query": "abc", "top_k": True},
    {"query": "abc", "top_k": "  7 "}, {"query": "abc", "max_total_tokens": 2_000_000},
    {"query": "abc", "only_need_context": "maybe"}, {"query": "abc", "only_need_context": 2},
    {"query": "abc", "only_need_context": None}, {"query": "abc", "enable_rerank": "on"},
    {"query": "abc", "stream": "x", "include_progress": 3},
    {"query": "abc", "hl_keywords": "a"}, {"query": "abc", "hl_keywords": [1]},
    {"query": "abc", "hl_keywords": None}, {"query": "abc", "hl_keywords": ["a", 2, "b", 3]},
    {"query": "abc", "ll_keywords": ["k" * 513]}, {"query": "abc", "response_type": ""},
    {"query": "abc", "user_prompt": 3}, {"query": "abc", "conversation_history": [1]},
    {"query": "abc", "conversation_history": [{"role": "user"}]},
    {"query": "abc", "conversation_history": [{"role": "", "content": "x"}]},
    {"query": "abc", "conversation_history": "x"}, {"query": 5, "mode": "y", "top_k": "z"},
    {"query": "ab", "top_k": 0}, {"query": "x" * 65537}, {"query": "abc", "user_prompt": "u" * 65536, "conversation_history": [{"role": "user", "content": "c" * 32768}, {"role": "user", "content": "c" * 32768}]},
]


def query_request_model():
    """LightRAG's `QueryRequest`, from the installed package's source."""
    from typing import Any, Dict, List, Literal, Optional  # noqa: F401 (the class uses them)

    from pydantic import BaseModel, Field, field_validator, model_validator  # noqa: F401

    import lightrag.constants as constants
    from lightrag.api import input_limits
    from lightrag import query_validation

    path = inspect.getsourcefile(constants).replace("constants.py", "api/routers/query_routes.py")
    src = open(path, encoding="utf-8").read()
    cls = src[src.index("class QueryRequest(BaseModel):"):src.index("class ReferenceItem(BaseModel):")]
    cls = re.sub(r"\n    def to_query_params.*", "\n", cls, flags=re.S)
    ns = dict(locals())
    ns.update(vars(constants))
    ns.update(count_conversation_input_chars=input_limits.count_conversation_input_chars,
              validate_query_not_empty=query_validation.validate_query_not_empty,
              validate_rag_query=query_validation.validate_rag_query)
    exec(cls, ns)
    model = ns["QueryRequest"]
    model.model_rebuild(_types_namespace=ns)
    return model


def fastapi_errors(model, body):
    from pydantic import ValidationError

    try:
        model.model_validate(body)
        return None
    except ValidationError as e:
        out = []
        for d in e.errors(include_url=False):
            d = dict(d)
            d["loc"] = ["body", *d["loc"]]
            if "ctx" in d and "error" in d["ctx"]:
                d["ctx"] = {**d["ctx"], "error": {}}
            out.append(json.loads(json.dumps(d, default=str)))
        return out


def main(url: str) -> int:
    model = query_request_model()
    bad = 0
    for body in CASES:
        want = fastapi_errors(model, body)
        req = urllib.request.Request(f"{url}/query", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            r = urllib.request.urlopen(req)
            status, got = r.status, json.load(r)
        except urllib.error.HTTPError as e:
            status, got = e.code, json.load(e)
        ok = status != 422 if want is None else (status == 422 and got.get("detail") == want)
        if not ok:
            bad += 1
            print("BODY", json.dumps(body)[:160])
            print("  pydantic", json.dumps(want)[:600])
            print("  ours    ", status, json.dumps(got)[:600])
    print(f"{len(CASES) - bad} of {len(CASES)} bodies answered as LightRAG's model validates them")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1].rstrip("/")))
