//! `HttpChatModel` against a local stand-in of both bindings: what it sends,
//! whole and streamed replies, and its errors (down, slow, bad status), each
//! naming the endpoint.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lightrag_pg_pool::{RetryPolicy, Sources};
use lightrag_pg_query::{ChatModel, ChatRequest, HttpChatModel, QueryError};
use lightrag_pg_test_support::LlmEndpoint;
use lightrag_pg_test_support::llm::user_prompt;
use serde_json::json;

const QUICK: RetryPolicy =
    RetryPolicy { attempts: 3, backoff: Duration::from_millis(10), backoff_max: Duration::from_millis(20) };

fn model(binding: &str, host: &str) -> HttpChatModel {
    let sources =
        Sources::from_pairs([("LLM_BINDING", binding), ("LLM_BINDING_HOST", host), ("LLM_MODEL", "stand-in")]);
    HttpChatModel::from_sources(&sources).unwrap().unwrap().with_retry(QUICK)
}

fn echo() -> LlmEndpoint {
    LlmEndpoint::replying(|r| format!("You said: {}", user_prompt(r)))
}

async fn streamed(m: &HttpChatModel, request: &ChatRequest) -> String {
    let pieces: Vec<String> = m.stream(request).await.unwrap().map(Result::unwrap).collect().await;
    assert!(pieces.len() > 1, "the reply came in pieces: {pieces:?}");
    pieces.concat()
}

#[tokio::test]
async fn openai_completion_sends_system_history_and_user_messages() {
    let llm = echo();
    let m = model("openai", &llm.url);
    let history = vec![json!({"role": "assistant", "content": "earlier"})];
    let request = ChatRequest::new("Who is Scrooge?").with_system("be brief").with_history(history).with_stream(false);
    assert_eq!(m.complete(&request).await.unwrap().text, "You said: Who is Scrooge?");
    let sent = &llm.requests()[0];
    assert_eq!(sent["model"], "stand-in");
    assert_eq!(sent["stream"], false);
    assert_eq!(
        sent["messages"],
        json!([{"role": "system", "content": "be brief"}, {"role": "assistant", "content": "earlier"},
            {"role": "user", "content": "Who is Scrooge?"}])
    );
}

#[tokio::test]
async fn openai_streams_server_sent_events_in_order() {
    let llm = echo();
    let m = model("openai", &llm.url);
    assert_eq!(streamed(&m, &ChatRequest::new("Marley's ghost")).await, "You said: Marley's ghost");
    assert_eq!(llm.requests()[0]["stream"], true);
}

#[tokio::test]
async fn ollama_completes_and_streams_ndjson() {
    let llm = echo();
    let m = model("ollama", &llm.ollama_host());
    assert_eq!(m.complete(&ChatRequest::new("keywords").json_object()).await.unwrap().text, "You said: keywords");
    assert_eq!(llm.requests()[0]["format"], "json");
    assert_eq!(streamed(&m, &ChatRequest::new("Tiny Tim")).await, "You said: Tiny Tim");
}

#[tokio::test]
async fn a_server_error_is_retried_then_reported_with_the_url() {
    let llm = LlmEndpoint::start(Arc::new(|_| String::new()), Duration::ZERO, Some(503));
    let m = model("openai", &llm.url);
    let e = m.complete(&ChatRequest::new("q")).await.unwrap_err();
    assert!(matches!(e, QueryError::LlmStatus { status: 503, .. }), "{e:?}");
    assert!(e.to_string().contains(&format!("{}/chat/completions", llm.url)), "{e}");
    assert_eq!(llm.calls(), 3, "three attempts");
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let llm = LlmEndpoint::start(Arc::new(|_| String::new()), Duration::ZERO, Some(401));
    let e = model("openai", &llm.url).complete(&ChatRequest::new("q")).await.unwrap_err();
    assert!(matches!(e, QueryError::LlmStatus { status: 401, .. }) && !e.is_retryable(), "{e:?}");
    assert_eq!(llm.calls(), 1);
}

#[tokio::test]
async fn an_empty_reply_is_unusable() {
    let llm = LlmEndpoint::replying(|_| String::new());
    let e = model("openai", &llm.url).complete(&ChatRequest::new("q")).await.unwrap_err();
    assert!(matches!(e, QueryError::LlmResponse { .. }), "{e:?}");
    assert!(e.to_string().contains("no message content"), "{e}");
}

#[tokio::test]
async fn a_slow_endpoint_times_out_naming_it() {
    let llm = LlmEndpoint::start(Arc::new(|_| "late".into()), Duration::from_secs(3), None);
    let m = model("openai", &llm.url)
        .with_timeout(Duration::from_millis(200))
        .unwrap()
        .with_retry(RetryPolicy { attempts: 1, ..QUICK });
    let e = m.complete(&ChatRequest::new("q")).await.unwrap_err();
    assert!(matches!(e, QueryError::LlmTimeout { .. }), "{e:?}");
    assert!(e.to_string().contains(&llm.url), "{e}");
}

#[tokio::test]
async fn a_down_endpoint_is_unreachable_naming_it() {
    let port = lightrag_pg_test_support::server::free_port();
    let m = model("ollama", &format!("http://127.0.0.1:{port}"));
    let e = m.stream(&ChatRequest::new("q")).await.err().unwrap();
    assert!(matches!(e, QueryError::LlmUnreachable { .. }), "{e:?}");
    assert!(e.to_string().contains(&format!("http://127.0.0.1:{port}/api/chat")), "{e}");
}
