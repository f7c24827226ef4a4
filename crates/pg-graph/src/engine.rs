//! What an engine must provide, and the one implementation of [`Storage`] and
//! [`GraphStorage`] both engines share on top of it.
//!
//! An [`Engine`] implements the batch calls and the few single-item ones it
//! answers differently (an index probe on the table engine, say); everything
//! else — the single-item calls answered by a batch call, degrees, the
//! knowledge-graph search, input trimming — is written once here. The
//! [`graph_storage!`] macro implements the two public traits for an engine,
//! every call in a span that names the engine and timed: the traits are
//! foreign, so a blanket implementation over `Engine` is not allowed.
//!
//! [`Storage`]: lightrag_pg_core::Storage
//! [`GraphStorage`]: lightrag_pg_core::GraphStorage

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use lightrag_pg_core::storage::EdgePair;
use lightrag_pg_core::{EdgeRecord, Properties, Result, Workspace};

use crate::common::KgSource;

/// One graph engine's own work, untimed and outside any span. Ids and pairs
/// arrive as the caller gave them: an engine drops those that cannot exist
/// (see [`lightrag_pg_core::ids::lookup`]) itself.
#[async_trait]
pub(crate) trait Engine: KgSource {
    /// The effective workspace.
    fn ws(&self) -> &Workspace;

    /// Creates what the engine needs in the database (idempotent).
    async fn do_initialize(&self) -> Result<()>;
    /// Removes every node and edge of the workspace.
    async fn do_drop(&self) -> Result<()>;

    /// The properties of the ids that exist.
    async fn do_get_nodes(&self, ids: &[String]) -> Result<HashMap<String, Properties>>;
    /// The ids that exist, of `ids` (non-empty, can all exist).
    async fn do_has_nodes(&self, ids: &[&str]) -> Result<HashSet<String>>;
    /// The degree of every requested id (0 for unknown ones).
    async fn do_node_degrees(&self, ids: &[String]) -> Result<HashMap<String, usize>>;
    /// The properties of the edges that exist, keyed as requested.
    async fn do_get_edges(&self, pairs: &[EdgePair]) -> Result<HashMap<EdgePair, Properties>>;
    /// `(id, neighbour)` pairs of each distinct requested id, sorted by
    /// neighbour (`[]` for an unknown id).
    async fn do_nodes_edges(&self, ids: &[String]) -> Result<HashMap<String, Vec<EdgePair>>>;
    /// `get_node_edges` of one id: `None` when the node does not exist.
    async fn do_node_edges(&self, id: &str) -> Result<Option<Vec<EdgePair>>>;
    /// Every entity id, sorted by code point.
    async fn do_all_labels(&self) -> Result<Vec<String>>;
    /// Every node's properties, sorted by entity id.
    async fn do_all_nodes(&self) -> Result<Vec<Properties>>;
    /// Every edge once, sorted by `(source, target)`.
    async fn do_all_edges(&self) -> Result<Vec<EdgeRecord>>;
    /// `search_labels` of a trimmed, non-blank query that can exist, `limit > 0`.
    async fn do_search(&self, query: &str, limit: usize) -> Result<Vec<String>>;

    /// Validates, merges and writes nodes in one transaction.
    async fn do_upsert_nodes(&self, nodes: Vec<(String, Properties)>) -> Result<()>;
    /// Validates and writes edges (creating missing endpoints) in one transaction.
    async fn do_upsert_edges(&self, edges: Vec<(String, String, Properties)>) -> Result<()>;
    /// Deletes nodes and their edges in one transaction.
    async fn do_remove_nodes(&self, ids: &[String]) -> Result<()>;
    /// Deletes undirected edges in one transaction.
    async fn do_remove_edges(&self, pairs: &[EdgePair]) -> Result<()>;

    /// Whether the undirected edge exists (by default through
    /// [`Engine::do_get_edges`]).
    async fn do_has_edge(&self, a: &str, b: &str) -> Result<bool> {
        Ok(!self.do_get_edges(&[(a.to_owned(), b.to_owned())]).await?.is_empty())
    }

