//! The bulk-load path: rows are COPYed into a table without a vector index and
//! the index is built once afterwards, with `maintenance_work_mem` sized for the
//! build and parallel maintenance workers, all in ONE transaction.
//!
//! * **Partitioned layout** ([`BulkMethod::PartitionSwap`]): a standalone table
//!   shaped like a partition is filled, indexed and analysed beside the live
//!   table, then becomes the workspace's partition (`ATTACH PARTITION`, replacing
//!   the old partition in the same transaction). Readers of other workspaces
//!   keep their partitions and indexes throughout.
//! * **Shared table with no other workspace's rows** ([`BulkMethod::IndexRebuild`]):
//!   the vector index is dropped, the rows loaded (COPYed straight into the
//!   table when it holds no row, else through a staging table) and the index
//!   rebuilt, in one transaction holding an ACCESS EXCLUSIVE lock on the table.
//! * **Shared table with other workspaces' rows** ([`BulkMethod::Incremental`]):
//!   the index is theirs too, so it is kept and maintained row by row (the
//!   ordinary COPY upsert, still one transaction).
//!
//! Crash safety: everything (new table, rows, index, swap) is one transaction, so
//! an interrupted load leaves the old state and nothing else, and a re-run does
//! the whole load again.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use futures::{Stream, StreamExt};
use lightrag_pg_core::{Error, Result, VectorNamespace, VectorRecord};
use lightrag_pg_pool::ddl::{self, PartitionObjects};
use lightrag_pg_pool::ident::quote_ident;
use lightrag_pg_pool::{PgConn, db_error};
use postgres_types::Type;
use tokio_postgres::Transaction;

use crate::catalog::{
    columns_have_types, default_partition, find_partition, has_rows, lock_step, owner_refusal, set_lock_timeout,
};
use crate::columns;
pub use crate::index::index_build_memory_mb;
use crate::index::{BuildBudget, build_index_sized};
use crate::record::{RowData, row_data};
use crate::sql::Sql;
use crate::table::{PgVectorStorage, State, elapsed};
use crate::write::copy_rows;

/// What a bulk load does with rows the workspace already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BulkMode {
    /// Keep them; a loaded record replaces the row with its id (an upsert). The
    /// default.
    #[default]
    Merge,
    /// The workspace's rows become exactly the loaded records.
    Replace,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(&BulkProgress) + Send + Sync>;

/// How a bulk load runs.
#[derive(Clone)]
pub struct BulkLoadOptions {
    /// Merge with or replace the workspace's rows.
    pub mode: BulkMode,
    /// Skip records that fail validation (NaN components, wrong dimension, bad
    /// payload) and list them in the report, instead of failing the whole load.
    pub skip_invalid: bool,
    /// Upper bound for `maintenance_work_mem` during the index build, in MiB
    /// (default 1,024). The build gets what the data needs up to this; never
    /// less than the server's setting.
    pub max_maintenance_work_mem_mb: u64,
    /// `max_parallel_maintenance_workers` for the build; `None` keeps the
    /// server's setting. Capped by the server's `max_parallel_workers`.
    pub parallel_workers: Option<u32>,
    /// How long to wait for each brief strong lock (the swap), before retrying.
    pub lock_timeout: Duration,
    /// Attempts at the brief strong locks (default 10).
    pub lock_attempts: u32,
    /// Called after each batch and at each stage.
    pub progress: Option<ProgressFn>,
}

impl Default for BulkLoadOptions {
    fn default() -> Self {
        Self {
            mode: BulkMode::Merge,
            skip_invalid: false,
            max_maintenance_work_mem_mb: 1024,
            parallel_workers: None,
            lock_timeout: Duration::from_secs(5),
            lock_attempts: 10,
            progress: None,
        }
    }
}

