//! Records for every store, built from an id and a text.

use chrono::{DateTime, TimeZone, Utc};
use lightrag_pg_core::{DocProcessingStatus, DocStatus, JsonObject, Properties, VectorRecord};
use serde_json::{Value, json};

/// A JSON object literal.
pub fn obj(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

/// A `text_chunks` record whose text fields carry `text`.
pub fn chunk(i: usize, text: &str) -> JsonObject {
    obj(json!({
        "tokens": 100 + (i % 50) as i64,
        "chunk_order_index": i as i64,
        "full_doc_id": format!("doc-{:032x}", i / 20),
        "content": format!("chunk {i}: {text}"),
        "file_path": format!("{text}.txt"),
        "llm_cache_list": [format!("default:extract:{i:032x}")],
        "heading": {"text": text},
        "sidecar": {},
    }))
}

/// A `full_docs` record with `text` as content.
pub fn full_doc(text: &str) -> JsonObject {
    obj(json!({"content": text}))
}

/// A deterministic unit-ish vector of `dim` components for `i` (exact in half
/// precision: multiples of 1/64 in [-1, 1]).
pub fn vector(i: usize, dim: usize) -> Vec<f32> {
    (0..dim).map(|k| (((i * 31 + k * 17) % 129) as f32 - 64.0) / 64.0 + if k == 0 { 1.0 / 64.0 } else { 0.0 }).collect()
}

/// An `entities` vector record.
pub fn entity_vector(id: &str, i: usize, dim: usize, text: &str) -> VectorRecord {
    VectorRecord {
        id: id.to_owned(),
        vector: vector(i, dim),
        payload: obj(json!({
            "entity_name": text,
            "source_id": format!("chunk-{i:032x}"),
            "content": format!("{text}\n{text}"),
            "file_path": format!("{text}.txt"),
        })),
    }
}

/// A fixed instant with whole seconds, plus `i` seconds.
pub fn instant(i: usize) -> DateTime<Utc> {
    Utc.timestamp_opt(1_735_689_600 + i as i64, 0).single().expect("valid time")
}

/// A doc-status record whose text fields carry `text`.
pub fn doc_status(i: usize, text: &str, status: DocStatus) -> DocProcessingStatus {
    let summary: String = text.chars().take(200).collect();
    DocProcessingStatus {
        content_summary: summary,
        content_length: text.chars().count() as i64,
        file_path: format!("{text}.txt"),
        status,
        created_at: Some(instant(i)),
        updated_at: Some(instant(i + 1)),
        track_id: Some(format!("track-{}", text.chars().take(100).collect::<String>())),
        chunks_count: Some(1),
        chunks_list: vec![format!("chunk-{text}")],
        error_msg: Some(text.to_owned()),
        metadata: obj(json!({"note": text, "nested": {"k": [text]}})),
        content_hash: Some(format!("hash-{i}")),
    }
}

/// Node properties whose values (and one key) carry `text`.
pub fn node(text: &str) -> Properties {
    Properties::new()
        .with("entity_type", text)
        .with("description", format!("about {text}"))
        .with("source_id", "chunk-1")
        .with("file_path", format!("{text}.txt"))
        .with(&format!("key {text}"), text)
}

/// Edge properties whose values carry `text`.
pub fn edge(text: &str) -> Properties {
    Properties::new()
        .with("weight", 1.5)
        .with("description", format!("link {text}"))
        .with("keywords", text)
        .with("source_id", "chunk-1")
        .with("file_path", format!("{text}.txt"))
}

/// A JSON value nested `depth` arrays deep around `leaf`.
pub fn nested(depth: usize, leaf: Value) -> Value {
    let mut v = leaf;
    for _ in 0..depth {
        v = Value::Array(vec![v]);
    }
    v
}
