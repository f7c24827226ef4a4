//! Shared test helpers: the datasets, memory targets, a key recorder (the memory
//! backends cannot list their keys), and counts computed directly from the
//! files with serde_json — independently of the crate's readers.

#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use base64::Engine as _;
use lightrag_pg_core::memory::{MemoryDocStatusStorage, MemoryGraphStorage, MemoryKvStorage, MemoryVectorStorage};
use lightrag_pg_core::{
    DistanceMetric, JsonObject, KvNamespace, KvStorage, Namespace, Result, Storage, VectorHit, VectorNamespace,
    VectorQuery, VectorRecord, VectorStorage, Workspace,
};
use lightrag_pg_files::{FnVectorOpener, KeyLister, Source, Target};
use serde_json::Value;
use std::sync::Mutex;

pub const DATASETS: [&str; 6] = [
    "academic-bio-en-legacy",
    "dickens-christmas-carol-en",
    "english-reading-topics-en",
    "film-24-2016-en",
    "lightrag-1.5.7-format-sample",
    "yogyakarta-trafficking-perda-id",
];

/// A shared dataset directory (test-support's `dataset`: `LIGHTRAG_SHARED_DATASETS`
/// or `../shared/datasets` beside the workspace).
pub fn dataset(name: &str) -> PathBuf {
    lightrag_pg_test_support::dataset(name)
}

