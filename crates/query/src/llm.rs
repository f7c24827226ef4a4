//! The LLM that extracts keywords and writes answers: the [`ChatModel`] trait
//! and [`HttpChatModel`], LightRAG's two most used bindings over HTTP — the
//! OpenAI-compatible `POST {LLM_BINDING_HOST}/chat/completions` (streamed as
//! server-sent events, `data:` lines) and Ollama's `POST
//! {LLM_BINDING_HOST}/api/chat` (streamed as NDJSON).
//!
//! A request is what LightRAG's bindings send for `(prompt, system_prompt,
//! history_messages)`: the messages `[system?, *history, user]`, the model,
//! `stream` when the caller decides it, `response_format: {"type":
//! "json_object"}` (Ollama: `format: "json"`) for keyword extraction, and a
//! temperature only when `OPENAI_LLM_TEMPERATURE` / `OLLAMA_LLM_TEMPERATURE`
//! is set (LightRAG sends none otherwise).
//!
//! Every attempt is bounded by `LLM_TIMEOUT` (LightRAG's 240 s: the whole
//! reply, or, for a streamed one, each read) and transient failures
//! (unreachable, time-out, 429, 5xx, an empty reply) are retried under one
//! [`RetryPolicy`] through the same helper the embedder uses. A streamed
//! request is retried until its reply starts; a stream broken later ends with
//! its error.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use lightrag_pg_pool::{RetryPolicy, Sources};
use serde_json::{Map, Value, json};

use crate::error::QueryError;

/// LightRAG's `DEFAULT_LLM_TIMEOUT`, in seconds.
pub const DEFAULT_LLM_TIMEOUT_SECS: u64 = 240;

/// LightRAG server's default `LLM_MODEL`.
pub const DEFAULT_LLM_MODEL: &str = "mistral-nemo:latest";

/// The retries of an LLM request: 3 attempts (LightRAG's), waits from 1 s
/// doubling up to 8 s.
pub const LLM_RETRY: RetryPolicy =
    RetryPolicy { attempts: 3, backoff: Duration::from_secs(1), backoff_max: Duration::from_secs(8) };

/// A streamed reply: its text pieces, in order; an error ends it.
pub type ChatStream = BoxStream<'static, Result<String, QueryError>>;

/// One call of the LLM, as LightRAG's `llm_model_func(prompt, system_prompt=…,
/// history_messages=…, …)`.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ChatRequest {
    /// The user message.
    pub prompt: String,
    /// The system message, first when given.
    pub system_prompt: Option<String>,
    /// The conversation so far (`{"role", "content"}` objects), between the
    /// system and the user message.
    pub history: Vec<Value>,
    /// Ask for a JSON object (`response_format={"type": "json_object"}`).
    pub json: bool,
    /// LightRAG's `stream=` argument: `None` sends no `stream` field.
    pub stream: Option<bool>,
}

impl ChatRequest {
    /// A request of `prompt` alone.
    pub fn new(prompt: impl Into<String>) -> Self {
        Self { prompt: prompt.into(), ..Self::default() }
    }

    /// The same with a system prompt.
    pub fn with_system(mut self, system: impl Into<String>) -> Self {
        self.system_prompt = Some(system.into());
        self
    }

    /// The same with the conversation so far.
    pub fn with_history(mut self, history: Vec<Value>) -> Self {
        self.history = history;
        self
    }

    /// The same asking for a JSON object.
    pub fn json_object(mut self) -> Self {
        self.json = true;
        self
    }

    /// The same with LightRAG's `stream=` argument.
    pub fn with_stream(mut self, stream: bool) -> Self {
        self.stream = Some(stream);
        self
    }

    /// The messages LightRAG sends: `[system?, *history, user]`.
    pub fn messages(&self) -> Vec<Value> {
        let mut messages = Vec::with_capacity(self.history.len() + 2);
        if let Some(system) = self.system_prompt.as_deref().filter(|s| !s.is_empty()) {
            messages.push(json!({"role": "system", "content": system}));
        }
        messages.extend(self.history.iter().cloned());
        messages.push(json!({"role": "user", "content": self.prompt}));
        messages
    }
}

