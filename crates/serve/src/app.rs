//! [`Server`]: the router, its layers (tracing, CORS, admission with a bound
//! on requests in flight and a per-request timeout, the body limit, the API
//! key) and the handlers.
//!
//! Where reads go ([`lightrag_pg_pool::routing`]): with `POSTGRES_READ_HOSTS`,
//! retrieval and the graph routes read a standby while one is fit (within
//! `POSTGRES_READ_MAX_LAG`), else the primary. The keyword cache is read on the
//! primary. Read-your-writes: a request that writes (a keyword extraction or
//! an answer cached in `lightrag_llm_cache`, on the primary) reads what
//! follows through
//! [`lightrag_pg_pool::Pools::after_write`], pinned to the primary, never from
//! a standby that may not have replayed the write. Instances hold no state
//! between requests, so several can run behind one load balancer
//! (`docs/scale-out.md`).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get, post};
use futures::StreamExt;
use lightrag_pg_core::GraphStorage;
use lightrag_pg_pool::{LightRagSettings, Replay, Route, Sources};
use lightrag_pg_query::{AnswerOptions, AnswerText, ChatStream, Mode, QueryParam, RetrievalSettings, Retriever};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, Any, CorsLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};

use crate::config::ServeConfig;
use crate::error::{ApiError, ServeError};
use crate::request::QueryRequest;

/// LightRAG's `PROMPTS["fail_response"]`, the answer when nothing was found.
pub const FAIL_RESPONSE: &str = lightrag_pg_query::prompts::FAIL_RESPONSE;

/// What LightRAG's server answers when the answer is empty — nothing found,
/// or the LLM failed (`aquery_llm` catches the failure).
pub const NO_CONTEXT: &str = "No relevant context found for the query.";

/// The version reported by `/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the handlers share.
#[derive(Debug)]
struct AppState {
    config: ServeConfig,
    retriever: Retriever,
    graph: Arc<dyn GraphStorage>,
    /// The same graph over the read pool (never initialised there: no DDL on
    /// a standby), when read hosts are configured.
    graph_standby: Option<Arc<dyn GraphStorage>>,
    defaults: QueryParam,
    /// `/health`'s `configuration` for authenticated callers.
    configuration: Value,
    in_flight: Arc<Semaphore>,
}

/// The query server over one workspace.
#[derive(Debug, Clone)]
pub struct Server {
    state: Arc<AppState>,
}

impl Server {
    /// Builds the server from its parts.
    pub fn new(
        config: ServeConfig,
        retriever: Retriever,
        graph: Arc<dyn GraphStorage>,
        defaults: QueryParam,
        configuration: Value,
    ) -> Self {
        let in_flight = Arc::new(Semaphore::new(config.max_in_flight));
        let graph_standby = retriever.pools().read_pool().and_then(|pool| {
            lightrag_pg_graph::PgGraphStorage::new(pool.clone(), retriever.workspace().clone(), retriever.engine())
                .map(lightrag_pg_graph::PgGraphStorage::into_dyn)
                .inspect_err(|e| tracing::warn!(error = %e, "graph reads stay on the primary"))
                .ok()
        });
        Self {
            state: Arc::new(AppState { config, retriever, graph, graph_standby, defaults, configuration, in_flight }),
        }
    }

