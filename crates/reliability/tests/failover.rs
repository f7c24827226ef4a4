//! Failover on throwaway servers of this test's own: a primary and a streaming
//! standby with synchronous replication (`pg_basebackup -R`,
//! `synchronous_standby_names`), both from the sandbox root, on two loopback
//! ports. The pool lists both hosts with `target_session_attrs=read-write`.
//!
//! pg-pool has no separate read-only routing (no read pool); what it has is
//! libpq's `target_session_attrs`, so the read side is tested as
//! `read-only` / `prefer-standby` pools that land on the standby.

#![allow(clippy::print_stdout)] // the tests print what they measured

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::server::{PgServer, pool_config, start_server, start_standby};
use lightrag_pg_core::{Error, JsonObject, KvNamespace, KvStorage, Storage, Workspace};
use lightrag_pg_kv::PgKvStorage;
use lightrag_pg_pool::{PgConfig, PgPool, RetryPolicy, TargetSessionAttrs};
use lightrag_pg_test_support::server::StopMode;
use serde_json::json;

/// Writes resume within this time of the primary's death.
const RESUME_WITHIN: Duration = Duration::from_secs(10);

fn both_hosts(primary: &PgServer, standby: &PgServer, attrs: TargetSessionAttrs) -> PgConfig {
    let mut c = pool_config(primary);
    c.hosts = vec![("127.0.0.1".to_owned(), primary.port()), ("127.0.0.1".to_owned(), standby.port())];
    c.target_session_attrs = attrs;
    c.max_connections = 4;
    c.connect_timeout = Duration::from_secs(1);
    c.pool_timeout = Duration::from_secs(3);
    c.retry = RetryPolicy { attempts: 2, backoff: Duration::from_millis(50), backoff_max: Duration::from_millis(100) };
    c
}

fn record(n: u64) -> JsonObject {
    json!({"content": format!("write {n}")}).as_object().expect("object").clone()
}

async fn until_sync_standby(primary: &PgServer) {
    let client = primary.client().await.expect("primary");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sync: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_replication WHERE application_name = 'standby1' AND sync_state = 'sync' \
                 AND state = 'streaming'",
                &[],
            )
            .await
            .expect("pg_stat_replication")
            .get(0);
        if sync == 1 {
            return;
        }
        assert!(Instant::now() < deadline, "the standby never became a synchronous standby");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The port of the server a pooled connection is on, and whether it is a standby.
async fn where_am_i(pool: &PgPool) -> (i32, bool) {
    let conn = pool.get().await.expect("connection");
    let row = conn.query_one("SELECT inet_server_port(), pg_is_in_recovery()", &[]).await.expect("query");
    (row.get(0), row.get(1))
}

