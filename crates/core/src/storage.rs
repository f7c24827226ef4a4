//! The four storage traits and their shared lifecycle.
//!
//! Each method's documentation names its LightRAG 1.5.7 counterpart and states
//! its semantics. All traits are object-safe (`Arc<dyn KvStorage>`), which is why
//! they use `async-trait`: native `async fn` in traits cannot be used as `dyn`.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::{
    DocProcessingStatus, DocStatus, DocStatusCursor, DocStatusPage, EdgeRecord, JsonObject, KnowledgeGraph, Namespace,
    PageRequest, PagedDocs, Properties, Result, StatusCounts, VectorHit, VectorQuery, VectorRecord, Workspace,
};

/// The lifecycle every storage shares (LightRAG's `StorageNameSpace`).
#[async_trait]
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// The namespace this instance serves.
    fn namespace(&self) -> Namespace;

    /// The effective workspace.
    fn workspace(&self) -> &Workspace;

    /// LightRAG `initialize()`: create what the storage needs (tables, indexes,
    /// the graph). Idempotent and safe to run from many processes at once.
    ///
    /// # Errors
    /// Connection, permission or schema errors.
    async fn initialize(&self) -> Result<()>;

    /// LightRAG `finalize()`: flush and release resources. Idempotent.
    ///
    /// # Errors
    /// When buffered writes cannot be flushed.
    async fn finalize(&self) -> Result<()> {
        Ok(())
    }

    /// LightRAG `index_done_callback()`: the pipeline's commit point after a batch.
    /// Every backend here writes immediately, so this is a no-op unless a backend
    /// documents otherwise.
    ///
    /// # Errors
    /// When buffered writes cannot be flushed.
    async fn index_done_callback(&self) -> Result<()> {
        Ok(())
    }

    /// LightRAG `drop()`: remove every record of this namespace in this workspace,
    /// durably. Other workspaces are untouched. (Named `drop_all` because `drop`
    /// collides with `Drop::drop` in method-call syntax.)
    ///
    /// # Errors
    /// Connection or database errors; nothing is half-dropped.
    async fn drop_all(&self) -> Result<()>;
}

/// Key-value storage (LightRAG's `BaseKVStorage`): records are JSON objects keyed
/// by id, in one namespace of one workspace.
#[async_trait]
pub trait KvStorage: Storage {
    /// LightRAG `get_by_id(id)`: the record, or `None` when absent. The record
    /// carries `id` plus the namespace's fields (and `create_time`/`update_time`,
    /// epoch seconds, where LightRAG returns them).
    ///
    /// # Errors
    /// Connection or database errors (never reported as a miss).
    async fn get_by_id(&self, id: &str) -> Result<Option<JsonObject>>;

    /// LightRAG `get_by_ids(ids)`: one slot per requested id, **in request order**,
    /// `None` for missing ids; a duplicated id is answered in each of its slots.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_by_ids(&self, ids: &[String]) -> Result<Vec<Option<JsonObject>>>;

    /// LightRAG `filter_keys(keys)`: the subset of `keys` that is **not** stored.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn filter_keys(&self, keys: &[String]) -> Result<HashSet<String>>;

    /// LightRAG `upsert(data)`: insert or replace each record; for a duplicated id
    /// the last record wins; empty input is a no-op. All-or-nothing: an invalid
    /// record (missing field, bad shape, over-long id, NUL byte) fails the whole
    /// call with [`crate::Error::InvalidInput`] naming it, and nothing is written.
    ///
    /// # Errors
    /// Invalid input, connection or database errors.
    async fn upsert(&self, records: Vec<(String, JsonObject)>) -> Result<()>;

    /// LightRAG `delete(ids)`: remove the listed ids; missing ids are ignored.
    /// Unlike LightRAG, errors are reported, not swallowed.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn delete(&self, ids: &[String]) -> Result<()>;

    /// LightRAG `is_empty()`: whether this namespace of this workspace holds no
    /// record. Unlike LightRAG, an error is reported, not read as "empty".
    ///
    /// # Errors
    /// Connection or database errors.
    async fn is_empty(&self) -> Result<bool>;
}

/// Turns text into vectors, for queries given as text.
#[async_trait]
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// The embedding dimension.
    fn dimension(&self) -> usize;

    /// Embeds each text, in order.
    ///
    /// # Errors
    /// Whatever the embedding provider reports.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>>;
}