/// A whole reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChatReply {
    /// The text.
    pub text: String,
    /// Cut at the output token limit (`finish_reason` / `done_reason`
    /// `length`): LightRAG's `TruncatedResponse`, which is never cached.
    pub truncated: bool,
}

impl ChatReply {
    /// A reply of `text`, whole or `truncated`.
    pub fn new(text: impl Into<String>, truncated: bool) -> Self {
        Self { text: text.into(), truncated }
    }
}

/// A chat LLM.
#[async_trait]
pub trait ChatModel: std::fmt::Debug + Send + Sync {
    /// The whole reply.
    ///
    /// # Errors
    /// The `Llm*` variants of [`QueryError`].
    async fn complete(&self, request: &ChatRequest) -> Result<ChatReply, QueryError>;

    /// The reply as it is written.
    ///
    /// # Errors
    /// The `Llm*` variants of [`QueryError`] when the reply does not start;
    /// a failure after that ends the stream with its error.
    async fn stream(&self, request: &ChatRequest) -> Result<ChatStream, QueryError>;
}

/// Which wire protocol an [`HttpChatModel`] speaks (`LLM_BINDING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LlmBinding {
    /// `openai` (and every OpenAI-compatible server): `POST {host}/chat/completions`.
    OpenAi,
    /// `ollama`: `POST {host}/api/chat`.
    Ollama,
}

impl LlmBinding {
    /// LightRAG's name of the binding.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Ollama => "ollama",
        }
    }

    /// LightRAG server's default host of the binding.
    pub fn default_host(self) -> &'static str {
        match self {
            Self::OpenAi => "https://api.openai.com/v1",
            Self::Ollama => "http://localhost:11434",
        }
    }
}

/// The LLM's URL, key, time limit and retries, and the clients that call it.
#[derive(Clone)]
struct Endpoint {
    url: String,
    api_key: Option<String>,
    timeout: Duration,
    retry: RetryPolicy,
    /// Whole replies: `timeout` bounds the request.
    client: reqwest::Client,
    /// Streamed replies: `timeout` bounds each read.
    stream_client: reqwest::Client,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key is a secret: only whether one is set.
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    fn new(url: String, api_key: Option<String>, timeout: Duration) -> Result<Self, QueryError> {
        Ok(Self {
            url,
            api_key,
            timeout,
            retry: LLM_RETRY,
            client: crate::http::client(timeout, "LLM_BINDING_HOST")?,
            stream_client: crate::http::stream_client(timeout, "LLM_BINDING_HOST")?,
        })
    }

    fn with_timeout(self, timeout: Duration) -> Result<Self, QueryError> {
        Ok(Self { retry: self.retry, ..Self::new(self.url, self.api_key, timeout)? })
    }

    async fn retrying<T, F, Fut>(&self, call: F) -> Result<T, QueryError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, QueryError>>,
    {
        crate::http::retrying(&self.retry, &self.url, "LLM request", call).await
    }

    fn status(&self, status: reqwest::StatusCode, text: &str) -> QueryError {
        QueryError::LlmStatus { url: self.url.clone(), status: status.as_u16(), body: text.chars().take(300).collect() }
    }

    /// One POST of `body`, its whole reply as JSON.
    async fn post_json(&self, body: &Value) -> Result<Value, QueryError> {
        let (status, text) = crate::http::post_json(&self.client, &self.url, self.api_key.as_deref(), body)
            .await
            .map_err(|e| self.transport(e))?;
        if !status.is_success() {
            return Err(self.status(status, &text));
        }
        serde_json::from_str(&text).map_err(|e| self.bad(format!("not JSON: {e}")))
    }

