//! The pool against the shared test server: session settings, statements,
//! several hosts with `target_session_attrs`, and the schema version table.

use std::time::Duration;

use lightrag_pg_pool::{AgeSessionInit, PgConfig, PgPool, RetryPolicy, TargetSessionAttrs, schema};

async fn pool() -> PgPool {
    lightrag_pg_test_support::test_database().await.pool().await
}

async fn config() -> PgConfig {
    lightrag_pg_test_support::test_database().await.config()
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn a_pooled_connection_runs_a_prepared_statement_twice() {
    let pool = pool().await;
    let conn = pool.get().await.unwrap();
    for n in [1i32, 2] {
        let stmt = conn.prepare_cached("SELECT $1::int4 + 1").await.unwrap();
        let row = conn.query_one(&stmt, &[&n]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), n + 1);
    }
}

#[tokio::test]
async fn sessions_have_jit_off_and_the_lightrag_application_name() {
    let pool = pool().await;
    let conn = pool.get().await.unwrap();
    let row = conn.query_one("SELECT current_setting('jit'), current_setting('application_name')", &[]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "off");
    assert_eq!(row.get::<_, String>(1), "lightrag");
}

#[tokio::test]
async fn the_statement_timeout_and_server_settings_apply_to_every_session() {
    let mut c = config().await;
    c.statement_timeout = Some(Duration::from_millis(1500));
    c.server_settings = vec![("work_mem".into(), "7MB".into()), ("lock_timeout".into(), "2s".into())];
    let pool = PgPool::connect(c).await.unwrap();
    let conn = pool.get().await.unwrap();
    let row = conn
        .query_one(
            "SELECT current_setting('statement_timeout'), current_setting('work_mem'), current_setting('lock_timeout')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1), row.get::<_, String>(2)),
        ("1500ms".into(), "7MB".into(), "2s".into())
    );
}

#[tokio::test]
async fn age_session_set_up_runs_on_every_new_connection_when_always() {
    let mut c = config().await;
    c.age_session_init = AgeSessionInit::Always;
    let pool = PgPool::connect(c).await.unwrap();
    let conn = pool.get().await.unwrap();
    let path: String = conn.query_one("SHOW search_path", &[]).await.unwrap().get(0);
    assert!(path.ends_with("ag_catalog"), "{path}");
}

#[tokio::test]
async fn tables_created_after_age_set_up_do_not_land_in_ag_catalog() {
    let pool = pool().await;
    let conn = pool.get().await.unwrap();
    conn.ensure_age().await.unwrap();
    let table = format!("lightrag_pg_test_path_{}", std::process::id());
    conn.batch_execute(&format!("CREATE TABLE {table} (x int)")).await.unwrap();
    let schema: String = conn
        .query_one("SELECT relnamespace::regnamespace::text FROM pg_class WHERE relname = $1", &[&table])
        .await
        .unwrap()
        .get(0);
    conn.batch_execute(&format!("DROP TABLE {table}")).await.unwrap();
    assert_eq!(schema, "public");
}

#[tokio::test]
async fn age_session_set_up_waits_for_the_first_graph_call_when_if_needed() {
    let pool = pool().await;
    let conn = pool.get().await.unwrap();
    let before: String = conn.query_one("SHOW search_path", &[]).await.unwrap().get(0);
    assert!(!before.contains("ag_catalog"), "{before}");
    conn.ensure_age().await.unwrap();
    let after: String = conn.query_one("SHOW search_path", &[]).await.unwrap().get(0);
    assert!(after.ends_with("ag_catalog"), "{after}");
}

#[tokio::test]
async fn a_client_follows_to_the_next_host_when_the_first_is_down() {
    let mut c = config().await;
    let real = c.hosts[0].clone();
    c.hosts = vec![("127.0.0.1".into(), closed_port()), real];
    let pool = PgPool::connect(c).await.expect("the second host answers");
    pool.get().await.unwrap().simple_query("SELECT 1").await.unwrap();
}

#[tokio::test]
async fn read_write_accepts_the_primary_and_prefer_standby_falls_back_to_it() {
    for attrs in [TargetSessionAttrs::ReadWrite, TargetSessionAttrs::PreferStandby] {
        let mut c = config().await;
        c.target_session_attrs = attrs;
        let pool = PgPool::connect(c).await.unwrap_or_else(|e| panic!("{attrs:?}: {e}"));
        let in_recovery: bool =
            pool.get().await.unwrap().query_one("SELECT pg_is_in_recovery()", &[]).await.unwrap().get(0);
        assert!(!in_recovery);
    }
}

