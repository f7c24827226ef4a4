//! `lightrag-pg-bench-serve`: `lightrag-pg serve` against the real
//! `lightrag-server` (lightrag-hku 1.5.7) under load, on the same knowledge
//! base of the same database, in one run (run by `cargo xtask bench --serve`).
//!
//! Set-up: `lightrag-pg migrate` loads `--dataset` (a LightRAG working
//! directory; by default `dickens-christmas-carol-en`, as the retrieval
//! benchmark) into the workspace `bench_serve` with the AGE graph, and the
//! tables the queries read are analyzed. An OpenAI-compatible embedding
//! endpoint (`lightrag-pg-test-support`'s stand-in) answers both servers'
//! question embeddings. Both servers start with the same LightRAG server
//! environment ([`serve_env`]): ours from [`start_ours`], Python's from
//! [`start_python`] (both take the whole serve environment, so that a variant,
//! e.g. with read replicas, is one more set of variables).
//!
//! Load: for each `--clients` level (default 1, 8, 32), each server is driven
//! for `--seconds` (default 10) by that many concurrent clients, each sending
//! `POST /query/data` (mode `mix`, keywords given: no LLM) as soon as its last
//! answer arrived. Reported per server and level: requests per second (answers
//! with status 200 / wall time), p50 and p99 latency of those answers, errors
//! (other statuses and transport errors), and the ratio of requests per second
//! (ours / Python's). The table is printed as markdown and everything is
//! written to `--out` as JSON; the workspace is dropped at the end.
//!
//! `--replicas 1`: the same on a primary and its streaming standby of the
//! sandbox root (`lightrag-pg-test-support::replica`), started for the run:
//! the dataset is migrated into the primary, both servers use it, and ours
//! also reads the standby (`POSTGRES_READ_HOSTS`). Reported besides: where
//! our reads ran at each level (`/health`'s `replication.reads`), then a last
//! round at the highest level during which the standby is stopped: the errors,
//! the slowest answer, and how long the first request sent after the stop
//! took. On 2 cores this shows the split of work and the fallback, not a
//! speed-up: primary and standby share the same cores.
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lightrag_pg_pool::{PgConfig, PgPool};
use lightrag_pg_test_support::replica;
use lightrag_pg_test_support::server::{PgServer, StopMode};
use serde_json::{Value, json};

const WORKSPACE: &str = "bench_serve";
const MODEL: &str = "bench-serve";
const GRAPH_STORAGE: &str = "PGGraphStorage";
/// tiktoken's cache file name of o200k_base: the SHA-1 of its download URL
/// (`https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken`).
const O200K_CACHE_NAME: &str = "fb374d419588a4632f3f557e76b4b70aebbca790";

type Error = Box<dyn std::error::Error>;

#[derive(Debug)]
struct Args {
    cli: PathBuf,
    python_server: PathBuf,
    dataset: PathBuf,
    seconds: u64,
    clients: Vec<usize>,
    out: PathBuf,
    work: PathBuf,
    replicas: usize,
}

fn args() -> Result<Args, Error> {
    let mut a = Args {
        cli: PathBuf::from("lightrag-pg"),
        python_server: PathBuf::from("lightrag-server"),
        dataset: PathBuf::from("../shared/datasets/dickens-christmas-carol-en"),
        seconds: 10,
        clients: vec![1, 8, 32],
        out: PathBuf::from("target/bench-serve.json"),
        work: PathBuf::from("target/bench-serve"),
        replicas: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--cli" => a.cli = value()?.into(),
            "--python-server" => a.python_server = value()?.into(),
            "--dataset" => a.dataset = value()?.into(),
            "--seconds" => a.seconds = value()?.parse()?,
            "--clients" => {
                a.clients = value()?.split(',').map(str::parse).collect::<Result<_, _>>()?;
            }
            "--out" => a.out = value()?.into(),
            "--work" => a.work = value()?.into(),
            "--replicas" => a.replicas = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if a.seconds < 1 || a.clients.is_empty() || a.clients.contains(&0) {
        return Err("--seconds must be at least 1 and every --clients level at least 1".into());
    }
    if a.replicas > 1 {
        return Err("--replicas is 0 or 1 (one local standby)".into());
    }
    Ok(a)
}

/// The embedding dimension a LightRAG working directory's `vdb_entities.json`
/// declares.
fn dataset_dim(dataset: &Path) -> Result<usize, Error> {
    use std::io::Read;
    let mut head = vec![0u8; 4096];
    let n = std::fs::File::open(dataset.join("vdb_entities.json"))?.read(&mut head)?;
    let head = String::from_utf8_lossy(&head[..n]);
    let at = head.find("\"embedding_dim\"").ok_or("vdb_entities.json: no embedding_dim near the start")?;
    let digits: String =
        head[at + 15..].chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
    Ok(digits.parse()?)
}

/// A tiktoken cache holding o200k_base (LightRAG's default tokenizer), taken
/// from the copy tiktoken-rs ships in cargo's registry, so that the Python
/// server needs no download. `None` when it is not found.
fn tiktoken_cache(work: &Path) -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let src = std::fs::read_dir(home.join("registry").join("src"))
        .ok()?
        .flatten()
        .flat_map(|index| std::fs::read_dir(index.path()).into_iter().flatten().flatten())
        .filter(|c| c.file_name().to_string_lossy().starts_with("tiktoken-rs-"))
        .map(|c| c.path().join("assets").join("o200k_base.tiktoken"))
        .find(|p| p.is_file())?;
    let cache = work.join("tiktoken");
    std::fs::create_dir_all(&cache).ok()?;
    std::fs::copy(src, cache.join(O200K_CACHE_NAME)).ok()?;
    Some(cache)
}

