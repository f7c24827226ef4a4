//! [`PgVectorConfig`]: what a vector storage needs to know, and the
//! [`IndexPlan`] it resolves to (column type, index kind, exact search).

use std::fmt;

use lightrag_pg_core::{DistanceMetric, Error, Result, VectorNamespace, vector::MAX_DIMENSIONS};
use lightrag_pg_pool::VectorIndexSettings;
use lightrag_pg_pool::ddl::{self, VectorColumn, VectorIndex};

/// LightRAG's default `cosine_better_than_threshold`.
pub const DEFAULT_THRESHOLD: f64 = 0.2;
/// pgvector indexes (HNSW, IVFFlat) `vector` columns of at most this many dimensions.
pub const MAX_INDEXED_VECTOR_DIMS: usize = 2_000;
/// pgvector indexes `halfvec` columns of at most this many dimensions.
pub const MAX_INDEXED_HALFVEC_DIMS: usize = 4_000;
/// pgvector's largest `hnsw.ef_search`.
pub const MAX_EF_SEARCH: u32 = 1_000;
/// An IVFFlat index is built once the table holds this many rows per list (its
/// k-means needs data; an index trained on an empty table has useless centroids).
pub const IVFFLAT_MIN_ROWS_PER_LIST: u64 = 10;
/// Upserts up to this many rows use one UNNEST statement instead of COPY
/// (measured on the project server; see the README).
pub const DEFAULT_UNNEST_MAX_ROWS: usize = 128;
/// Default rows per COPY batch inside one upsert transaction.
pub const DEFAULT_BATCH_ROWS: usize = 5_000;
/// An upsert of at least this many rows into a workspace that has no rows yet
/// (a first load) takes the bulk path: the index is built once after the rows
/// are in, instead of row by row (see [`crate::PgVectorStorage::bulk_load`]).
pub const DEFAULT_BULK_THRESHOLD_ROWS: usize = 2_000;

/// The vector index to keep on the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// HNSW on `vector` up to 2,000 dimensions, HNSW on `halfvec` up to 4,000,
    /// exact search (no index) above.
    Auto {
        /// Links per node.
        m: u32,
        /// Candidate list size while building.
        ef_construction: u32,
    },
    /// HNSW on a `vector` column (LightRAG's `HNSW`). Above 2,000 dimensions
    /// pgvector cannot index `vector`, so the plan moves to `halfvec` (up to
    /// 4,000) or to exact search, and says so.
    Hnsw {
        /// Links per node.
        m: u32,
        /// Candidate list size while building.
        ef_construction: u32,
    },
    /// HNSW on a `halfvec` column (LightRAG's `HNSW_HALFVEC`): 2-byte floats,
    /// indexable up to 4,000 dimensions.
    HnswHalfvec {
        /// Links per node.
        m: u32,
        /// Candidate list size while building.
        ef_construction: u32,
    },
    /// IVFFlat (LightRAG's `IVFFLAT`), built once the table holds
    /// [`IVFFLAT_MIN_ROWS_PER_LIST`] rows per list; rebuild it with
    /// [`crate::PgVectorStorage::rebuild_index`] after large loads.
    IvfFlat {
        /// Number of inverted lists.
        lists: u32,
    },
    /// No index: exact search (LightRAG's `NONE`).
    None,
}

impl Default for IndexKind {
    fn default() -> Self {
        Self::Auto { m: 16, ef_construction: 64 }
    }
}

impl IndexKind {
    /// Parses LightRAG's `POSTGRES_VECTOR_INDEX_TYPE` (`HNSW`, `HNSW_HALFVEC`,
    /// `IVFFLAT`, `NONE`, plus `AUTO`) with the build parameters of `settings`.
    ///
    /// # Errors
    /// [`Error::Config`] naming `POSTGRES_VECTOR_INDEX_TYPE` for another value.
    pub fn from_settings(settings: &VectorIndexSettings) -> Result<Self> {
        let (m, ef_construction) = (settings.hnsw_m, settings.hnsw_ef_construction);
        match settings.index_type.trim().to_ascii_uppercase().as_str() {
            "AUTO" => Ok(Self::Auto { m, ef_construction }),
            "HNSW" => Ok(Self::Hnsw { m, ef_construction }),
            "HNSW_HALFVEC" => Ok(Self::HnswHalfvec { m, ef_construction }),
            "IVFFLAT" => Ok(Self::IvfFlat { lists: settings.ivfflat_lists }),
            "NONE" | "" => Ok(Self::None),
            other => Err(Error::config(
                "POSTGRES_VECTOR_INDEX_TYPE",
                format!("invalid index type '{other}' (expected AUTO, HNSW, HNSW_HALFVEC, IVFFLAT or NONE)"),
            )),
        }
    }
}

