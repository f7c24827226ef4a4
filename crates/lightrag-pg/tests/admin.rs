//! `lightrag_pg::admin` against a real server, each test in a database of its
//! own (the operations span every LightRAG table): dropping a workspace drops
//! its vector partitions like `drop_all` and its AGE graph, all or nothing,
//! copying copies every store and refuses a target with data, and the look-ups
//! and reports see the workspaces.

use lightrag_pg::core::testkit::unique_workspace;
use lightrag_pg::docstatus::PgDocStatusStorage;
use lightrag_pg::graph::{GraphEngine, PgGraphStorage};
use lightrag_pg::kv::PgKvStorage;
use lightrag_pg::pool::PgPool;
use lightrag_pg::vector::{PgVectorConfig, PgVectorStorage};
use lightrag_pg::{
    DocProcessingStatus, DocStatus, DocStatusStorage, Error, GraphStorage, KvNamespace, KvStorage, Properties, Storage,
    VectorNamespace, VectorRecord, VectorStorage, Workspace, admin,
};
use lightrag_pg_test_support::fresh::FreshDb;
use lightrag_pg_test_support::init_scripts::AppRoleDb;
use lightrag_pg_test_support::obj;
use serde_json::json;

const DIM: usize = 4;
const MODEL: &str = "adm";

/// One workspace's stores: chunks in KV, doc status, partitioned chunk vectors
/// and the AGE graph.
struct Stores {
    kv: PgKvStorage,
    docs: PgDocStatusStorage,
    vec: PgVectorStorage,
    graph: std::sync::Arc<dyn GraphStorage>,
}

async fn open(pool: &PgPool, ws: &Workspace) -> Stores {
    open_with(pool, ws, true).await
}

/// [`open`], with the chunk vectors in a partitioned table or a plain one.
async fn open_with(pool: &PgPool, ws: &Workspace, partitioned: bool) -> Stores {
    let kv = PgKvStorage::new(pool.clone(), KvNamespace::TextChunks, ws.clone()).unwrap();
    kv.initialize().await.unwrap();
    let docs = PgDocStatusStorage::new(pool.clone(), ws.clone()).unwrap();
    docs.initialize().await.unwrap();
    let cfg = PgVectorConfig::from_pool_config(VectorNamespace::Chunks, DIM, Some(MODEL), pool.config())
        .unwrap()
        .with_partitioned(partitioned);
    let vec = PgVectorStorage::new(pool.clone(), ws.clone(), cfg).unwrap();
    vec.initialize().await.unwrap();
    let graph = PgGraphStorage::new(pool.clone(), ws.clone(), GraphEngine::Age).unwrap().into_dyn();
    graph.initialize().await.unwrap();
    Stores { kv, docs, vec, graph }
}

/// Writes 3 chunks, 1 document, 3 vectors, 2 nodes and 1 edge: 7 table rows.
async fn fill(s: &Stores) {
    s.kv.upsert((0..3).map(|i| (format!("chunk-{i}"), obj(json!({"content": format!("text {i}"), "tokens": i, "full_doc_id": "doc-1", "chunk_order_index": i, "file_path": "a.txt"})))).collect())
        .await
        .unwrap();
    s.docs
        .upsert(vec![("doc-1".into(), DocProcessingStatus::new(DocStatus::Processed, "hi", 2, "a.txt"))])
        .await
        .unwrap();
    let records = (0..3)
        .map(|i| VectorRecord {
            id: format!("chunk-{i}"),
            vector: vec![1.0, i as f32, 0.5, 0.25],
            payload: obj(json!({"content": format!("text {i}"), "full_doc_id": "doc-1"})),
        })
        .collect();
    s.vec.upsert(records).await.unwrap();
    let node = |n: &str| (n.to_owned(), Properties(obj(json!({"entity_id": n, "entity_type": "person"}))));
    s.graph.upsert_nodes_batch(vec![node("Alice"), node("Bob")]).await.unwrap();
    let edge = Properties(obj(json!({"weight": 1.0, "description": "knows"})));
    s.graph.upsert_edges_batch(vec![("Alice".into(), "Bob".into(), edge)]).await.unwrap();
}

const TABLE_ROWS: u64 = 7;

fn chunk_ids() -> Vec<String> {
    (0..3).map(|i| format!("chunk-{i}")).collect()
}

/// Whether AGE graph `name` is in `ag_catalog.ag_graph`, and whether its
/// schema exists.
async fn graph_and_schema(pool: &PgPool, name: &str) -> (bool, bool) {
    let conn = pool.get().await.unwrap();
    let row = conn
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM ag_catalog.ag_graph WHERE name = $1::text::name), \
                    EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1::text::name)",
            &[&name],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

fn graph_name(ws: &Workspace) -> String {
    lightrag_pg::graph::names::age_graph_name(ws)
}

