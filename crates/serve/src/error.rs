//! [`ServeError`] (what keeps the server from starting) and [`ApiError`]
//! (what a request is answered with when it fails, in LightRAG server's
//! status codes and bodies).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lightrag_pg_query::QueryError;
use serde_json::{Value, json};

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// A setting is malformed; `key` names it.
    #[error("{key}: {message}")]
    Config {
        /// The variable.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Opening retrieval or the graph failed.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A storage call failed.
    #[error(transparent)]
    Storage(#[from] lightrag_pg_core::Error),
    /// Binding the address or serving failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl ServeError {
    /// Whether starting again may succeed (the database or the address was
    /// briefly unavailable).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Query(e) => e.is_retryable(),
            Self::Storage(e) => e.is_retryable(),
            Self::Io { .. } => true,
            Self::Config { .. } => false,
        }
    }
}

/// Into the storages' error, for programs (the CLI) that map it to exit
/// codes: a bad setting or an address that cannot be bound is
/// [`lightrag_pg_core::Error::Config`].
impl From<ServeError> for lightrag_pg_core::Error {
    fn from(e: ServeError) -> Self {
        match e {
            ServeError::Config { key, message } => Self::Config { key, message },
            ServeError::Query(e) => e.into(),
            ServeError::Storage(e) => e,
            ServeError::Io { what, source } => {
                Self::Config { key: "HOST/PORT".into(), message: format!("{what}: {source}") }
            }
        }
    }
}

/// One FastAPI / pydantic validation error item.
pub type FieldError = Value;

/// A failed request, rendered as LightRAG's server renders it.
#[derive(Debug)]
#[non_exhaustive]
pub enum ApiError {
    /// Request validation failed: FastAPI's 422 `{"detail": [...]}`, or on
    /// `/query/data` LightRAG's 400 `{"status": "failure", "message":
    /// "Validation error: ...", "data": {}, "metadata": {}}`.
    Validation {
        /// The pydantic error items (`type`, `loc`, `msg`, `input`, `ctx`).
        errors: Vec<FieldError>,
        /// Rendered in `/query/data`'s shape.
        data_shape: bool,
    },
    /// Any other refusal: `{"detail": "..."}` with the status.
    Http {
        /// The status.
        status: StatusCode,
        /// The detail.
        detail: String,
    },
}

impl ApiError {
    /// `{"detail": detail}` with `status`.
    pub fn http(status: StatusCode, detail: impl Into<String>) -> Self {
        Self::Http { status, detail: detail.into() }
    }

    /// LightRAG's client-safe 500: the cause is logged under a correlation
    /// id, the body carries only the id.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        let id = format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
        tracing::error!(error_id = %id, error = %cause, "returning HTTP 500");
        Self::http(StatusCode::INTERNAL_SERVER_ERROR, format!("Internal server error (error_id: {id})"))
    }

    /// A retrieval failure: bad input 422-style, missing keywords and
    /// unimplemented paths 501 naming the Python server, a failing LLM 500 (as
    /// LightRAG's routes answer it), a slow or down dependency 503, the rest
    /// 500.
    pub fn from_query(e: QueryError) -> Self {
        match &e {
            QueryError::InvalidInput { reason, .. } => Self::http(StatusCode::BAD_REQUEST, reason.clone()),
            QueryError::NoKeywords { .. } => Self::http(
                StatusCode::NOT_IMPLEMENTED,
                format!(
                    "{e}. Send hl_keywords / ll_keywords with the request, or send this query to the LightRAG \
                     server (lightrag-server)"
                ),
            ),
            QueryError::NoLlm { .. } => Self::http(
                StatusCode::NOT_IMPLEMENTED,
                format!("{e}; or send this query to the LightRAG server (lightrag-server)"),
            ),
            // LightRAG's routes answer a failing LLM with their client-safe 500.
            _ if e.is_llm_failure() => Self::internal(&e),
            _ if e.is_retryable() => {
                tracing::warn!(error = %e, "dependency unavailable");
                Self::http(StatusCode::SERVICE_UNAVAILABLE, "Service temporarily unavailable, retry later")
            }
            _ => Self::internal(&e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Validation { errors, data_shape: true } => {
                let message = errors
                    .iter()
                    .map(|e| {
                        let path = e["loc"]
                            .as_array()
                            .map(|l| {
                                l.iter()
                                    .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                                    .collect::<Vec<_>>()
                                    .join(" -> ")
                            })
                            .unwrap_or_default();
                        format!("{path}: {}", e["msg"].as_str().unwrap_or_default())
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let body = json!({
                    "status": "failure",
                    "message": format!("Validation error: {message}"),
                    "data": {},
                    "metadata": {},
                });
                (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
            }
            Self::Validation { errors, data_shape: false } => {
                (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({ "detail": errors }))).into_response()
            }
            Self::Http { status, detail } => {
                let mut r = (status, axum::Json(json!({ "detail": detail }))).into_response();
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                }
                r
            }
        }
    }
}