/// Everything a [`crate::PgVectorStorage`] needs besides the pool and workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct PgVectorConfig {
    /// Which of LightRAG's three vector namespaces.
    pub namespace: VectorNamespace,
    /// The embedding dimension (1 to 16,000).
    pub dimension: usize,
    /// The embedding model's name; it suffixes the table name like LightRAG
    /// (`LIGHTRAG_VDB_ENTITY_bge_m3_1024d`). `None` uses the bare base table.
    pub model_name: Option<String>,
    /// The distance metric (LightRAG: cosine).
    pub metric: DistanceMetric,
    /// The index to keep.
    pub index: IndexKind,
    /// The default minimum similarity of a hit (LightRAG's
    /// `cosine_better_than_threshold`, 0.2). For cosine a hit needs
    /// `distance < 1 - threshold`; see [`DistanceMetric::similarity`] for the others.
    pub cosine_better_than_threshold: f64,
    /// `hnsw.ef_search` for queries; raised to `top_k` when smaller (capped at 1,000).
    pub ef_search: u32,
    /// `ivfflat.probes` for queries.
    pub ivfflat_probes: u32,
    /// Rows per COPY batch inside one upsert transaction (bounds server-side
    /// staging; the client streams row by row).
    pub batch_rows: usize,
    /// Use pgvector 0.8's iterative index scans (`relaxed_order`), so the
    /// workspace filter cannot leave a query with fewer than `top_k` hits. On by
    /// default; ignored on older pgvector.
    pub iterative_scan: bool,
    /// Upserts of at most this many rows go out as one `INSERT … SELECT FROM
    /// unnest(…)` statement; larger ones use binary COPY into a staging table
    /// (default [`DEFAULT_UNNEST_MAX_ROWS`]; 0 always uses COPY).
    pub unnest_max_rows: usize,
    /// Create new tables LIST-partitioned by `workspace` (one partition, with its
    /// own vector index, per workspace; a DEFAULT partition for workspaces other
    /// writers create). LightRAG's table name, columns and primary key are kept.
    /// An existing table keeps its layout (convert it with
    /// [`crate::PgVectorStorage::convert_to_partitioned`]). Default `false`
    /// (`POSTGRES_VECTOR_PARTITIONED`).
    pub partitioned: bool,
    /// An upsert of at least this many rows into a workspace with no rows yet
    /// goes through the bulk path (index built once); 0 never does. Default
    /// [`DEFAULT_BULK_THRESHOLD_ROWS`].
    pub bulk_threshold_rows: usize,
}

impl PgVectorConfig {
    /// Defaults: no model name, cosine, [`IndexKind::Auto`] (m 16,
    /// ef_construction 64), threshold 0.2, ef_search 100, 10 IVFFlat probes.
    pub fn new(namespace: VectorNamespace, dimension: usize) -> Self {
        Self {
            namespace,
            dimension,
            model_name: None,
            metric: DistanceMetric::Cosine,
            index: IndexKind::default(),
            cosine_better_than_threshold: DEFAULT_THRESHOLD,
            ef_search: 100,
            ivfflat_probes: 10,
            batch_rows: DEFAULT_BATCH_ROWS,
            iterative_scan: true,
            unnest_max_rows: DEFAULT_UNNEST_MAX_ROWS,
            partitioned: false,
            bulk_threshold_rows: DEFAULT_BULK_THRESHOLD_ROWS,
        }
    }

