//! [`MemoryVectorStorage`]: exact nearest-neighbour search in process memory.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::RwLock;
use serde_json::Value;

use super::{Registry, epoch_seconds};
use crate::{
    DistanceMetric, Embedder, Error, JsonObject, Namespace, Result, Storage, VectorHit, VectorNamespace, VectorQuery,
    VectorRecord, VectorStorage, Workspace, kv, vector,
};

/// LightRAG's default `cosine_better_than_threshold`.
pub const DEFAULT_THRESHOLD: f64 = 0.2;

/// The longest vector id (the PostgreSQL column is `VARCHAR(255)`).
const MAX_ID_CHARS: usize = 255;

#[derive(Debug, Clone)]
struct Row {
    vector: Vec<f32>,
    payload: JsonObject,
    created_at: i64,
}

/// The vectors of one namespace, workspace and dimension.
#[derive(Debug, Default)]
struct VectorTable {
    rows: RwLock<HashMap<String, Row>>,
}

static TABLES: Registry<(VectorNamespace, Workspace, usize), VectorTable> = Registry::new();

/// Vector storage (LightRAG's `BaseVectorStorage`) in process memory, with exact
/// (brute-force) search for every [`DistanceMetric`].
///
/// Instances share their rows through a process-wide registry keyed by namespace,
/// workspace **and dimension** (like the PostgreSQL backend, whose table name
/// carries the dimension). The metric and threshold belong to the instance, not
/// to the data.
///
/// The threshold is a minimum similarity ([`DistanceMetric::similarity`]), kept
/// strictly: cosine keeps `1 − distance > threshold` (LightRAG's
/// `cosine_better_than_threshold`, default 0.2), L2 keeps `1 / (1 + distance) >
/// threshold`, inner product keeps `a·b > threshold`. Hits are ordered by distance
/// ascending, ties by id. A cosine distance against a zero vector is undefined
/// (NaN) and never a hit, as in pgvector.
pub struct MemoryVectorStorage {
    ns: VectorNamespace,
    ws: Workspace,
    dimension: usize,
    metric: DistanceMetric,
    threshold: f64,
    embedder: Option<Arc<dyn Embedder>>,
    table: Arc<VectorTable>,
}

impl fmt::Debug for MemoryVectorStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryVectorStorage")
            .field("namespace", &self.ns)
            .field("workspace", &self.ws)
            .field("dimension", &self.dimension)
            .field("metric", &self.metric)
            .field("threshold", &self.threshold)
            .field("embedder", &self.embedder)
            .field("records", &self.table.rows.read().len())
            .finish()
    }
}

impl MemoryVectorStorage {
    /// The storage for `ns` in `ws` with vectors of `dimension` components compared
    /// by `metric`, with the default threshold ([`DEFAULT_THRESHOLD`]) and no
    /// embedder. A dimension of 0 or above [`vector::MAX_DIMENSIONS`] makes every
    /// upsert fail.
    pub fn new(ns: VectorNamespace, ws: Workspace, dimension: usize, metric: DistanceMetric) -> Self {
        let table = TABLES.shared((ns, ws.clone(), dimension));
        Self { ns, ws, dimension, metric, threshold: DEFAULT_THRESHOLD, embedder: None, table }
    }

    /// The same storage with another default similarity threshold (used when a
    /// query carries none).
    pub fn with_threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }

    /// The same storage with an embedder for queries given as text.
    pub fn with_embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// The metric.
    pub fn metric(&self) -> DistanceMetric {
        self.metric
    }

    /// The default similarity threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    fn render(id: &str, row: &Row) -> JsonObject {
        let mut out = row.payload.clone();
        out.insert("id".to_owned(), Value::String(id.to_owned()));
        out.insert("created_at".to_owned(), Value::from(row.created_at));
        out
    }

    async fn query_vector(&self, query: &VectorQuery) -> Result<Vec<f32>> {
        let v = match (&query.embedding, &query.text) {
            (Some(v), _) => v.clone(),
            (None, Some(text)) => {
                let Some(embedder) = &self.embedder else {
                    return Err(Error::invalid("query", "a text query needs an embedder; none is configured"));
                };
                let mut out = embedder.embed(std::slice::from_ref(text)).await?;
                if out.len() != 1 {
                    return Err(Error::invalid(
                        "query",
                        format!("the embedder returned {} vectors for 1 text", out.len()),
                    ));
                }
                out.remove(0)
            }
            (None, None) => return Err(Error::invalid("query", "the query has neither a vector nor a text")),
        };
        if v.len() != self.dimension {
            return Err(Error::DimensionMismatch { id: None, expected: self.dimension, got: v.len() });
        }
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::invalid("query", format!("query vector component {i} is {} (not finite)", v[i])));
        }
        Ok(v)
    }
}

