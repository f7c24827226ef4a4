//! Reranking the chunks, as LightRAG's `RERANK_BINDING` does (`rerank.py`):
//! the [`Reranker`] trait, and [`HttpReranker`] for the three bindings of
//! LightRAG's server, which all `POST` to `RERANK_BINDING_HOST` itself (the
//! whole URL, e.g. `https://api.cohere.com/v2/rerank`):
//!
//! | binding | request | answer |
//! |---|---|---|
//! | `cohere` | `{"model", "query", "documents", "top_n"}` | `{"results": [{"index", "relevance_score"}]}` |
//! | `jina` | the same and `"return_documents": false` | the same |
//! | `aliyun` | `{"model", "input": {"query", "documents"}, "parameters": {"top_n", "return_documents": false}}` | `{"output": {"results": [...]}}` |
//!
//! As `generic_rerank_api`: the status must be 200; results that are not
//! `{"index": <int in range>, "relevance_score": <finite number>}` are
//! dropped (`normalize_rerank_result`) and counted in one warning; with
//! `RERANK_ENABLE_CHUNKING=true` (cohere only) a document longer than
//! `RERANK_MAX_TOKENS_PER_DOC` (4096) `o200k_base` tokens is sent as windows
//! of that many tokens overlapping by 32, `top_n` is left out of the request,
//! and each document gets its best window's score, best first, cut to
//! `top_n`.
//!
//! Each attempt has `RERANK_TIMEOUT` (LightRAG's 30 s), the whole call twice
//! that (LightRAG's `max_execution_timeout` of the rerank queue); transient
//! failures are retried under the embedder's [`RetryPolicy`].

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lightrag_pg_pool::{RetryPolicy, Sources};
use serde_json::{Value, json};

use crate::embed::EMBEDDING_RETRY;
use crate::error::QueryError;
use crate::tokenizer::{Tiktoken, Tokenizer};

/// LightRAG's `DEFAULT_RERANK_TIMEOUT`, in seconds.
pub const DEFAULT_RERANK_TIMEOUT_SECS: u64 = 30;

/// LightRAG's `DEFAULT_RERANK_MAX_TOKENS_PER_DOC` (Cohere rerank-v3.5's window).
pub const DEFAULT_RERANK_MAX_TOKENS_PER_DOC: usize = 4096;

/// The tokens two windows of a long document share (`overlap_tokens`).
const CHUNK_OVERLAP_TOKENS: usize = 32;

/// One reranked document: its position in the list given, and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RerankResult {
    /// The document's index in the list given to [`Reranker::rerank`].
    pub index: usize,
    /// The model's relevance score (finite).
    pub relevance_score: f64,
}

impl RerankResult {
    /// A result.
    pub fn new(index: usize, relevance_score: f64) -> Self {
        Self { index, relevance_score }
    }
}

/// A rerank model, as LightRAG's `rerank_model_func`.
#[async_trait]
pub trait Reranker: Send + Sync + fmt::Debug {
    /// The documents' indices, best first, at most `top_n` of them when given.
    ///
    /// # Errors
    /// Whatever stops the model from answering; retrieval then keeps the
    /// documents in their order, as LightRAG does.
    async fn rerank(
        &self,
        query: &str,
        documents: &[String],
        top_n: Option<usize>,
    ) -> Result<Vec<RerankResult>, QueryError>;
}

/// Which provider's protocol a [`HttpReranker`] speaks (`RERANK_BINDING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RerankBinding {
    /// `cohere` (and Cohere-compatible proxies, e.g. LiteLLM).
    Cohere,
    /// `jina` (and vLLM's, Xinference's and other Jina-compatible `/rerank`).
    Jina,
    /// `aliyun`: DashScope's `text-rerank`.
    Aliyun,
}

