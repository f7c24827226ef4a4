//! `lightrag-pg migrate` and `lightrag-pg export`: a LightRAG working directory
//! into PostgreSQL and back, through the storage traits.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use lightrag_pg::docstatus::PgDocStatusStorage;
use lightrag_pg::kv::PgKvStorage;
use lightrag_pg::pool::{PgPool, db_error, ident::quote_ident};
use lightrag_pg::vector::{PgVectorConfig, PgVectorStorage};
use lightrag_pg::{
    DocStatusStorage, Error, KvNamespace, KvStorage, Result, Storage, VectorNamespace, VectorStorage, Workspace,
};
use lightrag_pg_files::{
    ExportOptions, FnVectorOpener, KeyLister, MigrateError, MigrateOptions, ProgressEvent, ProgressFn, Source, Target,
};

use crate::context::{Context, find_vector_table};
use crate::output;
use crate::output::outln;

fn files_error(e: MigrateError) -> Error {
    match e {
        MigrateError::Storage { source, .. } => source,
        other => Error::invalid("migration", other.to_string()),
    }
}

/// Progress bars on a terminal (indicatif hides them elsewhere).
fn progress_bars() -> ProgressFn {
    let multi = indicatif::MultiProgress::new();
    let bars: Mutex<HashMap<String, indicatif::ProgressBar>> = Mutex::new(HashMap::new());
    let style = indicatif::ProgressStyle::with_template("{prefix:>22} {bar:30} {pos:>7}/{len:7} {msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    Arc::new(move |event: ProgressEvent| {
        let mut bars = bars.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            ProgressEvent::Writing { store, done, total } => {
                let bar = bars.entry(store.clone()).or_insert_with(|| {
                    let b = multi.add(indicatif::ProgressBar::new(total));
                    b.set_style(style.clone());
                    b.set_prefix(store.clone());
                    b
                });
                bar.set_length(total);
                bar.set_position(done);
            }
            ProgressEvent::StoreDone { store, written, seconds } => {
                if let Some(bar) = bars.get(&store) {
                    bar.set_position(written);
                    bar.finish_with_message(format!("{seconds:.2}s"));
                }
            }
            _ => {}
        }
    })
}

async fn pg_target(ctx: &Context, pool: &PgPool, ws: &Workspace) -> Result<Target> {
    let model = ctx.model_name();
    let mut kv: HashMap<KvNamespace, Arc<dyn KvStorage>> = HashMap::new();
    for ns in KvNamespace::ALL {
        let s = PgKvStorage::new(pool.clone(), ns, ws.clone())?;
        s.initialize().await?;
        kv.insert(ns, Arc::new(s));
    }
    let g = lightrag_pg::graph::PgGraphStorage::new(pool.clone(), ws.clone(), ctx.engine()?)?.into_dyn();
    g.initialize().await?;
    let docs = PgDocStatusStorage::new(pool.clone(), ws.clone())?;
    docs.initialize().await?;
    let (pool2, ws2) = (pool.clone(), ws.clone());
    let opener = FnVectorOpener(move |ns: VectorNamespace, dim: usize| {
        let (pool, ws, model) = (pool2.clone(), ws2.clone(), model.clone());
        Box::pin(async move {
            let config = PgVectorConfig::from_pool_config(ns, dim, model.as_deref(), pool.config())?;
            let s = PgVectorStorage::new(pool, ws, config)?;
            s.initialize().await?;
            Ok(Arc::new(s) as Arc<dyn VectorStorage>)
        }) as BoxFuture<'static, Result<Arc<dyn VectorStorage>>>
    });
    Ok(Target { kv, vectors: Arc::new(opener), graph: g, doc_status: Arc::new(docs) as Arc<dyn DocStatusStorage> })
}