impl fmt::Debug for BulkLoadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkLoadOptions")
            .field("mode", &self.mode)
            .field("skip_invalid", &self.skip_invalid)
            .field("max_maintenance_work_mem_mb", &self.max_maintenance_work_mem_mb)
            .field("parallel_workers", &self.parallel_workers)
            .field("lock_timeout", &self.lock_timeout)
            .field("lock_attempts", &self.lock_attempts)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl BulkLoadOptions {
    /// The same options with another mode.
    pub fn with_mode(mut self, mode: BulkMode) -> Self {
        self.mode = mode;
        self
    }

    /// The same options, skipping (and reporting) invalid records.
    pub fn skipping_invalid(mut self) -> Self {
        self.skip_invalid = true;
        self
    }

    /// The same options with a progress callback.
    pub fn with_progress(mut self, progress: impl Fn(&BulkProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    /// What an index build may use.
    pub(crate) fn budget(&self) -> BuildBudget {
        BuildBudget {
            max_maintenance_work_mem_mb: self.max_maintenance_work_mem_mb,
            parallel_workers: self.parallel_workers,
        }
    }
}

/// Where a bulk load is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkStage {
    /// Records are being copied in (`rows` so far).
    Loading,
    /// The workspace's existing rows are being merged in.
    MergingExisting,
    /// The vector index is being built over `rows` rows.
    BuildingIndex,
    /// The new partition is being swapped in.
    Swapping,
    /// Committed.
    Done,
}

/// A progress report.
#[derive(Debug, Clone)]
pub struct BulkProgress {
    /// The stage.
    pub stage: BulkStage,
    /// Rows written so far (records after de-duplication and skips).
    pub rows: u64,
    /// Since the load started.
    pub elapsed: Duration,
}

/// How a load was carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkMethod {
    /// Partitioned layout: a new partition was built and attached.
    PartitionSwap {
        /// The workspace's partition.
        partition: String,
        /// An existing partition was replaced (detached and dropped).
        replaced_partition: bool,
    },
    /// Shared table holding no other workspace's rows: index dropped, rows
    /// loaded, index rebuilt.
    IndexRebuild,
    /// The index was maintained row by row.
    Incremental {
        /// Why the index could not be built once.
        reason: String,
    },
}

/// A record a load skipped ([`BulkLoadOptions::skip_invalid`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRecord {
    /// The record id (cut to 255 characters).
    pub id: String,
    /// Why it was refused.
    pub reason: String,
}

/// At most this many skipped records are listed (all are counted).
pub const MAX_SKIPPED_LISTED: usize = 10_000;

/// What a bulk load did.
#[derive(Debug, Clone)]
pub struct BulkLoadReport {
    /// How.
    pub method: BulkMethod,
    /// Records received.
    pub records: u64,
    /// Records skipped as invalid (listed in `skipped`, up to
    /// [`MAX_SKIPPED_LISTED`]).
    pub skipped_count: u64,
    /// The skipped records.
    pub skipped: Vec<SkippedRecord>,
    /// Rows of the workspace after the load.
    pub rows: u64,
    /// Rows of the workspace moved out of the DEFAULT partition.
    pub moved_from_default: u64,
    /// The vector index built, if one was.
    pub index: Option<String>,
    /// `maintenance_work_mem` of the build, in MiB.
    pub maintenance_work_mem_mb: Option<u64>,
    /// `max_parallel_maintenance_workers` of the build.
    pub parallel_workers: Option<u32>,
    /// Copying the records (and merging existing rows).
    pub load_time: Duration,
    /// Building the indexes.
    pub index_time: Duration,
    /// The swap (partitioned layout), including lock waits.
    pub swap_time: Duration,
    /// The whole load, commit included.
    pub total: Duration,
}

impl BulkLoadReport {
    /// The workspace's partition, for [`BulkMethod::PartitionSwap`].
    pub fn partition(&self) -> Option<&str> {
        match &self.method {
            BulkMethod::PartitionSwap { partition, .. } => Some(partition),
            _ => None,
        }
    }
}

impl fmt::Display for BulkLoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match &self.method {
            BulkMethod::PartitionSwap { partition, replaced_partition } => {
                format!("partition {partition}{}", if *replaced_partition { " (replaced)" } else { "" })
            }
            BulkMethod::IndexRebuild => "index rebuilt".to_owned(),
            BulkMethod::Incremental { reason } => format!("incremental ({reason})"),
        };
        write!(
            f,
            "{} records, {} rows in the workspace, {how}: load {:.2} s, index {:.2} s, swap {:.2} s, total {:.2} s",
            self.records,
            self.rows,
            self.load_time.as_secs_f64(),
            self.index_time.as_secs_f64(),
            self.swap_time.as_secs_f64(),
            self.total.as_secs_f64()
        )?;
        if let Some(mem) = self.maintenance_work_mem_mb {
            write!(f, ", maintenance_work_mem {mem} MB")?;
        }
        if let Some(w) = self.parallel_workers {
            write!(f, ", {w} parallel workers")?;
        }
        if self.skipped_count > 0 {
            write!(f, ", {} skipped", self.skipped_count)?;
        }
        Ok(())
    }
}