/// A writable copy of a dataset in a temporary directory.
pub fn copy_of(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(dataset(name)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

pub fn edit_json(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v = json(path);
    f(&mut v);
    std::fs::write(path, serde_json::to_vec(&v).unwrap()).unwrap();
}

/// A workspace name no other test uses (the memory backends are process-wide).
pub fn workspace(prefix: &str) -> Workspace {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    Workspace::new(format!("{prefix}-{}-{n}", std::process::id())).unwrap()
}

/// Keys written through the recording wrappers, per namespace.
#[derive(Debug, Default)]
pub struct Recorded {
    pub kv: Mutex<HashMap<KvNamespace, BTreeSet<String>>>,
    pub vectors: Mutex<HashMap<VectorNamespace, BTreeSet<String>>>,
}

#[async_trait]
impl KeyLister for Recorded {
    async fn kv_keys(&self, ns: KvNamespace) -> Result<Vec<String>> {
        Ok(self.kv.lock().unwrap().get(&ns).map(|s| s.iter().cloned().collect()).unwrap_or_default())
    }
    async fn vector_ids(&self, ns: VectorNamespace) -> Result<Vec<String>> {
        Ok(self.vectors.lock().unwrap().get(&ns).map(|s| s.iter().cloned().collect()).unwrap_or_default())
    }
}

/// A memory KV storage that records the keys written to it.
#[derive(Debug)]
pub struct RecordingKv {
    inner: MemoryKvStorage,
    ns: KvNamespace,
    keys: Arc<Recorded>,
}

#[async_trait]
impl Storage for RecordingKv {
    fn namespace(&self) -> Namespace {
        self.inner.namespace()
    }
    fn workspace(&self) -> &Workspace {
        self.inner.workspace()
    }
    async fn initialize(&self) -> Result<()> {
        self.inner.initialize().await
    }
    async fn drop_all(&self) -> Result<()> {
        self.inner.drop_all().await
    }
}

#[async_trait]
impl KvStorage for RecordingKv {
    async fn get_by_id(&self, id: &str) -> Result<Option<JsonObject>> {
        self.inner.get_by_id(id).await
    }
    async fn get_by_ids(&self, ids: &[String]) -> Result<Vec<Option<JsonObject>>> {
        self.inner.get_by_ids(ids).await
    }
    async fn filter_keys(&self, keys: &[String]) -> Result<HashSet<String>> {
        self.inner.filter_keys(keys).await
    }
    async fn upsert(&self, records: Vec<(String, JsonObject)>) -> Result<()> {
        let ids: Vec<String> = records.iter().map(|(k, _)| k.clone()).collect();
        self.inner.upsert(records).await?;
        self.keys.kv.lock().unwrap().entry(self.ns).or_default().extend(ids);
        Ok(())
    }
    async fn delete(&self, ids: &[String]) -> Result<()> {
        self.inner.delete(ids).await
    }
    async fn is_empty(&self) -> Result<bool> {
        self.inner.is_empty().await
    }
}

/// A memory vector storage that records the ids written to it.
#[derive(Debug)]
pub struct RecordingVectors {
    inner: MemoryVectorStorage,
    ns: VectorNamespace,
    keys: Arc<Recorded>,
}

#[async_trait]
impl Storage for RecordingVectors {
    fn namespace(&self) -> Namespace {
        self.inner.namespace()
    }
    fn workspace(&self) -> &Workspace {
        self.inner.workspace()
    }
    async fn initialize(&self) -> Result<()> {
        self.inner.initialize().await
    }
    async fn drop_all(&self) -> Result<()> {
        self.inner.drop_all().await
    }
}

#[async_trait]
impl VectorStorage for RecordingVectors {
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    async fn query(&self, query: &VectorQuery) -> Result<Vec<VectorHit>> {
        self.inner.query(query).await
    }
    async fn upsert(&self, records: Vec<VectorRecord>) -> Result<()> {
        let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        self.inner.upsert(records).await?;
        self.keys.vectors.lock().unwrap().entry(self.ns).or_default().extend(ids);
        Ok(())
    }
    async fn delete(&self, ids: &[String]) -> Result<()> {
        self.inner.delete(ids).await
    }
    async fn delete_entity(&self, name: &str) -> Result<()> {
        self.inner.delete_entity(name).await
    }
    async fn delete_entity_relation(&self, name: &str) -> Result<()> {
        self.inner.delete_entity_relation(name).await
    }
    async fn get_by_id(&self, id: &str) -> Result<Option<JsonObject>> {
        self.inner.get_by_id(id).await
    }
    async fn get_by_ids(&self, ids: &[String]) -> Result<Vec<Option<JsonObject>>> {
        self.inner.get_by_ids(ids).await
    }
    async fn get_vectors_by_ids(&self, ids: &[String]) -> Result<HashMap<String, Vec<f32>>> {
        self.inner.get_vectors_by_ids(ids).await
    }
}

/// A memory workspace: the migration target, the export source, and the keys
/// written (for an export that lists them).
pub struct Memory {
    pub workspace: Workspace,
    pub keys: Arc<Recorded>,
    pub target: Target,
    pub vectors: Arc<Mutex<HashMap<VectorNamespace, Arc<dyn VectorStorage>>>>,
}

impl Memory {
    pub fn new(prefix: &str) -> Self {
        let workspace = workspace(prefix);
        let keys = Arc::new(Recorded::default());
        let kv = KvNamespace::ALL
            .into_iter()
            .map(|ns| {
                let s = RecordingKv { inner: MemoryKvStorage::new(ns, workspace.clone()), ns, keys: Arc::clone(&keys) };
                (ns, Arc::new(s) as Arc<dyn KvStorage>)
            })
            .collect();
        let vectors: Arc<Mutex<HashMap<VectorNamespace, Arc<dyn VectorStorage>>>> = Arc::default();
        let (ws, k, opened) = (workspace.clone(), Arc::clone(&keys), Arc::clone(&vectors));
        let opener = FnVectorOpener(move |ns, dim| {
            let inner = MemoryVectorStorage::new(ns, ws.clone(), dim, DistanceMetric::Cosine);
            let s: Arc<dyn VectorStorage> = Arc::new(RecordingVectors { inner, ns, keys: Arc::clone(&k) });
            opened.lock().unwrap().insert(ns, Arc::clone(&s));
            Box::pin(async move { Ok(s) }) as futures::future::BoxFuture<'static, _>
        });
        let target = Target {
            kv,
            vectors: Arc::new(opener),
            graph: Arc::new(MemoryGraphStorage::new(workspace.clone())),
            doc_status: Arc::new(MemoryDocStatusStorage::new(workspace.clone())),
        };
        Self { workspace, keys, target, vectors }
    }

    /// The vector storage the migration opened for `ns`.
    pub fn vector_store(&self, ns: VectorNamespace) -> Arc<dyn VectorStorage> {
        Arc::clone(&self.vectors.lock().unwrap()[&ns])
    }

    /// The export source over what was migrated; `listed` uses the recorded keys.
    pub fn source(&self, listed: bool) -> Source {
        Source {
            kv: self.target.kv.clone(),
            vectors: self.vectors.lock().unwrap().clone(),
            graph: Arc::clone(&self.target.graph),
            doc_status: Arc::clone(&self.target.doc_status),
            keys: listed.then(|| Arc::clone(&self.keys) as Arc<dyn KeyLister>),
        }
    }
}

// ---------------------------------------------------------------------------
// Independent counts, straight from the files.

pub fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Number of records of a `kv_store_*.json` (legacy nested cache modes count
/// their entries).
pub fn kv_count(dir: &Path, ns: &str) -> Option<u64> {
    let p = dir.join(format!("kv_store_{ns}.json"));
    if !p.exists() {
        return None;
    }
    let v = json(&p);
    let obj = v.as_object().unwrap();
    Some(
        obj.iter()
            .map(|(k, v)| {
                let nested = ns == "llm_response_cache"
                    && k.split(':').count() != 3
                    && v.as_object().is_some_and(|m| m.values().all(|e| e.get("return").is_some()));
                if nested { v.as_object().unwrap().len() as u64 } else { 1 }
            })
            .sum(),
    )
}

/// `(rows, rows with an unusable embedding)` of a `vdb_*.json`: a matrix row or
/// raw `vector` with a NaN or infinite component, or all zeros.
pub fn vdb_rows(dir: &Path, ns: &str) -> Option<(u64, u64)> {
    let p = dir.join(format!("vdb_{ns}.json"));
    if !p.exists() {
        return None;
    }
    let v = json(&p);
    let dim = v["embedding_dim"].as_u64().unwrap() as usize;
    let rows = v["data"].as_array().unwrap();
    let matrix = base64::engine::general_purpose::STANDARD.decode(v["matrix"].as_str().unwrap()).unwrap();
    let floats: Vec<f32> = matrix.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    assert_eq!(floats.len(), rows.len() * dim);
    let unusable = |v: &[f32]| v.iter().any(|x| !x.is_finite()) || v.iter().all(|x| *x == 0.0);
    let bad = floats
        .chunks(dim)
        .zip(rows)
        .filter(|(m, row)| {
            let raw = row["vector"].as_str().map(|s| lightrag_pg_files::nano::decode_vector(s).unwrap());
            unusable(m) || raw.is_some_and(|r| unusable(&r))
        })
        .count();
    Some((rows.len() as u64, bad as u64))
}

/// `(nodes, edges)`: `<node ` and `<edge ` elements of the GraphML.
pub fn graphml_counts(dir: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(dir.join("graph_chunk_entity_relation.graphml")).unwrap();
    (text.matches("<node ").count() as u64, text.matches("<edge ").count() as u64)
}

/// Every file of an exported directory, parsed for comparison: storage-assigned
/// times are removed, Nano matrices and row vectors are decoded to floats.
pub fn normalised_dir(dir: &Path) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let value = if name.ends_with(".graphml") {
            Value::String(std::fs::read_to_string(&path).unwrap())
        } else {
            let mut v = json(&path);
            normalise(&mut v, name.starts_with("vdb_"));
            v
        };
        out.insert(name, value);
    }
    out
}

fn floats(values: impl Iterator<Item = f32>) -> Value {
    Value::Array(values.map(|x| Value::from(f64::from(x))).collect())
}

fn normalise(v: &mut Value, vdb: bool) {
    if vdb {
        let obj = v.as_object_mut().unwrap();
        let m = obj.remove("matrix").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD.decode(m.as_str().unwrap()).unwrap();
        obj.insert("matrix".into(), floats(bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap()))));
        for row in obj["data"].as_array_mut().unwrap() {
            let row = row.as_object_mut().unwrap();
            row.remove("__created_at__");
            let raw = lightrag_pg_files::nano::decode_vector(row["vector"].as_str().unwrap()).unwrap();
            row.insert("vector".into(), floats(raw.into_iter()));
        }
    } else {
        for rec in v.as_object_mut().unwrap().values_mut() {
            if let Some(r) = rec.as_object_mut() {
                r.remove("create_time");
                r.remove("update_time");
            }
        }
    }
}

