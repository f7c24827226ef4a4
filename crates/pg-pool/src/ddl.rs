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

/// The columns of `LIGHTRAG_DOC_STATUS`.
const DOC_STATUS_COLUMNS: &str = "workspace VARCHAR(255) NOT NULL, id VARCHAR(255) NOT NULL, \
     content_summary VARCHAR(255) NULL, content_length INT4 NULL, chunks_count INT4 NULL, \
     status VARCHAR(64) NULL, file_path TEXT NULL, chunks_list JSONB NULL DEFAULT '[]'::jsonb, \
     track_id VARCHAR(255) NULL, metadata JSONB NULL DEFAULT '{}'::jsonb, error_msg TEXT NULL, \
     content_hash TEXT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, \
     updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP";

/// The keyset-sweep index of doc status (1.5.7), name suffix and definition.
const SCHEDULING_INDEX: (&str, &str) = ("ws_status_created_nf_id", "(workspace, status, created_at NULLS FIRST, id)");

/// `CREATE INDEX IF NOT EXISTS idx_lightrag_doc_status_<name> ON lightrag_doc_status <def>`.
fn doc_status_index(name: &str, def: &str) -> String {
    format!("CREATE INDEX IF NOT EXISTS idx_lightrag_doc_status_{name} ON lightrag_doc_status {def}")
}