/// The LightRAG server environment both servers run with (on top of this
/// process's, which holds `POSTGRES_*`): workspace, storages, the embedding
/// binding, an unused LLM binding (keywords are given), no similarity
/// threshold (the stand-in's query vectors are not the dataset's model),
/// warnings-only logs.
fn serve_env(port: u16, embedding_url: &str, dim: usize, tiktoken: Option<&Path>) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("HOST", "127.0.0.1".to_owned()),
        ("PORT", port.to_string()),
        ("WORKSPACE", WORKSPACE.to_owned()),
        ("LIGHTRAG_KV_STORAGE", "PGKVStorage".to_owned()),
        ("LIGHTRAG_VECTOR_STORAGE", "PGVectorStorage".to_owned()),
        ("LIGHTRAG_GRAPH_STORAGE", GRAPH_STORAGE.to_owned()),
        ("LIGHTRAG_DOC_STATUS_STORAGE", "PGDocStatusStorage".to_owned()),
        ("EMBEDDING_BINDING", "openai".to_owned()),
        ("EMBEDDING_BINDING_HOST", embedding_url.to_owned()),
        ("EMBEDDING_BINDING_API_KEY", "bench".to_owned()),
        ("EMBEDDING_MODEL", MODEL.to_owned()),
        ("EMBEDDING_DIM", dim.to_string()),
        ("LLM_BINDING", "openai".to_owned()),
        ("LLM_BINDING_HOST", embedding_url.to_owned()),
        ("LLM_BINDING_API_KEY", "bench".to_owned()),
        ("LLM_MODEL", "bench-unused".to_owned()),
        ("COSINE_THRESHOLD", "-1".to_owned()),
        ("LOG_LEVEL", "WARNING".to_owned()),
        ("LIGHTRAG_PG_LOG", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(dir) = tiktoken {
        env.push(("TIKTOKEN_CACHE_DIR".to_owned(), dir.display().to_string()));
    }
    env
}

/// A server process, killed on drop.
#[derive(Debug)]
struct Server {
    name: &'static str,
    url: String,
    child: Child,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env_value<'a>(env: &'a [(String, String)], key: &str) -> Option<&'a str> {
    env.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Starts `command` with `env` in `work` (its output in `work/<name>.log`).
fn start(name: &'static str, mut command: Command, env: &[(String, String)], work: &Path) -> Result<Server, Error> {
    let host = env_value(env, "HOST").unwrap_or("127.0.0.1");
    let port = env_value(env, "PORT").ok_or("the serve environment has no PORT")?;
    let log = work.join(format!("{name}.log"));
    let out = std::fs::File::create(&log)?;
    command
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    let child = command.spawn().map_err(|e| format!("{name}: {e}"))?;
    Ok(Server { name, url: format!("http://{host}:{port}"), child, log })
}

/// `lightrag-pg serve` with `env` (the serve command's environment).
fn start_ours(cli: &Path, env: &[(String, String)], work: &Path) -> Result<Server, Error> {
    let mut c = Command::new(cli);
    c.arg("serve");
    start("lightrag-pg serve", c, env, work)
}