#[tokio::test]
async fn read_only_with_only_a_primary_fails_with_08004() {
    let mut c = config().await;
    c.target_session_attrs = TargetSessionAttrs::ReadOnly;
    c.retry = RetryPolicy { attempts: 1, backoff: Duration::ZERO, backoff_max: Duration::ZERO };
    let err = PgPool::connect(c).await.expect_err("no standby");
    assert_eq!(err.sqlstate(), Some("08004"), "{err:?}");
    assert!(err.to_string().contains("target_session_attrs"));
}

/// A schema part name and a table name no other test uses.
fn scratch_part() -> (String, String) {
    let suffix = lightrag_pg_test_support::suffix();
    (format!("test_part_{suffix}"), format!("lightrag_pg_test_{suffix}"))
}

#[tokio::test]
async fn ensure_applies_a_part_once_and_records_it() {
    let pool = pool().await;
    let (name, table) = scratch_part();
    let stmts = vec![format!("CREATE TABLE IF NOT EXISTS {table} (x int)")];
    schema::ensure(&pool, &name, &[&table], &stmts).await.unwrap();
    schema::ensure(&pool, &name, &[&table], &stmts).await.unwrap();
    let conn = pool.get().await.unwrap();
    let n: i64 = conn
        .query_one("SELECT count(*) FROM lightrag_pg_schema_migrations WHERE name = $1", &[&name])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    conn.batch_execute(&format!("DROP TABLE {table}")).await.unwrap();
    schema::forget(&pool, &name).await.unwrap();
}

#[tokio::test]
async fn a_part_whose_table_was_dropped_by_hand_is_applied_again() {
    let pool = pool().await;
    let (name, table) = scratch_part();
    let stmts = vec![format!("CREATE TABLE IF NOT EXISTS {table} (x int)")];
    schema::ensure(&pool, &name, &[&table], &stmts).await.unwrap();
    let conn = pool.get().await.unwrap();
    conn.batch_execute(&format!("DROP TABLE {table}")).await.unwrap();
    schema::ensure(&pool, &name, &[&table], &stmts).await.unwrap();
    let exists: bool = conn.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table]).await.unwrap().get(0);
    assert!(exists, "the recorded part was applied again because its table was gone");
    conn.batch_execute(&format!("DROP TABLE {table}")).await.unwrap();
    schema::forget(&pool, &name).await.unwrap();
}

#[tokio::test]
async fn a_changed_part_is_applied_again_and_its_checksum_updated() {
    let pool = pool().await;
    let (name, table) = scratch_part();
    let v1 = vec![format!("CREATE TABLE IF NOT EXISTS {table} (x int)")];
    let v2 = vec![v1[0].clone(), format!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS y int")];
    schema::ensure(&pool, &name, &[&table], &v1).await.unwrap();
    schema::ensure(&pool, &name, &[&table], &v2).await.unwrap();
    let conn = pool.get().await.unwrap();
    let cols: i64 = conn
        .query_one("SELECT count(*) FROM information_schema.columns WHERE table_name = $1", &[&table])
        .await
        .unwrap()
        .get(0);
    assert_eq!(cols, 2, "the second version ran");
    conn.batch_execute(&format!("DROP TABLE {table}")).await.unwrap();
    schema::forget(&pool, &name).await.unwrap();
}

#[tokio::test]
async fn a_failing_part_rolls_back_wholly_and_is_not_recorded() {
    let pool = pool().await;
    let (name, table) = scratch_part();
    let stmts = vec![format!("CREATE TABLE {table} (x int)"), "SELECT no_such_function()".to_owned()];
    let err = schema::ensure(&pool, &name, &[&table], &stmts).await.expect_err("the second statement fails");
    assert_eq!(err.sqlstate(), Some("42883"));
    let conn = pool.get().await.unwrap();
    let exists: bool = conn.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table]).await.unwrap().get(0);
    assert!(!exists, "the first statement was rolled back");
    let recorded: i64 = conn
        .query_one("SELECT count(*) FROM lightrag_pg_schema_migrations WHERE name = $1", &[&name])
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, 0);
}