    /// Opens everything from LightRAG server's configuration: the server's
    /// own variables ([`ServeConfig`]), `POSTGRES_*`, `WORKSPACE`,
    /// `LIGHTRAG_GRAPH_STORAGE`, the `EMBEDDING_*` binding and the query
    /// defaults (`TOP_K` and the rest). One pool serves retrieval and the
    /// graph endpoints, and with `POSTGRES_READ_HOSTS` a read pool beside it.
    ///
    /// # Errors
    /// [`ServeError::Config`] naming a bad setting; connection and storage
    /// errors; [`lightrag_pg_query::QueryError::NotFound`] for a workspace
    /// without a knowledge base.
    pub async fn from_sources(sources: &Sources) -> Result<Self, ServeError> {
        let mut config = ServeConfig::from_sources(sources)?;
        let lightrag = LightRagSettings::from_sources(sources)?;
        let settings = RetrievalSettings::from_sources(sources)?;
        let defaults = QueryParam::from_sources(sources)?;
        if let Some(n) = lightrag.max_graph_nodes {
            config.max_graph_nodes = n;
        }
        let retriever = Retriever::from_sources(sources).await?;
        let rerank = lightrag_pg_query::HttpReranker::from_sources(sources)?;
        let ws = retriever.workspace().clone();
        let graph = lightrag_pg_graph::open_graph(retriever.pool().clone(), ws.clone(), retriever.engine()).await?;
        let configuration = json!({
            "llm_binding": sources.value("LLM_BINDING"),
            "llm_binding_host": sources.value("LLM_BINDING_HOST"),
            "llm_model": sources.value("LLM_MODEL"),
            "embedding_binding": sources.value("EMBEDDING_BINDING").unwrap_or_else(|| "ollama".into()),
            "embedding_binding_host": sources.value("EMBEDDING_BINDING_HOST"),
            "embedding_model": sources.value("EMBEDDING_MODEL"),
            "kv_storage": lightrag.selectors[0],
            "vector_storage": lightrag.selectors[1],
            "graph_storage": lightrag.selectors[2],
            "doc_status_storage": lightrag.selectors[3],
            "workspace": ws.as_str(),
            "max_graph_nodes": config.max_graph_nodes,
            "enable_rerank": rerank.is_some(),
            "rerank_binding": rerank.as_ref().map_or("null", |r| r.binding().as_str()),
            "rerank_model": rerank.as_ref().map(|r| r.model()),
            "rerank_binding_host": rerank.as_ref().map(|r| r.url()),
            "rerank_timeout": rerank.as_ref().map_or(lightrag_pg_query::rerank::DEFAULT_RERANK_TIMEOUT_SECS, |r| r.timeout().as_secs()),
            "min_rerank_score": settings.min_rerank_score,
            "cosine_threshold": settings.cosine_threshold,
            "related_chunk_number": settings.related_chunk_number,
        });
        Ok(Self::new(config, retriever, graph, defaults, configuration))
    }

    /// The settings.
    pub fn config(&self) -> &ServeConfig {
        &self.state.config
    }

    /// The router with every layer.
    pub fn router(&self) -> Router {
        let s = &self.state;
        let routes = Router::new()
            .route("/query/data", post(query_data))
            .route("/query", post(query))
            .route("/query/stream", post(query_stream))
            .route("/graphs", get(graphs))
            .route("/graph/label/list", get(label_list))
            .route("/graph/label/popular", get(label_popular))
            .route("/graph/label/search", get(label_search))
            .route("/graph/entity/exists", get(entity_exists))
            .route("/health", get(health))
            .merge(write_routes())
            .route_layer(middleware::from_fn_with_state(self.state.clone(), authenticate))
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .with_state(self.state.clone());
        routes
            .layer(middleware::from_fn_with_state(self.state.clone(), body_limit))
            .layer(middleware::from_fn_with_state(self.state.clone(), admission))
            .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
                ApiError::internal(&"a handler panicked").into_response()
            }))
            .layer(cors(&s.config))
            .layer(TraceLayer::new_for_http().on_failure(DefaultOnFailure::new().level(tracing::Level::WARN)))
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting
    /// and finishes the requests in flight.
    ///
    /// # Errors
    /// [`ServeError::Io`] when serving fails.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let addr = listener.local_addr().map_err(|source| ServeError::Io { what: "local address".into(), source })?;
        tracing::info!(%addr, workspace = %self.state.retriever.workspace(), "lightrag-pg serve listening");
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|source| ServeError::Io { what: format!("serving on {addr}"), source })
    }

    /// Binds `HOST`:`PORT` and serves until SIGTERM or Ctrl-C.
    ///
    /// # Errors
    /// [`ServeError::Io`] when the address cannot be bound or serving fails.
    pub async fn bind_and_run(self) -> Result<(), ServeError> {
        let addr = format!("{}:{}", self.state.config.host, self.state.config.port);
        let listener = TcpListener::bind(&addr)
            .await
            .map_err(|source| ServeError::Io { what: format!("binding {addr}"), source })?;
        self.run(listener, shutdown_signal()).await
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}

