//! The one generator of every table and index LightRAG 1.5.7 creates, with the
//! same names, columns and index names (spec §5, §7.1, §10.2), so that Python
//! LightRAG and these crates see "already exists" for each other's objects.
//!
//! Every statement is idempotent (`IF NOT EXISTS`). Snapshot tests compare the
//! output with the schema that lightrag-hku 1.5.7 itself created.

use lightrag_pg_core::{DistanceMetric, Error, KvNamespace, VectorNamespace};

use crate::ident::{quote_ident, safe_index_name};

/// The doc-status table.
pub const DOC_STATUS_TABLE: &str = "LIGHTRAG_DOC_STATUS";
/// The table engine's node table.
pub const GRAPH_NODES_TABLE: &str = "lightrag_graph_nodes";
/// The table engine's edge table.
pub const GRAPH_EDGES_TABLE: &str = "lightrag_graph_edges";

/// The columns of a key-value table, after `id, workspace`.
fn kv_columns(ns: KvNamespace) -> &'static str {
    match ns {
        KvNamespace::FullDocs => {
            "doc_name VARCHAR(1024), content TEXT, meta JSONB, sidecar_location TEXT NULL, \
             parse_format VARCHAR(32) NULL DEFAULT 'raw', content_hash TEXT NULL, process_options TEXT NULL, \
             chunk_options JSONB NULL DEFAULT '{}'::jsonb, parse_engine TEXT NULL, \
             create_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP, update_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP"
        }
        KvNamespace::TextChunks => {
            "full_doc_id VARCHAR(256), chunk_order_index INTEGER, tokens INTEGER, content TEXT, file_path TEXT NULL, \
             llm_cache_list JSONB NULL DEFAULT '[]'::jsonb, heading JSONB NULL DEFAULT '{}'::jsonb, \
             sidecar JSONB NULL DEFAULT '{}'::jsonb, \
             create_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP, update_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP"
        }
        KvNamespace::LlmResponseCache => {
            "original_prompt TEXT, return_value TEXT, chunk_id VARCHAR(255) NULL, cache_type VARCHAR(32), \
             queryparam JSONB NULL, create_time TIMESTAMP DEFAULT CURRENT_TIMESTAMP, \
             update_time TIMESTAMP DEFAULT CURRENT_TIMESTAMP"
        }
        KvNamespace::FullEntities => {
            "entity_names JSONB, count INTEGER, \
             create_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP, update_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP"
        }
        KvNamespace::FullRelations => {
            "relation_pairs JSONB, count INTEGER, \
             create_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP, update_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP"
        }
        KvNamespace::EntityChunks | KvNamespace::RelationChunks => {
            "chunk_ids JSONB, count INTEGER, \
             create_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP, update_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP"
        }
    }
}

/// The `(workspace, id)` key columns as LightRAG declares them.
fn key_columns(ns: KvNamespace) -> &'static str {
    match ns {
        KvNamespace::LlmResponseCache => "workspace VARCHAR(255) NOT NULL, id VARCHAR(255) NOT NULL",
        KvNamespace::EntityChunks | KvNamespace::RelationChunks => "id VARCHAR(512), workspace VARCHAR(255)",
        _ => "id VARCHAR(255), workspace VARCHAR(255)",
    }
}

/// The two secondary indexes every LightRAG table has.
fn id_indexes(table: &str) -> Vec<String> {
    let lower = table.to_lowercase();
    vec![
        format!("CREATE INDEX IF NOT EXISTS idx_{lower}_id ON {lower} (id)"),
        format!("CREATE INDEX IF NOT EXISTS idx_{lower}_workspace_id ON {lower} (workspace, id)"),
    ]
}

/// `CREATE TABLE` and indexes for a key-value namespace.
pub fn kv_table(ns: KvNamespace) -> Vec<String> {
    let table = ns.table();
    let lower = table.to_lowercase();
    let mut out = vec![format!(
        "CREATE TABLE IF NOT EXISTS {lower} ({}, {}, CONSTRAINT {lower}_pk PRIMARY KEY (workspace, id))",
        key_columns(ns),
        kv_columns(ns)
    )];
    out.extend(id_indexes(table));
    out
}

