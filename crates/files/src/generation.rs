//! Which LightRAG version wrote a working directory, told from markers in the
//! files (see `shared/datasets/README.md`, "Format generations seen").
//!
//! | generation | typical markers |
//! |---|---|
//! | `old-v0` (≈ v1.1, early 2025) | nested LLM cache `{mode: {hash: entry}}`, quoted node ids `"NAME"`, vector rows without `content` |
//! | `old-v1` (≈ v1.3/1.4) | flat cache keys `mode:type:hash`, GraphML `entity_id`, doc status `chunks_list` |
//! | `new` (≈ v1.4.9+) | `kv_store_full_entities.json` & co., per-row `vector`, GraphML `truncate`, doc status `track_id` |
//! | `1.5.7` | chunk ids `doc-<md5>-chunk-NNN`, doc status `content_hash`, `__write_seq__` rows, full-doc `parse_format` |
//!
//! The newest generation with a marker wins; the markers are listed in the report.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A format generation, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub enum FormatGeneration {
    /// No marker found (for example an empty directory).
    #[default]
    #[serde(rename = "unknown")]
    Unknown,
    /// ≈ LightRAG 1.1, early 2025.
    #[serde(rename = "old-v0")]
    OldV0,
    /// ≈ LightRAG 1.3/1.4, mid 2025.
    #[serde(rename = "old-v1")]
    OldV1,
    /// ≈ LightRAG 1.4.9 and later, late 2025.
    #[serde(rename = "new")]
    New,
    /// LightRAG 1.5.7's layout.
    #[serde(rename = "1.5.7")]
    V1_5_7,
}

impl FormatGeneration {
    /// The name used in reports: `old-v0`, `old-v1`, `new`, `1.5.7`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::OldV0 => "old-v0",
            Self::OldV1 => "old-v1",
            Self::New => "new",
            Self::V1_5_7 => "1.5.7",
        }
    }
}

impl std::fmt::Display for FormatGeneration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Markers collected while reading a directory.
#[derive(Debug, Clone, Default)]
pub struct Markers {
    found: BTreeSet<(FormatGeneration, String)>,
}

impl Markers {
    /// Records that `marker` (a short description) points to `generation`.
    pub fn add(&mut self, generation: FormatGeneration, marker: impl Into<String>) {
        self.found.insert((generation, marker.into()));
    }

    /// The newest generation with a marker.
    pub fn generation(&self) -> FormatGeneration {
        self.found.iter().map(|(g, _)| *g).max().unwrap_or_default()
    }

    /// The markers as `"<generation>: <marker>"`, newest first.
    pub fn describe(&self) -> Vec<String> {
        self.found.iter().rev().map(|(g, m)| format!("{g}: {m}")).collect()
    }
}

/// Whether a chunk id has 1.5.7's `doc-<md5>-chunk-NNN` form.
pub fn is_v157_chunk_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("doc-") else { return false };
    let Some((hash, n)) = rest.split_once("-chunk-") else { return false };
    hash.len() == 32
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_marker_wins() {
        let mut m = Markers::default();
        assert_eq!(m.generation(), FormatGeneration::Unknown);
        m.add(FormatGeneration::OldV1, "flat cache");
        m.add(FormatGeneration::New, "full_entities file");
        m.add(FormatGeneration::OldV0, "vector rows without content");
        assert_eq!(m.generation(), FormatGeneration::New);
        assert_eq!(m.describe()[0], "new: full_entities file");
    }

    #[test]
    fn generation_serialises_to_its_report_name() {
        assert_eq!(serde_json::to_value(FormatGeneration::V1_5_7).unwrap(), "1.5.7");
        assert_eq!(serde_json::to_value(FormatGeneration::OldV0).unwrap(), "old-v0");
    }

    #[test]
    fn recognises_157_chunk_ids() {
        assert!(is_v157_chunk_id("doc-8cc72bde17b0c4718c7cd79989722cce-chunk-000"));
        assert!(!is_v157_chunk_id("chunk-8cc72bde17b0c4718c7cd79989722cce"));
    }
}
