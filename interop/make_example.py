"""Writes examples/demo-kb: a small LightRAG working directory in LightRAG's default
file storages (JsonKV, JsonDocStatus, NanoVectorDB, NetworkX GraphML), produced by
the real lightrag-hku 1.5.7 with the offline scripted extractor and hashing embedder
of offline.py, over texts written for this project.

Run: target/interop/venv/bin/python interop/make_example.py examples/demo-kb
"""
import asyncio
import os
import shutil
import sys

from lightrag import LightRAG
from lightrag.utils import EmbeddingFunc, Tokenizer

from offline import DIM, MODEL, WordTokenizer, embed, scripted_llm

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


async def main(target: str):
    if os.path.exists(target):
        shutil.rmtree(target)
    os.makedirs(target)
    rag = LightRAG(
        working_dir=target,
        llm_model_func=scripted_llm,
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
