"""Drive Python LightRAG 1.5.7 offline: a scripted LLM, a deterministic embedder and
a whitespace tokenizer, so interop scenarios need no network and no model.

The scripted extractor takes capitalised words of the chunk's input text as
entities (type "concept") and links consecutive ones; keyword extraction returns
the query's capitalised words.
"""
from __future__ import annotations

import json
import os
import re

import numpy as np
from lightrag import LightRAG
from lightrag.utils import EmbeddingFunc, Tokenizer

import hash_embed

DIM = int(os.environ.get("INTEROP_DIM", "64"))
MODEL = os.environ.get("INTEROP_MODEL", "interop-hash")


class WordTokenizer:
    """Thread-safe (stateless) tokenizer: one token per code point chunk of 4."""

    def encode(self, content: str):
        return [ord(c) for c in content]

    def decode(self, tokens):
        return "".join(chr(t) for t in tokens)


def embed_text(text: str, dim: int = DIM) -> list[float]:
    """Hashing embedder (hash_embed.py) at `dim` dimensions."""
    return hash_embed.embed_text(text, dim)


async def embed(texts, **_kwargs):
    return np.array([embed_text(t) for t in texts], dtype=np.float32)


WORD = re.compile(r"\b[A-Z][a-zA-Z]{2,}\b")


def _input_text(prompt: str) -> str:
    m = re.search(r"---Input Text---\s*```\s*(.*?)```", prompt, re.S)
    return m.group(1) if m else prompt


async def scripted_llm(prompt, system_prompt=None, history_messages=None, **kwargs):
    return scripted_reply(prompt, bool(kwargs.get("keyword_extraction")))


def scripted_reply(prompt: str, keyword_extraction: bool = False) -> str:
    """The scripted LLM's reply to `prompt` (also served over HTTP as an
    OpenAI-compatible chat completion by `retrieval.EmbeddingServer`)."""
    if keyword_extraction or "User Query:" in prompt and "high_level_keywords" in prompt:
        m = re.search(r"User Query:\s*(.*?)\n", prompt)
        q = m.group(1) if m else prompt
        words = sorted(set(WORD.findall(q)))
        return json.dumps({"high_level_keywords": words[:3], "low_level_keywords": words})
    if "---Input Text---" in prompt:
        text = _input_text(prompt)
        names = []
        for w in WORD.findall(text):
            if w not in names:
                names.append(w)
        names = names[:12]
        lines = [f"entity<|#|>{n}<|#|>concept<|#|>{n} appears in the text." for n in names]
        for a, b in zip(names, names[1:]):
            lines.append(f"relation<|#|>{a}<|#|>{b}<|#|>related<|#|>{a} is mentioned near {b}.")
        lines.append("<|COMPLETE|>")
        return "\n".join(lines)
    # Summaries and answers: echo a short deterministic text.
    return "Summary: " + prompt[-200:].replace("\n", " ")


def make_embedding_func(dim: int | None = None, model: str | None = None) -> EmbeddingFunc:
    """The hashing embedder at `dim` dimensions, named `model` (the vector tables'
    suffix is derived from the model name and the dimension)."""
    dim = dim or DIM

    async def _embed(texts, **_kwargs):
        return np.array([embed_text(t, dim) for t in texts], dtype=np.float32)

    return EmbeddingFunc(embedding_dim=dim, max_token_size=8192, func=_embed, model_name=model or MODEL)


def make_rag(
    workspace: str,
    graph_storage: str = "PGGraphStorage",
    working_dir: str = "/tmp/lightrag-interop",
    dim: int | None = None,
    model: str | None = None,
    **kwargs,
) -> LightRAG:
    """A LightRAG on the four PostgreSQL storages, driven offline. Extra keyword
    arguments go to `LightRAG(...)` (e.g. `vector_db_storage_cls_kwargs`)."""
    os.makedirs(working_dir, exist_ok=True)
    return LightRAG(
        working_dir=working_dir,
        workspace=workspace,
        llm_model_func=scripted_llm,
        embedding_func=make_embedding_func(dim, model),
        tokenizer=Tokenizer("words", WordTokenizer()),
        kv_storage="PGKVStorage",
        vector_storage="PGVectorStorage",
        graph_storage=graph_storage,
        doc_status_storage="PGDocStatusStorage",
        enable_llm_cache=True,
        **kwargs,
    )
