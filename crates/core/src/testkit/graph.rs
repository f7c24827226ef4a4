//! The graph suite: [`graph_trials`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use super::GraphFactory;
use super::support::{Ctx, Env, ONE_MB, Outcome, TRICKY, big_text, cases, ensure, ensure_eq, expect_invalid, strings};
use crate::storage::EdgePair;
use crate::{GraphStorage, KnowledgeGraph, Namespace, Properties, Workspace};

type GraphEnv = Env<dyn GraphFactory>;

impl Env<dyn GraphFactory> {
    /// Opens the graph of the trial's workspace.
    async fn open(&self) -> Result<Arc<dyn GraphStorage>, Failed> {
        let ws = self.ws.clone();
        self.open_in(&ws).await
    }

    /// Opens the graph of `ws` (dropped after the case).
    async fn open_in(&self, ws: &Workspace) -> Result<Arc<dyn GraphStorage>, Failed> {
        let s = self.factory.open(ws).await.ctx(format_args!("open the graph of {ws}"))?;
        self.track(s.clone());
        Ok(s)
    }
}

/// Every graph case, each in its own workspace: node merge and edge replace
/// semantics, undirected edges, degrees with self-loops, node edges, deletes that
/// take edges along, batch reads and all-or-nothing batch writes, label listing,
/// popularity and search, knowledge-graph depth, node limits, truncation and `*`,
/// tricky and 1 MB values, isolation and concurrency.
pub fn graph_trials(factory: Arc<dyn GraphFactory>, rt: Arc<Runtime>) -> Vec<Trial> {
    cases!("graph", &rt, &factory;
        upsert_node_then_get_node_returns_its_properties_with_entity_id,
        get_node_of_a_missing_id_is_none_and_has_node_is_false,
        upsert_node_merges_properties_into_an_existing_node,
        upsert_node_sets_entity_id_to_the_node_id,
        upsert_edge_is_undirected,
        upsert_edge_in_reverse_replaces_the_properties_of_the_one_edge,
        upsert_edge_creates_missing_endpoints_with_only_entity_id,
        upsert_edge_keeps_the_properties_of_existing_endpoints,
        node_degree_counts_incident_edges_and_a_self_loop_twice,
        edge_degree_is_the_sum_of_endpoint_degrees,
        get_node_edges_distinguishes_missing_isolated_and_connected_nodes,
        delete_node_removes_the_node_and_its_edges,
        remove_nodes_removes_every_listed_node_and_their_edges,
        remove_edges_removes_either_direction_and_keeps_the_nodes,
        get_all_labels_lists_every_node_sorted_by_code_point,
        get_all_nodes_and_get_all_edges_enumerate_everything_once,
        batch_reads_answer_found_ids_and_pairs_as_requested,
        upsert_nodes_batch_writes_every_node_and_the_last_duplicate_wins,
        upsert_edges_batch_keeps_one_edge_per_unordered_pair_and_the_last_wins,
        upsert_nodes_batch_with_an_invalid_last_node_writes_nothing,
        upsert_edges_batch_with_an_invalid_last_edge_writes_nothing,
        upserts_refuse_empty_ids_and_nul_bytes,
        entity_ids_at_the_limit_round_trip_and_longer_ones_are_refused_by_name,
        ids_and_properties_with_cjk_emoji_and_quotes_round_trip,
        one_megabyte_description_round_trips_on_nodes_and_edges,
        knowledge_graph_bfs_stops_at_max_depth,
        knowledge_graph_bfs_admits_by_degree_then_id_and_reports_truncation,
        knowledge_graph_is_not_truncated_when_the_limit_fits_exactly,
        knowledge_graph_edges_are_the_induced_subgraph_of_the_returned_nodes,
        knowledge_graph_star_takes_the_highest_degree_nodes,
        knowledge_graph_of_an_unknown_label_is_empty,
        get_popular_labels_ranks_by_degree_then_id_with_isolated_nodes_last,
        search_labels_ranks_exact_then_prefix_then_substring,
        search_labels_is_case_insensitive_and_trims_the_query,
        search_labels_treats_percent_and_underscore_literally,
        search_labels_of_a_blank_query_is_empty,
        drop_all_leaves_other_workspaces_intact,
        lifecycle_calls_succeed_and_are_idempotent,
        concurrent_upserts_of_one_pair_in_both_directions_leave_one_edge,
        concurrent_edges_on_one_hub_are_all_counted,
    )
}

/// Node properties in LightRAG's shape (scalar values only).
fn node_props(desc: &str) -> Properties {
    Properties::new()
        .with("entity_type", "person")
        .with("description", desc)
        .with("source_id", "chunk-1<SEP>chunk-2")
        .with("file_path", "notes/report.txt")
        .with("created_at", 1_736_000_000)
}

/// Edge properties in LightRAG's shape.
fn edge_props(desc: &str) -> Properties {
    Properties::new()
        .with("weight", 2.5)
        .with("description", desc)
        .with("keywords", "knows,works with")
        .with("source_id", "chunk-1")
        .with("file_path", "notes/report.txt")
        .with("created_at", 1_736_000_000)
}

fn pair(a: &str, b: &str) -> EdgePair {
    (a.to_owned(), b.to_owned())
}

/// The pair in code-point order, to compare undirected edges.
fn unordered(a: &str, b: &str) -> EdgePair {
    if a <= b { pair(a, b) } else { pair(b, a) }
}

/// Every property of `expected` reads back equal in `got`.
fn ensure_props(got: &Option<Properties>, expected: &Properties, what: &str) -> Outcome {
    let Some(got) = got else {
        return Err(Failed::from(format!("{what}: missing")));
    };
    for (k, v) in expected.iter() {
        ensure_eq!(got.get(k), Some(v), "{what}: property {k:?}");
    }
    Ok(())
}

/// The node's properties include `expected` and `entity_id == id`.
async fn ensure_node(s: &Arc<dyn GraphStorage>, id: &str, expected: &Properties, what: &str) -> Outcome {
    let got = s.get_node(id).await.ctx(format_args!("get_node({id:?})"))?;
    ensure_props(&got, expected, what)?;
    ensure_eq!(got.as_ref().and_then(|p| p.entity_id()), Some(id), "{what}: entity_id");
    Ok(())
}

/// The graph as a set of unordered pairs, checking each edge is listed once.
fn edge_set(edges: impl IntoIterator<Item = (String, String)>, what: &str) -> Result<BTreeSet<EdgePair>, Failed> {
    let mut set = BTreeSet::new();
    for (a, b) in edges {
        let key = unordered(&a, &b);
        ensure!(set.insert(key.clone()), "{what}: edge {key:?} is listed twice");
    }
    Ok(set)
}

fn expected_edges(edges: &[(&str, &str)]) -> BTreeSet<EdgePair> {
    edges.iter().map(|(a, b)| unordered(a, b)).collect()
}

