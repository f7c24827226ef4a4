//! Document status: the pipeline states, the per-document record, paging and the
//! keyset cursor.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, JsonObject};

/// A document's pipeline state (LightRAG's `DocStatus`), stored as its lower-case
/// string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocStatus {
    /// Queued.
    Pending,
    /// Being parsed.
    Parsing,
    /// Being analysed (optional step).
    Analyzing,
    /// Chunks and entities being extracted.
    Processing,
    /// Deprecated: processed without multimodal processing.
    Preprocessed,
    /// Done.
    Processed,
    /// Failed; see `error_msg`.
    Failed,
}

impl DocStatus {
    /// All states, in pipeline order.
    pub const ALL: [DocStatus; 7] = [
        Self::Pending,
        Self::Parsing,
        Self::Analyzing,
        Self::Processing,
        Self::Preprocessed,
        Self::Processed,
        Self::Failed,
    ];

    /// The stored string, e.g. `processed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Parsing => "parsing",
            Self::Analyzing => "analyzing",
            Self::Processing => "processing",
            Self::Preprocessed => "preprocessed",
            Self::Processed => "processed",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for DocStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DocStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::invalid(s, "not a document status"))
    }
}

/// One document's status record (LightRAG's `DocProcessingStatus`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocProcessingStatus {
    /// The first characters of the document (at most 255).
    pub content_summary: String,
    /// The document's length in characters.
    pub content_length: i64,
    /// The source file's name, `unknown_source` when unknown.
    pub file_path: String,
    /// The pipeline state.
    pub status: DocStatus,
    /// When the document entered the pipeline (UTC). Never changed by an upsert.
    #[serde(with = "iso_utc_opt", default)]
    pub created_at: Option<DateTime<Utc>>,
    /// When the record last changed (UTC).
    #[serde(with = "iso_utc_opt", default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// The insertion batch's track id.
    #[serde(default)]
    pub track_id: Option<String>,
    /// Number of chunks, once known.
    #[serde(default)]
    pub chunks_count: Option<i64>,
    /// The chunk ids.
    #[serde(default)]
    pub chunks_list: Vec<String>,
    /// Why processing failed.
    #[serde(default)]
    pub error_msg: Option<String>,
    /// Free-form metadata (`is_duplicate`, `original_doc_id`, …).
    #[serde(default)]
    pub metadata: JsonObject,
    /// The content's hash, used to find duplicates. Write-once: an empty value never
    /// clears a stored one.
    #[serde(default)]
    pub content_hash: Option<String>,
}

impl DocProcessingStatus {
    /// A record in `status` with the given summary, length and file, created now.
    pub fn new(status: DocStatus, content_summary: &str, content_length: i64, file_path: &str) -> Self {
        let now = Utc::now();
        Self {
            content_summary: content_summary.to_owned(),
            content_length,
            file_path: file_path.to_owned(),
            status,
            created_at: Some(now),
            updated_at: Some(now),
            track_id: None,
            chunks_count: None,
            chunks_list: Vec::new(),
            error_msg: None,
            metadata: JsonObject::new(),
            content_hash: None,
        }
    }

    /// Whether this is a primary row (`metadata.is_duplicate` is not true).
    pub fn is_primary(&self) -> bool {
        self.metadata.get("is_duplicate").and_then(serde_json::Value::as_bool) != Some(true)
    }

    /// Checks the limits of LightRAG's columns before anything is written.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the document id and the field.
    pub fn validate(&self, id: &str) -> Result<(), Error> {
        crate::kv::validate_id(id, 255)?;
        let n = self.content_summary.chars().count();
        if n > 255 {
            return Err(Error::invalid(id, format!("content_summary has {n} characters; at most 255")));
        }
        if self.track_id.as_ref().is_some_and(|t| t.chars().count() > 255) {
            return Err(Error::invalid(id, "track_id is longer than 255 characters"));
        }
        let texts = [
            Some(&self.content_summary),
            Some(&self.file_path),
            self.track_id.as_ref(),
            self.error_msg.as_ref(),
            self.content_hash.as_ref(),
        ];
        if texts.iter().flatten().any(|s| s.contains('\0')) || self.chunks_list.iter().any(|s| s.contains('\0')) {
            return Err(Error::invalid(id, "a text field contains a NUL byte"));
        }
        if let Some(field) = crate::kv::first_nul(&self.metadata) {
            return Err(Error::invalid(id, format!("metadata field '{field}' contains a NUL byte")));
        }
        crate::kv::check_depth(id, &self.metadata)
    }
}

/// Status counts of one workspace (LightRAG's `get_status_counts` and
/// `get_all_status_counts`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// Documents per status; statuses with no document are absent.
    pub counts: BTreeMap<DocStatus, u64>,
    /// All documents (`"all"`).
    pub total: u64,
}

impl StatusCounts {
    /// The count for one status, 0 when absent.
    pub fn count(&self, status: DocStatus) -> u64 {
        self.counts.get(&status).copied().unwrap_or(0)
    }
}

/// The field a paginated listing sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortField {
    /// `created_at`.
    CreatedAt,
    /// `updated_at` (LightRAG's default).
    #[default]
    UpdatedAt,
    /// `id`.
    Id,
    /// `file_path`.
    FilePath,
}

impl SortField {
    /// The column name.
    pub fn column(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::Id => "id",
            Self::FilePath => "file_path",
        }
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortDirection {
    /// Ascending.
    Asc,
    /// Descending (LightRAG's default).
    #[default]
    Desc,
}

/// A page request for `get_docs_paginated`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// Only these statuses; empty = all.
    pub status_filter: Vec<DocStatus>,
    /// 1-based page number (values below 1 mean 1).
    pub page: u32,
    /// Page size, clamped to 10..=200 like LightRAG.
    pub page_size: u32,
    /// Sort field.
    pub sort_field: SortField,
    /// Sort direction. Ties are broken by `id` in the same direction, so pages are
    /// stable (LightRAG's are not).
    pub sort_direction: SortDirection,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            status_filter: Vec::new(),
            page: 1,
            page_size: 50,
            sort_field: SortField::UpdatedAt,
            sort_direction: SortDirection::Desc,
        }
    }
}

