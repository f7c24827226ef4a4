//! Export: the four storage traits → a LightRAG working directory that Python
//! LightRAG opens with its default storages (`JsonKVStorage`,
//! `JsonDocStatusStorage`, `NanoVectorDBStorage`, `NetworkXStorage`).
//!
//! **Enumerating ids.** The graph (`get_all_nodes`, `get_all_edges`) and doc
//! status (`get_docs_by_statuses`) can list everything, but `KvStorage` and
//! `VectorStorage` have no "list all ids" method. With a [`KeyLister`] (for
//! example one backed by `SELECT id FROM <table> WHERE workspace = $1`, or
//! [`StaticKeys`]) the export is complete. Without one, ids are derived:
//! * `full_docs`, `full_entities`, `full_relations`: the doc-status ids;
//! * `entity_chunks`: the graph's node ids; `relation_chunks`: `A<SEP>B` of each edge;
//! * `text_chunks`: every doc's `chunks_list`, the `source_id`s of nodes and
//!   edges, the `chunk_ids` of `entity_chunks`/`relation_chunks`, and 1.5.7's
//!   `doc-<md5>-chunk-NNN` ids probed from 000 on for each document;
//! * `llm_response_cache`: the `llm_cache_list` of the exported chunks;
//! * vectors: the exported chunk ids, `ent-md5(name)` per node, `rel-md5(a+b)`
//!   per edge.
//!
//! What derivation cannot find is listed in the report's `notes`: query-time LLM
//! cache entries, old-format chunks of failed documents, stale vector rows.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use lightrag_pg_core::ids::{self, GRAPH_FIELD_SEP};
use lightrag_pg_core::{
    DocStatus, DocStatusStorage, GraphStorage, KvNamespace, KvStorage, VectorNamespace, VectorStorage,
};
use serde_json::Value;

use crate::doc_status;
use crate::error::MigrateError;
use crate::graphml;
use crate::jsonio::ObjectWriter;
use crate::kv;
use crate::migrate::{ProgressEvent, ProgressFn};
use crate::nano::{self, NanoWriter};
use crate::report::ExportReport;
use crate::scan::Inventory;

/// Lists every id of a key-value or vector namespace of one workspace — the
/// capability the storage traits lack. A PostgreSQL implementation is one
/// `SELECT id FROM <table> WHERE workspace = $1` per call.
#[async_trait]
pub trait KeyLister: Send + Sync {
    /// Every key of a key-value namespace.
    ///
    /// # Errors
    /// Whatever the listing fails with.
    async fn kv_keys(&self, namespace: KvNamespace) -> lightrag_pg_core::Result<Vec<String>>;

    /// Every id of a vector namespace.
    ///
    /// # Errors
    /// Whatever the listing fails with.
    async fn vector_ids(&self, namespace: VectorNamespace) -> lightrag_pg_core::Result<Vec<String>>;
}

/// A [`KeyLister`] over fixed lists (absent namespaces list nothing).
#[derive(Debug, Clone, Default)]
pub struct StaticKeys {
    /// Keys per key-value namespace.
    pub kv: HashMap<KvNamespace, Vec<String>>,
    /// Ids per vector namespace.
    pub vectors: HashMap<VectorNamespace, Vec<String>>,
}

#[async_trait]
impl KeyLister for StaticKeys {
    async fn kv_keys(&self, namespace: KvNamespace) -> lightrag_pg_core::Result<Vec<String>> {
        Ok(self.kv.get(&namespace).cloned().unwrap_or_default())
    }

    async fn vector_ids(&self, namespace: VectorNamespace) -> lightrag_pg_core::Result<Vec<String>> {
        Ok(self.vectors.get(&namespace).cloned().unwrap_or_default())
    }
}

