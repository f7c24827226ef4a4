//! Recovery without a manual step: a server restart (on a throwaway server of
//! this test's own, never the shared one) and terminated backends (on the shared
//! test server, only this test's own backends).

mod common;

use std::time::{Duration, Instant};

use common::server::{PgServer, pool_config, ssl, start_server};
use lightrag_pg_core::Error;
use lightrag_pg_pool::{PgConfig, PgPool, RetryPolicy, SslMode};
use lightrag_pg_test_support::server::StopMode;

/// One pooled call: check out, run a query, give the connection back.
async fn one_call(pool: &PgPool) -> Result<i32, Error> {
    let conn = pool.get().await?;
    let row = conn.query_one("SELECT 1::int4", &[]).await.map_err(lightrag_pg_pool::db_error)?;
    Ok(row.get(0))
}

fn restart_config(server: &PgServer) -> PgConfig {
    let mut c = pool_config(server, "127.0.0.1", ssl(SslMode::Prefer));
    c.max_connections = 4;
    c.retry =
        RetryPolicy { attempts: 100, backoff: Duration::from_millis(100), backoff_max: Duration::from_millis(400) };
    c
}

/// Opens `n` connections at once so the pool holds several idle ones.
async fn warm_up(pool: &PgPool, n: usize) {
    let conns = futures::future::join_all((0..n).map(|_| pool.get())).await;
    for c in conns {
        c.expect("warm-up connection").simple_query("SELECT 1").await.expect("warm-up query");
    }
}

async fn blocking(f: impl FnOnce() + Send + 'static) {
    tokio::task::spawn_blocking(f).await.expect("blocking task");
}

/// Calls through the pool every 10 ms until one succeeds.
async fn until_pool_serves(pool: &PgPool) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if one_call(pool).await.is_ok() {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "the pool did not serve again within 60 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)]
async fn the_pool_serves_again_within_5_s_of_a_server_restart_with_no_manual_step() {
    let server = std::sync::Arc::new(start_server("pgpool-restart", None));
    let pool = PgPool::connect(restart_config(&server)).await.expect("pool");
    warm_up(&pool, 4).await;
    assert_eq!(one_call(&pool).await.unwrap(), 1);

    let s = server.clone();
    blocking(move || s.stop(StopMode::Immediate)).await;

    // While the server is down a call fails at once (not after the pool time-out)
    // and says it may be retried.
    let t = Instant::now();
    let err = one_call(&pool).await.expect_err("the server is down");
    assert!(err.is_retryable(), "{err:?}");
    assert!(t.elapsed() < Duration::from_secs(2), "failed after {:?}, not at once", t.elapsed());

    // An idempotent read under `retry` spans the restart.
    let retrying = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.retry("read across a restart", || one_call(&pool)).await })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;

    let s = server.clone();
    blocking(move || s.start_no_wait()).await;
    let (back_at, served_at) = tokio::join!(server.until_accepting(Duration::from_secs(60)), until_pool_serves(&pool));
    let recovery = served_at.saturating_duration_since(back_at);
    println!(
        "restart recovery: the pool served {} ms after the server accepted connections again",
        recovery.as_millis()
    );
    assert!(recovery < Duration::from_secs(5), "recovery took {recovery:?}");

    let retried = tokio::time::timeout(Duration::from_secs(30), retrying).await.expect("retry finished").unwrap();
    assert_eq!(retried.expect("retry succeeds across the restart"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_every_connection_the_pool_hands_out_works() {
    let server = std::sync::Arc::new(start_server("pgpool-restart-get", None));
    let pool = PgPool::connect(restart_config(&server)).await.expect("pool");
    warm_up(&pool, 4).await;
    assert_eq!(pool.stats().idle, 4);

    let s = server.clone();
    blocking(move || {
        s.stop(StopMode::Immediate);
        s.start_no_wait();
    })
    .await;
    server.until_accepting(Duration::from_secs(60)).await;

    // No call ran in between: the four pooled connections all died with the old
    // server. None of them may be handed out.
    for i in 0..12 {
        let conn = pool.get().await.unwrap_or_else(|e| panic!("checkout {i}: {e}"));
        conn.simple_query("SELECT 1").await.unwrap_or_else(|e| panic!("checkout {i} gave a broken connection: {e}"));
    }
}

/// The backend pids of `n` pooled connections opened at once.
async fn pooled_pids(pool: &PgPool, n: usize) -> Vec<i32> {
    let conns = futures::future::join_all((0..n).map(|_| pool.get())).await;
    let mut pids = Vec::new();
    for c in conns {
        let c = c.expect("connection");
        pids.push(c.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0));
    }
    pids
}

async fn terminate(admin: &PgPool, pids: &[i32]) {
    let conn = admin.get().await.unwrap();
    conn.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int4[]) AS t(pid)", &[&pids]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive: i64 =
            conn.query_one("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", &[&pids]).await.unwrap().get(0);
        if alive == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "backends {pids:?} still alive");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn after_pg_terminate_backend_the_next_calls_get_new_connections() {
    let db = lightrag_pg_test_support::test_database().await;
    let mut config = db.config();
    config.max_connections = 3;
    let pool = PgPool::connect(config).await.unwrap();
    let admin = db.pool().await;
    let old = pooled_pids(&pool, 3).await;
    terminate(&admin, &old).await;
    // Longer than the idle time after which a connection is pinged before use.
    tokio::time::sleep(pool.config().health_check_after + Duration::from_millis(100)).await;

    for i in 0..6 {
        let conn = pool.get().await.unwrap_or_else(|e| panic!("call {i}: {e}"));
        let pid: i32 = conn
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap_or_else(|e| panic!("call {i} got a dead connection: {e}"))
            .get(0);
        assert!(!old.contains(&pid), "call {i} reused terminated backend {pid}");
    }
}

#[tokio::test]
async fn a_backend_terminated_mid_call_fails_retryably_and_retry_recovers() {
    let db = lightrag_pg_test_support::test_database().await;
    let pool = db.pool().await;
    let admin = db.pool().await;
    let conn = pool.get().await.unwrap();
    let pid: i32 = conn.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    terminate(&admin, &[pid]).await;
    let err =
        conn.query_one("SELECT 1", &[]).await.map_err(lightrag_pg_pool::db_error).expect_err("its backend is gone");
    assert!(err.is_retryable(), "{err:?}");
    drop(conn);

    let mut attempts = 0;
    let value = pool
        .retry("read", || {
            attempts += 1;
            one_call(&pool)
        })
        .await
        .expect("the pool replaces the connection");
    assert_eq!(value, 1);
    assert_eq!(attempts, 1, "the broken connection was not handed out again");
}
