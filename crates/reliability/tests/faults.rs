//! Dropped, stalled and scarce connections on the shared test server: backends
//! terminated with `pg_terminate_backend` mid-query (only this test's own, found
//! by pid), connections severed or stalled by a loopback proxy, statement
//! time-outs, and 200 callers on a pool of 4.

#![allow(clippy::print_stdout)] // the tests print what they measured

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::data;
use common::proxy::Proxy;
use lightrag_pg_core::testkit::unique_workspace;
use lightrag_pg_core::{
    DocStatus, DocStatusStorage, Error, GraphStorage, JsonObject, KvNamespace, KvStorage, Properties, Storage,
    VectorNamespace, VectorStorage,
};
use lightrag_pg_docstatus::PgDocStatusStorage;
use lightrag_pg_graph::TableGraphStorage;
use lightrag_pg_kv::PgKvStorage;
use lightrag_pg_pool::{PgConfig, PgPool, RetryPolicy, db_error};
use lightrag_pg_vector::{PgVectorConfig, PgVectorStorage};

fn no_retry() -> RetryPolicy {
    RetryPolicy { attempts: 1, backoff: Duration::from_millis(50), backoff_max: Duration::from_millis(50) }
}

fn quick_retry(attempts: u32) -> RetryPolicy {
    RetryPolicy { attempts, backoff: Duration::from_millis(50), backoff_max: Duration::from_millis(500) }
}

async fn pool_with(f: impl FnOnce(&mut PgConfig)) -> PgPool {
    let mut c = common::shared_config().await;
    f(&mut c);
    PgPool::connect(c).await.expect("pool")
}

async fn backend_pid(pool: &PgPool) -> i32 {
    pool.get().await.expect("connection").query_one("SELECT pg_backend_pid()", &[]).await.expect("pid").get(0)
}

/// Waits until backend `pid` is running a statement that mentions `needle`.
async fn until_active(admin: &PgPool, pid: i32, needle: &str) {
    let conn = admin.get().await.expect("admin connection");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let active: bool = conn
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active' \
                 AND position($2 in query) > 0)",
                &[&pid, &needle],
            )
            .await
            .expect("pg_stat_activity")
            .get(0);
        if active {
            return;
        }
        assert!(Instant::now() < deadline, "backend {pid} never ran a statement on {needle}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Terminates our own backends and waits until they are gone.
async fn terminate(admin: &PgPool, pids: &[i32]) {
    let conn = admin.get().await.expect("admin connection");
    conn.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int4[]) AS t(pid)", &[&pids])
        .await
        .expect("pg_terminate_backend");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive: i64 = conn
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", &[&pids])
            .await
            .expect("count")
            .get(0);
        if alive == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "backends {pids:?} still alive");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn rows_in(admin: &PgPool, table: &str, ws: &str) -> i64 {
    admin
        .get()
        .await
        .expect("admin connection")
        .query_one(&format!("SELECT count(*) FROM {table} WHERE workspace = $1"), &[&ws])
        .await
        .expect("count")
        .get(0)
}

fn chunks(n: usize, tag: &str) -> Vec<(String, JsonObject)> {
    (0..n).map(|i| (format!("chunk-{tag}-{i:08}"), data::chunk(i, tag))).collect()
}

async fn open_kv(pool: &PgPool, ns: KvNamespace, prefix: &str) -> PgKvStorage {
    let kv = PgKvStorage::new(pool.clone(), ns, unique_workspace(prefix)).expect("kv storage");
    kv.initialize().await.expect("initialize");
    kv
}

