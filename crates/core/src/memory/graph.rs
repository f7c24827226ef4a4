//! [`MemoryGraphStorage`]: the undirected knowledge graph in process memory.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::RwLock;
use serde_json::Value;

use super::Registry;
use crate::graph::{canonical_pair, validate_edge, validate_node};
use crate::storage::EdgePair;
use crate::{
    EdgeRecord, GraphStorage, KnowledgeGraph, KnowledgeGraphEdge, KnowledgeGraphNode, Namespace, Properties, Result,
    Storage, Workspace,
};

/// The nodes and edges of one workspace. Edges are keyed by their canonical
/// (code-point ordered) pair, so there is one edge per unordered pair.
#[derive(Debug, Default)]
struct GraphData {
    nodes: BTreeMap<String, Properties>,
    edges: BTreeMap<(String, String), Properties>,
    /// Neighbours of every node (a self-loop lists the node itself).
    adjacency: HashMap<String, BTreeSet<String>>,
}

impl GraphData {
    fn degree(&self, id: &str) -> usize {
        self.adjacency.get(id).map_or(0, |n| n.len() + usize::from(n.contains(id)))
    }

    fn edge_key(a: &str, b: &str) -> (String, String) {
        let (lo, hi) = canonical_pair(a, b);
        (lo.to_owned(), hi.to_owned())
    }

    fn merge_node(&mut self, id: &str, properties: Properties) {
        let node = self.nodes.entry(id.to_owned()).or_default();
        node.0.extend(properties.0);
        node.0.insert("entity_id".to_owned(), Value::String(id.to_owned()));
    }

    fn ensure_node(&mut self, id: &str) {
        if !self.nodes.contains_key(id) {
            self.merge_node(id, Properties::new());
        }
    }

    fn put_edge(&mut self, a: &str, b: &str, properties: Properties) {
        self.ensure_node(a);
        self.ensure_node(b);
        self.edges.insert(Self::edge_key(a, b), properties);
        self.adjacency.entry(a.to_owned()).or_default().insert(b.to_owned());
        self.adjacency.entry(b.to_owned()).or_default().insert(a.to_owned());
    }

    fn remove_edge(&mut self, a: &str, b: &str) {
        if self.edges.remove(&Self::edge_key(a, b)).is_some() {
            for (x, y) in [(a, b), (b, a)] {
                if let Some(n) = self.adjacency.get_mut(x) {
                    n.remove(y);
                }
            }
        }
    }

    fn remove_node(&mut self, id: &str) {
        if self.nodes.remove(id).is_none() {
            return;
        }
        for other in self.adjacency.remove(id).unwrap_or_default() {
            self.edges.remove(&Self::edge_key(id, &other));
            if let Some(n) = self.adjacency.get_mut(&other) {
                n.remove(id);
            }
        }
    }

    fn node_edges(&self, id: &str) -> Option<Vec<EdgePair>> {
        self.nodes.contains_key(id).then(|| {
            self.adjacency
                .get(id)
                .map(|n| n.iter().map(|other| (id.to_owned(), other.clone())).collect())
                .unwrap_or_default()
        })
    }

