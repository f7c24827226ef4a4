//! `lightrag-pg serve` over HTTP against a real PostgreSQL: a workspace
//! migrated from the 64-d `lightrag-1.5.7-format-sample` (table graph), the
//! question embedded by a local OpenAI-compatible endpoint, and LightRAG
//! server's status codes and bodies for every kind of bad request.

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use common::{DIM, Running};
use lightrag_pg_pool::PgConfig;
use lightrag_pg_test_support::llm::user_prompt;
use lightrag_pg_test_support::{LlmEndpoint, embedding_endpoint, rerank_endpoint, test_database};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// One workspace for every test of this binary, loaded once per run
/// (migration upserts, so a rerun finds the same data).
const WS: &str = "serve_http_sample";

/// Loads the sample dataset into [`WS`] once (on a runtime of its own).
fn migrated(config: &PgConfig) {
    static DONE: OnceLock<()> = OnceLock::new();
    let config = config.clone();
    DONE.get_or_init(move || {
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(common::migrate(config, WS));
        })
        .join()
        .expect("migration thread");
    });
}

/// Starts a server on the sample workspace with `extra` settings over the
/// defaults, and an embedding endpoint answering after `delay`.
async fn start(extra: &[(&str, &str)], delay: Duration) -> Running {
    let config = test_database().await.config();
    migrated(&config);
    let mut pairs = common::settings(&config, WS, embedding_endpoint(DIM, delay));
    pairs.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    common::serve(pairs).await
}

async fn json_of(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    (status, r.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn query_data_answers_with_what_aquery_data_returns() {
    let s = start(&[], Duration::ZERO).await;
    let r = s.post("/query/data").json(&json!({"query": "What is studied here?", "mode": "naive", "chunk_top_k": 3}));
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["status", "message", "data", "metadata"]);
    assert_eq!(body["data"]["chunks"].as_array().map(Vec::len), Some(3));
    assert_eq!(body["metadata"]["query_mode"], "naive");
}

#[tokio::test]
async fn query_data_with_keywords_finds_entities_in_mix_mode() {
    let s = start(&[], Duration::ZERO).await;
    let r = s.post("/query/data").json(&json!({
        "query": "What is studied here?", "mode": "mix", "hl_keywords": ["research"], "ll_keywords": ["study"], "top_k": 5
    }));
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success");
    assert!(!body["data"]["entities"].as_array().unwrap().is_empty(), "{body}");
    assert_eq!(body["metadata"]["keywords"]["high_level"], json!(["research"]));
}

#[tokio::test]
async fn query_data_without_keywords_names_the_python_server() {
    let s = start(&[], Duration::ZERO).await;
    let r = s.post("/query/data").json(&json!({"query": "What is studied here?", "mode": "local"}));
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("lightrag-server"), "{body}");
}

#[tokio::test]
async fn a_validation_error_on_query_data_is_lightrags_400_failure_body() {
    let s = start(&[], Duration::ZERO).await;
    let (status, body) = json_of(s.post("/query/data").json(&json!({"mode": "mix"})).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"status": "failure", "message": "Validation error: body -> query: Field required", "data": {}, "metadata": {}})
    );
}

#[tokio::test]
async fn an_empty_query_is_fastapis_422() {
    let s = start(&[], Duration::ZERO).await;
    let (status, body) = json_of(s.post("/query").json(&json!({"query": "   "})).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        json!({"detail": [{"type": "value_error", "loc": ["body", "query"], "msg": "Value error, Query must not be empty.",
                           "input": "   ", "ctx": {"error": {}}}]})
    );
}

#[tokio::test]
async fn an_oversized_query_is_string_too_long() {
    let s = start(&[], Duration::ZERO).await;
    let long = "x".repeat(64 * 1024 + 1);
    let (status, body) = json_of(s.post("/query").json(&json!({"query": long})).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "string_too_long");
    assert_eq!(body["detail"][0]["ctx"], json!({"max_length": 65536}));
}

#[tokio::test]
async fn an_unknown_mode_is_a_literal_error() {
    let s = start(&[], Duration::ZERO).await;
    let r = s.post("/query").json(&json!({"query": "What is studied?", "mode": "sideways"}));
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["loc"], json!(["body", "mode"]));
    assert_eq!(body["detail"][0]["type"], "literal_error");
}

