//! Vector records, queries, hits and the distance metrics.

use serde::{Deserialize, Serialize};

use crate::{Error, JsonObject};

/// pgvector's largest `vector` dimension.
pub const MAX_DIMENSIONS: usize = 16_000;

/// How similarity is measured. LightRAG always uses cosine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DistanceMetric {
    /// Cosine distance (`<=>`); similarity = 1 − distance. LightRAG's default.
    #[default]
    Cosine,
    /// Euclidean distance (`<->`); similarity = 1 / (1 + distance).
    L2,
    /// Inner product (`<#>`, which pgvector negates); similarity = the inner product.
    #[serde(alias = "inner_product")]
    Ip,
}

impl DistanceMetric {
    /// The metric's short name: `cosine`, `l2`, `ip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cosine => "cosine",
            Self::L2 => "l2",
            Self::Ip => "ip",
        }
    }

    /// Distance between two vectors as pgvector computes it (smaller is nearer).
    pub fn distance(self, a: &[f32], b: &[f32]) -> f64 {
        let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
        match self {
            Self::Cosine => {
                let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
                let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
                if na == 0.0 || nb == 0.0 { f64::NAN } else { 1.0 - dot / (na * nb) }
            }
            Self::L2 => a.iter().zip(b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2)).sum::<f64>().sqrt(),
            Self::Ip => -dot,
        }
    }

    /// The similarity score for a distance: higher is better.
    pub fn similarity(self, distance: f64) -> f64 {
        match self {
            Self::Cosine => 1.0 - distance,
            Self::L2 => 1.0 / (1.0 + distance),
            Self::Ip => -distance,
        }
    }
}

impl std::str::FromStr for DistanceMetric {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "cosine" => Ok(Self::Cosine),
            "l2" | "euclidean" => Ok(Self::L2),
            "ip" | "inner_product" | "dot" => Ok(Self::Ip),
            _ => Err(Error::invalid(s, "metric must be cosine, l2 or ip")),
        }
    }
}

/// One vector and its LightRAG payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorRecord {
    /// `chunk-…`, `ent-…` or `rel-…`.
    pub id: String,
    /// The embedding.
    pub vector: Vec<f32>,
    /// The payload LightRAG keeps beside the vector: `content` and the namespace's
    /// meta fields (`entity_name`, `src_id`/`tgt_id`, `source_id`, `file_path`, …).
    pub payload: JsonObject,
}

/// A nearest-neighbour query.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorQuery {
    /// The query text, embedded by the storage's [`crate::Embedder`] when
    /// `embedding` is `None`.
    pub text: Option<String>,
    /// The query vector.
    pub embedding: Option<Vec<f32>>,
    /// At most this many hits.
    pub top_k: usize,
    /// Minimum similarity; `None` uses the storage's configured threshold
    /// (LightRAG's `cosine_better_than_threshold`, default 0.2).
    pub threshold: Option<f64>,
}

impl VectorQuery {
    /// A query by vector.
    pub fn by_vector(embedding: Vec<f32>, top_k: usize) -> Self {
        Self { text: None, embedding: Some(embedding), top_k, threshold: None }
    }

    /// The same query with an explicit similarity threshold.
    pub fn with_threshold(mut self, threshold: f64) -> Self {
        self.threshold = Some(threshold);
        self
    }
}

/// One search result, nearest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorHit {
    /// The record id.
    pub id: String,
    /// The metric's distance (smaller is nearer).
    pub distance: f64,
    /// The metric's similarity (higher is better); for cosine `1 − distance`.
    pub similarity: f64,
    /// The payload, plus `created_at` (epoch seconds).
    pub metadata: JsonObject,
}

/// Checks one vector against the table's dimension: not empty, not above
/// [`MAX_DIMENSIONS`], the right length, every component finite.
///
/// # Errors
/// [`Error::DimensionMismatch`] or [`Error::InvalidInput`], naming the id.
pub fn validate_vector(id: &str, vector: &[f32], expected: usize) -> Result<(), Error> {
    if vector.is_empty() {
        return Err(Error::invalid(id, "vector is empty"));
    }
    if vector.len() > MAX_DIMENSIONS {
        return Err(Error::invalid(
            id,
            format!("vector has {} dimensions; pgvector stores at most {MAX_DIMENSIONS}", vector.len()),
        ));
    }
    if vector.len() != expected {
        return Err(Error::DimensionMismatch { id: Some(id.to_owned()), expected, got: vector.len() });
    }
    if let Some(i) = vector.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid(id, format!("vector component {i} is {} (not finite)", vector[i])));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_identical_vectors_is_zero_distance() {
        let d = DistanceMetric::Cosine.distance(&[1.0, 2.0], &[2.0, 4.0]);
        assert!(d.abs() < 1e-9);
        assert!((DistanceMetric::Cosine.similarity(d) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn inner_product_distance_is_negated_like_pgvector() {
        assert_eq!(DistanceMetric::Ip.distance(&[1.0, 2.0], &[3.0, 4.0]), -11.0);
        assert_eq!(DistanceMetric::Ip.similarity(-11.0), 11.0);
    }

    #[test]
    fn bad_vectors_are_refused_by_id() {
        assert!(matches!(validate_vector("v", &[1.0], 2), Err(Error::DimensionMismatch { expected: 2, got: 1, .. })));
        assert!(validate_vector("v", &[], 2).is_err());
        let nan = validate_vector("nan-row", &[f32::NAN, 1.0], 2).unwrap_err();
        assert!(nan.to_string().contains("nan-row"));
        assert!(validate_vector("v", &[f32::INFINITY, 1.0], 2).is_err());
    }
}
