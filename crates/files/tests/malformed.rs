//! Malformed input is refused with an error naming the file and the position,
//! and nothing is written; bad records inside a sound file (NaN vectors, wrong
//! dimensions, contract violations) are skipped and reported, never fatal.

mod common;

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Memory, copy_of, dataset, edit_json};
use lightrag_pg_core::memory::MemoryVectorStorage;
use lightrag_pg_core::{DistanceMetric, KvNamespace, VectorNamespace, VectorStorage};
use lightrag_pg_files::nano::encode_vector;
use lightrag_pg_files::{FnVectorOpener, MigrateError, MigrateOptions, Position, SkipReason, migrate};
use serde_json::Value;

/// Nothing at all was written to the memory target.
async fn assert_nothing_written(mem: &Memory) {
    assert!(mem.target.doc_status.is_empty().await.unwrap(), "doc status written");
    for (ns, kv) in &mem.target.kv {
        assert!(kv.is_empty().await.unwrap(), "{ns} written");
    }
    assert!(mem.target.graph.get_all_labels().await.unwrap().is_empty(), "graph written");
    assert!(mem.vectors.lock().unwrap().is_empty(), "a vector storage was opened");
}

async fn migrate_err(dir: &Path) -> (Memory, MigrateError) {
    let mem = Memory::new("malformed");
    let err = migrate(dir, &mem.target, MigrateOptions::default()).await.unwrap_err();
    (mem, err)
}

#[tokio::test]
async fn truncated_kv_json_names_file_line_and_column_and_writes_nothing() {
    let dir = copy_of("english-reading-topics-en");
    let path = dir.path().join("kv_store_text_chunks.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let (mem, err) = migrate_err(dir.path()).await;
    assert_eq!(err.file(), Some(path.as_path()));
    assert!(matches!(err.position(), Some(Position::LineColumn { line, .. }) if *line > 1), "{err}");
    assert!(err.to_string().contains("kv_store_text_chunks.json: line "), "{err}");
    assert_nothing_written(&mem).await;
}

#[tokio::test]
async fn bad_matrix_base64_names_the_field() {
    let dir = copy_of("film-24-2016-en");
    let path = dir.path().join("vdb_relationships.json");
    edit_json(&path, |v| v["matrix"] = Value::from("@@not base64@@"));
    let (mem, err) = migrate_err(dir.path()).await;
    assert_eq!(err.file(), Some(path.as_path()));
    assert_eq!(err.position(), Some(&Position::Field { name: "matrix".into() }));
    assert_nothing_written(&mem).await;
}

#[tokio::test]
async fn a_matrix_that_does_not_match_the_rows_is_refused() {
    let dir = copy_of("film-24-2016-en");
    let path = dir.path().join("vdb_chunks.json");
    edit_json(&path, |v| {
        v["data"].as_array_mut().unwrap().pop();
    });
    let (mem, err) = migrate_err(dir.path()).await;
    assert_eq!(err.position(), Some(&Position::Field { name: "matrix".into() }));
    assert!(err.to_string().contains("2 rows × 3072 dimensions"), "{err}");
    assert_nothing_written(&mem).await;
}

#[tokio::test]
async fn bad_row_vector_base64_names_the_row() {
    let dir = copy_of("lightrag-1.5.7-format-sample");
    let path = dir.path().join("vdb_entities.json");
    edit_json(&path, |v| v["data"][5]["vector"] = Value::from("%%%"));
    let (mem, err) = migrate_err(dir.path()).await;
    assert_eq!(err.file(), Some(path.as_path()));
    assert!(matches!(err.position(), Some(Position::Row { index: 5, id: Some(_) })), "{err}");
    assert_nothing_written(&mem).await;
}

#[tokio::test]
async fn broken_graphml_names_line_and_column_and_writes_nothing() {
    let dir = copy_of("dickens-christmas-carol-en");
    let path = dir.path().join("graph_chunk_entity_relation.graphml");
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text.find("</node>").unwrap();
    let broken = format!("{}</nod>{}", &text[..at], &text[at + "</node>".len()..]);
    std::fs::write(&path, broken).unwrap();
    let line = text[..at].matches('\n').count() as u64 + 1;
    let (mem, err) = migrate_err(dir.path()).await;
    assert_eq!(err.file(), Some(path.as_path()));
    assert!(
        matches!(err.position(), Some(Position::LineColumn { line: l, .. }) if *l == line),
        "{err} (expected line {line})"
    );
    assert_nothing_written(&mem).await;
}

#[tokio::test]
async fn nan_vector_rows_are_skipped_and_reported_and_the_rest_is_written() {
    let dir = copy_of("film-24-2016-en");
    let path = dir.path().join("vdb_entities.json");
    let mut nan_id = String::new();
    edit_json(&path, |v| {
        let dim = v["embedding_dim"].as_u64().unwrap() as usize;
        let mut bytes = B64.decode(v["matrix"].as_str().unwrap()).unwrap();
        for b in bytes[7 * dim * 4..8 * dim * 4].chunks_exact_mut(4) {
            b.copy_from_slice(&f32::NAN.to_le_bytes());
        }
        v["matrix"] = Value::from(B64.encode(bytes));
        nan_id = v["data"][7]["__id__"].as_str().unwrap().to_owned();
    });
    let mem = Memory::new("nan");
    let r = migrate(dir.path(), &mem.target, MigrateOptions::default()).await.unwrap();
    let skipped: Vec<_> = r.skipped_in("vectors.entities").collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!((skipped[0].id.as_str(), skipped[0].reason), (nan_id.as_str(), SkipReason::NanVector));
    assert_eq!(r.vectors.entities, 134);
    assert!(r.verification.ok, "{:?}", r.verification.mismatches);
    let store = mem.vector_store(VectorNamespace::Entities);
    assert!(store.get_by_id(&nan_id).await.unwrap().is_none());
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["skipped"][0]["reason"], "nan_vector");
}