#[tokio::test]
async fn wrong_types_are_reported_field_by_field() {
    let s = start(&[], Duration::ZERO).await;
    let r = s.post("/query").json(&json!({"query": "What is studied?", "top_k": "many", "ll_keywords": "one"}));
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let kinds: Vec<&str> = body["detail"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["int_parsing", "list_type"]);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_json_invalid() {
    let s = start(&[], Duration::ZERO).await;
    let r = s.post("/query").header("content-type", "application/json").body("{\"query\": ");
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "json_invalid");
    assert_eq!(body["detail"][0]["msg"], "JSON decode error");
}

#[tokio::test]
async fn a_missing_api_key_is_403_api_key_required() {
    let s = start(&[("LIGHTRAG_API_KEY", "sesame")], Duration::ZERO).await;
    let (status, body) = json_of(s.get("/graph/label/list").send().await.unwrap()).await;
    assert_eq!((status, body), (StatusCode::FORBIDDEN, json!({"detail": "API Key required"})));
}

#[tokio::test]
async fn a_wrong_api_key_is_403_invalid_api_key() {
    let s = start(&[("LIGHTRAG_API_KEY", "sesame")], Duration::ZERO).await;
    let (status, body) = json_of(s.get("/graph/label/list").header("X-API-Key", "nope").send().await.unwrap()).await;
    assert_eq!((status, body), (StatusCode::FORBIDDEN, json!({"detail": "Invalid API Key"})));
}