/// Vector storage (LightRAG's `BaseVectorStorage`).
#[async_trait]
pub trait VectorStorage: Storage {
    /// The configured dimension.
    fn dimension(&self) -> usize;

    /// LightRAG `query(query, top_k, query_embedding)`: the nearest records, best
    /// first (distance ascending), at most `top_k`, keeping only hits whose
    /// similarity is above the threshold (cosine: `distance < 1 - threshold`, as
    /// LightRAG's `cosine_better_than_threshold`). The query vector is
    /// `query.embedding`, or the storage's embedder applied to `query.text`.
    ///
    /// # Errors
    /// [`crate::Error::DimensionMismatch`] for a wrong-length query vector;
    /// [`crate::Error::InvalidInput`] when there is neither a vector nor an embedder.
    async fn query(&self, query: &VectorQuery) -> Result<Vec<VectorHit>>;

    /// LightRAG `upsert(data)`: insert or replace. All-or-nothing: a vector of the
    /// wrong dimension, empty, or with NaN/infinite components fails the whole call
    /// with an error naming the id, and nothing is written. Writes are durable when
    /// the call returns (LightRAG buffers until `index_done_callback`).
    ///
    /// # Errors
    /// Invalid input, connection or database errors.
    async fn upsert(&self, records: Vec<VectorRecord>) -> Result<()>;

    /// LightRAG `delete(ids)`: remove by id; missing ids are ignored.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn delete(&self, ids: &[String]) -> Result<()>;

    /// LightRAG `delete_entity(entity_name)`: remove the entity's vector (by
    /// `entity_name`).
    ///
    /// # Errors
    /// Connection or database errors.
    async fn delete_entity(&self, entity_name: &str) -> Result<()>;

    /// LightRAG `delete_entity_relation(entity_name)`: remove every relation vector
    /// whose `src_id` or `tgt_id` is the entity.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn delete_entity_relation(&self, entity_name: &str) -> Result<()>;

    /// LightRAG `get_by_id(id)`: the payload without the vector, plus `id` and
    /// `created_at` (epoch seconds); `None` when absent.
    ///
    /// # Errors
    /// Connection or database errors (LightRAG swallows them; we do not).
    async fn get_by_id(&self, id: &str) -> Result<Option<JsonObject>>;

    /// LightRAG `get_by_ids(ids)`: in request order, `None` for missing.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_by_ids(&self, ids: &[String]) -> Result<Vec<Option<JsonObject>>>;

    /// LightRAG `get_vectors_by_ids(ids)`: the vectors of the ids that exist.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_vectors_by_ids(&self, ids: &[String]) -> Result<HashMap<String, Vec<f32>>>;

    /// LightRAG `filter_keys(keys)` for vectors: the subset of `ids` that is
    /// **not** stored. The default asks [`Self::get_by_ids`]; a backend can
    /// answer without reading the payloads.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn filter_keys(&self, ids: &[String]) -> Result<HashSet<String>> {
        let found = self.get_by_ids(ids).await?;
        Ok(ids.iter().zip(found).filter(|(_, r)| r.is_none()).map(|(id, _)| id.clone()).collect())
    }

    /// Why [`Self::load`] would not write a whole store now as one bulk load —
    /// rows copied into a target without the vector index, the index built once
    /// — e.g. the workspace already has rows; `None` when it would. The default:
    /// the backend has no bulk load.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn bulk_load_refusal(&self) -> Result<Option<String>> {
        Ok(Some(NO_BULK_LOAD.to_owned()))
    }

    /// Writes a whole store from `batches` (consumed once; an error in the
    /// stream ends the load) and says how: in one bulk load where the backend
    /// can (see [`Self::bulk_load_refusal`]), else with its reason batch by
    /// batch. The default upserts each batch.
    ///
    /// # Errors
    /// The stream's errors; as [`Self::upsert`].
    async fn load(&self, batches: BoxStream<'_, Result<Vec<VectorRecord>>>) -> Result<VectorLoad> {
        let mut batches = batches;
        while let Some(batch) = batches.next().await {
            self.upsert(batch?).await?;
        }
        Ok(VectorLoad::Incremental { reason: NO_BULK_LOAD.to_owned() })
    }
}

/// Why the default [`VectorStorage::load`] writes batch by batch.
pub const NO_BULK_LOAD: &str = "the backend has no bulk load";

