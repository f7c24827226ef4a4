//! The Rust writer of the mixed-writers scenario, against the server: what it
//! adds, updates and deletes is visible in every store it keeps consistent.

use lightrag_pg::{KvNamespace, Storages, VectorNamespace};
use lightrag_pg_core::ids::{entity_id, relation_chunks_key, relation_id};
use lightrag_pg_core::{Properties, testkit::unique_workspace};
use lightrag_pg_interop_tests::edit::{EditPlan, apply};
use serde_json::json;

async fn storages(prefix: &str, graph: &str) -> Storages {
    let db = lightrag_pg_test_support::test_database().await;
    let pool = db.pool().await;
    let ws = unique_workspace(prefix);
    lightrag_pg::StoragesBuilder::new()
        .pool(pool)
        .workspace(ws.as_str())
        .graph(if graph == "table" { lightrag_pg::GraphEngine::Table } else { lightrag_pg::GraphEngine::Age })
        .embedding_dim(16)
        .model_name("interop-edit-test")
        .build()
        .await
        .expect("storages open")
}

/// Removes every record of the workspace and its AGE graph, if any.
async fn teardown(s: &Storages) {
    s.drop_workspace().await.unwrap();
    let pool = s.pool().expect("a PostgreSQL pool").clone();
    lightrag_pg_graph::AgeGraphStorage::new(pool, s.workspace().clone()).unwrap().drop_graph().await.unwrap();
}

/// A small graph as Python's pipeline would leave it: Acme—Berlin—Siemens.
async fn seed(s: &Storages) {
    let g = s.graph().unwrap();
    for n in ["Acme", "Berlin", "Siemens"] {
        g.upsert_node(
            n,
            Properties::new().with("entity_id", n).with("description", "seed").with("source_id", "chunk-1"),
        )
        .await
        .unwrap();
    }
    g.upsert_edge("Acme", "Berlin", Properties::new().with("weight", 1.0)).await.unwrap();
    g.upsert_edge("Berlin", "Siemens", Properties::new().with("weight", 1.0)).await.unwrap();
    let ec = s.kv(KvNamespace::EntityChunks).unwrap();
    let rec = |ids: serde_json::Value| match json!({"chunk_ids": ids, "count": 1}) {
        serde_json::Value::Object(m) => m,
        _ => unreachable!(),
    };
    ec.upsert(vec![("Acme".into(), rec(json!(["chunk-1"]))), ("Siemens".into(), rec(json!(["chunk-2"])))])
        .await
        .unwrap();
    let rc = s.kv(KvNamespace::RelationChunks).unwrap();
    rc.upsert(vec![(relation_chunks_key("Berlin", "Siemens"), rec(json!(["chunk-2"])))]).await.unwrap();
}

async fn edit_adds_updates_and_deletes(graph: &str) {
    let s = storages("iop_edit", graph).await;
    seed(&s).await;
    let plan = EditPlan {
        add: vec!["Zephyr".into()],
        link: vec![("Zephyr".into(), "Acme".into())],
        update: vec!["Berlin".into()],
        delete: vec!["Siemens".into()],
        unlink: vec![("Acme".into(), "Berlin".into())],
    };
    apply(&s, &plan).await.expect("edit applies");

    let g = s.graph().unwrap();
    assert_eq!(g.get_all_labels().await.unwrap(), vec!["Acme", "Berlin", "Zephyr"]);
    assert!(g.has_edge("Acme", "Zephyr").await.unwrap());
    assert!(!g.has_edge("Acme", "Berlin").await.unwrap());
    let berlin = g.get_node("Berlin").await.unwrap().unwrap();
    assert_eq!(berlin.description(), Some("Berlin was updated by the Rust writer."));
    assert_eq!(berlin.source_id(), Some("chunk-1"), "an update merges: other fields survive");
    let zephyr = g.get_node("Zephyr").await.unwrap().unwrap();
    assert_eq!(zephyr.source_id(), Some("chunk-1"), "attributed to the linked entity's chunk");

    let ents = s.vector(VectorNamespace::Entities).unwrap();
    let got = ents.get_by_ids(&[entity_id("Zephyr"), entity_id("Siemens"), entity_id("Berlin")]).await.unwrap();
    assert!(got[0].is_some() && got[1].is_none() && got[2].is_some());
    let rels = s.vector(VectorNamespace::Relationships).unwrap();
    let got = rels.get_by_ids(&[relation_id("Acme", "Zephyr")]).await.unwrap();
    assert!(got[0].is_some());
    let ec = s.kv(KvNamespace::EntityChunks).unwrap();
    assert!(ec.get_by_id("Siemens").await.unwrap().is_none());
    assert!(ec.get_by_id("Zephyr").await.unwrap().is_some());
    let rc = s.kv(KvNamespace::RelationChunks).unwrap();
    assert!(rc.get_by_id(&relation_chunks_key("Berlin", "Siemens")).await.unwrap().is_none());
    assert!(rc.get_by_id(&relation_chunks_key("Acme", "Zephyr")).await.unwrap().is_some());

    teardown(&s).await;
}

#[tokio::test]
async fn edit_adds_updates_and_deletes_on_age() {
    edit_adds_updates_and_deletes("age").await;
}

#[tokio::test]
async fn edit_adds_updates_and_deletes_on_tables() {
    edit_adds_updates_and_deletes("table").await;
}

#[tokio::test]
async fn updating_a_missing_entity_is_an_error() {
    let s = storages("iop_edit_missing", "table").await;
    let plan = EditPlan { update: vec!["Nobody".into()], ..Default::default() };
    let err = apply(&s, &plan).await.unwrap_err().to_string();
    assert!(err.contains("Nobody"), "{err}");
    teardown(&s).await;
}