impl RerankBinding {
    /// The name in `RERANK_BINDING`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cohere => "cohere",
            Self::Jina => "jina",
            Self::Aliyun => "aliyun",
        }
    }

    /// LightRAG's default model of the binding.
    pub fn default_model(self) -> &'static str {
        match self {
            Self::Cohere => "rerank-v3.5",
            Self::Jina => "jina-reranker-v2-base-multilingual",
            Self::Aliyun => "gte-rerank-v2",
        }
    }

    /// LightRAG's default endpoint of the binding.
    pub fn default_host(self) -> &'static str {
        match self {
            Self::Cohere => "https://api.cohere.com/v2/rerank",
            Self::Jina => "https://api.jina.ai/v1/rerank",
            Self::Aliyun => "https://dashscope.aliyuncs.com/api/v1/services/rerank/text-rerank/text-rerank",
        }
    }

    /// The provider's own key variable, read when `RERANK_BINDING_API_KEY` is not set.
    fn key_variable(self) -> &'static str {
        match self {
            Self::Cohere => "COHERE_API_KEY",
            Self::Jina => "JINA_API_KEY",
            Self::Aliyun => "DASHSCOPE_API_KEY",
        }
    }
}

impl fmt::Display for RerankBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rerank endpoint over HTTP.
#[derive(Clone)]
pub struct HttpReranker {
    binding: RerankBinding,
    url: String,
    model: String,
    api_key: Option<String>,
    timeout: Duration,
    retry: RetryPolicy,
    /// `RERANK_ENABLE_CHUNKING`: the window in tokens (cohere only).
    chunking: Option<usize>,
    client: reqwest::Client,
}

impl fmt::Debug for HttpReranker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpReranker")
            .field("binding", &self.binding)
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .field("chunking", &self.chunking)
            .finish_non_exhaustive()
    }
}

impl HttpReranker {
    /// A reranker for `binding` posting to `url` (the whole endpoint URL).
    ///
    /// # Errors
    /// [`QueryError::Config`] when the HTTP client cannot be built.
    pub fn new(binding: RerankBinding, url: &str, model: &str, api_key: Option<String>) -> Result<Self, QueryError> {
        let timeout = Duration::from_secs(DEFAULT_RERANK_TIMEOUT_SECS);
        Ok(Self {
            binding,
            url: url.trim().to_owned(),
            model: model.to_owned(),
            api_key,
            timeout,
            retry: EMBEDDING_RETRY,
            chunking: None,
            client: crate::http::client(timeout, "RERANK_BINDING_HOST")?,
        })
    }