/// One acknowledged write: its number and when the call returned.
type Acked = Arc<Mutex<Vec<(u64, Instant)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_to_a_promoted_sync_standby_resumes_writes_within_10_s_and_loses_no_acknowledged_write() {
    let primary = Arc::new(start_server("rel-failover-primary"));
    let standby = Arc::new(start_standby(&primary, "rel-failover-standby", "standby1"));
    primary.psql("ALTER SYSTEM SET synchronous_standby_names = 'standby1'");
    primary.psql("SELECT pg_reload_conf()");
    until_sync_standby(&primary).await;

    let writer_pool =
        PgPool::connect(both_hosts(&primary, &standby, TargetSessionAttrs::ReadWrite)).await.expect("pool");
    assert_eq!(where_am_i(&writer_pool).await, (i32::from(primary.port()), false), "read-write lands on the primary");
    let ws = Workspace::new("failover").expect("workspace");
    let kv = Arc::new(PgKvStorage::new(writer_pool.clone(), KvNamespace::FullDocs, ws.clone()).expect("kv"));
    kv.initialize().await.expect("initialize");

    let acked: Acked = Arc::default();
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (kv, acked, failures, stop) = (kv.clone(), acked.clone(), failures.clone(), stop.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match tokio::time::timeout(Duration::from_secs(15), kv.upsert(vec![(format!("w-{n:06}"), record(n))]))
                    .await
                {
                    Ok(Ok(())) => acked.lock().expect("acked").push((n, Instant::now())),
                    Ok(Err(e)) => {
                        assert!(e.is_retryable(), "write {n} failed with a non-retryable error: {e:?}");
                        failures.lock().expect("failures").push(e.to_string());
                    }
                    Err(_) => panic!("write {n} hung for 15 s"),
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before_kill = acked.lock().expect("acked").len();
    assert!(before_kill >= 5, "only {before_kill} writes before the kill");

    let p = primary.clone();
    tokio::task::spawn_blocking(move || p.stop(StopMode::Immediate)).await.expect("kill");
    let killed_at = Instant::now();
    let s = standby.clone();
    tokio::task::spawn_blocking(move || s.promote()).await.expect("promote");
    let promoted_at = Instant::now();

    let deadline = Instant::now() + Duration::from_secs(30);
    let resumed_at = loop {
        if let Some((_, t)) = acked.lock().expect("acked").iter().find(|(_, t)| *t > killed_at) {
            break *t;
        }
        assert!(Instant::now() < deadline, "no write succeeded within 30 s of the kill");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.expect("writer");

    let from_kill = resumed_at - killed_at;
    let failed = failures.lock().expect("failures").len();
    println!(
        "failover: writes resumed {} ms after the primary was killed (`pg_ctl promote -w` returned {} ms after \
         the kill); {failed} writes failed retryably in between",
        from_kill.as_millis(),
        (promoted_at - killed_at).as_millis(),
    );
    assert!(from_kill < RESUME_WITHIN, "writes resumed only after {from_kill:?}");
    assert_eq!(where_am_i(&writer_pool).await, (i32::from(standby.port()), false), "writes go to the new primary");

    // Every acknowledged write is on the new primary, as written.
    let acked: Vec<u64> = acked.lock().expect("acked").iter().map(|(n, _)| *n).collect();
    let ids: Vec<String> = acked.iter().map(|n| format!("w-{n:06}")).collect();
    let mut only_new = pool_config(&standby);
    only_new.max_connections = 2;
    let check =
        PgKvStorage::new(PgPool::connect(only_new).await.expect("new primary"), KvNamespace::FullDocs, ws).expect("kv");
    let found = check.get_by_ids(&ids).await.expect("read back");
    for (n, rec) in acked.iter().zip(&found) {
        let rec = rec.as_ref().unwrap_or_else(|| panic!("acknowledged write {n} was lost in the failover"));
        assert_eq!(rec["content"], format!("write {n}"));
    }
    println!("failover: all {} acknowledged writes ({before_kill} before the kill) are present", acked.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_setup_read_only_sessions_reach_the_standby_during_normal_operation() {
    let primary = start_server("rel-ro-primary");
    let standby = start_standby(&primary, "rel-ro-standby", "standby1");
    primary.psql("ALTER SYSTEM SET synchronous_standby_names = 'standby1'");
    primary.psql("SELECT pg_reload_conf()");
    until_sync_standby(&primary).await;

    let ws = Workspace::new("readonly").expect("workspace");
    let rw = PgPool::connect(both_hosts(&primary, &standby, TargetSessionAttrs::ReadWrite)).await.expect("rw pool");
    let writer = PgKvStorage::new(rw, KvNamespace::FullDocs, ws.clone()).expect("kv");
    writer.initialize().await.expect("initialize");
    writer.upsert(vec![("doc-1".into(), record(1))]).await.expect("write on the primary");

    for attrs in [TargetSessionAttrs::ReadOnly, TargetSessionAttrs::PreferStandby] {
        let ro = PgPool::connect(both_hosts(&primary, &standby, attrs)).await.expect("read-only pool");
        assert_eq!(where_am_i(&ro).await, (i32::from(standby.port()), true), "{attrs:?} lands on the standby");
        let reader = PgKvStorage::new(ro, KvNamespace::FullDocs, ws.clone()).expect("kv");
        let deadline = Instant::now() + Duration::from_secs(10);
        let rec = loop {
            if let Some(rec) = reader.get_by_id("doc-1").await.expect("read on the standby") {
                break rec;
            }
            assert!(Instant::now() < deadline, "the standby never showed the write");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(rec["content"], "write 1");
        let err = reader.upsert(vec![("doc-2".into(), record(2))]).await.expect_err("a standby refuses writes");
        assert!(matches!(&err, Error::Database { sqlstate: Some(s), .. } if s == "25006"), "{err:?}");
        assert!(!err.is_retryable());
    }
}
