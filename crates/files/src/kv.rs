//! `JsonKVStorage` files: `kv_store_<namespace>.json`, one object `{id: record}`.
//!
//! Reading normalises the records the way LightRAG does when it loads them, then
//! checks each against the namespace's contract
//! ([`lightrag_pg_core::kv::validate_record`]):
//! * `_id` (a copy of the key the storage adds) is dropped;
//! * the legacy nested LLM cache `{mode: {hash: entry}}` is flattened into
//!   `{mode}:{cache_type}:{hash}` keys; `cache_type` comes from the entry, else
//!   `extract` for mode `default`, else `unknown` (LightRAG's fallback type);
//!   an entry without `cache_type` gets the one its key names;
//! * `text_chunks` records get `llm_cache_list: []` when missing (as LightRAG's
//!   upsert does) and `file_path: "unknown_source"` (LightRAG's marker for an
//!   unknown source, required by the PostgreSQL tables) — both counted;
//! * old-v0 quoted entity names are unquoted when the policy says so
//!   ([`crate::names`]).
//!
//! A record that still breaks the contract is skipped and reported, never
//! silently dropped. Writing adds `_id` and keeps `create_time`/`update_time`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use lightrag_pg_core::{JsonObject, KvNamespace, kv};
use serde_json::Value;

use crate::error::MigrateError;
use crate::jsonio;
use crate::names::LegacyNames;
use crate::report::{SkipReason, SkippedRecord};

/// The file name of a key-value namespace: `kv_store_<namespace>.json`.
pub fn file_name(ns: KvNamespace) -> String {
    format!("kv_store_{}.json", ns.as_str())
}

/// A key-value file, read and normalised.
#[derive(Debug, Clone, Default)]
pub struct KvFile {
    /// Valid records, in file order (flattened cache entries in place of their mode).
    pub records: Vec<(String, JsonObject)>,
    /// Records that break the namespace's contract.
    pub skipped: Vec<SkippedRecord>,
    /// Legacy nested cache entries flattened.
    pub flattened: u64,
    /// Whether a key had the flat `mode:type:hash` form (LLM cache only).
    pub flat_cache_keys: bool,
    /// Fields filled with defaults, and how often.
    pub defaults_filled: BTreeMap<String, u64>,
    /// Keys that occurred more than once after normalisation (the last wins).
    pub duplicates: Vec<String>,
    /// Field names seen in the records (for format detection).
    pub fields: HashSet<String>,
}

/// Whether a top-level entry of an LLM-cache file is a legacy mode bucket
/// (`{hash: {"return": …}, …}`), as LightRAG's `_migrate_legacy_cache_structure`
/// decides it.
fn is_legacy_mode(key: &str, value: &Value) -> bool {
    let flat = key.split(':').count() == 3;
    !flat
        && matches!(value, Value::Object(m) if m.values().all(|v| matches!(v, Value::Object(e) if e.contains_key("return"))))
}

/// Reads and normalises a key-value file (all of it in memory; see
/// [`read_each`] for a stream).
///
/// # Errors
/// [`MigrateError::Io`] or [`MigrateError::Malformed`] (invalid JSON, not an
/// object) naming the file and the line and column.
pub fn read(path: &Path, ns: KvNamespace, names: LegacyNames) -> Result<KvFile, MigrateError> {
    let mut records: Vec<(String, JsonObject)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut out = read_each(path, ns, names, |id, record, first| {
        if first {
            at.insert(id.clone(), records.len());
            records.push((id, record));
        } else if let Some(i) = at.get(&id) {
            records[*i].1 = record;
        }
        Ok(())
    })?;
    out.records = records;
    Ok(out)
}