#[async_trait]
impl Storage for MemoryVectorStorage {
    fn namespace(&self) -> Namespace {
        Namespace::Vector(self.ns)
    }

    fn workspace(&self) -> &Workspace {
        &self.ws
    }

    async fn initialize(&self) -> Result<()> {
        Ok(())
    }

    async fn drop_all(&self) -> Result<()> {
        self.table.rows.write().clear();
        Ok(())
    }
}

#[async_trait]
impl VectorStorage for MemoryVectorStorage {
    fn dimension(&self) -> usize {
        self.dimension
    }

    async fn query(&self, query: &VectorQuery) -> Result<Vec<VectorHit>> {
        // Embed (an await) before taking the lock.
        let q = self.query_vector(query).await?;
        if query.top_k == 0 {
            return Ok(Vec::new());
        }
        let threshold = query.threshold.unwrap_or(self.threshold);
        let rows = self.table.rows.read();
        let mut scored: Vec<(f64, &String, &Row)> = rows
            .iter()
            .filter_map(|(id, row)| {
                let d = self.metric.distance(&q, &row.vector);
                (!d.is_nan() && self.metric.similarity(d) > threshold).then_some((d, id, row))
            })
            .collect();
        scored.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        scored.truncate(query.top_k);
        Ok(scored
            .into_iter()
            .map(|(distance, id, row)| {
                let mut metadata = row.payload.clone();
                metadata.insert("created_at".to_owned(), Value::from(row.created_at));
                VectorHit { id: id.clone(), distance, similarity: self.metric.similarity(distance), metadata }
            })
            .collect())
    }

    async fn upsert(&self, records: Vec<VectorRecord>) -> Result<()> {
        for r in &records {
            kv::validate_id(&r.id, MAX_ID_CHARS)?;
            vector::validate_vector(&r.id, &r.vector, self.dimension)?;
            if let Some(field) = kv::first_nul(&r.payload) {
                return Err(Error::invalid(&r.id, format!("payload field '{field}' contains a NUL byte")));
            }
        }
        if records.is_empty() {
            return Ok(());
        }
        let now = epoch_seconds();
        let mut rows = self.table.rows.write();
        for r in records {
            let created_at = rows.get(&r.id).map_or(now, |old| old.created_at);
            rows.insert(r.id, Row { vector: r.vector, payload: r.payload, created_at });
        }
        Ok(())
    }

    async fn delete(&self, ids: &[String]) -> Result<()> {
        let mut rows = self.table.rows.write();
        for id in ids {
            rows.remove(id);
        }
        Ok(())
    }

    async fn delete_entity(&self, entity_name: &str) -> Result<()> {
        let is_it = |row: &Row| row.payload.get("entity_name").and_then(Value::as_str) == Some(entity_name);
        self.table.rows.write().retain(|_, row| !is_it(row));
        Ok(())
    }

    async fn delete_entity_relation(&self, entity_name: &str) -> Result<()> {
        let touches = |row: &Row| {
            ["src_id", "tgt_id"].iter().any(|k| row.payload.get(*k).and_then(Value::as_str) == Some(entity_name))
        };
        self.table.rows.write().retain(|_, row| !touches(row));
        Ok(())
    }

    async fn get_by_id(&self, id: &str) -> Result<Option<JsonObject>> {
        Ok(self.table.rows.read().get(id).map(|row| Self::render(id, row)))
    }

    async fn get_by_ids(&self, ids: &[String]) -> Result<Vec<Option<JsonObject>>> {
        let rows = self.table.rows.read();
        Ok(ids.iter().map(|id| rows.get(id).map(|row| Self::render(id, row))).collect())
    }

    async fn get_vectors_by_ids(&self, ids: &[String]) -> Result<HashMap<String, Vec<f32>>> {
        let rows = self.table.rows.read();
        Ok(ids.iter().filter_map(|id| rows.get(id).map(|row| (id.clone(), row.vector.clone()))).collect())
    }
}
