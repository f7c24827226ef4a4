//! The migration engine: a LightRAG working directory → the four storage traits.
//!
//! [`migrate`] runs in three phases:
//! 1. **Scan** ([`crate::scan`]): every file is read and checked completely;
//!    counts, skipped records, orphans and the format generation are worked out.
//!    A malformed file ends the migration here: **nothing is written to any
//!    store**. A dry run stops after this phase.
//! 2. **Write**: each store is re-read (a key-value or vector store from the
//!    scan's spool of its checked records) and written through its trait in batches
//!    of `batch_size` records (`upsert`, `upsert_nodes_batch`,
//!    `upsert_edges_batch`), in the order doc status, the seven key-value
//!    namespaces, graph nodes, graph edges; and, concurrently with those unless a
//!    vector row is to be completed from them, chunk, entity and relation vectors.
//!    Each batch is one all-or-nothing trait call; a store larger than a batch is
//!    several calls, so a storage failure in the middle of a store leaves the
//!    batches before it written. Every write is an upsert, so running the
//!    migration again converges to the same state (idempotent). A vector store
//!    is one [`VectorStorage::load`] instead (a bulk load: one index build, one
//!    transaction) when its storage's `bulk_load_refusal` allows it, e.g. into a
//!    workspace without vectors; the report's `vector_load` says which and why.
//!    Of a repeated vector id only the last copy is written.
//! 3. **Verify**: each written store is asked, by id, how many of the written
//!    records it holds, and a sample of vectors is read back and compared with
//!    the source. Each side of phase 2 verifies its stores once they are
//!    written (the other stores while the vector stores still load).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use futures::channel::mpsc;
use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt, TryStreamExt};
use lightrag_pg_core::{
    DocStatusStorage, GraphStorage, JsonObject, KvNamespace, KvStorage, Properties, VectorLoad, VectorNamespace,
    VectorRecord, VectorStorage,
};
use serde_json::Value;

use crate::doc_status;
use crate::error::MigrateError;
use crate::graphml::{GraphItem, GraphmlReader};
use crate::nano;
use crate::report::{MigrationReport, StoreCheck, VectorSampleCheck, Verification};
use crate::scan::{self, Plan, enrichable, lacks};
use crate::spool::Spool;

/// A progress callback (for progress bars).
pub type ProgressFn = Arc<dyn Fn(ProgressEvent) + Send + Sync>;

/// What the engine is doing.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// Phase 1: reading and checking a store's file.
    Scanning {
        /// The store.
        store: String,
    },
    /// Phase 2: `done` of `total` records of a store written.
    Writing {
        /// The store.
        store: String,
        /// Records written so far.
        done: u64,
        /// Records to write.
        total: u64,
    },
    /// A store is completely written.
    StoreDone {
        /// The store.
        store: String,
        /// Records written.
        written: u64,
        /// Seconds it took.
        seconds: f64,
    },
    /// Phase 3: checking a store.
    Verifying {
        /// The store.
        store: String,
    },
}

/// Opens the vector storage of a namespace once the dimension is known (the
/// dimension comes from the file's `embedding_dim`, so the storage cannot be
/// opened before the file is read). Implemented for closures through
/// [`FnVectorOpener`].
#[async_trait]
pub trait VectorOpener: Send + Sync {
    /// The storage for `namespace` holding `dimension`-component vectors.
    ///
    /// # Errors
    /// Whatever opening (and initialising) the storage fails with.
    async fn open(
        &self,
        namespace: VectorNamespace,
        dimension: usize,
    ) -> lightrag_pg_core::Result<Arc<dyn VectorStorage>>;
}

/// A [`VectorOpener`] from a closure returning a boxed future.
pub struct FnVectorOpener<F>(pub F);

impl<F> fmt::Debug for FnVectorOpener<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnVectorOpener")
    }
}

#[async_trait]
impl<F> VectorOpener for FnVectorOpener<F>
where
    F: Fn(VectorNamespace, usize) -> BoxFuture<'static, lightrag_pg_core::Result<Arc<dyn VectorStorage>>> + Send + Sync,
{
    async fn open(
        &self,
        namespace: VectorNamespace,
        dimension: usize,
    ) -> lightrag_pg_core::Result<Arc<dyn VectorStorage>> {
        (self.0)(namespace, dimension).await
    }
}