/// JSON equality where non-integer numbers may differ by float16 precision
/// (1e-3 relative to their magnitude, at least 1); returns the first difference.
pub fn difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if !(x.is_i64() && y.is_i64()) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            ((x - y).abs() > 1e-3 * x.abs().max(1.0)).then(|| format!("{path}: {x} != {y}"))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: {} items != {}", x.len(), y.len()));
            }
            x.iter().zip(y).enumerate().find_map(|(i, (p, q))| difference(p, q, &format!("{path}[{i}]")))
        }
        (Value::Object(x), Value::Object(y)) => {
            let kx: BTreeSet<&String> = x.keys().collect();
            let ky: BTreeSet<&String> = y.keys().collect();
            if kx != ky {
                return Some(format!("{path}: keys {kx:?} != {ky:?}"));
            }
            x.iter().find_map(|(k, p)| difference(p, &y[k], &format!("{path}.{k}")))
        }
        _ => (a != b).then(|| format!("{path}: {a} != {b}")),
    }
}

// ---------------------------------------------------------------------------
// PostgreSQL targets, through the facade.

/// The facade's storages of `workspace` in `db`, vectors of `dim` components.
pub async fn pg_storages(
    db: &lightrag_pg_test_support::fresh::FreshDb,
    workspace: &str,
    dim: usize,
) -> lightrag_pg::Storages {
    lightrag_pg::StoragesBuilder::new()
        .pool(db.pool(4).await)
        .workspace(workspace)
        .embedding_dim(dim)
        .build()
        .await
        .expect("the facade opens every storage")
}

