//! `lightrag-pg init`: create the tables, indexes and graph of a workspace.

use lightrag_pg::pool::VectorIndexSettings;
use lightrag_pg::{DistanceMetric, GraphChoice, Result, StoragesBuilder};

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