/// How [`VectorStorage::load`] wrote a store.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum VectorLoad {
    /// Copied into a target without the vector index, the index built once.
    Bulk {
        /// How (e.g. the index rebuilt, a partition attached).
        how: String,
        /// Seconds spent copying the rows in (the stream read included).
        #[serde(default)]
        copy_seconds: f64,
        /// Seconds spent building the indexes.
        #[serde(default)]
        index_seconds: f64,
        /// `maintenance_work_mem` of the index build, in MiB.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        maintenance_work_mem_mb: Option<u64>,
        /// `max_parallel_maintenance_workers` of the index build.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parallel_workers: Option<u32>,
    },
    /// Row by row into the index.
    Incremental {
        /// Why not in bulk.
        reason: String,
    },
}

/// An undirected pair of entity ids.
pub type EdgePair = (String, String);

/// Graph storage (LightRAG's `BaseGraphStorage`). **All edge operations are
/// undirected**: `(a, b)` and `(b, a)` name the same edge.
#[async_trait]
pub trait GraphStorage: Storage {
    /// LightRAG `has_node(id)`.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn has_node(&self, id: &str) -> Result<bool>;

    /// LightRAG `has_edge(a, b)`, direction-agnostic.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn has_edge(&self, a: &str, b: &str) -> Result<bool>;

    /// LightRAG `node_degree(id)`: incident edges; 0 for an unknown node; a
    /// self-loop counts 2.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn node_degree(&self, id: &str) -> Result<usize>;