#[tokio::test]
async fn the_right_api_key_opens_the_routes() {
    let s = start(&[("LIGHTRAG_API_KEY", "sesame")], Duration::ZERO).await;
    let (status, body) = json_of(s.get("/graph/label/list").header("X-API-Key", "sesame").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn health_answers_without_the_key_and_shows_configuration_only_with_it() {
    let s = start(&[("LIGHTRAG_API_KEY", "sesame")], Duration::ZERO).await;
    let (status, open) = json_of(s.get("/health").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(open["status"], "healthy");
    assert!(open.get("configuration").is_none(), "{open}");
    let (_, keyed) = json_of(s.get("/health").header("X-API-Key", "sesame").send().await.unwrap()).await;
    assert_eq!(keyed["configuration"]["workspace"], WS);
    assert_eq!(keyed["configuration"]["graph_storage"], "PGTableGraphStorage");
}

#[tokio::test]
async fn health_reports_the_rerank_model_when_rerank_binding_names_one() {
    let s = start(&[], Duration::ZERO).await;
    let (_, body) = json_of(s.get("/health").send().await.unwrap()).await;
    assert_eq!(body["configuration"]["enable_rerank"], false);
    assert_eq!(body["configuration"]["rerank_binding"], "null");
    let model = rerank_endpoint();
    let host = format!("{}/v1/rerank", model.url);
    let s = start(
        &[("RERANK_BINDING", "jina"), ("RERANK_BINDING_HOST", &host), ("MIN_RERANK_SCORE", "0.1")],
        Duration::ZERO,
    )
    .await;
    let (_, body) = json_of(s.get("/health").send().await.unwrap()).await;
    let c = &body["configuration"];
    assert_eq!((c["enable_rerank"].clone(), c["rerank_binding"].clone()), (json!(true), json!("jina")));
    assert_eq!((c["rerank_binding_host"].as_str(), c["min_rerank_score"].as_f64()), (Some(host.as_str()), Some(0.1)));
}

#[tokio::test]
async fn query_data_reranks_unless_the_request_says_enable_rerank_false() {
    let model = rerank_endpoint();
    let host = format!("{}/v2/rerank", model.url);
    let s = start(&[("RERANK_BINDING", "cohere"), ("RERANK_BINDING_HOST", &host)], Duration::ZERO).await;
    let ask = |rerank: bool| {
        s.post("/query/data").json(
            &json!({"query": "What is studied here?", "mode": "naive", "chunk_top_k": 3, "enable_rerank": rerank}),
        )
    };
    let ids = |body: &Value| -> Vec<String> {
        body["data"]["chunks"].as_array().unwrap().iter().map(|c| c["chunk_id"].as_str().unwrap().to_owned()).collect()
    };
    let (_, plain) = json_of(ask(false).send().await.unwrap()).await;
    assert!(model.requests().is_empty());
    let (status, reranked) = json_of(ask(true).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{reranked}");
    assert_eq!(model.requests().len(), 1);
    // The stand-in reverses the order.
    let mut reversed = ids(&plain);
    reversed.reverse();
    assert!(reversed.len() > 1);
    assert_eq!(ids(&reranked), reversed);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let s = start(&[("MAX_REQUEST_BODY_BYTES", "1000")], Duration::ZERO).await;
    let r = s.post("/query/data").json(&json!({"query": "x".repeat(2000)}));
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body, json!({"detail": "Request body too large. This endpoint accepts at most 1000 bytes."}));
}

#[tokio::test]
async fn query_with_only_need_context_answers_the_context() {
    let s = start(&[], Duration::ZERO).await;
    let r =
        s.post("/query").json(&json!({"query": "What is studied here?", "mode": "naive", "only_need_context": true}));
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["response", "references", "response_time", "llm_generated"]);
    assert!(body["response"].as_str().unwrap().contains("Document Chunks"), "{body}");
    assert_eq!(body["llm_generated"], false);
    assert!(!body["references"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn query_references_are_lightrags_reference_items() {
    // Python's QueryResponse renders each reference through its pydantic
    // ReferenceItem: exactly reference_id, file_path and content (null
    // unless include_chunk_content filled it).
    let s = start(&[], Duration::ZERO).await;
    let r =
        s.post("/query").json(&json!({"query": "What is studied here?", "mode": "naive", "only_need_context": true}));
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = &body["references"][0];
    let keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["reference_id", "file_path", "content"]);
    assert_eq!(first["content"], Value::Null);
}

#[tokio::test]
async fn query_stream_with_only_need_context_is_one_ndjson_line() {
    let s = start(&[], Duration::ZERO).await;
    let r = s
        .post("/query/stream")
        .json(&json!({"query": "What is studied here?", "mode": "naive", "only_need_context": true}));
    let r = r.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let text = r.text().await.unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), 1, "{text}");
    let keys: Vec<&str> = lines[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["response", "llm_generated", "references"]);
    assert!(lines[0]["response"].as_str().unwrap().contains("Document Chunks"));
}

#[tokio::test]
async fn query_for_an_llm_answer_without_an_llm_names_the_python_server() {
    let s = start(&[], Duration::ZERO).await;
    let (status, body) =
        json_of(s.post("/query").json(&json!({"query": "What is studied here?"})).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert!(body["detail"].as_str().unwrap().contains("lightrag-server"), "{body}");
}

/// A server whose LLM is `llm` (OpenAI-compatible), the answer cache off.
async fn with_llm(llm: &LlmEndpoint) -> Running {
    start(&[("LLM_BINDING", "openai"), ("LLM_BINDING_HOST", &llm.url), ("ENABLE_LLM_CACHE", "false")], Duration::ZERO)
        .await
}

fn answering() -> LlmEndpoint {
    LlmEndpoint::replying(|r| format!("The answer to: {}", user_prompt(r)))
}

#[tokio::test]
async fn query_answers_with_the_llm_under_the_naive_prompt() {
    let llm = answering();
    let s = with_llm(&llm).await;
    let r =
        s.post("/query").json(&json!({"query": "What is studied here?", "mode": "naive", "user_prompt": "Be short."}));
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["response"], "The answer to: What is studied here?");
    assert_eq!(body["llm_generated"], true);
    assert!(!body["references"].as_array().unwrap().is_empty(), "{body}");
    let system = llm.requests()[0]["messages"][0]["content"].as_str().unwrap().to_owned();
    assert!(system.contains("6. Additional Instructions: \n\nBe short.") && system.contains("Document Chunks"));
}

#[tokio::test]
async fn query_with_only_need_prompt_returns_the_prompt_without_asking() {
    let llm = answering();
    let s = with_llm(&llm).await;
    let r =
        s.post("/query").json(&json!({"query": "What is studied here?", "mode": "naive", "only_need_prompt": true}));
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["response"].as_str().unwrap().ends_with("---User Query---\n\nWhat is studied here?"), "{body}");
    assert_eq!((body["llm_generated"].clone(), llm.calls()), (json!(false), 0));
}

#[tokio::test]
async fn query_stream_sends_the_references_then_the_answer_in_pieces() {
    let llm = answering();
    let s = with_llm(&llm).await;
    let r = s.post("/query/stream").json(&json!({"query": "What is studied here?", "mode": "naive"}));
    let text = r.send().await.unwrap().text().await.unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert!(lines[0]["references"].is_array() && lines.len() > 2, "{text}");
    let answer: String = lines[1..].iter().map(|l| l["response"].as_str().expect("a response piece")).collect();
    assert_eq!(answer, "The answer to: What is studied here?");
    assert_eq!(llm.requests()[0]["stream"], true);
}

#[tokio::test]
async fn query_stream_with_include_progress_sends_lightrags_events_first_and_the_time_last() {
    let llm = answering();
    let s = with_llm(&llm).await;
    let r = s.post("/query/stream").json(&json!({"query": "What is studied here?", "mode": "naive",
        "include_progress": true, "include_references": false}));
    let text = r.send().await.unwrap().text().await.unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines[..2], [json!({"progress": "retrieving_chunks"}), json!({"progress": "reranking"})], "{text}");
    assert!(lines[2]["response"].is_string(), "{text}");
    assert!(lines.last().unwrap()["response_time"].as_f64().is_some_and(|t| t >= 0.0), "{text}");
}

