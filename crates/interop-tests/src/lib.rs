#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod bench;
pub mod edit;
pub mod embed;

use lightrag_pg::{GraphEngine, Result, Storages, StoragesBuilder};
use lightrag_pg_pool::PgConfig;

/// Opens and initialises the four storages of `workspace` on the server that
/// `POSTGRES_*` point at, with LightRAG's vector tables for `model_name` and
/// `dim`, and the graph engine `graph` (`age` or `table`).
///
/// # Errors
/// Configuration, connection or schema errors.
pub async fn open(workspace: &str, graph: &str, model_name: Option<&str>, dim: usize) -> Result<Storages> {
    let mut b = StoragesBuilder::new()
        .pg_config(PgConfig::from_env()?)
        .workspace(workspace)
        .graph(if graph == "table" { GraphEngine::Table } else { GraphEngine::Age })
        .embedding_dim(dim);
    if let Some(m) = model_name {
        b = b.model_name(m);
    }
    b.build().await
}
