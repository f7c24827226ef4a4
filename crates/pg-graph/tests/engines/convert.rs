//! Converting a workspace's graph between engines is lossless both ways.

use lightrag_pg_core::{GraphStorage, Properties, testkit};
use lightrag_pg_graph::{GraphEngine, convert};
use serde_json::json;

use crate::support::{open_in, pool};

async fn seed(g: &dyn GraphStorage) {
    let nodes = (0..300)
        .map(|i| {
            let id = format!("entity {i} '\"$$ 实体 🙂");
            let p = Properties::new()
                .with("entity_type", if i % 2 == 0 { "person" } else { "organization" })
                .with("description", format!("line\n{i} \\ }} {{"))
                .with("source_id", "chunk-a<SEP>chunk-b")
                .with("created_at", 1_700_000_000 + i)
                .with("score", i as f64 / 3.0)
                .with("flag", i % 3 == 0)
                .with("tags", json!(["a", 1, 2.5, {"nested": [true, null]}]));
            (id, p)
        })
        .collect();
    g.upsert_nodes_batch(nodes).await.unwrap();
    let edges = (0..600)
        .map(|i| {
            let a = format!("entity {} '\"$$ 实体 🙂", i % 300);
            let b = format!("entity {} '\"$$ 实体 🙂", (i * 7 + 1) % 300);
            (a, b, Properties::new().with("weight", 0.1 * i as f64).with("keywords", "k").with("created_at", i))
        })
        .collect();
    g.upsert_edges_batch(edges).await.unwrap();
    g.upsert_edge("entity 0 '\"$$ 实体 🙂", "entity 0 '\"$$ 实体 🙂", Properties::new().with("self", true))
        .await
        .unwrap();
}

async fn assert_same(a: &dyn GraphStorage, b: &dyn GraphStorage) {
    let (na, nb) = (a.get_all_nodes().await.unwrap(), b.get_all_nodes().await.unwrap());
    assert_eq!(na.len(), 300);
    assert_eq!(na.len(), nb.len(), "node counts differ");
    for (x, y) in na.iter().zip(&nb) {
        assert_eq!(x, y, "node differs");
    }
    let (ea, eb) = (a.get_all_edges().await.unwrap(), b.get_all_edges().await.unwrap());
    assert!(ea.len() > 300);
    assert_eq!(ea.len(), eb.len(), "edge counts differ");
    for (x, y) in ea.iter().zip(&eb) {
        assert_eq!(x, y, "edge differs");
    }
}

#[tokio::test]
async fn age_to_table_and_back_keeps_every_node_and_edge_property() {
    let pool = pool(6).await;
    let age = open_in(pool.clone(), GraphEngine::Age, testkit::unique_workspace("gconv")).await;
    let table = open_in(pool.clone(), GraphEngine::Table, testkit::unique_workspace("gconv")).await;
    let back = open_in(pool, GraphEngine::Age, testkit::unique_workspace("gconv")).await;
    seed(age.storage()).await;

    let r = convert(age.storage(), table.storage()).await.unwrap();
    assert_eq!(r.nodes, 300);
    assert_same(age.storage(), table.storage()).await;

    let r2 = convert(table.storage(), back.storage()).await.unwrap();
    assert_eq!(r2, r);
    assert_same(table.storage(), back.storage()).await;
    let hub = "entity 0 '\"$$ 实体 🙂";
    assert_eq!(back.storage().node_degree(hub).await.unwrap(), age.storage().node_degree(hub).await.unwrap());
    for o in [age, table, back] {
        o.cleanup().await;
    }
}

#[tokio::test]
async fn table_to_age_keeps_every_node_and_edge_property() {
    let pool = pool(4).await;
    let table = open_in(pool.clone(), GraphEngine::Table, testkit::unique_workspace("gconv")).await;
    let age = open_in(pool, GraphEngine::Age, testkit::unique_workspace("gconv")).await;
    seed(table.storage()).await;
    convert(table.storage(), age.storage()).await.unwrap();
    assert_same(table.storage(), age.storage()).await;
    let kg_t = table.storage().get_knowledge_graph("*", 3, 50).await.unwrap();
    let kg_a = age.storage().get_knowledge_graph("*", 3, 50).await.unwrap();
    assert_eq!(
        kg_t.nodes.iter().map(|n| &n.id).collect::<Vec<_>>(),
        kg_a.nodes.iter().map(|n| &n.id).collect::<Vec<_>>()
    );
    for o in [table, age] {
        o.cleanup().await;
    }
}
