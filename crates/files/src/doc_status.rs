//! `JsonDocStatusStorage` files: `kv_store_doc_status.json`,
//! `{doc_id: {content_summary, content_length, file_path, status, …}}`.
//!
//! Reading is tolerant, as LightRAG is when it loads the file:
//! * missing keys take defaults: `file_path` → `no-file-path` (what LightRAG's
//!   JSON backend substitutes), `chunks_list` → `[]`, `metadata` → `{}`,
//!   `content_summary` → `""`, `content_length` → the length of `content` when
//!   the record carries it, else 0 — each counted in the report;
//! * timestamps may be ISO strings with or without a zone (no zone = UTC, as the
//!   old-v0 files were written with naive UTC times), or epoch numbers;
//! * a `content_summary` longer than the 255 characters the tables take is cut
//!   to 255 characters (counted);
//! * the duplicated full text `content` (old-v1) and any field outside
//!   LightRAG's `DocProcessingStatus` (RAG-Anything's `multimodal_processed`, …)
//!   are dropped and counted per field name;
//! * a record without a recognisable `status` is skipped and reported.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use lightrag_pg_core::doc_status::parse_iso;
use lightrag_pg_core::{DocProcessingStatus, DocStatus, JsonObject};
use serde_json::Value;

use crate::error::MigrateError;
use crate::jsonio;
use crate::report::{SkipReason, SkippedRecord};

/// The file name: `kv_store_doc_status.json`.
pub const FILE_NAME: &str = "kv_store_doc_status.json";

/// The store name used in reports.
pub const STORE: &str = "doc_status";

/// LightRAG's `file_path` for a document whose record has none.
pub const NO_FILE_PATH: &str = "no-file-path";

const KNOWN: [&str; 12] = [
    "content_summary",
    "content_length",
    "file_path",
    "status",
    "created_at",
    "updated_at",
    "track_id",
    "chunks_count",
    "chunks_list",
    "error_msg",
    "metadata",
    "content_hash",
];

/// A doc-status file, read and normalised.
#[derive(Debug, Clone, Default)]
pub struct DocStatusFile {
    /// Valid records in file order.
    pub records: Vec<(String, DocProcessingStatus)>,
    /// Records that could not be turned into a status record.
    pub skipped: Vec<SkippedRecord>,
    /// Dropped fields and how many records had each.
    pub dropped_fields: BTreeMap<String, u64>,
    /// Defaults filled per field.
    pub defaults_filled: BTreeMap<String, u64>,
    /// Field names seen (for format detection).
    pub fields: std::collections::HashSet<String>,
    /// Whether a timestamp had no zone (old-v0 marker).
    pub naive_timestamps: bool,
}

/// Reads a doc-status file.
///
/// # Errors
/// [`MigrateError::Io`] or [`MigrateError::Malformed`] (invalid JSON, not an
/// object) naming the file and the line and column.
pub fn read(path: &Path) -> Result<DocStatusFile, MigrateError> {
    let mut out = DocStatusFile::default();
    // Streamed: the file's JSON is never held whole, only the parsed records.
    jsonio::for_each_entry(path, |id, value| {
        let Value::Object(record) = value else {
            out.skipped.push(skip(&id, format!("the record is {}, not a JSON object", jsonio::kind(&value))));
            return Ok(());
        };
        out.fields.extend(record.keys().cloned());
        match parse_record(record, &mut out) {
            Ok(doc) => match doc.validate(&id) {
                Ok(()) => out.records.push((id, doc)),
                Err(e) => out.skipped.push(skip(&id, e.to_string())),
            },
            Err(reason) => out.skipped.push(skip(&id, reason)),
        }
        Ok(())
    })?;
    Ok(out)
}

fn skip(id: &str, detail: String) -> SkippedRecord {
    SkippedRecord { store: STORE.to_owned(), id: id.to_owned(), reason: SkipReason::InvalidRecord, detail }
}

fn count(map: &mut BTreeMap<String, u64>, key: &str) {
    *map.entry(key.to_owned()).or_default() += 1;
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn time(v: Option<&Value>, naive: &mut bool) -> Result<Option<DateTime<Utc>>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => {
            let t = parse_iso(s).ok_or(())?;
            let has_zone = s.ends_with('Z') || s.ends_with('z') || s.rfind(['+', '-']).is_some_and(|i| i > 10);
            if !has_zone {
                *naive = true;
            }
            Ok(Some(t))
        }
        Some(Value::Number(n)) => {
            let secs = n.as_f64().ok_or(())?;
            let micros = (secs * 1e6).round() as i64;
            Ok(DateTime::from_timestamp_micros(micros))
        }
        Some(_) => Err(()),
    }
}