/// Where a migration writes: one storage per store, all of one workspace.
#[derive(Clone)]
pub struct Target {
    /// The key-value storages; a directory with a file for a namespace missing
    /// here is refused before anything is written.
    pub kv: HashMap<KvNamespace, Arc<dyn KvStorage>>,
    /// Opens the vector storages.
    pub vectors: Arc<dyn VectorOpener>,
    /// The graph.
    pub graph: Arc<dyn GraphStorage>,
    /// The document status storage.
    pub doc_status: Arc<dyn DocStatusStorage>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("workspace", self.graph.workspace())
            .field("kv", &self.kv.keys().collect::<Vec<_>>())
            .field("graph", &self.graph)
            .field("doc_status", &self.doc_status)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "memory")]
impl Target {
    /// The in-memory backends of `lightrag-pg-core` for `workspace` (cosine
    /// metric for vectors).
    pub fn memory(workspace: lightrag_pg_core::Workspace) -> Self {
        use lightrag_pg_core::memory::{
            MemoryDocStatusStorage, MemoryGraphStorage, MemoryKvStorage, MemoryVectorStorage,
        };
        let kv = KvNamespace::ALL
            .into_iter()
            .map(|ns| (ns, Arc::new(MemoryKvStorage::new(ns, workspace.clone())) as Arc<dyn KvStorage>))
            .collect();
        let ws = workspace.clone();
        let opener = FnVectorOpener(move |ns, dim| {
            let ws = ws.clone();
            Box::pin(async move {
                let s = MemoryVectorStorage::new(ns, ws, dim, lightrag_pg_core::DistanceMetric::Cosine);
                Ok(Arc::new(s) as Arc<dyn VectorStorage>)
            }) as BoxFuture<'static, _>
        });
        Self {
            kv,
            vectors: Arc::new(opener),
            graph: Arc::new(MemoryGraphStorage::new(workspace.clone())),
            doc_status: Arc::new(MemoryDocStatusStorage::new(workspace)),
        }
    }
}

/// How [`migrate`] runs.
#[derive(Clone)]
pub struct MigrateOptions {
    /// Read and check everything, write nothing (the report says what would be written).
    pub dry_run: bool,
    /// Records per trait call (default 1000).
    pub batch_size: usize,
    /// Progress events.
    pub progress: Option<ProgressFn>,
    /// Run the verification pass (default true).
    pub verify: bool,
    /// Vectors sampled per vector store by the verification (default 20).
    pub verify_sample: usize,
    /// Unquote old-v0 entity names (default true; see [`crate::names`]).
    pub strip_legacy_quotes: bool,
    /// Stores the deployment keeps outside the target (LightRAG's
    /// `LIGHTRAG_*_STORAGE` naming another backend): read and checked, never
    /// written, and listed in [`MigrationReport::left_alone`].
    pub leave_alone: LeaveAlone,
}

/// The stores [`migrate`] leaves alone, each with the reason (e.g.
/// `LIGHTRAG_VECTOR_STORAGE=NanoVectorDBStorage`); `None` migrates the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaveAlone {
    /// The seven key-value namespaces.
    pub kv: Option<String>,
    /// The three vector stores.
    pub vectors: Option<String>,
    /// The graph.
    pub graph: Option<String>,
    /// Document status.
    pub doc_status: Option<String>,
}

impl LeaveAlone {
    /// Takes the left-alone stores out of `plan` (nothing of them is written or
    /// verified) and says so in its report.
    fn apply(&self, plan: &mut Plan) {
        let report = &mut plan.report;
        if let Some(why) = &self.kv {
            plan.inventory.kv.clear();
            plan.kv_ids.clear();
            plan.kv_rows.clear();
            for n in [
                &mut report.full_docs,
                &mut report.text_chunks,
                &mut report.llm_cache,
                &mut report.full_entities,
                &mut report.full_relations,
                &mut report.entity_chunks,
                &mut report.relation_chunks,
            ] {
                *n = 0;
            }
            report.left_alone.insert("kv".into(), why.clone());
        }
        if let Some(why) = &self.vectors {
            plan.inventory.vectors.clear();
            plan.dimensions.clear();
            plan.vector_ids.clear();
            plan.vector_rows.clear();
            plan.enriched.clear();
            report.vectors = Default::default();
            report.left_alone.insert("vectors".into(), why.clone());
        }
        if let Some(why) = &self.graph {
            plan.inventory.graph = None;
            plan.node_ids.clear();
            plan.edge_pairs.clear();
            report.graph = Default::default();
            report.left_alone.insert("graph".into(), why.clone());
        }
        if let Some(why) = &self.doc_status {
            plan.inventory.doc_status = None;
            plan.doc_ids.clear();
            report.doc_status = 0;
            report.left_alone.insert("doc_status".into(), why.clone());
        }
    }
}

