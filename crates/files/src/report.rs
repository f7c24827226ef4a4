//! The migration and export reports: plain serde structs whose JSON form is
//! stable (field names and meanings are documented in the crate README and
//! only ever grow).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use lightrag_pg_core::VectorLoad;

use crate::generation::FormatGeneration;

/// Why a record was not written. Serialised as its snake-case code, which is
/// also its [`Display`](fmt::Display) form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// The vector has a NaN component (pgvector refuses it). nano-vectordb
    /// writes an all-NaN matrix row when it normalises a zero vector.
    NanVector,
    /// The vector has an infinite component (pgvector refuses it).
    InfiniteVector,
    /// The vector is all zeros: it has no cosine direction and could never be
    /// found.
    ZeroVector,
    /// The row's own vector has another length than the file's `embedding_dim`.
    DimensionMismatch,
    /// The record breaks the store's contract (missing required field, wrong
    /// JSON shape, over-long id, NUL byte, unknown status, no id, …).
    InvalidRecord,
}

impl SkipReason {
    /// The reason code, as serialised (`nan_vector`, `zero_vector`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NanVector => "nan_vector",
            Self::InfiniteVector => "infinite_vector",
            Self::ZeroVector => "zero_vector",
            Self::DimensionMismatch => "dimension_mismatch",
            Self::InvalidRecord => "invalid_record",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One record that was not written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRecord {
    /// The store (`vectors.entities`, `text_chunks`, `graph.nodes`, …).
    pub store: String,
    /// The record's id (`row <n>` when it has none).
    pub id: String,
    /// The reason code.
    pub reason: SkipReason,
    /// A human-readable detail.
    pub detail: String,
}

/// Something worth knowing about the data that did not stop it from being
/// written: orphans, duplicates, re-keyed legacy ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// The store the records belong to.
    pub store: String,
    /// A stable code, e.g. `entity_vector_without_node`.
    pub kind: String,
    /// How many records.
    pub count: u64,
    /// Their ids (at most [`MAX_WARNING_IDS`]; `count` is the full number).
    pub ids: Vec<String>,
    /// What it means.
    pub message: String,
}

/// Most ids listed in one [`Warning`].
pub const MAX_WARNING_IDS: usize = 1000;

/// Record counts of the three vector namespaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorCounts {
    /// `vdb_chunks.json` / `chunks`.
    pub chunks: u64,
    /// `vdb_entities.json` / `entities`.
    pub entities: u64,
    /// `vdb_relationships.json` / `relationships`.
    pub relationships: u64,
}

/// Node and edge counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphCounts {
    /// Nodes.
    pub nodes: u64,
    /// Edges (undirected pairs).
    pub edges: u64,
}

/// The embedding dimension of each vector file (absent when the file is).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dimensions {
    /// `vdb_chunks.json`.
    pub chunks: Option<usize>,
    /// `vdb_entities.json`.
    pub entities: Option<usize>,
    /// `vdb_relationships.json`.
    pub relationships: Option<usize>,
}

/// One store's count after writing, against what was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreCheck {
    /// The store.
    pub store: String,
    /// Records written (source records minus skipped ones).
    pub expected: u64,
    /// Of those, how many the storage holds now.
    pub found: u64,
}

/// A sample of vectors read back and compared with the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorSampleCheck {
    /// The vector store.
    pub store: String,
    /// Vectors compared.
    pub checked: u64,
    /// The largest absolute component difference seen.
    pub max_abs_diff: f64,
    /// Ids whose vector is missing or differs by more than the tolerance.
    pub mismatched: Vec<String>,
}

/// The verification pass: counts per store and a sample of vectors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// False for a dry run or when verification was turned off.
    pub performed: bool,
    /// True when every check passed (also true when not performed).
    pub ok: bool,
    /// Absolute tolerance used for vector components (halfvec storage rounds to
    /// float16, about 1e-3 for unit vectors).
    pub tolerance: f64,
    /// Count checks, one per written store.
    pub counts: Vec<StoreCheck>,
    /// Vector sample checks, one per vector store.
    pub vectors: Vec<VectorSampleCheck>,
    /// Human-readable list of everything that did not match.
    pub mismatches: Vec<String>,
}