/// What an export reads: one storage per store, all of one workspace.
#[derive(Clone)]
pub struct Source {
    /// Key-value storages; namespaces absent here are not exported.
    pub kv: HashMap<KvNamespace, Arc<dyn KvStorage>>,
    /// Vector storages (opened with their dimension); absent namespaces are not exported.
    pub vectors: HashMap<VectorNamespace, Arc<dyn VectorStorage>>,
    /// The graph.
    pub graph: Arc<dyn GraphStorage>,
    /// Document status.
    pub doc_status: Arc<dyn DocStatusStorage>,
    /// Lists key-value and vector ids; `None` derives them (see the module docs).
    pub keys: Option<Arc<dyn KeyLister>>,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("workspace", self.graph.workspace())
            .field("kv", &self.kv.keys().collect::<Vec<_>>())
            .field("vectors", &self.vectors.keys().collect::<Vec<_>>())
            .field("keys", &self.keys.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "memory")]
impl Source {
    /// The in-memory backends of `lightrag-pg-core` for `workspace`, vectors of
    /// `dimension` components, ids derived (the memory backends cannot list keys).
    pub fn memory(workspace: lightrag_pg_core::Workspace, dimension: usize) -> Self {
        use lightrag_pg_core::memory::{
            MemoryDocStatusStorage, MemoryGraphStorage, MemoryKvStorage, MemoryVectorStorage,
        };
        Self {
            kv: KvNamespace::ALL
                .into_iter()
                .map(|ns| (ns, Arc::new(MemoryKvStorage::new(ns, workspace.clone())) as Arc<dyn KvStorage>))
                .collect(),
            vectors: VectorNamespace::ALL
                .into_iter()
                .map(|ns| {
                    let s = MemoryVectorStorage::new(
                        ns,
                        workspace.clone(),
                        dimension,
                        lightrag_pg_core::DistanceMetric::Cosine,
                    );
                    (ns, Arc::new(s) as Arc<dyn VectorStorage>)
                })
                .collect(),
            graph: Arc::new(MemoryGraphStorage::new(workspace.clone())),
            doc_status: Arc::new(MemoryDocStatusStorage::new(workspace)),
            keys: None,
        }
    }
}

/// How [`export`] runs.
#[derive(Clone)]
pub struct ExportOptions {
    /// Records per storage call (default 1000).
    pub batch_size: usize,
    /// Progress events (`Writing`, `StoreDone`).
    pub progress: Option<ProgressFn>,
    /// Replace LightRAG files already in the directory (default false: refuse).
    pub overwrite: bool,
    /// Write the GraphML here instead of `<dir>/graph_chunk_entity_relation.graphml`.
    pub graphml: Option<PathBuf>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self { batch_size: 1000, progress: None, overwrite: false, graphml: None }
    }
}

impl fmt::Debug for ExportOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportOptions")
            .field("batch_size", &self.batch_size)
            .field("progress", &self.progress.is_some())
            .field("overwrite", &self.overwrite)
            .field("graphml", &self.graphml)
            .finish()
    }
}

struct Exporter<'a> {
    source: &'a Source,
    options: &'a ExportOptions,
    dir: &'a Path,
    report: ExportReport,
}

/// Writes the workspace behind `source` into `dir` in LightRAG's file layout.
///
/// # Errors
/// [`MigrateError::InvalidDirectory`] when `dir` already holds LightRAG files and
/// `overwrite` is off; [`MigrateError::Io`]; [`MigrateError::Storage`] when a
/// storage call fails (files are written atomically, one at a time, so a
/// failure leaves complete files only).
#[tracing::instrument(skip_all, fields(dir = %dir.display(), workspace = %source.graph.workspace()))]
pub async fn export(source: &Source, dir: &Path, options: ExportOptions) -> Result<ExportReport, MigrateError> {
    let started = Instant::now();
    std::fs::create_dir_all(dir).map_err(|e| MigrateError::io(dir, e))?;
    if !options.overwrite
        && let Ok(inv) = Inventory::of(dir)
    {
        let mut existing: Vec<String> = inv.kv.keys().map(|ns| kv::file_name(*ns)).collect();
        existing.extend(inv.vectors.keys().map(|ns| nano::file_name(*ns)));
        existing.extend(
            inv.doc_status
                .iter()
                .chain(inv.graph.iter())
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
        );
        return Err(MigrateError::InvalidDirectory {
            dir: dir.to_owned(),
            reason: format!("already holds LightRAG files ({}); pass overwrite to replace them", existing.join(", ")),
        });
    }
    let mut ex = Exporter {
        source,
        options: &options,
        dir,
        report: ExportReport {
            workspace: source.graph.workspace().to_string(),
            target: dir.display().to_string(),
            key_source: if source.keys.is_some() { "lister" } else { "derived" }.into(),
            ..Default::default()
        },
    };
    ex.run().await?;
    ex.report.seconds = started.elapsed().as_secs_f64();
    tracing::debug!(elapsed_ms = ex.report.seconds * 1000.0, "export done");
    Ok(ex.report)
}