/// The migration target over the facade's storages (their vector storages
/// whatever dimension the files have: a mismatch is the migration's to find).
pub fn pg_target(storages: &lightrag_pg::Storages) -> Target {
    let kv = KvNamespace::ALL.into_iter().map(|ns| (ns, storages.kv(ns).unwrap())).collect();
    let vectors = storages.clone();
    let opener = FnVectorOpener(move |ns, _dim| {
        let store = vectors.vector(ns);
        Box::pin(async move { store }) as futures::future::BoxFuture<'static, _>
    });
    Target {
        kv,
        vectors: Arc::new(opener),
        graph: storages.graph().unwrap(),
        doc_status: storages.doc_status().unwrap(),
    }
}

/// What a vector file holds, as LightRAG reads it: per id its last valid row.
pub fn last_rows(path: &Path, ns: VectorNamespace) -> HashMap<String, lightrag_pg_files::nano::NanoRow> {
    let file = lightrag_pg_files::nano::NanoFile::open(path, ns).unwrap();
    let mut rows = HashMap::new();
    for i in 0..file.len() {
        if let lightrag_pg_files::nano::RowOutcome::Row(row) = file.row(i).unwrap() {
            rows.insert(row.id.clone(), row);
        }
    }
    rows
}

/// Reads every row of `rows` back from `store` and lists the differences: a
/// missing id, a vector off by more than 1e-3 in a component, another `content`.
pub async fn differences(
    store: &dyn VectorStorage,
    rows: &HashMap<String, lightrag_pg_files::nano::NanoRow>,
) -> Vec<String> {
    let ids: Vec<String> = rows.keys().cloned().collect();
    let mut out = Vec::new();
    for chunk in ids.chunks(1000) {
        let vectors = store.get_vectors_by_ids(chunk).await.unwrap();
        let payloads = store.get_by_ids(chunk).await.unwrap();
        for (id, payload) in chunk.iter().zip(payloads) {
            let want = &rows[id];
            match (vectors.get(id), payload) {
                (Some(v), Some(p)) => {
                    let off = v.len() != want.vector.len()
                        || v.iter().zip(&want.vector).any(|(a, b)| (a - b).abs() > 1e-3 * b.abs().max(1.0));
                    if off {
                        out.push(format!("{id}: another vector"));
                    }
                    if let Some(content) = want.payload.get("content").filter(|c| !c.is_null())
                        && p.get("content") != Some(content)
                    {
                        out.push(format!("{id}: content {:?}, not {content}", p.get("content")));
                    }
                }
                _ => out.push(format!("{id}: missing")),
            }
        }
    }
    out
}

/// The ids of a PostgreSQL workspace, through `lightrag_pg::admin` (what the
/// traits cannot list), for an export.
pub struct PgKeys {
    pub pool: lightrag_pg::pool::PgPool,
    pub workspace: Workspace,
}

#[async_trait]
impl KeyLister for PgKeys {
    async fn kv_keys(&self, ns: KvNamespace) -> Result<Vec<String>> {
        lightrag_pg::admin::ids(&self.pool, ns.table(), &self.workspace).await
    }
    async fn vector_ids(&self, ns: VectorNamespace) -> Result<Vec<String>> {
        let table = lightrag_pg::admin::find_vector_table(&self.pool, ns, None, &self.workspace).await?;
        lightrag_pg::admin::ids(&self.pool, &table.table, &self.workspace).await
    }
}

