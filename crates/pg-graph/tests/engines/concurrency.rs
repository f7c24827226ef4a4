//! 32 concurrent writers on the same nodes and edges: no lost property
//! update, no duplicate vertex or edge, no error reaching a caller.

use std::collections::HashSet;
use std::sync::Arc;

use lightrag_pg_core::{GraphStorage, Properties};
use lightrag_pg_graph::GraphEngine;
use serde_json::json;

use crate::support::{Opened, open_in, pool};

const WRITERS: usize = 32;
const ENTITIES: usize = 12;
const BULK: usize = 600;

fn entity(i: usize) -> String {
    format!("entity '{i}' \"shared\"")
}

/// Rows per entity id physically stored (AGE has no unique constraint).
async fn duplicate_vertices(o: &Opened) -> i64 {
    let conn = o.pool.get().await.unwrap();
    conn.ensure_age().await.unwrap();
    let g = lightrag_pg_pool::ident::quote_ident(o.age().graph_name()).unwrap();
    conn.query_one(
        &format!(
            "SELECT count(*) - count(DISTINCT ag_catalog.agtype_access_operator(VARIADIC ARRAY[properties, '\"entity_id\"'::ag_catalog.agtype])::text) FROM {g}.base"
        ),
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

/// Stored edge rows between two entities, either direction (AGE).
async fn age_edge_rows(o: &Opened, a: &str, b: &str) -> i64 {
    let conn = o.pool.get().await.unwrap();
    conn.ensure_age().await.unwrap();
    let g = lightrag_pg_pool::ident::quote_ident(o.age().graph_name()).unwrap();
    let eid = |t: &str| {
        format!(
            "ag_catalog.agtype_access_operator(VARIADIC ARRAY[{t}.properties, '\"entity_id\"'::ag_catalog.agtype])::text"
        )
    };
    conn.query_one(
        &format!(
            "SELECT count(*) FROM {g}.\"DIRECTED\" d JOIN {g}.base x ON x.id = d.start_id JOIN {g}.base y ON y.id = d.end_id \
             WHERE ({x} = $1 AND {y} = $2) OR ({x} = $2 AND {y} = $1)",
            x = eid("x"),
            y = eid("y")
        ),
        &[&a, &b],
    )
    .await
    .unwrap()
    .get(0)
}

async fn thirty_two_writers(engine: GraphEngine) {
    let o = open_in(pool(16).await, engine, lightrag_pg_core::testkit::unique_workspace("gconc")).await;
    let g: Arc<dyn GraphStorage> = o.arc();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let g = g.clone();
        tasks.push(tokio::spawn(async move {
            // Each writer touches every entity, in its own order, singly and in batches.
            let order: Vec<usize> = (0..ENTITIES).map(|i| (i * 5 + w) % ENTITIES).collect();
            for (k, &i) in order.iter().enumerate() {
                let p = Properties::new().with(&format!("writer_{w}"), w).with("last_writer", w);
                if k % 3 == 0 {
                    g.upsert_nodes_batch(vec![(entity(i), p.clone()), (entity((i + 1) % ENTITIES), p)]).await?;
                } else {
                    g.upsert_node(&entity(i), p).await?;
                }
                // Edges between neighbouring entities, written in both directions.
                let (a, b) = (entity(i), entity((i + 1) % ENTITIES));
                let ep = Properties::new().with("writer", w).with("weight", w as f64).with("tag", format!("w{w}"));
                if w % 2 == 0 {
                    g.upsert_edge(&a, &b, ep).await?;
                } else {
                    g.upsert_edges_batch(vec![(b, a, ep)]).await?;
                }
                // Edges to fresh endpoints that every writer creates at once.
                g.upsert_edge(&entity(i), &format!("hub {i}"), Properties::new().with("writer", w)).await?;
            }
            Ok::<_, lightrag_pg_core::Error>(())
        }));
    }
    // One more writer with batches too large for per-entity locks (the
    // graph-wide exclusive lock path), touching the same entities and pairs.
    {
        let g = g.clone();
        tasks.push(tokio::spawn(async move {
            let w = WRITERS;
            let mut nodes: Vec<(String, Properties)> =
                (0..ENTITIES).map(|i| (entity(i), Properties::new().with(&format!("writer_{w}"), w))).collect();
            nodes.extend((0..BULK).map(|i| (format!("bulk {i}"), Properties::new())));
            g.upsert_nodes_batch(nodes).await?;
            let ep = || Properties::new().with("writer", w).with("weight", w as f64).with("tag", format!("w{w}"));
            let mut edges: Vec<(String, String, Properties)> =
                (0..ENTITIES).map(|i| (entity(i), entity((i + 1) % ENTITIES), ep())).collect();
            edges.extend((0..BULK).map(|i| (format!("bulk {i}"), format!("bulk {}", (i + 1) % BULK), ep())));
            g.upsert_edges_batch(edges).await?;
            Ok(())
        }));
    }
    for t in tasks {
        t.await.expect("writer task").unwrap_or_else(|e| panic!("{engine}: a writer saw an error: {e}"));
    }

    for i in 0..ENTITIES {
        let node = g.get_node(&entity(i)).await.unwrap().unwrap();
        for w in 0..=WRITERS {
            assert_eq!(node.get(&format!("writer_{w}")), Some(&json!(w)), "{engine}: lost update of writer {w} on {i}");
        }
        let (a, b) = (entity(i), entity((i + 1) % ENTITIES));
        let e = g.get_edge(&a, &b).await.unwrap().unwrap();
        let w = e.get("writer").and_then(|v| v.as_u64()).unwrap() as usize;
        assert_eq!(
            e,
            Properties::new().with("writer", w).with("weight", w as f64).with("tag", format!("w{w}")),
            "{engine}: mixed edge"
        );
        assert_eq!(g.node_degree(&entity(i)).await.unwrap(), 3, "{engine}: degree of {i}");
        assert_eq!(g.node_degree(&format!("hub {i}")).await.unwrap(), 1, "{engine}");
    }
    let labels: HashSet<String> = g.get_all_labels().await.unwrap().into_iter().collect();
    assert_eq!(labels.len(), 2 * ENTITIES + BULK, "{engine}");
    assert_eq!(g.get_all_edges().await.unwrap().len(), 2 * ENTITIES + BULK, "{engine}");
    if engine == GraphEngine::Age {
        assert_eq!(duplicate_vertices(&o).await, 0, "AGE: duplicate vertices");
        for i in 0..ENTITIES {
            assert_eq!(
                age_edge_rows(&o, &entity(i), &entity((i + 1) % ENTITIES)).await,
                1,
                "AGE: one edge row per pair"
            );
        }
    }
    o.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_writers_on_age_lose_nothing_and_duplicate_nothing() {
    thirty_two_writers(GraphEngine::Age).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_concurrent_writers_on_table_lose_nothing_and_duplicate_nothing() {
    thirty_two_writers(GraphEngine::Table).await;
}