    /// Reads LightRAG server's variables: `RERANK_BINDING` (`null`, the
    /// default: no reranker, `None`; `cohere`, `jina`, `aliyun`),
    /// `RERANK_MODEL` and `RERANK_BINDING_HOST` (default: the binding's),
    /// `RERANK_BINDING_API_KEY` (else `COHERE_API_KEY`, `JINA_API_KEY` or
    /// `DASHSCOPE_API_KEY`), `RERANK_TIMEOUT` (30 s), and for cohere
    /// `RERANK_ENABLE_CHUNKING` (`true`) with `RERANK_MAX_TOKENS_PER_DOC` (4096).
    ///
    /// # Errors
    /// [`QueryError::Config`] naming the variable that is malformed.
    pub fn from_sources(sources: &Sources) -> Result<Option<Self>, QueryError> {
        let config = |key: &str, message: String| QueryError::Config { key: key.into(), message };
        let binding = match sources.value("RERANK_BINDING").map(|v| v.trim().to_owned()).as_deref() {
            None | Some("null" | "") => return Ok(None),
            Some("cohere") => RerankBinding::Cohere,
            Some("jina") => RerankBinding::Jina,
            Some("aliyun") => RerankBinding::Aliyun,
            Some(v) => {
                return Err(config("RERANK_BINDING", format!("'{v}' is not one of null, cohere, jina, aliyun")));
            }
        };
        let url = sources.value("RERANK_BINDING_HOST").unwrap_or_else(|| binding.default_host().to_owned());
        url::Url::parse(url.trim()).map_err(|e| config("RERANK_BINDING_HOST", format!("'{url}' is not a URL: {e}")))?;
        let model = sources.value("RERANK_MODEL").unwrap_or_else(|| binding.default_model().to_owned());
        let api_key = sources
            .value("RERANK_BINDING_API_KEY")
            .or_else(|| sources.value(binding.key_variable()))
            .filter(|k| !k.is_empty());
        let mut r = Self::new(binding, &url, model.trim(), api_key)?;
        if let Some(t) = sources.value("RERANK_TIMEOUT") {
            let secs = t
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| config("RERANK_TIMEOUT", format!("invalid whole number of seconds '{t}'")))?;
            r = r.with_timeout(Duration::from_secs(secs))?;
        }
        if binding == RerankBinding::Cohere {
            let max = match sources.value("RERANK_MAX_TOKENS_PER_DOC") {
                None => DEFAULT_RERANK_MAX_TOKENS_PER_DOC,
                Some(v) => v.trim().parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    config("RERANK_MAX_TOKENS_PER_DOC", format!("must be an integer >= 1, got '{v}'"))
                })?,
            };
            // LightRAG: `os.getenv("RERANK_ENABLE_CHUNKING", "false").lower() == "true"`.
            let on = sources.value("RERANK_ENABLE_CHUNKING").is_some_and(|v| v.eq_ignore_ascii_case("true"));
            r.chunking = on.then_some(max);
        }
        Ok(Some(r))
    }

    /// The same with another time limit per attempt (the whole call gets twice it).
    ///
    /// # Errors
    /// [`QueryError::Config`] when the HTTP client cannot be built.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, QueryError> {
        self.timeout = timeout;
        self.client = crate::http::client(timeout, "RERANK_BINDING_HOST")?;
        Ok(self)
    }

    /// The same with another retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The same, sending documents longer than `max_tokens` as overlapping
    /// windows (LightRAG's `enable_chunking`, which its server offers for cohere).
    pub fn with_chunking(mut self, max_tokens: Option<usize>) -> Self {
        self.chunking = max_tokens.filter(|m| *m >= 1);
        self
    }

    /// The binding.
    pub fn binding(&self) -> RerankBinding {
        self.binding
    }

    /// The URL requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The model asked for.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The time allowed per attempt.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The request body for `documents` (LightRAG's payload of the binding).
    fn payload(&self, query: &str, documents: &[String], top_n: Option<usize>) -> Value {
        match self.binding {
            RerankBinding::Aliyun => {
                let mut parameters = serde_json::Map::new();
                if let Some(n) = top_n {
                    parameters.insert("top_n".into(), json!(n));
                }
                parameters.insert("return_documents".into(), json!(false));
                json!({"model": self.model, "input": {"query": query, "documents": documents}, "parameters": parameters})
            }
            RerankBinding::Cohere | RerankBinding::Jina => {
                let mut body = json!({"model": self.model, "query": query, "documents": documents});
                if let Some(n) = top_n {
                    body["top_n"] = json!(n);
                }
                if self.binding == RerankBinding::Jina {
                    body["return_documents"] = json!(false);
                }
                body
            }
        }
    }

    async fn rerank_once(&self, body: &Value, documents: usize) -> Result<Vec<RerankResult>, QueryError> {
        let (status, text) = crate::http::post_json(&self.client, &self.url, self.api_key.as_deref(), body)
            .await
            .map_err(|e| self.transport(e))?;
        if status != reqwest::StatusCode::OK {
            let body: String = text.chars().take(300).collect();
            return Err(QueryError::RerankStatus { url: self.url.clone(), status: status.as_u16(), body });
        }
        let bad = |message: String| QueryError::RerankResponse { url: self.url.clone(), message };
        let value: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
        if !value.is_object() {
            return Err(bad("not a JSON object".into()));
        }
        let results = match self.binding {
            RerankBinding::Aliyun => value.pointer("/output/results"),
            _ => value.get("results"),
        };
        let Some(results) = results.and_then(Value::as_array) else {
            tracing::warn!(url = %self.url, "rerank answer has no results list");
            return Ok(Vec::new());
        };
        Ok(normalize_all(results, documents))
    }

    fn transport(&self, e: reqwest::Error) -> QueryError {
        if e.is_timeout() {
            QueryError::RerankTimeout { url: self.url.clone(), after: self.timeout }
        } else {
            QueryError::RerankUnreachable { url: self.url.clone(), message: e.to_string(), source: Some(Box::new(e)) }
        }
    }
}