/// `kg` has exactly these nodes and (undirected) edges, in LightRAG's shape.
fn ensure_kg(kg: &KnowledgeGraph, nodes: &[&str], edges: &[(&str, &str)], truncated: bool, what: &str) -> Outcome {
    let ids: Vec<&str> = kg.nodes.iter().map(|n| n.id.as_str()).collect();
    let node_set: BTreeSet<&str> = ids.iter().copied().collect();
    ensure_eq!(node_set.len(), ids.len(), "{what}: node ids are unique ({ids:?})");
    ensure_eq!(node_set, nodes.iter().copied().collect::<BTreeSet<&str>>(), "{what}: nodes");
    for n in &kg.nodes {
        ensure_eq!(n.labels, vec![n.id.clone()], "{what}: labels of {:?}", n.id);
        ensure_eq!(n.properties.entity_id(), Some(n.id.as_str()), "{what}: entity_id of node {:?}", n.id);
    }
    for e in &kg.edges {
        ensure_eq!(e.id, format!("{}-{}", e.source, e.target), "{what}: edge id");
        ensure_eq!(e.edge_type.as_deref(), Some("DIRECTED"), "{what}: edge type of {}", e.id);
        ensure!(
            node_set.contains(e.source.as_str()) && node_set.contains(e.target.as_str()),
            "{what}: edge {} has an endpoint outside the returned nodes",
            e.id
        );
    }
    let got = edge_set(kg.edges.iter().map(|e| (e.source.clone(), e.target.clone())), what)?;
    ensure_eq!(got, expected_edges(edges), "{what}: edges (unordered)");
    ensure_eq!(kg.is_truncated, truncated, "{what}: is_truncated");
    Ok(())
}

/// The edges of the breadth-first test graph:
///
/// ```text
///        S
///      / | \
///     A--B  C          degrees: A 4, S 3, B 3, A1 2, A2 1, B1 1, C 1, X 1
///    / \  \
///   A1  A2 B1
///   |
///   X
/// ```
const BFS_EDGES: &[(&str, &str)] =
    &[("S", "A"), ("S", "B"), ("S", "C"), ("A", "B"), ("A", "A1"), ("A", "A2"), ("B", "B1"), ("A1", "X")];

async fn bfs_graph(s: &Arc<dyn GraphStorage>) -> Outcome {
    for id in ["S", "A", "B", "C", "A1", "A2", "B1", "X"] {
        s.upsert_node(id, node_props(&format!("node {id}"))).await.ctx(format_args!("upsert_node({id})"))?;
    }
    for (a, b) in BFS_EDGES {
        s.upsert_edge(a, b, edge_props(&format!("{a} to {b}"))).await.ctx(format_args!("upsert_edge({a}, {b})"))?;
    }
    Ok(())
}

async fn upsert_node_then_get_node_returns_its_properties_with_entity_id(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    let props = node_props("Alice is a researcher.").with("rank", 3).with("active", true).with("score", 0.75);
    s.upsert_node("Alice", props.clone()).await.ctx("upsert_node")?;
    ensure!(s.has_node("Alice").await.ctx("has_node")?, "has_node after upsert");
    ensure_node(&s, "Alice", &props, "get_node").await?;
    let got = s.get_node("Alice").await.ctx("get_node")?.unwrap_or_default();
    ensure_eq!(got.description(), Some("Alice is a researcher."), "typed description");
    ensure_eq!(got.created_at(), Some(1_736_000_000), "typed created_at");
    Ok(())
}

async fn get_node_of_a_missing_id_is_none_and_has_node_is_false(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    ensure_eq!(s.get_node("Ghost").await.ctx("get_node on an empty graph")?, None, "missing node");
    s.upsert_node("Alice", node_props("a")).await.ctx("upsert_node")?;
    ensure_eq!(s.get_node("Ghost").await.ctx("get_node")?, None, "missing node beside a stored one");
    ensure!(!s.has_node("Ghost").await.ctx("has_node")?, "has_node of a missing node");
    ensure!(!s.has_node("alice").await.ctx("has_node")?, "ids are case-sensitive");
    Ok(())
}

async fn upsert_node_merges_properties_into_an_existing_node(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    let first = Properties::new().with("entity_type", "person").with("description", "old").with("source_id", "chunk-1");
    s.upsert_node("Alice", first).await.ctx("first upsert_node")?;
    s.upsert_node("Alice", Properties::new().with("description", "new").with("file_path", "b.txt"))
        .await
        .ctx("second upsert_node")?;
    let merged = Properties::new()
        .with("entity_type", "person")
        .with("description", "new")
        .with("source_id", "chunk-1")
        .with("file_path", "b.txt");
    ensure_node(&s, "Alice", &merged, "merged node (absent keys survive, given keys win)").await?;
    ensure_eq!(s.get_all_labels().await.ctx("get_all_labels")?, strings(&["Alice"]), "still one node");
    Ok(())
}

async fn upsert_node_sets_entity_id_to_the_node_id(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert_node("Alice", node_props("a").with("entity_id", "Somebody Else")).await.ctx("upsert_node")?;
    s.upsert_node("Bob", Properties::new()).await.ctx("upsert_node without properties")?;
    ensure_node(&s, "Alice", &node_props("a"), "entity_id is forced to the id").await?;
    ensure_node(&s, "Bob", &Properties::new(), "node without properties").await?;
    ensure!(!s.has_node("Somebody Else").await.ctx("has_node")?, "no node named after the given entity_id");
    Ok(())
}

async fn upsert_edge_is_undirected(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    let props = edge_props("Alice knows Bob");
    s.upsert_edge("Alice", "Bob", props.clone()).await.ctx("upsert_edge")?;
    for (a, b) in [("Alice", "Bob"), ("Bob", "Alice")] {
        ensure!(s.has_edge(a, b).await.ctx("has_edge")?, "has_edge({a}, {b})");
        ensure_props(&s.get_edge(a, b).await.ctx("get_edge")?, &props, &format!("get_edge({a}, {b})"))?;
    }
    let got = s.get_edge("Bob", "Alice").await.ctx("get_edge")?.unwrap_or_default();
    ensure_eq!(got.weight(), Some(2.5), "typed weight");
    ensure_eq!(got.keywords(), Some("knows,works with"), "typed keywords");
    ensure!(!s.has_edge("Alice", "Carol").await.ctx("has_edge")?, "no edge to an unknown node");
    ensure_eq!(s.get_edge("Alice", "Alice").await.ctx("get_edge")?, None, "no self-loop was created");
    ensure_eq!(s.get_all_edges().await.ctx("get_all_edges")?.len(), 1, "one edge stored");
    Ok(())
}

async fn upsert_edge_in_reverse_replaces_the_properties_of_the_one_edge(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert_edge("Alice", "Bob", edge_props("first")).await.ctx("upsert_edge(Alice, Bob)")?;
    let second = Properties::new().with("description", "second").with("source_id", "chunk-9");
    s.upsert_edge("Bob", "Alice", second.clone()).await.ctx("upsert_edge(Bob, Alice)")?;
    let got = s.get_edge("Alice", "Bob").await.ctx("get_edge")?;
    ensure_props(&got, &second, "replaced edge")?;
    let got = got.unwrap_or_default();
    for gone in ["weight", "keywords", "file_path"] {
        ensure!(!got.contains_key(gone), "edge properties are replaced, but {gone:?} survived: {got:?}");
    }
    let all = s.get_all_edges().await.ctx("get_all_edges")?;
    ensure_eq!(
        edge_set(all.iter().map(|e| (e.source.clone(), e.target.clone())), "get_all_edges")?,
        expected_edges(&[("Alice", "Bob")]),
        "one edge per unordered pair"
    );
    ensure_eq!(s.node_degree("Alice").await.ctx("node_degree")?, 1, "degree of Alice");
    ensure_eq!(s.node_degree("Bob").await.ctx("node_degree")?, 1, "degree of Bob");
    Ok(())
}

async fn upsert_edge_creates_missing_endpoints_with_only_entity_id(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert_edge("New A", "New B", edge_props("fresh")).await.ctx("upsert_edge between unknown nodes")?;
    for id in ["New A", "New B"] {
        ensure!(s.has_node(id).await.ctx("has_node")?, "endpoint {id} was created");
        let got = s.get_node(id).await.ctx("get_node")?;
        ensure_eq!(got, Some(Properties::new().with("entity_id", id)), "endpoint {id} has only entity_id");
    }
    ensure_eq!(s.get_all_labels().await.ctx("get_all_labels")?, strings(&["New A", "New B"]), "labels");
    Ok(())
}