    /// The configuration LightRAG's environment describes: the index type and
    /// parameters from `POSTGRES_VECTOR_INDEX_TYPE`, `POSTGRES_HNSW_M`,
    /// `POSTGRES_HNSW_EF`, `POSTGRES_HNSW_EF_SEARCH`, `POSTGRES_IVFFLAT_LISTS`,
    /// `POSTGRES_IVFFLAT_PROBES` (as read into `pool.config().vector`), and the
    /// batch size from `POSTGRES_UPSERT_MAX_RECORDS_PER_BATCH`, and the layout from
    /// `POSTGRES_VECTOR_PARTITIONED`.
    ///
    /// # Errors
    /// [`Error::Config`] for an unknown index type.
    pub fn from_pool_config(
        namespace: VectorNamespace,
        dimension: usize,
        model_name: Option<&str>,
        pool: &lightrag_pg_pool::PgConfig,
    ) -> Result<Self> {
        let v = &pool.vector;
        Ok(Self {
            model_name: model_name.map(str::to_owned),
            index: IndexKind::from_settings(v)?,
            ef_search: v.hnsw_ef_search,
            ivfflat_probes: v.ivfflat_probes,
            batch_rows: pool.upsert_batch_rows.max(1),
            partitioned: pool.vector_partitioned,
            ..Self::new(namespace, dimension)
        })
    }

    /// The same configuration with an embedding-model name (table suffix).
    pub fn with_model_name(mut self, model_name: impl Into<String>) -> Self {
        self.model_name = Some(model_name.into());
        self
    }

    /// The same configuration with another metric.
    pub fn with_metric(mut self, metric: DistanceMetric) -> Self {
        self.metric = metric;
        self
    }

    /// The same configuration with another index kind.
    pub fn with_index(mut self, index: IndexKind) -> Self {
        self.index = index;
        self
    }

    /// The same configuration with the partitioned layout on or off (for new tables).
    pub fn with_partitioned(mut self, partitioned: bool) -> Self {
        self.partitioned = partitioned;
        self
    }

    /// The same configuration with another default threshold.
    pub fn with_threshold(mut self, threshold: f64) -> Self {
        self.cosine_better_than_threshold = threshold;
        self
    }

    /// The table name LightRAG uses (mixed case as in its DDL; PostgreSQL folds
    /// it to lower case).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the name exceeds 63 bytes, as LightRAG refuses it.
    pub fn table_name(&self) -> Result<String> {
        ddl::vector_table_name(self.namespace, self.model_name.as_deref(), self.dimension)
    }

