//! Key-value records: JSON objects, checked against their namespace's contract.

use crate::{Error, KvNamespace};

/// A JSON object, the shape of every LightRAG record.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

/// Checks what every backend refuses before writing anything: an empty id, an id
/// longer than the column, a NUL byte anywhere (PostgreSQL text refuses `\0`), and
/// a record without its namespace's required fields or with a wrong JSON shape.
///
/// # Errors
/// [`Error::InvalidInput`] naming the id (and the field).
pub fn validate_record(ns: KvNamespace, id: &str, record: &JsonObject) -> Result<(), Error> {
    validate_id(id, ns.max_id_chars())?;
    for field in ns.required_fields() {
        if !record.contains_key(*field) {
            return Err(Error::invalid(id, format!("{ns} record lacks required field '{field}'")));
        }
    }
    let expect = |field: &str, ok: fn(&serde_json::Value) -> bool, what: &str| match record.get(field) {
        Some(v) if !v.is_null() && !ok(v) => Err(Error::invalid(id, format!("field '{field}' must be {what}"))),
        _ => Ok(()),
    };
    use serde_json::Value as V;
    match ns {
        KvNamespace::FullDocs => {
            expect("content", V::is_string, "a string")?;
            expect("chunk_options", V::is_object, "an object")?;
        }
        KvNamespace::TextChunks => {
            expect("content", V::is_string, "a string")?;
            expect("tokens", V::is_i64, "an integer")?;
            expect("chunk_order_index", V::is_i64, "an integer")?;
            expect("llm_cache_list", V::is_array, "a list")?;
            expect("heading", V::is_object, "an object")?;
            expect("sidecar", V::is_object, "an object")?;
        }
        KvNamespace::LlmResponseCache => {
            expect("queryparam", V::is_object, "an object")?;
        }
        KvNamespace::FullEntities => {
            expect("entity_names", V::is_array, "a list")?;
            expect("count", V::is_i64, "an integer")?;
        }
        KvNamespace::FullRelations => {
            expect("relation_pairs", V::is_array, "a list")?;
            expect("count", V::is_i64, "an integer")?;
        }
        KvNamespace::EntityChunks | KvNamespace::RelationChunks => {
            expect("chunk_ids", V::is_array, "a list")?;
            expect("count", V::is_i64, "an integer")?;
        }
    }
    if let Some(field) = first_nul(record) {
        return Err(Error::invalid(id, format!("field '{field}' contains a NUL byte")));
    }
    check_depth(id, record)
}

/// The deepest JSON nesting a record may have. serde_json reads at most 128
/// levels, so anything deeper could be written but never read back.
pub const MAX_JSON_DEPTH: usize = 120;

/// Refuses JSON nested deeper than [`MAX_JSON_DEPTH`] anywhere in `record`.
///
/// # Errors
/// [`Error::InvalidInput`] naming `owner` and the field.
pub fn check_depth(owner: &str, record: &JsonObject) -> Result<(), Error> {
    fn depth(v: &serde_json::Value) -> usize {
        // Iterative, so a hostile value cannot overflow the stack here either.
        let mut max = 0;
        let mut stack = vec![(v, 1usize)];
        while let Some((v, d)) = stack.pop() {
            max = max.max(d);
            match v {
                serde_json::Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
                serde_json::Value::Object(o) => stack.extend(o.values().map(|x| (x, d + 1))),
                _ => {}
            }
        }
        max
    }
    match record.iter().find(|(_, v)| depth(v) > MAX_JSON_DEPTH) {
        Some((field, _)) => {
            Err(Error::invalid(owner, format!("field '{field}' is nested deeper than {MAX_JSON_DEPTH} levels")))
        }
        None => Ok(()),
    }
}

/// Checks an id: non-empty, at most `max_chars` characters, no NUL byte.
///
/// # Errors
/// [`Error::InvalidInput`] naming the id.
pub fn validate_id(id: &str, max_chars: usize) -> Result<(), Error> {
    if id.is_empty() {
        return Err(Error::invalid(id, "id must not be empty"));
    }
    if id.contains('\0') {
        return Err(Error::invalid(id, "id contains a NUL byte"));
    }
    let n = id.chars().count();
    if n > max_chars {
        return Err(Error::invalid(id, format!("id has {n} characters; the column takes {max_chars}")));
    }
    Ok(())
}

/// The first top-level field whose value contains a NUL byte anywhere inside.
pub fn first_nul(record: &JsonObject) -> Option<&str> {
    fn has_nul(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::String(s) => s.contains('\0'),
            serde_json::Value::Array(a) => a.iter().any(has_nul),
            serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    record.iter().find(|(k, v)| k.contains('\0') || has_nul(v)).map(|(k, _)| k.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: serde_json::Value) -> JsonObject {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn missing_required_field_names_id_and_field() {
        let err = validate_record(KvNamespace::FullDocs, "doc-1", &obj(json!({}))).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("doc-1") && msg.contains("content"), "{msg}");
    }

    #[test]
    fn wrong_shape_is_refused() {
        let rec = obj(json!({"chunk_ids": "not-a-list", "count": 1}));
        assert!(validate_record(KvNamespace::EntityChunks, "e", &rec).is_err());
    }

    #[test]
    fn json_nested_too_deep_is_refused_naming_the_field() {
        let mut v = json!(1);
        for _ in 0..1000 {
            v = json!([v]);
        }
        let rec = obj(json!({"content": "x", "chunk_options": {"deep": v}}));
        let msg = validate_record(KvNamespace::FullDocs, "doc-deep", &rec).unwrap_err().to_string();
        assert!(msg.contains("doc-deep") && msg.contains("chunk_options"), "{msg}");
    }

    #[test]
    fn nul_and_overlong_ids_are_refused() {
        let rec = obj(json!({"content": "x"}));
        assert!(validate_record(KvNamespace::FullDocs, "a\0b", &rec).is_err());
        assert!(validate_record(KvNamespace::FullDocs, &"x".repeat(256), &rec).is_err());
        assert!(
            validate_record(KvNamespace::EntityChunks, &"x".repeat(512), &obj(json!({"chunk_ids": [], "count": 0})))
                .is_ok()
        );
        let nul = obj(json!({"content": "a\u{0}b"}));
        assert!(validate_record(KvNamespace::FullDocs, "d", &nul).is_err());
    }
}
