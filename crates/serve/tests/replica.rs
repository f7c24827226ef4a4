//! `lightrag-pg serve` with `POSTGRES_READ_HOSTS` on a real streaming replica:
//! a primary and a `pg_basebackup -R` standby of this test's own, from the
//! sandbox root (`LIGHTRAG_PG_SANDBOX_ROOT`; without it the tests FAIL).

#![allow(clippy::print_stdout)] // the fallback test prints what it measured

mod common;

use std::time::{Duration, Instant};

use lightrag_pg_pool::Sources;
use lightrag_pg_query::KeywordCacheIdentity;
use lightrag_pg_test_support::embedding_endpoint;
use lightrag_pg_test_support::replica::streaming_pair;
use lightrag_pg_test_support::server::{PgServer, StopMode};
use serde_json::{Value, json};

/// A primary holding the sample dataset in workspace `ws`, and its standby,
/// caught up.
async fn pair(prefix: &str, ws: &str) -> (PgServer, PgServer) {
    streaming_pair(prefix, |primary| common::migrate(primary.config(), ws)).await
}

/// The server's settings on `primary`, with `standby` as read host when given.
fn settings(primary: &PgServer, standby: Option<&PgServer>, ws: &str, max_lag: &str) -> Vec<(String, String)> {
    let mut pairs = common::settings(&primary.config(), ws, embedding_endpoint(common::DIM, Duration::ZERO));
    pairs.push(("POSTGRES_CONNECT_TIMEOUT".into(), "2".into()));
    pairs.push(("POSTGRES_READ_MAX_LAG".into(), max_lag.into()));
    if let Some(s) = standby {
        pairs.push(("POSTGRES_READ_HOSTS".into(), format!("127.0.0.1:{}", s.port())));
    }
    pairs
}

async fn post(s: &common::Running, body: Value) -> (u16, Value) {
    let r = s.post("/query/data").json(&body).send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.expect("json"))
}

async fn health(s: &common::Running) -> Value {
    s.get("/health").send().await.expect("health").json().await.expect("json")
}