#[async_trait]
impl Reranker for HttpReranker {
    #[tracing::instrument(level = "debug", skip_all, fields(url = %self.url, documents = documents.len()))]
    async fn rerank(
        &self,
        query: &str,
        documents: &[String],
        top_n: Option<usize>,
    ) -> Result<Vec<RerankResult>, QueryError> {
        let windows = self.chunking.map(|max| chunk_documents(documents, max, CHUNK_OVERLAP_TOKENS));
        let (sent, api_top_n) = match &windows {
            Some((texts, _)) => (texts.as_slice(), None),
            None => (documents, top_n),
        };
        let body = self.payload(query, sent, api_top_n);
        let call = crate::http::retrying(&self.retry, &self.url, "rerank", || self.rerank_once(&body, sent.len()));
        let total = self.timeout * 2;
        let results = tokio::time::timeout(total, call)
            .await
            .map_err(|_| QueryError::RerankTimeout { url: self.url.clone(), after: total })??;
        Ok(match windows {
            Some((_, owners)) => {
                let mut best = aggregate_max(&results, &owners, documents.len());
                if let Some(n) = top_n {
                    best.truncate(n);
                }
                best
            }
            None => results,
        })
    }
}

/// `normalize_rerank_result`: `{"index": <int in 0..max>, "relevance_score":
/// <a number, or a string Python's float() reads, finite>}`, else `None`.
pub fn normalize(result: &Value, max: usize) -> Option<RerankResult> {
    let index = result.get("index")?;
    let index = index.as_u64().and_then(|i| usize::try_from(i).ok())?;
    if index >= max {
        return None;
    }
    let score = match result.get("relevance_score")? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    score.is_finite().then_some(RerankResult { index, relevance_score: score })
}

/// The usable results, in the order given; the others counted in one warning.
fn normalize_all(results: &[Value], max: usize) -> Vec<RerankResult> {
    let kept: Vec<RerankResult> = results.iter().filter_map(|r| normalize(r, max)).collect();
    if kept.len() < results.len() {
        tracing::warn!(discarded = results.len() - kept.len(), "discarded malformed rerank results");
    }
    if kept.is_empty() {
        tracing::warn!("rerank API returned no usable results");
    }
    kept
}

/// `chunk_documents_for_rerank`: each document, or its windows of
/// `max_tokens` `o200k_base` tokens overlapping by `overlap` (clamped to
/// `max_tokens / 2` when not smaller); with the index of the document of each.
pub fn chunk_documents(documents: &[String], max_tokens: usize, overlap: usize) -> (Vec<String>, Vec<usize>) {
    let max_tokens = max_tokens.max(1);
    let overlap = if overlap >= max_tokens { max_tokens / 2 } else { overlap };
    let tokenizer = Tiktoken::o200k_base();
    let (mut texts, mut owners) = (Vec::new(), Vec::new());
    for (i, doc) in documents.iter().enumerate() {
        let tokens = tokenizer.encode(doc);
        if tokens.len() <= max_tokens {
            texts.push(doc.clone());
            owners.push(i);
            continue;
        }
        let mut start = 0;
        while start < tokens.len() {
            let end = (start + max_tokens).min(tokens.len());
            texts.push(tokenizer.decode(&tokens[start..end]));
            owners.push(i);
            if end >= tokens.len() {
                break;
            }
            start = end - overlap;
        }
    }
    (texts, owners)
}

