#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod admin;
pub mod age;
pub mod agtype;
mod common;
pub mod convert;
pub mod names;
pub mod table;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use lightrag_pg_core::{Error, GraphStorage, Result, Workspace};
use lightrag_pg_pool::{LightRagSettings, PgPool};

pub use age::AgeGraphStorage;
pub use agtype::Agtype;
pub use convert::{ConvertReport, convert};
pub use table::TableGraphStorage;

/// Which engine stores the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GraphEngine {
    /// Apache AGE in LightRAG's layout (`PGGraphStorage`).
    Age,
    /// Plain tables (`PGTableGraphStorage`); needs no extension. The default.
    #[default]
    Table,
}

impl GraphEngine {
    /// The environment variable [`GraphEngine::from_env`] reads (LightRAG's
    /// storage selector).
    pub const ENV: &'static str = "LIGHTRAG_GRAPH_STORAGE";

    /// The short name: `age` or `table`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Age => "age",
            Self::Table => "table",
        }
    }

    /// The engine that `LIGHTRAG_GRAPH_STORAGE` names in `settings` (read by
    /// pg-pool, the one place that parses the environment), or `None` when it is
    /// unset.
    ///
    /// # Errors
    /// [`Error::Config`] when it names no PostgreSQL graph engine.
    pub fn from_settings(settings: &LightRagSettings) -> Result<Option<Self>> {
        settings.graph_storage.as_deref().map(str::parse).transpose()
    }
}

impl fmt::Display for GraphEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GraphEngine {
    type Err = Error;

    /// `age` / `PGGraphStorage`, or `table` / `pgtable` / `PGTableGraphStorage`
    /// (any case).
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "age" | "pggraphstorage" => Ok(Self::Age),
            "table" | "pgtable" | "pgtablegraphstorage" => Ok(Self::Table),
            other => Err(Error::config(
                Self::ENV,
                format!(
                    "unknown graph engine '{other}' (expected 'age' / PGGraphStorage or 'table' / PGTableGraphStorage)"
                ),
            )),
        }
    }
}

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
    /// [`Error::Config`] when the workspace cannot name an AGE graph.
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
/// [`Error::Config`] for a workspace AGE cannot name or an unsupported AGE
/// version; connection, permission or schema errors from `initialize`.
pub async fn open_graph(pool: PgPool, ws: Workspace, engine: GraphEngine) -> Result<Arc<dyn GraphStorage>> {
    let storage = PgGraphStorage::new(pool, ws, engine)?.into_dyn();
    storage.initialize().await?;
    Ok(storage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_parse_from_short_and_lightrag_names() {
        assert_eq!("age".parse::<GraphEngine>().unwrap(), GraphEngine::Age);
        assert_eq!("PGGraphStorage".parse::<GraphEngine>().unwrap(), GraphEngine::Age);
        assert_eq!(" Table ".parse::<GraphEngine>().unwrap(), GraphEngine::Table);
        assert_eq!("PGTableGraphStorage".parse::<GraphEngine>().unwrap(), GraphEngine::Table);
        let e = "neo4j".parse::<GraphEngine>().unwrap_err();
        assert!(matches!(e, Error::Config { .. }) && e.to_string().contains("neo4j"));
    }

    #[test]
    fn engine_names_round_trip() {
        for e in [GraphEngine::Age, GraphEngine::Table] {
            assert_eq!(e.to_string().parse::<GraphEngine>().unwrap(), e);
        }
    }
}
