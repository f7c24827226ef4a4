//! Keyword extraction and answers through an LLM stand-in, on the real
//! PostgreSQL: what is asked, what `lightrag_llm_cache` holds afterwards
//! (LightRAG's `save_to_cache` rows), and that a second query is a cache hit.

use std::sync::Arc;

use futures::StreamExt;
use lightrag_pg_core::Workspace;
use lightrag_pg_pool::{GraphEngine, PgPool, RetryPolicy, Sources};
use lightrag_pg_query::{
    AnswerOptions, AnswerText, HttpChatModel, KeywordCacheIdentity, Mode, QueryParam, Retriever, prompts,
};
use lightrag_pg_test_support::llm::user_prompt;
use lightrag_pg_test_support::{LlmEndpoint, pool};
use serde_json::{Value, json};

mod common;
use common::{knowledge_base, retriever};

const QUESTION: &str = "Who haunts Scrooge?";

/// Keywords for the extraction prompt, an answer naming the question for
/// everything else.
fn stand_in() -> LlmEndpoint {
    LlmEndpoint::replying(|r| {
        let prompt = user_prompt(r);
        if prompt.contains("You are an expert keyword extractor") {
            r#"{"high_level_keywords": ["haunting"], "low_level_keywords": ["Scrooge", "Marley"]}"#.into()
        } else {
            format!("Marley haunts Scrooge (asked: {prompt}).")
        }
    })
}

struct Setup {
    pool: PgPool,
    ws: Workspace,
    llm: LlmEndpoint,
    retriever: Retriever,
}

async fn setup(cache: bool) -> Setup {
    let pool = pool().await;
    let ws = knowledge_base(&pool, GraphEngine::Table).await;
    let llm = stand_in();
    let sources = Sources::from_pairs([("LLM_BINDING", "openai"), ("LLM_BINDING_HOST", llm.url.as_str())]);
    let model = HttpChatModel::from_sources(&sources)
        .unwrap()
        .unwrap()
        .with_retry(RetryPolicy { attempts: 1, ..lightrag_pg_query::llm::LLM_RETRY });
    let retriever = retriever(&pool, &ws, GraphEngine::Table)
        .await
        .unwrap()
        .with_keyword_cache(KeywordCacheIdentity::from_sources(&sources))
        .with_llm(Arc::new(model))
        .with_llm_cache(cache);
    Setup { pool, ws, llm, retriever }
}

/// The cache row `id` of the workspace: (return_value, original_prompt,
/// cache_type, chunk_id, queryparam).
async fn cache_row(s: &Setup, id: &str) -> Option<(String, String, String, Option<String>, Option<Value>)> {
    let conn = s.pool.get().await.unwrap();
    let sql = "SELECT return_value, original_prompt, cache_type, chunk_id, queryparam FROM lightrag_llm_cache \
               WHERE workspace = $1 AND id = $2";
    conn.query_opt(sql, &[&s.ws.as_str(), &id])
        .await
        .unwrap()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
}

fn local() -> QueryParam {
    QueryParam::default().with_mode(Mode::Local)
}

#[tokio::test]
async fn keywords_not_given_nor_cached_are_extracted_with_lightrags_prompt() {
    let s = setup(true).await;
    let found = s.retriever.retrieve(QUESTION, &local()).await.unwrap();
    assert!(found.is_success(), "{:?}", found.data);
    assert_eq!(
        found.data["metadata"]["keywords"],
        json!({"high_level": ["haunting"], "low_level": ["Scrooge", "Marley"]})
    );
    let sent = &s.llm.requests()[0];
    let expected = lightrag_pg_query::pyfmt::format(
        prompts::KEYWORDS_EXTRACTION,
        &[("query", QUESTION), ("examples", prompts::KEYWORDS_EXTRACTION_EXAMPLES), ("language", "English")],
    );
    assert_eq!(sent["messages"], json!([{"role": "user", "content": expected}]));
    assert_eq!(sent["response_format"], json!({"type": "json_object"}));
    assert!(sent.get("stream").is_none(), "LightRAG sends no stream field for the extraction");
}