impl PageRequest {
    /// The request with LightRAG's bounds applied: page ≥ 1, page size in 10..=200.
    pub fn normalized(&self) -> Self {
        let mut r = self.clone();
        r.page = r.page.max(1);
        r.page_size = r.page_size.clamp(10, 200);
        r
    }

    /// The row offset of the (normalised) page.
    pub fn offset(&self) -> u64 {
        let r = self.normalized();
        u64::from(r.page - 1) * u64::from(r.page_size)
    }
}

/// One page of a paginated listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PagedDocs {
    /// `(id, record)` in the requested order.
    pub docs: Vec<(String, DocProcessingStatus)>,
    /// All matching documents.
    pub total: u64,
}

/// Position in a keyset sweep over `(created_at ASC NULLS FIRST, id ASC)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocStatusCursor {
    /// Before the first row.
    Start,
    /// After the row this opaque text encodes (LightRAG's
    /// `["<iso>+00:00" | null, "<id>"]`).
    After(String),
    /// The sweep is complete.
    End,
}

impl DocStatusCursor {
    /// Encodes the position after a row, in LightRAG's cursor text.
    pub fn after(created_at: Option<DateTime<Utc>>, id: &str) -> Self {
        let c = created_at.map(format_iso);
        Self::After(serde_json::json!([c, id]).to_string())
    }

    /// Decodes an `After` cursor into `(created_at, id)`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the text is not a cursor.
    pub fn decode(text: &str) -> Result<(Option<DateTime<Utc>>, String), Error> {
        let bad = || Error::invalid(text, "not a doc-status cursor");
        let v: (Option<String>, String) = serde_json::from_str(text).map_err(|_| bad())?;
        let created = match v.0 {
            Some(s) => Some(parse_iso(&s).ok_or_else(bad)?),
            None => None,
        };
        Ok((created, v.1))
    }
}

/// One page of a keyset sweep (`get_docs_by_statuses_page`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocStatusPage {
    /// `(id, record)` in `(created_at, id)` order.
    pub docs: Vec<(String, DocProcessingStatus)>,
    /// Where the next page starts; [`DocStatusCursor::End`] when done.
    pub next: DocStatusCursor,
}

/// Formats a time as LightRAG does: `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`.
pub fn format_iso(t: DateTime<Utc>) -> String {
    let naive = t.naive_utc();
    if naive.and_utc().timestamp_subsec_micros() == 0 {
        format!("{}+00:00", naive.format("%Y-%m-%dT%H:%M:%S"))
    } else {
        format!("{}+00:00", naive.format("%Y-%m-%dT%H:%M:%S%.6f"))
    }
}

/// Parses an ISO time with an offset, `Z`, or none (naive = UTC).
pub fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f%:z"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    None
}

mod iso_utc_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::format_iso(*t)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let v = Option::<serde_json::Value>::deserialize(d)?;
        Ok(match v {
            Some(serde_json::Value::String(s)) => super::parse_iso(&s),
            Some(serde_json::Value::Number(n)) => n.as_i64().and_then(|x| DateTime::from_timestamp(x, 0)),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_format_matches_python_isoformat() {
        let t = DateTime::parse_from_rfc3339("2025-01-02T03:04:05Z").unwrap().with_timezone(&Utc);
        assert_eq!(format_iso(t), "2025-01-02T03:04:05+00:00");
        let t2 = DateTime::parse_from_rfc3339("2025-01-02T03:04:05.5Z").unwrap().with_timezone(&Utc);
        assert_eq!(format_iso(t2), "2025-01-02T03:04:05.500000+00:00");
        assert_eq!(parse_iso("2025-01-02T03:04:05+00:00"), Some(t));
        assert_eq!(parse_iso("2025-01-02T03:04:05"), Some(t));
    }

    #[test]
    fn cursor_text_is_lightrags_json_pair() {
        let t = parse_iso("2025-01-02T03:04:05+00:00");
        let DocStatusCursor::After(text) = DocStatusCursor::after(t, "doc-1") else { panic!() };
        assert_eq!(text, r#"["2025-01-02T03:04:05+00:00","doc-1"]"#);
        assert_eq!(DocStatusCursor::decode(&text).unwrap(), (t, "doc-1".to_owned()));
        assert!(DocStatusCursor::decode("garbage").is_err());
    }

    #[test]
    fn page_request_is_clamped_like_lightrag() {
        let r = PageRequest { page: 0, page_size: 5000, ..Default::default() }.normalized();
        assert_eq!((r.page, r.page_size), (1, 200));
        assert_eq!(PageRequest { page: 3, page_size: 10, ..Default::default() }.offset(), 20);
    }

    #[test]
    fn record_deserialises_from_lightrag_json() {
        let v = serde_json::json!({
            "content_summary": "s", "content_length": 3, "file_path": "a.txt",
            "status": "processed", "created_at": "2025-01-02T03:04:05+00:00",
            "updated_at": "2025-01-02T03:04:05+00:00", "chunks_list": ["c1"],
            "multimodal_processed": true
        });
        let d: DocProcessingStatus = serde_json::from_value(v).unwrap();
        assert_eq!(d.status, DocStatus::Processed);
        assert_eq!(d.chunks_list, vec!["c1".to_owned()]);
        assert!(d.is_primary());
    }
}