    /// One POST of `body` whose reply is read as it comes.
    async fn post_stream(&self, body: &Value) -> Result<reqwest::Response, QueryError> {
        let mut request = self.stream_client.post(&self.url).json(body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        Err(self.status(status, &text))
    }

    /// A reply that is not what the binding sends.
    fn bad(&self, message: String) -> QueryError {
        QueryError::LlmResponse { url: self.url.clone(), message }
    }

    /// A failure below HTTP: time-out, refused or broken connection.
    fn transport(&self, e: reqwest::Error) -> QueryError {
        if e.is_timeout() {
            QueryError::LlmTimeout { url: self.url.clone(), after: self.timeout }
        } else {
            QueryError::LlmUnreachable { url: self.url.clone(), message: e.to_string(), source: Some(Box::new(e)) }
        }
    }
}

/// A chat LLM over HTTP.
#[derive(Debug, Clone)]
pub struct HttpChatModel {
    binding: LlmBinding,
    endpoint: Endpoint,
    model: String,
    temperature: Option<f64>,
}

impl HttpChatModel {
    /// A model `model` of `binding` at `host` (the binding's base URL, e.g.
    /// `http://127.0.0.1:8000/v1` for OpenAI-compatible servers).
    ///
    /// # Errors
    /// [`QueryError::Config`] when the HTTP client cannot be built.
    pub fn new(binding: LlmBinding, host: &str, model: &str, api_key: Option<String>) -> Result<Self, QueryError> {
        let host = host.trim_end_matches('/');
        let url = match binding {
            LlmBinding::OpenAi => format!("{host}/chat/completions"),
            LlmBinding::Ollama => format!("{host}/api/chat"),
        };
        let timeout = Duration::from_secs(DEFAULT_LLM_TIMEOUT_SECS);
        let endpoint = Endpoint::new(url, api_key, timeout)?;
        Ok(Self { binding, endpoint, model: model.to_owned(), temperature: None })
    }

    /// Reads LightRAG server's variables: `LLM_BINDING` (`openai` or
    /// `ollama`), `LLM_BINDING_HOST` (the binding's default host),
    /// `LLM_MODEL` (`mistral-nemo:latest`), `LLM_BINDING_API_KEY`,
    /// `LLM_TIMEOUT` (240 s) and the binding's temperature
    /// (`OPENAI_LLM_TEMPERATURE` / `OLLAMA_LLM_TEMPERATURE`, unset: none
    /// sent). `None` when `LLM_BINDING` is not set: no LLM is configured.
    ///
    /// # Errors
    /// [`QueryError::Config`] naming a malformed variable or an unsupported
    /// binding.
    pub fn from_sources(sources: &Sources) -> Result<Option<Self>, QueryError> {
        let config = |key: &str, message: String| QueryError::Config { key: key.into(), message };
        let binding = match sources.value("LLM_BINDING").map(|v| v.trim().to_ascii_lowercase()) {
            None => return Ok(None),
            Some(v) if v == "openai" => LlmBinding::OpenAi,
            Some(v) if v == "ollama" => LlmBinding::Ollama,
            Some(v) => {
                return Err(config(
                    "LLM_BINDING",
                    format!(
                        "'{v}' is not supported here (openai, for every OpenAI-compatible server, or ollama); \
                         send queries needing this binding to the LightRAG server"
                    ),
                ));
            }
        };
        let host = sources.value("LLM_BINDING_HOST").unwrap_or_else(|| binding.default_host().to_owned());
        url::Url::parse(host.trim()).map_err(|e| config("LLM_BINDING_HOST", format!("'{host}' is not a URL: {e}")))?;
        let model = sources.value("LLM_MODEL").unwrap_or_else(|| DEFAULT_LLM_MODEL.to_owned());
        let mut m = Self::new(binding, host.trim(), model.trim(), sources.value("LLM_BINDING_API_KEY"))?;
        if let Some(t) = sources.value("LLM_TIMEOUT") {
            m = m.with_timeout(crate::http::seconds("LLM_TIMEOUT", &t)?)?;
        }
        let key = match binding {
            LlmBinding::OpenAi => "OPENAI_LLM_TEMPERATURE",
            LlmBinding::Ollama => "OLLAMA_LLM_TEMPERATURE",
        };
        if let Some(t) = sources.value(key) {
            let t = t
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite())
                .ok_or_else(|| config(key, format!("invalid number '{t}'")))?;
            m.temperature = Some(t);
        }
        Ok(Some(m))
    }

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

