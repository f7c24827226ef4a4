//! `lightrag-pg backup` then `lightrag-pg restore` into an empty database gives
//! the same query results in all four stores, the AGE graph included.

mod common;

use lightrag_pg::docstatus::PgDocStatusStorage;
use lightrag_pg::graph::{GraphEngine, PgGraphStorage};
use lightrag_pg::kv::PgKvStorage;
use lightrag_pg::pool::{PgConfig, PgPool};
use lightrag_pg::vector::{PgVectorConfig, PgVectorStorage};
use lightrag_pg::{
    DocProcessingStatus, DocStatus, DocStatusStorage, GraphStorage, KvNamespace, KvStorage, Properties, Storage,
    VectorNamespace, VectorQuery, VectorRecord, VectorStorage, Workspace,
};
use serde_json::{Map, Value, json};

const MODEL: &str = "bkp";
const DIM: usize = 4;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

fn cli_output(config: &PgConfig, ws: &str, args: &[&str]) -> std::process::Output {
    common::cli(config, ws).args(args).output().expect("run lightrag-pg")
}

fn run_cli(config: &PgConfig, ws: &str, args: &[&str]) -> Value {
    let out = cli_output(config, ws, args);
    assert!(out.status.success(), "lightrag-pg {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON summary")
}

struct Stores {
    kv: PgKvStorage,
    docs: PgDocStatusStorage,
    vec: PgVectorStorage,
    graph: std::sync::Arc<dyn GraphStorage>,
}

async fn stores(pool: &PgPool, ws: &Workspace, engine: GraphEngine) -> Stores {
    let kv = PgKvStorage::new(pool.clone(), KvNamespace::TextChunks, ws.clone()).unwrap();
    kv.initialize().await.unwrap();
    let docs = PgDocStatusStorage::new(pool.clone(), ws.clone()).unwrap();
    docs.initialize().await.unwrap();
    let cfg = PgVectorConfig::from_pool_config(VectorNamespace::Chunks, DIM, Some(MODEL), pool.config()).unwrap();
    let vec = PgVectorStorage::new(pool.clone(), ws.clone(), cfg).unwrap();
    vec.initialize().await.unwrap();
    let graph = PgGraphStorage::new(pool.clone(), ws.clone(), engine).unwrap().into_dyn();
    graph.initialize().await.unwrap();
    Stores { kv, docs, vec, graph }
}

/// Everything the round trip must preserve, as comparable JSON.
async fn observe(s: &Stores) -> Value {
    let ids: Vec<String> = (0..5).map(|i| format!("chunk-{i}")).collect();
    let kv = s.kv.get_by_ids(&ids).await.unwrap();
    let counts = s.docs.status_counts().await.unwrap();
    let mut listed = s.docs.get_docs_by_statuses(&[DocStatus::Processed, DocStatus::Failed]).await.unwrap();
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    let hits = s.vec.query(&VectorQuery::by_vector(vec![1.0, 0.5, 0.0, 0.0], 3).with_threshold(-1.0)).await.unwrap();
    let hits: Vec<Value> = hits.iter().map(|h| json!([h.id, (h.distance * 1e6).round()])).collect();
    let vectors = s.vec.get_vectors_by_ids(&ids).await.unwrap();
    let mut vectors: Vec<_> = vectors.into_iter().collect();
    vectors.sort_by(|a, b| a.0.cmp(&b.0));
    let kg = s.graph.get_knowledge_graph("*", 3, 100).await.unwrap();
    let mut nodes: Vec<String> = kg.nodes.iter().map(|n| serde_json::to_string(n).unwrap()).collect();
    nodes.sort();
    let mut edges: Vec<String> = kg.edges.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
    edges.sort();
    let labels = s.graph.get_all_labels().await.unwrap();
    let mut degrees: Vec<_> = s.graph.node_degrees_batch(&labels).await.unwrap().into_iter().collect();
    degrees.sort();
    json!({
        "kv": kv, "counts": serde_json::to_value(counts).unwrap(),
        "listed": serde_json::to_value(listed).unwrap(), "hits": hits, "vectors": vectors,
        "nodes": nodes, "edges": edges, "labels": labels, "degrees": degrees,
    })
}

#[tokio::test]
async fn backup_then_restore_into_an_empty_database_gives_identical_query_results() {
    round_trip(GraphEngine::Age).await;
}

#[tokio::test]
async fn backup_then_restore_of_a_table_engine_graph_gives_identical_query_results() {
    round_trip(GraphEngine::Table).await;
}

