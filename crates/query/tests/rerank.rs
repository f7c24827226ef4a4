//! Reranking in `Retriever::retrieve` (LightRAG's `process_chunks_unified`
//! with a `rerank_model_func`), against a local `/rerank` stand-in that
//! reverses the order: the model's order, `top_n`, `MIN_RERANK_SCORE`, and
//! the fallback to the chunks' own order when the model fails.

use std::sync::Arc;
use std::time::Duration;

use lightrag_pg_pool::{GraphEngine, RetryPolicy, Sources};
use lightrag_pg_query::{HttpReranker, Mode, QueryParam, Reranker, RetrievalSettings, Retriever};
use lightrag_pg_test_support::{JsonEndpoint, json_endpoint, pool, rerank_endpoint};
use serde_json::json;

mod common;

use common::{DIM, MODEL, NameEmbedder, knowledge_base, names};

const SCROOGE: &str = "Scrooge counts coins.";
const MARLEY: &str = "Marley's ghost visits Scrooge.";

/// Retrieval over a fresh knowledge base with `settings` (and a 0.5 cosine
/// threshold) and the `RERANK_*` settings of `rerank`.
async fn open(settings: &[(&str, &str)], rerank: &[(&str, &str)]) -> Retriever {
    let pool = pool().await;
    let ws = knowledge_base(&pool, GraphEngine::Table).await;
    let mut pairs = vec![("COSINE_THRESHOLD", "0.5")];
    pairs.extend_from_slice(settings);
    let settings = RetrievalSettings::from_sources(&Sources::from_pairs(pairs)).unwrap();
    let reranker = HttpReranker::from_sources(&Sources::from_pairs(rerank.iter().copied()))
        .unwrap()
        .map(|r| Arc::new(r.with_retry(quick_retry())) as Arc<dyn Reranker>);
    Retriever::open(pool, ws, GraphEngine::Table, DIM, Some(MODEL), Arc::new(NameEmbedder), settings)
        .await
        .unwrap()
        .with_reranker(reranker)
}

/// Two attempts, 10 ms apart.
fn quick_retry() -> RetryPolicy {
    RetryPolicy { attempts: 2, backoff: Duration::from_millis(10), backoff_max: Duration::from_millis(10) }
}

fn cohere_at(endpoint: &JsonEndpoint) -> Vec<(&'static str, String)> {
    vec![("RERANK_BINDING", "cohere".into()), ("RERANK_BINDING_HOST", format!("{}/v2/rerank", endpoint.url))]
}

fn pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Local mode on "Scrooge": both chunks, c1 first without a reranker.
fn local() -> QueryParam {
    QueryParam::default().with_mode(Mode::Local).with_keywords(vec![], vec!["Scrooge".into()])
}

#[tokio::test]
async fn reranked_chunks_come_in_the_models_order() {
    let model = rerank_endpoint();
    let r = open(&[], &pairs(&cohere_at(&model))).await;
    let found = r.retrieve("Who is Scrooge?", &local()).await.unwrap();
    assert_eq!(names(found.chunks(), "chunk_id"), ["c2", "c1"]);
    // The references follow the chunks' new order; no score is shown.
    assert_eq!(names(found.references(), "file_path"), ["b.txt", "a.txt"]);
    assert!(found.chunks()[0].get("rerank_score").is_none(), "{}", found.chunks()[0]);
    assert!(found.context.find(MARLEY).unwrap() < found.context.find(SCROOGE).unwrap());
}

#[tokio::test]
async fn the_model_gets_the_question_the_chunks_and_chunk_top_k_as_top_n() {
    let model = rerank_endpoint();
    let r = open(&[], &pairs(&cohere_at(&model))).await;
    r.retrieve("Who is Scrooge?", &local()).await.unwrap();
    assert_eq!(
        model.requests(),
        [json!({"model": "rerank-v3.5", "query": "Who is Scrooge?", "documents": [SCROOGE, MARLEY], "top_n": 20})]
    );
}

#[tokio::test]
async fn top_n_cuts_the_chunks_to_chunk_top_k() {
    let model = rerank_endpoint();
    let r = open(&[], &pairs(&cohere_at(&model))).await;
    let mut param = local();
    param.chunk_top_k = 1;
    let found = r.retrieve("Who is Scrooge?", &param).await.unwrap();
    assert_eq!(names(found.chunks(), "chunk_id"), ["c2"]);
    assert_eq!(model.requests()[0]["top_n"], 1);
}

