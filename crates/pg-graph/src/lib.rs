#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod admin;
#[cfg(feature = "age")]
pub mod age;
pub mod agtype;
#[cfg(any(feature = "age", feature = "table"))]
mod common;
pub mod convert;
#[cfg(any(feature = "age", feature = "table"))]
mod engine;
pub mod names;
#[cfg(feature = "table")]
pub mod table;

#[cfg(any(feature = "age", feature = "table"))]
use std::sync::Arc;

#[cfg(any(feature = "age", feature = "table"))]
use lightrag_pg_core::{GraphStorage, Result, Workspace};
#[cfg(any(feature = "age", feature = "table"))]
use lightrag_pg_pool::PgPool;

#[cfg(feature = "age")]
pub use age::AgeGraphStorage;
pub use agtype::Agtype;
pub use convert::{ConvertReport, convert};
/// The one graph-engine type (defined with the other LightRAG settings in pg-pool).
pub use lightrag_pg_pool::GraphEngine;
#[cfg(feature = "table")]
pub use table::TableGraphStorage;

/// Either engine, chosen at run time; implements [`GraphStorage`] through
/// [`PgGraphStorage::as_dyn`] / [`open_graph`]. Only the engines this build
/// has (features `age` and `table`) are variants.
#[cfg(any(feature = "age", feature = "table"))]
#[derive(Debug, Clone)]
pub enum PgGraphStorage {
    /// The AGE engine.
    #[cfg(feature = "age")]
    Age(AgeGraphStorage),
    /// The table engine.
    #[cfg(feature = "table")]
    Table(TableGraphStorage),
}

#[cfg(any(feature = "age", feature = "table"))]
impl PgGraphStorage {
    /// A storage of `engine` for the effective workspace `ws` (not yet
    /// initialised).
    ///
    /// # Errors
    /// [`Error::Config`](lightrag_pg_core::Error::Config) when the workspace cannot name an AGE graph;
    /// [`Error::Unsupported`](lightrag_pg_core::Error::Unsupported) for an engine this build lacks.
    pub fn new(pool: PgPool, ws: Workspace, engine: GraphEngine) -> Result<Self> {
        Ok(match engine {
            #[cfg(feature = "age")]
            GraphEngine::Age => Self::Age(AgeGraphStorage::new(pool, ws)?),
            #[cfg(feature = "table")]
            GraphEngine::Table => Self::Table(TableGraphStorage::new(pool, ws)),
            #[cfg(not(all(feature = "age", feature = "table")))]
            missing => {
                let _ = (pool, ws);
                return Err(lightrag_pg_core::Error::Unsupported {
                    what: format!(
                        "the {missing} graph engine: this build of lightrag-pg-graph lacks its `{missing}` feature"
                    ),
                });
            }
        })
    }

    /// The engine.
    pub fn engine(&self) -> GraphEngine {
        match self {
            #[cfg(feature = "age")]
            Self::Age(_) => GraphEngine::Age,
            #[cfg(feature = "table")]
            Self::Table(_) => GraphEngine::Table,
        }
    }

    /// As a trait object.
    pub fn into_dyn(self) -> Arc<dyn GraphStorage> {
        match self {
            #[cfg(feature = "age")]
            Self::Age(s) => Arc::new(s),
            #[cfg(feature = "table")]
            Self::Table(s) => Arc::new(s),
        }
    }

    /// Borrowed as a trait object.
    pub fn as_dyn(&self) -> &dyn GraphStorage {
        match self {
            #[cfg(feature = "age")]
            Self::Age(s) => s,
            #[cfg(feature = "table")]
            Self::Table(s) => s,
        }
    }
}

/// Opens and initialises the graph storage of `engine` for the effective
/// workspace `ws`.
///
/// # Errors
/// [`Error::Config`](lightrag_pg_core::Error::Config) for a workspace AGE cannot name or an unsupported AGE
/// version; [`Error::Unsupported`](lightrag_pg_core::Error::Unsupported) for an engine this build lacks; connection,
/// permission or schema errors from `initialize`.
#[cfg(any(feature = "age", feature = "table"))]
pub async fn open_graph(pool: PgPool, ws: Workspace, engine: GraphEngine) -> Result<Arc<dyn GraphStorage>> {
    let storage = PgGraphStorage::new(pool, ws, engine)?.into_dyn();
    storage.initialize().await?;
    Ok(storage)
}
