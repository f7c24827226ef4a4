//! [`PgVectorStorage`]: LightRAG's `PGVectorStorage` on pgvector.

use std::collections::HashMap;
use std::fmt;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use chrono::NaiveDateTime;
use lightrag_pg_core::ids;
use lightrag_pg_core::{
    DistanceMetric, Embedder, Error, JsonObject, Namespace, Result, Storage, VectorHit, VectorNamespace, VectorQuery,
    VectorRecord, VectorStorage, Workspace, vector::validate_vector,
};
use lightrag_pg_pool::ddl::{self, VectorColumn, VectorIndex};
use lightrag_pg_pool::ident::{quote_ident, safe_index_name};
use lightrag_pg_pool::{PgConn, PgPool, db_error, schema};
use postgres_types::{Kind, ToSql, Type};
use tokio_postgres::binary_copy::BinaryCopyInWriter;

use crate::codec::{HALF_MAX, PgVec, VecParam};
use crate::config::{IVFFLAT_MIN_ROWS_PER_LIST, IndexPlan, MAX_EF_SEARCH, PgVectorConfig};
use crate::record::{RowData, render, row_data};
use crate::sql::Sql;

/// What `initialize` learned about the database.
#[derive(Debug)]
pub(crate) struct State {
    /// The column type the table actually has.
    pub(crate) column: VectorColumn,
    /// The runtime `vector`/`halfvec` type, for binary COPY.
    pub(crate) vector_type: Type,
    pub(crate) sql: Sql,
    /// pgvector ≥ 0.8: iterative index scans.
    iterative_scan: bool,
    /// The index exists (an IVFFlat build waits for data).
    pub(crate) index_ready: AtomicBool,
    /// The un-suffixed legacy table, when it exists and differs (quoted).
    pub(crate) legacy_table: Option<String>,
    pgvector_version: String,
    /// The table's layout and this workspace's partition.
    pub(crate) layout: std::sync::Mutex<LayoutState>,
}

/// How the table is laid out, as last seen.
#[derive(Debug, Clone, Default)]
pub(crate) struct LayoutState {
    /// The table is LIST-partitioned by workspace.
    pub(crate) partitioned: bool,
    /// Its DEFAULT partition, when it has one.
    pub(crate) default_partition: Option<String>,
    /// This workspace's partition, once known to exist.
    pub(crate) partition: Option<String>,
}

impl State {
    /// The layout, as last seen (a poisoned lock still holds valid data).
    pub(crate) fn layout(&self) -> std::sync::MutexGuard<'_, LayoutState> {
        self.layout.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How a vector table is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// LightRAG's layout: one table and one vector index shared by all workspaces.
    Shared,
    /// LIST-partitioned by `workspace`: one partition and index per workspace,
    /// plus a DEFAULT partition.
    Partitioned,
}

/// LightRAG's vector storage for one namespace in one workspace, on pgvector.
///
/// Tables, columns, ids and index names are Python LightRAG 1.5.7's, so both can
/// share a database. Writes are immediate and durable: there is no process-local
/// buffer, and `index_done_callback` has nothing to flush (LightRAG buffers until
/// it). The schema is created on [`Storage::initialize`], or on first use.
pub struct PgVectorStorage {
    pool: PgPool,
    ws: Workspace,
    config: PgVectorConfig,
    plan: IndexPlan,
    embedder: Option<Arc<dyn Embedder>>,
    state: tokio::sync::OnceCell<State>,
}

impl fmt::Debug for PgVectorStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgVectorStorage")
            .field("namespace", &self.config.namespace)
            .field("workspace", &self.ws)
            .field("plan", &self.plan.to_string())
            .field("embedder", &self.embedder.is_some())
            .finish()
    }
}

/// Logs an operation's duration when dropped (inside the operation's span).
pub(crate) struct Elapsed(Instant);

impl Drop for Elapsed {
    fn drop(&mut self) {
        tracing::debug!(elapsed_ms = self.0.elapsed().as_secs_f64() * 1e3, "done");
    }
}

pub(crate) fn elapsed() -> Elapsed {
    Elapsed(Instant::now())
}

/// The largest distance a hit may have: `similarity(distance) > threshold`
/// solved for the distance (cosine: LightRAG's `1 - threshold`).
fn distance_cutoff(metric: DistanceMetric, threshold: f64) -> f64 {
    match metric {
        DistanceMetric::Cosine => 1.0 - threshold,
        DistanceMetric::L2 if threshold <= 0.0 => f64::INFINITY,
        DistanceMetric::L2 => 1.0 / threshold - 1.0,
        DistanceMetric::Ip => -threshold,
    }
}

impl PgVectorStorage {
    /// A storage on `pool` for `workspace`. `POSTGRES_WORKSPACE`
    /// (`pool.config().workspace`), when set, replaces the workspace, as in
    /// LightRAG. Nothing is sent to the server until [`Storage::initialize`] or the
    /// first call.
    ///
    /// # Errors
    /// [`Error::Config`] / [`Error::InvalidInput`] for a configuration
    /// [`PgVectorConfig::plan`] refuses or an invalid forced workspace.
    pub fn new(pool: PgPool, workspace: Workspace, config: PgVectorConfig) -> Result<Self> {
        let ws = Workspace::resolve(pool.config().workspace.as_deref(), Some(workspace.as_str()))?;
        let plan = config.plan()?;
        Ok(Self { pool, ws, config, plan, embedder: None, state: tokio::sync::OnceCell::new() })
    }

