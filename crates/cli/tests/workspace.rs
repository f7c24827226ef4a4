//! `lightrag-pg workspace list|copy|drop` in a database of their own: a copy
//! shows up in the list with its source's rows, dropping needs `--yes`, a
//! dropped workspace is gone from the list while its source stays, and its AGE
//! graph goes with it (reported) while another workspace's stays; a role that
//! may not drop the graph is told which, and the workspace stays whole.

mod common;

use lightrag_pg::graph::{GraphEngine, PgGraphStorage, names::age_graph_name};
use lightrag_pg::kv::PgKvStorage;
use lightrag_pg::pool::PgPool;
use lightrag_pg::{KvNamespace, KvStorage, Properties, Storage, Workspace};
use lightrag_pg_core::testkit::unique_workspace;
use lightrag_pg_test_support::fresh::FreshDb;
use lightrag_pg_test_support::init_scripts::AppRoleDb;
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

/// `n` documents of `ws` in the full-docs KV table.
async fn full_docs(pool: &PgPool, ws: &Workspace, n: usize) {
    let kv = PgKvStorage::new(pool.clone(), KvNamespace::FullDocs, ws.clone()).unwrap();
    kv.initialize().await.unwrap();
    let docs =
        (1..=n).map(|i| (format!("doc-{i}"), obj(json!({"content": format!("text {i}"), "file_path": "a.txt"}))));
    kv.upsert(docs.collect()).await.unwrap();
}

#[tokio::test]
async fn a_copied_workspace_is_listed_with_its_rows_and_dropping_it_with_yes_removes_only_it() {
    let db = FreshDb::create("cli_ws").await;
    let config = db.config();
    let (from, to) = (unique_workspace("src"), unique_workspace("dst"));
    full_docs(&db.pool(2).await, &from, 2).await;

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
        String::from_utf8_lossy(&dropped.stdout).contains(": 2 rows, no AGE graph"),
        "{}",
        String::from_utf8_lossy(&dropped.stdout)
    );
    assert_eq!(listed(&config)["workspaces"], json!([entry(from.as_str())]));
}

/// An AGE graph of `ws` with one node, through the graph storage.
async fn graph_with_a_node(pool: &PgPool, ws: &Workspace) {
    let graph = PgGraphStorage::new(pool.clone(), ws.clone(), GraphEngine::Age).unwrap().into_dyn();
    graph.initialize().await.unwrap();
    graph.upsert_node("Alice", Properties(obj(json!({"entity_id": "Alice", "entity_type": "person"})))).await.unwrap();
}

#[tokio::test]
async fn dropping_a_workspace_drops_its_age_graph_and_reports_it_in_json_leaving_another_graph() {
    let db = FreshDb::create("cli_ws_graph").await;
    let config = db.config();
    let (ws, other) = (unique_workspace("gone"), unique_workspace("kept"));
    {
        let pool = db.pool(2).await;
        graph_with_a_node(&pool, &ws).await;
        graph_with_a_node(&pool, &other).await;
    }
    let (graph, other_graph) = (age_graph_name(&ws), age_graph_name(&other));
    let graphs = || listed(&config)["age_graphs"].clone();
    let mut both = vec![graph.clone(), other_graph.clone()];
    both.sort();
    assert_eq!(graphs(), json!(both));

    let dropped = run(&config, &["workspace", "drop", ws.as_str(), "--yes", "--json"]);
    assert!(dropped.status.success(), "workspace drop: {}", String::from_utf8_lossy(&dropped.stderr));
    let report: Value = serde_json::from_slice(&dropped.stdout).expect("JSON report");
    // The graph's one node lives in its label tables, not in a LightRAG table.
    assert_eq!(report, json!({"workspace": ws.as_str(), "rows": 0, "age_graph": graph}));
    assert_eq!(graphs(), json!([other_graph]));
}

#[tokio::test]
async fn a_role_that_may_not_drop_the_age_graph_is_told_which_graph_and_the_workspace_stays_whole() {
    let target = AppRoleDb::create("cli_ws_priv").await;
    let ws = unique_workspace("priv");
    {
        let pool = target.db.pool(2).await;
        full_docs(&pool, &ws, 1).await;
        graph_with_a_node(&pool, &ws).await;
    }
    let graph = age_graph_name(&ws);

    let refused = run(&target.app_config(2), &["workspace", "drop", ws.as_str(), "--yes"]);

    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot drop AGE graph '{graph}'")), "{stderr}");
    let list = listed(&target.db.config());
    assert_eq!(list["workspaces"], json!([{"workspace": ws.as_str(), "rows": 1}]));
    assert_eq!(list["age_graphs"], json!([graph]));
}