async fn upsert_edge_keeps_the_properties_of_existing_endpoints(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    let alice = node_props("Alice, with properties");
    s.upsert_node("Alice", alice.clone()).await.ctx("upsert_node")?;
    s.upsert_edge("Alice", "Bob", edge_props("e")).await.ctx("upsert_edge")?;
    s.upsert_edge("Carol", "Alice", edge_props("e2")).await.ctx("upsert_edge")?;
    ensure_node(&s, "Alice", &alice, "existing endpoint keeps its properties").await?;
    Ok(())
}

async fn node_degree_counts_incident_edges_and_a_self_loop_twice(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert_node("Lonely", node_props("isolated")).await.ctx("upsert_node")?;
    for (a, b) in [("Hub", "A"), ("B", "Hub"), ("Hub", "C"), ("Loop", "Loop"), ("Loop", "A")] {
        s.upsert_edge(a, b, edge_props("e")).await.ctx(format_args!("upsert_edge({a}, {b})"))?;
    }
    s.upsert_edge("A", "Hub", edge_props("again")).await.ctx("re-upsert in reverse")?;
    for (id, want) in [("Hub", 3), ("A", 2), ("B", 1), ("C", 1), ("Loop", 3), ("Lonely", 0), ("Unknown", 0)] {
        ensure_eq!(s.node_degree(id).await.ctx(format_args!("node_degree({id})"))?, want, "degree of {id}");
    }
    ensure!(s.has_edge("Loop", "Loop").await.ctx("has_edge")?, "the self-loop exists");
    Ok(())
}

async fn edge_degree_is_the_sum_of_endpoint_degrees(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    for (a, b) in [("A", "B"), ("A", "C"), ("B", "C"), ("C", "D"), ("D", "D")] {
        s.upsert_edge(a, b, edge_props("e")).await.ctx(format_args!("upsert_edge({a}, {b})"))?;
    }
    // Degrees: A 2, B 2, C 3, D 3 (one edge and a self-loop).
    for (a, b, want) in [("A", "B", 4), ("B", "A", 4), ("C", "D", 6), ("D", "D", 6), ("A", "Unknown", 2), ("X", "Y", 0)]
    {
        ensure_eq!(
            s.edge_degree(a, b).await.ctx(format_args!("edge_degree({a}, {b})"))?,
            want,
            "edge_degree({a}, {b})"
        );
    }
    Ok(())
}

async fn get_node_edges_distinguishes_missing_isolated_and_connected_nodes(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert_node("Lonely", node_props("isolated")).await.ctx("upsert_node")?;
    for (a, b) in [("M", "Zed"), ("Alpha", "M"), ("M", "M"), ("M", "Beta")] {
        s.upsert_edge(a, b, edge_props("e")).await.ctx(format_args!("upsert_edge({a}, {b})"))?;
    }
    ensure_eq!(s.get_node_edges("Ghost").await.ctx("get_node_edges(Ghost)")?, None, "missing node");
    ensure_eq!(s.get_node_edges("Lonely").await.ctx("get_node_edges(Lonely)")?, Some(vec![]), "isolated node");
    let want = vec![pair("M", "Alpha"), pair("M", "Beta"), pair("M", "M"), pair("M", "Zed")];
    ensure_eq!(
        s.get_node_edges("M").await.ctx("get_node_edges(M)")?,
        Some(want),
        "(id, neighbour) sorted by neighbour, self-loop once"
    );
    ensure_eq!(
        s.get_node_edges("Zed").await.ctx("get_node_edges(Zed)")?,
        Some(vec![pair("Zed", "M")]),
        "the reverse side"
    );
    Ok(())
}

async fn delete_node_removes_the_node_and_its_edges(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    for (a, b) in [("A", "B"), ("C", "A"), ("B", "C"), ("A", "A")] {
        s.upsert_edge(a, b, edge_props("e")).await.ctx(format_args!("upsert_edge({a}, {b})"))?;
    }
    s.delete_node("A").await.ctx("delete_node(A)")?;
    s.delete_node("Unknown").await.ctx("delete_node of an unknown node")?;
    ensure!(!s.has_node("A").await.ctx("has_node")?, "A is gone");
    ensure_eq!(s.get_node("A").await.ctx("get_node")?, None, "get_node(A)");
    for (a, b) in [("A", "B"), ("B", "A"), ("C", "A"), ("A", "A")] {
        ensure!(!s.has_edge(a, b).await.ctx("has_edge")?, "edge {a}-{b} went with A");
    }
    ensure!(s.has_edge("B", "C").await.ctx("has_edge")?, "the unrelated edge B-C survives");
    ensure_eq!(s.node_degree("B").await.ctx("node_degree")?, 1, "degree of B after deleting A");
    ensure_eq!(s.get_node_edges("C").await.ctx("get_node_edges")?, Some(vec![pair("C", "B")]), "C's edges");
    let all = s.get_all_edges().await.ctx("get_all_edges")?;
    ensure_eq!(
        edge_set(all.iter().map(|e| (e.source.clone(), e.target.clone())), "get_all_edges")?,
        expected_edges(&[("B", "C")]),
        "remaining edges"
    );
    Ok(())
}

async fn remove_nodes_removes_every_listed_node_and_their_edges(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    for (a, b) in [("A", "B"), ("B", "C"), ("C", "D"), ("D", "A"), ("E", "E")] {
        s.upsert_edge(a, b, edge_props("e")).await.ctx(format_args!("upsert_edge({a}, {b})"))?;
    }
    s.remove_nodes(&strings(&["A", "Unknown", "C", "E", "A"])).await.ctx("remove_nodes")?;
    s.remove_nodes(&[]).await.ctx("remove_nodes(&[])")?;
    ensure_eq!(s.get_all_labels().await.ctx("get_all_labels")?, strings(&["B", "D"]), "survivors");
    ensure!(s.get_all_edges().await.ctx("get_all_edges")?.is_empty(), "every edge touched a removed node");
    ensure_eq!(s.node_degree("B").await.ctx("node_degree")?, 0, "degree of B");
    ensure_eq!(s.get_node_edges("D").await.ctx("get_node_edges")?, Some(vec![]), "D has no edge left");
    Ok(())
}

async fn remove_edges_removes_either_direction_and_keeps_the_nodes(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    for (a, b) in [("A", "B"), ("B", "C"), ("C", "A"), ("D", "D")] {
        s.upsert_edge(a, b, edge_props("e")).await.ctx(format_args!("upsert_edge({a}, {b})"))?;
    }
    s.remove_edges(&[pair("B", "A"), pair("C", "B"), pair("A", "Unknown"), pair("X", "Y"), pair("D", "D")])
        .await
        .ctx("remove_edges")?;
    s.remove_edges(&[]).await.ctx("remove_edges(&[])")?;
    let all = s.get_all_edges().await.ctx("get_all_edges")?;
    ensure_eq!(
        edge_set(all.iter().map(|e| (e.source.clone(), e.target.clone())), "get_all_edges")?,
        expected_edges(&[("A", "C")]),
        "remaining edges"
    );
    ensure_eq!(s.get_all_labels().await.ctx("get_all_labels")?, strings(&["A", "B", "C", "D"]), "nodes are kept");
    ensure_eq!(s.node_degree("B").await.ctx("node_degree")?, 0, "degree of B");
    ensure_eq!(s.node_degree("D").await.ctx("node_degree")?, 0, "degree of D after removing its self-loop");
    Ok(())
}