fn split_sep(s: &str) -> impl Iterator<Item = &str> {
    s.split(GRAPH_FIELD_SEP).map(str::trim).filter(|x| !x.is_empty())
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

impl Exporter<'_> {
    fn emit(&self, event: ProgressEvent) {
        if let Some(p) = &self.options.progress {
            p(event);
        }
    }

    fn batch(&self) -> usize {
        self.options.batch_size.max(1)
    }

    async fn run(&mut self) -> Result<(), MigrateError> {
        // Doc status.
        let started = Instant::now();
        let docs = self
            .source
            .doc_status
            .get_docs_by_statuses(&DocStatus::ALL)
            .await
            .map_err(|e| MigrateError::storage(doc_status::STORE, e))?;
        let mut w = ObjectWriter::create(&self.dir.join(doc_status::FILE_NAME))?;
        for (id, doc) in &docs {
            w.entry(id, &doc_status::to_file_record(doc))?;
        }
        self.report.doc_status = w.finish()?;
        self.report.files.push(doc_status::FILE_NAME.into());
        self.stored(doc_status::STORE, self.report.doc_status, started);
        let doc_ids: Vec<String> = docs.iter().map(|(id, _)| id.clone()).collect();

        // Graph.
        let started = Instant::now();
        let nodes = self.source.graph.get_all_nodes().await.map_err(|e| MigrateError::storage("graph.nodes", e))?;
        let edges = self.source.graph.get_all_edges().await.map_err(|e| MigrateError::storage("graph.edges", e))?;
        let graph_path = self.options.graphml.clone().unwrap_or_else(|| self.dir.join(graphml::FILE_NAME));
        let (n, e, missing) = graphml::write(&graph_path, &nodes, &edges)?;
        if missing > 0 {
            self.report.notes.push(format!("graph: {missing} nodes without entity_id were left out"));
        }
        self.report.graph.nodes = n;
        self.report.graph.edges = e;
        self.report.files.push(match &self.options.graphml {
            Some(p) => p.display().to_string(),
            None => graphml::FILE_NAME.into(),
        });
        self.stored("graph", n + e, started);
        let node_ids: Vec<String> = nodes.iter().filter_map(|p| p.entity_id().map(str::to_owned)).collect();
        let edge_pairs: Vec<(String, String)> = edges.iter().map(|e| (e.source.clone(), e.target.clone())).collect();

        // Chunk ids referenced by the graph and doc status.
        let mut chunk_candidates: BTreeSet<String> = BTreeSet::new();
        for (_, d) in &docs {
            chunk_candidates.extend(d.chunks_list.iter().cloned());
        }
        for p in nodes.iter().chain(edges.iter().map(|e| &e.properties)) {
            if let Some(s) = p.source_id() {
                chunk_candidates.extend(split_sep(s).map(str::to_owned));
            }
        }
        drop(nodes);
        drop(edges);

        let derived = |ns: KvNamespace| -> Vec<String> {
            match ns {
                KvNamespace::FullDocs | KvNamespace::FullEntities | KvNamespace::FullRelations => doc_ids.clone(),
                KvNamespace::EntityChunks => node_ids.clone(),
                KvNamespace::RelationChunks => edge_pairs.iter().map(|(a, b)| ids::relation_chunks_key(a, b)).collect(),
                _ => Vec::new(),
            }
        };
        for ns in [
            KvNamespace::FullDocs,
            KvNamespace::FullEntities,
            KvNamespace::FullRelations,
            KvNamespace::EntityChunks,
            KvNamespace::RelationChunks,
        ] {
            let ids = self.kv_ids(ns, derived(ns)).await?;
            let written = self.write_kv(ns, ids).await?;
            chunk_candidates.extend(written.chunk_ids);
        }

        // Text chunks, then the cache entries they list.
        let chunk_ids = match &self.source.keys {
            Some(_) => self.kv_ids(KvNamespace::TextChunks, Vec::new()).await?,
            None => {
                if let Some(storage) = self.source.kv.get(&KvNamespace::TextChunks) {
                    chunk_candidates.extend(self.probe_157_chunks(storage.as_ref(), &doc_ids).await?);
                }
                chunk_candidates.into_iter().collect()
            }
        };
        let chunks = self.write_kv(KvNamespace::TextChunks, chunk_ids).await?;
        let (exported_chunks, cache_derived) = (chunks.ids, chunks.cache_ids);
        let cache_ids = self.kv_ids(KvNamespace::LlmResponseCache, cache_derived).await?;
        self.write_kv(KvNamespace::LlmResponseCache, cache_ids).await?;
        if self.source.keys.is_none() {
            self.report.notes.extend([
                "ids were derived (no key lister): llm_response_cache holds only the entries listed in the chunks' llm_cache_list (query-time cache entries are not exported)".to_owned(),
                "ids were derived: text chunks that neither a document, the graph nor the chunk-tracking stores reference (e.g. old-format chunks of failed documents) are not exported".to_owned(),
                "ids were derived: vectors are exported for exported chunks, graph nodes (ent-md5(name)) and graph edges (rel-md5(a+b)); stale vector rows are not".to_owned(),
            ]);
        }

        // Vectors.
        let mut namespaces: Vec<VectorNamespace> = self.source.vectors.keys().copied().collect();
        namespaces.sort();
        for ns in namespaces {
            let derived: Vec<String> = match ns {
                VectorNamespace::Chunks => exported_chunks.clone(),
                VectorNamespace::Entities => node_ids.iter().map(|n| ids::entity_id(n)).collect(),
                VectorNamespace::Relationships => edge_pairs.iter().map(|(a, b)| ids::relation_id(a, b)).collect(),
            };
            let ids = match &self.source.keys {
                Some(keys) => keys.vector_ids(ns).await.map_err(|e| MigrateError::storage(nano::store_name(ns), e))?,
                None => derived,
            };
            self.write_vectors(ns, ids).await?;
        }
        Ok(())
    }

    fn stored(&mut self, store: &str, written: u64, started: Instant) {
        self.emit(ProgressEvent::StoreDone { store: store.into(), written, seconds: started.elapsed().as_secs_f64() });
    }

    async fn kv_ids(&self, ns: KvNamespace, derived: Vec<String>) -> Result<Vec<String>, MigrateError> {
        match &self.source.keys {
            Some(keys) => keys.kv_keys(ns).await.map_err(|e| MigrateError::storage(ns.as_str(), e)),
            None => Ok(derived),
        }
    }

    /// 1.5.7 chunk ids `doc-<md5>-chunk-NNN` that exist, probed per document.
    async fn probe_157_chunks(&self, storage: &dyn KvStorage, doc_ids: &[String]) -> Result<Vec<String>, MigrateError> {
        const WINDOW: usize = 64;
        let mut found = Vec::new();
        for doc in doc_ids.iter().filter(|d| d.starts_with("doc-")) {
            let mut start = 0usize;
            loop {
                let window: Vec<String> = (start..start + WINDOW).map(|i| format!("{doc}-chunk-{i:03}")).collect();
                let missing =
                    storage.filter_keys(&window).await.map_err(|e| MigrateError::storage("text_chunks", e))?;
                let hits: Vec<String> = window.into_iter().filter(|id| !missing.contains(id)).collect();
                if hits.is_empty() {
                    break;
                }
                found.extend(hits);
                start += WINDOW;
            }
        }
        Ok(found)
    }

    /// Writes one key-value file from the ids that exist; returns the records
    /// written (as on disk, with `_id`), so callers can follow their references.
    /// Writes one key-value file, reading the records batch by batch; returns
    /// what later stores need of them (not the records: memory holds a batch).
    async fn write_kv(&mut self, ns: KvNamespace, ids: Vec<String>) -> Result<Written, MigrateError> {
        let Some(storage) = self.source.kv.get(&ns).cloned() else { return Ok(Written::default()) };
        let started = Instant::now();
        let ids: Vec<String> = ids.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
        let file = kv::file_name(ns);
        let mut w = ObjectWriter::create(&self.dir.join(&file))?;
        let mut written = Written::default();
        let total = ids.len() as u64;
        let mut done = 0u64;
        for chunk in ids.chunks(self.batch()) {
            let got = storage.get_by_ids(chunk).await.map_err(|e| MigrateError::storage(ns.as_str(), e))?;
            for (id, rec) in chunk.iter().zip(got) {
                let Some(rec) = rec else { continue };
                let rec = Value::Object(kv::to_file_record(ns, id, rec));
                w.entry(id, &rec)?;
                match ns {
                    KvNamespace::EntityChunks | KvNamespace::RelationChunks => {
                        written.chunk_ids.extend(strings(rec.get("chunk_ids")));
                    }
                    KvNamespace::TextChunks => {
                        written.ids.push(id.clone());
                        written.cache_ids.extend(strings(rec.get("llm_cache_list")));
                    }
                    _ => {}
                }
            }
            done += chunk.len() as u64;
            self.emit(ProgressEvent::Writing { store: ns.as_str().into(), done, total });
        }
        let n = w.finish()?;
        *export_count(&mut self.report, ns) = n;
        self.report.files.push(file);
        self.stored(ns.as_str(), n, started);
        Ok(written)
    }

    async fn write_vectors(&mut self, ns: VectorNamespace, ids: Vec<String>) -> Result<(), MigrateError> {
        let storage = Arc::clone(&self.source.vectors[&ns]);
        let store = nano::store_name(ns);
        let started = Instant::now();
        let ids: Vec<String> = ids.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
        let file = nano::file_name(ns);
        let mut w = NanoWriter::create(&self.dir.join(&file), storage.dimension())?;
        let total = ids.len() as u64;
        let mut done = 0u64;
        for chunk in ids.chunks(self.batch()) {
            let payloads = storage.get_by_ids(chunk).await.map_err(|e| MigrateError::storage(&store, e))?;
            let vectors = storage.get_vectors_by_ids(chunk).await.map_err(|e| MigrateError::storage(&store, e))?;
            for (id, payload) in chunk.iter().zip(payloads) {
                let (Some(mut payload), Some(vector)) = (payload, vectors.get(id)) else { continue };
                let created_at = payload.get("created_at").and_then(Value::as_i64);
                payload.retain(|k, v| !v.is_null() && k != "id" && k != "created_at");
                w.row(id, created_at, &payload, vector)?;
            }
            done += chunk.len() as u64;
            self.emit(ProgressEvent::Writing { store: store.clone(), done, total });
        }
        let n = w.finish()?;
        match ns {
            VectorNamespace::Chunks => self.report.vectors.chunks = n,
            VectorNamespace::Entities => self.report.vectors.entities = n,
            VectorNamespace::Relationships => self.report.vectors.relationships = n,
        }
        self.report.files.push(file);
        self.stored(&store, n, started);
        Ok(())
    }
}

/// What the export of a key-value store leaves for the later ones.
#[derive(Debug, Default)]
struct Written {
    /// The ids written (text chunks: the chunk vectors to export when ids are derived).
    ids: Vec<String>,
    /// The `chunk_ids` listed (entity and relation chunks).
    chunk_ids: Vec<String>,
    /// The `llm_cache_list` entries listed (text chunks).
    cache_ids: Vec<String>,
}

fn export_count(report: &mut ExportReport, ns: KvNamespace) -> &mut u64 {
    match ns {
        KvNamespace::FullDocs => &mut report.full_docs,
        KvNamespace::TextChunks => &mut report.text_chunks,
        KvNamespace::LlmResponseCache => &mut report.llm_cache,
        KvNamespace::FullEntities => &mut report.full_entities,
        KvNamespace::FullRelations => &mut report.full_relations,
        KvNamespace::EntityChunks => &mut report.entity_chunks,
        KvNamespace::RelationChunks => &mut report.relation_chunks,
    }
}