fn cors(config: &ServeConfig) -> CorsLayer {
    let layer = CorsLayer::new().expose_headers([HeaderName::from_static("x-new-token")]);
    match &config.cors_origins {
        None => layer.allow_origin(Any).allow_methods(Any).allow_headers(Any),
        Some(list) => {
            let origins: Vec<HeaderValue> = list.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
            // An explicit list is credentialed in LightRAG (never with "*"),
            // and credentials exclude the wildcards: mirror what is asked.
            let credentials = !origins.is_empty();
            layer
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods(AllowMethods::mirror_request())
                .allow_headers(AllowHeaders::mirror_request())
                .allow_credentials(credentials)
        }
    }
}

/// A bounded number of requests in flight (503 past it, never queued) and a
/// per-request timeout (504).
async fn admission(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Ok(permit) = s.in_flight.clone().try_acquire_owned() else {
        return ApiError::http(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Server busy: {} requests in flight; retry later", s.config.max_in_flight),
        )
        .into_response();
    };
    let out = tokio::time::timeout(s.config.request_timeout, next.run(req)).await;
    drop(permit);
    match out {
        Ok(r) => r,
        Err(_) => ApiError::http(
            StatusCode::GATEWAY_TIMEOUT,
            format!("Request timed out after {} s", s.config.request_timeout.as_secs_f64()),
        )
        .into_response(),
    }
}

fn too_large(limit: usize) -> Response {
    ApiError::http(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("Request body too large. This endpoint accepts at most {limit} bytes."),
    )
    .into_response()
}

/// `MAX_REQUEST_BODY_BYTES`: a declared length over it is refused before
/// the body is read; [`JsonBody`] stops reading at it.
async fn body_limit(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let limit = s.config.max_body_bytes;
    if limit > 0 {
        let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return too_large(limit);
        }
    }
    next.run(req).await
}

/// `LIGHTRAG_API_KEY` in `X-API-Key`, as LightRAG's combined dependency
/// answers without login accounts: 403 "API Key required" without it, 403
/// "Invalid API Key" with a wrong one; `WHITELIST_PATHS` pass.
async fn authenticate(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(key) = s.config.api_key.as_deref() else { return next.run(req).await };
    if s.config.is_whitelisted(req.uri().path()) {
        return next.run(req).await;
    }
    match req.headers().get("x-api-key").map(HeaderValue::as_bytes) {
        Some(given) if !given.is_empty() && given == key.as_bytes() => next.run(req).await,
        Some(given) if !given.is_empty() => ApiError::http(StatusCode::FORBIDDEN, "Invalid API Key").into_response(),
        _ => ApiError::http(StatusCode::FORBIDDEN, "API Key required").into_response(),
    }
}

fn is_authenticated(s: &AppState, headers: &axum::http::HeaderMap) -> bool {
    match s.config.api_key.as_deref() {
        None => true,
        Some(key) => headers.get("x-api-key").is_some_and(|v| v.as_bytes() == key.as_bytes()),
    }
}

/// A JSON body read within the limit; a body that is not JSON is FastAPI's
/// `json_invalid`.
struct JsonBody(Value);

impl FromRequest<Arc<AppState>> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, s: &Arc<AppState>) -> Result<Self, ApiError> {
        let data_shape = req.uri().path().ends_with("/query/data");
        let limit = if s.config.max_body_bytes == 0 { usize::MAX } else { s.config.max_body_bytes };
        let bytes = match axum::body::to_bytes(req.into_body(), limit).await {
            Ok(b) => b,
            Err(_) => {
                return Err(ApiError::http(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("Request body too large. This endpoint accepts at most {limit} bytes."),
                ));
            }
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v) => Ok(Self(v)),
            Err(e) => {
                // FastAPI reports the character position Python's json module
                // stopped at; serde's column on the line is the nearest.
                let position = if e.line() <= 1 { e.column().saturating_sub(1) } else { e.column() };
                Err(ApiError::Validation {
                    errors: vec![json!({
                        "type": "json_invalid",
                        "loc": ["body", position],
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": e.to_string()},
                    })],
                    data_shape,
                })
            }
        }
    }
}

