//! One of the processes of the start-up race test (`tests/startup_race.rs`):
//! connects to the database named on the command line (the rest of the
//! settings come from `POSTGRES_*`), waits for the agreed start instant, then
//! opens and initialises every storage kind with the chosen graph engine and
//! writes one record to each. Logs at WARN level to stderr; exits 0 on success.
//!
//! Usage: `race_child <database> <age|table> <workspace> <start-at-epoch-ms> [pool-size]`
//! (the pool size defaults to 4).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lightrag_pg::{GraphEngine, StoragesBuilder};
use lightrag_pg_core::{
    DocProcessingStatus, DocStatus, KvNamespace, Properties, Result, VectorNamespace, VectorRecord,
};
use lightrag_pg_pool::{PgConfig, PgPool, RetryPolicy};

/// The embedding dimension of the vector tables.
const DIM: usize = 16;

async fn run(database: &str, engine: GraphEngine, workspace: &str, start_at_ms: u64, pool_size: u32) -> Result<()> {
    let mut config = PgConfig::from_env()?;
    config.database = database.to_owned();
    config.max_connections = pool_size;
    config.retry =
        RetryPolicy { attempts: 10, backoff: Duration::from_millis(200), backoff_max: Duration::from_secs(2) };
    let pool = PgPool::connect(config).await?;
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(start_at_ms.saturating_sub(now_ms))).await;

    let storages =
        StoragesBuilder::new().pool(pool).workspace(workspace).graph(engine).embedding_dim(DIM).build().await?;

    let me = std::process::id();
    let mut doc = serde_json::Map::new();
    doc.insert("content".into(), format!("written by process {me}").into());
    storages.kv(KvNamespace::FullDocs)?.upsert(vec![(format!("doc-{me}"), doc)]).await?;
    let vector = VectorRecord {
        id: format!("ent-{me}"),
        vector: (0..DIM).map(|k| if k == (me as usize) % DIM { 1.0 } else { 0.0 }).collect(),
        payload: serde_json::Map::new(),
    };
    storages.vector(VectorNamespace::Entities)?.upsert(vec![vector]).await?;
    let graph = storages.graph()?;
    graph.upsert_node(&format!("process {me}"), Properties::new().with("entity_type", "process")).await?;
    graph.upsert_edge(&format!("process {me}"), "shared", Properties::new().with("weight", 1.0)).await?;
    let status = DocProcessingStatus::new(DocStatus::Processed, "race", 4, "race.txt");
    storages.doc_status()?.upsert(vec![(format!("doc-{me}"), status)]).await?;
    storages.finalize().await
}

fn main() {
    tracing_subscriber::fmt().with_max_level(tracing::Level::WARN).with_ansi(false).with_writer(std::io::stderr).init();
    let args: Vec<String> = std::env::args().collect();
    if !(5..=6).contains(&args.len()) {
        tracing::error!("usage: race_child <database> <age|table> <workspace> <start-at-epoch-ms> [pool-size]");
        std::process::exit(2);
    }
    let engine = match args[2].as_str() {
        "age" => GraphEngine::Age,
        _ => GraphEngine::Table,
    };
    let start_at: u64 = args[4].parse().unwrap_or(0);
    let pool_size: u32 = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(4);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    match rt.block_on(run(&args[1], engine, &args[3], start_at, pool_size)) {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            tracing::error!(error = %e, debug = ?e, "start-up failed");
            std::process::exit(1);
        }
    }
}
