//! `lightrag-pg migrate` and `lightrag-pg export`: a LightRAG working directory
//! into PostgreSQL and back, through the storage traits.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use lightrag_pg::docstatus::PgDocStatusStorage;
use lightrag_pg::kv::PgKvStorage;
use lightrag_pg::pool::PgPool;
use lightrag_pg::vector::{PgVectorConfig, PgVectorStorage};
use lightrag_pg::{
    DocStatusStorage, Error, KvNamespace, KvStorage, Result, Storage, VectorNamespace, VectorStorage, Workspace,
};
use lightrag_pg_files::{
    ExportOptions, FnVectorOpener, KeyLister, LeaveAlone, MigrateError, MigrateOptions, ProgressEvent, ProgressFn,
    Source, Target,
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

/// Progress on stderr, drawn only on a terminal (indicatif hides it elsewhere,
/// so `--json` output and pipes stay clean): a line for the phase (the file
/// being scanned, the store being verified) and one bar per store with its
/// records, rate and estimated time left. A vector store whose rows have all
/// been handed over says `finishing` while the storage completes the load (a
/// bulk load builds its index then).
fn progress_bars() -> ProgressFn {
    let multi = indicatif::MultiProgress::new();
    let bars: Mutex<HashMap<String, indicatif::ProgressBar>> = Mutex::new(HashMap::new());
    let style = indicatif::ProgressStyle::with_template(
        "{prefix:>22} {bar:30} {human_pos:>9}/{human_len:9} {per_sec:>11} eta {eta:>4} {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    let phase = multi.add(indicatif::ProgressBar::new_spinner());
    phase.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    Arc::new(move |event: ProgressEvent| {
        let mut bars = bars.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            ProgressEvent::Scanning { store } => {
                phase.enable_steady_tick(std::time::Duration::from_millis(200));
                phase.set_message(format!("scanning {store}"));
            }
            ProgressEvent::Verifying { store } => phase.set_message(format!("verifying {store}")),
            ProgressEvent::Writing { store, done, total } => {
                phase.set_message("writing");
                let bar = bars.entry(store.clone()).or_insert_with(|| {
                    let b = multi.add(indicatif::ProgressBar::new(total));
                    b.set_style(style.clone());
                    b.set_prefix(store.clone());
                    b.reset_eta();
                    b
                });
                bar.set_length(total);
                bar.set_position(done);
                if done >= total && store.starts_with("vectors.") {
                    bar.set_message("finishing");
                }
            }
            ProgressEvent::StoreDone { store, written, seconds } => {
                if let Some(bar) = bars.get(&store) {
                    bar.set_position(written);
                    bar.finish_with_message(format!("{seconds:.1}s"));
                }
            }
            _ => {}
        }
    })
}

/// The PostgreSQL storages of the stores the configuration keeps here; the
/// others are in-memory stand-ins that `leave_alone` keeps from being written.
async fn pg_target(ctx: &Context, pool: &PgPool, ws: &Workspace) -> Result<Target> {
    let stores = ctx.settings.stores;
    let mut target = Target::memory(ws.clone());
    if stores.kv {
        for ns in KvNamespace::ALL {
            let s = PgKvStorage::new(pool.clone(), ns, ws.clone())?;
            s.initialize().await?;
            target.kv.insert(ns, Arc::new(s));
        }
    }
    if let Some(engine) = stores.graph {
        target.graph = lightrag_pg::graph::PgGraphStorage::new(pool.clone(), ws.clone(), engine)?.into_dyn();
        target.graph.initialize().await?;
    }
    if stores.doc_status {
        let docs = PgDocStatusStorage::new(pool.clone(), ws.clone())?;
        docs.initialize().await?;
        target.doc_status = Arc::new(docs) as Arc<dyn DocStatusStorage>;
    }
    if stores.vector {
        let (pool, ws, model) = (pool.clone(), ws.clone(), ctx.model_name());
        target.vectors = Arc::new(FnVectorOpener(move |ns: VectorNamespace, dim: usize| {
            let (pool, ws, model) = (pool.clone(), ws.clone(), model.clone());
            Box::pin(async move {
                let config = PgVectorConfig::from_pool_config(ns, dim, model.as_deref(), pool.config())?;
                let s = PgVectorStorage::new(pool, ws, config)?;
                s.initialize().await?;
                Ok(Arc::new(s) as Arc<dyn VectorStorage>)
            }) as BoxFuture<'static, Result<Arc<dyn VectorStorage>>>
        }));
    }
    Ok(target)
}

/// The stores the configuration keeps outside PostgreSQL (`LIGHTRAG_*_STORAGE`).
fn leave_alone(ctx: &Context) -> LeaveAlone {
    let (s, why) = (ctx.settings.stores, |i: usize| ctx.settings.elsewhere(i));
    LeaveAlone {
        kv: (!s.kv).then(|| why(0)),
        vectors: (!s.vector).then(|| why(1)),
        graph: s.graph.is_none().then(|| why(2)),
        doc_status: (!s.doc_status).then(|| why(3)),
    }
}

/// `migrate`.
pub(crate) async fn migrate(ctx: &Context, from: &Path, dry_run: bool, memory: bool, json: bool) -> Result<()> {
    let ws = ctx.workspace()?;
    // A dry run reads and checks everything and writes nothing: it needs no
    // tables (and must not create them, or an empty AGE graph).
    let target =
        if memory || dry_run { Target::memory(ws.clone()) } else { pg_target(ctx, &ctx.pool().await?, &ws).await? };
    let options = MigrateOptions {
        dry_run,
        progress: Some(progress_bars()),
        leave_alone: leave_alone(ctx),
        ..MigrateOptions::default()
    };
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
    for (store, why) in &report.left_alone {
        outln!("  left alone       {store} ({why})");
    }
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

/// Lists ids through `lightrag_pg::admin`: the capability the traits lack.
#[derive(Debug)]
struct AdminKeys {
    pool: PgPool,
    ws: Workspace,
    vector_tables: HashMap<VectorNamespace, String>,
}

impl AdminKeys {
    async fn ids(&self, table: &str) -> Result<Vec<String>> {
        lightrag_pg::admin::ids(&self.pool, table, &self.ws).await
    }
}

#[async_trait::async_trait]
impl KeyLister for AdminKeys {
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
    let stores = ctx.settings.stores;
    let (Some(engine), true) = (stores.graph, stores.doc_status) else {
        return Err(Error::Unsupported {
            what: format!(
                "export writes a whole working directory: it needs the graph and doc status in PostgreSQL ({}, {})",
                ctx.settings.elsewhere(2),
                ctx.settings.elsewhere(3)
            ),
        });
    };
    let pool = ctx.pool().await?;
    let ws = ctx.workspace()?;
    let mut kv: HashMap<KvNamespace, Arc<dyn KvStorage>> = HashMap::new();
    for ns in KvNamespace::ALL.into_iter().filter(|_| stores.kv) {
        let s = PgKvStorage::new(pool.clone(), ns, ws.clone())?;
        s.initialize().await?;
        kv.insert(ns, Arc::new(s));
    }
    let mut vectors: HashMap<VectorNamespace, Arc<dyn VectorStorage>> = HashMap::new();
    let mut vector_tables = HashMap::new();
    for ns in VectorNamespace::ALL.into_iter().filter(|_| stores.vector) {
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
    let g = lightrag_pg::graph::PgGraphStorage::new(pool.clone(), ws.clone(), engine)?.into_dyn();
    g.initialize().await?;
    let docs = PgDocStatusStorage::new(pool.clone(), ws.clone())?;
    docs.initialize().await?;
    let keys = AdminKeys { pool: pool.clone(), ws: ws.clone(), vector_tables };
    let source = Source { kv, vectors, graph: g, doc_status: Arc::new(docs), keys: Some(Arc::new(keys)) };
    let options = ExportOptions { graphml, progress: Some(progress_bars()), ..ExportOptions::default() };
    let report = lightrag_pg_files::export(&source, to, options).await.map_err(files_error)?;
    if json {
        return output::json(&report);
    }
    outln!("exported workspace '{}' to {}: {} files", report.workspace, report.target, report.files.len());
    Ok(())
}