fn parse_query(s: &AppState, body: &Value, data_shape: bool) -> Result<QueryRequest, ApiError> {
    QueryRequest::parse(body, &s.defaults).map_err(|errors| ApiError::Validation { errors, data_shape })
}

/// `POST /query/data`: `aquery_data`'s dictionary.
async fn query_data(State(s): State<Arc<AppState>>, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    let req = parse_query(&s, &body, true)?;
    let found = s.retriever.retrieve(&req.query, &req.param).await.map_err(ApiError::from_query)?;
    Ok(axum::Json(found.data).into_response())
}

/// The answer text of `/query` and `/query/stream`.
enum ReplyText {
    /// A whole response and whether an LLM wrote it.
    Whole(String, bool),
    /// The LLM's answer as it is written.
    Stream(ChatStream),
}

/// What `/query` and `/query/stream` answer: the text, the references, when
/// the request started.
struct Reply {
    text: ReplyText,
    references: Option<Vec<Value>>,
    /// LightRAG's `QueryProgress` events (none known when the LLM failed).
    progress: Vec<&'static str>,
    start: Instant,
}

/// The seconds since `start`, rounded as LightRAG rounds them.
fn seconds_since(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
}

/// LightRAG's `aquery_llm` behind `/query` and `/query/stream`: the context
/// (`only_need_context`), the prompt (`only_need_prompt`) or the LLM's
/// answer, whole or (`stream`) as it is written. An LLM failure is Python's
/// placeholder answer, as `aquery_llm` catches it.
async fn reply(s: &AppState, body: &Value, stream_route: bool) -> Result<(QueryRequest, Reply), ApiError> {
    let req = parse_query(s, body, false)?;
    let start = Instant::now();
    // `/query/stream` streams unless the request says `stream: false`.
    let streaming = stream_route && req.stream != Some(false);
    // LightRAG's bypass asks the LLM whatever the request says.
    let context_only = req.only_need_context && !req.only_need_prompt && req.mode != Mode::Bypass;
    let (text, found) = if context_only {
        let found = s.retriever.retrieve(&req.query, &req.param).await.map_err(ApiError::from_query)?;
        let context = if found.context.is_empty() { FAIL_RESPONSE } else { found.context.as_str() };
        (ReplyText::Whole(context.to_owned(), false), Some(found))
    } else {
        let history = req.conversation_history.clone().unwrap_or_default();
        let options = AnswerOptions::new(history, req.only_need_prompt, streaming);
        match s.retriever.answer(&req.query, &req.param, &options).await {
            Ok(answer) => {
                let text = match answer.text {
                    AnswerText::Stream(pieces) => ReplyText::Stream(pieces),
                    AnswerText::Whole { text, llm_generated } => ReplyText::Whole(text, llm_generated),
                    _ => ReplyText::Whole(String::new(), false),
                };
                (text, Some(answer.retrieval))
            }
            Err(e) if e.is_llm_failure() => {
                tracing::error!(error = %e, "query failed");
                (ReplyText::Whole(String::new(), false), None)
            }
            Err(e) => return Err(ApiError::from_query(e)),
        }
    };
    let text = match text {
        ReplyText::Whole(t, _) if t.is_empty() => ReplyText::Whole(NO_CONTEXT.to_owned(), false),
        t => t,
    };
    let references = found.as_ref().map(|f| f.references().to_vec()).unwrap_or_default();
    let references = if req.include_references && req.include_chunk_content {
        with_chunk_content(references, found.as_ref().map_or(&[], |f| f.chunks()))
    } else {
        references
    };
    let references = req.include_references.then_some(references);
    let progress = found.map(|f| f.progress).unwrap_or_default();
    Ok((req, Reply { text, references, progress, start }))
}