/// `CREATE TABLE` and the full index inventory of `LIGHTRAG_DOC_STATUS`.
pub fn doc_status_table() -> Vec<String> {
    let t = "lightrag_doc_status";
    let mut out = vec![format!(
        "CREATE TABLE IF NOT EXISTS {t} (workspace VARCHAR(255) NOT NULL, id VARCHAR(255) NOT NULL, \
         content_summary VARCHAR(255) NULL, content_length INT4 NULL, chunks_count INT4 NULL, \
         status VARCHAR(64) NULL, file_path TEXT NULL, chunks_list JSONB NULL DEFAULT '[]'::jsonb, \
         track_id VARCHAR(255) NULL, metadata JSONB NULL DEFAULT '{{}}'::jsonb, error_msg TEXT NULL, \
         content_hash TEXT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, \
         updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, CONSTRAINT {t}_pk PRIMARY KEY (workspace, id))"
    )];
    out.extend(id_indexes(DOC_STATUS_TABLE));
    for (name, def) in [
        ("track_id", "(track_id)"),
        ("workspace_status_updated_at", "(workspace, status, updated_at DESC)"),
        ("workspace_status_created_at", "(workspace, status, created_at DESC)"),
        ("workspace_updated_at", "(workspace, updated_at DESC)"),
        ("workspace_created_at", "(workspace, created_at DESC)"),
        ("workspace_file_path", "(workspace, file_path)"),
        ("ws_status_created_nf_id", "(workspace, status, created_at NULLS FIRST, id)"),
    ] {
        out.push(format!("CREATE INDEX IF NOT EXISTS idx_{t}_{name} ON {t} {def}"));
    }
    out.push(format!(
        "CREATE INDEX IF NOT EXISTS idx_{t}_workspace_content_hash ON {t} (workspace, content_hash) \
         WHERE content_hash IS NOT NULL AND content_hash <> ''"
    ));
    out
}

/// How vectors are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorColumn {
    /// `VECTOR(n)`, 4-byte floats.
    Vector,
    /// `HALFVEC(n)`, 2-byte floats; indexable up to 4,000 dimensions.
    HalfVec,
}

impl VectorColumn {
    /// The SQL type name (`vector` or `halfvec`), for casts.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Vector => "vector",
            Self::HalfVec => "halfvec",
        }
    }
}

/// The vector index to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorIndex {
    /// No index: exact search.
    None,
    /// HNSW with `m` and `ef_construction`.
    Hnsw {
        /// Links per node.
        m: u32,
        /// Candidate list size while building.
        ef_construction: u32,
    },
    /// IVFFlat with `lists`.
    IvfFlat {
        /// Number of inverted lists.
        lists: u32,
    },
}

/// The embedding-model table-name suffix LightRAG derives:
/// `<model lower, non-[a-z0-9_] → _>_<dim>d`; `None` without a model name.
pub fn model_suffix(model_name: Option<&str>, dimension: usize) -> Option<String> {
    let model = model_name.map(str::trim).filter(|m| !m.is_empty())?;
    let clean: String = model
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    Some(format!("{clean}_{dimension}d"))
}

/// The vector table name for a namespace and model (`LIGHTRAG_VDB_ENTITY_bge_m3_1024d`).
///
/// # Errors
/// [`Error::InvalidInput`] when the name exceeds 63 bytes, as LightRAG refuses it.
pub fn vector_table_name(ns: VectorNamespace, model_name: Option<&str>, dimension: usize) -> Result<String, Error> {
    let name = match model_suffix(model_name, dimension) {
        Some(suffix) => format!("{}_{suffix}", ns.base_table()),
        None => ns.base_table().to_owned(),
    };
    quote_ident(&name.to_lowercase())?;
    Ok(name)
}