#[tokio::test]
async fn query_stream_with_stream_false_is_one_complete_line() {
    let llm = answering();
    let s = with_llm(&llm).await;
    // pydantic's lax bool: "false" is false.
    let body =
        json!({"query": "What is studied here?", "mode": "naive", "stream": "false", "include_references": false});
    let text = s.post("/query/stream").json(&body).send().await.unwrap().text().await.unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines, [json!({"response": "The answer to: What is studied here?", "llm_generated": true})], "{text}");
}

#[tokio::test]
async fn query_data_whose_keyword_extraction_fails_is_lightrags_500() {
    let llm = LlmEndpoint::start(std::sync::Arc::new(|_| String::new()), Duration::ZERO, Some(400));
    let s = with_llm(&llm).await;
    let r = s.post("/query/data").json(&json!({"query": "What is studied here?", "mode": "local"}));
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(body["detail"].as_str().unwrap().starts_with("Internal server error (error_id: "), "{body}");
}

#[tokio::test]
async fn bypass_asks_the_llm_the_bare_question_even_for_the_context() {
    let llm = answering();
    let s = with_llm(&llm).await;
    let r = s.post("/query").json(&json!({"query": "Hi?", "mode": "bypass", "only_need_context": true}));
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["response"].clone(), body["references"].clone()), (json!("The answer to: Hi?"), json!([])));
    assert_eq!(llm.requests()[0]["messages"], json!([{"role": "user", "content": "Hi?"}]));
}

#[tokio::test]
async fn a_failing_llm_is_lightrags_no_context_answer() {
    let llm = LlmEndpoint::start(std::sync::Arc::new(|_| String::new()), Duration::ZERO, Some(400));
    let s = with_llm(&llm).await;
    let r = s.post("/query").json(&json!({"query": "What is studied here?", "mode": "naive"}));
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["response"].clone(), body["references"].clone(), body["llm_generated"].clone()),
        (json!("No relevant context found for the query."), json!([]), json!(false))
    );
}