/// `POST /query`: LightRAG's `QueryResponse` (`response`, `references`,
/// `response_time`, `llm_generated`); `stream` is ignored.
async fn query(State(s): State<Arc<AppState>>, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    let (_, a) = reply(&s, &body, false).await?;
    let elapsed = seconds_since(a.start);
    let (response, llm_generated) = match a.text {
        ReplyText::Whole(text, generated) => (text, generated),
        ReplyText::Stream(pieces) => {
            let pieces: Vec<Result<String, _>> = pieces.collect().await;
            (pieces.into_iter().collect::<Result<String, _>>().map_err(|e| ApiError::internal(&e))?, true)
        }
    };
    let mut out = Map::new();
    out.insert("response".into(), json!(response));
    let references = a.references.clone().map(|r| r.into_iter().map(reference_item).collect::<Vec<_>>());
    out.insert("references".into(), references.map_or(Value::Null, Value::from));
    out.insert("response_time".into(), json!(elapsed));
    out.insert("llm_generated".into(), json!(llm_generated));
    Ok(axum::Json(Value::Object(out)).into_response())
}

/// A reference as `/query` answers it: LightRAG's pydantic `ReferenceItem`,
/// which has exactly `reference_id`, `file_path` and `content` (`null` unless
/// `include_chunk_content` filled it).
fn reference_item(r: Value) -> Value {
    let field = |k: &str| r.get(k).cloned().unwrap_or(Value::Null);
    json!({"reference_id": field("reference_id"), "file_path": field("file_path"), "content": field("content")})
}

/// One NDJSON line as Python's `json.dumps` writes it.
fn ndjson(v: &Value) -> String {
    format!("{}\n", lightrag_pg_core::pyjson::dumps(v, true))
}

/// `POST /query/stream`: LightRAG's NDJSON. A streamed answer is a
/// `{"references"}` line (with `include_references`), then `{"response":
/// piece}` lines, a failure ending it as an `{"error"}` line; a whole one
/// (`stream: false`, the context, the prompt, a cached answer) is one line
/// `{"response", "llm_generated", "references"}`. With `include_progress`,
/// LightRAG's `{"progress": event}` lines first (all at once here, when the
/// answer starts) and a last `{"response_time"}` line.
async fn query_stream(State(s): State<Arc<AppState>>, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    let (req, a) = reply(&s, &body, true).await?;
    let head = [
        (header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson")),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no")),
    ];
    let timing = req.include_progress;
    let Reply { text, references, progress, start } = a;
    let progress: Vec<String> =
        if timing { progress.into_iter().map(|p| ndjson(&json!({ "progress": p }))).collect() } else { Vec::new() };
    let lines: futures::stream::BoxStream<'static, String> = match text {
        ReplyText::Whole(response, llm_generated) => {
            let mut line = Map::new();
            line.insert("response".into(), json!(response));
            line.insert("llm_generated".into(), json!(llm_generated));
            if let Some(r) = references {
                line.insert("references".into(), Value::from(r));
            }
            futures::stream::iter([ndjson(&Value::Object(line))]).boxed()
        }
        ReplyText::Stream(pieces) => {
            let first = references.map(|r| ndjson(&json!({ "references": r })));
            let body = pieces.scan(false, |failed, piece| {
                let line = match piece {
                    _ if *failed => None,
                    Ok(p) if p.is_empty() => Some(String::new()),
                    Ok(p) => Some(ndjson(&json!({ "response": p }))),
                    Err(e) => {
                        tracing::error!(error = %e, "streaming error");
                        *failed = true;
                        Some(ndjson(&json!({ "error": e.to_string() })))
                    }
                };
                std::future::ready(line)
            });
            futures::stream::iter(first).chain(body).boxed()
        }
    };
    let last = futures::stream::once(async move {
        if timing { ndjson(&json!({ "response_time": seconds_since(start) })) } else { String::new() }
    });
    let body = futures::stream::iter(progress)
        .chain(lines)
        .chain(last)
        .filter(|l| std::future::ready(!l.is_empty()))
        .map(Ok::<_, std::convert::Infallible>);
    Ok((head, axum::body::Body::from_stream(body)).into_response())
}