/// `CREATE TABLE` and the id indexes of a vector table (no vector index; see
/// [`vector_index`]). `table` is the name from [`vector_table_name`].
///
/// # Errors
/// [`Error::InvalidInput`] for a bad table name.
pub fn vector_table(ns: VectorNamespace, table: &str, column: VectorColumn, dimension: usize) -> Result<Vec<String>, Error> {
    let lower = table.to_lowercase();
    let q = quote_ident(&lower)?;
    let pk = quote_ident(&format!("{lower}_pk"))?;
    let vec = format!("{}({dimension})", column.type_name().to_uppercase());
    let ts = "create_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP, update_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP";
    let cols = match ns {
        VectorNamespace::Chunks => format!(
            "id VARCHAR(255), workspace VARCHAR(255), full_doc_id VARCHAR(256), chunk_order_index INTEGER, \
             tokens INTEGER, content TEXT, content_vector {vec}, file_path TEXT NULL, {ts}"
        ),
        VectorNamespace::Entities => format!(
            "id VARCHAR(255), workspace VARCHAR(255), entity_name VARCHAR(512), content TEXT, \
             content_vector {vec}, {ts}, chunk_ids VARCHAR(255)[] NULL, file_path TEXT NULL"
        ),
        VectorNamespace::Relationships => format!(
            "id VARCHAR(255), workspace VARCHAR(255), source_id VARCHAR(512), target_id VARCHAR(512), \
             content TEXT, content_vector {vec}, {ts}, chunk_ids VARCHAR(255)[] NULL, file_path TEXT NULL"
        ),
    };
    Ok(vec![
        format!("CREATE TABLE IF NOT EXISTS {q} ({cols}, CONSTRAINT {pk} PRIMARY KEY (workspace, id))"),
        format!("CREATE INDEX IF NOT EXISTS {} ON {q} (id)", quote_ident(&safe_index_name(table, "id"))?),
        format!(
            "CREATE INDEX IF NOT EXISTS {} ON {q} (workspace, id)",
            quote_ident(&safe_index_name(table, "workspace_id"))?
        ),
    ])
}

/// pgvector's operator class for a column type and metric.
pub fn opclass(column: VectorColumn, metric: DistanceMetric) -> &'static str {
    match (column, metric) {
        (VectorColumn::Vector, DistanceMetric::Cosine) => "vector_cosine_ops",
        (VectorColumn::Vector, DistanceMetric::L2) => "vector_l2_ops",
        (VectorColumn::Vector, DistanceMetric::Ip) => "vector_ip_ops",
        (VectorColumn::HalfVec, DistanceMetric::Cosine) => "halfvec_cosine_ops",
        (VectorColumn::HalfVec, DistanceMetric::L2) => "halfvec_l2_ops",
        (VectorColumn::HalfVec, DistanceMetric::Ip) => "halfvec_ip_ops",
    }
}

/// pgvector's distance operator for a metric.
pub fn distance_operator(metric: DistanceMetric) -> &'static str {
    match metric {
        DistanceMetric::Cosine => "<=>",
        DistanceMetric::L2 => "<->",
        DistanceMetric::Ip => "<#>",
    }
}

/// The vector index's name, as LightRAG names it: `idx_<table>_<kind>_<metric>`
/// (`hnsw_cosine`, `hnsw_halfvec_cosine`, `ivfflat_cosine`, …).
pub fn vector_index_name(table: &str, column: VectorColumn, index: VectorIndex, metric: DistanceMetric) -> Option<String> {
    let kind = match (index, column) {
        (VectorIndex::None, _) => return None,
        (VectorIndex::Hnsw { .. }, VectorColumn::Vector) => "hnsw",
        (VectorIndex::Hnsw { .. }, VectorColumn::HalfVec) => "hnsw_halfvec",
        (VectorIndex::IvfFlat { .. }, _) => "ivfflat",
    };
    Some(safe_index_name(table, &format!("{kind}_{}", metric.as_str())))
}

/// `CREATE INDEX` for the vector column, or `None` for [`VectorIndex::None`].
///
/// # Errors
/// [`Error::InvalidInput`] for a bad table name.
pub fn vector_index(table: &str, column: VectorColumn, index: VectorIndex, metric: DistanceMetric) -> Result<Option<String>, Error> {
    let Some(name) = vector_index_name(table, column, index, metric) else { return Ok(None) };
    let q = quote_ident(&table.to_lowercase())?;
    let ops = opclass(column, metric);
    let (method, with) = match index {
        VectorIndex::None => return Ok(None),
        VectorIndex::Hnsw { m, ef_construction } => ("hnsw", format!("m = {m}, ef_construction = {ef_construction}")),
        VectorIndex::IvfFlat { lists } => ("ivfflat", format!("lists = {lists}")),
    };
    Ok(Some(format!(
        "CREATE INDEX IF NOT EXISTS {} ON {q} USING {method} (content_vector {ops}) WITH ({with})",
        quote_ident(&name)?
    )))
}

