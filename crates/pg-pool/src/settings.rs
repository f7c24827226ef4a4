//! LightRAG's own (non-`POSTGRES_*`) settings that choose and shape the storages:
//! workspace, graph storage, embedding dimension and model, thresholds.
//!
//! Read here so that the environment is parsed in one crate only.

use lightrag_pg_core::Error;

/// The storage-shaping settings LightRAG reads from its environment.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct LightRagSettings {
    /// `WORKSPACE`: the instance workspace (`POSTGRES_WORKSPACE` still wins).
    pub workspace: Option<String>,
    /// `LIGHTRAG_GRAPH_STORAGE`: `PGGraphStorage`/`age` or
    /// `PGTableGraphStorage`/`table`, as given.
    pub graph_storage: Option<String>,
    /// `EMBEDDING_DIM`.
    pub embedding_dim: Option<usize>,
    /// `EMBEDDING_MODEL`: names the vector tables' suffix.
    pub embedding_model: Option<String>,
    /// `COSINE_THRESHOLD` (LightRAG's default 0.2).
    pub cosine_threshold: Option<f64>,
    /// `MAX_GRAPH_NODES` (LightRAG's default 1000).
    pub max_graph_nodes: Option<usize>,
}

impl LightRagSettings {
    /// Reads `WORKSPACE`, `LIGHTRAG_GRAPH_STORAGE`, `EMBEDDING_DIM`,
    /// `EMBEDDING_MODEL`, `COSINE_THRESHOLD` and `MAX_GRAPH_NODES`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the variable with a bad value.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(&|k: &str| std::env::var(k).ok())
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
        Ok(Self {
            workspace: get("WORKSPACE"),
            graph_storage: get("LIGHTRAG_GRAPH_STORAGE"),
            embedding_dim: num("EMBEDDING_DIM")?,
            embedding_model: get("EMBEDDING_MODEL"),
            cosine_threshold,
            max_graph_nodes: num("MAX_GRAPH_NODES")?,
        })
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
        assert_eq!(s.graph_storage.as_deref(), Some("PGTableGraphStorage"));
        assert_eq!((s.embedding_dim, s.max_graph_nodes), (Some(1024), Some(500)));
        assert_eq!(s.embedding_model.as_deref(), Some("bge-m3"));
        assert_eq!(s.cosine_threshold, Some(0.3));
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
