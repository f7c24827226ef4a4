//! A stand-in for `lightrag-pg migrate` while the CLI command is not built in:
//! the same engine (`lightrag-pg-files`) writing into the PostgreSQL storages.
//! The interop scenario uses the CLI when it has the command and says so loudly
//! when it falls back to this.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use futures::future::BoxFuture;
use lightrag_pg::docstatus::PgDocStatusStorage;
use lightrag_pg::kv::PgKvStorage;
use lightrag_pg::vector::{PgVectorConfig, PgVectorStorage};
use lightrag_pg::{Error, KvNamespace, KvStorage, Result, Storage, VectorStorage, Workspace};
use lightrag_pg_files::{FnVectorOpener, MigrateOptions, Target, migrate};
use lightrag_pg_graph::{GraphEngine, PgGraphStorage};
use lightrag_pg_pool::PgPool;
use serde_json::Value;

/// Migrates the LightRAG working directory `dir` into `ws` (graph `engine`,
/// vector tables named after `model_name` and the files' dimension) and
/// returns the migration report as JSON.
///
/// # Errors
/// Storage errors; what the migration engine reports, as
/// [`Error::InvalidInput`] naming `dir`.
pub async fn run(pool: &PgPool, ws: &Workspace, engine: GraphEngine, dir: &Path, model_name: Option<String>) -> Result<Value> {
    let mut kv: HashMap<KvNamespace, Arc<dyn KvStorage>> = HashMap::new();
    for ns in KvNamespace::ALL {
        let s = PgKvStorage::new(pool.clone(), ns, ws.clone())?;
        s.initialize().await?;
        kv.insert(ns, Arc::new(s));
    }
    let graph = PgGraphStorage::new(pool.clone(), ws.clone(), engine)?.into_dyn();
    graph.initialize().await?;
    let doc_status = PgDocStatusStorage::new(pool.clone(), ws.clone())?;
    doc_status.initialize().await?;
    let (p, w) = (pool.clone(), ws.clone());
    let opener = FnVectorOpener(move |ns, dim| {
        let (pool, ws, model) = (p.clone(), w.clone(), model_name.clone());
        Box::pin(async move {
            let config = PgVectorConfig::from_pool_config(ns, dim, model.as_deref(), pool.config())?;
            let store = PgVectorStorage::new(pool, ws, config)?;
            store.initialize().await?;
            Ok(Arc::new(store) as Arc<dyn VectorStorage>)
        }) as BoxFuture<'static, _>
    });
    let target = Target { kv, vectors: Arc::new(opener), graph, doc_status: Arc::new(doc_status) };
    let report = migrate(dir, &target, MigrateOptions::default())
        .await
        .map_err(|e| Error::invalid(dir.display().to_string(), e.to_string()))?;
    Ok(serde_json::to_value(&report).unwrap_or(Value::Null))
}