    /// Checks the values and resolves the table, column type and index.
    ///
    /// # Errors
    /// [`Error::Config`] for a dimension of 0 or above 16,000, a non-finite
    /// threshold, zero build parameters or batch size; [`Error::InvalidInput`] for
    /// an over-long table name.
    pub fn plan(&self) -> Result<IndexPlan> {
        let dim = self.dimension;
        if dim == 0 || dim > MAX_DIMENSIONS {
            return Err(Error::config(
                "embedding dimension",
                format!("{dim} is not supported: pgvector stores 1 to {MAX_DIMENSIONS} dimensions"),
            ));
        }
        if !self.cosine_better_than_threshold.is_finite() {
            return Err(Error::config("cosine_better_than_threshold", "must be a finite number"));
        }
        if self.batch_rows == 0 || self.ef_search == 0 || self.ivfflat_probes == 0 {
            return Err(Error::config("vector config", "batch_rows, ef_search and ivfflat_probes must be positive"));
        }
        let table = self.table_name()?;
        let exact = |note: String| (VectorColumn::Vector, VectorIndex::None, Some(note));
        let too_big = |kind: &str, limit: usize| {
            format!(
                "{kind} cannot index {dim} dimensions (pgvector indexes at most {limit}); \
                 using exact search (sequential scan per query)"
            )
        };
        let (column, index, note) = match self.index {
            IndexKind::None => (VectorColumn::Vector, VectorIndex::None, None),
            IndexKind::Auto { m, ef_construction } | IndexKind::Hnsw { m, ef_construction } => {
                let auto = matches!(self.index, IndexKind::Auto { .. });
                let hnsw = VectorIndex::Hnsw { m, ef_construction };
                if dim <= MAX_INDEXED_VECTOR_DIMS {
                    (VectorColumn::Vector, hnsw, None)
                } else if dim <= MAX_INDEXED_HALFVEC_DIMS {
                    let note = (!auto).then(|| {
                        format!(
                            "HNSW cannot index a {dim}-dimension vector column (limit {MAX_INDEXED_VECTOR_DIMS}); \
                             storing halfvec({dim}) with an HNSW index instead (HNSW_HALFVEC)"
                        )
                    });
                    (VectorColumn::HalfVec, hnsw, note)
                } else {
                    exact(too_big("HNSW", MAX_INDEXED_HALFVEC_DIMS))
                }
            }
            IndexKind::HnswHalfvec { m, ef_construction } => {
                if dim <= MAX_INDEXED_HALFVEC_DIMS {
                    (VectorColumn::HalfVec, VectorIndex::Hnsw { m, ef_construction }, None)
                } else {
                    exact(too_big("HNSW on halfvec", MAX_INDEXED_HALFVEC_DIMS))
                }
            }
            IndexKind::IvfFlat { lists } => {
                if lists == 0 {
                    return Err(Error::config("POSTGRES_IVFFLAT_LISTS", "must be positive"));
                }
                let ivf = VectorIndex::IvfFlat { lists };
                if dim <= MAX_INDEXED_VECTOR_DIMS {
                    (VectorColumn::Vector, ivf, None)
                } else if dim <= MAX_INDEXED_HALFVEC_DIMS {
                    let note = format!(
                        "IVFFlat cannot index a {dim}-dimension vector column (limit {MAX_INDEXED_VECTOR_DIMS}); \
                         storing halfvec({dim}) with an IVFFlat index instead"
                    );
                    (VectorColumn::HalfVec, ivf, Some(note))
                } else {
                    exact(too_big("IVFFlat", MAX_INDEXED_HALFVEC_DIMS))
                }
            }
        };
        if let VectorIndex::Hnsw { m, ef_construction } = index
            && (!(2..=100).contains(&m) || !(4..=1000).contains(&ef_construction) || ef_construction < 2 * m)
        {
            return Err(Error::config(
                "POSTGRES_HNSW_M / POSTGRES_HNSW_EF",
                format!(
                    "m = {m}, ef_construction = {ef_construction}: pgvector needs 2 ≤ m ≤ 100 and 2·m ≤ ef_construction ≤ 1000"
                ),
            ));
        }
        let index_name = ddl::vector_index_name(&table, column, index, self.metric);
        Ok(IndexPlan {
            table,
            dimension: dim,
            metric: self.metric,
            requested: self.index,
            column,
            index,
            index_name,
            note,
        })
    }
}

/// How a table is laid out and searched: the resolved form of a
/// [`PgVectorConfig`]. [`fmt::Display`] gives a one-line summary for the doctor.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexPlan {
    /// The table (LightRAG's name, mixed case).
    pub table: String,
    /// The dimension.
    pub dimension: usize,
    /// The metric.
    pub metric: DistanceMetric,
    /// What the configuration asked for.
    pub requested: IndexKind,
    /// The column type the plan needs (an existing table's actual type is
    /// reported by [`crate::PgVectorStorage::column_type`]).
    pub column: VectorColumn,
    /// The index that will be kept.
    pub index: VectorIndex,
    /// The index's name, as LightRAG names it; `None` for exact search.
    pub index_name: Option<String>,
    /// Why the plan differs from the request, when it does (a dimension limit).
    pub note: Option<String>,
}

impl IndexPlan {
    /// Whether queries scan every row of the workspace (no ANN index).
    pub fn exact_search(&self) -> bool {
        self.index == VectorIndex::None
    }
}

