//! [`QueryParam`] (LightRAG's `QueryParam`, the fields `aquery_data` honours)
//! and [`RetrievalSettings`] (the LightRAG instance settings retrieval reads),
//! with LightRAG's environment names and defaults, read from pg-pool's
//! [`Sources`] like every other setting of this project.

use std::fmt;
use std::str::FromStr;

use lightrag_pg_pool::Sources;
use serde::Serialize;

use crate::error::QueryError;

/// LightRAG's `DEFAULT_TOP_K`.
pub const DEFAULT_TOP_K: usize = 40;
/// LightRAG's `DEFAULT_CHUNK_TOP_K`.
pub const DEFAULT_CHUNK_TOP_K: usize = 20;
/// LightRAG's `DEFAULT_MAX_ENTITY_TOKENS`.
pub const DEFAULT_MAX_ENTITY_TOKENS: i64 = 6000;
/// LightRAG's `DEFAULT_MAX_RELATION_TOKENS`.
pub const DEFAULT_MAX_RELATION_TOKENS: i64 = 8000;
/// LightRAG's `DEFAULT_MAX_TOTAL_TOKENS`.
pub const DEFAULT_MAX_TOTAL_TOKENS: i64 = 30000;
/// LightRAG's `DEFAULT_COSINE_THRESHOLD`.
pub const DEFAULT_COSINE_THRESHOLD: f64 = 0.2;
/// LightRAG's `DEFAULT_RELATED_CHUNK_NUMBER`.
pub const DEFAULT_RELATED_CHUNK_NUMBER: usize = 5;

/// Every variable this crate reads, for `doctor`-style reports.
pub const VARIABLES: &[&str] = &[
    "TOP_K",
    "CHUNK_TOP_K",
    "MAX_ENTITY_TOKENS",
    "MAX_RELATION_TOKENS",
    "MAX_TOTAL_TOKENS",
    "RERANK_BY_DEFAULT",
    "COSINE_THRESHOLD",
    "RELATED_CHUNK_NUMBER",
    "KG_CHUNK_PICK_METHOD",
    "USER_PROMPT_PREFIX",
    "ENABLE_CONTENT_HEADINGS",
    "EMBEDDING_BINDING",
    "EMBEDDING_BINDING_HOST",
    "EMBEDDING_BINDING_API_KEY",
    "EMBEDDING_MODEL",
    "EMBEDDING_DIM",
    "EMBEDDING_TIMEOUT",
    "EMBEDDING_USE_BASE64",
    "LLM_BINDING",
    "LLM_BINDING_HOST",
    "LLM_BINDING_API_KEY",
    "LLM_MODEL",
    "LLM_TIMEOUT",
    "OPENAI_LLM_TEMPERATURE",
    "OLLAMA_LLM_TEMPERATURE",
    "ENABLE_LLM_CACHE",
    "SUMMARY_LANGUAGE",
];

/// A retrieval mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Entities near the low-level keywords, their relations and chunks.
    Local,
    /// Relations near the high-level keywords, their entities and chunks.
    Global,
    /// Local and global, merged round-robin.
    Hybrid,
    /// Hybrid plus the chunks nearest the question. LightRAG's default.
    #[default]
    Mix,
    /// Only the chunks nearest the question.
    Naive,
    /// No retrieval at all.
    Bypass,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 6] = [Self::Local, Self::Global, Self::Hybrid, Self::Mix, Self::Naive, Self::Bypass];

    /// LightRAG's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Global => "global",
            Self::Hybrid => "hybrid",
            Self::Mix => "mix",
            Self::Naive => "naive",
            Self::Bypass => "bypass",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = QueryError;

    fn from_str(s: &str) -> Result<Self, QueryError> {
        Self::ALL.into_iter().find(|m| m.as_str() == s.trim().to_ascii_lowercase()).ok_or_else(|| {
            QueryError::InvalidInput {
                input: "mode".into(),
                reason: format!("unknown mode '{s}' (expected local, global, hybrid, mix, naive or bypass)"),
            }
        })
    }
}

/// How chunks are picked for the entities and relations found
/// (`KG_CHUNK_PICK_METHOD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum ChunkPickMethod {
    /// By cosine similarity of the chunk vectors to the question. The default.
    #[default]
    #[serde(rename = "VECTOR")]
    Vector,
    /// LightRAG's linear-gradient weighted polling.
    #[serde(rename = "WEIGHT")]
    Weight,
}

