//! `lightrag-pg init`: create the tables, indexes and graph of a workspace,
//! after upgrading tables an older LightRAG release created (the storages run
//! `lightrag_pg_pool::upgrade` before their first schema change).
//! `init --dry-run` lists those upgrade steps and writes nothing.

use lightrag_pg::{DistanceMetric, GraphChoice, Result, StoragesBuilder};
use lightrag_pg_pool::VectorIndexSettings;

use crate::args::{GraphArg, IndexArg, MetricArg};
use crate::context::Context;
use crate::output;
use crate::output::outln;

pub(crate) struct InitArgs {
    pub(crate) graph: GraphArg,
    pub(crate) vector_index: IndexArg,
    pub(crate) metric: MetricArg,
    pub(crate) embedding_dim: usize,
    pub(crate) model_name: Option<String>,
}

pub(crate) fn metric(m: MetricArg) -> DistanceMetric {
    match m {
        MetricArg::Cosine => DistanceMetric::Cosine,
        MetricArg::L2 => DistanceMetric::L2,
        MetricArg::Ip => DistanceMetric::Ip,
    }
}

pub(crate) async fn run(ctx: &Context, a: InitArgs, json: bool) -> Result<()> {
    let mut config = ctx.config.clone();
    config.vector = VectorIndexSettings {
        index_type: match a.vector_index {
            IndexArg::Hnsw => "HNSW",
            IndexArg::Ivfflat => "IVFFLAT",
            IndexArg::HnswHalfvec => "HNSW_HALFVEC",
            IndexArg::None => "NONE",
        }
        .to_owned(),
        ..config.vector
    };
    let started = std::time::Instant::now();
    let mut builder = StoragesBuilder::new()
        .pg_config(config)
        .graph(match a.graph {
            GraphArg::Age => GraphChoice::Age,
            GraphArg::Table => GraphChoice::Table,
        })
        .embedding_dim(a.embedding_dim)
        .metric(metric(a.metric));
    if let Some(ws) = &ctx.workspace_flag {
        builder = builder.workspace(ws.clone());
    } else {
        builder = builder.workspace(ctx.workspace()?.as_str().to_owned());
    }
    if let Some(m) = &a.model_name {
        builder = builder.model_name(m.clone());
    }
    let storages = builder.build().await?;
    let report = serde_json::json!({
        "workspace": storages.workspace().as_str(),
        "graph": format!("{:?}", a.graph).to_lowercase(),
        "embedding_dim": a.embedding_dim,
        "model_name": a.model_name,
        "seconds": started.elapsed().as_secs_f64(),
    });
    if json {
        output::json(&report)
    } else {
        outln!(
            "workspace '{}' ready ({} graph, {} dimensions) in {:.2}s",
            storages.workspace(),
            report["graph"].as_str().unwrap_or(""),
            a.embedding_dim,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

/// `init --dry-run`: the upgrade steps an older LightRAG release's tables need
/// (`--json`: a JSON array of `{name, description, statements}`). Writes nothing.
pub(crate) async fn dry_run(ctx: &Context, json: bool) -> Result<()> {
    let pool = ctx.pool().await?;
    let steps = lightrag_pg_pool::upgrade::plan(&pool).await?;
    if json {
        return output::json(&steps);
    }
    if steps.is_empty() {
        outln!("no upgrade step needed; init would only create what is missing (CREATE ... IF NOT EXISTS)");
    }
    for step in &steps {
        outln!("{}: {}", step.name, step.description);
        for stmt in &step.statements {
            outln!("    {stmt};");
        }
    }
    Ok(())
}
