//! `lightrag-pg migrate --dry-run` reads and checks a working directory and
//! leaves the database untouched: no rows, no tables, no AGE graph.

mod common;

use lightrag_pg::pool::PgPool;

#[tokio::test]
async fn migrate_dry_run_counts_everything_and_writes_no_row_table_or_graph() {
    let db = lightrag_pg_test_support::test_database().await;
    let config = db.config();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").subsec_nanos();
    let ws = format!("cli_dry_{}_{nanos}", std::process::id());
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo-kb");
    let out = common::cli(&config, &ws)
        .args(["migrate", "--from", demo, "--graph", "age", "--dry-run", "--json"])
        .output()
        .expect("run lightrag-pg");
    assert!(out.status.success(), "migrate --dry-run failed: {}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["dry_run"], true);
    assert!(report["full_docs"].as_u64().unwrap_or(0) > 0, "nothing was read: {report}");
    assert!(report["graph"]["nodes"].as_u64().unwrap_or(0) > 0, "no graph was read: {report}");

    let pool = PgPool::connect(config).await.expect("pool");
    let conn = pool.get().await.expect("connection");
    let graph: bool = conn
        .query_one(
            // The AGE graph would be the schema `<ws>_chunk_entity_relation`.
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname LIKE $1) \
             OR EXISTS (SELECT 1 FROM pg_class WHERE relname LIKE $1)",
            &[&format!("{ws}%")],
        )
        .await
        .expect("catalog")
        .get(0);
    assert!(!graph, "the dry run created a graph schema or a table for {ws}");
    for table in ["lightrag_doc_full", "lightrag_doc_status", "lightrag_graph_nodes"] {
        let exists: bool = conn.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table]).await.unwrap().get(0);
        if exists {
            let rows: i64 = conn
                .query_one(&format!("SELECT count(*) FROM {table} WHERE workspace = $1"), &[&ws])
                .await
                .unwrap()
                .get(0);
            assert_eq!(rows, 0, "the dry run wrote {rows} rows into {table}");
        }
    }
}