/// The records of a load: a caller's stream (consumed once) or borrowed records.
pub(crate) enum Batches<'s> {
    Stream(&'s mut (dyn Stream<Item = Result<Vec<VectorRecord>>> + Send + Unpin)),
    Borrowed(&'s [VectorRecord]),
}

/// A load in progress: its clock, timestamp, the ids written, and counters.
struct Tally {
    started: Instant,
    now: NaiveDateTime,
    seen: HashSet<String>,
    records: u64,
    written: u64,
    skipped_count: u64,
    skipped: Vec<SkippedRecord>,
}

impl Tally {
    fn new(started: Instant) -> Self {
        Self {
            started,
            now: chrono::Utc::now().naive_utc(),
            seen: HashSet::new(),
            records: 0,
            written: 0,
            skipped_count: 0,
            skipped: Vec::new(),
        }
    }
}

/// Why a load of an exact-search table goes row by row.
const EXACT_SEARCH: &str = "exact search: there is no vector index to build";

/// Why a load into a shared table holding other workspaces' rows goes row by row.
const SHARED_INDEX: &str = "the table's vector index is shared with other workspaces (use the partitioned layout)";

/// The temporary table of the ids a load wrote (to merge existing rows
/// correctly at the swap).
const LOADED_TABLE: &str = "lightrag_vector_loaded";

/// Where a load's rows go.
enum Sink<'s> {
    /// Through the staging table into `Sql`'s table (which has its primary
    /// key): upsert semantics.
    Staged(&'s Sql),
    /// Straight into a table that had no rows, by `copy`: a new table (no
    /// primary key yet: it is built afterwards in one sorted pass) or the
    /// locked, empty shared table; a record whose id an earlier batch wrote
    /// replaces that row (`delete`, `$1` the ids).
    Direct { copy: String, types: Vec<Type>, delete: String },
}

impl Sink<'_> {
    /// A direct COPY into `table` of namespace `ns`, whose vectors have type
    /// `vector`.
    fn direct(ns: VectorNamespace, table: &str, vector: &Type) -> Result<Self> {
        let q = quote_ident(table)?;
        Ok(Self::Direct {
            copy: format!("COPY {q} ({}) FROM STDIN (FORMAT binary)", columns::row_list(ns)),
            types: columns::table_types(ns, vector),
            delete: format!("DELETE FROM {q} WHERE id = ANY($1)"),
        })
    }
}

