//! `batch_upsert`: vector upsert of 10,000 × 1,024 (binary COPY into a staging
//! table, then one `INSERT … ON CONFLICT`), and KV upsert of 10,000 chunk
//! records, each one transaction, on the real server.
//!
//! By default the vector table has no ANN index, which measures our client path;
//! `BENCH_WITH_INDEX=1` keeps LightRAG's HNSW index, where pgvector's per-row
//! index maintenance dominates (about 94% of the time).
#![allow(missing_docs, clippy::print_stderr)]

use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lightrag_pg_benches::{chunk_records, clustered_vectors, pool, report_percentiles, runtime, workspace};
use lightrag_pg_core::{KvNamespace, KvStorage, Storage, VectorNamespace, VectorRecord, VectorStorage};
use lightrag_pg_kv::PgKvStorage;
use lightrag_pg_vector::{IndexKind, PgVectorConfig, PgVectorStorage};

const N: usize = 10_000;
const DIM: usize = 1024;

fn records(vectors: &[Vec<f32>]) -> Vec<VectorRecord> {
    vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let payload = serde_json::json!({"entity_name": format!("Entity {i}"), "content": format!("Entity {i} description"),
                "source_id": "chunk-a<SEP>chunk-b", "file_path": "bench.txt"});
            VectorRecord { id: format!("ent-{i:08}"), vector: v.clone(), payload: payload.as_object().cloned().unwrap_or_default() }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let with_index = std::env::var("BENCH_WITH_INDEX").is_ok_and(|v| v == "1");
    let index = if with_index { IndexKind::Hnsw { m: 16, ef_construction: 64 } } else { IndexKind::None };
    let vectors = clustered_vectors(N, DIM, 50, 11);
    let (vstore, kv) = rt.block_on(async {
        let pool = pool().await;
        let ws = workspace("bench_upsert");
        let model = if with_index { "bench_upsert_hnsw" } else { "bench_upsert_noindex" };
        let config = PgVectorConfig::new(VectorNamespace::Entities, DIM).with_model_name(model).with_index(index);
        let vstore = PgVectorStorage::new(pool.clone(), ws.clone(), config).expect("config");
        vstore.initialize().await.expect("initialize");
        let kv = PgKvStorage::new(pool, KvNamespace::TextChunks, ws).expect("kv");
        kv.initialize().await.expect("initialize");
        (vstore, kv)
    });

    let mut group = c.benchmark_group("batch_upsert");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N as u64));
    let mut samples = Vec::new();
    group.bench_function(format!("vector_{N}x{DIM}{}", if with_index { "_hnsw" } else { "" }), |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                rt.block_on(vstore.drop_all()).expect("drop");
                let batch = records(&vectors);
                let t = Instant::now();
                rt.block_on(vstore.upsert(batch)).expect("upsert");
                let e = t.elapsed();
                samples.push(e);
                total += e;
            }
            total
        })
    });
    report_percentiles(&format!("batch_upsert/vector {N}x{DIM}"), std::mem::take(&mut samples));
    let chunks = chunk_records(N, "bench");
    group.bench_function(format!("kv_text_chunks_{N}"), |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                rt.block_on(kv.drop_all()).expect("drop");
                let batch = chunks.clone();
                let t = Instant::now();
                rt.block_on(kv.upsert(batch)).expect("upsert");
                let e = t.elapsed();
                samples.push(e);
                total += e;
            }
            total
        })
    });
    report_percentiles(&format!("batch_upsert/kv {N} chunks"), samples);
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