/// `aggregate_chunk_scores(..., "max")`: each document's best window score,
/// best first (documents of equal scores in their order).
fn aggregate_max(results: &[RerankResult], owners: &[usize], documents: usize) -> Vec<RerankResult> {
    let mut best: Vec<Option<f64>> = vec![None; documents];
    for r in results {
        if let Some(&doc) = owners.get(r.index)
            && doc < documents
        {
            best[doc] = Some(best[doc].map_or(r.relevance_score, |b: f64| b.max(r.relevance_score)));
        }
    }
    let mut out: Vec<RerankResult> =
        best.into_iter().enumerate().filter_map(|(i, s)| s.map(|s| RerankResult::new(i, s))).collect();
    out.sort_by(|a, b| b.relevance_score.total_cmp(&a.relevance_score));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reranker(pairs: &[(&str, &str)]) -> HttpReranker {
        HttpReranker::from_sources(&Sources::from_pairs(pairs.iter().copied())).unwrap().unwrap()
    }

    #[test]
    fn without_rerank_binding_or_with_null_there_is_no_reranker() {
        assert!(HttpReranker::from_sources(&Sources::default()).unwrap().is_none());
        let null = Sources::from_pairs([("RERANK_BINDING", "null"), ("RERANK_MODEL", "m")]);
        assert!(HttpReranker::from_sources(&null).unwrap().is_none());
    }

    #[test]
    fn an_unknown_binding_names_rerank_binding() {
        let e = HttpReranker::from_sources(&Sources::from_pairs([("RERANK_BINDING", "voyage")])).unwrap_err();
        assert!(e.to_string().starts_with("RERANK_BINDING:"), "{e}");
    }

    #[test]
    fn bindings_default_to_lightrags_models_and_endpoints() {
        let r = reranker(&[("RERANK_BINDING", "cohere")]);
        assert_eq!((r.url(), r.model()), ("https://api.cohere.com/v2/rerank", "rerank-v3.5"));
        let r = reranker(&[("RERANK_BINDING", "jina")]);
        assert_eq!((r.url(), r.model()), ("https://api.jina.ai/v1/rerank", "jina-reranker-v2-base-multilingual"));
        let r = reranker(&[("RERANK_BINDING", "aliyun"), ("RERANK_BINDING_HOST", "http://h:1/rerank")]);
        assert_eq!((r.url(), r.model()), ("http://h:1/rerank", "gte-rerank-v2"));
        assert_eq!(r.timeout(), Duration::from_secs(30));
    }

    #[test]
    fn the_api_key_falls_back_to_the_providers_variable() {
        let r = reranker(&[("RERANK_BINDING", "jina"), ("JINA_API_KEY", "j")]);
        assert_eq!(r.api_key.as_deref(), Some("j"));
        let r = reranker(&[("RERANK_BINDING", "jina"), ("JINA_API_KEY", "j"), ("RERANK_BINDING_API_KEY", "r")]);
        assert_eq!(r.api_key.as_deref(), Some("r"));
        assert_eq!(reranker(&[("RERANK_BINDING", "cohere")]).api_key, None);
    }

    #[test]
    fn cohere_requests_are_model_query_documents_top_n() {
        let r = reranker(&[("RERANK_BINDING", "cohere"), ("RERANK_MODEL", "m")]);
        let body = r.payload("q", &["a".into(), "b".into()], Some(1));
        assert_eq!(body, json!({"model": "m", "query": "q", "documents": ["a", "b"], "top_n": 1}));
        let body = r.payload("q", &["a".into()], None);
        assert_eq!(body, json!({"model": "m", "query": "q", "documents": ["a"]}));
    }

    #[test]
    fn jina_requests_also_say_return_documents_false() {
        let r = reranker(&[("RERANK_BINDING", "jina"), ("RERANK_MODEL", "m")]);
        let body = r.payload("q", &["a".into()], Some(3));
        assert_eq!(
            body,
            json!({"model": "m", "query": "q", "documents": ["a"], "top_n": 3, "return_documents": false})
        );
    }

    #[test]
    fn aliyun_requests_nest_input_and_parameters() {
        let r = reranker(&[("RERANK_BINDING", "aliyun"), ("RERANK_MODEL", "m")]);
        let body = r.payload("q", &["a".into()], Some(2));
        assert_eq!(
            body,
            json!({"model": "m", "input": {"query": "q", "documents": ["a"]},
                   "parameters": {"top_n": 2, "return_documents": false}})
        );
    }

    #[test]
    fn results_need_an_integer_index_in_range_and_a_finite_score() {
        let ok = |v: Value| normalize(&v, 3);
        assert_eq!(ok(json!({"index": 2, "relevance_score": 0.5})), Some(RerankResult::new(2, 0.5)));
        assert_eq!(ok(json!({"index": 0, "relevance_score": "0.25"})), Some(RerankResult::new(0, 0.25)));
        assert_eq!(ok(json!({"index": 0, "relevance_score": 1})), Some(RerankResult::new(0, 1.0)));
        assert_eq!(ok(json!({"index": 3, "relevance_score": 0.5})), None, "out of range");
        assert_eq!(ok(json!({"index": -1, "relevance_score": 0.5})), None, "negative");
        assert_eq!(ok(json!({"index": 1.0, "relevance_score": 0.5})), None, "a float index");
        assert_eq!(ok(json!({"index": true, "relevance_score": 0.5})), None, "a boolean index");
        assert_eq!(ok(json!({"index": 1, "relevance_score": true})), None, "a boolean score");
        assert_eq!(ok(json!({"index": 1, "relevance_score": "nan"})), None, "not finite");
        assert_eq!(ok(json!({"index": 1})), None, "no score");
        assert_eq!(ok(json!([1, 0.5])), None, "not an object");
    }

    #[test]
    fn chunking_reads_enable_and_max_tokens_for_cohere_only() {
        let on =
            [("RERANK_BINDING", "cohere"), ("RERANK_ENABLE_CHUNKING", "TRUE"), ("RERANK_MAX_TOKENS_PER_DOC", "480")];
        assert_eq!(reranker(&on).chunking, Some(480));
        assert_eq!(reranker(&[("RERANK_BINDING", "cohere"), ("RERANK_ENABLE_CHUNKING", "1")]).chunking, None);
        assert_eq!(reranker(&[("RERANK_BINDING", "jina"), ("RERANK_ENABLE_CHUNKING", "true")]).chunking, None);
        let bad = Sources::from_pairs([("RERANK_BINDING", "cohere"), ("RERANK_MAX_TOKENS_PER_DOC", "0")]);
        let e = HttpReranker::from_sources(&bad).unwrap_err();
        assert!(e.to_string().starts_with("RERANK_MAX_TOKENS_PER_DOC"), "{e}");
    }

    #[test]
    fn long_documents_split_into_overlapping_windows() {
        let long = "word ".repeat(100);
        let (texts, owners) = chunk_documents(&["short".into(), long.clone()], 40, 8);
        assert_eq!(texts[0], "short");
        assert_eq!(owners[0], 0);
        assert!(owners[1..].iter().all(|o| *o == 1) && owners.len() > 3, "{owners:?}");
        let t = Tiktoken::o200k_base();
        assert!(texts[1..].iter().all(|w| t.count(w) <= 40));
        // Consecutive windows share 8 tokens: their tokens start 32 apart.
        let all = t.encode(&long);
        assert_eq!(t.encode(&texts[2])[..], all[32..72]);
    }

    #[test]
    fn window_scores_aggregate_to_each_documents_best_best_first() {
        let results = [RerankResult::new(0, 0.2), RerankResult::new(1, 0.1), RerankResult::new(2, 0.9)];
        // Windows 0 and 1 are document 0's, window 2 document 1's; document 2 got no score.
        let got = aggregate_max(&results, &[0, 0, 1], 3);
        assert_eq!(got, vec![RerankResult::new(1, 0.9), RerankResult::new(0, 0.2)]);
    }
}
