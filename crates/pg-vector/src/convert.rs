//! Converting a shared (unpartitioned) vector table to the partitioned layout:
//! [`PgVectorStorage::convert_to_partitioned`].
//!
//! In one transaction: an EXCLUSIVE lock on the table (reads go on, with the
//! old index; writes wait), a partitioned copy built beside it with one partition
//! per workspace (rows copied, indexes built once per partition, sized like a
//! bulk load), then a brief ACCESS EXCLUSIVE lock to drop the old table and give
//! the copy its name. An interruption leaves the old table as it was.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lightrag_pg_core::{Error, Result};
use lightrag_pg_pool::db_error;
use lightrag_pg_pool::ddl::{self, PartitionObjects};
use lightrag_pg_pool::ident::quote_ident;
use tokio_postgres::Transaction;

use crate::bulk::BulkLoadOptions;
use crate::catalog::{is_partitioned, lock_step, set_lock_timeout};
use crate::columns;
use crate::index::{BuildBudget, build_index_sized};
use crate::table::{PgVectorStorage, State, elapsed};

/// A progress callback of a conversion.
pub type ConvertProgressFn = Arc<dyn Fn(&ConvertProgress) + Send + Sync>;

/// How a conversion runs.
#[derive(Clone)]
pub struct ConvertOptions {
    /// Only inspect and report what would be done (the lock is taken and
    /// released at once; nothing changes).
    pub dry_run: bool,
    /// How long to wait for each lock before retrying.
    pub lock_timeout: Duration,
    /// Attempts at each lock (default 10).
    pub lock_attempts: u32,
    /// Upper bound for `maintenance_work_mem` per index build, in MiB.
    pub max_maintenance_work_mem_mb: u64,
    /// `max_parallel_maintenance_workers` for the builds; `None` keeps the
    /// server's setting.
    pub parallel_workers: Option<u32>,
    /// Called after each workspace.
    pub progress: Option<ConvertProgressFn>,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        let bulk = BulkLoadOptions::default();
        Self {
            dry_run: false,
            lock_timeout: bulk.lock_timeout,
            lock_attempts: bulk.lock_attempts,
            max_maintenance_work_mem_mb: bulk.max_maintenance_work_mem_mb,
            parallel_workers: None,
            progress: None,
        }
    }
}

impl fmt::Debug for ConvertOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConvertOptions")
            .field("dry_run", &self.dry_run)
            .field("lock_timeout", &self.lock_timeout)
            .field("lock_attempts", &self.lock_attempts)
            .field("max_maintenance_work_mem_mb", &self.max_maintenance_work_mem_mb)
            .field("parallel_workers", &self.parallel_workers)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl ConvertOptions {
    /// Options for a dry run.
    pub fn dry_run() -> Self {
        Self { dry_run: true, ..Self::default() }
    }

    /// The same options with a progress callback.
    pub fn with_progress(mut self, progress: impl Fn(&ConvertProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }
}

/// One workspace converted.
#[derive(Debug, Clone)]
pub struct ConvertProgress {
    /// The workspace.
    pub workspace: String,
    /// Its partition.
    pub partition: String,
    /// Its rows.
    pub rows: u64,
    /// Workspaces done, this one included.
    pub done: usize,
    /// Workspaces in all.
    pub total: usize,
    /// Since the conversion started.
    pub elapsed: Duration,
}

/// What a conversion did, or would do.
#[derive(Debug, Clone)]
pub struct ConversionReport {
    /// The table.
    pub table: String,
    /// It was partitioned already (nothing to do).
    pub already_partitioned: bool,
    /// A dry run: nothing changed.
    pub dry_run: bool,
    /// Each workspace, its row count and its partition.
    pub workspaces: Vec<(String, u64, String)>,
    /// Rows in all.
    pub rows: u64,
    /// What is locked, and for how long.
    pub locks: Vec<String>,
    /// Time under the EXCLUSIVE lock (writes waited this long).
    pub exclusive_time: Duration,
    /// Time under the ACCESS EXCLUSIVE lock (reads waited this long).
    pub access_exclusive_time: Duration,
    /// The whole conversion.
    pub total: Duration,
}

impl fmt::Display for ConversionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.already_partitioned {
            return write!(f, "{}: already partitioned by workspace", self.table);
        }
        writeln!(
            f,
            "{}{}: {} rows in {} workspaces → one partition each, plus DEFAULT",
            self.table,
            if self.dry_run { " (dry run)" } else { "" },
            self.rows,
            self.workspaces.len()
        )?;
        for (ws, n, p) in &self.workspaces {
            writeln!(f, "  {ws:?}: {n} rows → {p}")?;
        }
        for l in &self.locks {
            writeln!(f, "  lock: {l}")?;
        }
        if !self.dry_run {
            write!(
                f,
                "  writes waited {:.2} s, reads {:.3} s; total {:.2} s",
                self.exclusive_time.as_secs_f64(),
                self.access_exclusive_time.as_secs_f64(),
                self.total.as_secs_f64()
            )?;
        }
        Ok(())
    }
}