/// `migrate`.
pub(crate) async fn migrate(ctx: &Context, from: &Path, dry_run: bool, memory: bool, json: bool) -> Result<()> {
    let ws = ctx.workspace()?;
    // A dry run reads and checks everything and writes nothing: it needs no
    // tables (and must not create them, or an empty AGE graph).
    let target =
        if memory || dry_run { Target::memory(ws.clone()) } else { pg_target(ctx, &ctx.pool().await?, &ws).await? };
    let options = MigrateOptions { dry_run, progress: Some(progress_bars()), ..MigrateOptions::default() };
    let report = lightrag_pg_files::migrate(from, &target, options).await.map_err(files_error)?;
    if json {
        return output::json(&report);
    }
    let v = serde_json::to_value(&report).unwrap_or_default();
    outln!(
        "migrated {} into workspace '{}'{}",
        from.display(),
        report.workspace,
        if dry_run { " (dry run)" } else { "" }
    );
    outln!("  format           {}", v["format_generation"].as_str().unwrap_or("?"));
    for key in [
        "full_docs",
        "text_chunks",
        "llm_cache",
        "doc_status",
        "full_entities",
        "full_relations",
        "entity_chunks",
        "relation_chunks",
    ] {
        outln!("  {key:<16} {}", v[key]);
    }
    for key in ["chunks", "entities", "relationships"] {
        outln!("  vectors.{key:<8} {}", v["vectors"][key]);
    }
    outln!("  graph            {} nodes, {} edges", v["graph"]["nodes"], v["graph"]["edges"]);
    outln!("  skipped          {}", report.skipped.len());
    const SHOWN: usize = 10;
    for s in report.skipped.iter().take(SHOWN) {
        outln!("    {} {} ({}) {}", s.store, s.id, s.reason, s.detail);
    }
    if report.skipped.len() > SHOWN {
        outln!("    … and {} more (--json lists them all)", report.skipped.len() - SHOWN);
    }
    for w in &report.warnings {
        outln!("  warning          {}: {}", w.store, w.message);
    }
    outln!("  verification     {}", if v["verification"]["ok"].as_bool() == Some(true) { "ok" } else { "see --json" });
    outln!("  seconds          {:.2}", v["seconds"].as_f64().unwrap_or(0.0));
    if v["verification"]["performed"].as_bool() == Some(true) && v["verification"]["ok"].as_bool() == Some(false) {
        return Err(Error::Conflict {
            what: "verification found differences (run with --json for details)".into(),
            source: None,
        });
    }
    Ok(())
}

/// Lists ids with SQL: the capability the traits lack.
#[derive(Debug)]
struct SqlKeys {
    pool: PgPool,
    ws: Workspace,
    vector_tables: HashMap<VectorNamespace, String>,
}

impl SqlKeys {
    async fn ids(&self, table: &str) -> Result<Vec<String>> {
        let conn = self.pool.get().await?;
        let q = quote_ident(&table.to_lowercase())?;
        let rows = conn
            .query(&format!("SELECT id::text FROM {q} WHERE workspace = $1 ORDER BY id"), &[&self.ws.as_str()])
            .await
            .map_err(db_error)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

#[async_trait::async_trait]
impl KeyLister for SqlKeys {
    async fn kv_keys(&self, ns: KvNamespace) -> Result<Vec<String>> {
        self.ids(ns.table()).await
    }

    async fn vector_ids(&self, ns: VectorNamespace) -> Result<Vec<String>> {
        match self.vector_tables.get(&ns) {
            Some(t) => self.ids(t).await,
            None => Ok(Vec::new()),
        }
    }
}

/// `export`.
pub(crate) async fn export(ctx: &Context, to: &Path, graphml: Option<std::path::PathBuf>, json: bool) -> Result<()> {
    let model_name = ctx.model_name();
    let pool = ctx.pool().await?;
    let ws = ctx.workspace()?;
    let mut kv: HashMap<KvNamespace, Arc<dyn KvStorage>> = HashMap::new();
    for ns in KvNamespace::ALL {
        let s = PgKvStorage::new(pool.clone(), ns, ws.clone())?;
        s.initialize().await?;
        kv.insert(ns, Arc::new(s));
    }
    let mut vectors: HashMap<VectorNamespace, Arc<dyn VectorStorage>> = HashMap::new();
    let mut vector_tables = HashMap::new();
    for ns in VectorNamespace::ALL {
        let found = match find_vector_table(&pool, ns, model_name.as_deref(), &ws).await {
            Ok(found) => found,
            Err(Error::NotFound { .. }) => continue,
            Err(e) => return Err(e),
        };
        let model = model_name.clone().or(found.model_name);
        let config = PgVectorConfig::from_pool_config(ns, found.dimension, model.as_deref(), pool.config())?;
        let s = PgVectorStorage::new(pool.clone(), ws.clone(), config)?;
        s.initialize().await?;
        vector_tables.insert(ns, s.table_name().to_owned());
        vectors.insert(ns, Arc::new(s));
    }
    let g = lightrag_pg::graph::PgGraphStorage::new(pool.clone(), ws.clone(), ctx.engine()?)?.into_dyn();
    g.initialize().await?;
    let docs = PgDocStatusStorage::new(pool.clone(), ws.clone())?;
    docs.initialize().await?;
    let keys = SqlKeys { pool: pool.clone(), ws: ws.clone(), vector_tables };
    let source = Source { kv, vectors, graph: g, doc_status: Arc::new(docs), keys: Some(Arc::new(keys)) };
    let options = ExportOptions { graphml, progress: Some(progress_bars()), ..ExportOptions::default() };
    let report = lightrag_pg_files::export(&source, to, options).await.map_err(files_error)?;
    if json {
        return output::json(&report);
    }
    outln!("exported workspace '{}' to {}: {} files", report.workspace, report.target, report.files.len());
    Ok(())
}
