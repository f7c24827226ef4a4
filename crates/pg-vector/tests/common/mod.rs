//! Shared helpers of the integration tests: a storage per test in a fresh
//! workspace, deterministic vectors, and records in LightRAG's shapes.
#![allow(dead_code, unreachable_pub)]

use lightrag_pg_core::testkit::unique_workspace;
use lightrag_pg_core::{DistanceMetric, JsonObject, Storage, VectorNamespace, VectorRecord, Workspace};
use lightrag_pg_pool::PgPool;
use lightrag_pg_vector::{IndexKind, PgVectorConfig, PgVectorStorage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

pub const HNSW: IndexKind = IndexKind::Hnsw { m: 16, ef_construction: 64 };

/// A pool on the test server (one per test: a pool belongs to its runtime).
pub async fn pool() -> PgPool {
    lightrag_pg_test_support::test_database().await.pool().await
}

/// An initialised storage in a fresh workspace; `model` names the table suffix so
/// tests with different index kinds never share a table.
pub async fn open(pool: &PgPool, config: PgVectorConfig) -> PgVectorStorage {
    open_in(pool, unique_workspace("vt"), config).await
}

pub async fn open_in(pool: &PgPool, ws: Workspace, config: PgVectorConfig) -> PgVectorStorage {
    let s = PgVectorStorage::new(pool.clone(), ws, config).expect("valid config");
    s.initialize().await.expect("initialize");
    s
}

pub fn config(
    ns: VectorNamespace,
    dim: usize,
    model: &str,
    index: IndexKind,
    metric: DistanceMetric,
) -> PgVectorConfig {
    PgVectorConfig::new(ns, dim).with_model_name(model).with_index(index).with_metric(metric)
}

pub fn obj(v: serde_json::Value) -> JsonObject {
    v.as_object().cloned().expect("an object")
}

pub fn chunk(id: &str, vector: Vec<f32>) -> VectorRecord {
    VectorRecord {
        id: id.to_owned(),
        vector,
        payload: obj(json!({
            "full_doc_id": "doc-1",
            "content": format!("text of {id}"),
            "file_path": "a.txt",
            "tokens": 7,
            "chunk_order_index": 0,
        })),
    }
}

/// Uniform random vectors in [-1, 1), reproducible.
pub fn random_vectors(seed: u64, n: usize, dim: usize) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect()).collect()
}

/// `n` vectors around `clusters` random centres (spread ±0.15 per component);
/// the centres depend on `centre_seed` only, the points on `seed`, so several
/// sets can share one distribution. Reproducible.
pub fn clustered_vectors(centre_seed: u64, seed: u64, n: usize, dim: usize, clusters: usize) -> Vec<Vec<f32>> {
    spread_vectors(centre_seed, seed, n, dim, clusters, 0.15)
}

/// The spread of the recall tests' clusters. At ±0.15 the clusters are about
/// 40× tighter (cosine distance ~0.02) than they are apart (~0.85), and now and
/// then pgvector's HNSW search stays inside a wrong cluster for a whole query
/// (recall 0 for that query, in about one run in four, partitioned or not): a
/// property of HNSW on such data, not of the workspace filter the tests measure.
pub const SPREAD: f32 = 0.3;

/// Like [`clustered_vectors`], each component within ±`spread` of its centre's.
pub fn spread_vectors(
    centre_seed: u64,
    seed: u64,
    n: usize,
    dim: usize,
    clusters: usize,
    spread: f32,
) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(centre_seed);
    let centres: Vec<Vec<f32>> =
        (0..clusters).map(|_| (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect()).collect();
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|i| centres[i % clusters].iter().map(|c| c + rng.random_range(-spread..spread)).collect()).collect()
}

/// The exact top-k ids by `metric` (ties by id), computed in the test.
pub fn exact_top_k(metric: DistanceMetric, q: &[f32], rows: &[(String, Vec<f32>)], k: usize) -> Vec<String> {
    let mut scored: Vec<(f64, &String)> = rows.iter().map(|(id, v)| (metric.distance(q, v), id)).collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    scored.into_iter().take(k).map(|(_, id)| id.clone()).collect()
}

/// Removes what a test wrote.
pub async fn cleanup(stores: &[&PgVectorStorage]) {
    for s in stores {
        s.drop_all().await.expect("drop_all");
    }
}

/// Chunk records `<prefix>-<i>` for `vectors`.
pub fn chunks(vectors: &[Vec<f32>], prefix: &str) -> Vec<VectorRecord> {
    vectors.iter().enumerate().map(|(i, v)| chunk(&format!("{prefix}-{i:05}"), v.clone())).collect()
}

/// A model name no other test uses, so the test has its own tables.
pub fn unique_model(prefix: &str) -> String {
    format!("{prefix}_{:08x}", rand::random::<u32>())
}

/// The definition PostgreSQL reports for index `name`, if it exists.
pub async fn index_def(pool: &PgPool, name: &str) -> Option<String> {
    let conn = pool.get().await.unwrap();
    conn.query_opt("SELECT indexdef FROM pg_indexes WHERE indexname = $1", &[&name]).await.unwrap().map(|r| r.get(0))
}

/// `pg_class.relkind` of a relation (`r` table, `p` partitioned), if it exists.
pub async fn relkind(pool: &PgPool, name: &str) -> Option<String> {
    let conn = pool.get().await.unwrap();
    conn.query_opt(
        "SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)",
        &[&lightrag_pg_pool::ident::quote_ident(&name.to_lowercase()).unwrap()],
    )
    .await
    .unwrap()
    .map(|r| r.get(0))
}

/// Rows of `table` (all workspaces).
pub async fn count_rows(pool: &PgPool, table: &str) -> i64 {
    let conn = pool.get().await.unwrap();
    let q = lightrag_pg_pool::ident::quote_ident(&table.to_lowercase()).unwrap();
    conn.query_one(&format!("SELECT count(*) FROM {q}"), &[]).await.unwrap().get(0)
}

/// Drops a test's own table (with its partitions).
pub async fn drop_table(pool: &PgPool, table: &str) {
    let conn = pool.get().await.unwrap();
    let q = lightrag_pg_pool::ident::quote_ident(&table.to_lowercase()).unwrap();
    conn.batch_execute(&format!("DROP TABLE IF EXISTS {q} CASCADE")).await.unwrap();
}

/// A partitioned HNSW (cosine) configuration with its own tables.
pub fn partitioned(ns: VectorNamespace, dim: usize, model: &str) -> PgVectorConfig {
    config(ns, dim, model, HNSW, DistanceMetric::Cosine).with_partitioned(true)
}
