//! Bulk path vs incremental upsert, on the same data in one run (issue #12):
//! N × D chunk vectors (default 100,000 × 768) loaded into an empty workspace
//!
//! 1. incrementally: `upsert` in calls of 10,000 records into LightRAG's shared
//!    HNSW-indexed table (the bulk path turned off), pgvector maintaining the
//!    index row by row;
//! 2. through `bulk_load` in the partitioned layout (partition built, indexed
//!    once, attached);
//! 3. through `bulk_load` into an empty shared table (index dropped and rebuilt).
//!
//! Afterwards each table's index is checked, and its top-10 recall against exact
//! search is measured on 20 held-out queries. Prints seconds, rows/s and the
//! ratio. The vectors are clustered (200 centres, like embeddings of related
//! texts) or, with `random`, uniform in [-1, 1) (the hardest case for HNSW).
//!
//! `cargo run --release -p lightrag-pg-vector --example bulk_measure [-- ROWS DIM [random] [skip-incremental]]`
#![allow(clippy::print_stdout)]

use std::time::Instant;

use futures::StreamExt;
use lightrag_pg_core::{DistanceMetric, Storage, VectorNamespace, VectorQuery, VectorRecord, VectorStorage, Workspace};
use lightrag_pg_pool::{PgConfig, PgPool};
use lightrag_pg_vector::{BulkLoadOptions, IndexKind, PgVectorConfig, PgVectorStorage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CALL: usize = 10_000;

/// Clustered vectors (200 centres) or uniform random ones; `seed` picks the
/// points, the centres are shared.
fn vectors(n: usize, dim: usize, random: bool, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(12);
    let centres: Vec<Vec<f32>> = (0..200).map(|_| (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect()).collect();
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            if random {
                (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect()
            } else {
                centres[i % centres.len()].iter().map(|c| c + rng.random_range(-0.2..0.2)).collect()
            }
        })
        .collect()
}

fn records(n: usize, dim: usize, random: bool) -> Vec<VectorRecord> {
    vectors(n, dim, random, 13)
        .into_iter()
        .enumerate()
        .map(|(i, vector)| VectorRecord {
            id: format!("chunk-{i:07}"),
            vector,
            payload: serde_json::json!({"full_doc_id": format!("doc-{}", i / 20), "content": "x".repeat(600),
                "file_path": "a.txt", "tokens": 150, "chunk_order_index": i % 20})
            .as_object()
            .cloned()
            .unwrap(),
        })
        .collect()
}

async fn storage(pool: &PgPool, model: &str, dim: usize, partitioned: bool, bulk_threshold: usize) -> PgVectorStorage {
    let mut cfg = PgVectorConfig::new(VectorNamespace::Chunks, dim)
        .with_model_name(model)
        .with_index(IndexKind::Hnsw { m: 16, ef_construction: 64 })
        .with_metric(DistanceMetric::Cosine)
        .with_partitioned(partitioned);
    cfg.bulk_threshold_rows = bulk_threshold;
    let ws = Workspace::new(format!("measure_{:08x}", rand::random::<u32>())).unwrap();
    let s = PgVectorStorage::new(pool.clone(), ws, cfg).unwrap();
    s.initialize().await.unwrap();
    s
}

async fn drop_table(pool: &PgPool, s: &PgVectorStorage) {
    let conn = pool.get().await.unwrap();
    conn.batch_execute(&format!("DROP TABLE IF EXISTS {} CASCADE", s.table_name().to_lowercase())).await.unwrap();
}

/// The exact top-10 ids of each query.
fn exact(data: &[VectorRecord], queries: &[Vec<f32>]) -> Vec<Vec<String>> {
    queries
        .iter()
        .map(|q| {
            let mut d: Vec<(f64, &str)> =
                data.iter().map(|r| (DistanceMetric::Cosine.distance(q, &r.vector), r.id.as_str())).collect();
            d.sort_by(|a, b| a.0.total_cmp(&b.0));
            d.iter().take(10).map(|x| x.1.to_owned()).collect()
        })
        .collect()
}

/// The index exists, sampled rows find themselves first, and top-10 recall.
async fn check(
    pool: &PgPool,
    s: &PgVectorStorage,
    data: &[VectorRecord],
    index: &str,
    queries: &[Vec<f32>],
    truth: &[Vec<String>],
) {
    let conn = pool.get().await.unwrap();
    let def: Option<String> = conn
        .query_opt("SELECT indexdef FROM pg_indexes WHERE indexname = $1", &[&index])
        .await
        .unwrap()
        .map(|r| r.get(0));
    let def = def.unwrap_or_else(|| panic!("index {index} missing"));
    assert!(def.contains("hnsw"), "{def}");
    let mut found = 0;
    let samples = data.iter().step_by(data.len() / 100).collect::<Vec<_>>();
    for r in &samples {
        let hits = s.query(&VectorQuery::by_vector(r.vector.clone(), 1)).await.unwrap();
        found += usize::from(hits.first().is_some_and(|h| h.id == r.id));
    }
    let mut hit = 0;
    for (q, t) in queries.iter().zip(truth) {
        let hits = s.query(&VectorQuery::by_vector(q.clone(), 10).with_threshold(-2.0)).await.unwrap();
        hit += hits.iter().filter(|h| t.contains(&h.id)).count();
    }
    println!(
        "  index {index} present; {found}/{} sampled rows find themselves first; top-10 recall {:.3} over {} queries",
        samples.len(),
        hit as f64 / (10 * queries.len()) as f64,
        queries.len()
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dim: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(768);
    let skip_incremental = args.iter().any(|a| a == "skip-incremental");
    let random = args.iter().any(|a| a == "random");
    let pool = PgPool::connect(PgConfig::from_env().unwrap()).await.unwrap();
    let data = records(n, dim, random);
    let queries = vectors(20, dim, random, 99);
    let truth = exact(&data, &queries);
    println!(
        "{n} × {dim} {} vectors, HNSW (m 16, ef_construction 64), cosine",
        if random { "uniform random" } else { "clustered" }
    );

    let mut incremental = None;
    if !skip_incremental {
        let s = storage(&pool, "m_bulk_incr", dim, false, 0).await;
        let t = Instant::now();
        for (i, part) in data.chunks(CALL).enumerate() {
            s.upsert(part.to_vec()).await.unwrap();
            let secs = t.elapsed().as_secs_f64();
            println!(
                "  incremental: {} rows in {secs:.1} s ({:.0} rows/s)",
                (i + 1) * CALL.min(part.len()),
                ((i + 1) * part.len()) as f64 / secs
            );
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "incremental upsert (calls of {CALL}, shared HNSW-indexed table): {secs:.1} s, {:.0} rows/s",
            n as f64 / secs
        );
        check(&pool, &s, &data, s.index_plan().index_name.as_deref().unwrap(), &queries, &truth).await;
        s.drop_all().await.unwrap();
        drop_table(&pool, &s).await;
        incremental = Some(secs);
    }

    // Bulk, partitioned: the records stream in batches of CALL.
    let s = storage(&pool, "m_bulk_part", dim, true, 0).await;
    let batches: Vec<Vec<VectorRecord>> = data.chunks(CALL).map(<[VectorRecord]>::to_vec).collect();
    let t = Instant::now();
    let report = s.bulk_load(futures::stream::iter(batches).map(Ok), &BulkLoadOptions::default()).await.unwrap();
    let bulk = t.elapsed().as_secs_f64();
    println!("bulk load, partitioned: {bulk:.1} s, {:.0} rows/s — {report}", n as f64 / bulk);
    check(&pool, &s, &data, report.index.as_deref().unwrap(), &queries, &truth).await;
    let plan = s.explain(&VectorQuery::by_vector(data[0].vector.clone(), 10)).await.unwrap();
    println!("  plan: {}", plan.iter().find(|l| l.contains("Scan")).unwrap().trim());
    drop_table(&pool, &s).await;

    // Bulk, shared table with no other workspace: index dropped and rebuilt.
    let s = storage(&pool, "m_bulk_shared", dim, false, 0).await;
    let t = Instant::now();
    let report = s.bulk_load_records(&data, &BulkLoadOptions::default()).await.unwrap();
    let shared = t.elapsed().as_secs_f64();
    println!("bulk load, shared empty table: {shared:.1} s, {:.0} rows/s — {report}", n as f64 / shared);
    check(&pool, &s, &data, s.index_plan().index_name.as_deref().unwrap(), &queries, &truth).await;
    drop_table(&pool, &s).await;

    if let Some(incr) = incremental {
        println!(
            "ratio incremental / bulk: {:.1}× (partitioned), {:.1}× (shared, index rebuilt)",
            incr / bulk,
            incr / shared
        );
    }
}
