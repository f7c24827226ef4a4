"""Writes examples/demo-kb: a small LightRAG working directory in LightRAG's default
file storages (JsonKV, JsonDocStatus, NanoVectorDB, NetworkX GraphML), produced by
the real lightrag-hku 1.5.7 over texts written for this project, with the hashing
embedder of offline.py and this file's scripted extractor: it reads the names the
texts use (runs of capitalised words, such as "Captain Mara Voss" or "Port Elin",
without a leading "The" or "Every"), types them from the project's own list below,
describes each entity and relation by the sentence it appears in, and links the
names of one sentence.

Run: target/interop/venv/bin/python interop/make_example.py examples/demo-kb
"""
import asyncio
import os
import re
import shutil
import sys

from lightrag import LightRAG
from lightrag.utils import EmbeddingFunc, Tokenizer

from offline import DIM, MODEL, WordTokenizer, _input_text, embed, scripted_reply

DOCS = {
    "harbour.txt": (
        "The Harbour Authority of Port Elin maintains the Northern Breakwater and the Old Lighthouse. "
        "Captain Mara Voss commands the pilot boat Heron, which guides container ships past the Breakwater. "
        "The Lighthouse Keeper, Tomas Brandt, logs every storm in the Harbour Journal."
    ),
    "observatory.txt": (
        "The Elin Observatory stands on Copper Hill above Port Elin. Astronomer Lena Okafor studies Variable Stars "
        "with the Meridian Telescope. Tomas Brandt sends the Harbour Journal to the Observatory so that Lena Okafor "
        "can compare storm records with Solar Activity."
    ),
    "railway.txt": (
        "The Coastal Railway links Port Elin with Granite Falls. Engineer Ravi Menon rebuilt the Copper Hill Tunnel "
        "after the Great Storm. The Harbour Authority funds the railway freight service for the container ships."
    ),
    "festival.txt": (
        "Every summer Port Elin holds the Lantern Festival on the Northern Breakwater. Captain Mara Voss leads the "
        "boat parade, Lena Okafor gives a night talk about Variable Stars, and the Coastal Railway runs extra trains "
        "from Granite Falls."
    ),
}


# The entity types of the names in DOCS (anything else is a "concept").
TYPES = {
    "person": ["Captain Mara Voss", "Tomas Brandt", "Lena Okafor", "Ravi Menon"],
    "organization": ["Harbour Authority", "Coastal Railway"],
    "location": ["Port Elin", "Northern Breakwater", "Old Lighthouse", "Elin Observatory", "Copper Hill",
                 "Granite Falls", "Copper Hill Tunnel"],
    "event": ["Great Storm", "Lantern Festival"],
    "artifact": ["Heron", "Harbour Journal", "Meridian Telescope"],
}
TYPE_OF = {name: kind for kind, names in TYPES.items() for name in names}
NAME = re.compile(r"[A-Z][a-z]+(?:\s+(?:of\s+)?[A-Z][a-z]+)*")
NOT_NAMES = {"The", "Every", "Lighthouse Keeper"}
# Sentence-initial articles and job titles are not part of a name.
LEADING = ("The ", "Every ", "Astronomer ", "Engineer ")
# Short forms the texts use for a name given in full before.
SHORT = {"Observatory": "Elin Observatory", "Breakwater": "Northern Breakwater"}


def names_in(sentence: str) -> list[str]:
    """The names a sentence uses, in order, without a sentence-initial article."""
    out: list[str] = []
    for m in NAME.finditer(sentence):
        name = m.group(0)
        for lead in LEADING:
            if name.startswith(lead):
                name = name[len(lead):]
        # "Harbour Authority of Port Elin": two names.
        for part in name.split(" of "):
            part = SHORT.get(part, part)
            if part and part not in NOT_NAMES and part not in out:
                out.append(part)
    return out


async def demo_llm(prompt, system_prompt=None, history_messages=None, **kwargs):
    """The extraction in LightRAG's tuple format: the names of each sentence,
    typed, each described by the first sentence naming it, and each linked to
    the next name of its sentence."""
    if kwargs.get("keyword_extraction") or "---Input Text---" not in prompt:
        return scripted_reply(prompt, bool(kwargs.get("keyword_extraction")))
    text = _input_text(prompt).strip()
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
    entities: dict[str, str] = {}
    lines = []
    for sentence in sentences:
        names = names_in(sentence)
        for n in names:
            if n not in entities:
                entities[n] = sentence
                kind = TYPE_OF.get(n, "concept")
                lines.append(f"entity<|#|>{n}<|#|>{kind}<|#|>{sentence}")
        for a, b in zip(names, names[1:]):
            lines.append(f"relation<|#|>{a}<|#|>{b}<|#|>mentioned together<|#|>{sentence}")
    lines.append("<|COMPLETE|>")
    return "\n".join(lines)


async def main(target: str):
    if os.path.exists(target):
        shutil.rmtree(target)
    os.makedirs(target)
    rag = LightRAG(
        working_dir=target,
        llm_model_func=demo_llm,
        embedding_func=EmbeddingFunc(embedding_dim=DIM, max_token_size=8192, func=embed, model_name=MODEL),
        tokenizer=Tokenizer("words", WordTokenizer()),
    )
    await rag.initialize_storages()
    try:
        await rag.ainsert(list(DOCS.values()), file_paths=list(DOCS.keys()))
    finally:
        await rag.finalize_storages()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
