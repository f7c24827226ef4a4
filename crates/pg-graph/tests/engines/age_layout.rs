//! The AGE engine keeps LightRAG's physical layout: graph name, labels,
//! indexes, one edge per pair, properties that survive a plain-SQL read.

use lightrag_pg_core::{Error, Properties, Storage, Workspace, testkit};
use lightrag_pg_graph::{AgeGraphStorage, Agtype, GraphEngine};
use serde_json::{Value, json};

use crate::support::{open, open_in, pool};

/// Every property map stored in a label table, read with plain SQL.
async fn stored_rows(g: &AgeGraphStorage, table: &str) -> Vec<Value> {
    let conn = g.pool().get().await.unwrap();
    conn.ensure_age().await.unwrap();
    let sql = format!(
        "SELECT ag_catalog.agtype_out(properties)::text FROM {}.{} ORDER BY id",
        lightrag_pg_pool::ident::quote_ident(g.graph_name()).unwrap(),
        lightrag_pg_pool::ident::quote_ident(table).unwrap()
    );
    conn.query(&sql, &[])
        .await
        .unwrap()
        .into_iter()
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)).unwrap())
        .collect()
}

#[tokio::test]
async fn a_workspace_with_capitals_and_dashes_gets_lightrags_graph_name_and_works() {
    let n: u32 = rand::random();
    let ws = Workspace::new(format!("Team-A.{n:08x}")).unwrap();
    let o = open_in(pool(4).await, GraphEngine::Age, ws).await;
    assert_eq!(o.age().graph_name(), format!("Team_A_{n:08x}_chunk_entity_relation"));
    o.storage().upsert_edge("X", "Y", Properties::new().with("weight", 1.0)).await.unwrap();
    assert_eq!(o.storage().node_degree("X").await.unwrap(), 1);
    let conn = o.pool.get().await.unwrap();
    let labels: Vec<String> = conn
        .query(
            "SELECT l.name::text FROM ag_catalog.ag_label l JOIN ag_catalog.ag_graph g ON l.graph = g.graphid \
             WHERE g.name = $1::text::name ORDER BY 1",
            &[&o.age().graph_name()],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(labels, ["DIRECTED", "_ag_label_edge", "_ag_label_vertex", "base"]);
    drop(conn);
    o.cleanup().await;
}

/// Whether AGE holds a graph of exactly that name.
async fn graph_exists(pool: &lightrag_pg_pool::PgPool, name: &str) -> bool {
    let conn = pool.get().await.unwrap();
    conn.query_opt("SELECT 1 FROM ag_catalog.ag_graph WHERE name::text = $1", &[&name]).await.unwrap().is_some()
}

/// LightRAG 1.5.7 derives `<ws>_chunk_entity_relation` and PostgreSQL stores the
/// first 63 bytes (a Python run with a 70-character workspace created the graph
/// `l` × 63); the same graph opens here, shared by workspaces that agree on
/// those bytes, as in Python.
#[tokio::test]
async fn a_long_workspace_opens_lightrags_graph_cut_at_63_bytes() {
    let n: u32 = rand::random();
    let ws = Workspace::new(format!("long_{n:08x}_{}", "l".repeat(60))).unwrap();
    let o = open_in(pool(4).await, GraphEngine::Age, ws.clone()).await;
    let expected = format!("long_{n:08x}_{}", "l".repeat(49));
    assert_eq!(o.age().graph_name(), expected);
    assert!(graph_exists(&o.pool, &expected).await, "AGE holds the graph {expected}");
    o.storage().upsert_node("X", Properties::new().with("description", "long")).await.unwrap();
    let other = Workspace::new(format!("{ws}-other")).unwrap();
    let twin = open_in(o.pool.clone(), GraphEngine::Age, other).await;
    assert_eq!(twin.age().graph_name(), expected);
    assert!(twin.storage().has_node("X").await.unwrap(), "both workspaces open LightRAG's one graph");
    o.cleanup().await;
}

/// LightRAG 1.5.7 names a digit-led workspace's graph `1…_chunk_entity_relation`
/// and fails its start-up on AGE 1.5 ("graph name is invalid"): the name is the
/// same here, and `initialize` says why the graph cannot be created.
#[tokio::test]
async fn a_digit_led_workspace_gets_lightrags_graph_name_and_initialize_explains_that_age_cannot_create_it() {
    let pool = pool(1).await;
    let n: u32 = rand::random();
    let g = AgeGraphStorage::new(pool.clone(), Workspace::new(format!("1team_{n:08x}")).unwrap()).unwrap();
    assert_eq!(g.graph_name(), format!("1team_{n:08x}_chunk_entity_relation"));
    let e = g.initialize().await.unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e}");
    assert!(e.to_string().contains("digit") && e.to_string().contains(g.graph_name()), "{e}");
    assert!(!graph_exists(&pool, g.graph_name()).await);
}