impl Default for MigrateOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            batch_size: 1000,
            progress: None,
            verify: true,
            verify_sample: 20,
            strip_legacy_quotes: true,
            leave_alone: LeaveAlone::default(),
        }
    }
}

impl fmt::Debug for MigrateOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MigrateOptions")
            .field("dry_run", &self.dry_run)
            .field("batch_size", &self.batch_size)
            .field("progress", &self.progress.is_some())
            .field("verify", &self.verify)
            .field("verify_sample", &self.verify_sample)
            .field("strip_legacy_quotes", &self.strip_legacy_quotes)
            .field("leave_alone", &self.leave_alone)
            .finish()
    }
}

/// Tolerance of the vector sample check, relative to the component's magnitude
/// (at least 1): `halfvec` storage rounds to float16 (≈ 4.9e-4 relative).
pub const VECTOR_TOLERANCE: f64 = 1e-3;

/// Ids per existence check of the verification (one query each).
const VERIFY_BATCH: usize = 5000;

struct Run<'a> {
    target: &'a Target,
    options: &'a MigrateOptions,
    report: MigrationReport,
}

impl Run<'_> {
    fn emit(&self, event: ProgressEvent) {
        if let Some(p) = &self.options.progress {
            p(event);
        }
    }

    fn batch(&self) -> usize {
        self.options.batch_size.max(1)
    }

    fn done(&mut self, store: &str, written: u64, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        self.report.timings.insert(store.to_owned(), seconds);
        tracing::debug!(store, written, elapsed_ms = seconds * 1000.0, "store written");
        self.emit(ProgressEvent::StoreDone { store: store.to_owned(), written, seconds });
    }
}