async fn get_all_labels_lists_every_node_sorted_by_code_point(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    ensure!(s.get_all_labels().await.ctx("get_all_labels on an empty graph")?.is_empty(), "empty graph");
    for id in ["a", "🙂", "Z", "中", "_x", "B"] {
        s.upsert_node(id, node_props(id)).await.ctx(format_args!("upsert_node({id})"))?;
    }
    s.upsert_edge("B", "new", edge_props("e")).await.ctx("upsert_edge")?;
    let want = strings(&["B", "Z", "_x", "a", "new", "中", "🙂"]);
    ensure_eq!(s.get_all_labels().await.ctx("get_all_labels")?, want, "every label, code-point order");
    Ok(())
}

async fn get_all_nodes_and_get_all_edges_enumerate_everything_once(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    for id in ["Carol", "Alice", "Bob", "Dave"] {
        s.upsert_node(id, node_props(&format!("about {id}"))).await.ctx(format_args!("upsert_node({id})"))?;
    }
    let edges = [("Bob", "Alice"), ("Alice", "Carol"), ("Carol", "Carol")];
    for (a, b) in edges {
        s.upsert_edge(a, b, edge_props(&format!("{a}~{b}"))).await.ctx(format_args!("upsert_edge({a}, {b})"))?;
    }
    let nodes = s.get_all_nodes().await.ctx("get_all_nodes")?;
    let ids: Vec<Option<&str>> = nodes.iter().map(Properties::entity_id).collect();
    ensure_eq!(ids, vec![Some("Alice"), Some("Bob"), Some("Carol"), Some("Dave")], "nodes sorted by entity id");
    for n in &nodes {
        let id = n.entity_id().unwrap_or_default();
        ensure_props(&Some(n.clone()), &node_props(&format!("about {id}")), &format!("node {id}"))?;
    }
    let all = s.get_all_edges().await.ctx("get_all_edges")?;
    let keys: Vec<(&str, &str)> = all.iter().map(|e| (e.source.as_str(), e.target.as_str())).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    ensure_eq!(keys, sorted, "edges sorted by (source, target)");
    ensure_eq!(
        edge_set(all.iter().map(|e| (e.source.clone(), e.target.clone())), "get_all_edges")?,
        expected_edges(&edges),
        "every edge once"
    );
    for e in &all {
        let (a, b) =
            edges.iter().find(|(a, b)| unordered(a, b) == unordered(&e.source, &e.target)).copied().unwrap_or_default();
        ensure_props(
            &Some(e.properties.clone()),
            &edge_props(&format!("{a}~{b}")),
            &format!("edge {}-{}", e.source, e.target),
        )?;
    }
    Ok(())
}

async fn batch_reads_answer_found_ids_and_pairs_as_requested(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert_node("A", node_props("a")).await.ctx("upsert_node")?;
    s.upsert_node("Lonely", node_props("l")).await.ctx("upsert_node")?;
    for (a, b) in [("A", "B"), ("C", "A"), ("B", "B")] {
        s.upsert_edge(a, b, edge_props(&format!("{a}{b}"))).await.ctx(format_args!("upsert_edge({a}, {b})"))?;
    }
    let ids = strings(&["A", "Ghost", "B", "Lonely", "A"]);
    let nodes = s.get_nodes_batch(&ids).await.ctx("get_nodes_batch")?;
    ensure_eq!(
        nodes.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from(["A", "B", "Lonely"].map(String::from)),
        "get_nodes_batch keys (found only)"
    );
    ensure_props(&nodes.get("A").cloned(), &node_props("a"), "get_nodes_batch[A]")?;
    ensure_eq!(nodes.get("B").and_then(Properties::entity_id), Some("B"), "get_nodes_batch[B].entity_id");
    let has = s.has_nodes_batch(&ids).await.ctx("has_nodes_batch")?;
    ensure_eq!(has, HashSet::from(["A", "B", "Lonely"].map(String::from)), "has_nodes_batch");
    let degrees = s.node_degrees_batch(&ids).await.ctx("node_degrees_batch")?;
    let want: HashMap<String, usize> =
        [("A", 2), ("Ghost", 0), ("B", 3), ("Lonely", 0)].map(|(k, v)| (k.to_owned(), v)).into();
    ensure_eq!(degrees, want, "node_degrees_batch (0 for missing)");
    let pairs = vec![pair("B", "A"), pair("A", "C"), pair("A", "Ghost"), pair("B", "B")];
    let edge_degrees = s.edge_degrees_batch(&pairs).await.ctx("edge_degrees_batch")?;
    let want: HashMap<EdgePair, usize> =
        [(pair("B", "A"), 5), (pair("A", "C"), 3), (pair("A", "Ghost"), 2), (pair("B", "B"), 6)].into();
    ensure_eq!(edge_degrees, want, "edge_degrees_batch keyed as requested");
    let edges = s.get_edges_batch(&pairs).await.ctx("get_edges_batch")?;
    ensure_eq!(
        edges.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([pair("A", "C"), pair("B", "A"), pair("B", "B")]),
        "get_edges_batch keys: found pairs, as requested"
    );
    ensure_props(&edges.get(&pair("B", "A")).cloned(), &edge_props("AB"), "get_edges_batch[(B, A)]")?;
    ensure_props(&edges.get(&pair("A", "C")).cloned(), &edge_props("CA"), "get_edges_batch[(A, C)]")?;
    let node_edges =
        s.get_nodes_edges_batch(&strings(&["A", "Ghost", "Lonely", "B"])).await.ctx("get_nodes_edges_batch")?;
    let want: HashMap<String, Vec<EdgePair>> = [
        ("A".to_owned(), vec![pair("A", "B"), pair("A", "C")]),
        ("Ghost".to_owned(), vec![]),
        ("Lonely".to_owned(), vec![]),
        ("B".to_owned(), vec![pair("B", "A"), pair("B", "B")]),
    ]
    .into();
    ensure_eq!(node_edges, want, "get_nodes_edges_batch ([] for a missing node)");
    ensure!(s.get_nodes_batch(&[]).await.ctx("get_nodes_batch(&[])")?.is_empty(), "empty batch");
    ensure!(s.get_edges_batch(&[]).await.ctx("get_edges_batch(&[])")?.is_empty(), "empty batch");
    Ok(())
}

async fn upsert_nodes_batch_writes_every_node_and_the_last_duplicate_wins(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert_node("Old", node_props("stored before")).await.ctx("upsert_node")?;
    let batch = vec![
        ("N1".to_owned(), node_props("first N1")),
        ("Old".to_owned(), Properties::new().with("entity_type", "organization")),
        ("N2".to_owned(), node_props("N2")),
        ("N1".to_owned(), Properties::new().with("description", "last N1")),
    ];
    s.upsert_nodes_batch(batch).await.ctx("upsert_nodes_batch")?;
    s.upsert_nodes_batch(Vec::new()).await.ctx("upsert_nodes_batch(vec![])")?;
    ensure_eq!(s.get_all_labels().await.ctx("get_all_labels")?, strings(&["N1", "N2", "Old"]), "labels");
    ensure_node(&s, "N1", &Properties::new().with("description", "last N1"), "the last duplicate wins").await?;
    ensure_node(&s, "N2", &node_props("N2"), "N2").await?;
    let merged = node_props("stored before").with("entity_type", "organization");
    ensure_node(&s, "Old", &merged, "a batch merges into an existing node").await?;
    Ok(())
}