fn is_typed_retryable_break(e: &Error) -> bool {
    e.is_retryable()
        && (matches!(e, Error::Connection { retryable: true, .. })
            || matches!(e.sqlstate(), Some("57P01" | "57P02" | "57P03"))
            || e.sqlstate().is_some_and(|s| s.starts_with("08")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_mid_upsert_is_reported_as_a_retryable_error_and_the_pool_replaces_the_connection() {
    let pool = pool_with(|c| {
        c.max_connections = 1;
        c.retry = no_retry();
    })
    .await;
    let admin = common::shared_pool(2).await;
    let kv = open_kv(&pool, KvNamespace::TextChunks, "rel_term").await;
    let ws = kv.workspace().as_str().to_owned();
    let old = backend_pid(&pool).await;

    let writer = {
        let kv = kv.clone();
        tokio::spawn(async move { kv.upsert(chunks(50_000, "term")).await })
    };
    until_active(&admin, old, "lightrag_doc_chunks").await;
    terminate(&admin, &[old]).await;

    let err = tokio::time::timeout(Duration::from_secs(60), writer)
        .await
        .expect("the upsert returns once its backend is gone")
        .expect("task")
        .expect_err("its backend was terminated mid-statement");
    assert!(is_typed_retryable_break(&err), "not a typed retryable connection error: {err:?}");
    assert_eq!(rows_in(&admin, "lightrag_doc_chunks", &ws).await, 0, "a terminated batch left rows behind");

    // The next call gets a new backend at once, without a manual step.
    assert!(kv.is_empty().await.expect("the pool replaced the connection"));
    let new = backend_pid(&pool).await;
    assert_ne!(new, old, "the terminated backend was handed out again");
    assert!(pool.stats().connections <= 1);
    kv.drop_all().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_mid_upsert_with_retries_lands_the_batch_whole_and_once() {
    let pool = pool_with(|c| {
        c.max_connections = 1;
        c.retry = quick_retry(5);
    })
    .await;
    let admin = common::shared_pool(2).await;
    let kv = open_kv(&pool, KvNamespace::TextChunks, "rel_term_retry").await;
    let ws = kv.workspace().as_str().to_owned();
    let old = backend_pid(&pool).await;
    let batch = chunks(30_000, "retry");
    let ids: Vec<String> = batch.iter().map(|(id, _)| id.clone()).collect();

    let writer = {
        let kv = kv.clone();
        tokio::spawn(async move { kv.upsert(batch).await })
    };
    until_active(&admin, old, "lightrag_doc_chunks").await;
    terminate(&admin, &[old]).await;
    tokio::time::timeout(Duration::from_secs(120), writer)
        .await
        .expect("no hang")
        .expect("task")
        .expect("the idempotent upsert is replayed on a new connection");
    assert_eq!(rows_in(&admin, "lightrag_doc_chunks", &ws).await, 30_000);
    assert!(kv.filter_keys(&ids).await.expect("filter_keys").is_empty(), "every record is there");
    kv.drop_all().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_every_pooled_backend_then_every_store_serves_again() {
    let pool = pool_with(|c| {
        c.max_connections = 4;
        c.retry = quick_retry(3);
    })
    .await;
    let admin = common::shared_pool(2).await;
    let kv = open_kv(&pool, KvNamespace::FullDocs, "rel_term_all").await;
    let ws = kv.workspace().clone();
    let ds = PgDocStatusStorage::new(pool.clone(), ws.clone()).expect("doc status");
    ds.initialize().await.expect("initialize");
    let vec = PgVectorStorage::new(
        pool.clone(),
        ws.clone(),
        PgVectorConfig::new(VectorNamespace::Entities, 8).with_model_name("rel_term"),
    )
    .expect("vector");
    vec.initialize().await.expect("initialize");
    let graph = TableGraphStorage::new(pool.clone(), ws.clone());
    graph.initialize().await.expect("initialize");

    let conns = futures::future::join_all((0..4).map(|_| pool.get())).await;
    let mut pids = Vec::new();
    for c in &conns {
        let c = c.as_ref().expect("connection");
        pids.push(c.query_one("SELECT pg_backend_pid()", &[]).await.expect("pid").get::<_, i32>(0));
    }
    drop(conns);
    terminate(&admin, &pids).await;

    // Straight away: every store works, on new backends.
    kv.upsert(vec![("doc-1".into(), data::full_doc("after terminate"))]).await.expect("kv upsert");
    assert!(kv.get_by_id("doc-1").await.expect("kv read").is_some());
    ds.upsert(vec![("doc-1".into(), data::doc_status(1, "after", DocStatus::Processed))]).await.expect("doc status");
    assert!(ds.get_by_id("doc-1").await.expect("doc status read").is_some());
    vec.upsert(vec![data::entity_vector("ent-1", 1, 8, "after")]).await.expect("vector upsert");
    assert_eq!(vec.get_vectors_by_ids(&["ent-1".into()]).await.expect("vector read").len(), 1);
    graph.upsert_node("after", Properties::new().with("entity_type", "x")).await.expect("graph upsert");
    assert!(graph.has_node("after").await.expect("graph read"));
    let now = futures::future::join_all((0..4).map(|_| pool.get())).await;
    for c in now {
        let pid: i32 = c.expect("connection").query_one("SELECT pg_backend_pid()", &[]).await.expect("pid").get(0);
        assert!(!pids.contains(&pid), "terminated backend {pid} handed out again");
    }

    kv.drop_all().await.expect("cleanup");
    ds.drop_all().await.expect("cleanup");
    vec.drop_all().await.expect("cleanup");
    graph.drop_all().await.expect("cleanup");
}

/// Holds a row lock on `(workspace, id)` of `lightrag_doc_full` in an open
/// transaction on a plain admin connection (not through the proxy).
async fn lock_row(ws: &str, id: &str) -> lightrag_pg_pool::tokio_postgres::Client {
    let admin = common::shared_config().await;
    let client = lightrag_pg_test_support::fresh::admin_client_in(&admin, &admin.database).await;
    client.batch_execute("BEGIN").await.expect("BEGIN");
    let n = client
        .execute("SELECT 1 FROM lightrag_doc_full WHERE workspace = $1 AND id = $2 FOR UPDATE", &[&ws, &id])
        .await
        .expect("lock");
    assert_eq!(n, 1, "the row to lock exists");
    client
}

/// A pool through `proxy` with a 1 s statement time-out and short waits.
async fn proxied_pool(proxy: &Proxy, max: u32) -> PgPool {
    pool_with(|c| {
        c.hosts = vec![("127.0.0.1".to_owned(), proxy.port)];
        c.max_connections = max;
        c.statement_timeout = Some(Duration::from_secs(1));
        c.connect_timeout = Duration::from_secs(1);
        c.pool_timeout = Duration::from_secs(2);
        c.retry = no_retry();
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_by_statement_timeout_a_store_call_blocked_on_a_lock_fails_typed_in_time() {
    let upstream = common::shared_config().await.hosts[0].1;
    let proxy = Proxy::start(upstream).await;
    let pool = proxied_pool(&proxy, 2).await;
    let kv = open_kv(&pool, KvNamespace::FullDocs, "rel_stmt_timeout").await;
    let ws = kv.workspace().as_str().to_owned();
    kv.upsert(vec![("doc-locked".into(), data::full_doc("v1"))]).await.expect("seed");
    let locker = lock_row(&ws, "doc-locked").await;

    let started = Instant::now();
    let err =
        tokio::time::timeout(Duration::from_secs(20), kv.upsert(vec![("doc-locked".into(), data::full_doc("v2"))]))
            .await
            .expect("the statement time-out ends the wait")
            .expect_err("the row stays locked longer than the statement time-out");
    let took = started.elapsed();
    assert_eq!(err.sqlstate(), Some("57014"), "expected a statement time-out (57014): {err:?}");
    assert!(!err.is_retryable(), "a statement time-out is not replayed: {err:?}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "took {took:?}");

    locker.batch_execute("ROLLBACK").await.expect("ROLLBACK");
    assert_eq!(
        kv.get_by_id("doc-locked").await.expect("read").expect("present")["content"],
        "v1",
        "the timed-out write changed nothing"
    );
    kv.drop_all().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_by_network_stall_the_statement_timeout_fires_and_the_pool_does_not_wedge() {
    let upstream = common::shared_config().await.hosts[0].1;
    let proxy = Proxy::start(upstream).await;
    let pool = proxied_pool(&proxy, 2).await;
    let kv = open_kv(&pool, KvNamespace::FullDocs, "rel_stall").await;
    let ws = kv.workspace().as_str().to_owned();
    kv.upsert(vec![("doc-locked".into(), data::full_doc("v1")), ("doc-free".into(), data::full_doc("free"))])
        .await
        .expect("seed");
    let locker = lock_row(&ws, "doc-locked").await;

    // A write blocked on the lock; then the network stalls for 3 s.
    let started = Instant::now();
    let blocked = {
        let kv = kv.clone();
        tokio::spawn(async move { kv.upsert(vec![("doc-locked".into(), data::full_doc("v2"))]).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.stall();
    let callers: Vec<_> = (0..6)
        .map(|_| {
            let kv = kv.clone();
            tokio::spawn(async move {
                let t = Instant::now();
                (tokio::time::timeout(Duration::from_secs(30), kv.get_by_id("doc-free")).await, t.elapsed())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.resume();

    // The server's statement time-out fired at 1 s; its error arrives after the stall.
    let err = tokio::time::timeout(Duration::from_secs(20), blocked)
        .await
        .expect("no hang after the stall")
        .expect("task")
        .expect_err("statement time-out");
    assert_eq!(err.sqlstate(), Some("57014"), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(15));

    // Callers during the stall: each finished (value or typed retryable error).
    let (mut ok, mut failed) = (0, 0);
    for c in callers {
        let (res, took) = c.await.expect("task");
        match res.expect("no caller hung past the stall") {
            Ok(Some(rec)) => {
                assert_eq!(rec["content"], "free");
                ok += 1;
            }
            Ok(None) => panic!("doc-free vanished"),
            Err(e) => {
                assert!(e.is_retryable(), "a caller during the stall got a non-retryable error: {e:?}");
                failed += 1;
            }
        }
        assert!(took < Duration::from_secs(15), "a caller took {took:?}");
    }
    println!("network stall of 3 s: {ok} callers served after it, {failed} got a retryable error");

    // Not wedged: once the lock is gone, calls succeed at once.
    locker.batch_execute("ROLLBACK").await.expect("ROLLBACK");
    for i in 0..20 {
        let t = Instant::now();
        let rec = kv.get_by_id("doc-free").await.unwrap_or_else(|e| panic!("call {i} after the stall: {e}"));
        assert!(rec.is_some());
        assert!(t.elapsed() < Duration::from_secs(2), "call {i} took {:?}", t.elapsed());
    }
    kv.upsert(vec![("doc-locked".into(), data::full_doc("v3"))]).await.expect("write after the stall");
    assert!(pool.stats().connections <= 2);
    kv.drop_all().await.expect("cleanup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_by_severed_connections_fails_retryably_and_new_connections_follow() {
    let upstream = common::shared_config().await.hosts[0].1;
    let proxy = Proxy::start(upstream).await;
    let pool = proxied_pool(&proxy, 2).await;
    let kv = open_kv(&pool, KvNamespace::FullDocs, "rel_sever").await;
    let ws = kv.workspace().as_str().to_owned();
    kv.upsert(vec![("doc-locked".into(), data::full_doc("v1"))]).await.expect("seed");
    let locker = lock_row(&ws, "doc-locked").await;

    let blocked = {
        let kv = kv.clone();
        tokio::spawn(async move { kv.upsert(vec![("doc-locked".into(), data::full_doc("v2"))]).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    proxy.sever();
    let err = tokio::time::timeout(Duration::from_secs(10), blocked)
        .await
        .expect("a severed connection is noticed at once")
        .expect("task")
        .expect_err("its connection was closed");
    assert!(t.elapsed() < Duration::from_secs(2), "noticed after {:?}", t.elapsed());
    assert!(matches!(err, Error::Connection { retryable: true, .. }), "{err:?}");
    locker.batch_execute("ROLLBACK").await.expect("ROLLBACK");

    kv.upsert(vec![("doc-locked".into(), data::full_doc("v3"))]).await.expect("a new connection serves");
    assert_eq!(kv.get_by_id("doc-locked").await.expect("read").expect("present")["content"], "v3");
    assert!(proxy.open_connections() >= 1);
    kv.drop_all().await.expect("cleanup");
}

/// 200 callers, each holding a connection for 50 ms, on a pool of 4 with a 1 s
/// pool time-out: what does not fit in the time-out ends with `Error::Timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhaustion_200_callers_on_a_pool_of_4_complete_or_get_a_clear_timeout() {
    let pool = pool_with(|c| {
        c.max_connections = 4;
        c.pool_timeout = Duration::from_secs(1);
        c.retry = no_retry();
    })
    .await;
    let started = Instant::now();
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let conn = pool.get().await?;
                conn.simple_query("SELECT pg_sleep(0.05)").await.map_err(db_error)?;
                Ok::<_, Error>(())
            })
        })
        .collect();
    let results = tokio::time::timeout(Duration::from_secs(30), futures::future::join_all(tasks))
        .await
        .expect("no deadlock: every caller returned");
    let (mut ok, mut timeouts) = (0, 0);
    for r in results {
        match r.expect("task") {
            Ok(()) => ok += 1,
            Err(Error::Timeout { what, after }) => {
                assert_eq!(after, Duration::from_secs(1));
                assert!(what.contains("exhausted"), "the time-out says why: {what}");
                timeouts += 1;
            }
            Err(e) => panic!("neither success nor a pool time-out: {e:?}"),
        }
    }
    let took = started.elapsed();
    println!("pool exhaustion: 200 callers on 4 connections: {ok} completed, {timeouts} timed out, in {took:?}");
    assert_eq!(ok + timeouts, 200);
    assert!(ok >= 4 && timeouts > 0, "{ok} ok, {timeouts} time-outs");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(pool.stats().connections <= 4);
    for _ in 0..10 {
        pool.get().await.expect("the pool serves after the storm").simple_query("SELECT 1").await.expect("query");
    }
}

/// 200 storage calls over every store on a pool of 4: with the default replay
/// of time-outs every one succeeds, and nothing deadlocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhaustion_200_store_callers_on_a_pool_of_4_all_finish_and_nothing_deadlocks() {
    let pool = pool_with(|c| {
        c.max_connections = 4;
        c.pool_timeout = Duration::from_secs(2);
        c.retry =
            RetryPolicy { attempts: 10, backoff: Duration::from_millis(100), backoff_max: Duration::from_secs(1) };
    })
    .await;
    let kv = open_kv(&pool, KvNamespace::FullDocs, "rel_exhaust").await;
    let ws = kv.workspace().clone();
    let ds = PgDocStatusStorage::new(pool.clone(), ws.clone()).expect("doc status");
    ds.initialize().await.expect("initialize");
    let vec = PgVectorStorage::new(
        pool.clone(),
        ws.clone(),
        PgVectorConfig::new(VectorNamespace::Entities, 8).with_model_name("rel_exhaust"),
    )
    .expect("vector");
    vec.initialize().await.expect("initialize");
    let graph = TableGraphStorage::new(pool.clone(), ws.clone());
    graph.initialize().await.expect("initialize");
    let (kv, ds, vec, graph) = (Arc::new(kv), Arc::new(ds), Arc::new(vec), Arc::new(graph));

    let started = Instant::now();
    let tasks: Vec<_> = (0..200usize)
        .map(|i| {
            let (kv, ds, vec, graph) = (kv.clone(), ds.clone(), vec.clone(), graph.clone());
            tokio::spawn(async move {
                let id = format!("id-{i:03}");
                match i % 4 {
                    0 => {
                        kv.upsert(vec![(id.clone(), data::full_doc(&id))]).await?;
                        kv.get_by_id(&id).await.map(|r| r.is_some())
                    }
                    1 => {
                        ds.upsert(vec![(id.clone(), data::doc_status(i, &id, DocStatus::Pending))]).await?;
                        ds.get_by_id(&id).await.map(|r| r.is_some())
                    }
                    2 => {
                        vec.upsert(vec![data::entity_vector(&id, i, 8, &id)]).await?;
                        vec.get_by_id(&id).await.map(|r| r.is_some())
                    }
                    _ => {
                        graph.upsert_edge(&id, "hub", data::edge(&id)).await?;
                        graph.has_edge("hub", &id).await
                    }
                }
            })
        })
        .collect();
    let results = tokio::time::timeout(Duration::from_secs(180), futures::future::join_all(tasks))
        .await
        .expect("no deadlock: every caller returned");
    let mut timeouts = 0;
    for (i, r) in results.into_iter().enumerate() {
        match r.expect("task") {
            Ok(found) => assert!(found, "caller {i}: its write is not readable"),
            Err(Error::Timeout { .. }) => timeouts += 1,
            Err(e) => panic!("caller {i}: {e:?}"),
        }
    }
    println!(
        "pool exhaustion through the stores: 200 callers on 4 connections finished in {:?}, {timeouts} timed out",
        started.elapsed()
    );
    assert_eq!(timeouts, 0, "with replayed time-outs every caller succeeds");
    assert_eq!(graph.node_degree("hub").await.expect("degree"), 50);
    kv.drop_all().await.expect("cleanup");
    ds.drop_all().await.expect("cleanup");
    vec.drop_all().await.expect("cleanup");
    graph.drop_all().await.expect("cleanup");
}

/// The classic self-deadlock: every connection is held by callers that then
/// make a storage call. The call ends with a clear time-out, not a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhaustion_a_call_made_while_every_connection_is_held_times_out_instead_of_hanging() {
    let pool = pool_with(|c| {
        c.max_connections = 4;
        c.pool_timeout = Duration::from_millis(800);
        c.retry = quick_retry(2);
    })
    .await;
    let kv = open_kv(&pool, KvNamespace::FullDocs, "rel_self_deadlock").await;
    let held = futures::future::join_all((0..4).map(|_| pool.get())).await;
    assert!(held.iter().all(Result::is_ok));
    let t = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(20), kv.get_by_id("doc-1"))
        .await
        .expect("no hang")
        .expect_err("no connection is free");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(t.elapsed() < Duration::from_secs(5), "took {:?}", t.elapsed());
    drop(held);
    assert!(kv.get_by_id("doc-1").await.expect("served once connections are back").is_none());
    kv.drop_all().await.expect("cleanup");
}