/// Turns one JSON record into a [`DocProcessingStatus`], or says why it cannot.
fn parse_record(mut r: JsonObject, out: &mut DocStatusFile) -> Result<DocProcessingStatus, String> {
    let status = match r.get("status") {
        Some(Value::String(s)) => s.parse::<DocStatus>().map_err(|_| format!("unknown status {s:?}"))?,
        Some(other) => return Err(format!("status is {}, not a string", jsonio::kind(other))),
        None => return Err("the record has no status".to_owned()),
    };
    let content = r.remove("content");
    if content.is_some() {
        count(&mut out.dropped_fields, "content");
    }
    for key in r.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
        count(&mut out.dropped_fields, key);
    }

    let mut content_summary = match text(r.get("content_summary")) {
        Some(s) => s,
        None => {
            count(&mut out.defaults_filled, "content_summary");
            String::new()
        }
    };
    if content_summary.chars().count() > 255 {
        content_summary = content_summary.chars().take(255).collect();
        count(&mut out.defaults_filled, "content_summary (cut to 255 characters)");
    }
    let content_length = match r.get("content_length").and_then(int) {
        Some(n) => n,
        None => {
            count(&mut out.defaults_filled, "content_length");
            match &content {
                Some(Value::String(c)) => c.chars().count() as i64,
                _ => 0,
            }
        }
    };
    let file_path = match text(r.get("file_path")) {
        Some(s) if !s.is_empty() => s,
        _ => {
            count(&mut out.defaults_filled, "file_path");
            NO_FILE_PATH.to_owned()
        }
    };
    let created_at = time(r.get("created_at"), &mut out.naive_timestamps)
        .map_err(|()| format!("created_at {} is not a time", r["created_at"]))?;
    let updated_at = time(r.get("updated_at"), &mut out.naive_timestamps)
        .map_err(|()| format!("updated_at {} is not a time", r["updated_at"]))?;
    let chunks_list = match r.get("chunks_list") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| "chunks_list holds a non-string".to_owned()))
            .collect::<Result<Vec<_>, _>>()?,
        None | Some(Value::Null) => {
            count(&mut out.defaults_filled, "chunks_list");
            Vec::new()
        }
        Some(other) => return Err(format!("chunks_list is {}, not a list", jsonio::kind(other))),
    };
    let metadata = match r.remove("metadata") {
        Some(Value::Object(m)) => m,
        None | Some(Value::Null) => {
            count(&mut out.defaults_filled, "metadata");
            JsonObject::new()
        }
        Some(other) => return Err(format!("metadata is {}, not an object", jsonio::kind(&other))),
    };
    let chunks_count = match r.get("chunks_count") {
        None | Some(Value::Null) => None,
        Some(v) => Some(int(v).ok_or_else(|| format!("chunks_count {v} is not an integer"))?),
    };
    Ok(DocProcessingStatus {
        content_summary,
        content_length,
        file_path,
        status,
        created_at,
        updated_at,
        track_id: text(r.get("track_id")),
        chunks_count,
        chunks_list,
        error_msg: text(r.get("error_msg")),
        metadata,
        content_hash: text(r.get("content_hash")),
    })
}

/// The record as LightRAG's JSON backend stores it (ISO `+00:00` timestamps).
pub fn to_file_record(doc: &DocProcessingStatus) -> Value {
    serde_json::to_value(doc).expect("a status record serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read_value(v: Value) -> DocStatusFile {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE_NAME);
        std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
        read(&p).unwrap()
    }

    #[test]
    fn old_v0_record_with_naive_times_and_missing_keys_is_accepted() {
        let f = read_value(json!({"doc-1": {
            "content_summary": "s", "content_length": 9517, "status": "processed",
            "created_at": "2025-02-02T16:27:29.918205", "updated_at": "2025-02-02T16:28:08.452133",
            "chunks_count": 2
        }}));
        let (id, d) = &f.records[0];
        assert_eq!(id, "doc-1");
        assert_eq!(d.file_path, NO_FILE_PATH);
        assert_eq!(d.chunks_list, Vec::<String>::new());
        assert_eq!(d.created_at.unwrap().to_rfc3339(), "2025-02-02T16:27:29.918205+00:00");
        assert!(f.naive_timestamps);
        assert_eq!(f.defaults_filled["file_path"], 1);
    }

    #[test]
    fn duplicated_content_and_unknown_fields_are_dropped_and_counted() {
        let f = read_value(json!({"doc-1": {
            "content_summary": "s", "content_length": 3, "status": "processed", "file_path": "a.pdf",
            "content": "abc", "multimodal_processed": true,
            "created_at": "2025-07-24T09:00:41.211066+00:00"
        }}));
        assert_eq!(f.records.len(), 1);
        assert_eq!(f.dropped_fields["content"], 1);
        assert_eq!(f.dropped_fields["multimodal_processed"], 1);
        assert!(!f.naive_timestamps);
    }

    #[test]
    fn a_record_without_status_is_skipped_with_its_id() {
        let f = read_value(json!({"doc-x": {"content_summary": "s"}, "doc-y": {"status": "weird"}}));
        assert!(f.records.is_empty());
        assert_eq!(f.skipped.len(), 2);
        assert_eq!(f.skipped[0].id, "doc-x");
        assert!(f.skipped[1].detail.contains("weird"));
    }

    #[test]
    fn failed_doc_without_chunks_count_keeps_its_error() {
        let f = read_value(json!({"doc-f": {
            "content_summary": "s", "content_length": 3, "status": "failed", "file_path": "x",
            "chunks_list": [], "error_msg": "429 RESOURCE_EXHAUSTED", "metadata": {"a": 1},
            "track_id": "t"
        }}));
        let d = &f.records[0].1;
        assert_eq!(d.status, DocStatus::Failed);
        assert_eq!(d.chunks_count, None);
        assert_eq!(d.error_msg.as_deref(), Some("429 RESOURCE_EXHAUSTED"));
        assert_eq!(d.metadata["a"], 1);
    }
}
