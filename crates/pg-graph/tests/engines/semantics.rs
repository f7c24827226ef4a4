//! Contract behaviours checked on both engines, beyond the behaviour suite.

use lightrag_pg_core::{Properties, Storage, testkit};
use lightrag_pg_graph::{GraphEngine, PgGraphStorage, open_graph};
use serde_json::json;

use crate::support::{ENGINES, open, pool};

#[tokio::test]
async fn merge_replace_degrees_and_labels_agree_on_both_engines() {
    for engine in ENGINES {
        let o = open(engine, "gsem").await;
        let g = o.storage();
        g.upsert_node("A", Properties::new().with("description", "a").with("n", 1)).await.unwrap();
        g.upsert_node("A", Properties::new().with("extra", true)).await.unwrap();
        g.upsert_edge("B", "A", Properties::new().with("weight", 1.5)).await.unwrap();
        g.upsert_edge("A", "A", Properties::new().with("weight", 2.0)).await.unwrap();
        let a = g.get_node("A").await.unwrap().unwrap();
        assert_eq!(
            serde_json::Value::Object(a.0),
            json!({"entity_id": "A", "description": "a", "n": 1, "extra": true}),
            "{engine}"
        );
        assert_eq!(g.get_node("B").await.unwrap().unwrap().entity_id(), Some("B"));
        assert_eq!(g.node_degree("A").await.unwrap(), 3, "{engine}");
        assert_eq!(g.get_edge("A", "B").await.unwrap().unwrap().weight(), Some(1.5));
        assert_eq!(
            g.get_node_edges("A").await.unwrap().unwrap(),
            vec![("A".into(), "A".into()), ("A".into(), "B".into())]
        );
        let batch = g.get_nodes_edges_batch(&["A".into(), "missing".into(), "A".into()]).await.unwrap();
        assert_eq!(batch.len(), 2, "{engine}");
        assert_eq!(batch["missing"], vec![]);
        assert_eq!(g.node_degrees_batch(&["A".into(), "missing".into()]).await.unwrap()["missing"], 0);
        let kg = g.get_knowledge_graph("A", 2, 10).await.unwrap();
        assert_eq!((kg.nodes.len(), kg.edges.len(), kg.is_truncated), (2, 2, false), "{engine}");
        assert_eq!(g.get_popular_labels(10).await.unwrap(), vec!["A", "B"]);
        assert_eq!(g.search_labels(" a ", 10).await.unwrap(), vec!["A"]);
        g.delete_node("A").await.unwrap();
        assert_eq!(g.node_degree("B").await.unwrap(), 0);
        assert_eq!(g.get_all_labels().await.unwrap(), vec!["B"]);
        o.cleanup().await;
    }
}

#[tokio::test]
async fn the_engine_is_chosen_at_run_time_from_its_configured_name() {
    let pool = pool(2).await;
    for (name, engine) in [("PGGraphStorage", GraphEngine::Age), ("table", GraphEngine::Table)] {
        let engine_from_config: GraphEngine = name.parse().unwrap();
        assert_eq!(engine_from_config, engine);
        let ws = testkit::unique_workspace("gsel");
        let g = open_graph(pool.clone(), ws.clone(), engine_from_config).await.unwrap();
        g.upsert_node("n", Properties::new()).await.unwrap();
        assert!(g.has_node("n").await.unwrap());
        match PgGraphStorage::new(pool.clone(), ws, engine).unwrap() {
            PgGraphStorage::Age(a) => {
                assert_eq!(engine, GraphEngine::Age);
                a.drop_graph().await.unwrap();
            }
            PgGraphStorage::Table(t) => {
                assert_eq!(engine, GraphEngine::Table);
                t.drop_all().await.unwrap();
            }
        }
    }
}

#[tokio::test]
async fn knowledge_graph_from_a_hub_admits_the_highest_degree_neighbours_first() {
    for engine in ENGINES {
        let o = open(engine, "gkg").await;
        let g = o.storage();
        // hub - n0..n5; n3 and n5 have extra leaves, so they rank first.
        let mut edges: Vec<(String, String, Properties)> =
            (0..6).map(|i| ("hub".to_owned(), format!("n{i}"), Properties::new())).collect();
        edges.extend((0..3).map(|i| ("n3".to_owned(), format!("leaf3-{i}"), Properties::new())));
        edges.extend((0..2).map(|i| ("n5".to_owned(), format!("leaf5-{i}"), Properties::new())));
        g.upsert_edges_batch(edges).await.unwrap();
        let kg = g.get_knowledge_graph("hub", 3, 3).await.unwrap();
        let mut ids: Vec<&str> = kg.nodes.iter().map(|n| n.id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, ["hub", "n3", "n5"], "{engine}");
        assert!(kg.is_truncated);
        assert_eq!(kg.edges.len(), 2, "{engine}: induced edges hub-n3, hub-n5");
        let star = g.get_knowledge_graph("*", 1, 2).await.unwrap();
        let mut top: Vec<&str> = star.nodes.iter().map(|n| n.id.as_str()).collect();
        top.sort();
        assert_eq!(top, ["hub", "n3"], "{engine}");
        assert!(star.is_truncated);
        o.cleanup().await;
    }
}
