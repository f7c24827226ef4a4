//! Read routing ([`Pools`]) against a real streaming replica: a primary and a
//! `pg_basebackup -R` standby of this test's own, from the sandbox root
//! (`LIGHTRAG_PG_SANDBOX_ROOT`; without it the tests FAIL).

#![allow(clippy::print_stdout)] // the fallback test prints what it measured

use std::time::{Duration, Instant};

use lightrag_pg_core::{KvNamespace, VectorNamespace};
use lightrag_pg_pool::ddl::{self, VectorColumn};
use lightrag_pg_pool::routing::HostStatus;
use lightrag_pg_pool::{PgConfig, PgPool, Pools, RetryPolicy, Route, db_error, doctor, schema};
use lightrag_pg_test_support::replica::{streaming_pair, until_replayed};
use lightrag_pg_test_support::server::{PgServer, StopMode};

/// A primary and its streaming standby, the standby caught up.
async fn pair(prefix: &str) -> (PgServer, PgServer) {
    streaming_pair(prefix, |_| async {}).await
}

/// The primary's settings with the standby as read host; a quick connect, and
/// the default (slow) back-off of lost connections, which a reroute must not wait for.
fn config(primary: &PgServer, standby: &PgServer, max_lag: Duration) -> PgConfig {
    let mut c = primary.config();
    c.read_hosts = vec![("127.0.0.1".to_owned(), standby.port())];
    c.read_max_lag = max_lag;
    c.max_connections = 4;
    c.connect_timeout = Duration::from_secs(2);
    c.retry = RetryPolicy { attempts: 4, backoff: Duration::from_secs(3), backoff_max: Duration::from_secs(3) };
    c
}