#[tokio::test]
async fn chunks_scored_below_min_rerank_score_are_dropped() {
    // The stand-in scores c1 0.5 and c2 1.0.
    let model = rerank_endpoint();
    let r = open(&[("MIN_RERANK_SCORE", "0.6")], &pairs(&cohere_at(&model))).await;
    let found = r.retrieve("Who is Scrooge?", &local()).await.unwrap();
    assert_eq!(names(found.chunks(), "chunk_id"), ["c2"]);
    let r = open(&[("MIN_RERANK_SCORE", "0.5")], &pairs(&cohere_at(&model))).await;
    let found = r.retrieve("Who is Scrooge?", &local()).await.unwrap();
    assert_eq!(names(found.chunks(), "chunk_id"), ["c2", "c1"], "the bound is inclusive");
}

#[tokio::test]
async fn a_failing_model_leaves_the_chunks_in_their_order() {
    let model = json_endpoint(|_| (503, json!({"message": "overloaded"})));
    let r = open(&[("MIN_RERANK_SCORE", "0.6")], &pairs(&cohere_at(&model))).await;
    let found = r.retrieve("Who is Scrooge?", &local()).await.unwrap();
    // Unscored chunks pass any score bound below 1, as in LightRAG.
    assert_eq!(names(found.chunks(), "chunk_id"), ["c1", "c2"]);
    assert_eq!(model.requests().len(), 2, "a 503 is retried");
}

#[tokio::test]
async fn an_unreachable_model_leaves_the_chunks_in_their_order() {
    let port = lightrag_pg_test_support::server::free_port();
    let rerank = [("RERANK_BINDING", "jina"), ("RERANK_BINDING_HOST", &format!("http://127.0.0.1:{port}/rerank"))];
    let r = open(&[], &rerank.map(|(k, v)| (k, v as &str))).await;
    let found = r.retrieve("Who is Scrooge?", &local()).await.unwrap();
    assert_eq!(names(found.chunks(), "chunk_id"), ["c1", "c2"]);
}

#[tokio::test]
async fn an_answer_without_usable_results_leaves_the_chunks_in_their_order() {
    let model = json_endpoint(|_| (200, json!({"results": [{"index": 7, "relevance_score": 1.0}, {"index": 0}]})));
    let r = open(&[], &pairs(&cohere_at(&model))).await;
    let found = r.retrieve("Who is Scrooge?", &local()).await.unwrap();
    assert_eq!(names(found.chunks(), "chunk_id"), ["c1", "c2"]);
}

#[tokio::test]
async fn enable_rerank_false_does_not_call_the_model() {
    let model = rerank_endpoint();
    let r = open(&[], &pairs(&cohere_at(&model))).await;
    let mut param = local();
    param.enable_rerank = false;
    let found = r.retrieve("Who is Scrooge?", &param).await.unwrap();
    assert_eq!(names(found.chunks(), "chunk_id"), ["c1", "c2"]);
    assert!(model.requests().is_empty());
}

#[tokio::test]
async fn without_a_model_min_rerank_score_keeps_every_chunk() {
    let r = open(&[("MIN_RERANK_SCORE", "0.9")], &[]).await;
    let found = r.retrieve("Who is Scrooge?", &local()).await.unwrap();
    assert_eq!(names(found.chunks(), "chunk_id"), ["c1", "c2"]);
}

#[tokio::test]
async fn naive_mode_reranks_its_vector_chunks() {
    let model = rerank_endpoint();
    let r = open(&[], &pairs(&cohere_at(&model))).await;
    let param = QueryParam::default().with_mode(Mode::Naive);
    // Naming both: c2 (0.8) comes before c1 (0.6) by vector; the model reverses them.
    let found = r.retrieve("Scrooge and Marley?", &param).await.unwrap();
    assert_eq!(names(found.chunks(), "chunk_id"), ["c1", "c2"]);
    assert_eq!(model.requests()[0]["documents"], json!([MARLEY, SCROOGE]));
}

#[tokio::test]
async fn aliyun_answers_are_read_from_output_results() {
    let model = rerank_endpoint();
    let rerank = [("RERANK_BINDING", "aliyun"), ("RERANK_BINDING_HOST", &model.url as &str)];
    let r = open(&[], &rerank).await;
    let found = r.retrieve("Who is Scrooge?", &local()).await.unwrap();
    assert_eq!(names(found.chunks(), "chunk_id"), ["c2", "c1"]);
    assert_eq!(model.requests()[0]["parameters"], json!({"top_n": 20, "return_documents": false}));
}