/// Moves the LightRAG working directory `dir` into `target`.
///
/// See the module documentation for the phases and what is atomic.
///
/// # Errors
/// [`MigrateError::Malformed`] naming the file and position for malformed input
/// (nothing is written); [`MigrateError::InvalidDirectory`];
/// [`MigrateError::MissingTarget`] / [`MigrateError::DimensionMismatch`] (checked
/// before anything is written); [`MigrateError::Storage`] when a storage call
/// fails (earlier batches stay written; re-running completes the migration).
#[tracing::instrument(skip_all, fields(dir = %dir.display(), workspace = %target.graph.workspace(), dry_run = options.dry_run))]
pub async fn migrate(dir: &Path, target: &Target, options: MigrateOptions) -> Result<MigrationReport, MigrateError> {
    let started = Instant::now();
    // Phase 1 reads and checks every file synchronously (plain file I/O and
    // parsing; a few seconds for hundreds of megabytes).
    let emit_scan = |store: &str| {
        if let Some(p) = &options.progress {
            p(ProgressEvent::Scanning { store: store.to_owned() });
        }
    };
    let mut plan = scan::scan(dir, options.strip_legacy_quotes, !options.dry_run, &emit_scan)?;
    options.leave_alone.apply(&mut plan);
    let mut run = Run { target, options: &options, report: plan.report.clone() };
    run.report.workspace = target.graph.workspace().to_string();
    run.report.dry_run = options.dry_run;
    run.report.timings.insert("scan".to_owned(), started.elapsed().as_secs_f64());
    tracing::debug!(elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, "scan done");
    if options.dry_run {
        run.report.verification =
            Verification { performed: false, ok: true, tolerance: VECTOR_TOLERANCE, ..Default::default() };
        run.report.seconds = started.elapsed().as_secs_f64();
        return Ok(run.report);
    }

    // Everything that can be refused is refused before the first write.
    for ns in plan.inventory.kv.keys() {
        if !target.kv.contains_key(ns) {
            return Err(MigrateError::MissingTarget { store: ns.as_str().to_owned() });
        }
    }
    let mut vector_stores: BTreeMap<VectorNamespace, Arc<dyn VectorStorage>> = BTreeMap::new();
    for (ns, dim) in &plan.dimensions {
        let store = nano::store_name(*ns);
        let storage = target.vectors.open(*ns, *dim).await.map_err(|e| MigrateError::storage(&store, e))?;
        if storage.dimension() != *dim {
            return Err(MigrateError::DimensionMismatch {
                store,
                file_dimension: *dim,
                target_dimension: storage.dimension(),
            });
        }
        vector_stores.insert(*ns, storage);
    }

    // Doc status, key-value stores and graph on one side, the vector stores on
    // the other, concurrently (the server builds a vector index while the other
    // stores are written) — unless a vector row is still to be completed from
    // the stores written first (old formats; see `enrich`).
    let mut kv_rows = std::mem::take(&mut plan.kv_rows);
    let mut vector_rows = std::mem::take(&mut plan.vector_rows);
    let mut vectors_run = Run { target, options: &options, report: MigrationReport::default() };
    // What the scan completed, plus what the write phase completes.
    vectors_run.report.enriched = std::mem::take(&mut plan.enriched);
    let plan = &plan;
    // Each side verifies what it wrote as soon as it is written (the other
    // stores while the server still builds the vector indexes).
    let others = async {
        run.write_doc_status(plan).await?;
        for ns in KvNamespace::ALL {
            if let Some(rows) = kv_rows.remove(&ns) {
                run.write_kv(ns, rows).await?;
            }
        }
        run.write_graph(plan).await?;
        if options.verify { run.verify_stores(plan).await.map(Some) } else { Ok(None) }
    };
    let vectors = async {
        let mut samples: BTreeMap<VectorNamespace, Vec<(String, Vec<f32>)>> = BTreeMap::new();
        for (ns, storage) in &vector_stores {
            let Some(rows) = vector_rows.remove(ns) else { continue };
            samples.insert(*ns, vectors_run.write_vectors(*ns, rows, storage.as_ref()).await?);
        }
        if options.verify {
            vectors_run.verify_vectors(plan, &vector_stores, &samples).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (stores_checked, vectors_checked) = if plan.enrich_from_target {
        let stores = others.await?;
        (stores, vectors.await?)
    } else {
        futures::try_join!(others, vectors)?
    };
    run.report.timings.extend(std::mem::take(&mut vectors_run.report.timings));
    run.report.vector_load = std::mem::take(&mut vectors_run.report.vector_load);
    run.report.enriched = std::mem::take(&mut vectors_run.report.enriched);

    run.report.verification = match (stores_checked, vectors_checked) {
        (Some(mut v), Some(vectors)) => {
            v.counts.extend(vectors.counts);
            v.mismatches.extend(vectors.mismatches);
            v.vectors = vectors.vectors;
            v.ok = v.mismatches.is_empty();
            v
        }
        _ => Verification { performed: false, ok: true, tolerance: VECTOR_TOLERANCE, ..Default::default() },
    };
    run.report.seconds = started.elapsed().as_secs_f64();
    tracing::debug!(elapsed_ms = run.report.seconds * 1000.0, ok = run.report.verification.ok, "migration done");
    Ok(run.report)
}

fn chunks<T>(items: Vec<T>, size: usize) -> impl Iterator<Item = Vec<T>> {
    let mut items = items.into_iter().peekable();
    std::iter::from_fn(move || {
        items.peek()?;
        Some(items.by_ref().take(size).collect())
    })
}

impl Run<'_> {
    async fn write_doc_status(&mut self, plan: &Plan) -> Result<(), MigrateError> {
        let Some(path) = &plan.inventory.doc_status else { return Ok(()) };
        let started = Instant::now();
        let store = doc_status::STORE;
        let f = doc_status::read(path)?;
        let total = f.records.len() as u64;
        let mut done = 0u64;
        for batch in chunks(f.records, self.batch()) {
            let n = batch.len() as u64;
            self.target.doc_status.upsert(batch).await.map_err(|e| MigrateError::storage(store, e))?;
            done += n;
            self.emit(ProgressEvent::Writing { store: store.to_owned(), done, total });
        }
        self.done(store, done, started);
        Ok(())
    }

    /// Writes one key-value store from the records the scan spooled.
    async fn write_kv(&mut self, ns: KvNamespace, rows: Spool) -> Result<(), MigrateError> {
        let storage = Arc::clone(&self.target.kv[&ns]);
        let started = Instant::now();
        let store = ns.as_str();
        let total = rows.len() as u64;
        let mut done = 0u64;
        let mut rows = rows.into_rows()?.peekable();
        while rows.peek().is_some() {
            let batch = rows
                .by_ref()
                .take(self.batch())
                .map(|r| r.map(|r| (r.id, r.payload)))
                .collect::<Result<Vec<_>, _>>()?;
            let n = batch.len() as u64;
            storage.upsert(batch).await.map_err(|e| MigrateError::storage(store, e))?;
            done += n;
            self.emit(ProgressEvent::Writing { store: store.to_owned(), done, total });
        }
        self.done(store, done, started);
        Ok(())
    }

    async fn write_graph(&mut self, plan: &Plan) -> Result<(), MigrateError> {
        let Some(path) = &plan.inventory.graph else { return Ok(()) };
        let names = plan.names;
        let graph = Arc::clone(&self.target.graph);
        let batch_size = self.batch();
        let (total_nodes, total_edges) = (self.report.graph.nodes, self.report.graph.edges);
        let skipped: HashSet<(String, String)> = self
            .report
            .skipped
            .iter()
            .filter(|s| s.store.starts_with("graph."))
            .map(|s| (s.store.clone(), s.id.clone()))
            .collect();
        let started = Instant::now();
        let mut nodes: Vec<(String, Properties)> = Vec::with_capacity(batch_size);
        let mut edges: Vec<(String, String, Properties)> = Vec::with_capacity(batch_size);
        let (mut done_nodes, mut done_edges) = (0u64, 0u64);
        let mut edges_started = None;
        for item in GraphmlReader::open(path)? {
            match item? {
                GraphItem::Node { id, mut properties } => {
                    if skipped.contains(&("graph.nodes".to_owned(), id.clone())) {
                        continue;
                    }
                    let id = names.name_owned(id);
                    if names.strip_quotes {
                        properties.insert("entity_id".into(), Value::from(id.clone()));
                        if let Some(Value::String(t)) = properties.get("entity_type").cloned() {
                            properties.insert("entity_type".into(), Value::from(names.name_owned(t)));
                        }
                    }
                    nodes.push((id, properties));
                    if nodes.len() >= batch_size {
                        done_nodes += nodes.len() as u64;
                        graph
                            .upsert_nodes_batch(std::mem::take(&mut nodes))
                            .await
                            .map_err(|e| MigrateError::storage("graph.nodes", e))?;
                        self.emit(ProgressEvent::Writing {
                            store: "graph.nodes".into(),
                            done: done_nodes,
                            total: total_nodes,
                        });
                    }
                }
                GraphItem::Edge { source, target, properties } => {
                    if skipped.contains(&("graph.edges".to_owned(), format!("{source} -> {target}"))) {
                        continue;
                    }
                    edges_started.get_or_insert_with(Instant::now);
                    edges.push((names.name_owned(source), names.name_owned(target), properties));
                    if edges.len() >= batch_size {
                        done_edges += edges.len() as u64;
                        graph
                            .upsert_edges_batch(std::mem::take(&mut edges))
                            .await
                            .map_err(|e| MigrateError::storage("graph.edges", e))?;
                        self.emit(ProgressEvent::Writing {
                            store: "graph.edges".into(),
                            done: done_edges,
                            total: total_edges,
                        });
                    }
                }
            }
        }
        if !nodes.is_empty() {
            done_nodes += nodes.len() as u64;
            graph.upsert_nodes_batch(nodes).await.map_err(|e| MigrateError::storage("graph.nodes", e))?;
        }
        self.done("graph.nodes", total_nodes, started);
        let edge_start = edges_started.unwrap_or_else(Instant::now);
        if !edges.is_empty() {
            done_edges += edges.len() as u64;
            graph.upsert_edges_batch(edges).await.map_err(|e| MigrateError::storage("graph.edges", e))?;
        }
        self.done("graph.edges", total_edges, edge_start);
        tracing::debug!(nodes = done_nodes, edges = done_edges, "graph records sent");
        Ok(())
    }

    /// Writes one vector file; returns the verification sample `(id, vector)`.
    ///
    /// The rows scan chose and spooled (of a repeated id, its last copy) are
    /// enriched and handed over in batches to the storage: as one bulk load
    /// ([`VectorStorage::load`]) when the storage says a load now would build
    /// its index once, else batch by batch through `upsert`; the report's
    /// `vector_load` says which and why. Reading the spool and writing overlap.
    async fn write_vectors(
        &mut self,
        ns: VectorNamespace,
        rows: Spool,
        storage: &dyn VectorStorage,
    ) -> Result<Vec<(String, Vec<f32>)>, MigrateError> {
        let store = nano::store_name(ns);
        let started = Instant::now();
        let total = rows.len() as u64;
        let refusal = storage.bulk_load_refusal().await.map_err(|e| MigrateError::storage(&store, e))?;
        let (tx, rx) = mpsc::channel::<lightrag_pg_core::Result<Vec<VectorRecord>>>(1);
        let (this, name) = (&*self, store.clone());
        let read = async move {
            let mut tx = tx;
            let read = this.read_vectors(ns, rows, &mut tx).await;
            if read.is_err() {
                // The load must not commit what was sent so far.
                let stop = lightrag_pg_core::Error::invalid(name, "the spooled rows could not be read");
                let _ = tx.send(Err(stop)).await;
            }
            read
        };
        let write = async {
            match refusal {
                None => storage.load(rx.boxed()).await,
                Some(reason) => {
                    rx.try_for_each(|batch| storage.upsert(batch)).await?;
                    Ok(VectorLoad::Incremental { reason })
                }
            }
        };
        let (read, written) = futures::join!(read, write);
        let (sample, enriched) = read?;
        let load = written.map_err(|e| MigrateError::storage(&store, e))?;
        tracing::debug!(store, load = ?load, "vector store loaded");
        self.report.vector_load.insert(ns.as_str().to_owned(), load);
        if enriched > 0 {
            *self.report.enriched.entry(store.clone()).or_default() += enriched;
        }
        self.done(&store, total, started);
        Ok(sample)
    }

    /// The producer of [`Self::write_vectors`]: sends the spooled rows, in
    /// enriched batches; returns the verification sample and the rows enriched.
    async fn read_vectors(
        &self,
        ns: VectorNamespace,
        rows: Spool,
        tx: &mut mpsc::Sender<lightrag_pg_core::Result<Vec<VectorRecord>>>,
    ) -> Result<(Vec<(String, Vec<f32>)>, u64), MigrateError> {
        let store = nano::store_name(ns);
        let total = rows.len() as u64;
        let want = self.options.verify_sample;
        let step = (rows.len() / want.max(1)).max(1);
        let mut sample = Vec::with_capacity(want);
        let (mut done, mut enriched) = (0u64, 0u64);
        let mut rows = rows.into_rows()?.enumerate().peekable();
        while rows.peek().is_some() {
            let mut batch: Vec<VectorRecord> = Vec::with_capacity(self.batch());
            for (n, row) in rows.by_ref().take(self.batch()) {
                let row = row?;
                if n.is_multiple_of(step) && sample.len() < want {
                    sample.push((row.id.clone(), row.vector.clone()));
                }
                batch.push(row);
            }
            enriched += self.enrich(ns, &mut batch).await?;
            done += batch.len() as u64;
            if tx.send(Ok(batch)).await.is_err() {
                // The writer stopped; its error is the one reported.
                break;
            }
            self.emit(ProgressEvent::Writing { store: store.clone(), done, total });
        }
        Ok((sample, enriched))
    }

    /// Completes vector payloads from stores already written: chunk fields from
    /// `text_chunks`, entity and relation `content`/`source_id`/`file_path` from
    /// the graph (LightRAG's `"{name}\n{description}"` and
    /// `"{keywords}\t{src}\n{tgt}\n{description}"`). Returns the rows changed.
    async fn enrich(&self, ns: VectorNamespace, batch: &mut [VectorRecord]) -> Result<u64, MigrateError> {
        let fields = enrichable(ns);
        let needy: Vec<usize> =
            (0..batch.len()).filter(|i| fields.iter().any(|f| lacks(&batch[*i].payload, f))).collect();
        if needy.is_empty() {
            return Ok(0);
        }
        let mut changed = 0u64;
        let fill = |payload: &mut JsonObject, field: &str, value: Option<Value>| -> bool {
            match value {
                Some(v) if !v.is_null() && lacks(payload, field) => {
                    payload.insert(field.to_owned(), v);
                    true
                }
                _ => false,
            }
        };
        match ns {
            VectorNamespace::Chunks => {
                let Some(kv) = self.target.kv.get(&KvNamespace::TextChunks) else { return Ok(0) };
                let ids: Vec<String> = needy.iter().map(|i| batch[*i].id.clone()).collect();
                let found = kv.get_by_ids(&ids).await.map_err(|e| MigrateError::storage("text_chunks", e))?;
                for (i, rec) in needy.iter().zip(found) {
                    let Some(rec) = rec else { continue };
                    let mut any = false;
                    for f in fields {
                        any |= fill(&mut batch[*i].payload, f, rec.get(*f).cloned());
                    }
                    changed += u64::from(any);
                }
            }
            VectorNamespace::Entities => {
                let names: Vec<String> = needy
                    .iter()
                    .filter_map(|i| batch[*i].payload.get("entity_name").and_then(Value::as_str).map(str::to_owned))
                    .collect();
                let nodes = self
                    .target
                    .graph
                    .get_nodes_batch(&names)
                    .await
                    .map_err(|e| MigrateError::storage("graph.nodes", e))?;
                for i in &needy {
                    let p = &mut batch[*i].payload;
                    let Some(name) = p.get("entity_name").and_then(Value::as_str).map(str::to_owned) else { continue };
                    let Some(node) = nodes.get(&name) else { continue };
                    let content = node.description().map(|d| Value::from(format!("{name}\n{d}")));
                    let mut any = fill(p, "content", content);
                    any |= fill(p, "source_id", node.get("source_id").cloned());
                    any |= fill(p, "file_path", node.get("file_path").cloned());
                    changed += u64::from(any);
                }
            }
            VectorNamespace::Relationships => {
                let pairs: Vec<(String, String)> = needy
                    .iter()
                    .filter_map(|i| {
                        let p = &batch[*i].payload;
                        Some((p.get("src_id")?.as_str()?.to_owned(), p.get("tgt_id")?.as_str()?.to_owned()))
                    })
                    .collect();
                let edges = self
                    .target
                    .graph
                    .get_edges_batch(&pairs)
                    .await
                    .map_err(|e| MigrateError::storage("graph.edges", e))?;
                for i in &needy {
                    let p = &mut batch[*i].payload;
                    let (Some(s), Some(t)) = (
                        p.get("src_id").and_then(Value::as_str).map(str::to_owned),
                        p.get("tgt_id").and_then(Value::as_str).map(str::to_owned),
                    ) else {
                        continue;
                    };
                    let Some(edge) = edges.get(&(s.clone(), t.clone())) else { continue };
                    let content = edge
                        .description()
                        .map(|d| Value::from(format!("{}\t{s}\n{t}\n{d}", edge.keywords().unwrap_or_default())));
                    let mut any = fill(p, "content", content);
                    any |= fill(p, "source_id", edge.get("source_id").cloned());
                    any |= fill(p, "file_path", edge.get("file_path").cloned());
                    changed += u64::from(any);
                }
            }
        }
        Ok(changed)
    }

    /// Records the time a verification took (both halves add up).
    fn verified(&mut self, started: Instant) {
        *self.report.timings.entry("verification".into()).or_default() += started.elapsed().as_secs_f64();
    }

    /// Verifies doc status, the key-value stores and the graph: each store is
    /// asked, by id, how many of the written records it holds.
    async fn verify_stores(&mut self, plan: &Plan) -> Result<Verification, MigrateError> {
        let started = Instant::now();
        let mut v = Verification { performed: true, ok: true, tolerance: VECTOR_TOLERANCE, ..Default::default() };
        let batch = VERIFY_BATCH;

        if plan.inventory.doc_status.is_some() {
            self.emit(ProgressEvent::Verifying { store: doc_status::STORE.into() });
            let mut missing = 0u64;
            for ids in plan.doc_ids.chunks(batch) {
                missing += self
                    .target
                    .doc_status
                    .filter_keys(ids)
                    .await
                    .map_err(|e| MigrateError::storage(doc_status::STORE, e))?
                    .len() as u64;
            }
            let expected = unique(&plan.doc_ids);
            check(&mut v, doc_status::STORE, expected, expected - missing.min(expected));
        }
        for (ns, ids) in &plan.kv_ids {
            let store = ns.as_str();
            self.emit(ProgressEvent::Verifying { store: store.into() });
            let storage = &self.target.kv[ns];
            let mut missing = 0u64;
            for chunk in ids.chunks(batch) {
                missing += storage.filter_keys(chunk).await.map_err(|e| MigrateError::storage(store, e))?.len() as u64;
            }
            let expected = unique(ids);
            check(&mut v, store, expected, expected - missing.min(expected));
        }
        if plan.inventory.graph.is_some() {
            self.emit(ProgressEvent::Verifying { store: "graph.nodes".into() });
            let mut found = 0u64;
            for ids in plan.node_ids.chunks(self.batch()) {
                found += self
                    .target
                    .graph
                    .has_nodes_batch(ids)
                    .await
                    .map_err(|e| MigrateError::storage("graph.nodes", e))?
                    .len() as u64;
            }
            check(&mut v, "graph.nodes", plan.node_ids.len() as u64, found);
            self.emit(ProgressEvent::Verifying { store: "graph.edges".into() });
            let mut found = 0u64;
            for pairs in plan.edge_pairs.chunks(self.batch()) {
                found += self
                    .target
                    .graph
                    .get_edges_batch(pairs)
                    .await
                    .map_err(|e| MigrateError::storage("graph.edges", e))?
                    .len() as u64;
            }
            check(&mut v, "graph.edges", plan.edge_pairs.len() as u64, found);
        }
        v.ok = v.mismatches.is_empty();
        self.verified(started);
        Ok(v)
    }

    /// Verifies the vector stores: the ids written are all found, and the
    /// sampled vectors read back equal the source within [`VECTOR_TOLERANCE`].
    async fn verify_vectors(
        &mut self,
        plan: &Plan,
        vector_stores: &BTreeMap<VectorNamespace, Arc<dyn VectorStorage>>,
        samples: &BTreeMap<VectorNamespace, Vec<(String, Vec<f32>)>>,
    ) -> Result<Verification, MigrateError> {
        let started = Instant::now();
        let mut v = Verification { performed: true, ok: true, tolerance: VECTOR_TOLERANCE, ..Default::default() };
        let batch = VERIFY_BATCH;
        for (ns, storage) in vector_stores {
            let store = nano::store_name(*ns);
            self.emit(ProgressEvent::Verifying { store: store.clone() });
            let ids = plan.vector_ids.get(ns).map(Vec::as_slice).unwrap_or_default();
            let mut missing = 0u64;
            for chunk in ids.chunks(batch) {
                missing += storage.filter_keys(chunk).await.map_err(|e| MigrateError::storage(&store, e))?.len() as u64;
            }
            let expected = unique(ids);
            check(&mut v, &store, expected, expected.saturating_sub(missing));

            let sample = samples.get(ns).map(Vec::as_slice).unwrap_or_default();
            let sample_ids: Vec<String> = sample.iter().map(|(id, _)| id.clone()).collect();
            let got = storage.get_vectors_by_ids(&sample_ids).await.map_err(|e| MigrateError::storage(&store, e))?;
            let mut s = VectorSampleCheck {
                store: store.clone(),
                checked: sample.len() as u64,
                max_abs_diff: 0.0,
                mismatched: Vec::new(),
            };
            for (id, want) in sample {
                let Some(have) = got.get(id) else {
                    s.mismatched.push(id.clone());
                    continue;
                };
                if have.len() != want.len() {
                    s.mismatched.push(id.clone());
                    continue;
                }
                let mut bad = false;
                for (a, b) in want.iter().zip(have) {
                    let d = (f64::from(*a) - f64::from(*b)).abs();
                    s.max_abs_diff = s.max_abs_diff.max(d);
                    bad |= d > VECTOR_TOLERANCE * f64::from(a.abs()).max(1.0);
                }
                if bad {
                    s.mismatched.push(id.clone());
                }
            }
            if !s.mismatched.is_empty() {
                v.mismatches.push(format!("{store}: {} sampled vectors missing or different", s.mismatched.len()));
            }
            v.vectors.push(s);
        }
        v.ok = v.mismatches.is_empty();
        self.verified(started);
        Ok(v)
    }
}

/// Records a count check of `store`.
fn check(v: &mut Verification, store: &str, expected: u64, found: u64) {
    if expected != found {
        v.mismatches.push(format!("{store}: {expected} records written but {found} found"));
    }
    v.counts.push(StoreCheck { store: store.to_owned(), expected, found });
}

fn unique(ids: &[String]) -> u64 {
    ids.iter().collect::<HashSet<_>>().len() as u64
}

#[cfg(all(test, feature = "memory"))]
mod tests {
    use super::*;
    use lightrag_pg_core::Workspace;
    use serde_json::json;

    #[tokio::test]
    async fn a_small_directory_migrates_into_the_memory_target() {
        let dir = tempfile::tempdir().unwrap();
        let write =
            |name: &str, v: Value| std::fs::write(dir.path().join(name), serde_json::to_vec(&v).unwrap()).unwrap();
        write("kv_store_full_docs.json", json!({"doc-1": {"content": "hello", "_id": "doc-1"}}));
        write(
            "vdb_chunks.json",
            json!({"embedding_dim": 2, "data": [{"__id__": "chunk-1", "__created_at__": 1, "content": "hello"}],
                   "matrix": "AACAPwAAAAA="}),
        );
        let target = Target::memory(Workspace::new("files-unit-memory").unwrap());
        let r = migrate(dir.path(), &target, MigrateOptions::default()).await.unwrap();
        assert_eq!((r.full_docs, r.vectors.chunks, r.embedding_dim.chunks), (1, 1, Some(2)));
        assert!(r.verification.ok, "{:?}", r.verification.mismatches);
        let doc = target.kv[&KvNamespace::FullDocs].get_by_id("doc-1").await.unwrap().unwrap();
        assert_eq!(doc["content"], "hello");
        assert!(!doc.contains_key("_id"));
    }
}