    /// LightRAG `edge_degree(a, b)`: `node_degree(a) + node_degree(b)`.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn edge_degree(&self, a: &str, b: &str) -> Result<usize> {
        Ok(self.node_degree(a).await? + self.node_degree(b).await?)
    }

    /// LightRAG `get_node(id)`: the properties (with `entity_id`), or `None`.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_node(&self, id: &str) -> Result<Option<Properties>>;

    /// LightRAG `get_edge(a, b)`, direction-agnostic: the properties or `None`.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_edge(&self, a: &str, b: &str) -> Result<Option<Properties>>;

    /// LightRAG `get_node_edges(id)`: `None` when the node does not exist, `[]`
    /// when it has no edges, else `(id, neighbour)` pairs sorted by neighbour
    /// (a self-loop once).
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_node_edges(&self, id: &str) -> Result<Option<Vec<EdgePair>>>;

    /// LightRAG `upsert_node(id, props)`: create the node or **merge** the
    /// properties into it (absent keys survive); `entity_id` is always set to `id`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] for an empty id, NUL bytes, or an id longer
    /// than [`crate::graph::MAX_ENTITY_ID_CHARS`] characters or
    /// [`crate::graph::MAX_ENTITY_ID_BYTES`] bytes; connection or database errors.
    async fn upsert_node(&self, id: &str, properties: Properties) -> Result<()>;

    /// LightRAG `upsert_edge(a, b, props)`: create the edge or **replace** its
    /// properties; missing endpoint nodes are created with just `entity_id`. One
    /// edge per unordered pair.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] as for [`GraphStorage::upsert_node`], naming
    /// the endpoint; connection or database errors.
    async fn upsert_edge(&self, a: &str, b: &str, properties: Properties) -> Result<()>;

    /// LightRAG `delete_node(id)`: remove the node and its edges; unknown ids are
    /// ignored.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn delete_node(&self, id: &str) -> Result<()>;

    /// LightRAG `remove_nodes(ids)`: `delete_node` for each, in one transaction.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn remove_nodes(&self, ids: &[String]) -> Result<()>;

    /// LightRAG `remove_edges(pairs)`: remove each undirected edge, in one
    /// transaction; missing edges are ignored.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn remove_edges(&self, pairs: &[EdgePair]) -> Result<()>;

    /// LightRAG `get_all_labels()`: every entity id, sorted ascending (code point).
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_all_labels(&self) -> Result<Vec<String>>;

    /// LightRAG `get_knowledge_graph(node_label, max_depth, max_nodes)`: `"*"` takes
    /// the `max_nodes` highest-degree nodes (ties by label, code point) and the
    /// edges among them; otherwise breadth-first from the node named `label`, up to
    /// `max_depth` hops and `max_nodes` nodes. `is_truncated` is true exactly when
    /// the limit left out a node that qualified. An unknown label gives an empty
    /// graph. Node ids are entity names; the order of the lists is not significant.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_knowledge_graph(&self, label: &str, max_depth: usize, max_nodes: usize) -> Result<KnowledgeGraph>;

    /// LightRAG `get_all_nodes()`: every node's properties, sorted by entity id.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_all_nodes(&self) -> Result<Vec<Properties>>;

    /// LightRAG `get_all_edges()`: every edge once, sorted by `(source, target)`.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_all_edges(&self) -> Result<Vec<EdgeRecord>>;

    /// LightRAG `get_popular_labels(limit)`: entity ids by degree descending, ties
    /// by id ascending (code point); isolated nodes rank last.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_popular_labels(&self, limit: usize) -> Result<Vec<String>>;

    /// LightRAG `search_labels(query, limit)`: case-insensitive fuzzy match, most
    /// relevant first (exact, then prefix, then substring, shorter first); `%` and
    /// `_` are literal; a blank query gives `[]`.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn search_labels(&self, query: &str, limit: usize) -> Result<Vec<String>>;

    /// LightRAG `get_nodes_batch(ids)`: properties of the ids that exist. One round
    /// trip in the PostgreSQL engines.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_nodes_batch(&self, ids: &[String]) -> Result<HashMap<String, Properties>> {
        let mut out = HashMap::new();
        for id in ids {
            if let Some(p) = self.get_node(id).await? {
                out.insert(id.clone(), p);
            }
        }
        Ok(out)
    }

    /// LightRAG `has_nodes_batch(ids)`: the ids that exist.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn has_nodes_batch(&self, ids: &[String]) -> Result<HashSet<String>> {
        Ok(self.get_nodes_batch(ids).await?.into_keys().collect())
    }

    /// LightRAG `node_degrees_batch(ids)`: a degree for every requested id (0 when
    /// absent).
    ///
    /// # Errors
    /// Connection or database errors.
    async fn node_degrees_batch(&self, ids: &[String]) -> Result<HashMap<String, usize>> {
        let mut out = HashMap::new();
        for id in ids {
            out.insert(id.clone(), self.node_degree(id).await?);
        }
        Ok(out)
    }

    /// LightRAG `edge_degrees_batch(pairs)`: `deg(a) + deg(b)` for every pair, keyed
    /// as requested.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn edge_degrees_batch(&self, pairs: &[EdgePair]) -> Result<HashMap<EdgePair, usize>> {
        let ids: Vec<String> = pairs.iter().flat_map(|(a, b)| [a.clone(), b.clone()]).collect();
        let deg = self.node_degrees_batch(&ids).await?;
        Ok(pairs
            .iter()
            .map(|(a, b)| ((a.clone(), b.clone()), deg.get(a).copied().unwrap_or(0) + deg.get(b).copied().unwrap_or(0)))
            .collect())
    }

    /// LightRAG `get_edges_batch(pairs)`: properties of the edges that exist, keyed
    /// by the pair **as requested** (direction-agnostic lookup).
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_edges_batch(&self, pairs: &[EdgePair]) -> Result<HashMap<EdgePair, Properties>> {
        let mut out = HashMap::new();
        for (a, b) in pairs {
            if let Some(p) = self.get_edge(a, b).await? {
                out.insert((a.clone(), b.clone()), p);
            }
        }
        Ok(out)
    }

    /// LightRAG `get_nodes_edges_batch(ids)`: for every requested id, its
    /// `(id, neighbour)` pairs sorted by neighbour; `[]` for an absent node.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_nodes_edges_batch(&self, ids: &[String]) -> Result<HashMap<String, Vec<EdgePair>>> {
        let mut out = HashMap::new();
        for id in ids {
            out.insert(id.clone(), self.get_node_edges(id).await?.unwrap_or_default());
        }
        Ok(out)
    }

    /// LightRAG `upsert_nodes_batch(nodes)`: `upsert_node` for each (last wins for a
    /// repeated id), all-or-nothing.
    ///
    /// # Errors
    /// Invalid input, connection or database errors.
    async fn upsert_nodes_batch(&self, nodes: Vec<(String, Properties)>) -> Result<()> {
        for (id, p) in nodes {
            self.upsert_node(&id, p).await?;
        }
        Ok(())
    }

    /// LightRAG `upsert_edges_batch(edges)`: `upsert_edge` for each (last wins for a
    /// repeated pair), all-or-nothing.
    ///
    /// # Errors
    /// Invalid input, connection or database errors.
    async fn upsert_edges_batch(&self, edges: Vec<(String, String, Properties)>) -> Result<()> {
        for (a, b, p) in edges {
            self.upsert_edge(&a, &b, p).await?;
        }
        Ok(())
    }
}