    /// The same storage with an embedder, for queries given as text.
    pub fn with_embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &PgVectorConfig {
        &self.config
    }

    /// The table LightRAG's name for it (mixed case; PostgreSQL folds it).
    pub fn table_name(&self) -> &str {
        &self.plan.table
    }

    /// How the table is indexed and searched: HNSW, HNSW on `halfvec`, IVFFlat or
    /// exact search, and why when it differs from the configuration (a dimension
    /// limit). For the doctor and for logs.
    pub fn index_plan(&self) -> &IndexPlan {
        &self.plan
    }

    /// The column type the table actually has, once initialised.
    pub fn column_type(&self) -> Option<VectorColumn> {
        self.state.get().map(|s| s.column)
    }

    /// The table's layout, once initialised: shared (LightRAG's) or one partition
    /// per workspace.
    pub fn layout(&self) -> Option<Layout> {
        self.state.get().map(|s| if s.layout().partitioned { Layout::Partitioned } else { Layout::Shared })
    }

    /// The pgvector version found at initialisation.
    pub fn pgvector_version(&self) -> Option<&str> {
        self.state.get().map(|s| s.pgvector_version.as_str())
    }

    /// Whether the planned index exists (`true` for exact search). An IVFFlat
    /// index waits until the table holds enough rows to train it.
    ///
    /// # Errors
    /// Initialisation, connection or database errors.
    pub async fn index_ready(&self) -> Result<bool> {
        Ok(self.state().await?.index_ready.load(Ordering::Acquire))
    }

    pub(crate) async fn state(&self) -> Result<&State> {
        self.state.get_or_try_init(|| self.setup()).await
    }

    pub(crate) fn ns(&self) -> VectorNamespace {
        self.config.namespace
    }

    pub(crate) async fn conn(&self) -> Result<PgConn> {
        self.pool.get().await
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) fn ws(&self) -> &Workspace {
        &self.ws
    }

    pub(crate) fn plan(&self) -> &IndexPlan {
        &self.plan
    }

    /// Creates the table (LightRAG's DDL), adopts an existing one after checking
    /// its dimension, makes the index match the plan, and copies this workspace's
    /// rows from LightRAG's legacy (un-suffixed) table when there are any.
    async fn setup(&self) -> Result<State> {
        let started = Instant::now();
        schema::ensure_extension(&self.pool, "vector").await?;
        let conn = self.conn().await?;
        let version: String = conn
            .query_one("SELECT extversion FROM pg_extension WHERE extname = 'vector'", &[])
            .await
            .map_err(db_error)?
            .get(0);
        let (major, minor) = parse_version(&version);
        if self.plan.column == VectorColumn::HalfVec && (major, minor) < (0, 7) {
            return Err(Error::config(
                "pgvector",
                format!("version {version} has no halfvec; {} needs pgvector 0.7.0 or later", self.plan),
            ));
        }
        let plan = &self.plan;
        let table = &plan.table;
        let lower = table.to_lowercase();
        let quoted = quote_ident(&lower)?;
        let part = format!("vector_table:{lower}");
        // Schema work takes its own connection: never hold one meanwhile (a pool
        // of one would wait on itself).
        drop(conn);
        let table_ddl = if self.config.partitioned {
            ddl::vector_table_partitioned(self.ns(), table, plan.column, plan.dimension)?
        } else {
            ddl::vector_table(self.ns(), table, plan.column, plan.dimension)?
        };
        schema::ensure(&self.pool, &part, &[&lower], &table_ddl).await?;
        let mut conn = self.conn().await?;
        let partitioned = crate::partition::is_partitioned(&*conn, &lower).await?;
        if self.config.partitioned && !partitioned {
            tracing::warn!(table = %lower,
                "the partitioned layout is configured but the table exists unpartitioned; keeping its layout \
                 (convert it with convert_to_partitioned)");
        }
        let mut default_partition = None;
        if partitioned {
            default_partition = crate::partition::default_partition(&*conn, &lower).await?;
            if default_partition.is_none() {
                drop(conn);
                let part = format!("vector_default:{lower}");
                schema::forget(&self.pool, &part).await?;
                schema::ensure(&self.pool, &part, &[], &[ddl::vector_default_partition(table)?]).await?;
                conn = self.conn().await?;
                default_partition = crate::partition::default_partition(&*conn, &lower).await?;
            }
        }

        // The table may predate us (Python LightRAG, another configuration).
        let row = conn
            .query_opt(
                "SELECT t.typname::text, a.atttypmod FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
                 WHERE a.attrelid = to_regclass($1) AND a.attname = 'content_vector' AND NOT a.attisdropped",
                &[&quoted],
            )
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::config(lower.clone(), "table has no content_vector column"))?;
        let (type_name, typmod): (String, i32) = (row.get(0), row.get(1));
        let mut column = match type_name.as_str() {
            "vector" => VectorColumn::Vector,
            "halfvec" => VectorColumn::HalfVec,
            other => {
                return Err(Error::config(
                    format!("{lower}.content_vector"),
                    format!("has type {other}; expected vector or halfvec"),
                ));
            }
        };
        if typmod > 0 && usize::try_from(typmod).ok() != Some(plan.dimension) {
            return Err(Error::config(
                format!("{lower}.content_vector"),
                format!(
                    "the table stores {typmod}-dimension vectors but the embedding dimension is {}; \
                     give the model name (its table is suffixed with model and dimension) or use the matching model",
                    plan.dimension
                ),
            ));
        }

