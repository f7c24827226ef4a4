//! LightRAG payload ⇄ table columns, as Python LightRAG 1.5.7 maps them (spec §7.3).
//!
//! | namespace | payload field | column |
//! |---|---|---|
//! | chunks | `tokens`, `chunk_order_index`, `full_doc_id`, `content`, `file_path` | same names |
//! | entities | `entity_name`, `content`, `file_path` | same names |
//! | entities | `source_id` (`<SEP>`-joined chunk ids) | `chunk_ids VARCHAR(255)[]` (split on `<SEP>`) |
//! | relationships | `src_id`, `tgt_id` | `source_id`, `target_id` (entity names) |
//! | relationships | `content`, `file_path` | same names |
//! | relationships | `source_id` (chunk ids) | `chunk_ids` |
//!
//! Reads map back to the payload names, so a record read equals the record
//! written (plus `id` and `created_at`). Payload fields outside this table are not
//! stored, as in Python LightRAG.

use lightrag_pg_core::ids::GRAPH_FIELD_SEP;
use lightrag_pg_core::{Error, JsonObject, Result, VectorNamespace, VectorRecord, kv};
use serde_json::Value;

/// The longest vector id (`id VARCHAR(255)`).
pub const MAX_ID_CHARS: usize = 255;

/// One record's column values, borrowed from the record.
#[derive(Debug, Default)]
pub(crate) struct RowData<'a> {
    pub id: &'a str,
    pub vector: &'a [f32],
    pub content: Option<&'a str>,
    pub file_path: Option<&'a str>,
    pub tokens: Option<i32>,
    pub chunk_order_index: Option<i32>,
    pub full_doc_id: Option<&'a str>,
    pub entity_name: Option<&'a str>,
    pub src_id: Option<&'a str>,
    pub tgt_id: Option<&'a str>,
    pub chunk_ids: Option<Vec<&'a str>>,
}

fn text<'a>(id: &str, payload: &'a JsonObject, field: &str, max_chars: Option<usize>) -> Result<Option<&'a str>> {
    match payload.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if s.contains('\0') {
                return Err(Error::invalid(id, format!("payload field '{field}' contains a NUL byte")));
            }
            if let Some(max) = max_chars {
                let n = s.chars().count();
                if n > max {
                    return Err(Error::invalid(
                        id,
                        format!("payload field '{field}' has {n} characters; the column takes {max}"),
                    ));
                }
            }
            Ok(Some(s))
        }
        Some(other) => {
            Err(Error::invalid(id, format!("payload field '{field}' must be a string, not {}", kind(other))))
        }
    }
}

fn int(id: &str, payload: &JsonObject, field: &str) -> Result<Option<i32>> {
    let bad = |why: &str| Err(Error::invalid(id, format!("payload field '{field}' {why}")));
    match payload.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let v = match (n.as_i64(), n.as_f64()) {
                (Some(v), _) => v,
                (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => f as i64,
                _ => return bad("must be an integer"),
            };
            match i32::try_from(v) {
                Ok(v) => Ok(Some(v)),
                Err(_) => bad("does not fit the INTEGER column"),
            }
        }
        Some(other) => bad(&format!("must be an integer, not {}", kind(other))),
    }
}

fn chunk_ids<'a>(id: &str, payload: &'a JsonObject) -> Result<Option<Vec<&'a str>>> {
    let check = |c: &str| -> Result<()> {
        if c.contains('\0') {
            return Err(Error::invalid(id, "payload field 'source_id' contains a NUL byte"));
        }
        let n = c.chars().count();
        if n > MAX_ID_CHARS {
            return Err(Error::invalid(
                id,
                format!("a chunk id in 'source_id' has {n} characters; the chunk_ids column takes {MAX_ID_CHARS}"),
            ));
        }
        Ok(())
    };
    match payload.get("source_id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let parts: Vec<&str> = s.split(GRAPH_FIELD_SEP).collect();
            parts.iter().try_for_each(|c| check(c))?;
            Ok(Some(parts))
        }
        Some(Value::Array(items)) if !items.is_empty() => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let Value::String(c) = item else {
                    return Err(Error::invalid(id, "payload field 'source_id' must be a string or a list of strings"));
                };
                if c.contains(GRAPH_FIELD_SEP) {
                    return Err(Error::invalid(id, "a chunk id in 'source_id' contains the <SEP> separator"));
                }
                check(c)?;
                out.push(c.as_str());
            }
            Ok(Some(out))
        }
        Some(Value::Array(_)) => Ok(None),
        Some(other) => Err(Error::invalid(
            id,
            format!("payload field 'source_id' must be a string or a list of strings, not {}", kind(other)),
        )),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Validates one record's id and payload and borrows its column values. The
/// vector itself is checked by the caller (dimension, finiteness, half range).
pub(crate) fn row_data(ns: VectorNamespace, record: &VectorRecord) -> Result<RowData<'_>> {
    let id = record.id.as_str();
    kv::validate_id(id, MAX_ID_CHARS)?;
    let p = &record.payload;
    let mut row = RowData {
        id,
        vector: &record.vector,
        content: text(id, p, "content", None)?,
        file_path: text(id, p, "file_path", None)?,
        ..RowData::default()
    };
    match ns {
        VectorNamespace::Chunks => {
            row.tokens = int(id, p, "tokens")?;
            row.chunk_order_index = int(id, p, "chunk_order_index")?;
            row.full_doc_id = text(id, p, "full_doc_id", Some(256))?;
        }
        VectorNamespace::Entities => {
            row.entity_name = text(id, p, "entity_name", Some(512))?;
            row.chunk_ids = chunk_ids(id, p)?;
        }
        VectorNamespace::Relationships => {
            row.src_id = text(id, p, "src_id", Some(512))?;
            row.tgt_id = text(id, p, "tgt_id", Some(512))?;
            row.chunk_ids = chunk_ids(id, p)?;
        }
    }
    Ok(row)
}