/// LightRAG's `QueryParam`: what `aquery_data` honours.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct QueryParam {
    /// The mode (`mix`).
    pub mode: Mode,
    /// `TOP_K` (40): entities in local, relations in global.
    pub top_k: usize,
    /// `CHUNK_TOP_K` (20): vector chunks retrieved and chunks kept.
    pub chunk_top_k: usize,
    /// `MAX_ENTITY_TOKENS` (6000).
    pub max_entity_tokens: i64,
    /// `MAX_RELATION_TOKENS` (8000).
    pub max_relation_tokens: i64,
    /// `MAX_TOTAL_TOKENS` (30000).
    pub max_total_tokens: i64,
    /// High-level keywords (relations).
    pub hl_keywords: Vec<String>,
    /// Low-level keywords (entities).
    pub ll_keywords: Vec<String>,
    /// The caller's extra instructions (counted in the token budget).
    pub user_prompt: Option<String>,
    /// The answer style (counted in the token budget; "Multiple Paragraphs").
    pub response_type: String,
    /// `RERANK_BY_DEFAULT` (true): rerank when a rerank model is configured.
    pub enable_rerank: bool,
    /// Leave out the server's `USER_PROMPT_PREFIX`.
    pub disable_user_prompt_prefix: bool,
}

impl Default for QueryParam {
    fn default() -> Self {
        Self {
            mode: Mode::default(),
            top_k: DEFAULT_TOP_K,
            chunk_top_k: DEFAULT_CHUNK_TOP_K,
            max_entity_tokens: DEFAULT_MAX_ENTITY_TOKENS,
            max_relation_tokens: DEFAULT_MAX_RELATION_TOKENS,
            max_total_tokens: DEFAULT_MAX_TOTAL_TOKENS,
            hl_keywords: Vec::new(),
            ll_keywords: Vec::new(),
            user_prompt: None,
            response_type: "Multiple Paragraphs".into(),
            enable_rerank: true,
            disable_user_prompt_prefix: false,
        }
    }
}

/// Reads a number; an unset or empty variable gives `None`.
fn parse<T: FromStr>(sources: &Sources, key: &str) -> Result<Option<T>, QueryError> {
    match sources.value(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<T>()
            .map(Some)
            .map_err(|_| QueryError::Config { key: key.into(), message: format!("invalid value '{v}'") }),
    }
}

/// LightRAG's boolean parsing (`true`, `1`, `yes`, `t`, `on`).
fn parse_bool(sources: &Sources, key: &str) -> Option<bool> {
    sources.value(key).map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "t" | "on"))
}

impl QueryParam {
    /// The defaults LightRAG's `QueryParam()` takes from the environment:
    /// `TOP_K`, `CHUNK_TOP_K`, `MAX_ENTITY_TOKENS`, `MAX_RELATION_TOKENS`,
    /// `MAX_TOTAL_TOKENS`, `RERANK_BY_DEFAULT`.
    ///
    /// # Errors
    /// [`QueryError::Config`] naming a variable that is not a number.
    pub fn from_sources(sources: &Sources) -> Result<Self, QueryError> {
        let d = Self::default();
        Ok(Self {
            top_k: parse(sources, "TOP_K")?.unwrap_or(d.top_k),
            chunk_top_k: parse(sources, "CHUNK_TOP_K")?.unwrap_or(d.chunk_top_k),
            max_entity_tokens: parse(sources, "MAX_ENTITY_TOKENS")?.unwrap_or(d.max_entity_tokens),
            max_relation_tokens: parse(sources, "MAX_RELATION_TOKENS")?.unwrap_or(d.max_relation_tokens),
            max_total_tokens: parse(sources, "MAX_TOTAL_TOKENS")?.unwrap_or(d.max_total_tokens),
            enable_rerank: parse_bool(sources, "RERANK_BY_DEFAULT").unwrap_or(true),
            ..d
        })
    }

    /// The same with another mode.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The same with the given keywords.
    pub fn with_keywords(mut self, hl: Vec<String>, ll: Vec<String>) -> Self {
        self.hl_keywords = hl;
        self.ll_keywords = ll;
        self
    }
}

/// The LightRAG instance settings retrieval reads (not per query).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetrievalSettings {
    /// `COSINE_THRESHOLD` (0.2): vector hits need a similarity above it.
    pub cosine_threshold: f64,
    /// `RELATED_CHUNK_NUMBER` (5).
    pub related_chunk_number: usize,
    /// `KG_CHUNK_PICK_METHOD` (`VECTOR`).
    pub kg_chunk_pick_method: ChunkPickMethod,
    /// `USER_PROMPT_PREFIX`: the server's prefix of every `user_prompt`.
    pub user_prompt_prefix: String,
    /// `ENABLE_CONTENT_HEADINGS` (true): part of LightRAG's answer cache key
    /// (the headings themselves are not added to the context here).
    pub enable_content_headings: bool,
    /// `MIN_RERANK_SCORE` (0.0): with reranking on and above 0, chunks the
    /// reranker scored below it are dropped (unscored ones count as 1.0).
    pub min_rerank_score: f64,
}

