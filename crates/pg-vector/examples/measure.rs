//! Quick manual timings against the server in `POSTGRES_*` (medians of a few
//! runs): batch upsert of 10,000 × 1,024 with and without the HNSW index, the
//! UNNEST and COPY paths at small batch sizes, and top-10 query latency.
//!
//! `cargo run -p lightrag-pg-vector --example measure --release [-- quick]`
#![allow(clippy::print_stdout)]

use std::time::Instant;

use lightrag_pg_core::{DistanceMetric, Storage, VectorNamespace, VectorQuery, VectorRecord, VectorStorage, Workspace};
use lightrag_pg_pool::{PgConfig, PgPool};
use lightrag_pg_vector::{IndexKind, PgVectorConfig, PgVectorStorage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn records(seed: u64, n: usize, dim: usize) -> Vec<VectorRecord> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| VectorRecord {
            id: format!("chunk-{seed}-{i}"),
            vector: (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect(),
            payload: serde_json::json!({"full_doc_id": "doc-1", "content": "x".repeat(600), "file_path": "a.txt", "tokens": 150, "chunk_order_index": i})
                .as_object()
                .cloned()
                .unwrap(),
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn storage(pool: &PgPool, model: &str, dim: usize, index: IndexKind, unnest_max: usize) -> PgVectorStorage {
    let mut cfg = PgVectorConfig::new(VectorNamespace::Chunks, dim)
        .with_model_name(model)
        .with_index(index)
        .with_metric(DistanceMetric::Cosine);
    cfg.unnest_max_rows = unnest_max;
    let ws = Workspace::new(format!("measure_{:08x}", rand::random::<u32>())).unwrap();
    let s = PgVectorStorage::new(pool.clone(), ws, cfg).unwrap();
    s.initialize().await.unwrap();
    s
}

async fn drop_table(pool: &PgPool, s: &PgVectorStorage) {
    let conn = pool.get().await.unwrap();
    conn.batch_execute(&format!("DROP TABLE IF EXISTS {}", s.table_name().to_lowercase())).await.unwrap();
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let pool = PgPool::connect(PgConfig::from_env().unwrap()).await.unwrap();
    let hnsw = IndexKind::Hnsw { m: 16, ef_construction: 64 };
    let (n, dim, runs) = if quick { (2_000, 1024, 1) } else { (10_000, 1024, 3) };
    let data = records(1, n, dim);

    // Small batches: UNNEST vs COPY (always-COPY = unnest_max 0).
    for size in [1usize, 16, 64, 128, 256] {
        for (label, unnest_max) in [("unnest", usize::MAX), ("copy", 0)] {
            let s = storage(&pool, &format!("m_small_{label}"), dim, IndexKind::None, unnest_max).await;
            let mut times = Vec::new();
            for (k, batch) in data.chunks(size).take(if size == 1 { 200 } else { 40 }).enumerate() {
                let t = Instant::now();
                s.upsert(batch.to_vec()).await.unwrap();
                if k > 0 {
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                }
            }
            println!("upsert {size:>4} rows × {dim} via {label:<6}: median {:.2} ms", median(times));
            drop_table(&pool, &s).await;
        }
    }

    // 10,000 × 1,024 batch upsert, with and without the HNSW index.
    for (label, index) in [("no index", IndexKind::None), ("HNSW", hnsw)] {
        let mut rates = Vec::new();
        for run in 0..runs {
            let s = storage(&pool, &format!("m_bulk_{run}"), dim, index, 64).await;
            let t = Instant::now();
            s.upsert(data.clone()).await.unwrap();
            let secs = t.elapsed().as_secs_f64();
            rates.push(n as f64 / secs);
            println!("  run {run}: {label}: {n} × {dim} in {secs:.2} s");
            drop_table(&pool, &s).await;
        }
        println!("batch upsert {n} × {dim}, {label}: median {:.0} rows/s", median(rates));
    }

    // Top-10 query latency over n vectors, HNSW and exact.
    for (label, index) in [("HNSW", hnsw), ("exact", IndexKind::None)] {
        let s = storage(&pool, &format!("m_query_{}", label.to_lowercase()), dim, index, 64).await;
        s.upsert(data.clone()).await.unwrap();
        pool.get().await.unwrap().batch_execute(&format!("ANALYZE {}", s.table_name().to_lowercase())).await.unwrap();
        let queries = records(2, 100, dim);
        let mut times = Vec::new();
        for q in &queries {
            let t = Instant::now();
            let hits = s.query(&VectorQuery::by_vector(q.vector.clone(), 10).with_threshold(-1.0)).await.unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(hits.len(), 10);
        }
        let p99 = {
            let mut t = times.clone();
            t.sort_by(f64::total_cmp);
            t[t.len() * 99 / 100 - 1]
        };
        println!("top-10 query over {n} × {dim}, {label}: median {:.2} ms, p99 {p99:.2} ms", median(times));
        s.drop_all().await.unwrap();
        drop_table(&pool, &s).await;
    }
}