/// LightRAG's `include_chunk_content`: each reference gains the contents of
/// its chunks.
fn with_chunk_content(references: Vec<Value>, chunks: &[Value]) -> Vec<Value> {
    let mut by_ref: std::collections::HashMap<&str, Vec<Value>> = std::collections::HashMap::new();
    for c in chunks {
        let (Some(id), Some(content)) = (c["reference_id"].as_str(), c["content"].as_str()) else { continue };
        if !id.is_empty() && !content.is_empty() {
            by_ref.entry(id).or_default().push(json!(content));
        }
    }
    references
        .into_iter()
        .map(|mut r| {
            if let Some(list) = r["reference_id"].as_str().and_then(|id| by_ref.get(id)) {
                r["content"] = json!(list);
            }
            r
        })
        .collect()
}

/// FastAPI's 422 for a query parameter.
fn query_error(kind: &str, name: &str, msg: String, input: Value, ctx: Option<Value>) -> ApiError {
    let mut e = json!({ "type": kind, "loc": ["query", name], "msg": msg, "input": input });
    if let Some(ctx) = ctx {
        e["ctx"] = ctx;
    }
    ApiError::Validation { errors: vec![e], data_shape: false }
}

type Params = Query<std::collections::HashMap<String, String>>;

fn required<'a>(p: &'a Params, name: &str) -> Result<&'a str, ApiError> {
    p.get(name)
        .map(String::as_str)
        .ok_or_else(|| query_error("missing", name, "Field required".into(), Value::Null, None))
}