async fn upsert_edges_batch_keeps_one_edge_per_unordered_pair_and_the_last_wins(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert_node("A", node_props("node A")).await.ctx("upsert_node")?;
    let last = Properties::new().with("description", "last").with("weight", 0.5);
    let batch = vec![
        ("A".to_owned(), "B".to_owned(), edge_props("first")),
        ("B".to_owned(), "C".to_owned(), edge_props("bc")),
        ("B".to_owned(), "A".to_owned(), last.clone()),
        ("D".to_owned(), "D".to_owned(), edge_props("loop")),
    ];
    s.upsert_edges_batch(batch).await.ctx("upsert_edges_batch")?;
    s.upsert_edges_batch(Vec::new()).await.ctx("upsert_edges_batch(vec![])")?;
    let all = s.get_all_edges().await.ctx("get_all_edges")?;
    ensure_eq!(
        edge_set(all.iter().map(|e| (e.source.clone(), e.target.clone())), "get_all_edges")?,
        expected_edges(&[("A", "B"), ("B", "C"), ("D", "D")]),
        "one edge per unordered pair"
    );
    let ab = s.get_edge("A", "B").await.ctx("get_edge")?;
    ensure_props(&ab, &last, "the last duplicate (reversed) wins")?;
    ensure!(!ab.unwrap_or_default().contains_key("keywords"), "the first version's properties are gone");
    ensure_node(&s, "A", &node_props("node A"), "existing endpoint keeps its properties").await?;
    ensure_eq!(
        s.get_node("C").await.ctx("get_node")?,
        Some(Properties::new().with("entity_id", "C")),
        "created endpoint"
    );
    ensure_eq!(s.node_degree("D").await.ctx("node_degree")?, 2, "self-loop from a batch");
    Ok(())
}

async fn upsert_nodes_batch_with_an_invalid_last_node_writes_nothing(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    let batch = vec![
        ("Good 1".to_owned(), node_props("ok")),
        ("Good 2".to_owned(), node_props("ok")),
        ("Bad Node".to_owned(), node_props("has a NUL \u{0} byte")),
    ];
    expect_invalid(s.upsert_nodes_batch(batch).await, "Bad Node", "a NUL byte in the last node")?;
    ensure!(s.get_all_labels().await.ctx("get_all_labels")?.is_empty(), "nothing of the refused batch is stored");
    Ok(())
}

async fn upsert_edges_batch_with_an_invalid_last_edge_writes_nothing(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    let batch = vec![
        ("A".to_owned(), "B".to_owned(), edge_props("ok")),
        ("B".to_owned(), "C".to_owned(), edge_props("ok")),
        ("Bad Src".to_owned(), "Bad Tgt".to_owned(), edge_props("NUL \u{0} here")),
    ];
    let res = s.upsert_edges_batch(batch).await;
    match &res {
        Err(crate::Error::InvalidInput { input, .. }) if input.contains("Bad Src") || input.contains("Bad Tgt") => {}
        other => {
            return Err(Failed::from(format!("expected InvalidInput naming the edge Bad Src-Bad Tgt, got {other:?}")));
        }
    }
    ensure!(s.get_all_labels().await.ctx("get_all_labels")?.is_empty(), "no node of the refused batch is stored");
    ensure!(s.get_all_edges().await.ctx("get_all_edges")?.is_empty(), "no edge of the refused batch is stored");
    Ok(())
}

async fn upserts_refuse_empty_ids_and_nul_bytes(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    expect_invalid(s.upsert_node("", node_props("x")).await, "", "empty node id")?;
    expect_invalid(s.upsert_node("A\0B", node_props("x")).await, "A\0B", "NUL in the node id")?;
    expect_invalid(s.upsert_node("Nul Prop", node_props("a\u{0}b")).await, "Nul Prop", "NUL in a property")?;
    ensure!(
        matches!(s.upsert_edge("", "B", edge_props("x")).await, Err(crate::Error::InvalidInput { .. })),
        "an edge with an empty endpoint is InvalidInput"
    );
    ensure!(
        matches!(s.upsert_edge("A", "B\0", edge_props("x")).await, Err(crate::Error::InvalidInput { .. })),
        "an edge endpoint with a NUL byte is InvalidInput"
    );
    ensure!(
        matches!(s.upsert_edge("A", "B", edge_props("x\u{0}")).await, Err(crate::Error::InvalidInput { .. })),
        "an edge property with a NUL byte is InvalidInput"
    );
    ensure!(s.get_all_labels().await.ctx("get_all_labels")?.is_empty(), "nothing refused is stored");
    Ok(())
}

async fn entity_ids_at_the_limit_round_trip_and_longer_ones_are_refused_by_name(env: Arc<GraphEnv>) -> Outcome {
    use crate::graph::{MAX_ENTITY_ID_BYTES, MAX_ENTITY_ID_CHARS};
    let s = env.open().await?;
    let longest = "實".repeat(MAX_ENTITY_ID_BYTES / 3); // 1,023 bytes, 341 characters
    let at_limit = "e".repeat(MAX_ENTITY_ID_CHARS);
    for id in [&longest, &at_limit] {
        s.upsert_node(id, node_props("long")).await.ctx("upsert_node at the limit")?;
    }
    s.upsert_edge(&longest, &at_limit, edge_props("long pair")).await.ctx("upsert_edge at the limit")?;
    ensure!(s.get_node(&longest).await.ctx("get_node")?.is_some(), "the longest id reads back");
    ensure!(s.get_edge(&at_limit, &longest).await.ctx("get_edge")?.is_some(), "the long pair reads back");
    let too_many_chars = "e".repeat(MAX_ENTITY_ID_CHARS + 1);
    let too_many_bytes = "實".repeat(MAX_ENTITY_ID_BYTES / 3 + 1);
    for id in [&too_many_chars, &too_many_bytes] {
        expect_invalid(s.upsert_node(id, node_props("x")).await, id, "an over-long node id")?;
        expect_invalid(s.upsert_edge("short", id, edge_props("x")).await, id, "an over-long edge endpoint")?;
    }
    ensure!(s.get_all_labels().await.ctx("get_all_labels")?.len() == 2, "nothing refused is stored");
    Ok(())
}

