//! Shared set-up for the criterion benches in this folder: the pool (from
//! `POSTGRES_*`, as `cargo xtask pg env` prints them), deterministic data and
//! percentile reporting.
#![forbid(unsafe_code)]
#![allow(clippy::print_stderr, missing_docs)]

use std::time::Duration;

use lightrag_pg_core::{JsonObject, Workspace};
use lightrag_pg_pool::{PgConfig, PgPool};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

/// A multi-threaded runtime for async benches.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime")
}

/// A pool on the configured server; panics with the fix when there is none.
pub async fn pool() -> PgPool {
    let config = PgConfig::from_env().expect("POSTGRES_* settings");
    PgPool::connect(config).await.unwrap_or_else(|e| {
        panic!("no database ({e}): run `cargo xtask bench`, or `cargo xtask pg up` and export its settings")
    })
}

/// A fixed workspace name for data that is loaded once and reused across runs.
pub fn workspace(name: &str) -> Workspace {
    Workspace::new(name).expect("workspace")
}

/// `n` vectors of `dim` dimensions around `clusters` random centres (seeded),
/// like real embeddings: clustered, not uniform.
pub fn clustered_vectors(n: usize, dim: usize, clusters: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> =
        (0..clusters).map(|_| (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect()).collect();
    (0..n)
        .map(|i| {
            let c = &centres[i % clusters];
            c.iter().map(|x| x + rng.random_range(-0.15f32..0.15)).collect()
        })
        .collect()
}

/// `n` LightRAG `text_chunks` records of about 1 KB each.
pub fn chunk_records(n: usize, tag: &str) -> Vec<(String, JsonObject)> {
    (0..n)
        .map(|i| {
            let content = format!("{tag} chunk {i}: ") + &"lorem ipsum dolor sit amet ".repeat(40);
            let rec = json!({
                "tokens": 256, "chunk_order_index": i % 50, "full_doc_id": format!("doc-{}", i / 50),
                "content": content, "file_path": format!("file-{}.txt", i / 50), "llm_cache_list": [],
            });
            (format!("chunk-{tag}-{i:06}"), rec.as_object().cloned().unwrap_or_default())
        })
        .collect()
}

/// Median and 99th percentile of a set of durations, printed for the record.
pub fn report_percentiles(what: &str, mut samples: Vec<Duration>) {
    if samples.is_empty() {
        return;
    }
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    eprintln!(
        "{what}: n={} median={:.3} ms p99={:.3} ms",
        samples.len(),
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3
    );
}
