//! Embedding the question over HTTP, as LightRAG's two most used bindings do:
//! the OpenAI-compatible `POST {EMBEDDING_BINDING_HOST}/embeddings` and
//! Ollama's `POST {EMBEDDING_BINDING_HOST}/api/embed`. Both implement the
//! storages' [`Embedder`] trait, so a caller may bring any other.
//!
//! Every request has a bounded time (`EMBEDDING_TIMEOUT`, LightRAG's 30 s) and
//! is retried, when the failure is transient (unreachable, time-out, 429, 5xx),
//! under one [`RetryPolicy`] (3 attempts, 0.5 s doubling to 4 s, jittered).
//! A vector of another dimension than the knowledge base's is
//! [`QueryError::EmbeddingDimension`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use lightrag_pg_core::{Embedder, Error};
use lightrag_pg_pool::{RetryPolicy, Sources};
use serde_json::{Value, json};

use crate::error::QueryError;

/// LightRAG's `DEFAULT_EMBEDDING_TIMEOUT`, in seconds.
pub const DEFAULT_EMBEDDING_TIMEOUT_SECS: u64 = 30;

/// The retries of an embedding request: 3 attempts, waits from 0.5 s doubling
/// up to 4 s.
pub const EMBEDDING_RETRY: RetryPolicy =
    RetryPolicy { attempts: 3, backoff: Duration::from_millis(500), backoff_max: Duration::from_secs(4) };

/// Which wire protocol an [`HttpEmbedder`] speaks (`EMBEDDING_BINDING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmbeddingBinding {
    /// `openai` (and every OpenAI-compatible server): `POST {host}/embeddings`.
    OpenAi,
    /// `ollama`: `POST {host}/api/embed`.
    Ollama,
}

impl EmbeddingBinding {
    /// LightRAG's default host of the binding.
    pub fn default_host(self) -> &'static str {
        match self {
            Self::OpenAi => "https://api.openai.com/v1",
            Self::Ollama => "http://localhost:11434",
        }
    }
}

/// An embedding endpoint over HTTP.
#[derive(Clone)]
pub struct HttpEmbedder {
    binding: EmbeddingBinding,
    url: String,
    model: String,
    api_key: Option<String>,
    dimension: usize,
    timeout: Duration,
    retry: RetryPolicy,
    base64: bool,
    client: reqwest::Client,
}

