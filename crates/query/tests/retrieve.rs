//! `Retriever::retrieve` on a small knowledge base written through the
//! storages (both graph engines), with a deterministic in-process embedder:
//! what each mode finds, the context it builds, and the errors of `open`.

use std::sync::Arc;

use lightrag_pg_core::testkit::unique_workspace;
use lightrag_pg_pool::{GraphEngine, Sources};
use lightrag_pg_query::{Mode, QueryError, QueryParam, RetrievalSettings, Retriever};
use lightrag_pg_test_support::pool;
use serde_json::json;

mod common;

use common::*;

async fn local_mode_finds_the_entity_its_relation_and_chunks(engine: GraphEngine) {
    let r = open(engine).await;
    let param = QueryParam::default().with_mode(Mode::Local).with_keywords(vec![], vec!["Scrooge".into()]);
    let found = r.retrieve("Who is Scrooge?", &param).await.unwrap();
    assert!(found.is_success(), "{}", found.data);
    assert_eq!(names(found.entities(), "entity_name"), ["Scrooge"]);
    assert_eq!(found.relationships().len(), 1);
    assert_eq!(found.relationships()[0]["description"], "Marley haunts Scrooge.");
    assert_eq!(found.relationships()[0]["weight"], 2.0);
    // Scrooge names both chunks; the vector pick ranks the one like the question first.
    assert_eq!(names(found.chunks(), "chunk_id"), ["c1", "c2"]);
    assert_eq!(names(found.references(), "file_path"), ["a.txt", "b.txt"]);
    assert!(
        found.context.contains(r#"{"entity": "Scrooge", "type": "person", "description": "Scrooge of the story."}"#)
    );
    assert!(found.context.contains(r#"{"reference_id": "1", "content": "Scrooge counts coins."}"#));
    assert!(found.context.contains("[2] b.txt"));
}

#[tokio::test]
async fn local_mode_finds_the_entity_its_relation_and_chunks_on_age() {
    local_mode_finds_the_entity_its_relation_and_chunks(GraphEngine::Age).await;
}

#[tokio::test]
async fn local_mode_finds_the_entity_its_relation_and_chunks_on_tables() {
    local_mode_finds_the_entity_its_relation_and_chunks(GraphEngine::Table).await;
}

#[tokio::test]
async fn global_mode_finds_the_relation_and_both_ends() {
    let r = open(GraphEngine::Table).await;
    let param = QueryParam::default().with_mode(Mode::Global).with_keywords(vec!["Scrooge and Marley".into()], vec![]);
    let found = r.retrieve("What happens between them?", &param).await.unwrap();
    assert_eq!(names(found.relationships(), "src_id"), ["Marley"]);
    assert_eq!(names(found.entities(), "entity_name"), ["Marley", "Scrooge"]);
    assert_eq!(found.data["metadata"]["keywords"]["high_level"], json!(["Scrooge and Marley"]));
}

#[tokio::test]
async fn naive_mode_returns_the_nearest_chunks_only() {
    let r = open(GraphEngine::Age).await;
    let found = r.retrieve("Tell me about Marley", &QueryParam::default().with_mode(Mode::Naive)).await.unwrap();
    assert_eq!(names(found.chunks(), "chunk_id"), ["c2"]);
    assert!(found.entities().is_empty() && found.relationships().is_empty());
    assert_eq!(found.data["metadata"]["processing_info"], json!({"total_chunks_found": 1, "final_chunks_count": 1}));
}

#[tokio::test]
async fn nothing_near_the_question_is_lightrags_no_results_answer() {
    let r = open(GraphEngine::Table).await;
    let param = QueryParam::default().with_mode(Mode::Local).with_keywords(vec![], vec!["the weather".into()]);
    let found = r.retrieve("What is the weather?", &param).await.unwrap();
    assert_eq!(
        found.data,
        json!({"status": "failure", "message": "Query returned no results", "data": {},
               "metadata": {"failure_reason": "no_results", "mode": "local"}})
    );
    assert_eq!(found.context, "");
}

#[tokio::test]
async fn a_keyword_mode_without_keywords_is_refused() {
    let r = open(GraphEngine::Table).await;
    let e = r.retrieve("Who is Scrooge?", &QueryParam::default().with_mode(Mode::Hybrid)).await.unwrap_err();
    assert!(matches!(e, QueryError::NoKeywords { .. }), "{e}");
}

#[tokio::test]
async fn a_workspace_without_data_is_not_found() {
    let pool = pool().await;
    knowledge_base(&pool, GraphEngine::Table).await; // the tables exist
    let empty = unique_workspace("qitnone");
    let e = retriever(&pool, &empty, GraphEngine::Table).await.unwrap_err();
    assert!(matches!(e, QueryError::NotFound { .. }), "{e}");
}

#[tokio::test]
async fn a_dimension_whose_tables_do_not_exist_is_not_found_naming_the_table() {
    let pool = pool().await;
    let ws = knowledge_base(&pool, GraphEngine::Table).await;
    let settings = RetrievalSettings::from_sources(&Sources::default()).unwrap();
    // The tables of MODEL at 4 dimensions exist; at 8 they do not.
    let e = Retriever::open(pool.clone(), ws, GraphEngine::Table, 8, Some(MODEL), Arc::new(NameEmbedder), settings)
        .await
        .unwrap_err();
    assert!(matches!(e, QueryError::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("query_it_8d"), "{e}");
}