#[tokio::test]
async fn dropping_a_workspace_deletes_its_rows_drops_its_vector_partition_and_drops_its_age_graph() {
    let db = FreshDb::create("admin_drop").await;
    let pool = db.pool(4).await;
    let (ws, other) = (unique_workspace("drop"), unique_workspace("keep"));
    let (s, o) = (open(&pool, &ws).await, open(&pool, &other).await);
    fill(&s).await;
    fill(&o).await;
    let partition = s.vec.partition_name().await.unwrap().expect("the workspace's partition");

    let report = admin::drop_workspace(&pool, &ws).await.unwrap();
    assert_eq!(report, admin::DropReport { rows: TABLE_ROWS, age_graph: Some(graph_name(&ws)) });

    let partitions: Vec<String> = s.vec.partitions().await.unwrap().into_iter().map(|(name, _)| name).collect();
    assert!(!partitions.contains(&partition), "{partition} is still there: {partitions:?}");
    assert_eq!(s.vec.get_by_ids(&chunk_ids()).await.unwrap(), vec![None, None, None]);
    assert_eq!(s.kv.get_by_ids(&chunk_ids()).await.unwrap(), vec![None, None, None]);
    assert_eq!(s.docs.status_counts().await.unwrap().total, 0);
    assert_eq!(graph_and_schema(&pool, &graph_name(&ws)).await, (false, false), "the graph and its schema are gone");
    // The other workspace keeps its partition, rows and graph.
    assert_eq!(graph_and_schema(&pool, &graph_name(&other)).await, (true, true));
    assert!(o.vec.partition_name().await.unwrap().is_some());
    assert!(o.vec.get_by_ids(&chunk_ids()).await.unwrap().iter().all(Option::is_some));
    assert_eq!(o.graph.get_all_labels().await.unwrap(), vec!["Alice".to_owned(), "Bob".to_owned()]);
    let list = admin::list_workspaces(&pool).await.unwrap();
    assert_eq!(list.rows.get(ws.as_str()), None);
    assert_eq!(list.rows.get(other.as_str()), Some(&TABLE_ROWS));
    assert!(!list.age_graphs.contains(&graph_name(&ws)), "{:?}", list.age_graphs);
    assert!(list.age_graphs.contains(&graph_name(&other)), "{:?}", list.age_graphs);
}

#[tokio::test]
async fn dropping_a_workspace_without_an_age_graph_reports_none() {
    let db = FreshDb::create("admin_nograph").await;
    let pool = db.pool(4).await;
    let ws = unique_workspace("nograph");
    let kv = PgKvStorage::new(pool.clone(), KvNamespace::TextChunks, ws.clone()).unwrap();
    kv.initialize().await.unwrap();
    kv.upsert(vec![("chunk-0".into(), obj(json!({"content": "text", "tokens": 1, "full_doc_id": "doc-1", "chunk_order_index": 0, "file_path": "a.txt"})))])
        .await
        .unwrap();

    let report = admin::drop_workspace(&pool, &ws).await.unwrap();

    assert_eq!(report, admin::DropReport { rows: 1, age_graph: None });
}

#[tokio::test]
async fn a_role_that_may_not_drop_the_age_graph_gets_a_graph_error_naming_it_and_nothing_is_dropped() {
    // The application role of the init scripts: it reads and writes every
    // table (and deletes rows) but owns no schema, so AGE refuses it the graph.
    let target = AppRoleDb::create("admin_priv").await;
    let admin_pool = target.db.pool(4).await;
    let app = target.app_pool(4).await;
    let ws = unique_workspace("priv");
    let s = open_with(&admin_pool, &ws, false).await;
    fill(&s).await;
    let graph = graph_name(&ws);

    let err = admin::drop_workspace(&app, &ws).await.unwrap_err();

    assert!(matches!(&err, Error::Graph { message, .. } if message.contains(&format!("'{graph}'"))), "{err:?}");
    let cause = std::error::Error::source(&err).and_then(|c| c.downcast_ref::<Error>()).expect("the server's error");
    assert_eq!(cause.sqlstate(), Some("42501"), "{cause:?}");
    // Nothing half-dropped: every row and the whole graph are still there.
    assert_eq!(graph_and_schema(&admin_pool, &graph).await, (true, true));
    assert!(s.kv.get_by_ids(&chunk_ids()).await.unwrap().iter().all(Option::is_some));
    assert!(s.vec.get_by_ids(&chunk_ids()).await.unwrap().iter().all(Option::is_some));
    assert_eq!(s.docs.status_counts().await.unwrap().total, 1);
    assert_eq!(s.graph.get_all_labels().await.unwrap(), vec!["Alice".to_owned(), "Bob".to_owned()]);
    assert_eq!(admin::list_workspaces(&admin_pool).await.unwrap().rows.get(ws.as_str()), Some(&TABLE_ROWS));
}