    /// The same with a temperature.
    pub fn with_temperature(mut self, temperature: Option<f64>) -> Self {
        self.temperature = temperature;
        self
    }

    /// The binding.
    pub fn binding(&self) -> LlmBinding {
        self.binding
    }

    /// The model.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The request body of `request`; `stream` overrides its `stream`.
    fn body(&self, request: &ChatRequest, stream: Option<bool>) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(self.model));
        body.insert("messages".into(), Value::Array(request.messages()));
        match self.binding {
            LlmBinding::OpenAi => {
                if let Some(s) = stream {
                    body.insert("stream".into(), json!(s));
                }
                if request.json {
                    body.insert("response_format".into(), json!({"type": "json_object"}));
                }
                if let Some(t) = self.temperature {
                    body.insert("temperature".into(), json!(t));
                }
            }
            LlmBinding::Ollama => {
                body.insert("stream".into(), json!(stream.unwrap_or(false)));
                if request.json {
                    body.insert("format".into(), json!("json"));
                }
                if let Some(t) = self.temperature {
                    body.insert("options".into(), json!({"temperature": t}));
                }
            }
        }
        Value::Object(body)
    }

    /// One whole reply.
    fn reply_text(&self, value: &Value) -> Result<ChatReply, QueryError> {
        let (text, reason) = match self.binding {
            LlmBinding::OpenAi => {
                (value.pointer("/choices/0/message/content"), value.pointer("/choices/0/finish_reason"))
            }
            LlmBinding::Ollama => (value.pointer("/message/content"), value.get("done_reason")),
        };
        let truncated = reason.and_then(Value::as_str) == Some("length");
        match text.and_then(Value::as_str) {
            Some(t) if !t.trim().is_empty() => Ok(ChatReply::new(self.decoded(t), truncated)),
            _ => Err(self.endpoint.bad(match value.get("error") {
                Some(e) => format!("error {e}"),
                None => "no message content".into(),
            })),
        }
    }

    /// LightRAG's OpenAI binding decodes literal `\uXXXX` escapes in content.
    fn decoded(&self, text: &str) -> String {
        if self.binding == LlmBinding::OpenAi && text.contains("\\u") {
            decode_unicode_escapes(text)
        } else {
            text.to_owned()
        }
    }

    /// One piece of a streamed reply: `Ok(None)` for a line without text,
    /// `Err` for an error line; `done` when the reply is over.
    fn piece(&self, line: &str) -> Result<(Option<String>, bool), QueryError> {
        let line = line.trim();
        let payload = match self.binding {
            LlmBinding::OpenAi => match line.strip_prefix("data:") {
                Some(p) => p.trim(),
                None => return Ok((None, false)),
            },
            LlmBinding::Ollama => line,
        };
        if payload.is_empty() {
            return Ok((None, false));
        }
        if payload == "[DONE]" {
            return Ok((None, true));
        }
        let value: Value = serde_json::from_str(payload)
            .map_err(|e| self.endpoint.bad(format!("a streamed line is not JSON: {e}")))?;
        if let Some(e) = value.get("error") {
            return Err(self.endpoint.bad(format!("error {e}")));
        }
        let (text, done) = match self.binding {
            LlmBinding::OpenAi => (value.pointer("/choices/0/delta/content"), false),
            LlmBinding::Ollama => {
                (value.pointer("/message/content"), value.get("done").and_then(Value::as_bool).unwrap_or(false))
            }
        };
        let text = text.and_then(Value::as_str).filter(|t| !t.is_empty()).map(|t| self.decoded(t));
        Ok((text, done))
    }
}