#[tokio::test]
async fn write_endpoints_name_the_python_server() {
    let s = start(&[], Duration::ZERO).await;
    let (status, body) = json_of(s.post("/documents/text").json(&json!({"text": "x"})).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert!(body["detail"].as_str().unwrap().starts_with("POST /documents/text is served by the LightRAG server"));
}

#[tokio::test]
async fn graphs_returns_the_knowledge_graph_of_a_label() {
    let s = start(&[], Duration::ZERO).await;
    let (_, labels) = json_of(s.get("/graph/label/popular?limit=1").send().await.unwrap()).await;
    let top = labels[0].as_str().expect("a popular label").to_owned();
    let r = s.get("/graphs").query(&[("label", top.as_str()), ("max_depth", "1"), ("max_nodes", "5")]);
    let (status, kg) = json_of(r.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{kg}");
    let nodes = kg["nodes"].as_array().unwrap();
    assert!(nodes.iter().any(|n| n["id"] == top.as_str()) && nodes.len() <= 5, "{kg}");
    assert!(kg.get("is_truncated").is_some(), "{kg}");
}

#[tokio::test]
async fn entity_exists_answers_for_known_and_unknown_names() {
    let s = start(&[], Duration::ZERO).await;
    let (_, labels) = json_of(s.get("/graph/label/list").send().await.unwrap()).await;
    let known = labels[0].as_str().unwrap().to_owned();
    let (_, yes) =
        json_of(s.get("/graph/entity/exists").query(&[("name", known.as_str())]).send().await.unwrap()).await;
    let (_, no) = json_of(s.get("/graph/entity/exists?name=no-such-entity-here").send().await.unwrap()).await;
    assert_eq!((yes, no), (json!({"exists": true}), json!({"exists": false})));
}

#[tokio::test]
async fn label_search_without_q_is_fastapis_missing_query_parameter() {
    let s = start(&[], Duration::ZERO).await;
    let (status, body) = json_of(s.get("/graph/label/search").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["loc"], json!(["query", "q"]));
    assert_eq!(body["detail"][0]["type"], "missing");
}

#[tokio::test]
async fn a_popular_label_limit_over_1000_is_less_than_equal() {
    let s = start(&[], Duration::ZERO).await;
    let (status, body) = json_of(s.get("/graph/label/popular?limit=1001").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["detail"][0]["type"], "less_than_equal");
}

#[tokio::test]
async fn requests_past_the_in_flight_bound_are_refused_with_503() {
    let s = start(&[("LIGHTRAG_PG_SERVE_MAX_IN_FLIGHT", "1")], Duration::from_millis(1500)).await;
    let slow = s.post("/query/data").json(&json!({"query": "What is studied here?", "mode": "naive"})).send();
    let slow = tokio::spawn(slow);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refused = s.get("/graph/label/list").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(slow.await.unwrap().unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_over_the_timeout_is_504() {
    let s = start(&[("LIGHTRAG_PG_SERVE_TIMEOUT", "0.3")], Duration::from_millis(2000)).await;
    let r = s.post("/query/data").json(&json!({"query": "What is studied here?", "mode": "naive"}));
    let (status, body) = json_of(r.send().await.unwrap()).await;
    assert_eq!((status, body), (StatusCode::GATEWAY_TIMEOUT, json!({"detail": "Request timed out after 0.3 s"})));
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight() {
    let mut s = start(&[], Duration::from_millis(1000)).await;
    let slow =
        tokio::spawn(s.post("/query/data").json(&json!({"query": "What is studied here?", "mode": "naive"})).send());
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.stop.take().unwrap().send(()).unwrap();
    let answered = slow.await.unwrap().unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    tokio::time::timeout(Duration::from_secs(5), &mut s.done).await.expect("stopped").unwrap().unwrap();
    assert!(s.get("/health").send().await.is_err(), "still accepting after shutdown");
}

#[tokio::test]
async fn cors_preflight_allows_a_configured_origin() {
    let s = start(&[("CORS_ORIGINS", "https://ui.example")], Duration::ZERO).await;
    let r = s
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/query/data", s.url))
        .header("Origin", "https://ui.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "https://ui.example");
    assert_eq!(r.headers()["access-control-allow-credentials"], "true");
}

#[tokio::test]
async fn an_unknown_path_is_fastapis_404() {
    let s = start(&[], Duration::ZERO).await;
    let (status, body) = json_of(s.get("/no/such/route").send().await.unwrap()).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"detail": "Not Found"})));
}

#[tokio::test]
async fn a_wrong_method_is_fastapis_405() {
    let s = start(&[], Duration::ZERO).await;
    let (status, body) = json_of(s.get("/query/data").send().await.unwrap()).await;
    assert_eq!((status, body), (StatusCode::METHOD_NOT_ALLOWED, json!({"detail": "Method Not Allowed"})));
}

#[tokio::test]
async fn graphs_never_returns_more_than_max_graph_nodes() {
    let s = start(&[("MAX_GRAPH_NODES", "2")], Duration::ZERO).await;
    let (status, kg) = json_of(s.get("/graphs?label=*&max_nodes=50").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{kg}");
    assert_eq!(kg["nodes"].as_array().map(Vec::len), Some(2), "{kg}");
    assert_eq!(kg["is_truncated"], true);
}
