//! `lightrag-pg query`: a question answered from a workspace that `migrate`
//! loaded (the 64-d `lightrag-1.5.7-format-sample`), with the question
//! embedded over HTTP by a local OpenAI-compatible endpoint (keywords not
//! given extracted by a local LLM stand-in), and the
//! documented exit codes for bad input (4), a workspace that does not exist
//! (5), an embedding endpoint that is down or slow (3) or answers with the
//! wrong dimension (2).

mod common;

use std::net::TcpListener;
use std::process::Output;
use std::time::Duration;

use lightrag_pg::pool::PgConfig;
use lightrag_pg_core::testkit::unique_workspace;
use lightrag_pg_test_support::{LlmEndpoint, dataset, embedding_endpoint, rerank_endpoint, test_database};
use serde_json::Value;

const DIM: usize = 64;
const MODEL: &str = "cli-query";

/// A URL nothing listens on.
fn closed_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/v1", listener.local_addr().expect("address"));
    drop(listener);
    url
}

/// `lightrag-pg query` in `ws` with the embedding settings of `url`.
fn query(config: &PgConfig, ws: &str, url: &str, args: &[&str]) -> Output {
    query_with(config, ws, url, &[], args)
}

/// The same with more settings.
fn query_with(config: &PgConfig, ws: &str, url: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    common::cli(config, ws)
        .envs(env.iter().copied())
        .env("EMBEDDING_BINDING", "openai")
        .env("EMBEDDING_BINDING_HOST", url)
        .env("EMBEDDING_MODEL", MODEL)
        .env("EMBEDDING_DIM", DIM.to_string())
        .env("EMBEDDING_TIMEOUT", "1")
        .env("LIGHTRAG_GRAPH_STORAGE", "PGTableGraphStorage")
        .env("COSINE_THRESHOLD", "-1")
        .arg("query")
        .args(args)
        .output()
        .expect("run lightrag-pg query")
}

/// A workspace loaded from the sample dataset; dropped by [`drop_workspace`].
fn migrated(config: &PgConfig) -> String {
    let ws = unique_workspace("cliq").as_str().to_owned();
    let from = dataset("lightrag-1.5.7-format-sample");
    let out = common::cli(config, &ws)
        .args(["migrate", "--from"])
        .arg(&from)
        .args(["--graph", "table", "--model-name", MODEL])
        .output()
        .expect("run lightrag-pg migrate");
    assert!(out.status.success(), "migrate: {}", String::from_utf8_lossy(&out.stderr));
    ws
}

fn drop_workspace(config: &PgConfig, ws: &str) {
    let out = common::cli(config, ws).args(["workspace", "drop", ws, "--yes"]).output().expect("drop");
    assert!(out.status.success(), "workspace drop: {}", String::from_utf8_lossy(&out.stderr));
}

fn code_and_stderr(out: &Output) -> (Option<i32>, String) {
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn a_question_is_answered_with_what_aquery_data_returns() {
    let config = test_database().await.config();
    let ws = migrated(&config);
    let url = embedding_endpoint(DIM, Duration::ZERO);
    let out = query(&config, &ws, &url, &["What is studied here?", "--mode", "naive", "--chunk-top-k", "3"]);
    let (code, stderr) = code_and_stderr(&out);
    assert_eq!(code, Some(0), "{stderr}");
    let got: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(got["status"], "success");
    let keys: Vec<&str> = got.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["status", "message", "data", "metadata"]);
    assert_eq!(got["data"]["chunks"].as_array().map(Vec::len), Some(3));
    assert_eq!(got["metadata"]["query_mode"], "naive");
    assert_eq!(got["metadata"]["processing_info"]["total_chunks_found"], 3);
    let context = query(&config, &ws, &url, &["What is studied here?", "--mode", "naive", "--format", "context"]);
    assert!(String::from_utf8_lossy(&context.stdout).contains("Document Chunks"), "{context:?}");
    drop_workspace(&config, &ws);
}