/// What [`crate::migrate()`] did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MigrationReport {
    /// The target workspace.
    pub workspace: String,
    /// The source directory.
    pub source: String,
    /// Nothing was written.
    pub dry_run: bool,
    /// `old-v0`, `old-v1`, `new`, `1.5.7` or `unknown`.
    pub format_generation: FormatGeneration,
    /// The markers that decided the generation.
    pub format_markers: Vec<String>,
    /// Records written to `full_docs`.
    pub full_docs: u64,
    /// Records written to `text_chunks`.
    pub text_chunks: u64,
    /// Records written to `llm_response_cache` (legacy nested entries count one each).
    pub llm_cache: u64,
    /// Records written to `doc_status`.
    pub doc_status: u64,
    /// Records written to `full_entities`.
    pub full_entities: u64,
    /// Records written to `full_relations`.
    pub full_relations: u64,
    /// Records written to `entity_chunks`.
    pub entity_chunks: u64,
    /// Records written to `relation_chunks`.
    pub relation_chunks: u64,
    /// Vectors written per namespace.
    pub vectors: VectorCounts,
    /// `embedding_dim` of each vector file.
    pub embedding_dim: Dimensions,
    /// Nodes and edges written.
    pub graph: GraphCounts,
    /// Every record that was not written, with the reason.
    pub skipped: Vec<SkippedRecord>,
    /// Orphans, duplicates and other facts about the data that was written.
    pub warnings: Vec<Warning>,
    /// Files in the directory that are not LightRAG storages (left alone).
    pub ignored_files: Vec<String>,
    /// Stores not written because the deployment keeps them elsewhere
    /// (`kv`, `vectors`, `graph`, `doc_status` → the reason); their counts are 0.
    #[serde(default)]
    pub left_alone: BTreeMap<String, String>,
    /// Fields dropped per store (`doc_status` → `content`, `multimodal_processed`…),
    /// with how many records had them.
    pub dropped_fields: BTreeMap<String, BTreeMap<String, u64>>,
    /// Missing fields filled with LightRAG's defaults, per store and field.
    pub defaults_filled: BTreeMap<String, BTreeMap<String, u64>>,
    /// Vector payloads completed from other stores (content of legacy rows, chunk
    /// token counts), per vector store.
    pub enriched: BTreeMap<String, u64>,
    /// Where the vectors came from, per vector store: `raw` (the row's float16
    /// `vector`, kept because its scale is not 1) or `matrix` (the float32
    /// matrix row; also chosen when the raw vector is the same unit vector).
    pub vector_sources: BTreeMap<String, BTreeMap<String, u64>>,
    /// How each vector store was written (`chunks`, `entities`,
    /// `relationships` → `{"method": "bulk", "how": …}` when in one bulk load
    /// with one index build, `{"method": "incremental", "reason": …}` when batch
    /// by batch into the index, e.g. into a workspace that already has rows).
    #[serde(default)]
    pub vector_load: BTreeMap<String, VectorLoad>,
    /// Legacy LLM-cache entries flattened from `{mode: {hash: entry}}`.
    pub llm_cache_flattened: u64,
    /// Whether old-v0 quoted entity names (`"NAME"`) were unquoted.
    pub legacy_quotes_stripped: bool,
    /// The verification pass.
    pub verification: Verification,
    /// Seconds per store.
    pub timings: BTreeMap<String, f64>,
    /// Total wall-clock seconds.
    pub seconds: f64,
}

impl MigrationReport {
    /// The warnings of one kind.
    pub fn warnings_of(&self, kind: &str) -> impl Iterator<Item = &Warning> {
        self.warnings.iter().filter(move |w| w.kind == kind)
    }

    /// The skipped records of one store.
    pub fn skipped_in<'a>(&'a self, store: &'a str) -> impl Iterator<Item = &'a SkippedRecord> {
        self.skipped.iter().filter(move |s| s.store == store)
    }
}

/// What [`crate::export()`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportReport {
    /// The source workspace.
    pub workspace: String,
    /// The directory written.
    pub target: String,
    /// `lister` when ids came from a [`crate::KeyLister`], `derived` when they
    /// were derived from doc status, the graph and the chunk lists.
    pub key_source: String,
    /// Records written to `kv_store_full_docs.json`.
    pub full_docs: u64,
    /// Records written to `kv_store_text_chunks.json`.
    pub text_chunks: u64,
    /// Records written to `kv_store_llm_response_cache.json`.
    pub llm_cache: u64,
    /// Records written to `kv_store_doc_status.json`.
    pub doc_status: u64,
    /// Records written to `kv_store_full_entities.json`.
    pub full_entities: u64,
    /// Records written to `kv_store_full_relations.json`.
    pub full_relations: u64,
    /// Records written to `kv_store_entity_chunks.json`.
    pub entity_chunks: u64,
    /// Records written to `kv_store_relation_chunks.json`.
    pub relation_chunks: u64,
    /// Rows written per `vdb_<namespace>.json`.
    pub vectors: VectorCounts,
    /// Nodes and edges written to the GraphML file.
    pub graph: GraphCounts,
    /// Files written, relative to the directory (or absolute for `--graphml`).
    pub files: Vec<String>,
    /// What the export could not enumerate or had to leave out.
    pub notes: Vec<String>,
    /// Total wall-clock seconds.
    pub seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_json_has_the_documented_top_level_fields() {
        let v = serde_json::to_value(MigrationReport::default()).unwrap();
        for field in [
            "workspace",
            "full_docs",
            "text_chunks",
            "llm_cache",
            "doc_status",
            "full_entities",
            "full_relations",
            "entity_chunks",
            "relation_chunks",
            "vectors",
            "graph",
            "skipped",
            "seconds",
            "format_generation",
            "verification",
            "warnings",
        ] {
            assert!(v.get(field).is_some(), "missing {field}");
        }
        assert!(v["vectors"].get("relationships").is_some());
        assert!(v["graph"].get("edges").is_some());
    }

    #[test]
    fn skip_reasons_serialise_and_display_as_the_same_snake_case_codes() {
        for (reason, code) in [
            (SkipReason::NanVector, "nan_vector"),
            (SkipReason::InfiniteVector, "infinite_vector"),
            (SkipReason::ZeroVector, "zero_vector"),
            (SkipReason::DimensionMismatch, "dimension_mismatch"),
            (SkipReason::InvalidRecord, "invalid_record"),
        ] {
            assert_eq!(serde_json::to_value(reason).unwrap(), code);
            assert_eq!(reason.to_string(), code);
        }
    }
}