#[tokio::test]
async fn a_copy_has_every_store_of_its_source_and_dropping_it_leaves_the_source_whole() {
    let db = FreshDb::create("admin_copy").await;
    let pool = db.pool(4).await;
    let (from, to) = (unique_workspace("src"), unique_workspace("dst"));
    let src = open(&pool, &from).await;
    fill(&src).await;

    let report = admin::copy_workspace(&pool, &from, &to).await.unwrap();
    assert_eq!(report, admin::CopyReport { rows: TABLE_ROWS, graph_nodes: 2 });
    let dst = open(&pool, &to).await;
    assert_eq!(dst.kv.get_by_ids(&chunk_ids()).await.unwrap(), src.kv.get_by_ids(&chunk_ids()).await.unwrap());
    assert_eq!(
        dst.vec.get_vectors_by_ids(&chunk_ids()).await.unwrap(),
        src.vec.get_vectors_by_ids(&chunk_ids()).await.unwrap()
    );
    assert_eq!(dst.docs.status_counts().await.unwrap(), src.docs.status_counts().await.unwrap());
    assert_eq!(dst.graph.get_all_edges().await.unwrap(), src.graph.get_all_edges().await.unwrap());

    assert_eq!(admin::drop_workspace(&pool, &to).await.unwrap().rows, TABLE_ROWS);
    assert_eq!(dst.kv.get_by_ids(&chunk_ids()).await.unwrap(), vec![None, None, None]);
    assert_eq!(dst.vec.partition_name().await.unwrap(), None);
    assert_eq!(graph_and_schema(&pool, &graph_name(&to)).await, (false, false));
    assert!(src.vec.get_by_ids(&chunk_ids()).await.unwrap().iter().all(Option::is_some));
    assert_eq!(src.graph.get_all_labels().await.unwrap().len(), 2);
    assert_eq!(admin::list_workspaces(&pool).await.unwrap().rows.get(from.as_str()), Some(&TABLE_ROWS));
}

#[tokio::test]
async fn copying_into_a_workspace_that_has_rows_is_refused_and_copies_nothing() {
    let db = FreshDb::create("admin_busy").await;
    let pool = db.pool(4).await;
    let (from, to) = (unique_workspace("src"), unique_workspace("dst"));
    fill(&open(&pool, &from).await).await;
    let dst = open(&pool, &to).await;
    dst.docs
        .upsert(vec![("doc-9".into(), DocProcessingStatus::new(DocStatus::Failed, "x", 1, "b.txt"))])
        .await
        .unwrap();

    let err = admin::copy_workspace(&pool, &from, &to).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { input, reason } if input == to.as_str() && reason.contains("lightrag_doc_status")),
        "{err}"
    );
    assert_eq!(dst.kv.get_by_ids(&chunk_ids()).await.unwrap(), vec![None, None, None]);
    assert_eq!(admin::list_workspaces(&pool).await.unwrap().rows.get(to.as_str()), Some(&1));
}

#[tokio::test]
async fn the_vector_table_of_a_namespace_is_found_with_its_dimension_and_model_but_not_its_partitions() {
    let db = FreshDb::create("admin_find").await;
    let pool = db.pool(4).await;
    let ws = unique_workspace("find");
    fill(&open(&pool, &ws).await).await;

    let found = admin::find_vector_table(&pool, VectorNamespace::Chunks, None, &ws).await.unwrap();
    assert_eq!(
        found,
        admin::VectorTable {
            table: format!("lightrag_vdb_chunks_{MODEL}_{DIM}d"),
            namespace: VectorNamespace::Chunks,
            dimension: DIM,
            model_name: Some(MODEL.to_owned()),
        }
    );
    let none = admin::find_vector_table(&pool, VectorNamespace::Entities, None, &ws).await.unwrap_err();
    assert!(matches!(none, Error::NotFound { .. }), "{none}");
    assert_eq!(admin::ids(&pool, "LIGHTRAG_DOC_CHUNKS", &ws).await.unwrap(), chunk_ids());
    assert_eq!(admin::ids(&pool, "lightrag_no_such_table", &ws).await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn stats_count_the_rows_of_each_workspace_per_table() {
    let db = FreshDb::create("admin_stats").await;
    let pool = db.pool(4).await;
    let ws = unique_workspace("stats");
    fill(&open(&pool, &ws).await).await;

    let report = admin::stats(&pool).await.unwrap();
    let counts = report["counts"].as_array().expect("counts");
    let rows = |table: &str| {
        counts.iter().find(|c| c["table"] == json!(table) && c["workspace"] == json!(ws.as_str())).map(|c| &c["rows"])
    };
    assert_eq!(rows("lightrag_doc_chunks"), Some(&json!(3)));
    assert_eq!(rows("lightrag_doc_status"), Some(&json!(1)));
    assert_eq!(rows(&format!("lightrag_vdb_chunks_{MODEL}_{DIM}d")), Some(&json!(3)));
    for key in ["tables", "indexes", "connections", "age_labels", "top_statements"] {
        assert!(report[key].is_array(), "{key}: {report}");
    }
}