    /// Node ids by degree descending, ties by id ascending (code point).
    fn ranked<'a>(&self, ids: impl IntoIterator<Item = &'a String>) -> Vec<&'a String> {
        let mut v: Vec<(usize, &String)> = ids.into_iter().map(|id| (self.degree(id), id)).collect();
        v.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        v.into_iter().map(|(_, id)| id).collect()
    }

    fn subgraph(&self, selected: Vec<String>, is_truncated: bool) -> KnowledgeGraph {
        let members: HashSet<&str> = selected.iter().map(String::as_str).collect();
        let edges = self
            .edges
            .iter()
            .filter(|((a, b), _)| members.contains(a.as_str()) && members.contains(b.as_str()))
            .map(|((a, b), p)| KnowledgeGraphEdge {
                id: format!("{a}-{b}"),
                edge_type: Some("DIRECTED".to_owned()),
                source: a.clone(),
                target: b.clone(),
                properties: p.clone(),
            })
            .collect();
        let nodes = selected
            .into_iter()
            .map(|id| KnowledgeGraphNode {
                labels: vec![id.clone()],
                properties: self.nodes.get(&id).cloned().unwrap_or_default(),
                id,
            })
            .collect();
        KnowledgeGraph { nodes, edges, is_truncated }
    }

    fn knowledge_graph(&self, label: &str, max_depth: usize, max_nodes: usize) -> KnowledgeGraph {
        if label == "*" {
            let ranked = self.ranked(self.nodes.keys());
            let is_truncated = ranked.len() > max_nodes;
            let selected = ranked.into_iter().take(max_nodes).cloned().collect();
            return self.subgraph(selected, is_truncated);
        }
        if !self.nodes.contains_key(label) {
            return KnowledgeGraph::default();
        }
        if max_nodes == 0 {
            return KnowledgeGraph { is_truncated: true, ..KnowledgeGraph::default() };
        }
        let mut selected = vec![label.to_owned()];
        let mut visited: HashSet<String> = HashSet::from([label.to_owned()]);
        let mut frontier = vec![label.to_owned()];
        let mut is_truncated = false;
        let mut depth = 0;
        while depth < max_depth && !frontier.is_empty() {
            let candidates: BTreeSet<&String> = frontier
                .iter()
                .filter_map(|id| self.adjacency.get(id))
                .flatten()
                .filter(|n| !visited.contains(n.as_str()))
                .collect();
            let mut level = self.ranked(candidates);
            let room = max_nodes - selected.len();
            if level.len() > room {
                is_truncated = true;
                level.truncate(room);
            }
            frontier = level.into_iter().cloned().collect();
            for id in &frontier {
                visited.insert(id.clone());
                selected.push(id.clone());
            }
            if is_truncated {
                break;
            }
            depth += 1;
        }
        self.subgraph(selected, is_truncated)
    }

    fn search_labels(&self, query: &str, limit: usize) -> Vec<String> {
        let q = query.trim().to_lowercase();
        if q.is_empty() {
            return Vec::new();
        }
        let boundary = [format!(" {q}"), format!("_{q}")];
        let mut hits: Vec<(i64, &String)> = self
            .nodes
            .keys()
            .filter_map(|label| {
                let lower = label.to_lowercase();
                if !lower.contains(&q) {
                    return None;
                }
                let score = if lower == q {
                    1000
                } else if lower.starts_with(&q) {
                    500
                } else {
                    let len = i64::try_from(label.chars().count()).unwrap_or(i64::MAX);
                    let bonus = if boundary.iter().any(|b| lower.contains(b.as_str())) { 50 } else { 0 };
                    100 - len + bonus
                };
                Some((score, label))
            })
            .collect();
        hits.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        hits.into_iter().take(limit).map(|(_, l)| l.clone()).collect()
    }
}

/// Per-workspace graph state.
#[derive(Debug, Default)]
struct GraphTable {
    data: RwLock<GraphData>,
}

static GRAPHS: Registry<Workspace, GraphTable> = Registry::new();

/// Graph storage (LightRAG's `BaseGraphStorage`) in process memory, with the
/// semantics of the table engine (spec §10.3).
///
/// * Undirected: one edge per unordered pair; `get_all_edges` and knowledge-graph
///   edges list it in canonical (code-point) order, id `"{source}-{target}"`, type
///   `DIRECTED`.
/// * Node properties are merged on upsert, edge properties replaced; an edge upsert
///   creates missing endpoints with only `entity_id`.
/// * Degree counts incident edges, a self-loop twice.
/// * `get_knowledge_graph(label, depth, n)` is a breadth-first search from `label`
///   that admits each level's new neighbours by degree descending then id, until
///   `n` nodes; `"*"` takes the `n` highest-degree nodes (ties by id). The edges are
///   the subgraph induced by the returned nodes. `is_truncated` is true exactly when
///   a qualifying node was left out.
/// * `search_labels(q)`: `q` is trimmed and lower-cased; labels containing it
///   (literally: `%` and `_` are ordinary characters), case-insensitively, score
///   1000 when equal, 500 when they start with it, otherwise `100 − length`, plus 50
///   when `q` follows a space or an underscore (substring tier only); best score
///   first, ties by label (code point). A blank query gives `[]`.
///
/// Every workspace has its own graph, shared by all instances in the process.
pub struct MemoryGraphStorage {
    ws: Workspace,
    table: Arc<GraphTable>,
}

impl fmt::Debug for MemoryGraphStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let data = self.table.data.read();
        f.debug_struct("MemoryGraphStorage")
            .field("workspace", &self.ws)
            .field("nodes", &data.nodes.len())
            .field("edges", &data.edges.len())
            .finish()
    }
}

impl MemoryGraphStorage {
    /// The graph of `ws`, shared with every other instance of the same workspace in
    /// this process.
    pub fn new(ws: Workspace) -> Self {
        let table = GRAPHS.shared(ws.clone());
        Self { ws, table }
    }
}

#[async_trait]
impl Storage for MemoryGraphStorage {
    fn namespace(&self) -> Namespace {
        Namespace::Graph
    }

    fn workspace(&self) -> &Workspace {
        &self.ws
    }

    async fn initialize(&self) -> Result<()> {
        Ok(())
    }

    async fn drop_all(&self) -> Result<()> {
        *self.table.data.write() = GraphData::default();
        Ok(())
    }
}

#[async_trait]
impl GraphStorage for MemoryGraphStorage {
    async fn has_node(&self, id: &str) -> Result<bool> {
        Ok(self.table.data.read().nodes.contains_key(id))
    }