/// The export source over the facade's storages, listing ids through `admin`.
pub fn pg_source(storages: &lightrag_pg::Storages, pool: lightrag_pg::pool::PgPool) -> Source {
    let workspace = storages.workspace().clone();
    Source {
        kv: KvNamespace::ALL.into_iter().map(|ns| (ns, storages.kv(ns).unwrap())).collect(),
        vectors: VectorNamespace::ALL.into_iter().map(|ns| (ns, storages.vector(ns).unwrap())).collect(),
        graph: storages.graph().unwrap(),
        doc_status: storages.doc_status().unwrap(),
        keys: Some(Arc::new(PgKeys { pool, workspace })),
    }
}

/// Fields a storage assigns or rewrites on its own (times), left out of a
/// comparison of records.
const ASSIGNED: [&str; 4] = ["create_time", "update_time", "created_at", "updated_at"];

/// Every record of every file of `source` is in the same file of `exported`,
/// with the same fields (those of `ASSIGNED` aside; the exported record may
/// have more: defaults and enriched fields); vectors equal within 1e-3. Returns
/// the first differences (at most 10) and the records compared.
pub fn missing_from_export(source: &Path, exported: &Path) -> (Vec<String>, u64) {
    let (mut out, mut compared) = (Vec::new(), 0u64);
    let note = |out: &mut Vec<String>, s: String| {
        if out.len() < 10 {
            out.push(s);
        }
    };
    for entry in std::fs::read_dir(source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let other = exported.join(&name);
        if !other.exists() {
            note(&mut out, format!("{name}: not exported"));
            continue;
        }
        let contained = |a: &JsonObject, b: &JsonObject| -> Option<String> {
            a.iter().filter(|(k, _)| !ASSIGNED.contains(&k.as_str())).find_map(|(k, v)| match b.get(k) {
                Some(w) => difference(v, w, k),
                None => Some(format!("{k} missing")),
            })
        };
        if name.ends_with(".graphml") {
            use lightrag_pg_files::graphml::{GraphItem, GraphmlReader};
            let items = |p: &Path| {
                let mut m = HashMap::new();
                for item in GraphmlReader::open(p).unwrap() {
                    match item.unwrap() {
                        GraphItem::Node { id, properties } => m.insert(format!("node {id}"), properties.0),
                        GraphItem::Edge { source, target, properties } => {
                            let (a, b) = if source <= target { (source, target) } else { (target, source) };
                            m.insert(format!("edge {a} -> {b}"), properties.0)
                        }
                    };
                }
                m
            };
            let (a, b) = (items(&path), items(&other));
            for (id, props) in &a {
                compared += 1;
                match b.get(id).map(|p| contained(props, p)) {
                    None => note(&mut out, format!("{name}: {id} missing")),
                    Some(Some(d)) => note(&mut out, format!("{name}: {id}: {d}")),
                    Some(None) => {}
                }
            }
        } else if name.starts_with("vdb_") {
            let ns =
                VectorNamespace::ALL.into_iter().find(|ns| name == lightrag_pg_files::nano::file_name(*ns)).unwrap();
            let (a, b) = (last_rows(&path, ns), last_rows(&other, ns));
            for (id, row) in &a {
                compared += 1;
                let Some(got) = b.get(id) else {
                    note(&mut out, format!("{name}: {id} missing"));
                    continue;
                };
                if let Some(d) = contained(&row.payload, &got.payload) {
                    note(&mut out, format!("{name}: {id}: {d}"));
                }
                if row.vector.iter().zip(&got.vector).any(|(x, y)| (x - y).abs() > 1e-3) {
                    note(&mut out, format!("{name}: {id}: another vector"));
                }
            }
        } else {
            let (a, b) = (json(&path), json(&other));
            for (id, rec) in a.as_object().unwrap() {
                compared += 1;
                match (rec.as_object(), b.get(id).and_then(Value::as_object)) {
                    (_, None) => note(&mut out, format!("{name}: {id} missing")),
                    (Some(r), Some(g)) => {
                        if let Some(d) = contained(r, g) {
                            note(&mut out, format!("{name}: {id}: {d}"));
                        }
                    }
                    (None, Some(g)) => note(&mut out, format!("{name}: {id}: {rec} became {g:?}")),
                }
            }
        }
    }
    (out, compared)
}