async fn round_trip(engine: GraphEngine) {
    let db = lightrag_pg_test_support::test_database().await;
    let pool = db.pool().await;
    let ws = lightrag_pg_core::testkit::unique_workspace("bkp");
    let ws_name = ws.as_str().to_owned();
    let src = stores(&pool, &ws, engine).await;

    src.kv
        .upsert((0..4).map(|i| (format!("chunk-{i}"), obj(json!({"content": format!("text {i}"), "tokens": i, "full_doc_id": "doc-1", "chunk_order_index": i, "file_path": "a.txt"})))).collect())
        .await
        .unwrap();
    let mut failed = DocProcessingStatus::new(DocStatus::Failed, "bad", 3, "b.txt");
    failed.error_msg = Some("boom".into());
    src.docs
        .upsert(vec![
            ("doc-1".into(), DocProcessingStatus::new(DocStatus::Processed, "hello", 5, "a.txt")),
            ("doc-2".into(), failed),
        ])
        .await
        .unwrap();
    src.vec
        .upsert(
            (0..4)
                .map(|i| VectorRecord {
                    id: format!("chunk-{i}"),
                    vector: vec![1.0, i as f32 * 0.3, 0.1, 0.2],
                    payload: obj(json!({"content": format!("text {i}"), "full_doc_id": "doc-1", "file_path": "a.txt"})),
                })
                .collect(),
        )
        .await
        .unwrap();
    let node = |n: &str| {
        (
            n.to_owned(),
            Properties(obj(
                json!({"entity_id": n, "entity_type": "person", "description": format!("about {n}"), "source_id": "chunk-0"}),
            )),
        )
    };
    src.graph.upsert_nodes_batch(vec![node("Alice"), node("Bob"), node("Carol")]).await.unwrap();
    let edge = |a: &str, b: &str, w: f64| {
        (
            a.to_owned(),
            b.to_owned(),
            Properties(obj(json!({"weight": w, "description": "knows", "keywords": "k", "source_id": "chunk-1"}))),
        )
    };
    src.graph.upsert_edges_batch(vec![edge("Alice", "Bob", 1.0), edge("Bob", "Carol", 2.5)]).await.unwrap();
    let before = observe(&src).await;

    let dir = std::env::temp_dir().join(format!("lightrag-pg-backup-{ws_name}.jsonl.gz"));
    let file = dir.to_str().unwrap();
    let summary = run_cli(&db.config(), &ws_name, &["backup", "--to", file]);
    if matches!(engine, GraphEngine::Age) {
        assert_eq!(summary["nodes"], json!(3));
        assert_eq!(summary["edges"], json!(2));
    } else {
        assert_eq!(summary["rows"]["lightrag_graph_nodes"], json!(3));
        assert_eq!(summary["rows"]["lightrag_graph_edges"], json!(2));
    }

    let target = format!("lightrag_restore_{}", ws_name.to_lowercase());
    let admin = pool.get().await.unwrap();
    admin.batch_execute(&format!("CREATE DATABASE \"{target}\"")).await.unwrap();
    let mut tcfg = db.config();
    tcfg.database = target.clone();
    let result = async {
        run_cli(&tcfg, &ws_name, &["restore", "--from", file]);
        let tpool = PgPool::connect(tcfg.clone()).await.unwrap();
        let dst = stores(&tpool, &ws, engine).await;
        let after = observe(&dst).await;
        drop(dst);
        drop(tpool);
        after
    }
    .await;
    std::fs::remove_file(&dir).ok();
    admin.batch_execute(&format!("DROP DATABASE \"{target}\" WITH (FORCE)")).await.unwrap();
    src.kv.drop_all().await.unwrap();
    src.docs.drop_all().await.unwrap();
    src.vec.drop_all().await.unwrap();
    src.graph.drop_all().await.unwrap();
    assert_eq!(result, before);
}

#[tokio::test]
async fn backup_file_is_self_describing_json_lines_and_restore_refuses_a_workspace_with_data() {
    let db = lightrag_pg_test_support::test_database().await;
    let pool = db.pool().await;
    let ws = lightrag_pg_core::testkit::unique_workspace("bkp");
    let kv = PgKvStorage::new(pool.clone(), KvNamespace::FullDocs, ws.clone()).unwrap();
    kv.initialize().await.unwrap();
    kv.upsert(vec![("doc-1".into(), obj(json!({"content": "hello", "file_path": "a.txt"})))]).await.unwrap();
    let path = std::env::temp_dir().join(format!("lightrag-pg-backup-{}.jsonl", ws.as_str()));
    let file = path.to_str().unwrap();
    run_cli(&db.config(), ws.as_str(), &["backup", "--to", file]);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["format"], json!("lightrag-pg-backup"));
    assert_eq!(lines[0]["workspace"], json!(ws.as_str()));
    assert_eq!(lines[0]["tables"], json!(["lightrag_doc_full"]));
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["table"], json!("lightrag_doc_full"));
    assert_eq!(lines[1]["row"]["id"], json!("doc-1"));

    let again = cli_output(&db.config(), ws.as_str(), &["restore", "--from", file]);
    std::fs::remove_file(&path).ok();
    kv.drop_all().await.unwrap();
    assert!(!again.status.success(), "restoring over existing data must fail");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already has rows"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}