        let mut index_ready = true;
        drop(conn);
        if let Some(index_name) = &plan.index_name {
            let conn = self.conn().await?;
            let exists = self.relation_exists(&conn, index_name).await?;
            if exists {
                if column != plan.column {
                    tracing::warn!(table = %lower, index = %index_name, actual = column.type_name(),
                        planned = plan.column.type_name(), "index exists on a column of another type; keeping the table as it is");
                }
            } else {
                let build_now = match plan.index {
                    // A partitioned table needs the (partitioned) index at once:
                    // each partition's own index is built on its data.
                    VectorIndex::IvfFlat { .. } if partitioned => true,
                    VectorIndex::IvfFlat { lists } => {
                        let need = u64::from(lists) * IVFFLAT_MIN_ROWS_PER_LIST;
                        self.count_upto(&conn, &quoted, need).await? >= need
                    }
                    _ => true,
                };
                let alter = column != plan.column;
                drop(conn);
                if alter || build_now {
                    let stmts = self.index_statements(alter, build_now)?;
                    if alter {
                        tracing::warn!(table = %lower, from = column.type_name(), to = plan.column.type_name(),
                            "converting content_vector to the planned type (as LightRAG does)");
                    }
                    let part = format!("vector_index:{index_name}:{}", u8::from(build_now));
                    schema::forget(&self.pool, &part).await?;
                    schema::ensure(&self.pool, &part, &[], &stmts).await?;
                    column = plan.column;
                }
                index_ready = build_now;
                if !build_now {
                    tracing::info!(table = %lower, index = %index_name,
                        "IVFFlat index deferred until the table holds enough rows to train it");
                }
            }
        }
        if let Some(note) = &plan.note {
            tracing::warn!(table = %lower, plan = %plan, "{note}");
        }