impl PgVectorStorage {
    /// Converts this storage's table from LightRAG's shared layout to one
    /// partition per workspace (LIST on `workspace`, plus a DEFAULT partition),
    /// keeping its name, columns, primary key and LightRAG's index names, so
    /// Python LightRAG's SQL works unchanged. Every workspace's rows go to their
    /// own partition, whose vector index is built once over them.
    ///
    /// **Locks**, in one transaction: an EXCLUSIVE lock on the table for the
    /// whole conversion — queries keep running on the old table and its index,
    /// writes (ours and Python's) wait — for about the time of copying every row
    /// and building one index per workspace (a bulk load of the table); then an
    /// ACCESS EXCLUSIVE lock, waited for at most `lock_timeout` per attempt, to
    /// drop the old table and rename the new one: milliseconds, during which
    /// queries wait too. An interruption at any point rolls everything back.
    /// Privileges granted on the old table are not carried over.
    ///
    /// With [`ConvertOptions::dry_run`], reports the workspaces, their row
    /// counts, partition names and the locks, and changes nothing.
    ///
    /// # Errors
    /// [`Error::Conflict`] when a conversion or bulk load of the table is
    /// running; connection or database errors (then nothing changed).
    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws(), count = 0))]
    pub async fn convert_to_partitioned(&self, options: &ConvertOptions) -> Result<ConversionReport> {
        let _t = elapsed();
        let state = self.state().await?;
        let report = self.convert(state, options).await?;
        tracing::info!(report = %report, "conversion");
        Ok(report)
    }

    /// Takes a table lock (`lock`) inside a savepoint of `tx`, each attempt
    /// waiting at most `lock_timeout`, replayed on lock conflicts.
    async fn lock(&self, tx: &Transaction<'_>, lock: &str, opts: &ConvertOptions) -> Result<()> {
        lock_step(self.pool(), tx, "vector conversion lock", opts.lock_attempts, || async {
            set_lock_timeout(tx, opts.lock_timeout).await?;
            tx.batch_execute(lock).await.map_err(db_error)?;
            tx.batch_execute("SELECT set_config('lock_timeout', '0', true)").await.map_err(db_error)
        })
        .await
    }

    async fn convert(&self, state: &State, opts: &ConvertOptions) -> Result<ConversionReport> {
        let started = Instant::now();
        let plan = self.plan();
        let table = self.table_lower();
        let qt = quote_ident(&table)?;
        let mut report = ConversionReport {
            table: table.clone(),
            already_partitioned: false,
            dry_run: opts.dry_run,
            workspaces: Vec::new(),
            rows: 0,
            locks: vec![
                format!("EXCLUSIVE on {table} for the whole conversion: queries go on, writes wait"),
                format!(
                    "ACCESS EXCLUSIVE on {table} at the end (drop and rename, milliseconds; at most {} ms waited per attempt): queries wait",
                    opts.lock_timeout.as_millis()
                ),
            ],
            exclusive_time: Duration::ZERO,
            access_exclusive_time: Duration::ZERO,
            total: Duration::ZERO,
        };
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        let key = format!("lightrag_vector_convert\u{1f}{table}");
        let got: bool = tx
            .query_one("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", &[&key])
            .await
            .map_err(db_error)?
            .get(0);
        if !got {
            return Err(Error::Conflict { what: format!("a conversion of {table} is already running"), source: None });
        }
        tx.batch_execute(
            "SELECT set_config('statement_timeout', '0', true), \
             set_config('idle_in_transaction_session_timeout', '0', true)",
        )
        .await
        .map_err(db_error)?;
        if is_partitioned(&tx, &table).await? {
            report.already_partitioned = true;
            report.locks.clear();
            report.total = started.elapsed();
            return Ok(report);
        }
        self.lock(&tx, &format!("LOCK TABLE {qt} IN EXCLUSIVE MODE"), opts).await?;
        let locked = Instant::now();
        let counts = tx
            .query(&format!("SELECT workspace::text, count(*) FROM {qt} GROUP BY workspace ORDER BY workspace"), &[])
            .await
            .map_err(db_error)?;
        for row in &counts {
            let ws: String = row.get(0);
            let n = u64::try_from(row.get::<_, i64>(1)).unwrap_or(0);
            let p = ddl::vector_partition_name(&plan.table, &ws);
            report.rows += n;
            report.workspaces.push((ws, n, p));
        }
        if opts.dry_run {
            tx.rollback().await.map_err(db_error)?;
            report.total = started.elapsed();
            return Ok(report);
        }

        // The partitioned copy, with its own object names until the swap.
        let copy = ddl::vector_conversion_table_name(&plan.table);
        let copy_objs = PartitionObjects::of(&copy);
        for stmt in ddl::vector_partitioned_copy(self.ns(), &copy, state.column, plan.dimension)? {
            tx.batch_execute(&stmt).await.map_err(db_error)?;
        }
        let copy_default = ddl::vector_default_partition_name(&copy);
        tx.batch_execute(&ddl::vector_default_partition(&copy)?).await.map_err(db_error)?;
        if let Some(create) =
            ddl::vector_index_named(&copy_objs.vector_index, &copy, state.column, plan.index, plan.metric)?
        {
            tx.batch_execute(&create).await.map_err(db_error)?;
        }
        let cols = columns::row_list(self.ns());
        let total = report.workspaces.len();
        let budget = BuildBudget {
            max_maintenance_work_mem_mb: opts.max_maintenance_work_mem_mb,
            parallel_workers: opts.parallel_workers,
        };
        for (i, (ws, n, p)) in report.workspaces.iter().enumerate() {
            let qp = quote_ident(p)?;
            tx.batch_execute(&format!("DROP TABLE IF EXISTS {qp}")).await.map_err(db_error)?;
            let table_ddl = ddl::vector_partition_table(self.ns(), p, state.column, plan.dimension)?;
            tx.batch_execute(&table_ddl[0]).await.map_err(db_error)?;
            let check: String = tx.query_one(&ddl::vector_partition_check(p)?, &[ws]).await.map_err(db_error)?.get(0);
            tx.batch_execute(&check).await.map_err(db_error)?;
            tx.execute(&format!("INSERT INTO {qp} ({cols}) SELECT {cols} FROM {qt} WHERE workspace = $1"), &[ws])
                .await
                .map_err(db_error)?;
            for stmt in &table_ddl[1..] {
                tx.batch_execute(stmt).await.map_err(db_error)?;
            }
            for stmt in ddl::vector_partition_indexes(p)? {
                tx.batch_execute(&stmt).await.map_err(db_error)?;
            }
            if let Some(create) = ddl::vector_index_named(
                &PartitionObjects::of(p).vector_index,
                p,
                state.column,
                plan.index,
                plan.metric,
            )? {
                build_index_sized(&tx, plan, state.column, p, &create, *n, budget).await?;
            }
            tx.batch_execute(&format!("ANALYZE {qp}")).await.map_err(db_error)?;
            let attach: String =
                tx.query_one(&ddl::vector_attach_partition(&copy, p)?, &[ws]).await.map_err(db_error)?.get(0);
            tx.batch_execute(&attach).await.map_err(db_error)?;
            if let Some(progress) = &opts.progress {
                progress(&ConvertProgress {
                    workspace: ws.clone(),
                    partition: p.clone(),
                    rows: *n,
                    done: i + 1,
                    total,
                    elapsed: started.elapsed(),
                });
            }
        }

        // The swap: the old table goes, the copy takes its name.
        self.lock(&tx, &format!("LOCK TABLE {qt} IN ACCESS EXCLUSIVE MODE"), opts).await?;
        let exclusive = Instant::now();
        tx.batch_execute(&format!("DROP TABLE {qt}")).await.map_err(db_error)?;
        let vector_index = plan.index_name.as_deref().filter(|_| !plan.exact_search());
        for stmt in ddl::vector_partitioned_copy_rename(&copy, &plan.table, &copy_default, vector_index)? {
            tx.batch_execute(&stmt).await.map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        report.access_exclusive_time = exclusive.elapsed();
        report.exclusive_time = locked.elapsed();
        state.became_partitioned();
        report.total = started.elapsed();
        Ok(report)
    }
}
