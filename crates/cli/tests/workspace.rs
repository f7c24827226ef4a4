//! `lightrag-pg workspace list|copy|drop` in a database of their own: a copy
//! shows up in the list with its source's rows, dropping needs `--yes`, and a
//! dropped workspace is gone from the list while its source stays.

mod common;

use lightrag_pg::kv::PgKvStorage;
use lightrag_pg::{KvNamespace, KvStorage, Storage};
use lightrag_pg_core::testkit::unique_workspace;
use lightrag_pg_test_support::fresh::FreshDb;
use lightrag_pg_test_support::obj;
use serde_json::{Value, json};

fn run(config: &lightrag_pg::pool::PgConfig, args: &[&str]) -> std::process::Output {
    common::cli(config, "default").args(args).output().expect("run lightrag-pg")
}

fn listed(config: &lightrag_pg::pool::PgConfig) -> Value {
    let out = run(config, &["workspace", "list", "--json"]);
    assert!(out.status.success(), "workspace list: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON list")
}

#[tokio::test]
async fn a_copied_workspace_is_listed_with_its_rows_and_dropping_it_with_yes_removes_only_it() {
    let db = FreshDb::create("cli_ws").await;
    let config = db.config();
    let (from, to) = (unique_workspace("src"), unique_workspace("dst"));
    {
        let pool = db.pool(2).await;
        let kv = PgKvStorage::new(pool, KvNamespace::FullDocs, from.clone()).unwrap();
        kv.initialize().await.unwrap();
        kv.upsert(vec![
            ("doc-1".into(), obj(json!({"content": "one", "file_path": "a.txt"}))),
            ("doc-2".into(), obj(json!({"content": "two", "file_path": "b.txt"}))),
        ])
        .await
        .unwrap();
    }

    let copy = run(&config, &["workspace", "copy", from.as_str(), to.as_str()]);
    assert!(copy.status.success(), "workspace copy: {}", String::from_utf8_lossy(&copy.stderr));
    let entry = |ws: &str| json!({"workspace": ws, "rows": 2});
    let mut expected = vec![entry(from.as_str()), entry(to.as_str())];
    expected.sort_by_key(|e| e["workspace"].as_str().unwrap_or_default().to_owned());
    assert_eq!(listed(&config)["workspaces"], json!(expected));

    let refused = run(&config, &["workspace", "drop", to.as_str()]);
    assert!(!refused.status.success(), "drop without --yes must fail");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"), "{}", String::from_utf8_lossy(&refused.stderr));

    let dropped = run(&config, &["workspace", "drop", to.as_str(), "--yes"]);
    assert!(dropped.status.success(), "workspace drop: {}", String::from_utf8_lossy(&dropped.stderr));
    assert!(
        String::from_utf8_lossy(&dropped.stdout).contains(": 2 rows"),
        "{}",
        String::from_utf8_lossy(&dropped.stdout)
    );
    assert_eq!(listed(&config)["workspaces"], json!([entry(from.as_str())]));
}
