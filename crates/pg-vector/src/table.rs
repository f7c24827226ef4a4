//! The storage's table: [`PgVectorStorage`] and what `initialize` learned
//! ([`State`]), set-up (LightRAG's DDL, adopting an existing table, the legacy
//! copy), the table's layout and its transitions, and the vector index's
//! lifecycle (deferred IVFFlat build, rebuild).
//!
//! The layout cached in [`State`] changes only through its transitions here
//! ([`State::set_partition`], [`State::became_partitioned`]).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use lightrag_pg_core::{Embedder, Error, Result, VectorNamespace, Workspace, vector::validate_vector};
use lightrag_pg_pool::ddl::{self, VectorColumn, VectorIndex};
use lightrag_pg_pool::ident::quote_ident;
use lightrag_pg_pool::{PgConn, PgPool, db_error, schema};
use postgres_types::{Kind, Type};
use tokio_postgres::Transaction;

use crate::catalog;
use crate::codec::HALF_MAX;
use crate::config::{IVFFLAT_MIN_ROWS_PER_LIST, IndexPlan, PgVectorConfig};
use crate::index::index_statements;
use crate::legacy;
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
    pub(crate) iterative_scan: bool,
    /// The index exists (an IVFFlat build waits for data).
    pub(crate) index_ready: AtomicBool,
    /// The un-suffixed legacy table, when it exists and differs (quoted).
    legacy_table: Option<String>,
    pgvector_version: String,
    /// The table's layout and this workspace's partition.
    layout: std::sync::Mutex<LayoutState>,
}

/// How the table is laid out, as last seen.
#[derive(Debug, Clone, Default)]
pub(crate) struct LayoutState {
    /// The table is LIST-partitioned by workspace.
    pub(crate) partitioned: bool,
    /// This workspace's partition, once known to exist.
    pub(crate) partition: Option<String>,
}

impl State {
    /// The layout, as last seen.
    pub(crate) fn layout(&self) -> LayoutState {
        self.cached().clone()
    }

    /// This workspace's partition was found, created or dropped (`None`: to be
    /// looked up again before the next write).
    pub(crate) fn set_partition(&self, partition: Option<String>) {
        self.cached().partition = partition;
    }

    /// The table was found (or made) partitioned; this workspace's partition is
    /// yet to be looked up.
    pub(crate) fn became_partitioned(&self) {
        *self.cached() = LayoutState { partitioned: true, partition: None };
    }

    /// Deletes `ws`'s rows from the table and from LightRAG's legacy table (so a
    /// later start does not migrate them back), inside `tx`. Returns the rows
    /// deleted from the table.
    pub(crate) async fn delete_rows(&self, tx: &Transaction<'_>, ws: &str) -> Result<u64> {
        let n = tx.execute(&self.sql.drop_all, &[&ws]).await.map_err(db_error)?;
        if let Some(legacy) = &self.legacy_table {
            tx.execute(&format!("DELETE FROM {legacy} WHERE workspace = $1"), &[&ws]).await.map_err(db_error)?;
        }
        Ok(n)
    }

    /// A poisoned lock still holds valid data.
    fn cached(&self) -> std::sync::MutexGuard<'_, LayoutState> {
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
/// it). The schema is created on [`lightrag_pg_core::Storage::initialize`], or on first use.
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

impl PgVectorStorage {
    /// A storage on `pool` for `workspace`. `POSTGRES_WORKSPACE`
    /// (`pool.config().workspace`), when set, replaces the workspace, as in
    /// LightRAG. Nothing is sent to the server until [`lightrag_pg_core::Storage::initialize`] or the
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

    pub(crate) fn embedder(&self) -> Option<&Arc<dyn Embedder>> {
        self.embedder.as_ref()
    }

    /// The table's name in lower case (as PostgreSQL stores it).
    pub(crate) fn table_lower(&self) -> String {
        self.plan.table.to_lowercase()
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
        let partitioned = catalog::is_partitioned(&*conn, &lower).await?;
        if self.config.partitioned && !partitioned {
            tracing::warn!(table = %lower,
                "the partitioned layout is configured but the table exists unpartitioned; keeping its layout \
                 (convert it with convert_to_partitioned)");
        }
        if partitioned && catalog::default_partition(&*conn, &lower).await?.is_none() {
            drop(conn);
            let part = format!("vector_default:{lower}");
            schema::forget(&self.pool, &part).await?;
            schema::ensure(&self.pool, &part, &[], &[ddl::vector_default_partition(table)?]).await?;
            conn = self.conn().await?;
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
            let exists = catalog::relation_exists(&*conn, index_name).await?;
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
                    let stmts = index_statements(plan, alter, build_now)?;
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
        let legacy_table = legacy::migrate(&*conn, self.ns(), plan, self.ws.as_str(), column).await?;
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
            layout: std::sync::Mutex::new(LayoutState { partitioned, partition: None }),
        })
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
            let partition = catalog::find_partition(&*conn, &self.table_lower(), self.ws.as_str()).await?;
            if let Some(p) = partition
                && let Some(index) = catalog::partition_index(&*conn, name, &p).await?
            {
                conn.batch_execute(&format!("REINDEX INDEX {}", quote_ident(&index)?)).await.map_err(db_error)?;
            }
            return Ok(());
        }
        if catalog::relation_exists(&*conn, name).await? {
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
        schema::ensure(&self.pool, &part, &[], &index_statements(&self.plan, false, true)?).await
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
}

fn parse_version(v: &str) -> (u32, u32) {
    let mut parts = v.split('.').map(|p| p.trim().parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("0.8.0"), (0, 8));
        assert_eq!(parse_version("0.7.4"), (0, 7));
        assert!(parse_version("0.6.2") < (0, 7));
    }
}