impl fmt::Display for IndexPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let column = format!("{}({})", self.column.type_name(), self.dimension);
        match (self.index, &self.index_name) {
            (VectorIndex::Hnsw { m, ef_construction }, Some(name)) => write!(
                f,
                "{}: {column}, HNSW {} (m = {m}, ef_construction = {ef_construction}) as {name}",
                self.table.to_lowercase(),
                self.metric.as_str()
            )?,
            (VectorIndex::IvfFlat { lists }, Some(name)) => write!(
                f,
                "{}: {column}, IVFFlat {} (lists = {lists}) as {name}",
                self.table.to_lowercase(),
                self.metric.as_str()
            )?,
            _ => write!(f, "{}: {column}, no index: exact {} search", self.table.to_lowercase(), self.metric.as_str())?,
        }
        if let Some(note) = &self.note {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(dim: usize, index: IndexKind) -> IndexPlan {
        PgVectorConfig::new(VectorNamespace::Entities, dim).with_index(index).plan().unwrap()
    }

    const HNSW: IndexKind = IndexKind::Hnsw { m: 16, ef_construction: 64 };

    #[test]
    fn auto_picks_hnsw_then_halfvec_then_exact() {
        let p = plan(1024, IndexKind::default());
        assert_eq!((p.column, p.index), (VectorColumn::Vector, VectorIndex::Hnsw { m: 16, ef_construction: 64 }));
        assert_eq!(p.index_name.as_deref(), Some("idx_lightrag_vdb_entity_hnsw_cosine"));
        assert!(p.note.is_none());
        let p = plan(3072, IndexKind::default());
        assert_eq!(p.column, VectorColumn::HalfVec);
        assert_eq!(p.index_name.as_deref(), Some("idx_lightrag_vdb_entity_hnsw_halfvec_cosine"));
        let p = plan(4096, IndexKind::default());
        assert!(p.exact_search());
        assert!(p.note.as_deref().unwrap().contains("exact search"));
    }

    #[test]
    fn explicit_hnsw_above_2000_dims_moves_to_halfvec_and_says_so() {
        let p = plan(2001, HNSW);
        assert_eq!(p.column, VectorColumn::HalfVec);
        assert!(p.note.as_deref().unwrap().contains("halfvec(2001)"));
        assert_eq!(plan(2000, HNSW).column, VectorColumn::Vector);
    }

    #[test]
    fn ivfflat_and_none_follow_lightrag_names() {
        let p = plan(64, IndexKind::IvfFlat { lists: 100 });
        assert_eq!(p.index_name.as_deref(), Some("idx_lightrag_vdb_entity_ivfflat_cosine"));
        let p = plan(64, IndexKind::None);
        assert!(p.exact_search() && p.index_name.is_none() && p.note.is_none());
        let p = PgVectorConfig::new(VectorNamespace::Chunks, 8).with_metric(DistanceMetric::L2).plan().unwrap();
        assert_eq!(p.index_name.as_deref(), Some("idx_lightrag_vdb_chunks_hnsw_l2"));
    }

    #[test]
    fn dimensions_outside_pgvector_are_refused() {
        for dim in [0, MAX_DIMENSIONS + 1] {
            let err = PgVectorConfig::new(VectorNamespace::Chunks, dim).plan().unwrap_err();
            assert!(matches!(err, Error::Config { .. }), "{err}");
        }
        assert!(PgVectorConfig::new(VectorNamespace::Chunks, MAX_DIMENSIONS).plan().unwrap().exact_search());
    }

    #[test]
    fn index_type_names_parse_like_lightrag() {
        let mut s = VectorIndexSettings::default();
        assert_eq!(IndexKind::from_settings(&s).unwrap(), HNSW);
        s.index_type = "hnsw_halfvec".into();
        assert!(matches!(IndexKind::from_settings(&s).unwrap(), IndexKind::HnswHalfvec { .. }));
        s.index_type = "IVFFLAT".into();
        assert_eq!(IndexKind::from_settings(&s).unwrap(), IndexKind::IvfFlat { lists: 100 });
        s.index_type = "btree".into();
        assert!(IndexKind::from_settings(&s).unwrap_err().to_string().contains("POSTGRES_VECTOR_INDEX_TYPE"));
    }

    #[test]
    fn the_partitioned_layout_comes_from_postgres_vector_partitioned() {
        let pool = lightrag_pg_pool::PgConfig::builder().vector_partitioned(true).build();
        let c = PgVectorConfig::from_pool_config(VectorNamespace::Chunks, 8, None, &pool).unwrap();
        assert!(c.partitioned);
        assert!(!PgVectorConfig::new(VectorNamespace::Chunks, 8).partitioned, "off by default");
        assert_eq!(c.bulk_threshold_rows, DEFAULT_BULK_THRESHOLD_ROWS);
    }

    #[test]
    fn plan_summary_names_table_index_and_note() {
        let text = plan(3072, HNSW).to_string();
        assert!(text.contains("halfvec(3072)") && text.contains("HNSW cosine"), "{text}");
        assert!(plan(5000, IndexKind::default()).to_string().contains("exact cosine search"));
    }
}