/// Reads and normalises a key-value file as a stream: `each` gets every valid
/// record in file order (flattened cache entries in place of their mode) with
/// whether its id is met for the first time (a repeated id is passed again; the
/// last copy wins). Returns the rest of [`KvFile`] (`records` empty).
///
/// # Errors
/// As [`read`], and `each`'s first error.
pub fn read_each(
    path: &Path,
    ns: KvNamespace,
    names: LegacyNames,
    mut each: impl FnMut(String, JsonObject, bool) -> Result<(), MigrateError>,
) -> Result<KvFile, MigrateError> {
    let mut out = KvFile::default();
    let mut seen = HashSet::new();
    let store = ns.as_str();
    let mut push = |out: &mut KvFile, id: String, value: Value| -> Result<(), MigrateError> {
        let Value::Object(mut record) = value else {
            out.skipped.push(SkippedRecord {
                store: store.to_owned(),
                id,
                reason: SkipReason::InvalidRecord,
                detail: format!("the record is {}, not a JSON object", jsonio::kind(&value)),
            });
            return Ok(());
        };
        record.remove("_id");
        out.fields.extend(record.keys().cloned());
        let mut filled = BTreeMap::new();
        let id = normalise(ns, id, &mut record, names, &mut filled);
        if let Err(e) = kv::validate_record(ns, &id, &record) {
            out.skipped.push(SkippedRecord {
                store: store.to_owned(),
                id,
                reason: SkipReason::InvalidRecord,
                detail: e.to_string(),
            });
            return Ok(());
        }
        for (field, n) in filled {
            *out.defaults_filled.entry(field).or_default() += n;
        }
        let first = seen.insert(id.clone());
        if !first {
            out.duplicates.push(id.clone());
        }
        each(id, record, first)
    };
    jsonio::for_each_entry(path, |key, value| {
        if ns == KvNamespace::LlmResponseCache && is_legacy_mode(&key, &value) {
            let Value::Object(entries) = value else { unreachable!("checked by is_legacy_mode") };
            for (hash, entry) in entries {
                let Value::Object(mut entry) = entry else { unreachable!("checked by is_legacy_mode") };
                let cache_type = match entry.get("cache_type") {
                    Some(Value::String(t)) if !t.is_empty() => t.clone(),
                    _ => {
                        let t = if key == "default" { "extract" } else { "unknown" };
                        entry.insert("cache_type".to_owned(), Value::from(t));
                        *out.defaults_filled.entry("cache_type".to_owned()).or_default() += 1;
                        t.to_owned()
                    }
                };
                let flat = lightrag_pg_core::ids::llm_cache_key(&key, &cache_type, &hash);
                out.flattened += 1;
                push(&mut out, flat, Value::Object(entry))?;
            }
            return Ok(());
        }
        if ns == KvNamespace::LlmResponseCache && key.split(':').count() == 3 {
            out.flat_cache_keys = true;
        }
        push(&mut out, key, value)
    })?;
    Ok(out)
}

/// Applies LightRAG's load-time defaults and the legacy-name policy; returns the
/// (possibly renamed) id.
fn normalise(
    ns: KvNamespace,
    id: String,
    record: &mut JsonObject,
    names: LegacyNames,
    filled: &mut BTreeMap<String, u64>,
) -> String {
    let mut fill = |record: &mut JsonObject, field: &str, value: Value| {
        if !record.contains_key(field) {
            record.insert(field.to_owned(), value);
            *filled.entry(field.to_owned()).or_default() += 1;
        }
    };
    match ns {
        KvNamespace::TextChunks => {
            fill(record, "llm_cache_list", Value::Array(Vec::new()));
            fill(record, "file_path", Value::from("unknown_source"));
            id
        }
        KvNamespace::EntityChunks => names.name_owned(id),
        KvNamespace::RelationChunks => names.relation_key(&id),
        KvNamespace::FullEntities => {
            if names.strip_quotes
                && let Some(Value::Array(list)) = record.get_mut("entity_names")
            {
                for v in list.iter_mut() {
                    if let Value::String(s) = v {
                        *s = names.name_owned(std::mem::take(s));
                    }
                }
            }
            id
        }
        KvNamespace::FullRelations => {
            if names.strip_quotes
                && let Some(Value::Array(pairs)) = record.get_mut("relation_pairs")
            {
                for v in pairs.iter_mut().filter_map(Value::as_array_mut).flatten() {
                    if let Value::String(s) = v {
                        *s = names.name_owned(std::mem::take(s));
                    }
                }
            }
            id
        }
        _ => id,
    }
}

