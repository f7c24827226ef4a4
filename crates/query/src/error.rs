//! The errors of retrieval: [`QueryError`].

use std::time::Duration;

use lightrag_pg_core::Error;
use lightrag_pg_core::error::BoxError;

/// Everything [`crate::Retriever::retrieve`], the embedders, the rerankers and
/// the LLM clients can fail with (a reranker's failure never fails retrieval:
/// the chunks keep their order).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A setting is missing or malformed; `key` names it.
    #[error("{key}: {message}")]
    Config {
        /// The variable, e.g. `EMBEDDING_BINDING_HOST`.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// The caller gave something retrieval refuses (an empty question, an
    /// unknown mode).
    #[error("invalid {input}: {reason}")]
    InvalidInput {
        /// What was refused.
        input: String,
        /// Why.
        reason: String,
    },
    /// A keyword mode was asked for without keywords, none are cached, and no
    /// LLM is configured to extract them.
    #[error(
        "mode '{mode}' needs keywords: none were given (hl_keywords / ll_keywords, CLI --hl-keywords / \
         --ll-keywords), none are cached for this question (lightrag_llm_cache id '{cache_id}'), and extracting \
         them needs an LLM, which is not configured here (set LLM_BINDING, LLM_BINDING_HOST and LLM_MODEL)"
    )]
    NoKeywords {
        /// The mode asked for.
        mode: String,
        /// The LLM cache entry looked up (LightRAG's key).
        cache_id: String,
    },
    /// The embedding endpoint could not be reached, or broke the connection.
    #[error("embedding endpoint {url} unreachable: {message}")]
    EmbeddingUnreachable {
        /// The URL called.
        url: String,
        /// What happened.
        message: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
    /// The embedding endpoint did not answer in time.
    #[error("embedding endpoint {url} did not answer within {after:?}")]
    EmbeddingTimeout {
        /// The URL called.
        url: String,
        /// The time allowed per attempt.
        after: Duration,
    },
    /// The embedding endpoint answered with an error status.
    #[error("embedding endpoint {url} answered HTTP {status}: {body}")]
    EmbeddingStatus {
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The embedding endpoint's answer is not what the binding returns.
    #[error("embedding endpoint {url} gave an unusable answer: {message}")]
    EmbeddingResponse {
        /// The URL called.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The embedding endpoint returned vectors of another dimension than the
    /// knowledge base's (`EMBEDDING_DIM`).
    #[error(
        "the embedding model returned {got}-dimensional vectors, but the knowledge base has {expected} \
         (EMBEDDING_DIM / EMBEDDING_MODEL must name the model the workspace was built with)"
    )]
    EmbeddingDimension {
        /// The knowledge base's dimension.
        expected: usize,
        /// What the endpoint returned.
        got: usize,
    },
    /// The call needs an LLM and none is configured (`LLM_BINDING`).
    #[error("{what} needs an LLM, which is not configured here (set LLM_BINDING, LLM_BINDING_HOST and LLM_MODEL)")]
    NoLlm {
        /// What needed it.
        what: String,
    },
    /// The LLM endpoint could not be reached, or broke the connection.
    #[error("LLM endpoint {url} unreachable: {message}")]
    LlmUnreachable {
        /// The URL called.
        url: String,
        /// What happened.
        message: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
    /// The LLM endpoint did not answer in time (`LLM_TIMEOUT`).
    #[error("LLM endpoint {url} did not answer within {after:?}")]
    LlmTimeout {
        /// The URL called.
        url: String,
        /// The time allowed per attempt.
        after: Duration,
    },
    /// The LLM endpoint answered with an error status.
    #[error("LLM endpoint {url} answered HTTP {status}: {body}")]
    LlmStatus {
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The LLM endpoint's answer is not what the binding returns.
    #[error("LLM endpoint {url} gave an unusable answer: {message}")]
    LlmResponse {
        /// The URL called.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The rerank endpoint could not be reached, or broke the connection.
    #[error("rerank endpoint {url} unreachable: {message}")]
    RerankUnreachable {
        /// The URL called.
        url: String,
        /// What happened.
        message: String,
        /// The cause.
        #[source]
        source: Option<BoxError>,
    },
    /// The rerank endpoint did not answer in time.
    #[error("rerank endpoint {url} did not answer within {after:?}")]
    RerankTimeout {
        /// The URL called.
        url: String,
        /// The time allowed.
        after: Duration,
    },
    /// The rerank endpoint answered with another status than 200.
    #[error("rerank endpoint {url} answered HTTP {status}: {body}")]
    RerankStatus {
        /// The URL called.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The rerank endpoint's answer is not what the binding returns.
    #[error("rerank endpoint {url} gave an unusable answer: {message}")]
    RerankResponse {
        /// The URL called.
        url: String,
        /// What is wrong with it.
        message: String,
    },
    /// The workspace holds no knowledge base.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// A storage call failed.
    #[error(transparent)]
    Storage(#[from] Error),
}

impl QueryError {
    /// Whether the same call may succeed when retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::EmbeddingUnreachable { .. }
            | Self::EmbeddingTimeout { .. }
            | Self::RerankUnreachable { .. }
            | Self::RerankTimeout { .. }
            | Self::LlmUnreachable { .. }
            | Self::LlmTimeout { .. }
            // An empty or cut reply: LightRAG's `InvalidResponseError`, retried.
            | Self::LlmResponse { .. } => true,
            Self::EmbeddingStatus { status, .. } | Self::RerankStatus { status, .. } | Self::LlmStatus { status, .. } => {
                *status == 429 || *status >= 500
            }
            Self::Storage(e) => e.is_retryable(),
            _ => false,
        }
    }

    /// Whether the LLM endpoint failed (unreachable, slow, an error status,
    /// an unusable reply): what LightRAG's server answers with its
    /// "no context" placeholder rather than an error status.
    pub fn is_llm_failure(&self) -> bool {
        matches!(
            self,
            Self::LlmUnreachable { .. } | Self::LlmTimeout { .. } | Self::LlmStatus { .. } | Self::LlmResponse { .. }
        )
    }

    pub(crate) fn invalid(input: &str, reason: impl Into<String>) -> Self {
        Self::InvalidInput { input: input.into(), reason: reason.into() }
    }
}

/// Into the storages' error, for programs (the CLI) that map it to exit codes:
/// configuration and a wrong embedding dimension are [`Error::Config`], an
/// unreachable or failing endpoint [`Error::Connection`], a slow one
/// [`Error::Timeout`].
impl From<QueryError> for Error {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Config { key, message } => Error::Config { key, message },
            QueryError::InvalidInput { input, reason } => Error::InvalidInput { input, reason },
            e @ QueryError::NoLlm { .. } => Error::Config { key: "LLM_BINDING".into(), message: e.to_string() },
            e @ QueryError::NoKeywords { .. } => {
                Error::InvalidInput { input: "keywords".into(), reason: e.to_string() }
            }
            e @ QueryError::EmbeddingDimension { .. } => {
                Error::Config { key: "EMBEDDING_DIM".into(), message: e.to_string() }
            }
            QueryError::EmbeddingTimeout { url, after } => {
                Error::Timeout { what: format!("embedding endpoint {url}"), after }
            }
            QueryError::RerankTimeout { url, after } => {
                Error::Timeout { what: format!("rerank endpoint {url}"), after }
            }
            QueryError::LlmTimeout { url, after } => Error::Timeout { what: format!("LLM endpoint {url}"), after },
            e @ (QueryError::EmbeddingUnreachable { .. }
            | QueryError::EmbeddingStatus { .. }
            | QueryError::EmbeddingResponse { .. }
            | QueryError::RerankUnreachable { .. }
            | QueryError::RerankStatus { .. }
            | QueryError::RerankResponse { .. }
            | QueryError::LlmUnreachable { .. }
            | QueryError::LlmStatus { .. }
            | QueryError::LlmResponse { .. }) => {
                let retryable = e.is_retryable();
                Error::Connection { message: e.to_string(), retryable, source: Some(Box::new(e)) }
            }
            QueryError::NotFound { what } => Error::NotFound { what },
            QueryError::Storage(e) => e,
        }
    }
}
