//! `lightrag-pg init`: create the tables, indexes and graph of a workspace,
//! after upgrading tables an older LightRAG release created (the storages run
//! `lightrag_pg_pool::upgrade` before their first schema change).
//! `init --dry-run` lists those upgrade steps and writes nothing.
//!
//! Everything comes from the one configuration (flags over the environment,
//! `.env` and `config.ini`): `--vector-index` over POSTGRES_VECTOR_INDEX_TYPE,
//! `--graph` over LIGHTRAG_GRAPH_STORAGE, `--model-name` / `--embedding-dim` over
//! EMBEDDING_MODEL / EMBEDDING_DIM.

use lightrag_pg::{DistanceMetric, Result};

use crate::args::MetricArg;
use crate::context::Context;
use crate::output;
use crate::output::outln;

pub(crate) fn metric(m: MetricArg) -> DistanceMetric {
    match m {
        MetricArg::Cosine => DistanceMetric::Cosine,
        MetricArg::L2 => DistanceMetric::L2,
        MetricArg::Ip => DistanceMetric::Ip,
    }
}

pub(crate) async fn run(ctx: &Context, metric_arg: MetricArg, json: bool) -> Result<()> {
    let started = std::time::Instant::now();
    let storages = ctx.builder()?.metric(metric(metric_arg)).build().await?;
    let stores = storages.stores();
    let dim = ctx.settings.embedding_dim.unwrap_or(1024);
    let report = serde_json::json!({
        "workspace": storages.workspace().as_str(),
        "graph": stores.graph.map(|g| g.as_str()),
        "embedding_dim": dim,
        "model_name": ctx.model_name(),
        "vector_index": ctx.config.vector.index_type,
        "stores": {"kv": stores.kv, "vector": stores.vector, "graph": stores.graph.is_some(), "doc_status": stores.doc_status},
        "seconds": started.elapsed().as_secs_f64(),
    });
    if json {
        output::json(&report)
    } else {
        outln!(
            "workspace '{}' ready ({} graph, {} dimensions, {} index) in {:.2}s",
            storages.workspace(),
            report["graph"].as_str().unwrap_or("no"),
            dim,
            ctx.config.vector.index_type,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

/// `init --dry-run`: the upgrade steps an older LightRAG release's tables need
/// (`--json`: a JSON array of `{name, description, statements}`). Writes nothing.
pub(crate) async fn dry_run(ctx: &Context, json: bool) -> Result<()> {
    let pool = ctx.pool().await?;
    let steps = lightrag_pg::pool::upgrade::plan(&pool).await?;
    if json {
        return output::json(&steps);
    }
    if steps.is_empty() {
        outln!("no upgrade step needed; init would only create the tables, indexes and graph that are missing");
    }
    for step in &steps {
        outln!("{}: {}", step.name, step.description);
        for stmt in &step.statements {
            outln!("    {stmt};");
        }
    }
    Ok(())
}