/// The table engine's schema (LightRAG's `PGTableGraphStorage`, spec §10.2).
pub fn graph_tables() -> Vec<String> {
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {GRAPH_NODES_TABLE} (workspace TEXT NOT NULL, \
             namespace TEXT NOT NULL DEFAULT 'chunk_entity_relation', id TEXT NOT NULL, \
             properties JSONB NOT NULL DEFAULT '{{}}', updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), \
             PRIMARY KEY (workspace, namespace, id))"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {GRAPH_EDGES_TABLE} (workspace TEXT NOT NULL, \
             namespace TEXT NOT NULL DEFAULT 'chunk_entity_relation', src_id TEXT NOT NULL, \
             tgt_id TEXT NOT NULL, properties JSONB NOT NULL DEFAULT '{{}}', \
             updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (workspace, namespace, src_id, tgt_id))"
        ),
        format!(
            "CREATE INDEX IF NOT EXISTS idx_lightrag_graph_edges_namespace_tgt ON {GRAPH_EDGES_TABLE} \
             (workspace, namespace, tgt_id)"
        ),
        format!(
            "CREATE INDEX IF NOT EXISTS idx_lightrag_graph_edges_noncanonical ON {GRAPH_EDGES_TABLE} \
             (workspace, namespace) WHERE src_id COLLATE \"C\" > tgt_id COLLATE \"C\""
        ),
        format!(
            "DO $ddl$ BEGIN \
             IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'fk_lightrag_graph_edges_src') THEN \
             ALTER TABLE {GRAPH_EDGES_TABLE} ADD CONSTRAINT fk_lightrag_graph_edges_src FOREIGN KEY \
             (workspace, namespace, src_id) REFERENCES {GRAPH_NODES_TABLE} (workspace, namespace, id) ON DELETE CASCADE; \
             END IF; \
             IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'fk_lightrag_graph_edges_tgt') THEN \
             ALTER TABLE {GRAPH_EDGES_TABLE} ADD CONSTRAINT fk_lightrag_graph_edges_tgt FOREIGN KEY \
             (workspace, namespace, tgt_id) REFERENCES {GRAPH_NODES_TABLE} (workspace, namespace, id) ON DELETE CASCADE; \
             END IF; END $ddl$"
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_suffix_matches_lightrag() {
        assert_eq!(model_suffix(Some("text-embedding-3-large"), 3072).as_deref(), Some("text_embedding_3_large_3072d"));
        assert_eq!(model_suffix(Some("BAAI/bge-m3"), 1024).as_deref(), Some("baai_bge_m3_1024d"));
        assert_eq!(model_suffix(Some("  "), 8), None);
        assert_eq!(
            vector_table_name(VectorNamespace::Chunks, Some("text-embedding-3-large"), 3072).unwrap(),
            "LIGHTRAG_VDB_CHUNKS_text_embedding_3_large_3072d"
        );
    }

    #[test]
    fn overlong_vector_table_names_are_refused() {
        assert!(vector_table_name(VectorNamespace::Relationships, Some(&"m".repeat(60)), 8).is_err());
    }

    #[test]
    fn hnsw_index_ddl_matches_lightrag() {
        let ddl = vector_index(
            "LIGHTRAG_VDB_ENTITY",
            VectorColumn::Vector,
            VectorIndex::Hnsw { m: 16, ef_construction: 64 },
            DistanceMetric::Cosine,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            ddl,
            "CREATE INDEX IF NOT EXISTS \"idx_lightrag_vdb_entity_hnsw_cosine\" ON \"lightrag_vdb_entity\" \
             USING hnsw (content_vector vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
        );
    }
}