impl PgVectorStorage {
    /// Loads a workspace in bulk: the records (a stream of batches, consumed
    /// once, memory bounded by a batch) are COPYed into a table without a vector
    /// index and the index is built once, with `maintenance_work_mem` sized for
    /// the build (up to [`BulkLoadOptions::max_maintenance_work_mem_mb`]) and
    /// parallel workers — all in one transaction, so an interrupted load leaves
    /// the previous state and a re-run completes it. Use it for any first load of
    /// a workspace (a migration); `upsert` takes this path by itself for a first
    /// load of at least `bulk_threshold_rows` records.
    ///
    /// * Partitioned layout: builds the workspace's partition beside the table and
    ///   attaches it (SHARE UPDATE EXCLUSIVE on the parent: every other workspace
    ///   reads and writes on; a brief ACCESS EXCLUSIVE on the DEFAULT partition
    ///   while its rows of this workspace move, and on the parent only when an
    ///   existing partition is replaced).
    /// * Shared table without other workspaces' rows: drops and rebuilds the
    ///   index; readers and writers of the table wait for the load.
    /// * Shared table with other workspaces' rows: the ordinary COPY upsert in one
    ///   transaction ([`BulkMethod::Incremental`] says why).
    ///
    /// Records are validated like `upsert` (a repeated id keeps its last record);
    /// an invalid record fails the load (nothing is written) unless
    /// [`BulkLoadOptions::skip_invalid`]. Two loads of one workspace do not run at
    /// once: the second gets [`Error::Conflict`].
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] / [`Error::InvalidInput`] naming a bad record;
    /// [`Error::Conflict`] when a load of this workspace is already running; the
    /// stream's own errors; connection or database errors (then nothing changed).
    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws(), count = tracing::field::Empty))]
    pub async fn bulk_load<S>(&self, batches: S, options: &BulkLoadOptions) -> Result<BulkLoadReport>
    where
        S: Stream<Item = Result<Vec<VectorRecord>>> + Send,
    {
        let _t = elapsed();
        let state = self.state().await?;
        let mut batches = pin!(batches);
        let report = self.bulk_internal(state, Batches::Stream(&mut batches), options).await?;
        tracing::Span::current().record("count", report.records);
        tracing::info!(table = %self.table_lower(), report = %report, "bulk load done");
        Ok(report)
    }

    /// [`Self::bulk_load`] of records in memory.
    ///
    /// # Errors
    /// As [`Self::bulk_load`].
    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws(), count = records.len()))]
    pub async fn bulk_load_records(
        &self,
        records: &[VectorRecord],
        options: &BulkLoadOptions,
    ) -> Result<BulkLoadReport> {
        let _t = elapsed();
        let state = self.state().await?;
        let report = self.bulk_internal(state, Batches::Borrowed(records), options).await?;
        tracing::info!(table = %self.table_lower(), report = %report, "bulk load done");
        Ok(report)
    }

    /// Why a load of this workspace now would not build the vector index once
    /// (`None`: it would). A load builds it once on a first load — the
    /// partitioned layout without a partition for the workspace yet, or a shared
    /// table without any rows — by a role with the privileges of the table's
    /// owner; otherwise the index is maintained row by row and this says why.
    /// `upsert` takes the bulk path by itself only when this is `None`.
    ///
    /// # Errors
    /// Connection or database errors.
    pub async fn bulk_load_refusal(&self) -> Result<Option<String>> {
        let state = self.state().await?;
        self.first_load_refusal(state).await
    }

    pub(crate) async fn first_load_refusal(&self, state: &State) -> Result<Option<String>> {
        let table = self.table_lower();
        let conn = self.conn().await?;
        let layout = state.layout();
        if layout.partitioned {
            if layout.partition.is_some() || find_partition(&*conn, &table, self.ws().as_str()).await?.is_some() {
                return Ok(Some("the workspace already has rows (its partition exists)".to_owned()));
            }
        } else {
            if self.plan().exact_search() {
                return Ok(Some(EXACT_SEARCH.to_owned()));
            }
            let qt = quote_ident(&table)?;
            let row = conn
                .query_one(
                    &format!("SELECT EXISTS (SELECT 1 FROM {qt} WHERE workspace = $1), EXISTS (SELECT 1 FROM {qt})"),
                    &[&self.ws().as_str()],
                )
                .await
                .map_err(db_error)?;
            if row.get::<_, bool>(0) {
                return Ok(Some("the workspace already has rows".to_owned()));
            }
            if row.get::<_, bool>(1) {
                return Ok(Some(SHARED_INDEX.to_owned()));
            }
        }
        owner_refusal(&*conn, &table).await
    }

    pub(crate) async fn bulk_internal(
        &self,
        state: &State,
        batches: Batches<'_>,
        opts: &BulkLoadOptions,
    ) -> Result<BulkLoadReport> {
        let mut conn = self.conn().await?;
        // A role without the owner's privileges can neither attach a partition
        // nor rebuild an index: it loads row by row (the shared table's path).
        let report = if state.layout().partitioned && owner_refusal(&*conn, &self.table_lower()).await?.is_none() {
            self.load_partition(&mut conn, state, batches, opts).await
        } else {
            self.load_shared(&mut conn, state, batches, opts).await
        };
        settle_after_failure(&conn, &report).await;
        report
    }

    fn progress(&self, opts: &BulkLoadOptions, stage: BulkStage, rows: u64, started: Instant) {
        if let Some(p) = &opts.progress {
            p(&BulkProgress { stage, rows, elapsed: started.elapsed() });
        }
    }

    /// Opens a load: one load per table and workspace at a time (a
    /// transaction-scoped advisory lock), and no statement or idle timeout
    /// inside it (an index build can take minutes; the caller's stream may
    /// pause between batches).
    async fn begin_load(&self, tx: &Transaction<'_>, what: &str) -> Result<()> {
        let key = format!("lightrag_vector_load\u{1f}{}\u{1f}{}", self.table_lower(), self.ws());
        let got: bool = tx
            .query_one("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", &[&key])
            .await
            .map_err(db_error)?
            .get(0);
        if !got {
            return Err(Error::Conflict {
                what: format!(
                    "a {what} of workspace {:?} into {} is already running",
                    self.ws().as_str(),
                    self.table_lower()
                ),
                source: None,
            });
        }
        tx.batch_execute(
            "SELECT set_config('statement_timeout', '0', true), \
             set_config('idle_in_transaction_session_timeout', '0', true)",
        )
        .await
        .map_err(db_error)
    }

    /// Writes the records into `sink`, batch by batch.
    async fn stream(
        &self,
        tx: &Transaction<'_>,
        state: &State,
        sink: &Sink<'_>,
        batches: Batches<'_>,
        opts: &BulkLoadOptions,
        tally: &mut Tally,
    ) -> Result<()> {
        let n = self.config().batch_rows.max(1);
        match batches {
            Batches::Borrowed(records) => {
                for batch in records.chunks(n) {
                    self.load_batch(tx, state, sink, batch, opts, tally).await?;
                    self.progress(opts, BulkStage::Loading, tally.written, tally.started);
                }
            }
            Batches::Stream(stream) => {
                while let Some(batch) = stream.next().await {
                    let batch = batch?;
                    for part in batch.chunks(n) {
                        self.load_batch(tx, state, sink, part, opts, tally).await?;
                    }
                    self.progress(opts, BulkStage::Loading, tally.written, tally.started);
                }
            }
        }
        Ok(())
    }

    /// Validates one batch (skipping or refusing bad records) and keeps the last
    /// record of a repeated id.
    fn checked_rows<'r>(
        &self,
        state: &State,
        batch: &'r [VectorRecord],
        opts: &BulkLoadOptions,
        tally: &mut Tally,
    ) -> Result<Vec<RowData<'r>>> {
        tally.records += batch.len() as u64;
        let mut rows: Vec<RowData<'_>> = Vec::with_capacity(batch.len());
        for r in batch {
            let checked = self.check_vector(state, &r.id, &r.vector).and_then(|()| row_data(self.ns(), r));
            match checked {
                Ok(row) => rows.push(row),
                Err(e) if opts.skip_invalid => {
                    tally.skipped_count += 1;
                    if tally.skipped.len() < MAX_SKIPPED_LISTED {
                        tally
                            .skipped
                            .push(SkippedRecord { id: r.id.chars().take(255).collect(), reason: e.to_string() });
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            last.insert(r.id, i);
        }
        Ok(rows.into_iter().enumerate().filter(|(i, r)| last[r.id] == *i).map(|(_, r)| r).collect())
    }

    /// One batch into `sink`: validated, the last record of a repeated id kept.
    async fn load_batch(
        &self,
        tx: &Transaction<'_>,
        state: &State,
        sink: &Sink<'_>,
        batch: &[VectorRecord],
        opts: &BulkLoadOptions,
        tally: &mut Tally,
    ) -> Result<()> {
        let rows = self.checked_rows(state, batch, opts, tally)?;
        if rows.is_empty() {
            return Ok(());
        }
        let keep: Vec<&RowData<'_>> = rows.iter().collect();
        match sink {
            Sink::Staged(sql) => {
                tally.written += self.copy_batch(tx, state, sql, &keep, tally.now).await?;
                tx.batch_execute(&sql.truncate_stage).await.map_err(db_error)
            }
            Sink::Direct { copy, types, delete } => {
                let again: Vec<&str> = rows.iter().map(|r| r.id).filter(|id| tally.seen.contains(*id)).collect();
                if !again.is_empty() {
                    tx.execute(delete, &[&again]).await.map_err(db_error)?;
                }
                tally.seen.extend(rows.iter().map(|r| r.id.to_owned()));
                let ws = self.ws().as_str();
                let now = &tally.now;
                tally.written += copy_rows(tx, copy, types, self.ns(), &keep, &[&ws], &[now, now]).await?;
                Ok(())
            }
        }
    }

    /// The partitioned layout: build the workspace's partition aside, swap it in.
    async fn load_partition(
        &self,
        conn: &mut PgConn,
        state: &State,
        batches: Batches<'_>,
        opts: &BulkLoadOptions,
    ) -> Result<BulkLoadReport> {
        let started = Instant::now();
        let plan = self.plan();
        let parent = self.table_lower();
        let ws = self.ws().as_str();
        let target = ddl::vector_partition_name(&plan.table, ws);
        let load = ddl::vector_load_table_name(&plan.table, ws);
        let objs = PartitionObjects::of(&load);

        let tx = conn.transaction().await.map_err(db_error)?;
        self.begin_load(&tx, "bulk load").await?;
        tx.batch_execute(&format!("DROP TABLE IF EXISTS {}", quote_ident(&load)?)).await.map_err(db_error)?;
        let table_ddl = ddl::vector_partition_table(self.ns(), &load, state.column, plan.dimension)?;
        tx.batch_execute(&table_ddl[0]).await.map_err(db_error)?;
        let check: String = tx.query_one(&ddl::vector_partition_check(&load)?, &[&ws]).await.map_err(db_error)?.get(0);
        tx.batch_execute(&check).await.map_err(db_error)?;

        // Where the workspace's rows live now: its partition, or the DEFAULT one.
        let old = find_partition(&tx, &parent, ws).await?;
        let default = default_partition(&tx, &parent).await?;
        let source = match (&old, &default) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(d)) if has_rows(&tx, d, ws).await? => Some(d.clone()),
            _ => None,
        };
        let merge_early = opts.mode == BulkMode::Merge && source.is_some();

        let mut tally = Tally::new(started);
        self.stream(&tx, state, &Sink::direct(self.ns(), &load, &state.vector_type)?, batches, opts, &mut tally)
            .await?;
        for stmt in &table_ddl[1..] {
            tx.batch_execute(stmt).await.map_err(db_error)?;
        }
        let cols = columns::row_list(self.ns());
        let ql = quote_ident(&load)?;
        if merge_early {
            tx.batch_execute(&format!("CREATE TEMP TABLE {LOADED_TABLE} ON COMMIT DROP AS SELECT id::text FROM {ql}"))
                .await
                .map_err(db_error)?;
        }
        if let (true, Some(src)) = (merge_early, &source) {
            // A snapshot of the existing rows, before the index exists; what
            // changes until the swap is reconciled there.
            self.progress(opts, BulkStage::MergingExisting, tally.written, started);
            tx.execute(
                &format!(
                    "INSERT INTO {ql} ({cols}) SELECT {cols} FROM {} WHERE workspace = $1 \
                     ON CONFLICT (workspace, id) DO NOTHING",
                    quote_ident(src)?
                ),
                &[&ws],
            )
            .await
            .map_err(db_error)?;
        }
        let load_time = started.elapsed();

        let index_started = Instant::now();
        let rows: i64 = tx.query_one(&format!("SELECT count(*) FROM {ql}"), &[]).await.map_err(db_error)?.get(0);
        let rows = u64::try_from(rows).unwrap_or(0);
        self.progress(opts, BulkStage::BuildingIndex, rows, started);
        for stmt in ddl::vector_partition_indexes(&load)? {
            tx.batch_execute(&stmt).await.map_err(db_error)?;
        }
        let create = ddl::vector_index_named(&objs.vector_index, &load, state.column, plan.index, plan.metric)?;
        let mut sized = None;
        if let Some(create) = &create {
            sized = Some(build_index_sized(&tx, plan, state.column, &load, create, rows, opts.budget()).await?);
        }
        tx.batch_execute(&format!("ANALYZE {ql}")).await.map_err(db_error)?;
        let index_time = index_started.elapsed();

        self.progress(opts, BulkStage::Swapping, rows, started);
        let swap_started = Instant::now();
        let merged_from = merge_early.then_some(source.as_deref()).flatten();
        let (replaced, moved) = lock_step(self.pool(), &tx, "vector partition swap", opts.lock_attempts, || {
            self.swap_partition(&tx, &load, &target, create.is_some(), opts, merged_from)
        })
        .await?;
        let final_rows: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {}", quote_ident(&target)?), &[])
            .await
            .map_err(db_error)?
            .get(0);
        let swap_time = swap_started.elapsed();
        tx.commit().await.map_err(db_error)?;
        state.set_partition(Some(target.clone()));
        let rows = u64::try_from(final_rows).unwrap_or(0);
        self.progress(opts, BulkStage::Done, rows, started);
        Ok(BulkLoadReport {
            method: BulkMethod::PartitionSwap { partition: target.clone(), replaced_partition: replaced },
            records: tally.records,
            skipped_count: tally.skipped_count,
            skipped: tally.skipped,
            rows,
            moved_from_default: moved,
            index: create.map(|_| PartitionObjects::of(&target).vector_index),
            maintenance_work_mem_mb: sized.map(|s| s.0),
            parallel_workers: sized.map(|s| s.1),
            load_time,
            index_time,
            swap_time,
            total: started.elapsed(),
        })
    }

    /// The swap, inside a savepoint: lock the parent (SHARE UPDATE EXCLUSIVE, or
    /// ACCESS EXCLUSIVE when an old partition must go) and the DEFAULT partition,
    /// bring over what changed since the snapshot (`merged_from`: the table the
    /// existing rows were copied from), move the workspace's rows out of the
    /// DEFAULT partition, drop the old partition, rename the new table to the
    /// partition's name and attach it. Returns whether a partition was replaced
    /// and the rows taken from the DEFAULT partition.
    async fn swap_partition(
        &self,
        tx: &Transaction<'_>,
        load: &str,
        target: &str,
        has_vector_index: bool,
        opts: &BulkLoadOptions,
        merged_from: Option<&str>,
    ) -> Result<(bool, u64)> {
        let parent = self.table_lower();
        let qp = quote_ident(&parent)?;
        let ql = quote_ident(load)?;
        let ws = self.ws().as_str();
        set_lock_timeout(tx, opts.lock_timeout).await?;
        let mut old = find_partition(tx, &parent, ws).await?;
        let mode = if old.is_some() { "ACCESS EXCLUSIVE" } else { "SHARE UPDATE EXCLUSIVE" };
        tx.batch_execute(&format!("LOCK TABLE ONLY {qp} IN {mode} MODE")).await.map_err(db_error)?;
        let now_old = find_partition(tx, &parent, ws).await?;
        if now_old.is_some() && old.is_none() {
            tx.batch_execute(&format!("LOCK TABLE ONLY {qp} IN ACCESS EXCLUSIVE MODE")).await.map_err(db_error)?;
        }
        old = now_old;
        let default = default_partition(tx, &parent).await?;
        if let Some(d) = &default {
            tx.batch_execute(&format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", quote_ident(d)?))
                .await
                .map_err(db_error)?;
        }
        let cols = columns::row_list(self.ns());
        if opts.mode == BulkMode::Merge {
            for src in old.iter().chain(default.iter()) {
                let qs = quote_ident(src)?;
                if merged_from == Some(src.as_str()) {
                    // Reconcile the snapshot: rows deleted since go, rows added
                    // or changed since come over; loaded records keep priority.
                    tx.execute(
                        &format!(
                            "DELETE FROM {ql} l WHERE NOT EXISTS (SELECT 1 FROM {LOADED_TABLE} t WHERE t.id = l.id) \
                             AND NOT EXISTS (SELECT 1 FROM {qs} s WHERE s.workspace = $1 AND s.id = l.id)"
                        ),
                        &[&ws],
                    )
                    .await
                    .map_err(db_error)?;
                    let updates: Vec<String> = columns::payload(self.ns())
                        .iter()
                        .map(|c| c.name)
                        .chain(["content_vector", "create_time", "update_time"])
                        .map(|c| format!("{c} = EXCLUDED.{c}"))
                        .collect();
                    tx.execute(
                        &format!(
                            "INSERT INTO {ql} AS l ({cols}) SELECT {cols} FROM {qs} s WHERE s.workspace = $1 \
                             AND NOT EXISTS (SELECT 1 FROM {LOADED_TABLE} t WHERE t.id = s.id) \
                             ON CONFLICT (workspace, id) DO UPDATE SET {} \
                             WHERE (l.update_time, l.content, l.file_path, l.content_vector) IS DISTINCT FROM \
                             (EXCLUDED.update_time, EXCLUDED.content, EXCLUDED.file_path, EXCLUDED.content_vector)",
                            updates.join(", ")
                        ),
                        &[&ws],
                    )
                    .await
                    .map_err(db_error)?;
                } else {
                    // Rows written while the load ran, to a place it had not
                    // looked at: keep them unless a loaded record has the id.
                    tx.execute(
                        &format!(
                            "INSERT INTO {ql} ({cols}) SELECT {cols} FROM {qs} WHERE workspace = $1 \
                             ON CONFLICT (workspace, id) DO NOTHING"
                        ),
                        &[&ws],
                    )
                    .await
                    .map_err(db_error)?;
                }
            }
        }
        let mut moved = 0;
        if let Some(d) = &default {
            moved = tx
                .execute(&format!("DELETE FROM {} WHERE workspace = $1", quote_ident(d)?), &[&ws])
                .await
                .map_err(db_error)?;
        }
        if let Some(p) = &old {
            tx.batch_execute(&format!("DROP TABLE {}", quote_ident(p)?)).await.map_err(db_error)?;
        }
        for stmt in ddl::vector_partition_rename(load, target, has_vector_index, true)? {
            tx.batch_execute(&stmt).await.map_err(db_error)?;
        }
        let attach: String =
            tx.query_one(&ddl::vector_attach_partition(&parent, target)?, &[&ws]).await.map_err(db_error)?.get(0);
        tx.batch_execute(&attach).await.map_err(db_error)?;
        Ok((old.is_some(), moved))
    }

    /// The shared table: rebuild its index when no other workspace has rows in
    /// it, else the ordinary upsert, in one transaction either way.
    async fn load_shared(
        &self,
        conn: &mut PgConn,
        state: &State,
        batches: Batches<'_>,
        opts: &BulkLoadOptions,
    ) -> Result<BulkLoadReport> {
        let started = Instant::now();
        let plan = self.plan();
        let table = self.table_lower();
        let qt = quote_ident(&table)?;
        let ws = self.ws().as_str();
        let others_sql = format!("SELECT EXISTS (SELECT 1 FROM {qt} WHERE workspace < $1 OR workspace > $1)");
        let mut reason = None;
        if plan.exact_search() {
            reason = Some(EXACT_SEARCH.to_owned());
        } else if let Some(refusal) = owner_refusal(&**conn, &table).await? {
            reason = Some(refusal);
        } else if state.column != plan.column {
            reason = Some(format!(
                "the column is {} but the plan needs {}",
                state.column.type_name(),
                plan.column.type_name()
            ));
        } else {
            let others: bool = conn.query_one(&others_sql, &[&ws]).await.map_err(db_error)?.get(0);
            if others {
                reason = Some(SHARED_INDEX.to_owned());
            }
        }

        let tx = conn.transaction().await.map_err(db_error)?;
        self.begin_load(&tx, "bulk load").await?;
        if reason.is_none() {
            // Take the table, then look again: nobody may have written meanwhile.
            let lock = format!("LOCK TABLE {qt} IN ACCESS EXCLUSIVE MODE");
            lock_step(self.pool(), &tx, "vector bulk load lock", opts.lock_attempts, || async {
                set_lock_timeout(&tx, opts.lock_timeout).await?;
                tx.batch_execute(&lock).await.map_err(db_error)
            })
            .await?;
            tx.batch_execute("SELECT set_config('lock_timeout', '0', true)").await.map_err(db_error)?;
            let others: bool = tx.query_one(&others_sql, &[&ws]).await.map_err(db_error)?.get(0);
            if others {
                reason = Some("another workspace wrote to the table as the load began; its index is kept".to_owned());
            }
        }
        if opts.mode == BulkMode::Replace {
            tx.execute(&state.sql.drop_all, &[&ws]).await.map_err(db_error)?;
        }
        let rebuild = reason.is_none();
        if rebuild && let Some(name) = &plan.index_name {
            tx.batch_execute(&format!("DROP INDEX IF EXISTS {}", quote_ident(name)?)).await.map_err(db_error)?;
        }
        let mut tally = Tally::new(started);
        // Into a table that holds no row now (a first load, or a replacing
        // one), the records are COPYed straight in; otherwise through the
        // staging table (upsert semantics, casts to the table's own types).
        let direct = rebuild && self.copies_directly(&tx, state, &table).await?;
        let sink = if direct {
            Sink::direct(self.ns(), &table, &state.vector_type)?
        } else {
            tx.batch_execute(&state.sql.create_stage).await.map_err(db_error)?;
            Sink::Staged(&state.sql)
        };
        self.stream(&tx, state, &sink, batches, opts, &mut tally).await?;
        let load_time = started.elapsed();
        let index_started = Instant::now();
        let mut sized = None;
        if rebuild && let Some(create) = ddl::vector_index(&plan.table, plan.column, plan.index, plan.metric)? {
            let rows: i64 = tx.query_one(&format!("SELECT count(*) FROM {qt}"), &[]).await.map_err(db_error)?.get(0);
            let rows = u64::try_from(rows).unwrap_or(0);
            self.progress(opts, BulkStage::BuildingIndex, rows, started);
            sized = Some(build_index_sized(&tx, plan, state.column, &table, &create, rows, opts.budget()).await?);
            tx.batch_execute(&format!("ANALYZE {qt}")).await.map_err(db_error)?;
        }
        let index_time = index_started.elapsed();
        let rows: i64 = tx
            .query_one(&format!("SELECT count(*) FROM {qt} WHERE workspace = $1"), &[&ws])
            .await
            .map_err(db_error)?
            .get(0);
        tx.commit().await.map_err(db_error)?;
        if rebuild {
            state.index_ready.store(true, std::sync::atomic::Ordering::Release);
        } else {
            self.maybe_build_deferred_index(state).await?;
        }
        let rows = u64::try_from(rows).unwrap_or(0);
        self.progress(opts, BulkStage::Done, rows, started);
        Ok(BulkLoadReport {
            method: match reason {
                None => BulkMethod::IndexRebuild,
                Some(reason) => BulkMethod::Incremental { reason },
            },
            records: tally.records,
            skipped_count: tally.skipped_count,
            skipped: tally.skipped,
            rows,
            moved_from_default: 0,
            index: sized.and(plan.index_name.clone()),
            maintenance_work_mem_mb: sized.map(|s| s.0),
            parallel_workers: sized.map(|s| s.1),
            load_time,
            index_time,
            swap_time: Duration::ZERO,
            total: started.elapsed(),
        })
    }
}

impl PgVectorStorage {
    /// Whether a load may COPY straight into `table` (the shared table, locked
    /// by the load): it holds no row the load can see, and every column the
    /// COPY writes has exactly the type the binary COPY encodes (a table
    /// created by an older release may differ; the staging table casts).
    async fn copies_directly(&self, tx: &Transaction<'_>, state: &State, table: &str) -> Result<bool> {
        let qt = quote_ident(table)?;
        let any: bool =
            tx.query_one(&format!("SELECT EXISTS (SELECT 1 FROM {qt})"), &[]).await.map_err(db_error)?.get(0);
        if any {
            return Ok(false);
        }
        let types = columns::table_types(self.ns(), &state.vector_type);
        columns_have_types(tx, table, &columns::row_names(self.ns()), &types).await
    }
}

/// After a failed load: a dropped transaction only queues its ROLLBACK, so wait
/// for the connection to run it. Until then the load's advisory lock is held,
/// and a retry on another connection of the pool would get `Conflict`.
async fn settle_after_failure(conn: &PgConn, report: &Result<BulkLoadReport>) {
    if report.is_err()
        && let Err(e) = conn.batch_execute("").await
    {
        tracing::debug!(error = %e, "connection gone after a failed load; the server rolls it back");
    }
}