fn int_param(p: &Params, name: &str, default: i64, ge: i64, le: Option<i64>) -> Result<usize, ApiError> {
    let Some(raw) = p.get(name) else { return Ok(usize::try_from(default).unwrap_or(0)) };
    let n = raw.trim().parse::<i64>().map_err(|_| {
        query_error(
            "int_parsing",
            name,
            "Input should be a valid integer, unable to parse string as an integer".into(),
            json!(raw),
            None,
        )
    })?;
    if n < ge {
        return Err(query_error(
            "greater_than_equal",
            name,
            format!("Input should be greater than or equal to {ge}"),
            json!(raw),
            Some(json!({ "ge": ge })),
        ));
    }
    if let Some(le) = le.filter(|le| n > *le) {
        return Err(query_error(
            "less_than_equal",
            name,
            format!("Input should be less than or equal to {le}"),
            json!(raw),
            Some(json!({ "le": le })),
        ));
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

impl AppState {
    /// The graph storage over the pool of `route`.
    fn graph_on(&self, route: Route) -> Arc<dyn GraphStorage> {
        match (route, &self.graph_standby) {
            (Route::Standby, Some(g)) => g.clone(),
            _ => self.graph.clone(),
        }
    }

    /// A graph read on a standby when one is fit, else on the primary
    /// (`Pools::read_with`: a lost standby replays it on the primary at once;
    /// the storage retries everything else itself, on its pool).
    async fn graph_read<T, Fut>(&self, what: &str, op: impl Fn(Arc<dyn GraphStorage>) -> Fut) -> Result<T, ApiError>
    where
        Fut: Future<Output = lightrag_pg_core::Result<T>>,
    {
        self.retriever
            .pools()
            .read_with(what, Replay::Reroutes, |route, _| op(self.graph_on(route)))
            .await
            .map_err(storage_error)
    }
}

fn storage_error(e: lightrag_pg_core::Error) -> ApiError {
    if e.is_retryable() {
        tracing::warn!(error = %e, "database unavailable");
        return ApiError::http(StatusCode::SERVICE_UNAVAILABLE, "Service temporarily unavailable, retry later");
    }
    ApiError::internal(&e)
}

/// `GET /graphs?label&max_depth&max_nodes`.
async fn graphs(State(s): State<Arc<AppState>>, p: Params) -> Result<Response, ApiError> {
    let label = required(&p, "label")?;
    let depth = int_param(&p, "max_depth", 3, 1, None)?;
    let nodes = int_param(&p, "max_nodes", 1000, 1, None)?.min(s.config.max_graph_nodes);
    let kg = s.graph_read("graph read", |g| async move { g.get_knowledge_graph(label, depth, nodes).await }).await?;
    Ok(axum::Json(kg).into_response())
}

/// `GET /graph/label/list`.
async fn label_list(State(s): State<Arc<AppState>>) -> Result<Response, ApiError> {
    Ok(axum::Json(s.graph_read("label list", |g| async move { g.get_all_labels().await }).await?).into_response())
}

/// `GET /graph/label/popular?limit` (300, 1..=1000).
async fn label_popular(State(s): State<Arc<AppState>>, p: Params) -> Result<Response, ApiError> {
    let limit = int_param(&p, "limit", 300, 1, Some(1000))?;
    Ok(axum::Json(s.graph_read("popular labels", |g| async move { g.get_popular_labels(limit).await }).await?)
        .into_response())
}

/// `GET /graph/label/search?q&limit` (50, 1..=100).
async fn label_search(State(s): State<Arc<AppState>>, p: Params) -> Result<Response, ApiError> {
    let q = required(&p, "q")?.to_owned();
    let limit = int_param(&p, "limit", 50, 1, Some(100))?;
    let q = &q;
    Ok(axum::Json(s.graph_read("label search", |g| async move { g.search_labels(q, limit).await }).await?)
        .into_response())
}

/// `GET /graph/entity/exists?name`.
async fn entity_exists(State(s): State<Arc<AppState>>, p: Params) -> Result<Response, ApiError> {
    let name = required(&p, "name")?.to_owned();
    let name = &name;
    let exists = s.graph_read("entity exists", |g| async move { g.has_node(name).await }).await?;
    Ok(axum::Json(json!({ "exists": exists })).into_response())
}

/// `GET /health`: the liveness fields for everyone, the configuration for
/// callers with the key.
async fn health(State(s): State<Arc<AppState>>, headers: axum::http::HeaderMap) -> Response {
    let mut out = json!({
        "status": "healthy",
        "auth_mode": "disabled",
        "core_version": VERSION,
        "api_version": VERSION,
        "webui_available": false,
        "workspace_available": false,
        "api_docs_available": false,
        "webui_title": Value::Null,
        "webui_description": Value::Null,
        "ai_content_notice_enabled": false,
        "pipeline_busy": false,
        "pipeline_active": false,
        "server": "lightrag-pg serve",
    });
    if is_authenticated(&s, &headers) {
        out["configuration"] = s.configuration.clone();
        out["server_mode"] = json!("lightrag-pg");
        out["workers"] = json!(1);
        out["in_flight"] = json!(s.config.max_in_flight - s.in_flight.available_permits());
        out["max_in_flight"] = json!(s.config.max_in_flight);
        // Each read host's role and replay lag at the last check, and where
        // the reads went.
        out["replication"] = serde_json::to_value(s.retriever.pools().replication()).unwrap_or(Value::Null);
    }
    axum::Json(out).into_response()
}

/// The LightRAG server's write and ingestion routes: a clear 501 naming it.
fn write_routes() -> Router<Arc<AppState>> {
    let python: fn() -> MethodRouter<Arc<AppState>> = || any(python_only);
    Router::new()
        .route("/documents", python())
        .route("/documents/{*rest}", python())
        .route("/graph/entity/edit", python())
        .route("/graph/entity/create", python())
        .route("/graph/relation/edit", python())
        .route("/graph/relation/create", python())
        .route("/graph/entities/merge", python())
        .route("/api/{*rest}", python())
        .route("/login", python())
        .route("/auth-status", python())
}

async fn python_only(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::http(
        StatusCode::NOT_IMPLEMENTED,
        format!(
            "{method} {} is served by the LightRAG server (lightrag-server), not by lightrag-pg serve, which \
             answers the query and graph-read routes only; route this path to the LightRAG server",
            uri.path()
        ),
    )
}

async fn not_found() -> ApiError {
    ApiError::http(StatusCode::NOT_FOUND, "Not Found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::http(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}