async fn ids_and_properties_with_cjk_emoji_and_quotes_round_trip(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    let props =
        |id: &str| node_props(&format!("{id} — {}", TRICKY.join(" | "))).with("entity_type", "类型 'x' \"y\" $$ \\ }");
    for id in TRICKY {
        s.upsert_node(id, props(id)).await.ctx(format_args!("upsert_node({id:?})"))?;
    }
    for w in TRICKY.windows(2) {
        s.upsert_edge(w[1], w[0], edge_props(&format!("{} → {}", w[1], w[0])))
            .await
            .ctx(format_args!("upsert_edge({:?}, {:?})", w[1], w[0]))?;
    }
    for id in TRICKY {
        ensure!(s.has_node(id).await.ctx("has_node")?, "has_node({id:?})");
        ensure_node(&s, id, &props(id), &format!("node {id:?}")).await?;
    }
    for w in TRICKY.windows(2) {
        ensure!(s.has_edge(w[0], w[1]).await.ctx("has_edge")?, "has_edge({:?}, {:?})", w[0], w[1]);
        let e = s.get_edge(w[0], w[1]).await.ctx("get_edge")?;
        ensure_props(&e, &edge_props(&format!("{} → {}", w[1], w[0])), &format!("edge {:?}-{:?}", w[0], w[1]))?;
    }
    let mut labels = strings(TRICKY);
    labels.sort();
    ensure_eq!(s.get_all_labels().await.ctx("get_all_labels")?, labels, "tricky labels, code-point order");
    let mut neighbours = vec![pair(TRICKY[3], TRICKY[2]), pair(TRICKY[3], TRICKY[4])];
    neighbours.sort();
    ensure_eq!(s.get_node_edges(TRICKY[3]).await.ctx("get_node_edges")?, Some(neighbours), "edges of a tricky node");
    ensure_eq!(s.node_degree(TRICKY[4]).await.ctx("node_degree")?, 2, "degree of a tricky node");
    let kg = s.get_knowledge_graph(TRICKY[4], 1, 10).await.ctx("get_knowledge_graph from a tricky label")?;
    ensure_kg(
        &kg,
        &[TRICKY[3], TRICKY[4], TRICKY[5]],
        &[(TRICKY[3], TRICKY[4]), (TRICKY[4], TRICKY[5])],
        false,
        "knowledge graph",
    )?;
    ensure_eq!(
        s.search_labels("$$DOLLAR$$", 10).await.ctx("search_labels")?,
        strings(&["$$dollar$$ quoted"]),
        "search with $$"
    );
    ensure_eq!(
        s.search_labels("o'brien", 10).await.ctx("search_labels")?,
        strings(&["it's O'Brien"]),
        "search with a quote"
    );
    ensure_eq!(s.search_labels("中文", 10).await.ctx("search_labels")?, strings(&["实体-中文名称"]), "search in CJK");
    s.delete_node(TRICKY[5]).await.ctx("delete_node of a tricky id")?;
    ensure!(!s.has_edge(TRICKY[4], TRICKY[5]).await.ctx("has_edge")?, "its edges went with it");
    s.remove_edges(&[pair(TRICKY[1], TRICKY[0])]).await.ctx("remove_edges with tricky ids")?;
    ensure!(!s.has_edge(TRICKY[0], TRICKY[1]).await.ctx("has_edge")?, "tricky edge removed");
    Ok(())
}

async fn one_megabyte_description_round_trips_on_nodes_and_edges(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    let text = big_text(ONE_MB);
    let n = node_props("x").with("description", text.as_str());
    let e = edge_props("x").with("description", text.as_str());
    s.upsert_node("Big", n.clone()).await.ctx("upsert_node with a 1 MB description")?;
    s.upsert_edge("Big", "Small", e.clone()).await.ctx("upsert_edge with a 1 MB description")?;
    let got = s.get_node("Big").await.ctx("get_node")?;
    ensure_eq!(got.as_ref().and_then(|p| p.description()).map(str::len), Some(text.len()), "node description length");
    ensure_props(&got, &n, "1 MB node")?;
    ensure_props(&s.get_edge("Small", "Big").await.ctx("get_edge")?, &e, "1 MB edge")?;
    let kg = s.get_knowledge_graph("Big", 1, 10).await.ctx("get_knowledge_graph")?;
    ensure_kg(&kg, &["Big", "Small"], &[("Big", "Small")], false, "knowledge graph with 1 MB properties")?;
    Ok(())
}

async fn knowledge_graph_bfs_stops_at_max_depth(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    bfs_graph(&s).await?;
    let kg = s.get_knowledge_graph("S", 0, 100).await.ctx("depth 0")?;
    ensure_kg(&kg, &["S"], &[], false, "depth 0: the seed alone")?;
    let kg = s.get_knowledge_graph("S", 1, 100).await.ctx("depth 1")?;
    ensure_kg(&kg, &["S", "A", "B", "C"], &[("S", "A"), ("S", "B"), ("S", "C"), ("A", "B")], false, "depth 1")?;
    let kg = s.get_knowledge_graph("S", 2, 100).await.ctx("depth 2")?;
    let level2 = ["S", "A", "B", "C", "A1", "A2", "B1"];
    let edges2: Vec<(&str, &str)> = BFS_EDGES.iter().copied().filter(|e| *e != ("A1", "X")).collect();
    ensure_kg(&kg, &level2, &edges2, false, "depth 2")?;
    for depth in [3, 10] {
        let kg = s.get_knowledge_graph("S", depth, 100).await.ctx(format_args!("depth {depth}"))?;
        ensure_kg(
            &kg,
            &["S", "A", "B", "C", "A1", "A2", "B1", "X"],
            BFS_EDGES,
            false,
            &format!("depth {depth}: everything"),
        )?;
    }
    let kg = s.get_knowledge_graph("X", 2, 100).await.ctx("depth 2 from X")?;
    ensure_kg(&kg, &["X", "A1", "A"], &[("X", "A1"), ("A1", "A")], false, "depth 2 from a leaf")?;
    Ok(())
}

async fn knowledge_graph_bfs_admits_by_degree_then_id_and_reports_truncation(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    bfs_graph(&s).await?;
    // Level 1 is A (degree 4), B (3), C (1): two slots take A and B.
    let kg = s.get_knowledge_graph("S", 1, 3).await.ctx("depth 1, 3 nodes")?;
    ensure_kg(&kg, &["S", "A", "B"], &[("S", "A"), ("S", "B"), ("A", "B")], true, "level 1 ranked by degree")?;
    // Level 2 is A1 (2), then A2 and B1 (1 each, ties by id): one slot takes A1.
    let kg = s.get_knowledge_graph("S", 2, 5).await.ctx("depth 2, 5 nodes")?;
    let edges = [("S", "A"), ("S", "B"), ("S", "C"), ("A", "B"), ("A", "A1")];
    ensure_kg(&kg, &["S", "A", "B", "C", "A1"], &edges, true, "level 2 ranked by degree")?;
    let kg = s.get_knowledge_graph("S", 2, 6).await.ctx("depth 2, 6 nodes")?;
    let edges = [("S", "A"), ("S", "B"), ("S", "C"), ("A", "B"), ("A", "A1"), ("A", "A2")];
    ensure_kg(&kg, &["S", "A", "B", "C", "A1", "A2"], &edges, true, "degree ties broken by id (A2 before B1)")?;
    let kg = s.get_knowledge_graph("S", 3, 7).await.ctx("depth 3, 7 nodes")?;
    let edges: Vec<(&str, &str)> = BFS_EDGES.iter().copied().filter(|e| *e != ("A1", "X")).collect();
    ensure_kg(&kg, &["S", "A", "B", "C", "A1", "A2", "B1"], &edges, true, "X at depth 3 is left out")?;
    let kg = s.get_knowledge_graph("S", 5, 1).await.ctx("1 node")?;
    ensure_kg(&kg, &["S"], &[], true, "only the seed fits")?;
    // A separate component where id order and degree order disagree.
    for (a, b) in [
        ("root", "a-low"),
        ("root", "b-mid"),
        ("root", "c-high"),
        ("b-mid", "b-leaf"),
        ("c-high", "c-leaf1"),
        ("c-high", "c-leaf2"),
    ] {
        s.upsert_edge(a, b, edge_props("e")).await.ctx(format_args!("upsert_edge({a}, {b})"))?;
    }
    let kg = s.get_knowledge_graph("root", 1, 3).await.ctx("root, depth 1, 3 nodes")?;
    ensure_kg(
        &kg,
        &["root", "c-high", "b-mid"],
        &[("root", "c-high"), ("root", "b-mid")],
        true,
        "highest degree first, not lowest id",
    )?;
    let kg = s.get_knowledge_graph("root", 2, 5).await.ctx("root, depth 2, 5 nodes")?;
    let edges = [("root", "a-low"), ("root", "b-mid"), ("root", "c-high"), ("b-mid", "b-leaf")];
    ensure_kg(&kg, &["root", "a-low", "b-mid", "c-high", "b-leaf"], &edges, true, "equal-degree leaves taken by id")?;
    Ok(())
}