        let conn = self.conn().await?;
        let vector_type = self.lookup_type(&conn, column).await?;
        let sql = Sql::new(self.ns(), table, column, plan.metric)?;
        let legacy_table = self.migrate_legacy(&conn, &quoted, column).await?;
        tracing::info!(
            namespace = %self.ns(), workspace = %self.ws, plan = %plan, pgvector = %version,
            elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "vector storage ready"
        );
        Ok(State {
            column,
            vector_type,
            sql,
            iterative_scan: (major, minor) >= (0, 8),
            index_ready: AtomicBool::new(index_ready),
            legacy_table,
            pgvector_version: version,
            layout: std::sync::Mutex::new(LayoutState { partitioned, default_partition, partition: None }),
        })
    }

    /// DDL that makes the planned index exist: LightRAG drops indexes of the other
    /// kinds (same metric), converts the column when its type differs, then
    /// creates the index.
    pub(crate) fn index_statements(&self, alter: bool, create: bool) -> Result<Vec<String>> {
        let plan = &self.plan;
        let table = &plan.table;
        let quoted = quote_ident(&table.to_lowercase())?;
        let metric = plan.metric;
        let mut stmts = Vec::new();
        let mut others: Vec<String> = [
            (VectorColumn::Vector, VectorIndex::Hnsw { m: 16, ef_construction: 64 }),
            (VectorColumn::HalfVec, VectorIndex::Hnsw { m: 16, ef_construction: 64 }),
            (VectorColumn::Vector, VectorIndex::IvfFlat { lists: 1 }),
        ]
        .into_iter()
        .filter_map(|(c, i)| ddl::vector_index_name(table, c, i, metric))
        .collect();
        others.push(safe_index_name(table, &format!("vchordrq_{}", metric.as_str())));
        for other in others.into_iter().filter(|o| Some(o) != plan.index_name.as_ref()) {
            stmts.push(format!("DROP INDEX IF EXISTS {}", quote_ident(&other)?));
        }
        if alter {
            let ty = format!("{}({})", plan.column.type_name(), plan.dimension);
            stmts
                .push(format!("ALTER TABLE {quoted} ALTER COLUMN content_vector TYPE {ty} USING content_vector::{ty}"));
        }
        if create {
            stmts.extend(ddl::vector_index(table, plan.column, plan.index, metric)?);
        }
        Ok(stmts)
    }

    pub(crate) async fn relation_exists(&self, conn: &PgConn, name: &str) -> Result<bool> {
        let row =
            conn.query_one("SELECT to_regclass($1) IS NOT NULL", &[&quote_ident(name)?]).await.map_err(db_error)?;
        Ok(row.get(0))
    }

    async fn count_upto(&self, conn: &PgConn, quoted_table: &str, limit: u64) -> Result<u64> {
        let sql = format!("SELECT count(*) FROM (SELECT 1 FROM {quoted_table} LIMIT $1) n");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let n: i64 = conn.query_one(&sql, &[&limit]).await.map_err(db_error)?.get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn lookup_type(&self, conn: &PgConn, column: VectorColumn) -> Result<Type> {
        let row = conn
            .query_one(
                "SELECT t.oid, n.nspname::text FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
                 WHERE t.oid = to_regtype($1)",
                &[&column.type_name()],
            )
            .await
            .map_err(db_error)?;
        Ok(Type::new(column.type_name().to_owned(), row.get(0), Kind::Simple, row.get(1)))
    }

    /// LightRAG's legacy-table migration (spec §7.2), set-based: when the
    /// un-suffixed table has rows for this workspace and ours has none, copy them
    /// in one statement after checking their dimension. The legacy table is kept
    /// (LightRAG drops it when it is completely empty; we never drop tables).
    async fn migrate_legacy(&self, conn: &PgConn, quoted: &str, column: VectorColumn) -> Result<Option<String>> {
        let legacy = self.ns().base_table().to_lowercase();
        if legacy == self.plan.table.to_lowercase() {
            return Ok(None);
        }
        let legacy_q = quote_ident(&legacy)?;
        if !self.relation_exists(conn, &legacy).await? {
            return Ok(None);
        }
        let ws = self.ws.as_str();
        let sample = conn
            .query_opt(
                &format!("SELECT vector_dims(content_vector) FROM {legacy_q} WHERE workspace = $1 LIMIT 1"),
                &[&ws],
            )
            .await
            .map_err(db_error)?;
        let Some(sample) = sample else {
            return Ok(Some(legacy_q));
        };
        let mine = conn
            .query_opt(&format!("SELECT 1 FROM {quoted} WHERE workspace = $1 LIMIT 1"), &[&ws])
            .await
            .map_err(db_error)?;
        if mine.is_some() {
            return Ok(Some(legacy_q));
        }
        let dims: Option<i32> = sample.get(0);
        if dims.and_then(|d| usize::try_from(d).ok()) != Some(self.plan.dimension) {
            return Err(Error::Conflict {
                what: format!(
                    "legacy table {legacy} holds {}-dimension vectors for workspace {ws:?}, but {} expects {}; \
                     migrate or delete them by hand",
                    dims.unwrap_or(0),
                    self.plan.table.to_lowercase(),
                    self.plan.dimension
                ),
                source: None,
            });
        }
        let cols: Vec<&str> = crate::sql::payload_columns(self.ns()).iter().map(|c| c.0).collect();
        let list = format!("workspace, id, {}, create_time, update_time", cols.join(", "));
        let cast = format!("{}({})", column.type_name(), self.plan.dimension);
        let sql = format!(
            "INSERT INTO {quoted} ({list}, content_vector) SELECT {list}, content_vector::{cast} FROM {legacy_q} \
             WHERE workspace = $1 ON CONFLICT (workspace, id) DO NOTHING"
        );
        let moved = conn.execute(&sql, &[&ws]).await.map_err(db_error)?;
        tracing::warn!(from = %legacy, to = %self.plan.table.to_lowercase(), workspace = %ws, rows = moved,
            "copied this workspace's vectors from LightRAG's legacy table (kept; delete it by hand when done)");
        Ok(Some(legacy_q))
    }

    /// Builds (or re-trains) the planned index now: `REINDEX` when it exists
    /// (IVFFlat recomputes its centroids from the current rows), `CREATE INDEX`
    /// otherwise. Call it after a large first load into an IVFFlat table. Nothing
    /// to do for exact search.
    ///
    /// # Errors
    /// Connection or database errors.
    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws, count = 0))]
    pub async fn rebuild_index(&self) -> Result<()> {
        let _t = elapsed();
        let state = self.state().await?;
        let Some(name) = &self.plan.index_name else {
            return Ok(());
        };
        let conn = self.conn().await?;
        if state.layout().partitioned {
            // Only this workspace's partition: its index is its own.
            if let Some(index) = self.partition_vector_index(&*conn).await? {
                conn.batch_execute(&format!("REINDEX INDEX {}", quote_ident(&index)?)).await.map_err(db_error)?;
            }
            return Ok(());
        }
        if self.relation_exists(&conn, name).await? {
            conn.batch_execute(&format!("REINDEX INDEX {}", quote_ident(name)?)).await.map_err(db_error)?;
        } else {
            drop(conn);
            self.build_index().await?;
        }
        state.index_ready.store(true, Ordering::Release);
        Ok(())
    }

    async fn build_index(&self) -> Result<()> {
        let Some(name) = &self.plan.index_name else {
            return Ok(());
        };
        let part = format!("vector_index:{name}:1");
        schema::forget(&self.pool, &part).await?;
        schema::ensure(&self.pool, &part, &[], &self.index_statements(false, true)?).await
    }

    /// After a write: builds a deferred IVFFlat index once the table has the rows.
    pub(crate) async fn maybe_build_deferred_index(&self, state: &State) -> Result<()> {
        if state.layout().partitioned {
            return Ok(());
        }
        let VectorIndex::IvfFlat { lists } = self.plan.index else {
            return Ok(());
        };
        if state.index_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let need = u64::from(lists) * IVFFLAT_MIN_ROWS_PER_LIST;
        let conn = self.conn().await?;
        let limit = i64::try_from(need).unwrap_or(i64::MAX);
        let n: i64 = conn.query_one(&state.sql.count_upto, &[&limit]).await.map_err(db_error)?.get(0);
        drop(conn);
        if u64::try_from(n).unwrap_or(0) >= need {
            tracing::info!(table = %self.plan.table.to_lowercase(), rows = n, "building the deferred IVFFlat index");
            self.build_index().await?;
            state.index_ready.store(true, Ordering::Release);
        }
        Ok(())
    }

    pub(crate) fn check_vector(&self, state: &State, id: &str, v: &[f32]) -> Result<()> {
        validate_vector(id, v, self.plan.dimension)?;
        if state.column == VectorColumn::HalfVec
            && let Some(i) = v.iter().position(|x| x.abs() > HALF_MAX)
        {
            return Err(Error::invalid(
                id,
                format!("vector component {i} is {}, beyond halfvec's range (±{HALF_MAX})", v[i]),
            ));
        }
        Ok(())
    }

    async fn query_vector(&self, state: &State, query: &VectorQuery) -> Result<Vec<f32>> {
        let v = match (&query.embedding, &query.text) {
            (Some(v), _) => v.clone(),
            (None, Some(text)) => {
                let Some(embedder) = &self.embedder else {
                    return Err(Error::invalid("query", "a text query needs an embedder; none is configured"));
                };
                let mut out = embedder.embed(std::slice::from_ref(text)).await?;
                if out.len() != 1 {
                    return Err(Error::invalid(
                        "query",
                        format!("the embedder returned {} vectors for 1 text", out.len()),
                    ));
                }
                out.remove(0)
            }
            (None, None) => {
                return Err(Error::invalid("query", "the query has neither a vector nor a text"));
            }
        };
        if v.len() != self.plan.dimension {
            return Err(Error::DimensionMismatch { id: None, expected: self.plan.dimension, got: v.len() });
        }
        self.check_vector(state, "query", &v)?;
        Ok(v)
    }

    /// The `set_config` calls a query needs for the index in use.
    fn query_settings(&self, state: &State, top_k: usize) -> Option<(&'static str, Vec<String>)> {
        let index = if state.index_ready.load(Ordering::Acquire) { self.plan.index } else { VectorIndex::None };
        let mode = "relaxed_order".to_owned();
        let ef = u32::try_from(top_k).unwrap_or(u32::MAX).max(self.config.ef_search).min(MAX_EF_SEARCH);
        match (index, state.iterative_scan && self.config.iterative_scan) {
            (VectorIndex::Hnsw { .. }, iterative) => Some(if iterative {
                (
                    "SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', $2, true)",
                    vec![ef.to_string(), mode],
                )
            } else {
                ("SELECT set_config('hnsw.ef_search', $1, true)", vec![ef.to_string()])
            }),
            (VectorIndex::IvfFlat { .. }, iterative) => {
                let probes = self.config.ivfflat_probes.to_string();
                Some(if iterative {
                    (
                        "SELECT set_config('ivfflat.probes', $1, true), set_config('ivfflat.iterative_scan', $2, true)",
                        vec![probes, mode],
                    )
                } else {
                    ("SELECT set_config('ivfflat.probes', $1, true)", vec![probes])
                })
            }
            // Exact search planned, but the table may carry another
            // configuration's ANN index (one table serves every metric and
            // index kind of a model), which the planner may pick: make such a
            // scan complete too.
            (VectorIndex::None, true) => Some((
                "SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', $2, true), \
                 set_config('ivfflat.iterative_scan', $2, true)",
                vec![ef.to_string(), mode],
            )),
            (VectorIndex::None, false) => Some(("SELECT set_config('hnsw.ef_search', $1, true)", vec![ef.to_string()])),
        }
    }

    async fn search_once(
        &self,
        state: &State,
        sql: &str,
        v: &[f32],
        limit: i64,
        cutoff: f64,
        top_k: usize,
    ) -> Result<Vec<tokio_postgres::Row>> {
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(sql).await?;
        let ws = self.ws.as_str();
        let vp = VecParam(v);
        let params: [&(dyn ToSql + Sync); 4] = [&ws, &vp, &limit, &cutoff];
        let Some((set_sql, values)) = self.query_settings(state, top_k) else {
            return conn.query(&stmt, &params).await.map_err(db_error);
        };
        let set = conn.prepare_cached(set_sql).await?;
        let set_params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        // One round trip: BEGIN, the settings (SET LOCAL via set_config), the
        // search and COMMIT are pipelined. COMMIT after a failure rolls back.
        let (begin, settings, rows, commit) = tokio::join!(
            conn.batch_execute("BEGIN"),
            conn.query(&set, &set_params),
            conn.query(&stmt, &params),
            conn.batch_execute("COMMIT"),
        );
        begin.map_err(db_error)?;
        settings.map_err(db_error)?;
        let rows = rows.map_err(db_error)?;
        commit.map_err(db_error)?;
        Ok(rows)
    }

    /// The server's plan for a query, with the same session settings a real query
    /// uses (`EXPLAIN`, not executed): shows whether the ANN index serves it. For
    /// the doctor and for tests.
    ///
    /// # Errors
    /// As [`VectorStorage::query`].
    pub async fn explain(&self, query: &VectorQuery) -> Result<Vec<String>> {
        let state = self.state().await?;
        let v = self.query_vector(state, query).await?;
        let threshold = query.threshold.unwrap_or(self.config.cosine_better_than_threshold);
        let cutoff = distance_cutoff(self.plan.metric, threshold);
        let limit = i64::try_from(query.top_k.max(1)).unwrap_or(i64::MAX);
        let sql = format!("EXPLAIN {}", state.sql.query);
        let rows = self.search_once(state, &sql, &v, limit, cutoff, query.top_k).await?;
        rows.iter().map(|r| r.try_get::<_, String>(0).map_err(db_error)).collect()
    }

    fn rows_by_id(&self, rows: &[tokio_postgres::Row]) -> Result<HashMap<String, JsonObject>> {
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id").map_err(db_error)?;
                Ok((id, render(self.ns(), row, true)?))
            })
            .collect()
    }

    /// Writes validated, de-duplicated rows in one transaction.
    async fn write_rows(&self, state: &State, rows: &[&RowData<'_>], now: NaiveDateTime) -> Result<()> {
        if rows.len() <= self.config.unnest_max_rows {
            self.write_unnest(state, rows, now).await
        } else {
            self.write_copy(state, rows, now).await
        }
    }

    /// One `INSERT … SELECT FROM unnest(…)`: a single statement is its own
    /// transaction.
    async fn write_unnest(&self, state: &State, rows: &[&RowData<'_>], now: NaiveDateTime) -> Result<()> {
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(&state.sql.unnest_upsert).await?;
        let ws = self.ws.as_str();
        let ids: Vec<&str> = rows.iter().map(|r| r.id).collect();
        let vectors: Vec<VecParam<'_>> = rows.iter().map(|r| VecParam(r.vector)).collect();
        let content: Vec<Option<&str>> = rows.iter().map(|r| r.content).collect();
        let file_path: Vec<Option<&str>> = rows.iter().map(|r| r.file_path).collect();
        let joined: Vec<Option<String>> =
            rows.iter().map(|r| r.chunk_ids.as_ref().map(|c| c.join(lightrag_pg_core::ids::GRAPH_FIELD_SEP))).collect();
        let result = match self.ns() {
            VectorNamespace::Chunks => {
                let tokens: Vec<Option<i32>> = rows.iter().map(|r| r.tokens).collect();
                let order: Vec<Option<i32>> = rows.iter().map(|r| r.chunk_order_index).collect();
                let doc: Vec<Option<&str>> = rows.iter().map(|r| r.full_doc_id).collect();
                conn.execute(&stmt, &[&ws, &now, &ids, &tokens, &order, &doc, &content, &file_path, &vectors]).await
            }
            VectorNamespace::Entities => {
                let names: Vec<Option<&str>> = rows.iter().map(|r| r.entity_name).collect();
                conn.execute(&stmt, &[&ws, &now, &ids, &names, &content, &joined, &file_path, &vectors]).await
            }
            VectorNamespace::Relationships => {
                let src: Vec<Option<&str>> = rows.iter().map(|r| r.src_id).collect();
                let tgt: Vec<Option<&str>> = rows.iter().map(|r| r.tgt_id).collect();
                conn.execute(&stmt, &[&ws, &now, &ids, &src, &tgt, &content, &joined, &file_path, &vectors]).await
            }
        };
        result.map_err(db_error)?;
        Ok(())
    }

    /// Binary COPY into a staging table, then `INSERT … SELECT … ON CONFLICT`, in
    /// batches of `batch_rows`, all in one transaction. Rows are encoded one at a
    /// time straight from the records, so client memory stays flat.
    async fn write_copy(&self, state: &State, rows: &[&RowData<'_>], now: NaiveDateTime) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        tx.batch_execute(&state.sql.create_stage).await.map_err(db_error)?;
        let batches = rows.chunks(self.config.batch_rows);
        let n = batches.len();
        for (i, batch) in batches.enumerate() {
            self.copy_batch(&tx, state, &state.sql, batch, now).await?;
            if i + 1 < n {
                tx.batch_execute(&state.sql.truncate_stage).await.map_err(db_error)?;
            }
        }
        tx.commit().await.map_err(db_error)
    }

    /// One batch: binary COPY of `batch` into the (empty) staging table of `sql`,
    /// then its merge into `sql`'s table. Returns the rows merged.
    pub(crate) async fn copy_batch(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        state: &State,
        sql: &Sql,
        batch: &[&RowData<'_>],
        now: NaiveDateTime,
    ) -> Result<u64> {
        let ns = self.ns();
        let mut types = vec![Type::TEXT];
        types.extend(crate::sql::payload_columns(ns).iter().map(|(_, ty)| match *ty {
            "int4" => Type::INT4,
            "text[]" => Type::TEXT_ARRAY,
            _ => Type::TEXT,
        }));
        types.push(state.vector_type.clone());
        let ws = self.ws.as_str();
        let sink = tx.copy_in(&sql.copy_stage).await.map_err(db_error)?;
        let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
        for r in batch {
            let v = VecParam(r.vector);
            let res = match ns {
                VectorNamespace::Chunks => {
                    writer
                        .as_mut()
                        .write(&[&r.id, &r.tokens, &r.chunk_order_index, &r.full_doc_id, &r.content, &r.file_path, &v])
                        .await
                }
                VectorNamespace::Entities => {
                    writer.as_mut().write(&[&r.id, &r.entity_name, &r.content, &r.chunk_ids, &r.file_path, &v]).await
                }
                VectorNamespace::Relationships => {
                    writer
                        .as_mut()
                        .write(&[&r.id, &r.src_id, &r.tgt_id, &r.content, &r.chunk_ids, &r.file_path, &v])
                        .await
                }
            };
            res.map_err(db_error)?;
        }
        writer.as_mut().finish().await.map_err(db_error)?;
        tx.execute(&sql.merge_stage, &[&ws, &now]).await.map_err(db_error)
    }

    async fn delete_where(&self, sql: &str, arg: &(dyn ToSql + Sync)) -> Result<u64> {
        self.pool
            .retry("vector delete", || async {
                let conn = self.conn().await?;
                let stmt = conn.prepare_cached(sql).await?;
                conn.execute(&stmt, &[&self.ws.as_str(), arg]).await.map_err(db_error)
            })
            .await
    }
}

fn parse_version(v: &str) -> (u32, u32) {
    let mut parts = v.split('.').map(|p| p.trim().parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

#[async_trait]
impl Storage for PgVectorStorage {
    fn namespace(&self) -> Namespace {
        Namespace::Vector(self.ns())
    }

    fn workspace(&self) -> &Workspace {
        &self.ws
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws, count = 0))]
    async fn initialize(&self) -> Result<()> {
        let _t = elapsed();
        self.state().await.map(|_| ())
    }

    /// Deletes this workspace's rows, and its rows in LightRAG's legacy
    /// un-suffixed table (so a later start does not migrate them back), in one
    /// transaction.
    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws, count = 0))]
    async fn drop_all(&self) -> Result<()> {
        let _t = elapsed();
        let state = self.state().await?;
        if state.layout().partitioned {
            return self.drop_partitioned(state).await;
        }
        self.pool
            .retry("vector drop", || async {
                let mut conn = self.conn().await?;
                let tx = conn.transaction().await.map_err(db_error)?;
                let ws = self.ws.as_str();
                let n = tx.execute(&state.sql.drop_all, &[&ws]).await.map_err(db_error)?;
                if let Some(legacy) = &state.legacy_table {
                    tx.execute(&format!("DELETE FROM {legacy} WHERE workspace = $1"), &[&ws])
                        .await
                        .map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)?;
                tracing::debug!(rows = n, "dropped");
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl VectorStorage for PgVectorStorage {
    fn dimension(&self) -> usize {
        self.plan.dimension
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws, count = query.top_k))]
    async fn query(&self, query: &VectorQuery) -> Result<Vec<VectorHit>> {
        let _t = elapsed();
        let state = self.state().await?;
        let v = self.query_vector(state, query).await?;
        if query.top_k == 0 {
            return Ok(Vec::new());
        }
        let threshold = query.threshold.unwrap_or(self.config.cosine_better_than_threshold);
        if !threshold.is_finite() {
            return Err(Error::invalid("threshold", format!("{threshold} is not a finite number")));
        }
        let metric = self.plan.metric;
        let cutoff = distance_cutoff(metric, threshold);
        let limit = i64::try_from(query.top_k).unwrap_or(i64::MAX);
        let rows = self
            .pool
            .retry("vector query", || self.search_once(state, &state.sql.query, &v, limit, cutoff, query.top_k))
            .await?;
        rows.iter()
            .map(|row| {
                let distance: f64 = row.try_get("distance").map_err(db_error)?;
                Ok(VectorHit {
                    id: row.try_get("id").map_err(db_error)?,
                    distance,
                    similarity: metric.similarity(distance),
                    metadata: render(self.ns(), row, false)?,
                })
            })
            .collect()
    }

    /// Validates every record first (a failing batch writes nothing), keeps the
    /// last record of a repeated id, then writes in one transaction: one UNNEST
    /// statement for small batches, binary COPY into a staging table for large
    /// ones. `create_time` is set on insert only; `update_time` on every write.
    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws, count = records.len()))]
    async fn upsert(&self, records: Vec<VectorRecord>) -> Result<()> {
        let _t = elapsed();
        let state = self.state().await?;
        let mut rows = Vec::with_capacity(records.len());
        for r in &records {
            self.check_vector(state, &r.id, &r.vector)?;
            rows.push(row_data(self.ns(), r)?);
        }
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            last.insert(r.id, i);
        }
        let keep: Vec<&RowData<'_>> =
            rows.iter().enumerate().filter(|(i, r)| last[r.id] == *i).map(|(_, r)| r).collect();
        if keep.is_empty() {
            return Ok(());
        }
        let threshold = self.config.bulk_threshold_rows;
        if threshold > 0 && keep.len() >= threshold && self.is_first_load(state).await? {
            // A first load: build the index once after the rows are in.
            let opts = crate::bulk::BulkLoadOptions::default();
            let bulk = self
                .pool
                .retry("vector bulk upsert", || {
                    self.bulk_internal(state, crate::bulk::Batches::Borrowed(&records), &opts)
                })
                .await;
            match bulk {
                Ok(report) => {
                    tracing::info!(report = %report, "first load of the workspace through the bulk path");
                    return Ok(());
                }
                // Another load of this workspace is running: write as usual.
                Err(Error::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        self.ensure_partition(state).await?;
        let now = chrono::Utc::now().naive_utc();
        let written = self.pool.retry("vector upsert", || self.write_rows(state, &keep, now)).await;
        match written {
            // The workspace's partition was attached (by another writer) while
            // this write, routed to the DEFAULT partition, waited for its lock:
            // PostgreSQL refuses the row there now. Written again, it goes to the
            // partition.
            Err(e) if e.sqlstate() == Some("23514") && state.layout().partitioned => {
                tracing::debug!(error = %e, "the workspace's partition appeared during the write; writing again");
                state.layout().partition = None;
                self.ensure_partition(state).await?;
                self.pool.retry("vector upsert", || self.write_rows(state, &keep, now)).await?;
            }
            other => other?,
        }
        self.maybe_build_deferred_index(state).await
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws, count = ids.len()))]
    async fn delete(&self, ids: &[String]) -> Result<()> {
        let _t = elapsed();
        if ids.is_empty() {
            return Ok(());
        }
        let state = self.state().await?;
        let ids = ids::lookup(ids);
        self.delete_where(&state.sql.delete, &ids).await.map(|_| ())
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws, count = 1))]
    async fn delete_entity(&self, entity_name: &str) -> Result<()> {
        let _t = elapsed();
        if !ids::can_exist(entity_name) {
            return Ok(());
        }
        let state = self.state().await?;
        match &state.sql.delete_entity {
            Some(sql) => self.delete_where(sql, &entity_name).await.map(|_| ()),
            None => Ok(()),
        }
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws, count = 1))]
    async fn delete_entity_relation(&self, entity_name: &str) -> Result<()> {
        let _t = elapsed();
        if !ids::can_exist(entity_name) {
            return Ok(());
        }
        let state = self.state().await?;
        match &state.sql.delete_relation {
            Some(sql) => self.delete_where(sql, &entity_name).await.map(|_| ()),
            None => Ok(()),
        }
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws, count = 1))]
    async fn get_by_id(&self, id: &str) -> Result<Option<JsonObject>> {
        let mut out = self.get_by_ids(&[id.to_owned()]).await?;
        Ok(out.pop().flatten())
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws, count = ids.len()))]
    async fn get_by_ids(&self, ids: &[String]) -> Result<Vec<Option<JsonObject>>> {
        let _t = elapsed();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let state = self.state().await?;
        let wanted = ids::lookup(ids);
        let rows = self
            .pool
            .retry("vector get_by_ids", || async {
                let conn = self.conn().await?;
                let stmt = conn.prepare_cached(&state.sql.get_by_ids).await?;
                conn.query(&stmt, &[&self.ws.as_str(), &wanted]).await.map_err(db_error)
            })
            .await?;
        let found = self.rows_by_id(&rows)?;
        Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws, count = ids.len()))]
    async fn get_vectors_by_ids(&self, ids: &[String]) -> Result<HashMap<String, Vec<f32>>> {
        let _t = elapsed();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let state = self.state().await?;
        let wanted = ids::lookup(ids);
        let rows = self
            .pool
            .retry("vector get_vectors_by_ids", || async {
                let conn = self.conn().await?;
                let stmt = conn.prepare_cached(&state.sql.get_vectors).await?;
                conn.query(&stmt, &[&self.ws.as_str(), &wanted]).await.map_err(db_error)
            })
            .await?;
        rows.iter()
            .filter_map(|row| {
                let id: String = match row.try_get(0) {
                    Ok(id) => id,
                    Err(e) => return Some(Err(db_error(e))),
                };
                match row.try_get::<_, Option<PgVec>>(1) {
                    Ok(Some(v)) => Some(Ok((id, v.0))),
                    Ok(None) => None,
                    Err(e) => Some(Err(db_error(e))),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_cutoff_is_lightrags_one_minus_threshold() {
        assert_eq!(distance_cutoff(DistanceMetric::Cosine, 0.2), 0.8);
        assert_eq!(distance_cutoff(DistanceMetric::Ip, 0.5), -0.5);
        assert_eq!(distance_cutoff(DistanceMetric::L2, 0.0), f64::INFINITY);
        assert!((distance_cutoff(DistanceMetric::L2, 0.25) - 3.0).abs() < 1e-12);
        // The cutoff agrees with similarity(): a distance just inside passes.
        for m in [DistanceMetric::Cosine, DistanceMetric::L2, DistanceMetric::Ip] {
            let c = distance_cutoff(m, 0.3);
            assert!(m.similarity(c - 1e-6) > 0.3, "{m:?}");
        }
    }

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("0.8.0"), (0, 8));
        assert_eq!(parse_version("0.7.4"), (0, 7));
        assert!(parse_version("0.6.2") < (0, 7));
    }
}