impl fmt::Debug for HttpEmbedder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is a secret: only whether one is set.
        f.debug_struct("HttpEmbedder")
            .field("binding", &self.binding)
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("dimension", &self.dimension)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpEmbedder {
    /// An embedder for `binding` at `host` (the binding's base URL, e.g.
    /// `http://127.0.0.1:8000/v1` for OpenAI-compatible servers).
    ///
    /// # Errors
    /// [`QueryError::Config`] when the HTTP client cannot be built.
    pub fn new(
        binding: EmbeddingBinding,
        host: &str,
        model: &str,
        dimension: usize,
        api_key: Option<String>,
    ) -> Result<Self, QueryError> {
        let host = host.trim_end_matches('/');
        let url = match binding {
            EmbeddingBinding::OpenAi => format!("{host}/embeddings"),
            EmbeddingBinding::Ollama => format!("{host}/api/embed"),
        };
        let timeout = Duration::from_secs(DEFAULT_EMBEDDING_TIMEOUT_SECS);
        Ok(Self {
            binding,
            url,
            model: model.to_owned(),
            api_key,
            dimension,
            timeout,
            retry: EMBEDDING_RETRY,
            base64: true,
            client: build_client(timeout)?,
        })
    }

    /// Reads LightRAG's variables: `EMBEDDING_BINDING` (`openai` or `ollama`;
    /// default `ollama`, as LightRAG's server), `EMBEDDING_BINDING_HOST`,
    /// `EMBEDDING_BINDING_API_KEY`, `EMBEDDING_MODEL`, `EMBEDDING_DIM`,
    /// `EMBEDDING_TIMEOUT`, `EMBEDDING_USE_BASE64` (default `true`: OpenAI's
    /// `encoding_format: base64`, as LightRAG's `openai_embed` asks; `false`
    /// for providers that only send floats).
    ///
    /// # Errors
    /// [`QueryError::Config`] naming the variable missing or malformed.
    pub fn from_sources(sources: &Sources) -> Result<Self, QueryError> {
        let config = |key: &str, message: String| QueryError::Config { key: key.into(), message };
        let binding = match sources.value("EMBEDDING_BINDING").map(|v| v.trim().to_ascii_lowercase()) {
            None => EmbeddingBinding::Ollama,
            Some(v) if v == "openai" || v == "azure_openai" || v == "jina" => EmbeddingBinding::OpenAi,
            Some(v) if v == "ollama" => EmbeddingBinding::Ollama,
            Some(v) => {
                return Err(config(
                    "EMBEDDING_BINDING",
                    format!("'{v}' is not supported here (openai-compatible or ollama)"),
                ));
            }
        };
        let host = sources.value("EMBEDDING_BINDING_HOST").unwrap_or_else(|| binding.default_host().to_owned());
        url::Url::parse(host.trim())
            .map_err(|e| config("EMBEDDING_BINDING_HOST", format!("'{host}' is not a URL: {e}")))?;
        let model = sources.value("EMBEDDING_MODEL").ok_or_else(|| {
            config("EMBEDDING_MODEL", "not set: name the model the knowledge base was built with".into())
        })?;
        let dim = sources
            .value("EMBEDDING_DIM")
            .ok_or_else(|| config("EMBEDDING_DIM", "not set: the knowledge base's embedding dimension".into()))?;
        let dimension = dim
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|d| *d > 0)
            .ok_or_else(|| config("EMBEDDING_DIM", format!("invalid positive integer '{dim}'")))?;
        let mut e =
            Self::new(binding, host.trim(), model.trim(), dimension, sources.value("EMBEDDING_BINDING_API_KEY"))?;
        if let Some(t) = sources.value("EMBEDDING_TIMEOUT") {
            e = e.with_timeout(crate::http::seconds("EMBEDDING_TIMEOUT", &t)?)?;
        }
        if let Some(v) = sources.value("EMBEDDING_USE_BASE64") {
            // LightRAG: `os.getenv(...).lower() in ("true", "1", "yes")`.
            e.base64 = matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes");
        }
        Ok(e)
    }

    /// The same with another time limit per attempt.
    ///
    /// # Errors
    /// [`QueryError::Config`] when the HTTP client cannot be built.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, QueryError> {
        self.timeout = timeout;
        self.client = build_client(timeout)?;
        Ok(self)
    }

    /// The same with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The URL requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Embeds `texts`, retrying transient failures.
    ///
    /// # Errors
    /// The `Embedding*` variants of [`QueryError`].
    pub async fn embed_texts(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, QueryError> {
        crate::http::retrying(&self.retry, &self.url, "embedding", || self.embed_once(texts)).await
    }

    async fn embed_once(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, QueryError> {
        let body = match self.binding {
            EmbeddingBinding::OpenAi => {
                let format = if self.base64 { "base64" } else { "float" };
                json!({"model": self.model, "input": texts, "encoding_format": format})
            }
            EmbeddingBinding::Ollama => json!({"model": self.model, "input": texts}),
        };
        let (status, text) = crate::http::post_json(&self.client, &self.url, self.api_key.as_deref(), &body)
            .await
            .map_err(|e| self.transport(e))?;
        if !status.is_success() {
            let body: String = text.chars().take(300).collect();
            return Err(QueryError::EmbeddingStatus { url: self.url.clone(), status: status.as_u16(), body });
        }
        let bad = |message: String| QueryError::EmbeddingResponse { url: self.url.clone(), message };
        let value: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let vectors: Vec<Vec<f32>> = match self.binding {
            EmbeddingBinding::OpenAi => {
                let data = value.get("data").and_then(Value::as_array).ok_or_else(|| bad("no `data` array".into()))?;
                let mut rows: Vec<(i64, Vec<f32>)> = Vec::with_capacity(data.len());
                for (i, item) in data.iter().enumerate() {
                    let index = item.get("index").and_then(Value::as_i64).unwrap_or(i as i64);
                    let v = parse_vector(item.get("embedding"))
                        .ok_or_else(|| bad("an `embedding` is not a vector".into()))?;
                    rows.push((index, v));
                }
                rows.sort_by_key(|(i, _)| *i);
                rows.into_iter().map(|(_, v)| v).collect()
            }
            EmbeddingBinding::Ollama => value
                .get("embeddings")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("no `embeddings` array".into()))?
                .iter()
                .map(|v| parse_vector(Some(v)).ok_or_else(|| bad("an embedding is not a vector".into())))
                .collect::<Result<_, _>>()?,
        };
        if vectors.len() != texts.len() {
            return Err(bad(format!("{} vectors for {} texts", vectors.len(), texts.len())));
        }
        if let Some(v) = vectors.iter().find(|v| v.len() != self.dimension) {
            return Err(QueryError::EmbeddingDimension { expected: self.dimension, got: v.len() });
        }
        Ok(vectors)
    }

    fn transport(&self, e: reqwest::Error) -> QueryError {
        if e.is_timeout() {
            QueryError::EmbeddingTimeout { url: self.url.clone(), after: self.timeout }
        } else {
            QueryError::EmbeddingUnreachable {
                url: self.url.clone(),
                message: e.to_string(),
                source: Some(Box::new(e)),
            }
        }
    }
}

