//! The statement cache, on and off (`POSTGRES_STATEMENT_CACHE_SIZE=0`, the
//! setting for PgBouncer in transaction mode).

use lightrag_pg_pool::PgPool;

async fn pool(prepared: bool) -> PgPool {
    let db = lightrag_pg_test_support::test_database().await;
    let mut config = db.config();
    config.prepared_statements = prepared;
    config.max_connections = 1;
    PgPool::connect(config).await.expect("pool")
}

const SQL: &str = "SELECT $1::int4 * 2";

/// Named statements the server holds for this session.
async fn server_statements(conn: &lightrag_pg_pool::PgConn) -> i64 {
    conn.query_one("SELECT count(*) FROM pg_prepared_statements WHERE statement = $1", &[&SQL]).await.unwrap().get(0)
}

#[tokio::test]
async fn with_the_cache_on_a_statement_is_prepared_once_per_connection() {
    let pool = pool(true).await;
    let conn = pool.get().await.unwrap();
    assert!(conn.uses_named_statements());
    let a = conn.prepare_cached(SQL).await.unwrap();
    let b = conn.prepare_cached(SQL).await.unwrap();
    assert_eq!(server_statements(&conn).await, 1, "the second call reuses the first statement");
    assert_eq!(conn.query_one(&a, &[&21i32]).await.unwrap().get::<_, i32>(0), 42);
    drop((a, b));
    assert_eq!(server_statements(&conn).await, 1, "kept for the next call");
    assert_eq!(conn.cached_statements(), 1);
}

#[tokio::test]
async fn with_the_cache_off_no_named_statement_outlives_its_call() {
    let pool = pool(false).await;
    let mut conn = pool.get().await.unwrap();
    assert!(!conn.uses_named_statements());
    {
        let tx = conn.transaction().await.unwrap();
        tx.execute("SELECT 1", &[]).await.unwrap();
        tx.commit().await.unwrap();
    }
    for n in [1i32, 2] {
        let stmt = conn.prepare_cached(SQL).await.unwrap();
        assert_eq!(conn.query_one(&stmt, &[&n]).await.unwrap().get::<_, i32>(0), n * 2);
    }
    let a = conn.prepare_cached(SQL).await.unwrap();
    let b = conn.prepare_cached(SQL).await.unwrap();
    assert_eq!(server_statements(&conn).await, 2, "nothing is reused");
    drop((a, b));
    assert_eq!(conn.cached_statements(), 0);
    assert_eq!(server_statements(&conn).await, 0, "every statement was closed when its handle dropped");
    let tx = conn.transaction().await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(server_statements(&conn).await, 0, "nothing carried into the next transaction");
}

#[tokio::test]
async fn query_typed_runs_on_the_unnamed_statement() {
    let pool = pool(false).await;
    let conn = pool.get().await.unwrap();
    let rows = conn.query_typed(SQL, &[(&5i32, lightrag_pg_pool::tokio_postgres::types::Type::INT4)]).await.unwrap();
    assert_eq!(rows[0].get::<_, i32>(0), 10);
    assert_eq!(server_statements(&conn).await, 0);
}