/// Document-status storage (LightRAG's `DocStatusStorage`).
#[async_trait]
pub trait DocStatusStorage: Storage {
    /// LightRAG `get_by_id(id)`: the record or `None`.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_by_id(&self, id: &str) -> Result<Option<DocProcessingStatus>>;

    /// LightRAG `get_by_ids(ids)`: in request order, `None` for missing (also when
    /// none exists, where LightRAG's PostgreSQL backend returns `[]`).
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_by_ids(&self, ids: &[String]) -> Result<Vec<Option<DocProcessingStatus>>>;

    /// LightRAG `filter_keys(keys)`: the keys that are not stored.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn filter_keys(&self, keys: &[String]) -> Result<HashSet<String>>;

    /// LightRAG `upsert(data)`: insert or replace, all-or-nothing. Every field is
    /// overwritten except `created_at`, which keeps its first value (LightRAG
    /// overwrites it), and `content_hash`, which an empty value never clears.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] naming the id (over-long summary or id, NUL
    /// bytes); connection or database errors.
    async fn upsert(&self, docs: Vec<(String, DocProcessingStatus)>) -> Result<()>;

    /// LightRAG `delete(ids)`; missing ids are ignored.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn delete(&self, ids: &[String]) -> Result<()>;

    /// LightRAG `is_empty()`.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn is_empty(&self) -> Result<bool>;

    /// LightRAG `get_status_counts()` and `get_all_status_counts()`: documents per
    /// status, and the total.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn status_counts(&self) -> Result<StatusCounts>;

    /// LightRAG `get_docs_by_statuses(statuses)` (and `get_docs_by_status` for one):
    /// every document in any of the statuses, sorted by id.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_docs_by_statuses(&self, statuses: &[DocStatus]) -> Result<Vec<(String, DocProcessingStatus)>>;

    /// LightRAG `count_docs_by_statuses(statuses)`; an empty list counts 0.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn count_docs_by_statuses(&self, statuses: &[DocStatus]) -> Result<u64>;

    /// LightRAG `get_docs_by_track_id(track_id)`: sorted by id.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_docs_by_track_id(&self, track_id: &str) -> Result<Vec<(String, DocProcessingStatus)>>;

    /// LightRAG `get_docs_paginated(...)`: one page and the total count. Ties on
    /// the sort field are broken by id, so pages never overlap.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_docs_paginated(&self, request: &PageRequest) -> Result<PagedDocs>;

    /// LightRAG `get_docs_by_statuses_page(statuses, limit, position)`: a keyset
    /// sweep in `(created_at ASC NULLS FIRST, id ASC)` order. `next` is
    /// [`DocStatusCursor::End`] when fewer than `limit` rows were left.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] for `limit == 0` or a malformed cursor;
    /// connection or database errors.
    async fn get_docs_by_statuses_page(
        &self,
        statuses: &[DocStatus],
        limit: usize,
        position: &DocStatusCursor,
    ) -> Result<DocStatusPage>;

    /// LightRAG `get_doc_by_file_path(path)`: the earliest `(created_at, id)` record
    /// with exactly this path (LightRAG picks any).
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_doc_by_file_path(&self, path: &str) -> Result<Option<(String, DocProcessingStatus)>>;

    /// LightRAG `get_doc_by_file_basename(name)`: the earliest **primary** record
    /// (not marked `is_duplicate`) with this path; `""` and `unknown_source` give
    /// `None`.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_doc_by_file_basename(&self, basename: &str) -> Result<Option<(String, DocProcessingStatus)>>;

    /// LightRAG `get_doc_by_content_hash(hash, exclude_doc_id)`: the earliest
    /// `(created_at, id)` record with this hash, skipping `exclude_doc_id` and the
    /// duplicates that point to it; an empty hash gives `None`.
    ///
    /// # Errors
    /// Connection or database errors.
    async fn get_doc_by_content_hash(
        &self,
        hash: &str,
        exclude_doc_id: Option<&str>,
    ) -> Result<Option<(String, DocProcessingStatus)>>;
}