#[async_trait]
impl ChatModel for HttpChatModel {
    #[tracing::instrument(level = "debug", skip_all, fields(url = %self.endpoint.url, model = %self.model))]
    async fn complete(&self, request: &ChatRequest) -> Result<ChatReply, QueryError> {
        let body = self.body(request, request.stream.map(|_| false));
        self.endpoint
            .retrying(|| async {
                let value = self.endpoint.post_json(&body).await?;
                self.reply_text(&value)
            })
            .await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(url = %self.endpoint.url, model = %self.model))]
    async fn stream(&self, request: &ChatRequest) -> Result<ChatStream, QueryError> {
        let body = self.body(request, Some(true));
        let response = self.endpoint.retrying(|| self.endpoint.post_stream(&body)).await?;
        let this = self.clone();
        let state = (response, Vec::<u8>::new(), VecDeque::<String>::new(), false);
        Ok(stream::unfold(state, move |(mut response, mut buffer, mut ready, mut over)| {
            let this = this.clone();
            async move {
                loop {
                    if let Some(piece) = ready.pop_front() {
                        return Some((Ok(piece), (response, buffer, ready, over)));
                    }
                    if over {
                        return None;
                    }
                    match response.chunk().await {
                        Err(e) => {
                            over = true;
                            return Some((Err(this.endpoint.transport(e)), (response, buffer, ready, over)));
                        }
                        Ok(None) => {
                            over = true;
                            let rest = String::from_utf8_lossy(&std::mem::take(&mut buffer)).into_owned();
                            match this.piece(&rest) {
                                Ok((Some(text), _)) => ready.push_back(text),
                                Ok((None, _)) => {}
                                Err(e) => return Some((Err(e), (response, buffer, ready, over))),
                            }
                        }
                        Ok(Some(bytes)) => {
                            buffer.extend_from_slice(&bytes);
                            while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
                                let line: Vec<u8> = buffer.drain(..=end).collect();
                                match this.piece(&String::from_utf8_lossy(&line)) {
                                    Ok((text, done)) => {
                                        ready.extend(text);
                                        if done {
                                            over = true;
                                            buffer.clear();
                                            break;
                                        }
                                    }
                                    Err(e) => {
                                        over = true;
                                        return Some((Err(e), (response, buffer, ready, over)));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        })
        .boxed())
    }
}

/// LightRAG's `safe_unicode_decode`: every literal `\uXXXX` becomes its
/// character.
fn decode_unicode_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("\\u") {
        out.push_str(&rest[..i]);
        let hex = rest.get(i + 2..i + 6).filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()));
        match hex.and_then(|h| u32::from_str_radix(h, 16).ok()).and_then(char::from_u32) {
            Some(c) => {
                out.push(c);
                rest = &rest[i + 6..];
            }
            None => {
                out.push_str("\\u");
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(pairs: &[(&str, &str)]) -> Result<Option<HttpChatModel>, QueryError> {
        HttpChatModel::from_sources(&Sources::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn the_api_key_never_shows_in_debug_output() {
        let m = model(&[("LLM_BINDING", "openai"), ("LLM_BINDING_API_KEY", "sk-secret")]).unwrap().unwrap();
        let shown = format!("{m:?}");
        assert!(!shown.contains("sk-secret") && shown.contains("<set>"), "{shown}");
    }

    #[test]
    fn no_llm_binding_is_no_llm() {
        assert!(model(&[("LLM_MODEL", "m")]).unwrap().is_none());
    }

    #[test]
    fn bindings_default_to_lightrags_hosts_paths_and_model() {
        let m = model(&[("LLM_BINDING", "openai")]).unwrap().unwrap();
        assert_eq!((m.url(), m.model()), ("https://api.openai.com/v1/chat/completions", "mistral-nemo:latest"));
        let m = model(&[("LLM_BINDING", "ollama"), ("LLM_BINDING_HOST", "http://h:1/")]).unwrap().unwrap();
        assert_eq!(m.url(), "http://h:1/api/chat");
    }

    #[test]
    fn unsupported_bindings_and_bad_values_name_their_variable() {
        let e = model(&[("LLM_BINDING", "bedrock")]).unwrap_err();
        assert!(e.to_string().starts_with("LLM_BINDING: 'bedrock' is not supported"), "{e}");
        let e = model(&[("LLM_BINDING", "openai"), ("LLM_TIMEOUT", "soon")]).unwrap_err();
        assert!(e.to_string().starts_with("LLM_TIMEOUT"), "{e}");
        let e = model(&[("LLM_BINDING", "openai"), ("OPENAI_LLM_TEMPERATURE", "warm")]).unwrap_err();
        assert!(e.to_string().starts_with("OPENAI_LLM_TEMPERATURE"), "{e}");
    }

    #[test]
    fn openai_bodies_are_lightrags() {
        let m = model(&[("LLM_BINDING", "openai"), ("LLM_MODEL", "gpt"), ("OPENAI_LLM_TEMPERATURE", "0")])
            .unwrap()
            .unwrap();
        let history = vec![json!({"role": "user", "content": "before"})];
        let r = ChatRequest::new("q").with_system("sys").with_history(history).with_stream(false);
        assert_eq!(
            m.body(&r, r.stream),
            json!({"model": "gpt", "messages": [
                {"role": "system", "content": "sys"}, {"role": "user", "content": "before"},
                {"role": "user", "content": "q"}], "stream": false, "temperature": 0.0})
        );
        let k = ChatRequest::new("kw").json_object();
        assert_eq!(
            m.body(&k, k.stream),
            json!({"model": "gpt", "messages": [{"role": "user", "content": "kw"}],
                "response_format": {"type": "json_object"}, "temperature": 0.0})
        );
    }

    #[test]
    fn ollama_bodies_are_lightrags() {
        let m = model(&[("LLM_BINDING", "ollama"), ("LLM_MODEL", "qwen")]).unwrap().unwrap();
        let k = ChatRequest::new("kw").json_object();
        assert_eq!(
            m.body(&k, Some(true)),
            json!({"model": "qwen", "messages": [{"role": "user", "content": "kw"}], "stream": true, "format": "json"})
        );
    }

    #[test]
    fn streamed_lines_parse_per_binding() {
        let o = model(&[("LLM_BINDING", "openai")]).unwrap().unwrap();
        assert_eq!(
            o.piece("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}").unwrap(),
            (Some("Hi".into()), false)
        );
        assert_eq!(o.piece("data: [DONE]").unwrap(), (None, true));
        assert_eq!(o.piece(": keep-alive").unwrap(), (None, false));
        let l = model(&[("LLM_BINDING", "ollama")]).unwrap().unwrap();
        assert_eq!(l.piece("{\"message\":{\"content\":\"x\"},\"done\":true}").unwrap(), (Some("x".into()), true));
        assert!(l.piece("{\"error\":\"model not found\"}").unwrap_err().to_string().contains("model not found"));
    }

    #[test]
    fn a_reply_cut_at_the_token_limit_is_truncated() {
        let o = model(&[("LLM_BINDING", "openai")]).unwrap().unwrap();
        let cut = json!({"choices": [{"message": {"content": "par"}, "finish_reason": "length"}]});
        assert_eq!(o.reply_text(&cut).unwrap(), ChatReply::new("par", true));
        let whole = json!({"choices": [{"message": {"content": "all"}, "finish_reason": "stop"}]});
        assert_eq!(o.reply_text(&whole).unwrap(), ChatReply::new("all", false));
        let l = model(&[("LLM_BINDING", "ollama")]).unwrap().unwrap();
        let cut = json!({"message": {"content": "par"}, "done": true, "done_reason": "length"});
        assert!(l.reply_text(&cut).unwrap().truncated);
    }

    #[test]
    fn unicode_escapes_are_decoded_as_lightrag_does() {
        assert_eq!(decode_unicode_escapes("caf\\u00e9 \\uZZ"), "café \\uZZ");
    }
}