/// `CREATE TABLE` and the full index inventory of `LIGHTRAG_DOC_STATUS`.
pub fn doc_status_table() -> Vec<String> {
    let t = "lightrag_doc_status";
    let mut out = vec![format!(
        "CREATE TABLE IF NOT EXISTS {t} ({DOC_STATUS_COLUMNS}, CONSTRAINT {t}_pk PRIMARY KEY (workspace, id))"
    )];
    out.extend(id_indexes(DOC_STATUS_TABLE));
    for (name, def) in [
        ("track_id", "(track_id)"),
        ("workspace_status_updated_at", "(workspace, status, updated_at DESC)"),
        ("workspace_status_created_at", "(workspace, status, created_at DESC)"),
        ("workspace_updated_at", "(workspace, updated_at DESC)"),
        ("workspace_created_at", "(workspace, created_at DESC)"),
        ("workspace_file_path", "(workspace, file_path)"),
        SCHEDULING_INDEX,
    ] {
        out.push(doc_status_index(name, def));
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
    let clean: String =
        model.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
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

/// The columns of a vector table, in LightRAG's order.
fn vector_columns(ns: VectorNamespace, column: VectorColumn, dimension: usize) -> String {
    vector_columns_typed(ns, &format!("{}({dimension})", column.type_name().to_uppercase()))
}

/// [`vector_columns`] with the vector column's type spelled out (`VECTOR` with no
/// dimension in the tables of releases before 1.4).
fn vector_columns_typed(ns: VectorNamespace, vec: &str) -> String {
    let ts = "create_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP, update_time TIMESTAMP(0) DEFAULT CURRENT_TIMESTAMP";
    match ns {
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
    }
}

/// `CREATE TABLE` and the id indexes of a vector table (no vector index; see
/// [`vector_index`]). `table` is the name from [`vector_table_name`].
///
/// # Errors
/// [`Error::InvalidInput`] for a bad table name.
pub fn vector_table(
    ns: VectorNamespace,
    table: &str,
    column: VectorColumn,
    dimension: usize,
) -> Result<Vec<String>, Error> {
    vector_table_with(table, &vector_columns(ns, column, dimension))
}

/// [`vector_table`] with the columns given.
fn vector_table_with(table: &str, cols: &str) -> Result<Vec<String>, Error> {
    let lower = table.to_lowercase();
    let q = quote_ident(&lower)?;
    let pk = quote_ident(&format!("{lower}_pk"))?;
    Ok(vec![
        format!("CREATE TABLE IF NOT EXISTS {q} ({cols}, CONSTRAINT {pk} PRIMARY KEY (workspace, id))"),
        format!("CREATE INDEX IF NOT EXISTS {} ON {q} (id)", quote_ident(&safe_index_name(table, "id"))?),
        format!(
            "CREATE INDEX IF NOT EXISTS {} ON {q} (workspace, id)",
            quote_ident(&safe_index_name(table, "workspace_id"))?
        ),
    ])
}

// ---------------------------------------------------------------------------
// Upgrades of tables that older LightRAG releases created (see `upgrade`).
// ---------------------------------------------------------------------------

/// A table whose columns changed between LightRAG releases: the seven key-value
/// tables, doc status, and the un-suffixed (legacy) vector tables of releases
/// before 1.5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyTable {
    /// A key-value table.
    Kv(KvNamespace),
    /// `LIGHTRAG_DOC_STATUS`.
    DocStatus,
    /// The un-suffixed vector table of a namespace (`LIGHTRAG_VDB_ENTITY`).
    Vector(VectorNamespace),
}

impl LegacyTable {
    /// Every table an upgrade looks at, in the order it upgrades them.
    pub const ALL: [Self; 11] = [
        Self::Kv(KvNamespace::FullDocs),
        Self::Kv(KvNamespace::TextChunks),
        Self::Kv(KvNamespace::LlmResponseCache),
        Self::Kv(KvNamespace::FullEntities),
        Self::Kv(KvNamespace::FullRelations),
        Self::Kv(KvNamespace::EntityChunks),
        Self::Kv(KvNamespace::RelationChunks),
        Self::DocStatus,
        Self::Vector(VectorNamespace::Chunks),
        Self::Vector(VectorNamespace::Entities),
        Self::Vector(VectorNamespace::Relationships),
    ];

    /// The table's (lower-case) name.
    pub fn name(self) -> String {
        match self {
            Self::Kv(ns) => ns.table().to_lowercase(),
            Self::DocStatus => DOC_STATUS_TABLE.to_lowercase(),
            Self::Vector(ns) => ns.base_table().to_lowercase(),
        }
    }

    /// The columns LightRAG 1.5.7 gives the table. The vector column of a legacy
    /// vector table is `VECTOR` without a dimension, as releases before 1.4
    /// declared it (the upgrade never touches that column).
    fn columns(self) -> String {
        match self {
            Self::Kv(ns) => format!("{}, {}", key_columns(ns), kv_columns(ns)),
            Self::DocStatus => DOC_STATUS_COLUMNS.to_owned(),
            Self::Vector(ns) => vector_columns_typed(ns, "VECTOR"),
        }
    }
}

/// A temporary table named `name` with `table`'s 1.5.7 columns (no key): the
/// server's own spelling of every type and default, for comparing with a table
/// an older release created.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad name.
pub fn legacy_column_template(table: LegacyTable, name: &str) -> Result<String, Error> {
    Ok(format!("CREATE TEMPORARY TABLE {} ({})", quote_ident(name)?, table.columns()))
}

/// `CREATE TABLE IF NOT EXISTS` of a legacy (un-suffixed) vector table with an
/// un-dimensioned `VECTOR` column, its key and id indexes: where chunk vectors of
/// releases before 1.4 (kept in `LIGHTRAG_DOC_CHUNKS`) are moved, so that the
/// vector storage's legacy migration carries them into the suffixed table.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad name.
pub fn legacy_vector_table(ns: VectorNamespace) -> Result<Vec<String>, Error> {
    vector_table_with(ns.base_table(), &vector_columns_typed(ns, "VECTOR"))
}

/// `ALTER TABLE <table> ADD COLUMN IF NOT EXISTS <column> <ty> [DEFAULT …] [NOT
/// NULL]`. `ty` and `default` are SQL as the server prints it (`format_type`,
/// `pg_get_expr`) for a column of a [`legacy_column_template`].
///
/// # Errors
/// [`Error::InvalidInput`] for a bad name.
pub fn add_column(table: &str, column: &str, ty: &str, default: Option<&str>, not_null: bool) -> Result<String, Error> {
    let mut sql = format!("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {ty}", quote_ident(table)?, quote_ident(column)?);
    if let Some(d) = default {
        sql.push_str(&format!(" DEFAULT {d}"));
    }
    if not_null {
        sql.push_str(" NOT NULL");
    }
    Ok(sql)
}

/// `ALTER TABLE <table> ALTER COLUMN <column> TYPE <ty> [USING <using>]`.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad name.
pub fn alter_column_type(table: &str, column: &str, ty: &str, using: Option<&str>) -> Result<String, Error> {
    let mut sql = format!("ALTER TABLE {} ALTER COLUMN {} TYPE {ty}", quote_ident(table)?, quote_ident(column)?);
    if let Some(u) = using {
        sql.push_str(&format!(" USING {u}"));
    }
    Ok(sql)
}

/// `ALTER TABLE <table> ALTER COLUMN <column> SET DEFAULT <default>`.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad name.
pub fn set_column_default(table: &str, column: &str, default: &str) -> Result<String, Error> {
    Ok(format!("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {default}", quote_ident(table)?, quote_ident(column)?))
}

/// LightRAG 1.5.7's back-fill of `cache_type` when the column is added: the
/// second part of a `mode:cache_type:hash` key, else `extract`.
pub const LLM_CACHE_TYPE_BACKFILL: &str = "UPDATE lightrag_llm_cache SET cache_type = CASE \
     WHEN id ~ '^[^:]+:[^:]+:' THEN split_part(id, ':', 2) ELSE 'extract' END WHERE cache_type IS NULL";

/// Removes the `mode` column of the LLM cache of releases before 1.4: first the
/// keys without a `:` are flattened to `mode:extract|unknown:md5(prompt)` (1.5.7's
/// formula, which 1.5.7 itself runs only after dropping `mode`, so it never
/// applies), then the key becomes `(workspace, id)`.
pub fn llm_cache_drop_mode() -> Vec<String> {
    let kind = "CASE WHEN mode = 'default' THEN 'extract' ELSE 'unknown' END";
    vec![
        format!(
            "UPDATE lightrag_llm_cache SET id = mode || ':' || {kind} || ':' || md5(coalesce(original_prompt, '')), \
             cache_type = {kind}, update_time = CURRENT_TIMESTAMP WHERE id NOT LIKE '%:%'"
        ),
        "ALTER TABLE lightrag_llm_cache DROP CONSTRAINT IF EXISTS lightrag_llm_cache_pk".to_owned(),
        "ALTER TABLE lightrag_llm_cache DROP COLUMN IF EXISTS mode".to_owned(),
        "ALTER TABLE lightrag_llm_cache ADD CONSTRAINT lightrag_llm_cache_pk PRIMARY KEY (workspace, id)".to_owned(),
    ]
}

/// Copies the chunk vectors that releases before 1.4 kept in
/// `LIGHTRAG_DOC_CHUNKS.content_vector` into the legacy `LIGHTRAG_VDB_CHUNKS`
/// (LightRAG 1.5.7's `_migrate_doc_chunks_to_vdb_chunks`; rows already there are
/// kept).
pub const DOC_CHUNKS_TO_VDB_CHUNKS: &str = "INSERT INTO lightrag_vdb_chunks (id, workspace, full_doc_id, \
     chunk_order_index, tokens, content, content_vector, file_path, create_time, update_time) \
     SELECT id, workspace, full_doc_id, chunk_order_index, tokens, content, content_vector, file_path, create_time, \
     update_time FROM lightrag_doc_chunks WHERE content_vector IS NOT NULL ON CONFLICT (workspace, id) DO NOTHING";

/// The doc-status index that 1.5.7's `ws_status_created_nf_id` supersedes.
pub const SUPERSEDED_DOC_STATUS_INDEX: &str = "idx_lightrag_doc_status_ws_status_created_id";

/// Creates the scheduling index of doc status, then drops the one it supersedes
/// (1.5.7 creates, verifies, and only then drops).
pub fn doc_status_replace_scheduling_index() -> Vec<String> {
    let (name, def) = SCHEDULING_INDEX;
    vec![doc_status_index(name, def), format!("DROP INDEX IF EXISTS {SUPERSEDED_DOC_STATUS_INDEX}")]
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
pub fn vector_index_name(
    table: &str,
    column: VectorColumn,
    index: VectorIndex,
    metric: DistanceMetric,
) -> Option<String> {
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
pub fn vector_index(
    table: &str,
    column: VectorColumn,
    index: VectorIndex,
    metric: DistanceMetric,
) -> Result<Option<String>, Error> {
    let Some(name) = vector_index_name(table, column, index, metric) else { return Ok(None) };
    vector_index_named(&name, table, column, index, metric)
}

/// `CREATE INDEX IF NOT EXISTS <name>` for the vector column of `table`, or
/// `None` for [`VectorIndex::None`]: [`vector_index`] with a chosen index name
/// (the per-partition indexes of a partitioned table).
///
/// # Errors
/// [`Error::InvalidInput`] for a bad table or index name.
pub fn vector_index_named(
    name: &str,
    table: &str,
    column: VectorColumn,
    index: VectorIndex,
    metric: DistanceMetric,
) -> Result<Option<String>, Error> {
    let q = quote_ident(&table.to_lowercase())?;
    let ops = opclass(column, metric);
    let (method, with) = match index {
        VectorIndex::None => return Ok(None),
        VectorIndex::Hnsw { m, ef_construction } => ("hnsw", format!("m = {m}, ef_construction = {ef_construction}")),
        VectorIndex::IvfFlat { lists } => ("ivfflat", format!("lists = {lists}")),
    };
    Ok(Some(format!(
        "CREATE INDEX IF NOT EXISTS {} ON {q} USING {method} (content_vector {ops}) WITH ({with})",
        quote_ident(name)?
    )))
}

// ---------------------------------------------------------------------------
// Partitioned vector tables (not LightRAG's: an opt-in layout of this project
// that keeps LightRAG's table name, columns and primary key).
// ---------------------------------------------------------------------------

/// Bytes of the table name kept at the front of a partition's name.
const PARTITION_TABLE_PREFIX: usize = 24;
/// Bytes of the cleaned workspace name kept in a partition's name.
const PARTITION_WORKSPACE_PART: usize = 16;
/// The longest name [`vector_partition_name`] and its siblings produce, leaving
/// room for the `_pk`, `_id`, `_wid`, `_vec`, `_ck` suffixes of its objects.
pub const MAX_PARTITION_NAME_BYTES: usize = 56;

/// `s` cut to at most `max` bytes (the names here are ASCII).
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A workspace name reduced to `[a-z0-9_]` for readability (the hash keeps names apart).
fn clean_workspace(workspace: &str) -> String {
    let clean: String =
        workspace.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    cut(clean.trim_matches('_'), PARTITION_WORKSPACE_PART).trim_end_matches('_').to_owned()
}

fn partition_object_name(table: &str, kind: &str, workspace: &str) -> String {
    let lower = table.to_lowercase();
    let hash = lightrag_pg_core::ids::md5_hex(&format!("{lower}\u{1f}{workspace}"));
    let ws = clean_workspace(workspace);
    let prefix = cut(&lower, PARTITION_TABLE_PREFIX).trim_end_matches('_');
    if ws.is_empty() {
        format!("{prefix}_{kind}_{}", &hash[..12])
    } else {
        format!("{prefix}_{kind}_{ws}_{}", &hash[..12])
    }
}

/// The partition that holds `workspace`'s rows of the partitioned vector table
/// `table`: `<table, ≤ 24 bytes>_p_<workspace in [a-z0-9_], ≤ 16 bytes>_<12 hex of
/// md5(table, workspace)>`, at most [`MAX_PARTITION_NAME_BYTES`] bytes. The hash
/// covers the exact workspace name, so `Team-A` and `team_a` get different
/// partitions.
pub fn vector_partition_name(table: &str, workspace: &str) -> String {
    partition_object_name(table, "p", workspace)
}

/// The standalone table a bulk load of `workspace` builds before it becomes the
/// workspace's partition (named like [`vector_partition_name`], with `_l_`).
pub fn vector_load_table_name(table: &str, workspace: &str) -> String {
    partition_object_name(table, "l", workspace)
}

/// The DEFAULT partition of a partitioned vector table: `<table>_default`, or a
/// hashed name when that would exceed [`MAX_PARTITION_NAME_BYTES`].
pub fn vector_default_partition_name(table: &str) -> String {
    let lower = table.to_lowercase();
    let plain = format!("{lower}_default");
    if plain.len() <= MAX_PARTITION_NAME_BYTES {
        plain
    } else {
        let hash = lightrag_pg_core::ids::md5_hex(&lower);
        format!("{}_default_{}", cut(&lower, PARTITION_TABLE_PREFIX).trim_end_matches('_'), &hash[..12])
    }
}

/// The partitioned table an unpartitioned `table` is rebuilt into before it
/// takes the table's name (`<table, ≤ 24 bytes>_c_<12 hex>`).
pub fn vector_conversion_table_name(table: &str) -> String {
    let lower = table.to_lowercase();
    let hash = lightrag_pg_core::ids::md5_hex(&format!("{lower}\u{1f}convert"));
    format!("{}_c_{}", cut(&lower, PARTITION_TABLE_PREFIX).trim_end_matches('_'), &hash[..12])
}

/// The names of the objects of one partition (or standalone table) `name`:
/// primary key, `(id)` index, `(workspace, id)` index, vector index and the
/// CHECK constraint that pins the workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionObjects {
    /// The table.
    pub table: String,
    /// `PRIMARY KEY (workspace, id)`: `<table>_pk`.
    pub primary_key: String,
    /// The `(id)` index: `<table>_id`.
    pub id_index: String,
    /// The `(workspace, id)` index: `<table>_wid`.
    pub workspace_id_index: String,
    /// The vector index: `<table>_vec`.
    pub vector_index: String,
    /// `CHECK (workspace = …)`: `<table>_ck`.
    pub check: String,
}

impl PartitionObjects {
    /// The object names of table `name`.
    pub fn of(name: &str) -> Self {
        Self {
            table: name.to_owned(),
            primary_key: format!("{name}_pk"),
            id_index: format!("{name}_id"),
            workspace_id_index: format!("{name}_wid"),
            vector_index: format!("{name}_vec"),
            check: format!("{name}_ck"),
        }
    }
}

/// `CREATE TABLE` and the id indexes of a vector table LIST-partitioned by
/// `workspace`: LightRAG's name, columns, primary key `(workspace, id)` and index
/// names (the indexes are partitioned indexes, so Python LightRAG's `pg_indexes`
/// checks find them). The DEFAULT partition is
/// [`vector_default_partition`]; the vector index is [`vector_index`].
///
/// # Errors
/// [`Error::InvalidInput`] for a bad table name.
pub fn vector_table_partitioned(
    ns: VectorNamespace,
    table: &str,
    column: VectorColumn,
    dimension: usize,
) -> Result<Vec<String>, Error> {
    let mut stmts = vector_table(ns, table, column, dimension)?;
    let create = &mut stmts[0];
    create.push_str(" PARTITION BY LIST (workspace)");
    Ok(stmts)
}

/// `CREATE TABLE IF NOT EXISTS <default> PARTITION OF <table> DEFAULT`: where
/// rows of workspaces without their own partition go (those Python LightRAG
/// creates, for example).
///
/// # Errors
/// [`Error::InvalidInput`] for a bad table name.
pub fn vector_default_partition(table: &str) -> Result<String, Error> {
    Ok(format!(
        "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} DEFAULT",
        quote_ident(&vector_default_partition_name(table))?,
        quote_ident(&table.to_lowercase())?
    ))
}

/// A partitioned copy of vector table `ns` named `name` (no `IF NOT EXISTS`: it
/// is built fresh, inside the transaction of a conversion), with the constraint
/// and index names of [`PartitionObjects::of`]`(name)`: the table an
/// unpartitioned table is converted into.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad name.
pub fn vector_partitioned_copy(
    ns: VectorNamespace,
    name: &str,
    column: VectorColumn,
    dimension: usize,
) -> Result<Vec<String>, Error> {
    let mut stmts = vector_partition_table(ns, name, column, dimension)?;
    stmts[0].push_str(" PARTITION BY LIST (workspace)");
    stmts.extend(vector_partition_indexes(name)?);
    Ok(stmts)
}

/// A standalone vector table shaped like a partition, named `name` (no `IF NOT
/// EXISTS`: a bulk load builds it fresh inside its transaction): two statements,
/// `CREATE TABLE` and the primary key `<name>_pk` — a load runs the second once
/// the rows are in (one sorted build instead of a B-tree insert per row). Its
/// secondary indexes come after the data ([`vector_partition_indexes`]), its
/// vector index last ([`vector_index_named`] with
/// [`PartitionObjects::vector_index`]).
///
/// # Errors
/// [`Error::InvalidInput`] for a bad name.
pub fn vector_partition_table(
    ns: VectorNamespace,
    name: &str,
    column: VectorColumn,
    dimension: usize,
) -> Result<Vec<String>, Error> {
    let o = PartitionObjects::of(name);
    let q = quote_ident(name)?;
    Ok(vec![
        format!("CREATE TABLE {q} ({})", vector_columns(ns, column, dimension)),
        format!("ALTER TABLE {q} ADD CONSTRAINT {} PRIMARY KEY (workspace, id)", quote_ident(&o.primary_key)?),
    ])
}

/// The `(id)` and `(workspace, id)` indexes of partition `name` (they match the
/// partitioned indexes of the parent, so `ATTACH PARTITION` adopts them).
///
/// # Errors
/// [`Error::InvalidInput`] for a bad name.
pub fn vector_partition_indexes(name: &str) -> Result<Vec<String>, Error> {
    let o = PartitionObjects::of(name);
    let q = quote_ident(name)?;
    Ok(vec![
        format!("CREATE INDEX IF NOT EXISTS {} ON {q} (id)", quote_ident(&o.id_index)?),
        format!("CREATE INDEX IF NOT EXISTS {} ON {q} (workspace, id)", quote_ident(&o.workspace_id_index)?),
    ])
}

/// Escapes a quoted identifier for the format string of a server-side `format()`.
fn format_string(quoted: &str) -> String {
    quoted.replace('\'', "''").replace('%', "%%")
}

/// A query that RETURNS the DDL pinning table `name` to one workspace: run it with
/// the workspace bound as `$1` (`SELECT format(… %L …, $1::text)`: the server
/// quotes the value, which never enters SQL text here), then execute the text it
/// returns: `ALTER TABLE <name> ADD CONSTRAINT <name>_ck CHECK (workspace IS NOT
/// NULL AND workspace = '<ws>')`. The constraint implies the partition bound, so
/// `ATTACH PARTITION` skips its validation scan.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad name.
pub fn vector_partition_check(name: &str) -> Result<String, Error> {
    let o = PartitionObjects::of(name);
    Ok(format!(
        "SELECT format('ALTER TABLE {} ADD CONSTRAINT {} CHECK (workspace IS NOT NULL AND workspace = %L)', $1::text)",
        format_string(&quote_ident(name)?),
        format_string(&quote_ident(&o.check)?)
    ))
}

/// A query that RETURNS `ALTER TABLE <parent> ATTACH PARTITION <name> FOR VALUES IN
/// ('<ws>')`, with the workspace bound as `$1` (see [`vector_partition_check`]).
/// `ATTACH` takes a SHARE UPDATE EXCLUSIVE lock on the parent (reads and writes
/// of other partitions go on) and adopts the table's matching indexes.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad name.
pub fn vector_attach_partition(parent: &str, name: &str) -> Result<String, Error> {
    Ok(format!(
        "SELECT format('ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN (%L)', $1::text)",
        format_string(&quote_ident(&parent.to_lowercase())?),
        format_string(&quote_ident(name)?)
    ))
}

/// Renames partition (or standalone table) `from` and its
/// [`PartitionObjects`] to those of `to`. The vector index is renamed only when
/// `vector_index` is set.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad name.
pub fn vector_partition_rename(from: &str, to: &str, vector_index: bool, check: bool) -> Result<Vec<String>, Error> {
    let (a, b) = (PartitionObjects::of(from), PartitionObjects::of(to));
    let mut stmts = vec![format!("ALTER TABLE {} RENAME TO {}", quote_ident(from)?, quote_ident(to)?)];
    let t = quote_ident(to)?;
    stmts.push(format!(
        "ALTER TABLE {t} RENAME CONSTRAINT {} TO {}",
        quote_ident(&a.primary_key)?,
        quote_ident(&b.primary_key)?
    ));
    if check {
        stmts.push(format!(
            "ALTER TABLE {t} RENAME CONSTRAINT {} TO {}",
            quote_ident(&a.check)?,
            quote_ident(&b.check)?
        ));
    }
    let mut indexes = vec![(&a.id_index, &b.id_index), (&a.workspace_id_index, &b.workspace_id_index)];
    if vector_index {
        indexes.push((&a.vector_index, &b.vector_index));
    }
    for (x, y) in indexes {
        stmts.push(format!("ALTER INDEX {} RENAME TO {}", quote_ident(x)?, quote_ident(y)?));
    }
    Ok(stmts)
}

/// Gives a partitioned copy built by [`vector_partitioned_copy`] (named `from`)
/// LightRAG's names for `table`: the table, its primary key `<table>_pk`, the
/// `idx_<table>_id` / `idx_<table>_workspace_id` indexes and, when
/// `vector_index_name` is given, the vector index; the DEFAULT partition
/// `default_from` becomes [`vector_default_partition_name`]. Run after the old
/// table is gone.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad name.
pub fn vector_partitioned_copy_rename(
    from: &str,
    table: &str,
    default_from: &str,
    vector_index_name: Option<&str>,
) -> Result<Vec<String>, Error> {
    let a = PartitionObjects::of(from);
    let lower = table.to_lowercase();
    let t = quote_ident(&lower)?;
    let mut stmts = vec![
        format!("ALTER TABLE {} RENAME TO {t}", quote_ident(from)?),
        format!(
            "ALTER TABLE {t} RENAME CONSTRAINT {} TO {}",
            quote_ident(&a.primary_key)?,
            quote_ident(&format!("{lower}_pk"))?
        ),
        format!("ALTER INDEX {} RENAME TO {}", quote_ident(&a.id_index)?, quote_ident(&safe_index_name(table, "id"))?),
        format!(
            "ALTER INDEX {} RENAME TO {}",
            quote_ident(&a.workspace_id_index)?,
            quote_ident(&safe_index_name(table, "workspace_id"))?
        ),
        format!(
            "ALTER TABLE {} RENAME TO {}",
            quote_ident(default_from)?,
            quote_ident(&vector_default_partition_name(table))?
        ),
    ];
    if let Some(name) = vector_index_name {
        stmts.push(format!("ALTER INDEX {} RENAME TO {}", quote_ident(&a.vector_index)?, quote_ident(name)?));
    }
    Ok(stmts)
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

/// The table of the optional row-level-security mode: which role may use which
/// workspace. Every role may read it (the policies look a role up in it); only
/// its owner, the administrator, changes it.
pub const WORKSPACE_GRANTS_TABLE: &str = "lightrag_workspace_grants";

/// The name of the row-level-security policy on every LightRAG table.
pub const WORKSPACE_POLICY: &str = "lightrag_workspace";

/// The grants table of the row-level-security mode.
pub fn workspace_grants_table() -> Vec<String> {
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {WORKSPACE_GRANTS_TABLE} (workspace VARCHAR(255) NOT NULL, \
             role NAME NOT NULL, PRIMARY KEY (workspace, role))"
        ),
        format!("GRANT SELECT ON {WORKSPACE_GRANTS_TABLE} TO PUBLIC"),
    ]
}

/// Row-level security on `table` (a table with a `workspace` column): a role
/// reads and writes only rows of the workspaces granted to it, or to a role it
/// is a member of. The owner (the administrator) is not bound. The subquery is
/// uncorrelated, so the server evaluates it once per statement.
///
/// # Errors
/// [`Error::InvalidInput`] for an invalid table name.
pub fn rls_enable(table: &str) -> Result<Vec<String>, Error> {
    let t = quote_ident(table)?;
    let allowed = format!(
        "workspace IN (SELECT g.workspace FROM {WORKSPACE_GRANTS_TABLE} g JOIN pg_catalog.pg_roles r \
         ON r.rolname = g.role WHERE pg_catalog.pg_has_role(current_user, r.oid, 'USAGE'))"
    );
    Ok(vec![
        format!("DROP POLICY IF EXISTS {WORKSPACE_POLICY} ON {t}"),
        format!("CREATE POLICY {WORKSPACE_POLICY} ON {t} USING ({allowed}) WITH CHECK ({allowed})"),
        format!("ALTER TABLE {t} ENABLE ROW LEVEL SECURITY"),
    ])
}

/// Turns [`rls_enable`] off for `table`.
///
/// # Errors
/// [`Error::InvalidInput`] for an invalid table name.
pub fn rls_disable(table: &str) -> Result<Vec<String>, Error> {
    let t = quote_ident(table)?;
    Ok(vec![
        format!("ALTER TABLE {t} DISABLE ROW LEVEL SECURITY"),
        format!("DROP POLICY IF EXISTS {WORKSPACE_POLICY} ON {t}"),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn rls_policy_binds_rows_to_the_workspaces_granted_to_the_current_role() {
        let allowed = "workspace IN (SELECT g.workspace FROM lightrag_workspace_grants g JOIN pg_catalog.pg_roles r \
                       ON r.rolname = g.role WHERE pg_catalog.pg_has_role(current_user, r.oid, 'USAGE'))";
        assert_eq!(
            rls_enable("lightrag_doc_full").unwrap(),
            vec![
                "DROP POLICY IF EXISTS lightrag_workspace ON \"lightrag_doc_full\"".to_owned(),
                format!(
                    "CREATE POLICY lightrag_workspace ON \"lightrag_doc_full\" USING ({allowed}) WITH CHECK ({allowed})"
                ),
                "ALTER TABLE \"lightrag_doc_full\" ENABLE ROW LEVEL SECURITY".to_owned(),
            ]
        );
        assert_eq!(
            workspace_grants_table(),
            vec![
                "CREATE TABLE IF NOT EXISTS lightrag_workspace_grants (workspace VARCHAR(255) NOT NULL, \
                 role NAME NOT NULL, PRIMARY KEY (workspace, role))"
                    .to_owned(),
                "GRANT SELECT ON lightrag_workspace_grants TO PUBLIC".to_owned(),
            ]
        );
        assert!(rls_disable("x\0").is_err());
    }

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
    fn upgrade_statements_quote_names_and_keep_the_servers_spelling_of_types() {
        assert_eq!(
            add_column("lightrag_doc_status", "chunks_list", "jsonb", Some("'[]'::jsonb"), false).unwrap(),
            "ALTER TABLE \"lightrag_doc_status\" ADD COLUMN IF NOT EXISTS \"chunks_list\" jsonb DEFAULT '[]'::jsonb"
        );
        assert_eq!(
            alter_column_type(
                "t",
                "created_at",
                "timestamp without time zone",
                Some("\"created_at\" AT TIME ZONE 'UTC'")
            )
            .unwrap(),
            "ALTER TABLE \"t\" ALTER COLUMN \"created_at\" TYPE timestamp without time zone \
             USING \"created_at\" AT TIME ZONE 'UTC'"
        );
        assert!(set_column_default("t", "x\0", "now()").is_err());
        assert_eq!(
            legacy_column_template(LegacyTable::DocStatus, "tmp").unwrap(),
            format!("CREATE TEMPORARY TABLE \"tmp\" ({DOC_STATUS_COLUMNS})")
        );
        assert!(legacy_vector_table(VectorNamespace::Chunks).unwrap()[0].contains("content_vector VECTOR, file_path"));
    }

    #[test]
    fn the_llm_cache_keys_are_flattened_before_mode_is_dropped() {
        let stmts = llm_cache_drop_mode();
        let flatten = stmts.iter().position(|s| s.starts_with("UPDATE")).unwrap();
        let drop = stmts.iter().position(|s| s.contains("DROP COLUMN IF EXISTS mode")).unwrap();
        assert!(flatten < drop, "{stmts:?}");
        assert!(stmts.last().unwrap().ends_with("PRIMARY KEY (workspace, id)"));
        assert_eq!(
            doc_status_replace_scheduling_index()[0],
            "CREATE INDEX IF NOT EXISTS idx_lightrag_doc_status_ws_status_created_nf_id ON lightrag_doc_status \
             (workspace, status, created_at NULLS FIRST, id)"
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

    #[test]
    fn vector_index_keeps_its_output_through_vector_index_named() {
        let named = vector_index_named(
            "p_vec",
            "LIGHTRAG_VDB_CHUNKS_m_8d",
            VectorColumn::HalfVec,
            VectorIndex::IvfFlat { lists: 7 },
            DistanceMetric::L2,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            named,
            "CREATE INDEX IF NOT EXISTS \"p_vec\" ON \"lightrag_vdb_chunks_m_8d\" USING ivfflat (content_vector halfvec_l2_ops) WITH (lists = 7)"
        );
        assert!(
            vector_index_named("x", "t", VectorColumn::Vector, VectorIndex::None, DistanceMetric::Cosine)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn partition_names_are_readable_hash_suffixed_and_short_enough_for_their_objects() {
        let t = "LIGHTRAG_VDB_CHUNKS_text_embedding_3_large_3072d";
        let p = vector_partition_name(t, "Team-A");
        assert!(p.starts_with("lightrag_vdb_chunks_text_p_team_a_"), "{p}");
        assert_eq!(p.len(), "lightrag_vdb_chunks_text_p_team_a_".len() + 12);
        assert_ne!(p, vector_partition_name(t, "team_a"), "the hash covers the exact name");
        assert_ne!(p, vector_partition_name("LIGHTRAG_VDB_ENTITY_text_embedding_3_large_3072d", "Team-A"));
        assert_ne!(p, vector_load_table_name(t, "Team-A"));
        for ws in ["研究", "a\"b'c%d", &"w".repeat(255), "default", "x y z", "___"] {
            for name in [vector_partition_name(t, ws), vector_load_table_name(t, ws), vector_default_partition_name(t)]
            {
                assert!(name.len() <= MAX_PARTITION_NAME_BYTES, "{name}");
                assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{name}");
                for obj in [format!("{name}_wid"), format!("{name}_vec"), format!("{name}_pk")] {
                    crate::ident::quote_ident(&obj).unwrap();
                }
            }
        }
        assert_eq!(
            vector_partition_name(t, "研究").len(),
            "lightrag_vdb_chunks_text_p_".len() + 12,
            "non-ASCII names keep only the hash"
        );
        assert_eq!(
            vector_default_partition_name("LIGHTRAG_VDB_ENTITY_bge_m3_1024d"),
            "lightrag_vdb_entity_bge_m3_1024d_default"
        );
        assert_eq!(vector_default_partition_name(t), "lightrag_vdb_chunks_text_embedding_3_large_3072d_default");
        let long = vector_default_partition_name("LIGHTRAG_VDB_RELATION_text_embedding_3_large_3072d");
        assert!(
            long.starts_with("lightrag_vdb_relation_te_default_") && long.len() <= MAX_PARTITION_NAME_BYTES,
            "{long}"
        );
        assert!(vector_conversion_table_name(t).len() <= MAX_PARTITION_NAME_BYTES);
    }

    #[test]
    fn a_partitioned_vector_table_keeps_lightrags_columns_key_and_index_names() {
        let plain = vector_table(VectorNamespace::Entities, "LIGHTRAG_VDB_ENTITY", VectorColumn::Vector, 8).unwrap();
        let part = vector_table_partitioned(VectorNamespace::Entities, "LIGHTRAG_VDB_ENTITY", VectorColumn::Vector, 8)
            .unwrap();
        assert_eq!(part[0], format!("{} PARTITION BY LIST (workspace)", plain[0]));
        assert_eq!(part[1..], plain[1..]);
        assert_eq!(
            vector_default_partition("LIGHTRAG_VDB_ENTITY").unwrap(),
            "CREATE TABLE IF NOT EXISTS \"lightrag_vdb_entity_default\" PARTITION OF \"lightrag_vdb_entity\" DEFAULT"
        );
    }

    #[test]
    fn partition_bounds_are_quoted_by_the_server_never_formatted_here() {
        let check = vector_partition_check("it's_%s").unwrap();
        assert_eq!(
            check,
            "SELECT format('ALTER TABLE \"it''s_%%s\" ADD CONSTRAINT \"it''s_%%s_ck\" CHECK (workspace IS NOT NULL AND workspace = %L)', $1::text)"
        );
        let attach = vector_attach_partition("LIGHTRAG_VDB_CHUNKS", "p1").unwrap();
        assert_eq!(
            attach,
            "SELECT format('ALTER TABLE \"lightrag_vdb_chunks\" ATTACH PARTITION \"p1\" FOR VALUES IN (%L)', $1::text)"
        );
    }

    #[test]
    fn a_partition_copy_and_its_renames_name_every_object() {
        let stmts = vector_partition_table(VectorNamespace::Chunks, "p1", VectorColumn::Vector, 4).unwrap();
        assert!(
            stmts[0].starts_with("CREATE TABLE \"p1\" (id VARCHAR(255), workspace VARCHAR(255), full_doc_id"),
            "{}",
            stmts[0]
        );
        assert_eq!(stmts[1], "ALTER TABLE \"p1\" ADD CONSTRAINT \"p1_pk\" PRIMARY KEY (workspace, id)");
        let rename = vector_partition_rename("l1", "p1", true, true).unwrap();
        assert_eq!(rename[0], "ALTER TABLE \"l1\" RENAME TO \"p1\"");
        assert!(rename.contains(&"ALTER INDEX \"l1_vec\" RENAME TO \"p1_vec\"".to_owned()));
        assert!(rename.contains(&"ALTER TABLE \"p1\" RENAME CONSTRAINT \"l1_ck\" TO \"p1_ck\"".to_owned()));
        let copy = vector_partitioned_copy(VectorNamespace::Chunks, "c1", VectorColumn::Vector, 4).unwrap();
        assert!(copy[0].ends_with("PARTITION BY LIST (workspace)") && copy.len() == 4, "{copy:?}");
        let back = vector_partitioned_copy_rename(
            "c1",
            "LIGHTRAG_VDB_CHUNKS",
            "c1_default",
            Some("idx_lightrag_vdb_chunks_hnsw_cosine"),
        )
        .unwrap();
        assert!(back.contains(&"ALTER INDEX \"c1_wid\" RENAME TO \"idx_lightrag_vdb_chunks_workspace_id\"".to_owned()));
        assert!(back.contains(
            &"ALTER TABLE \"lightrag_vdb_chunks\" RENAME CONSTRAINT \"c1_pk\" TO \"lightrag_vdb_chunks_pk\"".to_owned()
        ));
        assert!(back.contains(&"ALTER INDEX \"c1_vec\" RENAME TO \"idx_lightrag_vdb_chunks_hnsw_cosine\"".to_owned()));
        assert!(back.contains(&"ALTER TABLE \"c1_default\" RENAME TO \"lightrag_vdb_chunks_default\"".to_owned()));
    }
}