#[tokio::test]
async fn a_row_vector_of_the_wrong_dimension_is_skipped_and_reported() {
    let dir = copy_of("lightrag-1.5.7-format-sample");
    let path = dir.path().join("vdb_chunks.json");
    let mut id = String::new();
    edit_json(&path, |v| {
        v["data"][0]["vector"] = Value::from(encode_vector(&[0.5; 10]));
        id = v["data"][0]["__id__"].as_str().unwrap().to_owned();
    });
    let mem = Memory::new("dim");
    let r = migrate(dir.path(), &mem.target, MigrateOptions::default()).await.unwrap();
    let s: Vec<_> = r.skipped_in("vectors.chunks").collect();
    assert_eq!((s.len(), s[0].id.as_str(), s[0].reason), (1, id.as_str(), SkipReason::DimensionMismatch));
    assert_eq!(r.vectors.chunks, 64);
}

#[tokio::test]
async fn a_record_breaking_the_contract_is_skipped_and_the_others_written() {
    let dir = copy_of("film-24-2016-en");
    let path = dir.path().join("kv_store_text_chunks.json");
    let mut id = String::new();
    edit_json(&path, |v| {
        let (k, rec) = v.as_object_mut().unwrap().iter_mut().next().unwrap();
        id = k.clone();
        rec.as_object_mut().unwrap().remove("content");
    });
    let mem = Memory::new("invalid");
    let r = migrate(dir.path(), &mem.target, MigrateOptions::default()).await.unwrap();
    let s: Vec<_> = r.skipped_in("text_chunks").collect();
    assert_eq!((s.len(), s[0].id.as_str(), s[0].reason), (1, id.as_str(), SkipReason::InvalidRecord));
    assert!(s[0].detail.contains("content"), "{}", s[0].detail);
    assert_eq!(r.text_chunks, 2);
    assert!(r.verification.ok);
}

#[tokio::test]
async fn a_target_of_another_dimension_is_refused_before_anything_is_written() {
    let mut mem = Memory::new("wrong-dim");
    let ws = mem.workspace.clone();
    mem.target.vectors = Arc::new(FnVectorOpener(move |ns, _dim| {
        let s: Arc<dyn VectorStorage> =
            Arc::new(MemoryVectorStorage::new(ns, ws.clone(), 1536, DistanceMetric::Cosine));
        Box::pin(async move { Ok(s) }) as futures::future::BoxFuture<'static, _>
    }));
    let err = migrate(&dataset("film-24-2016-en"), &mem.target, MigrateOptions::default()).await.unwrap_err();
    assert!(
        matches!(err, MigrateError::DimensionMismatch { file_dimension: 3072, target_dimension: 1536, .. }),
        "{err}"
    );
    assert!(mem.target.doc_status.is_empty().await.unwrap());
    assert!(mem.target.kv[&KvNamespace::FullDocs].is_empty().await.unwrap());
}

#[tokio::test]
async fn a_target_without_a_store_the_source_has_is_refused() {
    let mut mem = Memory::new("missing");
    mem.target.kv.remove(&KvNamespace::LlmResponseCache);
    let err = migrate(&dataset("film-24-2016-en"), &mem.target, MigrateOptions::default()).await.unwrap_err();
    assert!(matches!(&err, MigrateError::MissingTarget { store } if store == "llm_response_cache"), "{err}");
    assert!(mem.target.doc_status.is_empty().await.unwrap());
}

#[tokio::test]
async fn a_directory_that_is_not_a_lightrag_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.txt"), "hello").unwrap();
    let (_mem, err) = migrate_err(dir.path()).await;
    assert!(matches!(err, MigrateError::InvalidDirectory { .. }), "{err}");
}
