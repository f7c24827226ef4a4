#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod admin;
pub mod age;
pub mod agtype;
mod common;
pub mod convert;
pub mod names;
pub mod table;

use std::sync::Arc;

use lightrag_pg_core::{GraphStorage, Result, Workspace};
use lightrag_pg_pool::PgPool;

pub use age::AgeGraphStorage;
pub use agtype::Agtype;
pub use convert::{ConvertReport, convert};
/// The one graph-engine type (defined with the other LightRAG settings in pg-pool).
pub use lightrag_pg_pool::GraphEngine;
pub use table::TableGraphStorage;

/// Either engine, chosen at run time; implements [`GraphStorage`] through
/// [`PgGraphStorage::as_dyn`] / [`open_graph`].
#[derive(Debug, Clone)]
pub enum PgGraphStorage {
    /// The AGE engine.
    Age(AgeGraphStorage),
    /// The table engine.
    Table(TableGraphStorage),
}

impl PgGraphStorage {
    /// A storage of `engine` for the effective workspace `ws` (not yet
    /// initialised).
    ///
    /// # Errors
    /// [`Error::Config`](lightrag_pg_core::Error::Config) when the workspace cannot name an AGE graph.
    pub fn new(pool: PgPool, ws: Workspace, engine: GraphEngine) -> Result<Self> {
        Ok(match engine {
            GraphEngine::Age => Self::Age(AgeGraphStorage::new(pool, ws)?),
            GraphEngine::Table => Self::Table(TableGraphStorage::new(pool, ws)),
        })
    }

    /// The engine.
    pub fn engine(&self) -> GraphEngine {
        match self {
            Self::Age(_) => GraphEngine::Age,
            Self::Table(_) => GraphEngine::Table,
        }
    }

    /// As a trait object.
    pub fn into_dyn(self) -> Arc<dyn GraphStorage> {
        match self {
            Self::Age(s) => Arc::new(s),
            Self::Table(s) => Arc::new(s),
        }
    }

    /// Borrowed as a trait object.
    pub fn as_dyn(&self) -> &dyn GraphStorage {
        match self {
            Self::Age(s) => s,
            Self::Table(s) => s,
        }
    }
}

/// Opens and initialises the graph storage of `engine` for the effective
/// workspace `ws`.
///
/// # Errors
/// [`Error::Config`](lightrag_pg_core::Error::Config) for a workspace AGE cannot name or an unsupported AGE
/// version; connection, permission or schema errors from `initialize`.
pub async fn open_graph(pool: PgPool, ws: Workspace, engine: GraphEngine) -> Result<Arc<dyn GraphStorage>> {
    let storage = PgGraphStorage::new(pool, ws, engine)?.into_dyn();
    storage.initialize().await?;
    Ok(storage)
}