impl Default for RetrievalSettings {
    fn default() -> Self {
        Self {
            cosine_threshold: DEFAULT_COSINE_THRESHOLD,
            related_chunk_number: DEFAULT_RELATED_CHUNK_NUMBER,
            kg_chunk_pick_method: ChunkPickMethod::Vector,
            user_prompt_prefix: String::new(),
            enable_content_headings: true,
            min_rerank_score: 0.0,
        }
    }
}

impl RetrievalSettings {
    /// Reads `COSINE_THRESHOLD`, `RELATED_CHUNK_NUMBER`, `KG_CHUNK_PICK_METHOD`,
    /// `USER_PROMPT_PREFIX`, `ENABLE_CONTENT_HEADINGS` and `MIN_RERANK_SCORE`.
    ///
    /// # Errors
    /// [`QueryError::Config`] naming a malformed variable.
    pub fn from_sources(sources: &Sources) -> Result<Self, QueryError> {
        let d = Self::default();
        let method = match sources.value("KG_CHUNK_PICK_METHOD").map(|v| v.trim().to_ascii_uppercase()) {
            None => d.kg_chunk_pick_method,
            Some(v) if v == "VECTOR" => ChunkPickMethod::Vector,
            Some(v) if v == "WEIGHT" => ChunkPickMethod::Weight,
            Some(v) => {
                return Err(QueryError::Config {
                    key: "KG_CHUNK_PICK_METHOD".into(),
                    message: format!("'{v}' is neither VECTOR nor WEIGHT"),
                });
            }
        };
        let cosine_threshold: f64 = parse(sources, "COSINE_THRESHOLD")?.unwrap_or(d.cosine_threshold);
        if !cosine_threshold.is_finite() {
            return Err(QueryError::Config { key: "COSINE_THRESHOLD".into(), message: "not a finite number".into() });
        }
        let min_rerank_score: f64 = parse(sources, "MIN_RERANK_SCORE")?.unwrap_or(d.min_rerank_score);
        if min_rerank_score.is_nan() {
            return Err(QueryError::Config { key: "MIN_RERANK_SCORE".into(), message: "not a number".into() });
        }
        Ok(Self {
            cosine_threshold,
            min_rerank_score,
            related_chunk_number: parse(sources, "RELATED_CHUNK_NUMBER")?.unwrap_or(d.related_chunk_number),
            kg_chunk_pick_method: method,
            user_prompt_prefix: sources.value("USER_PROMPT_PREFIX").unwrap_or_default(),
            enable_content_headings: parse_bool(sources, "ENABLE_CONTENT_HEADINGS").unwrap_or(true),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_lightrags() {
        let p = QueryParam::from_sources(&Sources::from_pairs(Vec::<(String, String)>::new())).unwrap();
        assert_eq!((p.mode, p.top_k, p.chunk_top_k), (Mode::Mix, 40, 20));
        assert_eq!((p.max_entity_tokens, p.max_relation_tokens, p.max_total_tokens), (6000, 8000, 30000));
        let s = RetrievalSettings::from_sources(&Sources::default()).unwrap();
        assert_eq!(
            (s.cosine_threshold, s.related_chunk_number, s.kg_chunk_pick_method),
            (0.2, 5, ChunkPickMethod::Vector)
        );
    }

    #[test]
    fn the_environment_names_are_lightrags() {
        let src = Sources::from_pairs([
            ("TOP_K", "7"),
            ("CHUNK_TOP_K", "3"),
            ("MAX_TOTAL_TOKENS", "900"),
            ("KG_CHUNK_PICK_METHOD", "weight"),
            ("RELATED_CHUNK_NUMBER", "2"),
            ("COSINE_THRESHOLD", "-1"),
        ]);
        let p = QueryParam::from_sources(&src).unwrap();
        assert_eq!((p.top_k, p.chunk_top_k, p.max_total_tokens), (7, 3, 900));
        let s = RetrievalSettings::from_sources(&src).unwrap();
        assert_eq!(
            (s.kg_chunk_pick_method, s.related_chunk_number, s.cosine_threshold),
            (ChunkPickMethod::Weight, 2, -1.0)
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        let e = QueryParam::from_sources(&Sources::from_pairs([("TOP_K", "many")])).unwrap_err();
        assert!(e.to_string().contains("TOP_K"), "{e}");
        let e = "sideways".parse::<Mode>().unwrap_err();
        assert!(e.to_string().contains("unknown mode 'sideways'"), "{e}");
    }
}