async fn knowledge_graph_is_not_truncated_when_the_limit_fits_exactly(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    bfs_graph(&s).await?;
    let kg = s.get_knowledge_graph("S", 1, 4).await.ctx("depth 1, 4 nodes")?;
    ensure_kg(
        &kg,
        &["S", "A", "B", "C"],
        &[("S", "A"), ("S", "B"), ("S", "C"), ("A", "B")],
        false,
        "level 1 fits exactly",
    )?;
    let kg = s.get_knowledge_graph("S", 3, 8).await.ctx("depth 3, 8 nodes")?;
    ensure_kg(&kg, &["S", "A", "B", "C", "A1", "A2", "B1", "X"], BFS_EDGES, false, "the whole graph fits exactly")?;
    // Nodes beyond max_depth do not count as left out.
    let kg = s.get_knowledge_graph("S", 2, 7).await.ctx("depth 2, 7 nodes")?;
    let edges: Vec<(&str, &str)> = BFS_EDGES.iter().copied().filter(|e| *e != ("A1", "X")).collect();
    ensure_kg(&kg, &["S", "A", "B", "C", "A1", "A2", "B1"], &edges, false, "X is beyond max_depth, not truncated")?;
    let kg = s.get_knowledge_graph("C", 0, 1).await.ctx("depth 0, 1 node")?;
    ensure_kg(&kg, &["C"], &[], false, "the seed alone at depth 0")?;
    Ok(())
}

async fn knowledge_graph_edges_are_the_induced_subgraph_of_the_returned_nodes(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    bfs_graph(&s).await?;
    s.upsert_edge("C", "C", edge_props("self")).await.ctx("self-loop on C")?;
    s.upsert_edge("B1", "A2", edge_props("cross")).await.ctx("edge between two level-2 nodes")?;
    // Degrees now: A 4, S 3, B 3, C 3, A1 2, A2 2, B1 2, X 1.
    let kg = s.get_knowledge_graph("S", 1, 100).await.ctx("depth 1")?;
    let edges = [("S", "A"), ("S", "B"), ("S", "C"), ("A", "B"), ("C", "C")];
    ensure_kg(&kg, &["S", "A", "B", "C"], &edges, false, "edges among level-1 nodes and the self-loop")?;
    let kg = s.get_knowledge_graph("S", 2, 100).await.ctx("depth 2")?;
    let mut edges: Vec<(&str, &str)> = BFS_EDGES.iter().copied().filter(|e| *e != ("A1", "X")).collect();
    edges.extend([("C", "C"), ("B1", "A2")]);
    ensure_kg(&kg, &["S", "A", "B", "C", "A1", "A2", "B1"], &edges, false, "edges between same-level nodes")?;
    for e in &kg.edges {
        let props = s.get_edge(&e.source, &e.target).await.ctx("get_edge")?;
        ensure_eq!(Some(&e.properties), props.as_ref(), "properties of knowledge-graph edge {}", e.id);
    }
    for n in &kg.nodes {
        let props = s.get_node(&n.id).await.ctx("get_node")?;
        ensure_eq!(Some(&n.properties), props.as_ref(), "properties of knowledge-graph node {}", n.id);
    }
    Ok(())
}

async fn knowledge_graph_star_takes_the_highest_degree_nodes(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    bfs_graph(&s).await?;
    s.upsert_node("Isolated", node_props("alone")).await.ctx("upsert_node")?;
    // Ranking: A 4, B 3, S 3 (tie by id), A1 2, then A2, B1, C, X (1), Isolated (0).
    let kg = s.get_knowledge_graph("*", 3, 3).await.ctx("* with 3 nodes")?;
    ensure_kg(&kg, &["A", "B", "S"], &[("S", "A"), ("S", "B"), ("A", "B")], true, "* top 3")?;
    let kg = s.get_knowledge_graph("*", 3, 5).await.ctx("* with 5 nodes")?;
    let edges = [("S", "A"), ("S", "B"), ("A", "B"), ("A", "A1"), ("A", "A2")];
    ensure_kg(&kg, &["A", "B", "S", "A1", "A2"], &edges, true, "* top 5 (ties by id)")?;
    let all = ["S", "A", "B", "C", "A1", "A2", "B1", "X", "Isolated"];
    let kg = s.get_knowledge_graph("*", 3, 9).await.ctx("* with 9 nodes")?;
    ensure_kg(&kg, &all, BFS_EDGES, false, "* exactly fits")?;
    let kg = s.get_knowledge_graph("*", 1, 1000).await.ctx("* with room to spare")?;
    ensure_kg(&kg, &all, BFS_EDGES, false, "* ignores max_depth")?;
    Ok(())
}

async fn knowledge_graph_of_an_unknown_label_is_empty(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    let kg = s.get_knowledge_graph("*", 3, 10).await.ctx("* on an empty graph")?;
    ensure_kg(&kg, &[], &[], false, "* on an empty graph")?;
    bfs_graph(&s).await?;
    let kg = s.get_knowledge_graph("Nobody", 3, 10).await.ctx("unknown label")?;
    ensure_kg(&kg, &[], &[], false, "unknown label")?;
    let kg = s.get_knowledge_graph("s", 3, 10).await.ctx("label in another case")?;
    ensure_kg(&kg, &[], &[], false, "labels are matched exactly")?;
    Ok(())
}

async fn get_popular_labels_ranks_by_degree_then_id_with_isolated_nodes_last(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    ensure!(s.get_popular_labels(10).await.ctx("get_popular_labels on an empty graph")?.is_empty(), "empty graph");
    for id in ["iso-z", "iso-a"] {
        s.upsert_node(id, node_props(id)).await.ctx("upsert_node")?;
    }
    for (a, b) in [("hub", "n-a"), ("n-b", "hub"), ("hub", "n-c"), ("n-b", "n-c")] {
        s.upsert_edge(a, b, edge_props("e")).await.ctx(format_args!("upsert_edge({a}, {b})"))?;
    }
    let all = strings(&["hub", "n-b", "n-c", "n-a", "iso-a", "iso-z"]);
    ensure_eq!(
        s.get_popular_labels(100).await.ctx("get_popular_labels(100)")?,
        all,
        "degree desc, id asc, isolated last"
    );
    ensure_eq!(s.get_popular_labels(3).await.ctx("get_popular_labels(3)")?, all[..3].to_vec(), "limit 3");
    ensure_eq!(
        s.get_popular_labels(5).await.ctx("get_popular_labels(5)")?,
        all[..5].to_vec(),
        "limit reaching isolated nodes"
    );
    ensure!(s.get_popular_labels(0).await.ctx("get_popular_labels(0)")?.is_empty(), "limit 0");
    Ok(())
}

async fn search_labels_ranks_exact_then_prefix_then_substring(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    // Both prefix matches have 8 characters, so "shorter first" and "ties by label"
    // agree; the substring matches differ in length.
    for id in ["xcorex-long", "unrelated", "coresets", "hardcore", "core", "corepack", "cor"] {
        s.upsert_node(id, node_props(id)).await.ctx(format_args!("upsert_node({id})"))?;
    }
    let want = strings(&["core", "corepack", "coresets", "hardcore", "xcorex-long"]);
    ensure_eq!(
        s.search_labels("core", 50).await.ctx("search_labels(core)")?,
        want,
        "exact, prefix, then shorter substring"
    );
    ensure_eq!(s.search_labels("core", 3).await.ctx("search_labels(core, 3)")?, want[..3].to_vec(), "limit 3");
    ensure_eq!(
        s.search_labels("unrelated", 50).await.ctx("search_labels")?,
        strings(&["unrelated"]),
        "single exact match"
    );
    ensure!(s.search_labels("zzz", 50).await.ctx("search_labels(zzz)")?.is_empty(), "no match");
    Ok(())
}

