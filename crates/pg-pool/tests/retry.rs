//! What `PgPool::retry` replays and what it returns at once, with real server
//! errors (raised by the server with their SQLSTATE) and a real refused
//! connection.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use lightrag_pg_core::Error;
use lightrag_pg_pool::retry::LOCK_CONFLICT_ATTEMPTS;
use lightrag_pg_pool::{PgConfig, PgPool, RetryPolicy, db_error};

fn quick(mut c: PgConfig, attempts: u32) -> PgConfig {
    c.retry = RetryPolicy { attempts, backoff: Duration::from_millis(20), backoff_max: Duration::from_millis(40) };
    c
}

async fn pool(attempts: u32) -> PgPool {
    let db = lightrag_pg_test_support::test_database().await;
    PgPool::connect(quick(db.config(), attempts)).await.expect("pool")
}

/// Runs `sql` under `retry`, failing the first `fail_first` attempts with a
/// server error of `sqlstate`; returns (result, attempts).
async fn raise(pool: &PgPool, sqlstate: &str, fail_first: u32) -> (Result<(), Error>, u32) {
    let attempts = AtomicU32::new(0);
    let result = pool
        .retry("raise", || async {
            let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
            let conn = pool.get().await?;
            if n <= fail_first {
                let sql = format!("DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '{sqlstate}'; END $$");
                conn.batch_execute(&sql).await.map_err(db_error)?;
            }
            Ok(())
        })
        .await;
    (result, attempts.load(Ordering::SeqCst))
}

#[tokio::test]
async fn serialization_failures_and_deadlocks_are_replayed() {
    let pool = pool(5).await;
    for code in ["40001", "40P01"] {
        let (result, attempts) = raise(&pool, code, 2).await;
        result.unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(attempts, 3, "{code}: two failures, then success");
    }
}

#[tokio::test]
async fn admin_shutdown_and_cannot_connect_now_are_replayed() {
    let pool = pool(5).await;
    for code in ["57P01", "57P03"] {
        let (result, attempts) = raise(&pool, code, 1).await;
        result.unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(attempts, 2, "{code}");
    }
}

#[tokio::test]
async fn a_statement_timeout_is_not_retried() {
    let db = lightrag_pg_test_support::test_database().await;
    let mut config = quick(db.config(), 5);
    config.statement_timeout = Some(Duration::from_millis(50));
    let pool = PgPool::connect(config).await.unwrap();
    let attempts = AtomicU32::new(0);
    let err = pool
        .retry("slow read", || async {
            attempts.fetch_add(1, Ordering::SeqCst);
            let conn = pool.get().await?;
            conn.batch_execute("SELECT pg_sleep(2)").await.map_err(db_error)
        })
        .await
        .expect_err("the statement time-out fires");
    assert_eq!(err.sqlstate(), Some("57014"), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "a statement time-out is returned, not replayed");
}

#[tokio::test]
async fn a_constraint_violation_is_not_retried() {
    let pool = pool(5).await;
    let (result, attempts) = raise(&pool, "23505", 10).await;
    assert_eq!(result.unwrap_err().sqlstate(), Some("23505"));
    assert_eq!(attempts, 1);
}

#[tokio::test]
async fn retries_stop_after_the_configured_attempts_with_the_last_error() {
    let pool = pool(3).await;
    let (result, attempts) = raise(&pool, "57P01", 100).await;
    assert_eq!(result.unwrap_err().sqlstate(), Some("57P01"));
    assert_eq!(attempts, 3);
}

#[tokio::test]
async fn lock_conflicts_stop_after_their_own_bounded_attempts_with_the_last_error() {
    let pool = pool(3).await;
    let (result, attempts) = raise(&pool, "40001", 100).await;
    assert_eq!(result.unwrap_err().sqlstate(), Some("40001"));
    assert_eq!(attempts, LOCK_CONFLICT_ATTEMPTS, "lock conflicts are counted apart from connection losses");
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_refused_connection_is_retried_with_backoff_and_reported_with_its_cause() {
    let config = PgConfig::builder()
        .host("127.0.0.1")
        .port(closed_port())
        .pool_timeout(Duration::from_secs(30))
        .retry(RetryPolicy {
            attempts: 4,
            backoff: Duration::from_millis(100),
            backoff_max: Duration::from_millis(200),
        })
        .build();
    let started = Instant::now();
    let err = PgPool::connect(config).await.expect_err("nothing listens there");
    let elapsed = started.elapsed();
    assert!(matches!(err, Error::Connection { retryable: true, .. }), "{err:?}");
    assert!(err.to_string().to_lowercase().contains("refused"), "the cause is named: {err}");
    // Three waits of at least 50, 100 and 100 ms; far below the 30 s pool time-out.
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}: retries waited");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}: a refused connection is reported at once");
}

#[tokio::test]
async fn a_wrong_password_fails_at_once_without_retries() {
    let db = lightrag_pg_test_support::test_database().await;
    let mut config = db.config();
    config.password = Some("definitely-not-the-password".into());
    config.retry = RetryPolicy { attempts: 10, backoff: Duration::from_secs(3), backoff_max: Duration::from_secs(30) };
    let started = Instant::now();
    let err = PgPool::connect(config).await.expect_err("wrong password");
    assert_eq!(err.sqlstate(), Some("28P01"), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "no retry for a wrong password: {:?}", started.elapsed());
}
