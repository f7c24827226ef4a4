//! Hostile entity names and property values are data, never code: a
//! deterministic fuzz of 10,000 names per engine, and the refusal of NUL bytes.

use std::collections::{BTreeSet, HashMap};

use lightrag_pg_core::{Error, Properties};
use lightrag_pg_graph::GraphEngine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::support::{Opened, open};

/// Fragments that have broken string-built SQL or Cypher somewhere.
const FRAGMENTS: &[&str] = &[
    "'",
    "\"",
    "$$",
    "$AGE1$",
    "\\",
    "\\\\",
    "}",
    "{",
    "`",
    "``",
    "MATCH",
    "DETACH DELETE",
    "MATCH (n) DETACH DELETE n",
    "--",
    "/*",
    "*/",
    "::",
    "::vertex",
    "::numeric",
    ";",
    "'); DROP TABLE graph_canary; --",
    "$1",
    "%",
    "_",
    "\\x01",
    "\n",
    "\t",
    "\r",
    "实体",
    "中文名称",
    "🙂",
    "🚀",
    "é",
    "\u{202e}",
    "\u{feff}",
    "NaN",
    "Infinity",
    "null",
    "[",
    "]",
    "<SEP>",
    " ",
    "E'",
    "\\u0000",
    "ag_catalog",
    "RETURN",
    "})",
    "${",
    "#",
    "@",
];

fn hostile_name(rng: &mut StdRng) -> String {
    let parts = rng.random_range(1..=6);
    let mut s = String::new();
    for _ in 0..parts {
        s.push_str(FRAGMENTS[rng.random_range(0..FRAGMENTS.len())]);
        if rng.random_bool(0.3) {
            s.push(char::from(rng.random_range(b'a'..=b'z')));
        }
    }
    s
}

/// 10,000 distinct hostile names from a fixed seed.
fn hostile_names(seed: u64, n: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let name = hostile_name(&mut rng);
        if seen.insert(name.clone()) {
            out.push(name);
        }
    }
    out
}

fn props_for(name: &str, i: usize) -> Properties {
    Properties::new().with("description", format!("{name} | described {i}")).with("k`$$'\"{}::--", name).with("n", i)
}

/// How many nodes the engine physically stores for the workspace.
async fn stored_node_count(o: &Opened) -> i64 {
    let conn = o.pool.get().await.unwrap();
    match o.engine {
        GraphEngine::Age => {
            let g = lightrag_pg_pool::ident::quote_ident(o.age().graph_name()).unwrap();
            conn.query_one(&format!("SELECT count(*) FROM {g}.base"), &[]).await.unwrap().get(0)
        }
        GraphEngine::Table => conn
            .query_one(
                "SELECT count(*) FROM lightrag_graph_nodes WHERE workspace = $1 AND namespace = 'chunk_entity_relation'",
                &[&o.ws.as_str()],
            )
            .await
            .unwrap()
            .get(0),
    }
}