async fn search_labels_is_case_insensitive_and_trims_the_query(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    for id in ["MixedCase", "mixedcase tool", "Other"] {
        s.upsert_node(id, node_props(id)).await.ctx(format_args!("upsert_node({id})"))?;
    }
    let want = strings(&["MixedCase", "mixedcase tool"]);
    ensure_eq!(s.search_labels("mixedcase", 10).await.ctx("search_labels")?, want, "lower-case query");
    ensure_eq!(s.search_labels("  MIXEDCASE \t", 10).await.ctx("search_labels")?, want, "upper-case query with blanks");
    ensure_eq!(s.search_labels("oTHEr", 10).await.ctx("search_labels")?, strings(&["Other"]), "labels keep their case");
    Ok(())
}

async fn search_labels_treats_percent_and_underscore_literally(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    for id in ["50%_off", "50_off", "500ff", "50 off", "5x0yoff"] {
        s.upsert_node(id, node_props(id)).await.ctx(format_args!("upsert_node({id})"))?;
    }
    ensure_eq!(s.search_labels("%_", 10).await.ctx("search_labels(%_)")?, strings(&["50%_off"]), "% and _ together");
    ensure_eq!(s.search_labels("0%", 10).await.ctx("search_labels(0%)")?, strings(&["50%_off"]), "% is not a wildcard");
    ensure_eq!(
        s.search_labels("0_o", 10).await.ctx("search_labels(0_o)")?,
        strings(&["50_off"]),
        "_ is not a wildcard"
    );
    ensure!(
        s.search_labels("%", 10).await.ctx("search_labels(%)")?.len() == 1,
        "a lone % matches only labels containing %"
    );
    Ok(())
}

async fn search_labels_of_a_blank_query_is_empty(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert_node("Alice", node_props("a")).await.ctx("upsert_node")?;
    for q in ["", "   ", "\t\n"] {
        ensure!(
            s.search_labels(q, 10).await.ctx(format_args!("search_labels({q:?})"))?.is_empty(),
            "blank query {q:?}"
        );
    }
    ensure!(s.search_labels("alice", 0).await.ctx("search_labels(alice, 0)")?.is_empty(), "limit 0");
    Ok(())
}

async fn drop_all_leaves_other_workspaces_intact(env: Arc<GraphEnv>) -> Outcome {
    let other_ws = env.other_workspace();
    let mine = env.open().await?;
    let other = env.open_in(&other_ws).await?;
    for s in [&mine, &other] {
        s.upsert_node("Alice", node_props("a")).await.ctx("upsert_node")?;
        s.upsert_edge("Alice", "Bob", edge_props("e")).await.ctx("upsert_edge")?;
    }
    mine.upsert_edge("Carol", "Dave", edge_props("only mine")).await.ctx("upsert_edge")?;
    ensure!(!other.has_node("Carol").await.ctx("has_node")?, "the other workspace does not see my nodes");
    mine.drop_all().await.ctx("drop_all")?;
    ensure!(mine.get_all_labels().await.ctx("get_all_labels")?.is_empty(), "my graph is empty");
    ensure!(mine.get_all_edges().await.ctx("get_all_edges")?.is_empty(), "my edges are gone");
    ensure_eq!(mine.node_degree("Alice").await.ctx("node_degree")?, 0, "degree after drop_all");
    ensure_eq!(
        other.get_all_labels().await.ctx("get_all_labels other")?,
        strings(&["Alice", "Bob"]),
        "other workspace intact"
    );
    ensure!(other.has_edge("Bob", "Alice").await.ctx("has_edge other")?, "other workspace's edge intact");
    ensure_node(&other, "Alice", &node_props("a"), "other workspace's node").await?;
    mine.upsert_edge("X", "Y", edge_props("after")).await.ctx("upsert_edge after drop_all")?;
    ensure!(mine.has_edge("Y", "X").await.ctx("has_edge")?, "the graph is usable after drop_all");
    Ok(())
}

async fn lifecycle_calls_succeed_and_are_idempotent(env: Arc<GraphEnv>) -> Outcome {
    // Opened without cleanup tracking: this case finalizes the storage itself.
    let s = env.factory.open(&env.ws).await.ctx("open")?;
    ensure_eq!(s.namespace(), Namespace::Graph, "namespace()");
    ensure_eq!(s.namespace().as_str(), "chunk_entity_relation", "namespace string");
    ensure_eq!(s.workspace(), &env.ws, "workspace()");
    s.initialize().await.ctx("second initialize")?;
    s.upsert_edge("A", "B", edge_props("e")).await.ctx("upsert_edge")?;
    s.index_done_callback().await.ctx("index_done_callback")?;
    ensure!(s.has_edge("B", "A").await.ctx("has_edge")?, "edge stored");
    s.drop_all().await.ctx("drop_all")?;
    s.drop_all().await.ctx("drop_all twice")?;
    ensure!(s.get_all_labels().await.ctx("get_all_labels")?.is_empty(), "empty after drop_all");
    s.finalize().await.ctx("finalize")?;
    s.finalize().await.ctx("finalize twice")?;
    Ok(())
}

async fn concurrent_upserts_of_one_pair_in_both_directions_leave_one_edge(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    let mut tasks = Vec::new();
    for t in 0..8_i64 {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            for i in 0..5_i64 {
                let props = Properties::new().with("writer", t).with("round", i);
                if (t + i) % 2 == 0 {
                    s.upsert_edge("P", "Q", props).await?;
                } else {
                    s.upsert_edge("Q", "P", props).await?;
                }
            }
            crate::Result::Ok(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| Failed::from(format!("task panicked: {e}")))?.ctx("concurrent upsert_edge")?;
    }
    let all = s.get_all_edges().await.ctx("get_all_edges")?;
    ensure_eq!(all.len(), 1, "exactly one edge for the pair: {all:?}");
    ensure_eq!(s.node_degree("P").await.ctx("node_degree")?, 1, "degree of P");
    ensure_eq!(s.node_degree("Q").await.ctx("node_degree")?, 1, "degree of Q");
    ensure_eq!(s.get_all_labels().await.ctx("get_all_labels")?, strings(&["P", "Q"]), "two nodes");
    let props = s.get_edge("P", "Q").await.ctx("get_edge")?.unwrap_or_default();
    ensure!(props.get("writer").and_then(Value::as_i64).is_some(), "the edge holds one writer's properties: {props:?}");
    Ok(())
}

async fn concurrent_edges_on_one_hub_are_all_counted(env: Arc<GraphEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert_node("hub", node_props("the hub")).await.ctx("upsert_node")?;
    let mut tasks = Vec::new();
    for t in 0..8 {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let leaf = format!("leaf-{t}-{i}");
                s.upsert_edge("hub", &leaf, Properties::new().with("weight", 1.0)).await?;
                s.upsert_node(&leaf, Properties::new().with("description", json!(format!("leaf {t}/{i}")))).await?;
            }
            crate::Result::Ok(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| Failed::from(format!("task panicked: {e}")))?.ctx("concurrent upserts")?;
    }
    ensure_eq!(s.node_degree("hub").await.ctx("node_degree")?, 80, "every concurrent edge counts");
    ensure_node(&s, "hub", &node_props("the hub"), "the hub keeps its properties").await?;
    ensure_eq!(s.get_all_labels().await.ctx("get_all_labels")?.len(), 81, "hub and 80 leaves");
    ensure_eq!(
        s.get_popular_labels(1).await.ctx("get_popular_labels")?,
        strings(&["hub"]),
        "the hub is the most popular"
    );
    Ok(())
}