fn put_text(out: &mut JsonObject, key: &str, v: Option<String>) {
    if let Some(v) = v {
        out.insert(key.to_owned(), Value::String(v));
    }
}

/// A row read with [`crate::columns::select_list`] as LightRAG's payload: its field names, the
/// chunk-id list joined back with `<SEP>` as `source_id`, `created_at` in epoch
/// seconds, and `id` when `with_id`. NULL columns are left out.
///
/// # Errors
/// A column that does not decode (a table not laid out as LightRAG's).
pub(crate) fn render(ns: VectorNamespace, row: &tokio_postgres::Row, with_id: bool) -> Result<JsonObject> {
    let get_text = |name: &str| row.try_get::<_, Option<String>>(name).map_err(lightrag_pg_pool::db_error);
    let get_int = |name: &str| row.try_get::<_, Option<i32>>(name).map_err(lightrag_pg_pool::db_error);
    let mut out = JsonObject::new();
    let joined = || -> Result<Option<String>> {
        let ids: Option<Vec<Option<String>>> = row.try_get("chunk_ids").map_err(lightrag_pg_pool::db_error)?;
        Ok(ids.map(|ids| ids.into_iter().map(Option::unwrap_or_default).collect::<Vec<_>>().join(GRAPH_FIELD_SEP)))
    };
    match ns {
        VectorNamespace::Chunks => {
            put_text(&mut out, "full_doc_id", get_text("full_doc_id")?);
            put_text(&mut out, "content", get_text("content")?);
            put_text(&mut out, "file_path", get_text("file_path")?);
            for key in ["tokens", "chunk_order_index"] {
                if let Some(v) = get_int(key)? {
                    out.insert(key.to_owned(), Value::from(v));
                }
            }
        }
        VectorNamespace::Entities => {
            put_text(&mut out, "entity_name", get_text("entity_name")?);
            put_text(&mut out, "source_id", joined()?);
            put_text(&mut out, "content", get_text("content")?);
            put_text(&mut out, "file_path", get_text("file_path")?);
        }
        VectorNamespace::Relationships => {
            put_text(&mut out, "src_id", get_text("source_id")?);
            put_text(&mut out, "tgt_id", get_text("target_id")?);
            put_text(&mut out, "source_id", joined()?);
            put_text(&mut out, "content", get_text("content")?);
            put_text(&mut out, "file_path", get_text("file_path")?);
        }
    }
    if with_id {
        out.insert("id".to_owned(), Value::String(row.try_get("id").map_err(lightrag_pg_pool::db_error)?));
    }
    let created: Option<i64> = row.try_get("created_at").map_err(lightrag_pg_pool::db_error)?;
    out.insert("created_at".to_owned(), created.map_or(Value::Null, Value::from));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rec(id: &str, payload: Value) -> VectorRecord {
        VectorRecord { id: id.into(), vector: vec![1.0], payload: payload.as_object().unwrap().clone() }
    }

    #[test]
    fn entity_source_id_splits_on_sep_like_python() {
        let r = rec("ent-1", json!({"entity_name": "A", "source_id": "chunk-1<SEP>chunk-2", "content": "c"}));
        let row = row_data(VectorNamespace::Entities, &r).unwrap();
        assert_eq!(row.chunk_ids.unwrap(), ["chunk-1", "chunk-2"]);
        let r = rec("ent-2", json!({"entity_name": "A", "source_id": ""}));
        assert_eq!(row_data(VectorNamespace::Entities, &r).unwrap().chunk_ids.unwrap(), [""]);
    }

    #[test]
    fn relation_endpoints_go_to_source_and_target_columns() {
        let r = rec("rel-1", json!({"src_id": "A", "tgt_id": "B", "source_id": ["c1", "c2"]}));
        let row = row_data(VectorNamespace::Relationships, &r).unwrap();
        assert_eq!((row.src_id, row.tgt_id), (Some("A"), Some("B")));
        assert_eq!(row.chunk_ids.unwrap(), ["c1", "c2"]);
    }

    #[test]
    fn wrong_types_and_sizes_name_the_record_and_field() {
        let cases = [
            (VectorNamespace::Chunks, json!({"tokens": "12"}), "tokens"),
            (VectorNamespace::Chunks, json!({"chunk_order_index": 1.5}), "chunk_order_index"),
            (VectorNamespace::Chunks, json!({"tokens": 1_u64 << 40}), "tokens"),
            (VectorNamespace::Chunks, json!({"content": "a\u{0}b"}), "content"),
            (VectorNamespace::Entities, json!({"entity_name": "x".repeat(513)}), "entity_name"),
            (VectorNamespace::Entities, json!({"source_id": 5}), "source_id"),
            (VectorNamespace::Relationships, json!({"source_id": "c".repeat(256)}), "source_id"),
        ];
        for (ns, payload, field) in cases {
            let err = row_data(ns, &rec("rec-9", payload.clone())).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(err, Error::InvalidInput { .. }) && msg.contains("rec-9") && msg.contains(field),
                "{payload}: {msg}"
            );
        }
    }

    #[test]
    fn ids_are_checked_for_length_and_nul() {
        assert!(row_data(VectorNamespace::Chunks, &rec(&"x".repeat(256), json!({}))).is_err());
        assert!(row_data(VectorNamespace::Chunks, &rec("a\0b", json!({}))).is_err());
        assert!(row_data(VectorNamespace::Chunks, &rec("", json!({}))).is_err());
        assert!(row_data(VectorNamespace::Chunks, &rec(&"x".repeat(255), json!({"tokens": 3.0}))).is_ok());
    }
}