    async fn has_edge(&self, a: &str, b: &str) -> Result<bool> {
        Ok(self.table.data.read().edges.contains_key(&GraphData::edge_key(a, b)))
    }

    async fn node_degree(&self, id: &str) -> Result<usize> {
        Ok(self.table.data.read().degree(id))
    }

    async fn get_node(&self, id: &str) -> Result<Option<Properties>> {
        Ok(self.table.data.read().nodes.get(id).cloned())
    }

    async fn get_edge(&self, a: &str, b: &str) -> Result<Option<Properties>> {
        Ok(self.table.data.read().edges.get(&GraphData::edge_key(a, b)).cloned())
    }

    async fn get_node_edges(&self, id: &str) -> Result<Option<Vec<EdgePair>>> {
        Ok(self.table.data.read().node_edges(id))
    }

    async fn upsert_node(&self, id: &str, properties: Properties) -> Result<()> {
        validate_node(id, &properties)?;
        self.table.data.write().merge_node(id, properties);
        Ok(())
    }

    async fn upsert_edge(&self, a: &str, b: &str, properties: Properties) -> Result<()> {
        validate_edge(a, b, &properties)?;
        self.table.data.write().put_edge(a, b, properties);
        Ok(())
    }

    async fn delete_node(&self, id: &str) -> Result<()> {
        self.table.data.write().remove_node(id);
        Ok(())
    }

    async fn remove_nodes(&self, ids: &[String]) -> Result<()> {
        let mut data = self.table.data.write();
        for id in ids {
            data.remove_node(id);
        }
        Ok(())
    }

    async fn remove_edges(&self, pairs: &[EdgePair]) -> Result<()> {
        let mut data = self.table.data.write();
        for (a, b) in pairs {
            data.remove_edge(a, b);
        }
        Ok(())
    }

    async fn get_all_labels(&self) -> Result<Vec<String>> {
        Ok(self.table.data.read().nodes.keys().cloned().collect())
    }

    async fn get_knowledge_graph(&self, label: &str, max_depth: usize, max_nodes: usize) -> Result<KnowledgeGraph> {
        Ok(self.table.data.read().knowledge_graph(label, max_depth, max_nodes))
    }

    async fn get_all_nodes(&self) -> Result<Vec<Properties>> {
        Ok(self.table.data.read().nodes.values().cloned().collect())
    }

    async fn get_all_edges(&self) -> Result<Vec<EdgeRecord>> {
        Ok(self
            .table
            .data
            .read()
            .edges
            .iter()
            .map(|((a, b), p)| EdgeRecord { source: a.clone(), target: b.clone(), properties: p.clone() })
            .collect())
    }

    async fn get_popular_labels(&self, limit: usize) -> Result<Vec<String>> {
        let data = self.table.data.read();
        Ok(data.ranked(data.nodes.keys()).into_iter().take(limit).cloned().collect())
    }

    async fn search_labels(&self, query: &str, limit: usize) -> Result<Vec<String>> {
        Ok(self.table.data.read().search_labels(query, limit))
    }

    async fn get_nodes_batch(&self, ids: &[String]) -> Result<HashMap<String, Properties>> {
        let data = self.table.data.read();
        Ok(ids.iter().filter_map(|id| data.nodes.get(id).map(|p| (id.clone(), p.clone()))).collect())
    }

    async fn node_degrees_batch(&self, ids: &[String]) -> Result<HashMap<String, usize>> {
        let data = self.table.data.read();
        Ok(ids.iter().map(|id| (id.clone(), data.degree(id))).collect())
    }

    async fn get_edges_batch(&self, pairs: &[EdgePair]) -> Result<HashMap<EdgePair, Properties>> {
        let data = self.table.data.read();
        Ok(pairs
            .iter()
            .filter_map(|(a, b)| {
                data.edges.get(&GraphData::edge_key(a, b)).map(|p| ((a.clone(), b.clone()), p.clone()))
            })
            .collect())
    }

    async fn get_nodes_edges_batch(&self, ids: &[String]) -> Result<HashMap<String, Vec<EdgePair>>> {
        let data = self.table.data.read();
        Ok(ids.iter().map(|id| (id.clone(), data.node_edges(id).unwrap_or_default())).collect())
    }

    async fn upsert_nodes_batch(&self, nodes: Vec<(String, Properties)>) -> Result<()> {
        for (id, p) in &nodes {
            validate_node(id, p)?;
        }
        let mut data = self.table.data.write();
        for (id, p) in nodes {
            data.merge_node(&id, p);
        }
        Ok(())
    }

    async fn upsert_edges_batch(&self, edges: Vec<(String, String, Properties)>) -> Result<()> {
        for (a, b, p) in &edges {
            validate_edge(a, b, p)?;
        }
        let mut data = self.table.data.write();
        for (a, b, p) in edges {
            data.put_edge(&a, &b, p);
        }
        Ok(())
    }
}