    /// One node's properties (by default through [`Engine::do_get_nodes`]).
    async fn do_get_node(&self, id: &str) -> Result<Option<Properties>> {
        Ok(self.do_get_nodes(&[id.to_owned()]).await?.remove(id))
    }

    /// One edge's properties (by default through [`Engine::do_get_edges`]).
    async fn do_get_edge(&self, a: &str, b: &str) -> Result<Option<Properties>> {
        let pair = (a.to_owned(), b.to_owned());
        Ok(self.do_get_edges(std::slice::from_ref(&pair)).await?.remove(&pair))
    }

    /// The sum of the endpoints' degrees, per pair.
    async fn do_edge_degrees(&self, pairs: &[EdgePair]) -> Result<HashMap<EdgePair, usize>> {
        let ids: Vec<String> = pairs.iter().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
        let deg = self.do_node_degrees(&ids).await?;
        Ok(pairs.iter().map(|(a, b)| ((a.clone(), b.clone()), deg[a] + deg[b])).collect())
    }
}

/// Implements [`lightrag_pg_core::Storage`] and [`lightrag_pg_core::GraphStorage`]
/// for an [`Engine`]: `graph_storage!(Type, "name")`, the name being the span
/// field `engine`.
macro_rules! graph_storage {
    ($ty:ty, $engine:tt) => {
        const _: () = {
            use std::collections::{HashMap, HashSet};

            use lightrag_pg_core::storage::EdgePair;
            use lightrag_pg_core::{
                EdgeRecord, GraphStorage, KnowledgeGraph, Namespace, Properties, Result, Storage, Workspace, ids,
            };

            use tracing::field::Empty;
            use $crate::common::{KgSource, knowledge_graph, timed};
            use $crate::engine::Engine;

            const NS: &str = Namespace::GRAPH;

            #[async_trait::async_trait]
            impl Storage for $ty {
                fn namespace(&self) -> Namespace {
                    Namespace::Graph
                }

                fn workspace(&self) -> &Workspace {
                    Engine::ws(self)
                }

                #[tracing::instrument(
                            skip_all,
                            // `graph`: the AGE engine records its graph's name.
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), graph = Empty)
                        )]
                async fn initialize(&self) -> Result<()> {
                    timed(self.do_initialize()).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace())
                        )]
                async fn drop_all(&self) -> Result<()> {
                    timed(self.do_drop()).await
                }
            }

            #[async_trait::async_trait]
            impl GraphStorage for $ty {
                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = 1)
                        )]
                async fn has_node(&self, id: &str) -> Result<bool> {
                    timed(self.kg_has_node(id)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = 1)
                        )]
                async fn has_edge(&self, a: &str, b: &str) -> Result<bool> {
                    timed(self.do_has_edge(a, b)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = 1)
                        )]
                async fn node_degree(&self, id: &str) -> Result<usize> {
                    timed(async { Ok(self.do_node_degrees(&[id.to_owned()]).await?.get(id).copied().unwrap_or(0)) })
                        .await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = 2)
                        )]
                async fn edge_degree(&self, a: &str, b: &str) -> Result<usize> {
                    timed(async {
                        let d = self.do_node_degrees(&[a.to_owned(), b.to_owned()]).await?;
                        Ok(d.get(a).copied().unwrap_or(0) + d.get(b).copied().unwrap_or(0))
                    })
                    .await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = 1)
                        )]
                async fn get_node(&self, id: &str) -> Result<Option<Properties>> {
                    timed(self.do_get_node(id)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = 1)
                        )]
                async fn get_edge(&self, a: &str, b: &str) -> Result<Option<Properties>> {
                    timed(self.do_get_edge(a, b)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = 1)
                        )]
                async fn get_node_edges(&self, id: &str) -> Result<Option<Vec<EdgePair>>> {
                    timed(self.do_node_edges(id)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = 1)
                        )]
                async fn upsert_node(&self, id: &str, properties: Properties) -> Result<()> {
                    timed(self.do_upsert_nodes(vec![(id.to_owned(), properties)])).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = 1)
                        )]
                async fn upsert_edge(&self, a: &str, b: &str, properties: Properties) -> Result<()> {
                    timed(self.do_upsert_edges(vec![(a.to_owned(), b.to_owned(), properties)])).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = 1)
                        )]
                async fn delete_node(&self, id: &str) -> Result<()> {
                    timed(self.do_remove_nodes(&[id.to_owned()])).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = ids.len())
                        )]
                async fn remove_nodes(&self, ids: &[String]) -> Result<()> {
                    timed(self.do_remove_nodes(ids)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = pairs.len())
                        )]
                async fn remove_edges(&self, pairs: &[EdgePair]) -> Result<()> {
                    timed(self.do_remove_edges(pairs)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace())
                        )]
                async fn get_all_labels(&self) -> Result<Vec<String>> {
                    timed(self.do_all_labels()).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = max_nodes)
                        )]
                async fn get_knowledge_graph(
                    &self,
                    label: &str,
                    max_depth: usize,
                    max_nodes: usize,
                ) -> Result<KnowledgeGraph> {
                    timed(knowledge_graph(self, label, max_depth, max_nodes)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace())
                        )]
                async fn get_all_nodes(&self) -> Result<Vec<Properties>> {
                    timed(self.do_all_nodes()).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace())
                        )]
                async fn get_all_edges(&self) -> Result<Vec<EdgeRecord>> {
                    timed(self.do_all_edges()).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = limit)
                        )]
                async fn get_popular_labels(&self, limit: usize) -> Result<Vec<String>> {
                    timed(self.kg_top(limit)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = limit)
                        )]
                async fn search_labels(&self, query: &str, limit: usize) -> Result<Vec<String>> {
                    let q = query.trim();
                    if q.is_empty() || limit == 0 || !ids::can_exist(q) {
                        return Ok(Vec::new());
                    }
                    timed(self.do_search(q, limit)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = ids.len())
                        )]
                async fn get_nodes_batch(&self, ids: &[String]) -> Result<HashMap<String, Properties>> {
                    timed(self.do_get_nodes(ids)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = ids.len())
                        )]
                async fn has_nodes_batch(&self, ids: &[String]) -> Result<HashSet<String>> {
                    let ids = ids::lookup(ids);
                    if ids.is_empty() {
                        return Ok(HashSet::new());
                    }
                    timed(self.do_has_nodes(&ids)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = ids.len())
                        )]
                async fn node_degrees_batch(&self, ids: &[String]) -> Result<HashMap<String, usize>> {
                    timed(self.do_node_degrees(ids)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = pairs.len())
                        )]
                async fn edge_degrees_batch(&self, pairs: &[EdgePair]) -> Result<HashMap<EdgePair, usize>> {
                    timed(self.do_edge_degrees(pairs)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = pairs.len())
                        )]
                async fn get_edges_batch(&self, pairs: &[EdgePair]) -> Result<HashMap<EdgePair, Properties>> {
                    timed(self.do_get_edges(pairs)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = ids.len())
                        )]
                async fn get_nodes_edges_batch(&self, ids: &[String]) -> Result<HashMap<String, Vec<EdgePair>>> {
                    timed(self.do_nodes_edges(ids)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = nodes.len())
                        )]
                async fn upsert_nodes_batch(&self, nodes: Vec<(String, Properties)>) -> Result<()> {
                    timed(self.do_upsert_nodes(nodes)).await
                }

                #[tracing::instrument(
                            skip_all,
                            fields(engine = $engine, namespace = NS, workspace = %self.workspace(), count = edges.len())
                        )]
                async fn upsert_edges_batch(&self, edges: Vec<(String, String, Properties)>) -> Result<()> {
                    timed(self.do_upsert_edges(edges)).await
                }
            }
        };
    };
}

pub(crate) use graph_storage;
