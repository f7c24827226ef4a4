//! What every HTTP model endpoint of retrieval shares (the embedder, the
//! reranker, the LLM): a client with a bounded time per attempt, and the one retry
//! loop over transient failures ([`QueryError::is_retryable`]) under a
//! [`RetryPolicy`].

use std::future::Future;
use std::time::Duration;

use lightrag_pg_pool::RetryPolicy;

use crate::error::QueryError;

/// A client whose requests take at most `timeout` (connecting at most
/// 10 s of it); `key` names the setting blamed when it cannot be built.
///
/// # Errors
/// [`QueryError::Config`] naming `key` when the TLS backend cannot start.
pub(crate) fn client(timeout: Duration, key: &str) -> Result<reqwest::Client, QueryError> {
    build(reqwest::Client::builder().timeout(timeout), timeout, key)
}

/// A client for streamed replies: `timeout` bounds each read (and the
/// connection, at most 10 s of it), not the whole reply.
///
/// # Errors
/// [`QueryError::Config`] naming `key` when the TLS backend cannot start.
pub(crate) fn stream_client(timeout: Duration, key: &str) -> Result<reqwest::Client, QueryError> {
    build(reqwest::Client::builder().read_timeout(timeout), timeout, key)
}

fn build(builder: reqwest::ClientBuilder, timeout: Duration, key: &str) -> Result<reqwest::Client, QueryError> {
    builder
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|e| QueryError::Config { key: key.into(), message: format!("HTTP client: {e}") })
}

/// A positive number of seconds from setting `key` (`EMBEDDING_TIMEOUT`,
/// `LLM_TIMEOUT`).
///
/// # Errors
/// [`QueryError::Config`] naming `key` for anything else.
pub(crate) fn seconds(key: &str, value: &str) -> Result<Duration, QueryError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| QueryError::Config { key: key.into(), message: format!("invalid number of seconds '{value}'") })
}

/// `call` until it succeeds, fails for good, or `retry.attempts` are spent;
/// each transient failure is logged (`what` names the call) and waited out.
///
/// # Errors
/// The last failure of `call`.
pub(crate) async fn retrying<T, F, Fut>(
    retry: &RetryPolicy,
    url: &str,
    what: &str,
    mut call: F,
) -> Result<T, QueryError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, QueryError>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if e.is_retryable() && attempt < retry.attempts => {
                let wait = retry.delay(attempt);
                tracing::warn!(url = %url, attempt, error = %e, wait_ms = wait.as_millis() as u64, "{what} failed; retrying");
                attempt += 1;
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

/// `POST url` with `body` as JSON (and `Authorization: Bearer api_key` when
/// given): the status and the body's text.
///
/// # Errors
/// The transport's error (unreachable, time-out, a broken body).
pub(crate) async fn post_json(
    client: &reqwest::Client,
    url: &str,
    api_key: Option<&str>,
    body: &serde_json::Value,
) -> Result<(reqwest::StatusCode, String), reqwest::Error> {
    let mut request = client.post(url).json(body);
    if let Some(key) = api_key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await?;
    let status = response.status();
    Ok((status, response.text().await?))
}
