//! The pool against the real server (`cargo xtask pg up`; settings from `POSTGRES_*`).

use lightrag_pg_pool::{PgConfig, PgPool, schema};

async fn pool() -> PgPool {
    let config = PgConfig::from_env().expect("POSTGRES_* settings");
    PgPool::connect(config)
        .await
        .unwrap_or_else(|e| panic!("no database ({e}); run `cargo xtask pg up` and export its settings"))
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
async fn ensure_applies_a_part_once_and_records_it() {
    let pool = pool().await;
    let name = format!("test_part_{:x}", rand_suffix());
    let table = format!("lightrag_pg_test_{:x}", rand_suffix());
    let stmts = vec![format!("CREATE TABLE IF NOT EXISTS {table} (x int)")];
    schema::ensure(&pool, &name, &stmts).await.unwrap();
    schema::ensure(&pool, &name, &stmts).await.unwrap();
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

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    nanos ^ (std::process::id() as u64) << 32
}