/// The real `lightrag-server` with `env`, its working and input folders in
/// `work` (no `.env` there: only the environment counts).
fn start_python(server: &Path, env: &[(String, String)], work: &Path) -> Result<Server, Error> {
    let mut env = env.to_vec();
    env.push(("WORKING_DIR".to_owned(), work.join("rag_storage").display().to_string()));
    env.push(("INPUT_DIR".to_owned(), work.join("inputs").display().to_string()));
    start("lightrag-server", Command::new(server), &env, work)
}

/// Waits until `server` answers `GET /health` (up to 3 minutes: the Python
/// server imports a lot on a loaded machine).
async fn wait_ready(client: &reqwest::Client, server: &mut Server) -> Result<(), Error> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(180) {
        if let Some(status) = server.child.try_wait()? {
            let log = std::fs::read_to_string(&server.log).unwrap_or_default();
            let tail = &log[log.len().saturating_sub(3000)..];
            return Err(format!("{} exited ({status}) at start:\n{tail}", server.name).into());
        }
        if client.get(format!("{}/health", server.url)).send().await.is_ok_and(|r| r.status().is_success()) {
            eprintln!("bench --serve: {} ready in {:.1}s", server.name, started.elapsed().as_secs_f64());
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Err(format!("{} did not answer /health within 180 s (log: {})", server.name, server.log.display()).into())
}

fn free_port() -> Result<u16, Error> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Removes the benchmark's workspace, its rows and its AGE graph
/// (`lightrag-pg workspace drop`).
fn drop_workspace(cli: &Path, db: &[(String, String)]) -> Result<(), Error> {
    let out = Command::new(cli)
        .args(["--workspace", WORKSPACE, "workspace", "drop", WORKSPACE, "--yes"])
        .envs(db.iter().map(|(k, v)| (k, v)))
        .output()?;
    if !out.status.success() {
        return Err(format!("lightrag-pg workspace drop {WORKSPACE}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

/// The dataset in the workspace: dropped, migrated, analyzed.
async fn load_dataset(args: &Args, pool: &PgPool, db: &[(String, String)], dim: usize) -> Result<(), Error> {
    let cli = |a: &[&str]| -> Result<(), Error> {
        let out = Command::new(&args.cli)
            .args(["--workspace", WORKSPACE])
            .args(a)
            .envs(db.iter().map(|(k, v)| (k, v)))
            .output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("lightrag-pg {}: {}", a.join(" "), String::from_utf8_lossy(&out.stderr)).into())
        }
    };
    let started = Instant::now();
    drop_workspace(&args.cli, db)?;
    let dataset = args.dataset.to_str().ok_or("the dataset path is not UTF-8")?;
    cli(&["migrate", "--from", dataset, "--graph", "age", "--model-name", MODEL, "--json"])?;
    // Fresh statistics, so that autovacuum does not change a plan mid-run.
    let mut tables: Vec<String> = ["lightrag_vdb_entity", "lightrag_vdb_relation", "lightrag_vdb_chunks"]
        .iter()
        .map(|t| format!("public.{t}_{}_{dim}d", MODEL.replace('-', "_")))
        .collect();
    tables.extend(["public.lightrag_doc_chunks".to_owned(), "public.lightrag_llm_cache".to_owned()]);
    tables.extend(["base", "DIRECTED"].iter().map(|l| format!("\"{WORKSPACE}_chunk_entity_relation\".\"{l}\"")));
    let conn = pool.get().await?;
    for t in &tables {
        let exists: bool = conn.query_one("SELECT to_regclass($1) IS NOT NULL", &[t]).await?.get(0);
        if exists {
            conn.batch_execute(&format!("ANALYZE {t}")).await?;
        }
    }
    eprintln!(
        "bench --serve: {} migrated and analyzed in {:.1}s",
        args.dataset.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One server at one level of concurrency.
#[derive(Debug, Default)]
struct Level {
    requests: usize,
    errors: usize,
    first_error: Option<String>,
    seconds: f64,
    latencies_ms: Vec<f64>,
}

impl Level {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return f64::NAN;
        }
        let i = ((p / 100.0) * (self.latencies_ms.len() - 1) as f64).round() as usize;
        self.latencies_ms[i]
    }

    fn json(&self) -> Value {
        json!({
            "requests": self.requests, "errors": self.errors, "first_error": self.first_error,
            "seconds": self.seconds, "rps": self.rps(),
            "p50_ms": self.percentile(50.0), "p90_ms": self.percentile(90.0), "p99_ms": self.percentile(99.0),
            "max_ms": self.latencies_ms.last().copied(),
        })
    }
}

/// `POST url` with the JSON `body`.
fn query_data(client: &reqwest::Client, url: &str, body: &str) -> reqwest::RequestBuilder {
    client.post(url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_owned())
}

/// `clients` concurrent clients sending `body` to `url` for `seconds`.
async fn drive(client: &reqwest::Client, url: &str, body: &str, clients: usize, seconds: u64) -> Level {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.to_owned(), body.to_owned());
            tokio::spawn(async move {
                let mut level = Level::default();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let sent = query_data(&client, &url, &body).send().await;
                    let outcome = match sent {
                        Ok(r) if r.status().is_success() => r.bytes().await.map(drop).map_err(|e| e.to_string()),
                        Ok(r) => {
                            let status = r.status();
                            Err(format!(
                                "{status}: {}",
                                r.text().await.unwrap_or_default().chars().take(300).collect::<String>()
                            ))
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    match outcome {
                        Ok(()) => {
                            level.requests += 1;
                            level.latencies_ms.push(t.elapsed().as_secs_f64() * 1e3);
                        }
                        Err(e) => {
                            level.errors += 1;
                            level.first_error.get_or_insert(e);
                        }
                    }
                }
                level
            })
        })
        .collect();
    let mut all = Level::default();
    for task in tasks {
        if let Ok(l) = task.await {
            all.requests += l.requests;
            all.errors += l.errors;
            all.latencies_ms.extend(l.latencies_ms);
            if all.first_error.is_none() {
                all.first_error = l.first_error;
            }
        }
    }
    all.seconds = started.elapsed().as_secs_f64();
    all.latencies_ms.sort_by(f64::total_cmp);
    all
}

/// The keywords of the benchmark's query: the two most connected entities
/// (low level) and a phrase joining them (high level), as the retrieval
/// benchmark picks them from the dataset's graph.
async fn keywords(client: &reqwest::Client, ours: &Server) -> Result<(Vec<String>, Vec<String>), Error> {
    let top: Vec<String> = client
        .get(format!("{}/graph/label/popular?limit=2", ours.url))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    if top.len() < 2 {
        return Err(format!("the knowledge base has fewer than two entities: {top:?}").into());
    }
    Ok((vec![format!("{} and {}", top[0], top[1]), "relationships".to_owned()], top))
}

/// One answer of each server to `body`, checked: status 200, `success`, and
/// entities, relations and chunks found (a benchmark of empty answers would
/// prove nothing).
async fn check_answer(client: &reqwest::Client, server: &Server, body: &Value) -> Result<Value, Error> {
    let r = client.post(format!("{}/query/data", server.url)).json(body).send().await?;
    let status = r.status();
    let v: Value = r.json().await?;
    let d = &v["data"];
    let counts: Vec<usize> =
        ["entities", "relationships", "chunks"].iter().map(|k| d[k].as_array().map_or(0, Vec::len)).collect();
    if !status.is_success() || v["status"] != "success" || counts.contains(&0) {
        return Err(format!(
            "{}: a bad answer ({status}): {}",
            server.name,
            v.to_string().chars().take(500).collect::<String>()
        )
        .into());
    }
    Ok(json!({"entities": counts[0], "relationships": counts[1], "chunks": counts[2]}))
}

/// `POSTGRES_*` reaching `primary` (its `postgres` database, as superuser).
fn primary_env(primary: &PgServer) -> Vec<(String, String)> {
    [
        ("POSTGRES_HOST", "127.0.0.1".to_owned()),
        ("POSTGRES_PORT", primary.port().to_string()),
        ("POSTGRES_USER", "postgres".to_owned()),
        ("POSTGRES_PASSWORD", primary.password().to_owned()),
        ("POSTGRES_DATABASE", "postgres".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Where `server`'s reads have run so far (`/health`'s `replication.reads`:
/// `standby`, `primary`, `rerouted`); null for a server without it.
async fn reads(client: &reqwest::Client, server: &Server) -> Value {
    let health: Option<Value> = match client.get(format!("{}/health", server.url)).send().await {
        Ok(r) => r.json().await.ok(),
        Err(_) => None,
    };
    health.map_or(Value::Null, |h| h["replication"]["reads"].clone())
}

/// The reads between two [`reads`], and the standby's share of them.
fn reads_between(before: &Value, after: &Value) -> Value {
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
    let d = |k: &str| n(after, k).saturating_sub(n(before, k));
    let (standby, primary, rerouted) = (d("standby"), d("primary"), d("rerouted"));
    let total = standby + primary;
    json!({
        "standby": standby, "primary": primary, "rerouted": rerouted,
        "standby_share": if total == 0 { 0.0 } else { standby as f64 / total as f64 },
    })
}

/// `clients` clients on ours for `seconds`; a third of the way in, the standby
/// is stopped (`-m fast`) and one more request is sent at once: its status and
/// time are the fallback.
async fn fallback_round(
    client: &reqwest::Client,
    ours: &Server,
    body: &str,
    clients: usize,
    seconds: u64,
    standby: &PgServer,
) -> Result<Value, Error> {
    eprintln!(
        "bench --serve: ours at {clients} client(s) for {seconds} s, the standby stopped after {} s",
        seconds / 3
    );
    let url = format!("{}/query/data", ours.url);
    let before = reads(client, ours).await;
    let load = {
        let (client, url, body) = (client.clone(), url.clone(), body.to_owned());
        tokio::spawn(async move { drive(&client, &url, &body, clients, seconds).await })
    };
    tokio::time::sleep(Duration::from_secs(seconds) / 3).await;
    let stopping = Instant::now();
    tokio::task::block_in_place(|| standby.stop(StopMode::Fast));
    let stop_ms = stopping.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let first = query_data(client, &url, body).send().await;
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    let first_status = first.map(|r| r.status().as_u16()).unwrap_or(0);
    let level = load.await?;
    Ok(json!({
        "clients": clients, "stop_ms": stop_ms, "first_after_stop_ms": first_ms, "first_after_stop_status": first_status,
        "level": level.json(), "reads": reads_between(&before, &reads(client, ours).await),
    }))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = args()?;
    std::fs::create_dir_all(&args.work)?;
    let work = args.work.canonicalize()?;
    let dim = dataset_dim(&args.dataset)?;
    // With --replicas 1: a primary and its standby of our own; `db` points
    // every command and both servers at the primary.
    let pair = if args.replicas == 1 {
        eprintln!("bench --serve: starting a primary and its streaming standby");
        Some(replica::streaming_pair("bench-serve", |_| async {}).await)
    } else {
        None
    };
    let (pool, db) = match &pair {
        Some((primary, _)) => (PgPool::connect(primary.config()).await?, primary_env(primary)),
        None => (PgPool::connect(PgConfig::from_env()?).await?, Vec::new()),
    };
    load_dataset(&args, &pool, &db, dim).await?;
    if let Some((primary, standby)) = &pair {
        replica::until_replayed(primary, standby).await;
    }

    let embedding_url = lightrag_pg_test_support::embedding::embedding_endpoint(dim, Duration::ZERO);
    let tiktoken = tiktoken_cache(&work);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).pool_max_idle_per_host(256).build()?;
    let env = |extra: &[(String, String)]| -> Result<Vec<(String, String)>, Error> {
        let mut env = serve_env(free_port()?, &embedding_url, dim, tiktoken.as_deref());
        env.extend(db.iter().chain(extra).cloned());
        Ok(env)
    };
    let read_hosts: Vec<(String, String)> = pair
        .iter()
        .map(|(_, standby)| ("POSTGRES_READ_HOSTS".to_owned(), format!("127.0.0.1:{}", standby.port())))
        .collect();
    let mut python = start_python(&args.python_server, &env(&[])?, &work)?;
    let mut ours = start_ours(&args.cli, &env(&read_hosts)?, &work)?;
    wait_ready(&client, &mut ours).await?;
    wait_ready(&client, &mut python).await?;

    let (hl, ll) = keywords(&client, &ours).await?;
    let question = format!("What connects {} and {}?", ll[0], ll[1]);
    // No reranker is configured: `enable_rerank: false` spares the Python
    // server a warning per request (its default is true).
    let body = json!({"query": question, "mode": "mix", "hl_keywords": hl, "ll_keywords": ll, "enable_rerank": false});
    let found_ours = check_answer(&client, &ours, &body).await?;
    let found_python = check_answer(&client, &python, &body).await?;
    eprintln!("bench --serve: POST /query/data {body}\n  ours found {found_ours}, Python {found_python}");
    let body_text = body.to_string();
    // Warm both up (connection pools, caches, Python's first-call imports).
    for server in [&ours, &python] {
        drive(&client, &format!("{}/query/data", server.url), &body_text, 4, 2).await;
    }

    let load_before = load_average();
    let mut levels = Vec::new();
    for &clients in &args.clients {
        let mut row = json!({"clients": clients});
        let mut rps = [0.0f64; 2];
        for (i, server) in [&python, &ours].into_iter().enumerate() {
            let key = if i == 0 { "python" } else { "ours" };
            eprintln!("bench --serve: {} at {clients} client(s) for {} s", server.name, args.seconds);
            let before = reads(&client, server).await;
            let level = drive(&client, &format!("{}/query/data", server.url), &body_text, clients, args.seconds).await;
            rps[i] = level.rps();
            row[key] = level.json();
            if i == 1 && pair.is_some() {
                row["ours_reads"] = reads_between(&before, &reads(&client, server).await);
            }
        }
        row["ratio_rps"] = json!(rps[1] / rps[0]);
        levels.push(row);
    }
    let fallback = match &pair {
        Some((_, standby)) => {
            let clients = args.clients.iter().copied().max().unwrap_or(1);
            Some(fallback_round(&client, &ours, &body_text, clients, args.seconds, standby).await?)
        }
        None => None,
    };
    let load_after = load_average();
    drop(ours);
    drop(python);
    drop_workspace(&args.cli, &db)?;
    drop(pair);
    let dataset = args.dataset.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let report = json!({
        "dataset": dataset, "graph": GRAPH_STORAGE, "dimension": dim, "request": body, "seconds": args.seconds,
        "found": {"ours": found_ours, "python": found_python},
        "cores": std::thread::available_parallelism().map(usize::from).unwrap_or(0),
        "load_average_before": load_before, "load_average_after": load_after, "levels": levels,
        "replicas": args.replicas, "fallback": fallback,
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)?;
    print_table(&report);
    println!("\nsaved to {}", args.out.display());
    Ok(())
}

fn print_table(report: &Value) {
    println!(
        "\n`POST /query/data` ({}, {}, mode mix, keywords given), {} s per level; load average {} before, {} after\n",
        report["dataset"].as_str().unwrap_or(""),
        report["graph"].as_str().unwrap_or(""),
        report["seconds"],
        report["load_average_before"].as_str().unwrap_or(""),
        report["load_average_after"].as_str().unwrap_or("")
    );
    println!("| clients | server | req/s | p50 ms | p99 ms | errors | ours / Python req/s |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for row in report["levels"].as_array().into_iter().flatten() {
        for (key, name) in [("ours", "lightrag-pg serve"), ("python", "lightrag-server 1.5.7")] {
            let l = &row[key];
            let ratio = if key == "ours" {
                format!("{:.1}×", row["ratio_rps"].as_f64().unwrap_or(f64::NAN))
            } else {
                String::new()
            };
            println!(
                "| {} | {name} | {:.1} | {:.1} | {:.1} | {} | {ratio} |",
                row["clients"],
                l["rps"].as_f64().unwrap_or(f64::NAN),
                l["p50_ms"].as_f64().unwrap_or(f64::NAN),
                l["p99_ms"].as_f64().unwrap_or(f64::NAN),
                l["errors"]
            );
        }
    }
    if report["replicas"].as_u64().unwrap_or(0) == 0 {
        return;
    }
    println!("\nOurs on a primary and one streaming standby (`POSTGRES_READ_HOSTS`): where the reads ran\n");
    println!("| clients | reads on the standby | on the primary | rerouted | standby share |");
    println!("|---:|---:|---:|---:|---:|");
    let reads_row = |clients: String, r: &Value| {
        println!(
            "| {clients} | {} | {} | {} | {:.0}% |",
            r["standby"],
            r["primary"],
            r["rerouted"],
            r["standby_share"].as_f64().unwrap_or(0.0) * 100.0
        );
    };
    for row in report["levels"].as_array().into_iter().flatten() {
        reads_row(row["clients"].to_string(), &row["ours_reads"]);
    }
    let f = &report["fallback"];
    reads_row(format!("{} (standby stopped)", f["clients"]), &f["reads"]);
    println!(
        "\nThe standby stopped (`pg_ctl stop -m fast`, {:.0} ms) under {} clients: the first request sent after it \
         answered {} in {:.0} ms; {} answers, {} errors, slowest {:.0} ms, p99 {:.0} ms.",
        f["stop_ms"].as_f64().unwrap_or(f64::NAN),
        f["clients"],
        f["first_after_stop_status"],
        f["first_after_stop_ms"].as_f64().unwrap_or(f64::NAN),
        f["level"]["requests"],
        f["level"]["errors"],
        f["level"]["max_ms"].as_f64().unwrap_or(f64::NAN),
        f["level"]["p99_ms"].as_f64().unwrap_or(f64::NAN)
    );
}