#[tokio::test]
async fn an_empty_question_is_bad_input() {
    let config = test_database().await.config();
    let (code, stderr) = code_and_stderr(&query(&config, "default", &closed_endpoint(), &["  "]));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("Query must not be empty"), "{stderr}");
}

#[tokio::test]
async fn an_unknown_mode_is_bad_input() {
    let config = test_database().await.config();
    let (code, stderr) =
        code_and_stderr(&query(&config, "default", &closed_endpoint(), &["Who is Scrooge?", "--mode", "sideways"]));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("unknown mode 'sideways'"), "{stderr}");
}

#[tokio::test]
async fn a_keyword_mode_without_keywords_says_that_an_llm_would_be_needed() {
    let config = test_database().await.config();
    let ws = migrated(&config);
    let url = embedding_endpoint(DIM, Duration::ZERO);
    let (code, stderr) = code_and_stderr(&query(&config, &ws, &url, &["Who is Scrooge?", "--mode", "local"]));
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("needs keywords") && stderr.contains("LLM"), "{stderr}");
    drop_workspace(&config, &ws);
}

#[tokio::test]
async fn a_keyword_mode_without_keywords_extracts_them_through_the_llm_and_caches_them() {
    let config = test_database().await.config();
    let ws = migrated(&config);
    let url = embedding_endpoint(DIM, Duration::ZERO);
    let llm =
        LlmEndpoint::replying(|_| r#"{"high_level_keywords": ["study"], "low_level_keywords": ["Output"]}"#.into());
    let ask = || {
        let out = common::cli(&config, &ws)
            .env("EMBEDDING_BINDING", "openai")
            .env("EMBEDDING_BINDING_HOST", &url)
            .env("EMBEDDING_MODEL", MODEL)
            .env("EMBEDDING_DIM", DIM.to_string())
            .env("LIGHTRAG_GRAPH_STORAGE", "PGTableGraphStorage")
            .env("COSINE_THRESHOLD", "-1")
            .env("LLM_BINDING", "openai")
            .env("LLM_BINDING_HOST", &llm.url)
            .args(["query", "What is studied here?", "--mode", "local"])
            .output()
            .expect("run lightrag-pg query");
        let (code, stderr) = code_and_stderr(&out);
        assert_eq!(code, Some(0), "{stderr}");
        serde_json::from_slice::<Value>(&out.stdout).expect("JSON")
    };
    let first = ask();
    assert_eq!(first["metadata"]["keywords"], serde_json::json!({"high_level": ["study"], "low_level": ["Output"]}));
    assert_eq!(ask(), first);
    assert_eq!(llm.calls(), 1, "the second run reads the cached extraction");
    drop_workspace(&config, &ws);
}

#[tokio::test]
async fn a_workspace_that_does_not_exist_is_not_found() {
    let config = test_database().await.config();
    let ws = unique_workspace("cliqnone").as_str().to_owned();
    let url = embedding_endpoint(DIM, Duration::ZERO);
    let (code, stderr) = code_and_stderr(&query(&config, &ws, &url, &["Who is Scrooge?", "--mode", "naive"]));
    assert_eq!(code, Some(5), "{stderr}");
    assert!(stderr.contains(&ws), "{stderr}");
}

#[tokio::test]
async fn a_model_whose_vector_tables_do_not_exist_is_not_found_and_nothing_is_created() {
    let config = test_database().await.config();
    let ws = migrated(&config);
    let url = embedding_endpoint(DIM, Duration::ZERO);
    let out = common::cli(&config, &ws)
        .env("EMBEDDING_BINDING", "openai")
        .env("EMBEDDING_BINDING_HOST", &url)
        .env("EMBEDDING_DIM", DIM.to_string())
        .args(["query", "Who is Scrooge?", "--mode", "naive", "--graph", "table", "--model-name", "never-loaded"])
        .output()
        .expect("run lightrag-pg query");
    let (code, stderr) = code_and_stderr(&out);
    assert_eq!(code, Some(5), "{stderr}");
    assert!(stderr.contains("LIGHTRAG_VDB_ENTITY_never_loaded_64d does not exist"), "{stderr}");
    let pool = lightrag_pg_test_support::pool().await;
    let conn = pool.get().await.expect("connection");
    let row = conn.query_one("SELECT to_regclass('lightrag_vdb_entity_never_loaded_64d') IS NULL", &[]).await.unwrap();
    assert!(row.get::<_, bool>(0), "query created a vector table");
    drop_workspace(&config, &ws);
}

#[tokio::test]
async fn an_embedding_endpoint_that_is_down_is_a_connection_error() {
    let config = test_database().await.config();
    let ws = migrated(&config);
    let (code, stderr) =
        code_and_stderr(&query(&config, &ws, &closed_endpoint(), &["Who is Scrooge?", "--mode", "naive"]));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("unreachable"), "{stderr}");
    drop_workspace(&config, &ws);
}