fn questions() -> Vec<Value> {
    let q = "What is studied here?";
    let kw = |mode: &str| json!({"query": q, "mode": mode, "hl_keywords": ["research"], "ll_keywords": ["study"], "top_k": 5});
    vec![json!({"query": q, "mode": "naive", "chunk_top_k": 3}), kw("local"), kw("global"), kw("hybrid"), kw("mix")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrieval_from_the_standby_equals_retrieval_from_the_primary_once_replay_caught_up() {
    let ws = "serve_replica_eq";
    let (primary, standby) = pair("serve-rep-eq", ws).await;
    let on_primary = common::serve(settings(&primary, None, ws, "5")).await;
    let on_standby = common::serve(settings(&primary, Some(&standby), ws, "5")).await;
    for q in questions() {
        let (a_status, a) = post(&on_primary, q.clone()).await;
        let (b_status, b) = post(&on_standby, q.clone()).await;
        assert_eq!((a_status, b_status), (200, 200), "{q}: {a} / {b}");
        assert!(a["data"]["chunks"].as_array().is_some_and(|c| !c.is_empty()), "{q} finds chunks: {a}");
        assert_eq!(a, b, "{q}: the standby answers as the primary");
    }
    let reads = &health(&on_standby).await["replication"]["reads"];
    assert!(reads["standby"].as_u64().is_some_and(|n| n >= 5), "{reads}");
    assert_eq!(reads["primary"], 0, "every read of the standby server ran on the standby: {reads}");
    let reads = &health(&on_primary).await["replication"]["reads"];
    assert_eq!(reads["standby"], 0, "{reads}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_the_standbys_role_and_lag_and_the_fallback_when_it_stops() {
    let ws = "serve_replica_health";
    let (primary, standby) = pair("serve-rep-health", ws).await;
    let s = common::serve(settings(&primary, Some(&standby), ws, "5")).await;
    let rep = health(&s).await["replication"].clone();
    assert_eq!(rep["standby_in_use"], true, "{rep}");
    assert_eq!(rep["read_hosts"], json!([format!("127.0.0.1:{}", standby.port())]), "{rep}");
    let host = &rep["hosts"][0];
    assert_eq!((host["role"].as_str(), host["readable"].as_bool()), (Some("standby"), Some(true)), "{rep}");
    let lag = host["replay_lag_ms"].as_f64().expect("a measured lag");
    assert!((0.0..5000.0).contains(&lag), "{rep}");
    println!("serve: the standby's replay lag at the last check: {lag:.1} ms");
    let q = &questions()[1];
    assert_eq!(post(&s, q.clone()).await.0, 200);

    standby.stop(StopMode::Fast);
    let stopped = Instant::now();
    let (status, body) = post(&s, q.clone()).await;
    let fallback = stopped.elapsed();
    assert_eq!(status, 200, "{body}");
    println!("serve: the first query after the standby stopped answered 200 in {fallback:?}");
    let rep = health(&s).await["replication"].clone();
    assert_eq!(rep["standby_in_use"], false, "{rep}");
    assert!(rep["reads"]["rerouted"].as_u64().is_some_and(|n| n >= 1), "{rep}");
    assert!(rep["reads"]["primary"].as_u64().is_some_and(|n| n >= 1), "{rep}");
    // After the next check the stopped standby shows as unreachable.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let _ = health(&s).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rep = health(&s).await["replication"].clone();
    assert_eq!(rep["hosts"][0]["role"], Value::Null, "{rep}");
    assert!(rep["hosts"][0]["error"].as_str().is_some_and(|e| e.contains("unreachable")), "{rep}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keywords_cached_just_before_a_query_are_read_on_the_primary_not_the_lagging_standby() {
    let ws = "serve_replica_ryw";
    let (primary, standby) = pair("serve-rep-ryw", ws).await;
    // A generous bound: the standby stays in use while its replay is paused.
    let pairs = settings(&primary, Some(&standby), ws, "3600");
    let identity = KeywordCacheIdentity::from_sources(&Sources::from_pairs(pairs.clone()));
    let s = common::serve(pairs).await;
    standby.psql("SELECT pg_wal_replay_pause()");

    // The keyword-cache insert LightRAG's server makes before it retrieves.
    let question = "Which research questions does the study examine?";
    let id = identity.cache_id("local", question);
    let reply = json!({"high_level_keywords": ["research"], "low_level_keywords": ["study"]}).to_string();
    let client = primary.client().await.expect("primary");
    client
        .execute(
            "INSERT INTO lightrag_llm_cache (workspace, id, original_prompt, return_value, cache_type) \
             VALUES ($1, $2, $3, $4, 'keywords')",
            &[&ws, &id, &question, &reply],
        )
        .await
        .expect("cache the keywords");
    let on_standby: i64 = standby
        .client()
        .await
        .expect("standby")
        .query_one("SELECT count(*) FROM lightrag_llm_cache WHERE workspace = $1 AND id = $2", &[&ws, &id])
        .await
        .expect("count")
        .get(0);
    assert_eq!(on_standby, 0, "the standby has not replayed the insert");

    let before = health(&s).await["replication"]["reads"].clone();
    let (status, body) = post(&s, json!({"query": question, "mode": "local", "top_k": 5})).await;
    assert_eq!(status, 200, "the cached keywords were found on the primary: {body}");
    assert_eq!(body["metadata"]["keywords"]["low_level"], json!(["study"]), "{body}");
    let after = health(&s).await["replication"]["reads"].clone();
    let n = |v: &Value, k: &str| v[k].as_u64().expect("a count");
    assert!(n(&after, "standby") > n(&before, "standby"), "the retrieval itself read the standby: {before} {after}");
    assert_eq!(n(&after, "primary"), n(&before, "primary"), "no routed read went to the primary: {after}");
    standby.psql("SELECT pg_wal_replay_resume()");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_reads_from_the_standby_equal_the_primarys() {
    let ws = "serve_replica_graph";
    let (primary, standby) = pair("serve-rep-graph", ws).await;
    let on_primary = common::serve(settings(&primary, None, ws, "5")).await;
    let on_standby = common::serve(settings(&primary, Some(&standby), ws, "5")).await;
    let get = |s: &common::Running, path: String| {
        let r = s.get(&path);
        async move {
            let r = r.send().await.expect("request");
            assert_eq!(r.status().as_u16(), 200, "{path}");
            r.json::<Value>().await.expect("json")
        }
    };
    let top = get(&on_primary, "/graph/label/popular?limit=1".into()).await[0].as_str().expect("a label").to_owned();
    let paths = [
        "/graph/label/list".to_owned(),
        "/graph/label/popular?limit=5".to_owned(),
        format!("/graphs?label={top}&max_depth=1&max_nodes=5"),
        format!("/graph/entity/exists?name={top}"),
    ];
    for path in paths {
        let a = get(&on_primary, path.clone()).await;
        assert_eq!(a, get(&on_standby, path.clone()).await, "{path}: the standby answers as the primary");
    }
    // The start-up's two reads (tables, workspace) and the four graph reads.
    let reads = &health(&on_standby).await["replication"]["reads"];
    assert_eq!((reads["standby"].as_u64(), reads["primary"].as_u64()), (Some(6), Some(0)), "{reads}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_graph_in_age_the_standby_answers_as_the_primary() {
    let ws = "serve_replica_age";
    let (primary, standby) =
        streaming_pair("serve-rep-age", |p| common::migrate_into(p.config(), ws, lightrag_pg_pool::GraphEngine::Age))
            .await;
    let age = |pairs: Vec<(String, String)>| {
        pairs
            .into_iter()
            .map(|(k, v)| if k == "LIGHTRAG_GRAPH_STORAGE" { (k, "PGGraphStorage".to_owned()) } else { (k, v) })
            .collect::<Vec<_>>()
    };
    let on_primary = common::serve(age(settings(&primary, None, ws, "5"))).await;
    let on_standby = common::serve(age(settings(&primary, Some(&standby), ws, "5"))).await;
    for q in questions() {
        let (_, a) = post(&on_primary, q.clone()).await;
        let (status, b) = post(&on_standby, q.clone()).await;
        assert_eq!(status, 200, "{q}: {b}");
        assert_eq!(a, b, "{q}: the standby answers as the primary");
    }
    for path in ["/graph/label/list", "/graph/label/popular?limit=5"] {
        let get = |s: &common::Running| {
            let r = s.get(path);
            async move { r.send().await.expect("request").json::<Value>().await.expect("json") }
        };
        assert_eq!(get(&on_primary).await, get(&on_standby).await, "{path}");
    }
    let reads = &health(&on_standby).await["replication"]["reads"];
    assert_eq!(reads["primary"], 0, "every read ran on the standby: {reads}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_read_after_the_standby_stopped_is_answered_from_the_primary() {
    let ws = "serve_replica_graph_stop";
    let (primary, standby) = pair("serve-rep-gstop", ws).await;
    let s = common::serve(settings(&primary, Some(&standby), ws, "5")).await;
    let labels = || async { s.get("/graph/label/list").send().await.expect("request") };
    let before: Value = labels().await.json().await.expect("json");
    standby.stop(StopMode::Fast);
    let r = labels().await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<Value>().await.expect("json"), before, "the primary answers as the standby did");
    let reads = &health(&s).await["replication"]["reads"];
    assert_eq!(reads["rerouted"], 1, "{reads}");
}

/// One answer under load: when it was sent, its status, when it arrived.
type Answer = (Instant, u16, Instant);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_the_standby_serves_the_reads_and_its_stop_costs_no_error() {
    let ws = "serve_replica_load";
    let (primary, standby) = pair("serve-rep-load", ws).await;
    let s = std::sync::Arc::new(common::serve(settings(&primary, Some(&standby), ws, "5")).await);
    let log: std::sync::Arc<std::sync::Mutex<Vec<Answer>>> = std::sync::Arc::default();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (s, log, stop) = (s.clone(), log.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let sent = Instant::now();
                    let (status, _) = post(&s, questions()[4].clone()).await;
                    log.lock().expect("log").push((sent, status, Instant::now()));
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mid = health(&s).await["replication"]["reads"].clone();
    let sd = std::sync::Arc::new(standby);
    let st = sd.clone();
    tokio::task::spawn_blocking(move || st.stop(StopMode::Fast)).await.expect("stop");
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for c in clients {
        c.await.expect("client");
    }
    let end = health(&s).await["replication"]["reads"].clone();
    let log = log.lock().expect("log").clone();
    let statuses: std::collections::BTreeSet<u16> = log.iter().map(|a| a.1).collect();
    assert_eq!(statuses, [200].into(), "every answer 200, before and after the stop");
    let n = |v: &Value, k: &str| v[k].as_u64().expect("a count");
    assert_eq!(n(&mid, "primary"), 0, "with the standby fit, every read ran there: {mid}");
    assert!(n(&end, "rerouted") >= 1 && n(&end, "primary") > 0, "{end}");
    let before = log.iter().filter(|a| a.0 < stopped).count();
    let first_after = log.iter().filter(|a| a.0 >= stopped).map(|a| a.2 - stopped).min().expect("an answer after");
    let slowest_across = log.iter().filter(|a| a.0 < stopped && a.2 >= stopped).map(|a| a.2 - a.0).max();
    println!(
        "serve under 4 clients: {} answers, all 200; before the stop {before} answers with reads {mid} (standby share \
         {:.0}%); after the stop the first answer came {first_after:?} later; the slowest request across the stop \
         took {slowest_across:?}; at the end reads {end}",
        log.len(),
        100.0 * n(&mid, "standby") as f64 / (n(&mid, "standby") + n(&mid, "primary")).max(1) as f64
    );
}