/// Whether the read ran on a standby (`pg_is_in_recovery()` on the connection
/// it used), and the route the router named.
async fn where_read(pools: &Pools) -> (Route, bool) {
    pools
        .read("where", |route, pool| async move {
            let conn = pool.get().await?;
            let row = conn.query_one("SELECT pg_is_in_recovery()", &[]).await.map_err(db_error)?;
            Ok((route, row.get::<_, bool>(0)))
        })
        .await
        .expect("read")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_run_on_the_standby_and_writes_on_the_primary() {
    let (primary, standby) = pair("route-basic").await;
    let pools = Pools::connect(config(&primary, &standby, Duration::from_secs(5))).await.expect("pools");
    for _ in 0..5 {
        assert_eq!(where_read(&pools).await, (Route::Standby, true), "a read lands on the standby");
    }
    let conn = pools.write().get().await.expect("write connection");
    let on_standby: bool = conn.query_one("SELECT pg_is_in_recovery()", &[]).await.expect("query").get(0);
    assert!(!on_standby, "the write pool is the primary");
    let stats = pools.stats();
    assert_eq!((stats.standby, stats.primary, stats.rerouted), (5, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_read_hosts_reads_stay_on_the_primary() {
    let (primary, standby) = pair("route-none").await;
    let mut c = config(&primary, &standby, Duration::from_secs(5));
    c.read_hosts.clear();
    let pools = Pools::connect(c).await.expect("pools");
    assert_eq!(where_read(&pools).await, (Route::Primary, false));
    assert!(pools.read_pool().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_standby_sends_reads_to_the_primary_at_once_within_the_retry_policy() {
    let (primary, standby) = pair("route-stop").await;
    let pools = Pools::connect(config(&primary, &standby, Duration::from_secs(5))).await.expect("pools");
    assert_eq!(where_read(&pools).await, (Route::Standby, true));

    standby.stop(StopMode::Fast);
    let stopped = Instant::now();
    let after = where_read(&pools).await;
    let fallback = stopped.elapsed();
    assert_eq!(after, (Route::Primary, false), "the read after the stop ran on the primary");
    assert_eq!(pools.stats().rerouted, 1, "one read failed on the standby and was replayed on the primary");
    // The lost-connection back-off of this policy is 1.5–3 s: the reroute
    // does not wait for it.
    assert!(fallback < Duration::from_millis(1000), "fallback took {fallback:?}");
    println!("fallback to the primary: the first read after the standby stopped returned in {fallback:?}");
    assert_eq!(where_read(&pools).await, (Route::Primary, false), "later reads go straight to the primary");
    assert_eq!(pools.stats().rerouted, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_that_returns_is_read_from_again_after_a_check() {
    let (primary, standby) = pair("route-back").await;
    let pools = Pools::connect(config(&primary, &standby, Duration::from_secs(5))).await.expect("pools");
    standby.stop(StopMode::Fast);
    assert_eq!(where_read(&pools).await, (Route::Primary, false));
    standby.start();
    assert!(pools.check().await, "the check finds the standby fit again");
    assert_eq!(where_read(&pools).await, (Route::Standby, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_quiet_spell_reads_go_to_the_primary_until_a_new_check_finished() {
    let (primary, standby) = pair("route-quiet").await;
    // A check is gone by for 2 × 1 s + the 100 ms bound.
    let pools = Pools::connect(config(&primary, &standby, Duration::from_millis(100))).await.expect("pools");
    assert_eq!(pools.route(), Route::Standby);
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(pools.route(), Route::Primary, "the last check is too old to go by");
    let deadline = Instant::now() + Duration::from_secs(10);
    while pools.route() != Route::Standby {
        assert!(Instant::now() < deadline, "the check the read started never finished");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_lagging_past_the_bound_is_not_read_from() {
    let (primary, standby) = pair("route-lag").await;
    let pools = Pools::connect(config(&primary, &standby, Duration::from_millis(300))).await.expect("pools");
    assert_eq!(pools.route(), Route::Standby);
    standby.psql("SELECT pg_wal_replay_pause()");
    primary.psql("CREATE TABLE lag_probe(id int); INSERT INTO lag_probe VALUES (1)");
    assert!(!pools.check().await, "a paused standby is lagging");
    assert_eq!(where_read(&pools).await, (Route::Primary, false));
    let host = &pools.replication().hosts[0];
    assert_eq!(host.role.as_deref(), Some("standby"));
    assert!(host.error.as_deref().is_some_and(|e| e.contains("lagging")), "{host:?}");
    assert!(host.behind_bytes.is_some_and(|b| b > 0.0), "{host:?}");

    standby.psql("SELECT pg_wal_replay_resume()");
    until_replayed(&primary, &standby).await;
    assert!(pools.check().await, "caught up again");
    assert_eq!(where_read(&pools).await, (Route::Standby, true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_write_the_same_unit_of_work_reads_the_primary_not_a_standby_behind_it() {
    let (primary, standby) = pair("route-ryw").await;
    // A generous lag bound: the standby stays in use while its replay is paused.
    let pools = Pools::connect(config(&primary, &standby, Duration::from_secs(3600))).await.expect("pools");
    primary.psql("CREATE TABLE ryw(id int PRIMARY KEY)");
    until_replayed(&primary, &standby).await;
    standby.psql("SELECT pg_wal_replay_pause()");

    let conn = pools.write().get().await.expect("write");
    conn.execute("INSERT INTO ryw VALUES (7)", &[]).await.expect("insert");
    drop(conn);
    let count = |pools: Pools| async move {
        pools
            .read("count", |route, pool| async move {
                let conn = pool.get().await?;
                let n: i64 = conn.query_one("SELECT count(*) FROM ryw", &[]).await.map_err(db_error)?.get(0);
                Ok((route, n))
            })
            .await
            .expect("read")
    };
    assert_eq!(count(pools.clone()).await, (Route::Standby, 0), "the standby has not replayed the insert");
    assert_eq!(count(pools.after_write()).await, (Route::Primary, 1), "after its write, the unit reads the primary");
    standby.psql("SELECT pg_wal_replay_resume()");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_reports_each_hosts_role_and_the_standbys_replay_lag() {
    let (primary, standby) = pair("route-doctor").await;
    let pool = PgPool::connect(config(&primary, &standby, Duration::from_secs(5))).await.expect("pool");
    let report = doctor(&pool).await;
    let roles: Vec<(&str, Option<&str>, bool)> =
        report.hosts.iter().map(|h: &HostStatus| (h.pool.as_str(), h.role.as_deref(), h.readable)).collect();
    assert_eq!(roles, [("write", Some("primary"), true), ("read", Some("standby"), true)]);
    let lag = report.hosts[1].replay_lag_ms.expect("a measured lag");
    assert!((0.0..5000.0).contains(&lag), "{lag}");
    assert!(!report.has_warning("read_host_unfit"));

    standby.stop(StopMode::Fast);
    let report = doctor(&pool).await;
    assert_eq!(report.hosts[1].role, None, "a stopped standby is unreachable");
    assert!(report.has_warning("read_host_unfit"));
}

/// Every table the DDL generator makes (vector tables for the guide's example
/// model, `bge-m3` at 1024 dimensions): the statements.
fn every_table() -> Vec<String> {
    let mut out = vec!["CREATE EXTENSION IF NOT EXISTS vector".to_owned()];
    for ns in KvNamespace::ALL {
        out.extend(ddl::kv_table(ns));
    }
    out.extend(ddl::doc_status_table());
    for ns in VectorNamespace::ALL {
        let table = ddl::vector_table_name(ns, Some("bge-m3"), 1024).expect("name");
        out.extend(ddl::vector_table(ns, &table, VectorColumn::Vector, 1024).expect("vector table"));
    }
    out.extend(ddl::graph_tables());
    out.extend(ddl::workspace_grants_table());
    out
}

/// The ```sql blocks of a Markdown text.
fn sql_blocks(markdown: &str) -> Vec<String> {
    markdown.split("```sql\n").skip(1).map(|rest| rest.split("```").next().unwrap_or_default().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sql_block_of_the_scale_out_guide_runs_here_unless_it_needs_citus() {
    let (primary, standby) = pair("route-doc").await;
    let pool = PgPool::connect(primary.config()).await.expect("pool");
    let statements = every_table();
    schema::ensure(&pool, "scale-out guide", &[], &statements).await.expect("every table");
    let mut tables: Vec<String> = statements
        .iter()
        .filter_map(|s| s.strip_prefix("CREATE TABLE IF NOT EXISTS "))
        .map(|rest| rest.split_whitespace().next().unwrap_or_default().trim_matches('"').to_owned())
        .collect();
    tables.push(schema::MIGRATIONS_TABLE.to_owned());
    until_replayed(&primary, &standby).await;

    let guide = include_str!("../../../docs/scale-out.md");
    let (mut ran, mut citus) = (0, String::new());
    for block in sql_blocks(guide) {
        let marker = block.lines().next().unwrap_or_default().trim();
        let out = match marker {
            "-- primary" => primary.psql(&block),
            "-- standby" => standby.psql(&block),
            "-- not run here (needs Citus)" => {
                citus.push_str(&block);
                continue;
            }
            other => panic!("a SQL block of the guide says neither where it runs nor that it needs Citus: {other}"),
        };
        if block.contains("-- no rows") {
            assert!(out.trim().is_empty(), "{block} returned rows:\n{out}");
        }
        ran += 1;
    }
    assert!(ran >= 4, "{ran} blocks ran");
    for table in &tables {
        assert!(
            citus.contains(&format!("_table('{table}'")),
            "the Citus statements leave out {table}, which the DDL generator creates"
        );
    }
}