#[tokio::test]
async fn a_slow_embedding_endpoint_times_out_as_a_connection_error() {
    let config = test_database().await.config();
    let ws = migrated(&config);
    let url = embedding_endpoint(DIM, Duration::from_secs(3));
    let (code, stderr) = code_and_stderr(&query(&config, &ws, &url, &["Who is Scrooge?", "--mode", "naive"]));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("timed out") && stderr.contains("embedding endpoint"), "{stderr}");
    drop_workspace(&config, &ws);
}

#[tokio::test]
async fn an_embedding_of_the_wrong_dimension_is_a_configuration_error() {
    let config = test_database().await.config();
    let ws = migrated(&config);
    let url = embedding_endpoint(DIM / 2, Duration::ZERO);
    let (code, stderr) = code_and_stderr(&query(&config, &ws, &url, &["Who is Scrooge?", "--mode", "naive"]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("returned 32-dimensional vectors") && stderr.contains("has 64"), "{stderr}");
    drop_workspace(&config, &ws);
}

fn chunk_ids(out: &Output) -> Vec<String> {
    let got: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    got["data"]["chunks"]
        .as_array()
        .expect("chunks")
        .iter()
        .map(|c| c["chunk_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn rerank_binding_reorders_the_chunks_by_the_rerank_model() {
    let config = test_database().await.config();
    let ws = migrated(&config);
    let url = embedding_endpoint(DIM, Duration::ZERO);
    let args = ["What is studied here?", "--mode", "naive", "--chunk-top-k", "3"];
    let plain = query(&config, &ws, &url, &args);
    assert_eq!(code_and_stderr(&plain).0, Some(0), "{}", code_and_stderr(&plain).1);
    let model = rerank_endpoint();
    let host = format!("{}/v2/rerank", model.url);
    let rerank = [("RERANK_BINDING", "cohere"), ("RERANK_BINDING_HOST", host.as_str())];
    let reranked = query_with(&config, &ws, &url, &rerank, &args);
    assert_eq!(code_and_stderr(&reranked).0, Some(0), "{}", code_and_stderr(&reranked).1);
    // The stand-in reverses the order.
    let mut expected = chunk_ids(&plain);
    expected.reverse();
    assert_eq!(chunk_ids(&reranked), expected);
    assert_eq!(model.requests().len(), 1);
    drop_workspace(&config, &ws);
}

#[tokio::test]
async fn an_unknown_rerank_binding_is_a_configuration_error() {
    let config = test_database().await.config();
    let url = embedding_endpoint(DIM, Duration::ZERO);
    let out = query_with(&config, "cliq_none", &url, &[("RERANK_BINDING", "voyage")], &["What is studied here?"]);
    let (code, stderr) = code_and_stderr(&out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("RERANK_BINDING"), "{stderr}");
}
