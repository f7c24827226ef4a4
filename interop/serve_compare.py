"""The serve scenario: the real `lightrag-server` 1.5.7 and `lightrag-pg serve`
on the same workspace of the same database, asked the same HTTP requests.

    python scenarios.py serve

A dataset is migrated by `lightrag-pg migrate` and analyzed (retrieval.py
does the same); both servers run as separate processes with the same
environment (the LightRAG server's own variables: POSTGRES_*, WORKSPACE, the
storages, the EMBEDDING_* and LLM_* bindings, COSINE_THRESHOLD), both pointing
at one local OpenAI-compatible stand-in (`retrieval.EmbeddingServer`: the
hashing embedder and the scripted LLM of offline.py). Both servers' connections
get `POSTGRES_SERVER_SETTINGS` (nested loops, custom plans), which LightRAG
1.5.7's PostgreSQL storages and ours read: the retrieval scenarios' plan pins,
for ours too, as a server keeps its prepared statements (after five runs
PostgreSQL may switch one to a generic plan, which orders equally distant
vectors differently).

Every request goes to one server, then the other: for `/query/data` without
keywords the first server extracts them through the stand-in LLM and caches
the reply in `lightrag_llm_cache`, where the second finds it under LightRAG's
key; a `/query` answer the first caches is the second's cache hit. The second
must not ask the LLM (the stand-in counts), except for what LightRAG never
caches (conversation history, streams, bypass). Python goes first, or ours
does, request by request. Status codes must be equal and bodies equal up to
the normalisations of interop/README.md (S1, S2, S3 and N9;
`serve_compare_bodies`, tested by test_compare.py). Our bodies are also validated by LightRAG's own pydantic
response models (`QueryDataResponse`, `QueryResponse` of
`lightrag/api/routers/query_routes.py`, `KnowledgeGraph` of `lightrag.types`).
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import retrieval as r  # sets up tiktoken offline first (TIKTOKEN_CACHE_DIR, inherited by both servers)

import harness as h  # noqa: E402
from harness import check, log  # noqa: E402
from retrieval_compare import serve_compare_bodies  # noqa: E402

PYTHON_SERVER = str(Path(sys.executable).parent / "lightrag-server")
START_TIMEOUT = float(os.environ.get("INTEROP_SERVE_START_TIMEOUT", "180"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(ws: str, graph_cls: str, model: str, dim: int, url: str, threshold: float, port: int) -> dict:
    """The LightRAG server's configuration, as both servers read it. Both are
    long-lived and keep their prepared statements: both get the retrieval
    scenarios' plan pins (custom plans; nested loops for Python's AGE joins)."""
    env = dict(os.environ)
    env.update(
        POSTGRES_SERVER_SETTINGS=r.PYTHON_SERVER_SETTINGS,
        HOST="127.0.0.1", PORT=str(port), WORKSPACE=ws,
        LIGHTRAG_KV_STORAGE="PGKVStorage", LIGHTRAG_VECTOR_STORAGE="PGVectorStorage",
        LIGHTRAG_GRAPH_STORAGE=graph_cls, LIGHTRAG_DOC_STATUS_STORAGE="PGDocStatusStorage",
        EMBEDDING_BINDING="openai", EMBEDDING_BINDING_HOST=url, EMBEDDING_BINDING_API_KEY="interop",
        EMBEDDING_MODEL=model, EMBEDDING_DIM=str(dim),
        LLM_BINDING="openai", LLM_BINDING_HOST=url, LLM_BINDING_API_KEY="interop", LLM_MODEL="interop-scripted",
        COSINE_THRESHOLD=str(threshold), LOG_LEVEL="WARNING", LIGHTRAG_PG_LOG="warn",
    )
    return env


class Server:
    """A server process on 127.0.0.1:`port`, its output in a log file."""

    def __init__(self, name: str, cmd: list[str], env: dict, port: int, cwd: str):
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = Path(cwd) / f"{name}.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise h.ScenarioFailure(f"{self.name} exited ({self.proc.returncode}) at start:\n{self.tail()}")
            try:
                if request(self, "GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise h.ScenarioFailure(f"{self.name} did not answer /health within {START_TIMEOUT:.0f} s:\n{self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def request(server: Server, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
    """Status and parsed JSON body of one request."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    ndjson = False
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            status, raw = resp.status, resp.read()
            ndjson = resp.headers.get("Content-Type", "").startswith("application/x-ndjson")
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        if ndjson:
            return status, [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        return status, json.loads(raw)
    except json.JSONDecodeError:
        return status, raw.decode(errors="replace")


def pydantic_models():
    """LightRAG's own response models (the `[api]` extra's FastAPI routes).
    Importing them parses the server's command line (lightrag/api/config.py),
    so it sees none."""
    argv, sys.argv = sys.argv, sys.argv[:1]
    try:
        from lightrag.api.routers.query_routes import QueryDataResponse, QueryResponse
        from lightrag.types import KnowledgeGraph
    finally:
        sys.argv = argv
    return {"/query/data": QueryDataResponse, "/query": QueryResponse, "/graphs": KnowledgeGraph}


# Who is asked first: Python (its answer or extraction is cached, ours must hit
# it), or ours (Python must hit ours); "both" when neither may use the other's
# cache (conversation history, streams, bypass): both ask the LLM.
PY, OURS, BOTH = "python first", "ours first", "both ask"


def requests_for(question: str, hl: list[str], ll: list[str], top: list[str]) -> list[tuple[str, str, dict | None, str]]:
    """(method, path, body, order) of every compared request, in the order sent
    (`top`: the two most connected entities)."""
    out: list[tuple[str, str, dict | None, str]] = []

    def add(method: str, path: str, body: dict | None = None, order: str = PY) -> None:
        out.append((method, path, body, order))

    kw = {"hl_keywords": hl, "ll_keywords": ll}
    for mode in ["local", "global", "hybrid", "mix", "naive", "bypass"]:
        add("POST", "/query/data", {"query": question, "mode": mode, **kw})
    # No keywords: Python extracts them (the stand-in LLM) and caches them; ours reads that cache.
    for mode in ["local", "global", "hybrid", "mix"]:
        add("POST", "/query/data", {"query": question, "mode": mode})
    # Ours extracts them first (the stand-in LLM) and caches them; Python reads that cache.
    other = f"How is {top[1]} tied to {top[0]}?"
    for mode in ["local", "mix"]:
        add("POST", "/query/data", {"query": other, "mode": mode}, OURS)
    for mode in ["local", "global", "hybrid", "mix", "naive"]:
        add("POST", "/query", {"query": question, "mode": mode, "only_need_context": True, **kw})
    add("POST", "/query", {"query": question, "mode": "mix", "only_need_context": True})
    add("POST", "/query", {"query": question, "mode": "hybrid", "only_need_context": True, **kw,
                           "include_references": False})
    add("POST", "/query", {"query": question, "mode": "local", "only_need_context": True, **kw,
                           "include_chunk_content": True})
    # The LLM's answers: the prompt, Python's cached answer hit by ours, ours hit by Python.
    history = [{"role": "user", "content": f"Tell me about {top[0]}."},
               {"role": "assistant", "content": f"{top[0]} is in the story."}]
    for mode in ["mix", "naive"]:
        add("POST", "/query", {"query": question, "mode": mode, "only_need_prompt": True, **kw})
    add("POST", "/query", {"query": question, "mode": "local", "only_need_prompt": True, **kw,
                           "user_prompt": "Answer in one line.", "response_type": "Single Paragraph"})
    for mode in ["local", "global", "mix", "naive"]:
        add("POST", "/query", {"query": question, "mode": mode, **kw})
    add("POST", "/query", {"query": question, "mode": "hybrid", **kw, "user_prompt": "Answer in one line."}, OURS)
    add("POST", "/query", {"query": other, "mode": "mix"}, OURS)
    add("POST", "/query", {"query": question, "mode": "naive", "response_type": "Bullet Points",
                           "include_chunk_content": True}, OURS)
    add("POST", "/query", {"query": question, "mode": "mix", **kw, "conversation_history": history}, BOTH)
    add("POST", "/query", {"query": question, "mode": "bypass", "conversation_history": history}, BOTH)
    add("POST", "/query", {"query": question, "mode": "bypass", "only_need_context": True}, BOTH)
    # Streams: the references line, then the answer in pieces (compared joined, S3).
    add("POST", "/query/stream", {"query": question, "mode": "local", **kw, "response_type": "Bullet Points"}, BOTH)
    add("POST", "/query/stream", {"query": question, "mode": "naive", "include_references": False,
                                  "conversation_history": history}, BOTH)
    add("POST", "/query/stream", {"query": question, "mode": "bypass"}, BOTH)
    # include_progress: LightRAG's progress events first, the response time last.
    add("POST", "/query/stream", {"query": question, "mode": "local", **kw, "include_progress": True,
                                  "response_type": "Bullet Points"}, BOTH)
    add("POST", "/query/stream", {"query": question, "mode": "naive", "include_progress": True,
                                  "conversation_history": history}, BOTH)
    add("POST", "/query/stream", {"query": question, "mode": "mix", "include_progress": True,
                                  "only_need_context": True})
    # A cached answer comes whole, as does stream: false.
    add("POST", "/query/stream", {"query": question, "mode": "mix", **kw}, PY)
    add("POST", "/query/stream", {"query": question, "mode": "global", **kw, "stream": False,
                                  "response_type": "Single Paragraph"}, OURS)
    # Refused bodies: the same status and error body.
    add("POST", "/query/data", {"query": "ab", "mode": "local"})
    add("POST", "/query", {"query": "What?", "mode": "nope", "only_need_context": True})
    q = urllib.parse.quote
    for label, depth, nodes in [(top[0], 2, 1000), (top[1], 1, 1000), ("*", 3, 1000), (top[0], 3, 5),
                                ("No Such Entity", 2, 100)]:
        add("GET", f"/graphs?label={q(label)}&max_depth={depth}&max_nodes={nodes}")
    add("GET", "/graph/label/list")
    add("GET", "/graph/label/popular?limit=20")
    add("GET", "/graph/label/popular")
    for term in [top[0][:4], top[1].lower(), "zzzz-none"]:
        add("GET", f"/graph/label/search?q={q(term)}&limit=20")
    for name in [top[0], top[1].upper(), "No Such Entity"]:
        add("GET", f"/graph/entity/exists?name={q(name)}")
    return out


async def compare_servers(dataset: str, graph_cls: str, threshold: float,
                          rerank: tuple[str, float] | None = None) -> None:
    """`rerank`: (RERANK_BINDING, MIN_RERANK_SCORE) in both servers' environment,
    the model being the stand-in's `/v1/rerank`."""
    engine, ds, dim, ws, model = await r.migrated(dataset, graph_cls, "s")
    hl, ll = r.keywords(ds)
    question = f"What connects {ll[0]} and {ll[1]}?"
    stand_in = r.EmbeddingServer(dim)
    work = tempfile.mkdtemp(prefix="lightrag-serve-interop-")  # no .env here: only the environment counts
    py_env = server_env(ws, graph_cls, model, dim, stand_in.url, threshold, free_port())
    py_env.update(WORKING_DIR=f"{work}/rag_storage", INPUT_DIR=f"{work}/inputs")
    ours_env = server_env(ws, graph_cls, model, dim, stand_in.url, threshold, free_port())
    if rerank:
        rerank_env = r.rerank_settings(rerank[0], stand_in.url, rerank[1])[0]
        py_env.update(rerank_env)
        ours_env.update(rerank_env)
    servers = []
    try:
        t = time.time()
        python = Server("lightrag-server", [PYTHON_SERVER], py_env, int(py_env["PORT"]), work)
        servers.append(python)
        ours = Server("lightrag-pg-serve", [h.BIN, "serve"], ours_env, int(ours_env["PORT"]), work)
        servers.append(ours)
        python.wait_ready()
        ours.wait_ready()
        log(f"{dataset} ({dim}-d, {engine}) in {ws}: both servers up in {time.time() - t:.1f} s")
        models = pydantic_models()
        compared = 0
        answers: dict[str, object] = {}
        llm_answers = 0
        timings: dict[tuple[str, bool], list[float]] = {}
        todo = requests_for(question, hl, ll, top=ll)
        if rerank:
            todo.append(("POST", "/query/data", {"query": question, "mode": "mix", "hl_keywords": hl,
                                                 "ll_keywords": ll, "enable_rerank": False}, PY))
        for method, path, body, order in todo:
            where = f"{method} {path} {json.dumps(body)[:160] if body else ''} ({order})"
            first, second = (ours, python) if order == OURS else (python, ours)
            t0 = time.perf_counter()
            fs, fb = request(first, method, path, body)
            t1 = time.perf_counter()
            calls = stand_in.chat_calls
            ss, sb = request(second, method, path, body)
            t2 = time.perf_counter()
            second_calls = stand_in.chat_calls - calls
            if path in ("/query", "/query/stream") and not (body or {}).get("only_need_context"):
                # Wall time of the answer requests, by server and by whether it was the cache hit.
                for server, took, hit in [(first, t1 - t0, False), (second, t2 - t1, order != BOTH)]:
                    timings.setdefault((server.name, hit), []).append(took * 1000)
            (ps, pb), (os_, ob) = ((ss, sb), (fs, fb)) if order == OURS else ((fs, fb), (ss, sb))
            if os.environ.get("INTEROP_VERBOSE") == "1":
                log(f"{where}: python {ps}, ours {os_}, the second asked the LLM {second_calls} times")
            if order != BOTH:
                # The second server finds the first one's keywords and answer in lightrag_llm_cache.
                check(second_calls == 0, f"{where}: {second.name} asked the LLM {second_calls} times "
                                         f"instead of reading {first.name}'s lightrag_llm_cache entry")
            check(ps == os_, f"{where}: status python {ps}, ours {os_}; python {str(pb)[:600]} ours {str(ob)[:600]}")
            route = path.split("?")[0]
            diff = serve_compare_bodies(route, ob, pb)
            if diff and os.environ.get("INTEROP_DUMP"):
                for side, v in [("ours", ob), ("python", pb)]:
                    Path(os.environ["INTEROP_DUMP"], f"serve-{compared}-{side}.json").write_text(
                        json.dumps(v, indent=1, ensure_ascii=False))
            check(not diff, f"{where}: bodies differ at {diff}")
            if ps == 200 and route in models:
                models[route].model_validate(ob)
            if route in ("/query", "/query/stream") and "earlier messages]" in json.dumps(ob):
                llm_answers += 1
            compared += 1
            answers.setdefault(f"{method} {path.split('&')[0]} {(body or {}).get('mode', '')}".strip(), ob)
        # Nothing compared equal by being empty on both sides.
        d = answers["POST /query/data mix"].get("data", {})
        check(all(d.get(k) for k in ["entities", "relationships", "chunks", "references"]), f"mix found nothing: {d}")
        check(len(answers[f"GET /graphs?label={urllib.parse.quote(ll[0])}"].get("nodes", [])) > 1, "/graphs: no graph")
        check(len(answers["GET /graph/label/list"]) > 10, "/graph/label/list: too few labels")
        check(llm_answers >= 10, f"only {llm_answers} of the /query and /query/stream answers are the LLM's")
        check(len(answers[f"GET /graph/label/search?q={urllib.parse.quote(ll[0][:4])}"]) > 0,
              "/graph/label/search: nothing found for the most connected entity")
        check(answers[f"GET /graph/entity/exists?name={urllib.parse.quote(ll[0])}"] == {"exists": True},
              "/graph/entity/exists: the most connected entity does not exist")
        if rerank:
            check(stand_in.rerank_calls > 0, "the rerank model was never called")
            for s in (python, ours):
                c = request(s, "GET", "/health")[1].get("configuration", {})
                seen = (c.get("enable_rerank"), c.get("rerank_binding"), c.get("min_rerank_score"))
                check(seen == (True, rerank[0], rerank[1]), f"{s.name} /health: rerank configuration {seen}")
            log(f"{dataset} {engine}: {stand_in.rerank_calls} rerank requests; /health says enable_rerank on both")
        log(f"{dataset} {engine}: {compared} requests ({llm_answers} LLM answers), the same status and body "
            f"from both servers (ours valid by LightRAG's pydantic models)")
        for (name, hit), ms in sorted(timings.items()):
            ms.sort()
            log(f"  /query and /query/stream answers, {name}, {'cache hit' if hit else 'LLM or prompt'}: "
                f"median {ms[len(ms) // 2]:.1f} ms over {len(ms)} requests")
    except h.ScenarioFailure as e:
        raise h.ScenarioFailure(f"{e}\n--- server logs ---\n" + "\n".join(f"{s.name}:\n{s.tail()}" for s in servers))
    finally:
        for s in servers:
            s.stop()
        stand_in.close()
        await r.drop_model_tables(model, dim)
    await h.cleanup(ws)


async def serve() -> None:
    # 64-d, hashing embedder (similarities mean something): both graph engines.
    await compare_servers("lightrag-1.5.7-format-sample", "PGGraphStorage", 0.2)
    await compare_servers("lightrag-1.5.7-format-sample", "PGTableGraphStorage", 0.2)
    # 1536-d real embeddings (hashing query vectors: every hit passes), token
    # truncation of the chunks, references.
    await compare_servers("dickens-christmas-carol-en", "PGGraphStorage", -1.0)


async def serve_rerank() -> None:
    # RERANK_BINDING=cohere and MIN_RERANK_SCORE=0.3 in both servers' environment.
    await compare_servers("lightrag-1.5.7-format-sample", "PGGraphStorage", 0.2, rerank=("cohere", 0.3))


SCENARIOS = {"serve": serve, "serve_rerank": serve_rerank}

if __name__ == "__main__":
    h.main_for(SCENARIOS)
