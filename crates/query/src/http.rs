//! What the embedding and LLM clients share: one HTTP endpoint with a bounded
//! time per attempt, the bearer key, the retry of transient failures under
//! one [`RetryPolicy`], and typed errors that name the endpoint's URL.

use std::future::Future;
use std::time::Duration;

use lightrag_pg_pool::RetryPolicy;
use serde_json::Value;

use crate::error::QueryError;

/// Which service an [`Endpoint`] is, for its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// `EMBEDDING_*`: the `Embedding*` errors.
    Embedding,
    /// `LLM_*`: the `Llm*` errors.
    Llm,
}

/// One URL called with JSON bodies.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    service: Service,
    pub(crate) url: String,
    api_key: Option<String>,
    pub(crate) timeout: Duration,
    pub(crate) retry: RetryPolicy,
    client: reqwest::Client,
}

impl Endpoint {
    /// `url` with `timeout` per attempt (the whole request; for streamed
    /// replies, between two reads).
    pub(crate) fn new(
        service: Service,
        url: String,
        api_key: Option<String>,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Self, QueryError> {
        let client = build_client(service, timeout)?;
        Ok(Self { service, url, api_key, timeout, retry, client })
    }

    /// The same with another time limit.
    pub(crate) fn with_timeout(mut self, timeout: Duration) -> Result<Self, QueryError> {
        self.client = build_client(self.service, timeout)?;
        self.timeout = timeout;
        Ok(self)
    }

    /// Runs `op` until it succeeds, fails for good, or the policy's attempts
    /// are spent; transient failures ([`QueryError::is_retryable`]) wait the
    /// policy's jittered back-off between attempts.
    pub(crate) async fn retrying<T, F, Fut>(&self, op: F) -> Result<T, QueryError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, QueryError>>,
    {
        let mut attempt = 1;
        loop {
            match op().await {
                Err(e) if e.is_retryable() && attempt < self.retry.attempts => {
                    let wait = self.retry.delay(attempt);
                    tracing::warn!(url = %self.url, attempt, error = %e, wait_ms = wait.as_millis() as u64, "request failed; retrying");
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// One POST of `body`; an error status is an error. `whole`: the time
    /// limit covers the whole reply (else only each read, for streams).
    pub(crate) async fn post(&self, body: &Value, whole: bool) -> Result<reqwest::Response, QueryError> {
        let mut request = self.client.post(&self.url).json(body);
        if whole {
            request = request.timeout(self.timeout);
        }
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        let body: String = text.chars().take(300).collect();
        let (url, status) = (self.url.clone(), status.as_u16());
        Err(match self.service {
            Service::Embedding => QueryError::EmbeddingStatus { url, status, body },
            Service::Llm => QueryError::LlmStatus { url, status, body },
        })
    }

    /// One POST of `body`, its whole reply as JSON.
    pub(crate) async fn post_json(&self, body: &Value) -> Result<Value, QueryError> {
        let response = self.post(body, true).await?;
        let text = response.text().await.map_err(|e| self.transport(e))?;
        serde_json::from_str(&text).map_err(|e| self.bad(format!("not JSON: {e}")))
    }

    /// A reply that is not what the binding sends.
    pub(crate) fn bad(&self, message: String) -> QueryError {
        let url = self.url.clone();
        match self.service {
            Service::Embedding => QueryError::EmbeddingResponse { url, message },
            Service::Llm => QueryError::LlmResponse { url, message },
        }
    }

    /// A failure below HTTP: time-out, refused or broken connection.
    pub(crate) fn transport(&self, e: reqwest::Error) -> QueryError {
        let url = self.url.clone();
        match (self.service, e.is_timeout()) {
            (Service::Embedding, true) => QueryError::EmbeddingTimeout { url, after: self.timeout },
            (Service::Llm, true) => QueryError::LlmTimeout { url, after: self.timeout },
            (Service::Embedding, false) => {
                QueryError::EmbeddingUnreachable { url, message: e.to_string(), source: Some(Box::new(e)) }
            }
            (Service::Llm, false) => {
                QueryError::LlmUnreachable { url, message: e.to_string(), source: Some(Box::new(e)) }
            }
        }
    }
}

fn build_client(service: Service, timeout: Duration) -> Result<reqwest::Client, QueryError> {
    let key = match service {
        Service::Embedding => "EMBEDDING_BINDING_HOST",
        Service::Llm => "LLM_BINDING_HOST",
    };
    reqwest::Client::builder()
        .read_timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|e| QueryError::Config { key: key.into(), message: format!("HTTP client: {e}") })
}

/// Parses a positive number of seconds (`EMBEDDING_TIMEOUT`, `LLM_TIMEOUT`).
pub(crate) fn seconds(key: &str, value: &str) -> Result<Duration, QueryError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| QueryError::Config { key: key.into(), message: format!("invalid number of seconds '{value}'") })
}

/// `with_timeout`, `with_retry` and `url` of a client whose `endpoint` field
/// is an [`Endpoint`].
macro_rules! endpoint_builders {
    () => {
        /// The same with another time limit per attempt.
        ///
        /// # Errors
        /// [`QueryError::Config`] when the HTTP client cannot be built.
        pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, QueryError> {
            self.endpoint = self.endpoint.with_timeout(timeout)?;
            Ok(self)
        }

        /// The same with another retry policy.
        pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
            self.endpoint.retry = retry;
            self
        }

        /// The URL requests go to.
        pub fn url(&self) -> &str {
            &self.endpoint.url
        }
    };
}
pub(crate) use endpoint_builders;
