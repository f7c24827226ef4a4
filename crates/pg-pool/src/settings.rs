//! LightRAG's own (non-`POSTGRES_*`) settings that choose and shape the storages:
//! workspace, graph storage, embedding dimension and model, thresholds.
//!
//! Read here so that the environment is parsed in one crate only.

use std::fmt;
use std::str::FromStr;

use lightrag_pg_core::Error;

use crate::sources::Sources;

/// Every non-`POSTGRES_*` variable [`LightRagSettings`] reads.
pub const VARIABLES: &[&str] = &[
    "WORKSPACE",
    "LIGHTRAG_KV_STORAGE",
    "LIGHTRAG_VECTOR_STORAGE",
    "LIGHTRAG_GRAPH_STORAGE",
    "LIGHTRAG_DOC_STATUS_STORAGE",
    "EMBEDDING_MODEL",
    "EMBEDDING_DIM",
    "COSINE_THRESHOLD",
    "MAX_GRAPH_NODES",
];

/// Which engine stores the graph in PostgreSQL: the one type every crate and the
/// CLI use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GraphEngine {
    /// Apache AGE in LightRAG's layout (`PGGraphStorage`). The default.
    #[default]
    Age,
    /// Plain tables (`PGTableGraphStorage`); needs no extension.
    Table,
}

impl GraphEngine {
    /// The short name: `age` or `table`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Age => "age",
            Self::Table => "table",
        }
    }

    /// LightRAG's storage class name.
    pub fn lightrag_name(self) -> &'static str {
        match self {
            Self::Age => "PGGraphStorage",
            Self::Table => "PGTableGraphStorage",
        }
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
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "age" | "pggraphstorage" => Ok(Self::Age),
            "table" | "pgtable" | "pgtablegraphstorage" => Ok(Self::Table),
            _ => Err(Error::config(
                "LIGHTRAG_GRAPH_STORAGE",
                format!(
                    "unknown graph engine '{}' (expected 'age' / PGGraphStorage or 'table' / PGTableGraphStorage)",
                    s.trim()
                ),
            )),
        }
    }
}

/// Which of LightRAG's four stores live in PostgreSQL, from
/// `LIGHTRAG_KV_STORAGE`, `LIGHTRAG_VECTOR_STORAGE`, `LIGHTRAG_GRAPH_STORAGE` and
/// `LIGHTRAG_DOC_STATUS_STORAGE`. An unset selector means PostgreSQL (that is
/// what this project is for); another backend's class (`NanoVectorDBStorage`,
/// `Neo4JStorage`, …) means the store lives elsewhere and is left alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreSelection {
    /// Key-value (`PGKVStorage`).
    pub kv: bool,
    /// Vectors (`PGVectorStorage`).
    pub vector: bool,
    /// The graph engine, or `None` when the graph lives elsewhere.
    pub graph: Option<GraphEngine>,
    /// Document status (`PGDocStatusStorage`).
    pub doc_status: bool,
}

impl Default for StoreSelection {
    fn default() -> Self {
        Self { kv: true, vector: true, graph: Some(GraphEngine::Age), doc_status: true }
    }
}

/// Whether `value` of `variable` selects LightRAG's PostgreSQL class `pg_class`
/// (`None`: unset, so yes). Another `PG…` name is a mistake, not "elsewhere".
fn in_postgres(variable: &str, value: Option<&str>, pg_class: &str) -> Result<bool, Error> {
    match value {
        None => Ok(true),
        Some(v) if v.eq_ignore_ascii_case(pg_class) || v.eq_ignore_ascii_case("postgres") => Ok(true),
        Some(v) if v.len() >= 2 && v[..2].eq_ignore_ascii_case("pg") => {
            Err(Error::config(variable, format!("'{v}' is not a storage of this kind (expected {pg_class})")))
        }
        Some(_) => Ok(false),
    }
}