#[tokio::test]
async fn an_extraction_is_cached_as_lightrag_caches_it_and_hit_the_next_time() {
    let s = setup(true).await;
    s.retriever.retrieve(QUESTION, &local()).await.unwrap();
    let id = KeywordCacheIdentity::from_sources(&Sources::from_pairs([
        ("LLM_BINDING", "openai"),
        ("LLM_BINDING_HOST", s.llm.url.as_str()),
    ]))
    .cache_id("local", QUESTION);
    let (ret, prompt, kind, chunk, queryparam) = cache_row(&s, &id).await.expect("the keyword cache entry");
    assert_eq!(ret, r#"{"high_level_keywords": ["haunting"], "low_level_keywords": ["Scrooge", "Marley"]}"#);
    assert_eq!((prompt.as_str(), kind.as_str(), chunk), (QUESTION, "keywords", None));
    assert_eq!(
        queryparam.unwrap(),
        json!({"mode": "local", "response_type": "Multiple Paragraphs", "top_k": 40, "chunk_top_k": 20,
            "max_entity_tokens": 6000, "max_relation_tokens": 8000, "max_total_tokens": 30000,
            "user_prompt": "", "enable_rerank": true})
    );
    let again = s.retriever.retrieve(QUESTION, &local()).await.unwrap();
    assert!(again.is_success());
    assert_eq!(s.llm.calls(), 1, "the second query is a cache hit");
}

#[tokio::test]
async fn with_the_llm_cache_disabled_nothing_is_read_or_written() {
    let s = setup(false).await;
    s.retriever.retrieve(QUESTION, &local()).await.unwrap();
    s.retriever.retrieve(QUESTION, &local()).await.unwrap();
    assert_eq!(s.llm.calls(), 2);
    let conn = s.pool.get().await.unwrap();
    let rows = conn
        .query("SELECT 1 FROM lightrag_llm_cache WHERE workspace = $1", &[&s.ws.as_str()])
        .await
        .map(|r| r.len())
        .unwrap_or(0);
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn an_answer_is_asked_under_the_rag_prompt_cached_and_hit() {
    let s = setup(true).await;
    let param = local().with_keywords(vec!["haunting".into()], vec!["Scrooge".into()]);
    let first = s.retriever.answer(QUESTION, &param, &AnswerOptions::default()).await.unwrap();
    let AnswerText::Whole { text, llm_generated: true } = first.text else { panic!("{:?}", first.text) };
    assert_eq!(text, format!("Marley haunts Scrooge (asked: {QUESTION})."));
    let sent = &s.llm.requests()[0];
    let system = sent["messages"][0]["content"].as_str().unwrap();
    assert!(system.starts_with("---Role---") && system.contains(&first.retrieval.context), "{system}");
    assert_eq!(sent["stream"], false);
    let second = s.retriever.answer(QUESTION, &param, &AnswerOptions::default()).await.unwrap();
    assert!(
        matches!(second.text, AnswerText::Whole { ref text, llm_generated: true } if *text == format!("Marley haunts Scrooge (asked: {QUESTION})."))
    );
    assert_eq!(s.llm.calls(), 1, "the second answer is the cached one");
}

#[tokio::test]
async fn a_conversation_neither_reads_nor_writes_the_answer_cache() {
    let s = setup(true).await;
    let param = local().with_keywords(vec![], vec!["Scrooge".into()]);
    let history = vec![json!({"role": "user", "content": "Earlier question"})];
    let options = AnswerOptions::new(history.clone(), false, false);
    s.retriever.answer(QUESTION, &param, &options).await.unwrap();
    s.retriever.answer(QUESTION, &param, &options).await.unwrap();
    assert_eq!(s.llm.calls(), 2);
    assert_eq!(s.llm.requests()[0]["messages"][1], history[0]);
}

#[tokio::test]
async fn only_need_prompt_returns_the_prompt_without_asking() {
    let s = setup(true).await;
    let param = local().with_keywords(vec![], vec!["Scrooge".into()]);
    let a = s.retriever.answer(QUESTION, &param, &AnswerOptions::new(vec![], true, false)).await.unwrap();
    let AnswerText::Whole { text, llm_generated: false } = a.text else { panic!() };
    assert!(text.ends_with(&format!("\n\n---User Query---\n\n{QUESTION}")), "{text}");
    assert_eq!(s.llm.calls(), 0);
}

#[tokio::test]
async fn a_streamed_answer_comes_in_pieces_and_is_not_cached() {
    let s = setup(true).await;
    let param = QueryParam::default().with_mode(Mode::Naive);
    let a = s.retriever.answer(QUESTION, &param, &AnswerOptions::new(vec![], false, true)).await.unwrap();
    let AnswerText::Stream(pieces) = a.text else { panic!() };
    let text: Vec<String> = pieces.map(Result::unwrap).collect().await;
    assert_eq!(text.concat(), format!("Marley haunts Scrooge (asked: {QUESTION})."));
    s.retriever.answer(QUESTION, &param, &AnswerOptions::new(vec![], false, true)).await.unwrap();
    assert_eq!(s.llm.calls(), 2);
}