#[tokio::test]
async fn initialize_creates_lightrags_indexes_and_is_idempotent() {
    let o = open(GraphEngine::Age, "gidx").await;
    o.storage().initialize().await.unwrap();
    let conn = o.pool.get().await.unwrap();
    let names: Vec<String> = conn
        .query(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = $1::text::name ORDER BY 1",
            &[&o.age().graph_name()],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    for expected in [
        "directed_eid_idx",
        "directed_p_idx",
        "directed_seid_idx",
        "directed_sid_idx",
        "edge_eid_idx",
        "edge_seid_idx",
        "edge_sid_idx",
        "entity_idx_node_id",
        "entity_node_id_gin_idx",
        "entity_p_idx",
        "vertex_idx_node_id",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
    drop(conn);
    o.cleanup().await;
}

#[tokio::test]
async fn entity_lookups_use_the_entity_id_index() {
    let o = open(GraphEngine::Age, "gplan").await;
    let nodes = (0..3000).map(|i| (format!("entity {i}"), Properties::new().with("description", "d"))).collect();
    o.storage().upsert_nodes_batch(nodes).await.unwrap();
    let conn = o.pool.get().await.unwrap();
    let table = format!("{}.base", lightrag_pg_pool::ident::quote_ident(o.age().graph_name()).unwrap());
    conn.batch_execute(&format!("ANALYZE {table}")).await.unwrap();
    drop(conn);
    let plan = o.age().explain_node_lookup(&["entity 7".into(), "entity 42".into()]).await.unwrap();
    assert!(plan.contains("entity_idx_node_id"), "{plan}");
    o.cleanup().await;
}

#[tokio::test]
async fn node_and_edge_properties_are_stored_exactly_as_written() {
    let o = open(GraphEngine::Age, "gstore").await;
    let g = o.storage();
    let node = Properties::new()
        .with("entity_type", "person")
        .with("description", "line 1\nline \"2\" 'q' $$ \\ 🙂")
        .with("created_at", 1_700_000_000)
        .with("score", 0.1 + 0.2)
        .with("flag", true);
    g.upsert_node("A", node.clone()).await.unwrap();
    let edge = Properties::new()
        .with("weight", 2.5)
        .with("description", "knows")
        .with("keywords", "k1,k2")
        .with("source_id", "chunk-1<SEP>chunk-2")
        .with("created_at", 1_700_000_001);
    g.upsert_edge("A", "B", edge.clone()).await.unwrap();

    let mut expected_node = node.clone();
    expected_node.insert("entity_id".into(), json!("A"));
    let vertices = stored_rows(o.age(), "base").await;
    assert_eq!(vertices, vec![Value::Object(expected_node.0.clone()), json!({"entity_id": "B"})]);
    assert_eq!(stored_rows(o.age(), "DIRECTED").await, vec![Value::Object(edge.0.clone())]);
    assert_eq!(g.get_node("A").await.unwrap(), Some(expected_node));
    assert_eq!(g.get_edge("B", "A").await.unwrap(), Some(edge));
    o.cleanup().await;
}

#[tokio::test]
async fn an_edge_is_stored_once_in_the_direction_of_its_last_write() {
    let o = open(GraphEngine::Age, "gdir").await;
    let g = o.storage();
    g.upsert_edge("A", "B", Properties::new().with("w", 1)).await.unwrap();
    g.upsert_edge("B", "A", Properties::new().with("w", 2)).await.unwrap();
    let conn = o.pool.get().await.unwrap();
    conn.ensure_age().await.unwrap();
    let gq = lightrag_pg_pool::ident::quote_ident(o.age().graph_name()).unwrap();
    let eid =
        "ag_catalog.agtype_access_operator(VARIADIC ARRAY[x.properties, '\"entity_id\"'::ag_catalog.agtype])::text";
    let rows = conn
        .query(
            &format!(
                "SELECT {eid}, {eidy}, ag_catalog.agtype_out(d.properties)::text FROM {gq}.\"DIRECTED\" d \
                 JOIN {gq}.base x ON x.id = d.start_id JOIN {gq}.base y ON y.id = d.end_id",
                eidy = eid.replace("x.properties", "y.properties")
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].get::<_, String>(0), rows[0].get::<_, String>(1)), ("B".into(), "A".into()));
    assert_eq!(rows[0].get::<_, String>(2), r#"{"w": 2}"#);
    drop(conn);
    o.cleanup().await;
}

#[tokio::test]
async fn drop_all_empties_the_graph_and_keeps_it_usable() {
    let o = open(GraphEngine::Age, "gdrop").await;
    o.storage().upsert_edge("A", "B", Properties::new()).await.unwrap();
    o.storage().drop_all().await.unwrap();
    assert!(o.storage().get_all_labels().await.unwrap().is_empty());
    assert!(stored_rows(o.age(), "base").await.is_empty());
    o.storage().upsert_node("C", Properties::new()).await.unwrap();
    assert_eq!(o.storage().get_all_labels().await.unwrap(), ["C"]);
    o.cleanup().await;
}

#[tokio::test]
async fn agtype_parameters_bind_to_cypher_without_formatting_values() {
    let o = open(GraphEngine::Age, "gparam").await;
    let hostile = "x\"}) DETACH DELETE n //'$$";
    o.storage().upsert_node(hostile, Properties::new().with("description", "kept")).await.unwrap();
    let conn = o.pool.get().await.unwrap();
    conn.ensure_age().await.unwrap();
    let sql = format!(
        "SELECT * FROM ag_catalog.cypher({}, $$ MATCH (n:base {{entity_id: $id}}) RETURN n.description $$, $1) AS (d ag_catalog.agtype)",
        "'".to_owned() + o.age().graph_name() + "'"
    );
    let param = Agtype(json!({ "id": hostile }).to_string());
    let rows = conn.query(&sql, &[&param]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, Agtype>(0).to_json().unwrap(), json!("kept"));
    drop(conn);
    assert!(o.storage().has_node(hostile).await.unwrap());
    o.cleanup().await;
}

#[tokio::test]
async fn age_and_table_graphs_of_one_workspace_are_separate() {
    let ws = testkit::unique_workspace("gsep");
    let pool = pool(4).await;
    let age = open_in(pool.clone(), GraphEngine::Age, ws.clone()).await;
    let table = open_in(pool, GraphEngine::Table, ws).await;
    age.storage().upsert_node("only-in-age", Properties::new()).await.unwrap();
    assert!(!table.storage().has_node("only-in-age").await.unwrap());
    age.cleanup().await;
    table.cleanup().await;
}

#[tokio::test]
async fn the_age_engine_leaves_the_sessions_search_path_alone() {
    // One connection, so the check sees the session every call used.
    let o = open_in(pool(1).await, GraphEngine::Age, testkit::unique_workspace("gpath")).await;
    let conn = o.pool.get().await.unwrap();
    let before: String = conn.query_one("SELECT current_setting('search_path')", &[]).await.unwrap().get(0);
    drop(conn);
    let g = o.storage();
    g.upsert_edge("A", "B", Properties::new().with("w", 1)).await.unwrap();
    assert_eq!(g.get_knowledge_graph("A", 2, 10).await.unwrap().nodes.len(), 2);
    g.remove_nodes(&["A".into()]).await.unwrap();
    let conn = o.pool.get().await.unwrap();
    let after: String = conn.query_one("SELECT current_setting('search_path')", &[]).await.unwrap().get(0);
    assert_eq!(after, before);
    assert!(!after.contains("ag_catalog"), "{after}");
    drop(conn);
    o.cleanup().await;
}