async fn ten_thousand_hostile_names_round_trip(engine: GraphEngine, seed: u64) {
    let o = open(engine, "ghost").await;
    let canary = format!("graph_canary_{:016x}", rand::random::<u64>());
    let conn = o.pool.get().await.unwrap();
    conn.batch_execute(&format!("CREATE TABLE {canary} (x int); INSERT INTO {canary} VALUES (1)")).await.unwrap();
    drop(conn);

    let names = hostile_names(seed, 10_000);
    let g = o.storage();
    g.upsert_nodes_batch(names.iter().enumerate().map(|(i, n)| (n.clone(), props_for(n, i))).collect()).await.unwrap();
    let edges: Vec<(String, String, Properties)> = (0..2_000)
        .map(|i| {
            (
                names[i].clone(),
                names[(i * 7 + 13) % names.len()].clone(),
                Properties::new().with("description", names[i + 1].clone()),
            )
        })
        .collect();
    g.upsert_edges_batch(edges.clone()).await.unwrap();

    // Every name intact, nothing else stored.
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(g.get_all_labels().await.unwrap(), sorted, "{engine}: labels");
    assert_eq!(stored_node_count(&o).await, 10_000, "{engine}: physical node count");
    let found = g.get_nodes_batch(&names).await.unwrap();
    assert_eq!(found.len(), names.len(), "{engine}");
    for (i, n) in names.iter().enumerate() {
        let mut expected = props_for(n, i);
        expected.insert("entity_id".into(), json!(n));
        assert_eq!(found.get(n), Some(&expected), "{engine}: {n:?}");
    }
    let pairs: Vec<(String, String)> = edges.iter().map(|(a, b, _)| (b.clone(), a.clone())).collect();
    let got: HashMap<(String, String), Properties> = g.get_edges_batch(&pairs).await.unwrap();
    for (a, b, p) in &edges {
        assert_eq!(got.get(&(b.clone(), a.clone())), Some(p), "{engine}: edge {a:?}-{b:?}");
    }
    let some: Vec<String> = names[..50].to_vec();
    let degrees = g.node_degrees_batch(&some).await.unwrap();
    assert!(degrees.values().all(|d| *d >= 1), "{engine}: every early name has an edge");
    for q in ["'", "%", "_", "\\", "$$", "🙂"] {
        let hits = g.search_labels(q, 20).await.unwrap();
        assert!(
            hits.iter().all(|h| h.to_lowercase().contains(&q.to_lowercase())),
            "{engine}: search {q:?} -> {hits:?}"
        );
        assert!(!hits.is_empty(), "{engine}: search {q:?} found nothing");
    }

    // No foreign statement ran.
    let conn = o.pool.get().await.unwrap();
    let x: i32 = conn.query_one(&format!("SELECT x FROM {canary}"), &[]).await.unwrap().get(0);
    assert_eq!(x, 1);
    conn.batch_execute(&format!("DROP TABLE {canary}")).await.unwrap();
    drop(conn);
    o.cleanup().await;
}

#[tokio::test]
async fn ten_thousand_hostile_names_round_trip_on_age() {
    ten_thousand_hostile_names_round_trip(GraphEngine::Age, 20_250_607).await;
}

#[tokio::test]
async fn ten_thousand_hostile_names_round_trip_on_table() {
    ten_thousand_hostile_names_round_trip(GraphEngine::Table, 7_777_777).await;
}

#[tokio::test]
async fn nul_bytes_anywhere_are_invalid_input_and_nothing_is_written() {
    for engine in crate::support::ENGINES {
        let o = open(engine, "gnul").await;
        let g = o.storage();
        let ok = || Properties::new().with("d", "fine");
        let cases: Vec<(&str, Result<(), Error>)> = vec![
            ("node id", g.upsert_node("a\0b", ok()).await),
            ("node value", g.upsert_node("a", Properties::new().with("d", "x\0y")).await),
            ("node key", g.upsert_node("a", Properties::new().with("k\0", "x")).await),
            ("edge endpoint", g.upsert_edge("a", "b\0", ok()).await),
            ("edge value", g.upsert_edge("a", "b", Properties::new().with("d", json!(["\0"]))).await),
            ("batch", g.upsert_nodes_batch(vec![("fine".into(), ok()), ("bad\0".into(), ok())]).await),
        ];
        for (what, r) in cases {
            assert!(matches!(r, Err(Error::InvalidInput { .. })), "{engine}: {what}: {r:?}");
        }
        assert!(g.get_all_labels().await.unwrap().is_empty(), "{engine}: nothing written");
        o.cleanup().await;
    }
}

#[tokio::test]
async fn an_integer_beyond_64_bits_is_refused_by_age_naming_the_key() {
    let o = open(GraphEngine::Age, "gbig").await;
    let e = o.storage().upsert_node("n", Properties::new().with("huge", u64::MAX)).await.unwrap_err();
    assert!(matches!(e, Error::InvalidInput { .. }) && e.to_string().contains("huge"), "{e}");
    o.cleanup().await;
}
