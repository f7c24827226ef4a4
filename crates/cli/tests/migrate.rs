//! `lightrag-pg migrate`: `--dry-run` reads and checks a working directory and
//! leaves the database untouched (no rows, no tables, no AGE graph); an
//! unusable embedding is named with its reason; a new workspace's vector stores
//! are loaded in bulk, a loaded one's incrementally, and `--json` alone is on
//! stdout.

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

/// A chunk whose model returned zeros (nano-vectordb's matrix row is NaN, the
/// raw `vector` zero) is named with its reason in both reports and not written.
#[tokio::test]
async fn migrate_names_an_unusable_embedding_with_its_reason_in_the_human_and_json_reports() {
    let db = lightrag_pg_test_support::test_database().await;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("unusable-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let zeros = lightrag_pg_files::nano::encode_vector(&[0.0, 0.0]);
    let vdb = serde_json::json!({
        "embedding_dim": 2,
        "data": [
            {"__id__": "chunk-good", "__created_at__": 1, "content": "good"},
            {"__id__": "chunk-zero", "__created_at__": 1, "content": "zero", "vector": zeros}
        ],
        // float32 [1, 0] and [NaN, NaN]
        "matrix": "AACAPwAAAAAAAMB/AADAfw=="
    });
    std::fs::write(dir.join("vdb_chunks.json"), serde_json::to_vec(&vdb).unwrap()).expect("write");
    let from = dir.to_str().expect("utf-8 path");
    let run = |json: bool| {
        let mut c = common::cli(&db.config(), "cli_unusable");
        c.args(["migrate", "--from", from, "--dry-run"]);
        if json {
            c.arg("--json");
        }
        let out = c.output().expect("run lightrag-pg");
        assert!(out.status.success(), "migrate failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let human = run(false);
    assert!(human.contains("vectors.chunks chunk-zero (zero_vector) the row's vector is all zeros"), "{human}");
    let report: serde_json::Value = serde_json::from_str(&run(true)).expect("JSON report");
    assert_eq!(report["skipped"][0]["id"], "chunk-zero");
    assert_eq!(report["skipped"][0]["reason"], "zero_vector");
    assert_eq!(report["vectors"]["chunks"], 1);
    std::fs::remove_dir_all(&dir).ok();
}

/// Into a workspace without vectors, `migrate` loads every vector store in bulk
/// (the batch size of the other stores does not matter) and says so in
/// `--json`, which is the only thing on stdout; a second run into the loaded
/// workspace goes incremental with the reason.
#[tokio::test]
async fn migrate_loads_the_vector_stores_of_a_new_workspace_in_bulk_and_a_loaded_one_incrementally() {
    let db = lightrag_pg_test_support::fresh::FreshDb::create("cli_bulk").await;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("generated-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    lightrag_pg_files::synthetic::Synthetic::new(3_000, 32).write(&dir).expect("generated directory");
    let run = || {
        let out = common::cli(&db.config(), "cli_bulk")
            .args(["migrate", "--from", dir.to_str().expect("utf-8 path"), "--json"])
            .output()
            .expect("run lightrag-pg");
        assert!(out.status.success(), "migrate failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("stdout is the JSON report alone")
    };

    let first = run();
    let second = run();

    assert_eq!(first["verification"]["ok"], true, "{}", first["verification"]);
    assert_eq!(first["vectors"]["chunks"], 3_000);
    for store in ["chunks", "entities", "relationships"] {
        assert_eq!(first["vector_load"][store]["method"], "bulk", "{store}: {}", first["vector_load"]);
        assert_eq!(second["vector_load"][store]["method"], "incremental", "{store}: {}", second["vector_load"]);
        let reason = second["vector_load"][store]["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("already has rows"), "{store}: {reason}");
    }
    assert_eq!(second["verification"]["ok"], true, "{}", second["verification"]);
    std::fs::remove_dir_all(&dir).ok();
}
