//! `vector_search`: top-10 over 100,000 × 768 clustered vectors, with the HNSW
//! index and with exact search (no index), on the real server.
//!
//! The data is loaded once into two fixed tables (model names `bench_hnsw` and
//! `bench_exact`) and reused by later runs. Set `BENCH_VECTORS` to use fewer rows.
#![allow(missing_docs, clippy::print_stderr)]

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use lightrag_pg_benches::{clustered_vectors, pool, report_percentiles, runtime, workspace};
use lightrag_pg_core::{Storage, VectorNamespace, VectorQuery, VectorRecord, VectorStorage};
use lightrag_pg_vector::{IndexKind, PgVectorConfig, PgVectorStorage};

const DIM: usize = 768;

fn rows() -> usize {
    std::env::var("BENCH_VECTORS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000)
}

async fn load(model: &str, index: IndexKind, vectors: &[Vec<f32>]) -> PgVectorStorage {
    let pool = pool().await;
    let ws = workspace("bench_search");
    let config = PgVectorConfig::new(VectorNamespace::Chunks, DIM).with_model_name(model).with_index(index);
    let store = PgVectorStorage::new(pool.clone(), ws.clone(), config).expect("config");
    store.initialize().await.expect("initialize");
    let table = store.table_name().to_lowercase();
    let conn = pool.get().await.expect("conn");
    let have: i64 = conn
        .query_one(&format!("SELECT count(*) FROM {table} WHERE workspace = $1"), &[&ws.as_str()])
        .await
        .expect("count")
        .get(0);
    if have as usize != vectors.len() {
        let started = Instant::now();
        store.drop_all().await.expect("drop");
        for (b, chunk) in vectors.chunks(10_000).enumerate() {
            let records = chunk
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let n = b * 10_000 + i;
                    let payload = serde_json::json!({"content": format!("chunk {n}"), "full_doc_id": "doc-bench",
                        "tokens": 10, "chunk_order_index": n, "file_path": "bench.txt"});
                    VectorRecord {
                        id: format!("chunk-{n:07}"),
                        vector: v.clone(),
                        payload: payload.as_object().cloned().unwrap_or_default(),
                    }
                })
                .collect();
            store.upsert(records).await.expect("upsert");
        }
        eprintln!("loaded {} rows into {table} in {:.1}s", vectors.len(), started.elapsed().as_secs_f64());
    }
    store
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let n = rows();
    let vectors = clustered_vectors(n, DIM, 100, 7);
    let queries = clustered_vectors(200, DIM, 100, 8);
    let mut group = c.benchmark_group("vector_search");
    group.sample_size(30);
    for (name, index) in [("hnsw", IndexKind::Hnsw { m: 16, ef_construction: 64 }), ("exact", IndexKind::None)] {
        let store = rt.block_on(load(&format!("bench_{name}"), index, &vectors));
        let mut samples = Vec::new();
        for q in queries.iter().take(100) {
            let t = Instant::now();
            rt.block_on(store.query(&VectorQuery::by_vector(q.clone(), 10).with_threshold(-1.0))).expect("query");
            samples.push(t.elapsed());
        }
        report_percentiles(&format!("vector_search/{name}/top10 over {n}x{DIM}"), samples);
        let mut i = 0;
        group.bench_function(format!("{name}_top10_{n}x{DIM}"), |b| {
            b.to_async(&rt).iter(|| {
                i = (i + 1) % queries.len();
                let q = VectorQuery::by_vector(queries[i].clone(), 10).with_threshold(-1.0);
                let store = &store;
                async move { store.query(&q).await.expect("query") }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