/// The storage-shaping settings LightRAG reads from its environment.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct LightRagSettings {
    /// `WORKSPACE`: the instance workspace (`POSTGRES_WORKSPACE` still wins).
    pub workspace: Option<String>,
    /// The four `LIGHTRAG_*_STORAGE` selectors, as given (for messages).
    pub selectors: [Option<String>; 4],
    /// Which stores live in PostgreSQL, and the graph engine.
    pub stores: StoreSelection,
    /// `EMBEDDING_DIM`.
    pub embedding_dim: Option<usize>,
    /// `EMBEDDING_MODEL`: names the vector tables' suffix.
    pub embedding_model: Option<String>,
    /// `COSINE_THRESHOLD` (LightRAG's default 0.2).
    pub cosine_threshold: Option<f64>,
    /// `MAX_GRAPH_NODES` (LightRAG's default 1000): the most nodes a knowledge
    /// graph query returns.
    pub max_graph_nodes: Option<usize>,
}

/// The selector variables, in the order of [`LightRagSettings::selectors`].
pub const SELECTORS: [&str; 4] =
    ["LIGHTRAG_KV_STORAGE", "LIGHTRAG_VECTOR_STORAGE", "LIGHTRAG_GRAPH_STORAGE", "LIGHTRAG_DOC_STATUS_STORAGE"];