/// Turns a record read from a storage into what `JsonKVStorage` keeps on disk:
/// `id` becomes `_id`; the PostgreSQL backend's `return_value` copy of an LLM
/// cache entry's `return` is dropped.
pub fn to_file_record(ns: KvNamespace, id: &str, mut record: JsonObject) -> JsonObject {
    record.remove("id");
    if ns == KvNamespace::LlmResponseCache && record.contains_key("return") {
        record.remove("return_value");
    }
    record.insert("_id".to_owned(), Value::from(id));
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, name: &str, v: Value) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
        p
    }

    #[test]
    fn legacy_nested_cache_is_flattened_like_lightrag() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "c.json",
            json!({
                "default": {"h1": {"return": "r", "cache_type": "extract", "original_prompt": "p"}},
                "hybrid": {"h2": {"return": "r", "cache_type": "keywords", "original_prompt": "q"},
                           "h3": {"return": "r", "original_prompt": "q"}},
                "default:extract:h4": {"return": "r", "original_prompt": "p", "_id": "default:extract:h4"}
            }),
        );
        let f = read(&p, KvNamespace::LlmResponseCache, LegacyNames::KEEP).unwrap();
        let keys: Vec<&str> = f.records.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["default:extract:h1", "hybrid:keywords:h2", "hybrid:unknown:h3", "default:extract:h4"]);
        assert_eq!(f.flattened, 3);
        assert!(f.flat_cache_keys);
        assert!(!f.records[3].1.contains_key("_id"));
        assert_eq!(f.records[2].1["cache_type"], "unknown");
    }

    #[test]
    fn text_chunks_get_lightrag_defaults_and_bad_records_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "t.json",
            json!({
                "chunk-1": {"tokens": 3, "content": "abc", "chunk_order_index": 0, "full_doc_id": "doc-1"},
                "chunk-2": {"tokens": "many", "content": "x", "chunk_order_index": 0, "full_doc_id": "doc-1"},
                "chunk-3": "not an object"
            }),
        );
        let f = read(&p, KvNamespace::TextChunks, LegacyNames::KEEP).unwrap();
        assert_eq!(f.records.len(), 1);
        assert_eq!(f.records[0].1["llm_cache_list"], json!([]));
        assert_eq!(f.records[0].1["file_path"], "unknown_source");
        assert_eq!(f.defaults_filled["file_path"], 1);
        let ids: Vec<&str> = f.skipped.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["chunk-2", "chunk-3"]);
        assert!(f.skipped[0].detail.contains("tokens"), "{}", f.skipped[0].detail);
    }

    #[test]
    fn legacy_names_are_unquoted_in_keys_and_lists() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "r.json", json!({"\"Z\"<SEP>\"A\"": {"chunk_ids": ["c"], "count": 1}}));
        let f = read(&p, KvNamespace::RelationChunks, LegacyNames::STRIP).unwrap();
        assert_eq!(f.records[0].0, "A<SEP>Z");
        let p = write(dir.path(), "e.json", json!({"doc-1": {"entity_names": ["\"X\""], "count": 1}}));
        let f = read(&p, KvNamespace::FullEntities, LegacyNames::STRIP).unwrap();
        assert_eq!(f.records[0].1["entity_names"], json!(["X"]));
    }

    #[test]
    fn file_records_carry_id_as_underscore_id() {
        let rec = json!({"id": "k", "return": "r", "return_value": "r", "create_time": 1}).as_object().unwrap().clone();
        let out = to_file_record(KvNamespace::LlmResponseCache, "k", rec);
        assert_eq!(Value::Object(out), json!({"return": "r", "create_time": 1, "_id": "k"}));
    }
}