fn build_client(timeout: Duration) -> Result<reqwest::Client, QueryError> {
    crate::http::client(timeout, "EMBEDDING_BINDING_HOST")
}

/// A JSON array of numbers, or OpenAI's base64 of little-endian `f32`s.
fn parse_vector(v: Option<&Value>) -> Option<Vec<f32>> {
    match v? {
        Value::Array(items) => items.iter().map(|x| x.as_f64().map(|f| f as f32)).collect(),
        Value::String(b64) => {
            let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
            (bytes.len() % 4 == 0)
                .then(|| bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
        }
        _ => None,
    }
}

#[async_trait]
impl Embedder for HttpEmbedder {
    fn dimension(&self) -> usize {
        self.dimension
    }

    async fn embed(&self, texts: &[String]) -> lightrag_pg_core::Result<Vec<Vec<f32>>> {
        self.embed_texts(texts).await.map_err(Error::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_default_to_lightrags_hosts_and_paths() {
        let e = HttpEmbedder::from_sources(&Sources::from_pairs([
            ("EMBEDDING_BINDING", "openai"),
            ("EMBEDDING_MODEL", "m"),
            ("EMBEDDING_DIM", "8"),
        ]))
        .unwrap();
        assert_eq!(e.url(), "https://api.openai.com/v1/embeddings");
        let e = HttpEmbedder::from_sources(&Sources::from_pairs([
            ("EMBEDDING_BINDING_HOST", "http://h:1/"),
            ("EMBEDDING_MODEL", "m"),
            ("EMBEDDING_DIM", "8"),
        ]))
        .unwrap();
        assert_eq!(e.url(), "http://h:1/api/embed");
    }

    #[test]
    fn the_api_key_never_shows_in_debug_output() {
        let pairs = [
            ("EMBEDDING_BINDING", "openai"),
            ("EMBEDDING_MODEL", "m"),
            ("EMBEDDING_DIM", "4"),
            ("EMBEDDING_BINDING_API_KEY", "sk-secret"),
        ];
        let shown = format!("{:?}", HttpEmbedder::from_sources(&Sources::from_pairs(pairs)).unwrap());
        assert!(!shown.contains("sk-secret") && shown.contains("<set>"), "{shown}");
    }

    #[test]
    fn openai_requests_ask_base64_unless_embedding_use_base64_is_false() {
        let with = |v: Option<&str>| {
            let mut pairs = vec![("EMBEDDING_BINDING", "openai"), ("EMBEDDING_MODEL", "m"), ("EMBEDDING_DIM", "8")];
            pairs.extend(v.map(|v| ("EMBEDDING_USE_BASE64", v)));
            HttpEmbedder::from_sources(&Sources::from_pairs(pairs)).unwrap().base64
        };
        assert!(with(None), "LightRAG's default is base64");
        assert!(with(Some("Yes")) && with(Some("1")) && with(Some("true")));
        assert!(!with(Some("false")) && !with(Some("0")) && !with(Some("no")));
    }

    #[test]
    fn missing_settings_name_their_variable() {
        let e = HttpEmbedder::from_sources(&Sources::from_pairs([("EMBEDDING_MODEL", "m")])).unwrap_err();
        assert!(e.to_string().starts_with("EMBEDDING_DIM"), "{e}");
        let e = HttpEmbedder::from_sources(&Sources::from_pairs([("EMBEDDING_BINDING", "bedrock")])).unwrap_err();
        assert!(e.to_string().starts_with("EMBEDDING_BINDING"), "{e}");
    }

    #[test]
    fn vectors_parse_from_floats_and_base64() {
        assert_eq!(parse_vector(Some(&json!([1.0, -0.5]))), Some(vec![1.0, -0.5]));
        let b64 =
            base64::engine::general_purpose::STANDARD.encode([1.0f32.to_le_bytes(), 2.0f32.to_le_bytes()].concat());
        assert_eq!(parse_vector(Some(&json!(b64))), Some(vec![1.0, 2.0]));
        assert_eq!(parse_vector(Some(&json!("x"))), None);
    }
}