impl LightRagSettings {
    /// Reads the settings as LightRAG does ([`Sources::discover`]: the
    /// environment, then `.env` in the working directory).
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable with a bad value.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_sources(&Sources::discover()?)
    }

    /// The settings [`Sources`] give.
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable with a bad value.
    pub fn from_sources(sources: &Sources) -> Result<Self, Error> {
        Self::from_lookup(&|k: &str| sources.value(k))
    }

    /// The same from any lookup (a map, a config file).
    ///
    /// # Errors
    /// [`Error::Config`] naming the key with a bad value.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |k: &str| get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let num = |k: &str| -> Result<Option<usize>, Error> {
            get(k)
                .map(|v| match v.parse::<usize>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => Err(Error::config(k, format!("invalid positive integer '{v}'"))),
                })
                .transpose()
        };
        let cosine_threshold = get("COSINE_THRESHOLD")
            .map(|v| match v.parse::<f64>() {
                Ok(t) if t.is_finite() => Ok(t),
                _ => Err(Error::config("COSINE_THRESHOLD", format!("invalid number '{v}'"))),
            })
            .transpose()?;
        let selectors = SELECTORS.map(get);
        let [kv, vector, graph, doc_status] = &selectors;
        let graph = match graph.as_deref() {
            None => Some(GraphEngine::default()),
            Some(v) => match v.parse::<GraphEngine>() {
                Ok(engine) => Some(engine),
                Err(e) if v.len() >= 2 && v[..2].eq_ignore_ascii_case("pg") => return Err(e),
                Err(_) => None,
            },
        };
        let stores = StoreSelection {
            kv: in_postgres(SELECTORS[0], kv.as_deref(), "PGKVStorage")?,
            vector: in_postgres(SELECTORS[1], vector.as_deref(), "PGVectorStorage")?,
            graph,
            doc_status: in_postgres(SELECTORS[3], doc_status.as_deref(), "PGDocStatusStorage")?,
        };
        Ok(Self {
            workspace: get("WORKSPACE"),
            stores,
            selectors,
            embedding_dim: num("EMBEDDING_DIM")?,
            embedding_model: get("EMBEDDING_MODEL"),
            cosine_threshold,
            max_graph_nodes: num("MAX_GRAPH_NODES")?,
        })
    }

    /// Why a store is not opened, for messages: `LIGHTRAG_VECTOR_STORAGE=NanoVectorDBStorage`.
    pub fn elsewhere(&self, index: usize) -> String {
        format!("{}={}", SELECTORS[index], self.selectors[index].as_deref().unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<LightRagSettings, Error> {
        let m: HashMap<&str, &str> = pairs.iter().copied().collect();
        LightRagSettings::from_lookup(&|k| m.get(k).map(|v| (*v).to_owned()))
    }

    #[test]
    fn every_setting_is_read() {
        let s = from(&[
            ("WORKSPACE", "w"),
            ("LIGHTRAG_GRAPH_STORAGE", "PGTableGraphStorage"),
            ("EMBEDDING_DIM", "1024"),
            ("EMBEDDING_MODEL", "bge-m3"),
            ("COSINE_THRESHOLD", "0.3"),
            ("MAX_GRAPH_NODES", "500"),
        ])
        .unwrap();
        assert_eq!(s.workspace.as_deref(), Some("w"));
        assert_eq!(s.stores.graph, Some(GraphEngine::Table));
        assert_eq!((s.embedding_dim, s.max_graph_nodes), (Some(1024), Some(500)));
        assert_eq!(s.embedding_model.as_deref(), Some("bge-m3"));
        assert_eq!(s.cosine_threshold, Some(0.3));
    }

    #[test]
    fn unset_selectors_mean_every_store_is_in_postgres_with_age() {
        assert_eq!(from(&[]).unwrap().stores, StoreSelection::default());
        assert_eq!(StoreSelection::default().graph, Some(GraphEngine::Age));
    }

    #[test]
    fn another_backends_class_means_the_store_lives_elsewhere() {
        let s = from(&[
            ("LIGHTRAG_KV_STORAGE", "PGKVStorage"),
            ("LIGHTRAG_VECTOR_STORAGE", "NanoVectorDBStorage"),
            ("LIGHTRAG_GRAPH_STORAGE", "Neo4JStorage"),
            ("LIGHTRAG_DOC_STATUS_STORAGE", "JsonDocStatusStorage"),
        ])
        .unwrap();
        assert_eq!(s.stores, StoreSelection { kv: true, vector: false, graph: None, doc_status: false });
        assert_eq!(s.elsewhere(1), "LIGHTRAG_VECTOR_STORAGE=NanoVectorDBStorage");
    }

    #[test]
    fn a_postgres_class_in_the_wrong_selector_is_an_error() {
        let e = from(&[("LIGHTRAG_KV_STORAGE", "PGVectorStorage")]).unwrap_err();
        assert!(e.to_string().starts_with("LIGHTRAG_KV_STORAGE: 'PGVectorStorage'"), "{e}");
        let e = from(&[("LIGHTRAG_GRAPH_STORAGE", "PGGraphStorageX")]).unwrap_err();
        assert!(e.to_string().contains("PGGraphStorageX"), "{e}");
    }

    #[test]
    fn engines_parse_from_short_and_lightrag_names() {
        assert_eq!("age".parse::<GraphEngine>().unwrap(), GraphEngine::Age);
        assert_eq!("PGGraphStorage".parse::<GraphEngine>().unwrap(), GraphEngine::Age);
        assert_eq!(" Table ".parse::<GraphEngine>().unwrap(), GraphEngine::Table);
        assert_eq!("pgtable".parse::<GraphEngine>().unwrap(), GraphEngine::Table);
        assert_eq!("PGTableGraphStorage".parse::<GraphEngine>().unwrap(), GraphEngine::Table);
        let e = "neo4j".parse::<GraphEngine>().unwrap_err();
        assert!(matches!(e, Error::Config { .. }) && e.to_string().contains("neo4j"));
        for g in [GraphEngine::Age, GraphEngine::Table] {
            assert_eq!(g.to_string().parse::<GraphEngine>().unwrap(), g);
            assert_eq!(g.lightrag_name().parse::<GraphEngine>().unwrap(), g);
        }
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert_eq!(
            from(&[("EMBEDDING_DIM", "big")]).unwrap_err().to_string(),
            "EMBEDDING_DIM: invalid positive integer 'big'"
        );
        assert!(from(&[("COSINE_THRESHOLD", "NaN")]).unwrap_err().to_string().starts_with("COSINE_THRESHOLD"));
    }
}
