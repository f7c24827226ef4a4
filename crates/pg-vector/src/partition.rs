//! The partitioned layout: a vector table LIST-partitioned by `workspace`, one
//! partition (with its own vector index) per workspace and a DEFAULT partition
//! for workspaces other writers create. A workspace's partition is created on
//! its first write (built aside and attached by the bulk path), listed, and
//! dropped with the workspace.
//!
//! Partition names come from `lightrag_pg_pool::ddl::vector_partition_name`
//! (hash-suffixed, at most 56 bytes); the catalog look-ups are in
//! `catalog`.

use lightrag_pg_core::{Error, Result};
use lightrag_pg_pool::ident::quote_ident;
use lightrag_pg_pool::{Replay, db_error};

use crate::bulk::{Batches, BulkLoadOptions};
use std::time::Duration;

use tokio_postgres::GenericClient;

pub(crate) use crate::catalog::is_partitioned;
use crate::catalog::{find_partition, partitions, set_lock_timeout};
use crate::table::{PgVectorStorage, State};

/// Inside transaction `tx`: when `table` has a partition for `workspace`, takes
/// the ACCESS EXCLUSIVE lock on the parent that dropping it needs (waiting at
/// most `timeout`) and returns the partition, looked up again under the lock so
/// that it cannot change before the caller drops it.
pub(crate) async fn lock_partition(
    tx: &impl GenericClient,
    table: &str,
    workspace: &str,
    timeout: Duration,
) -> Result<Option<String>> {
    if find_partition(tx, table, workspace).await?.is_none() {
        return Ok(None);
    }
    set_lock_timeout(tx, timeout).await?;
    let lock = format!("LOCK TABLE ONLY {} IN ACCESS EXCLUSIVE MODE", quote_ident(table)?);
    tx.batch_execute(&lock).await.map_err(db_error)?;
    find_partition(tx, table, workspace).await
}

/// Drops partition `partition` of `table`, locked by [`lock_partition`].
pub(crate) async fn drop_locked_partition(tx: &impl GenericClient, table: &str, partition: &str) -> Result<()> {
    tx.batch_execute(&format!("DROP TABLE {}", quote_ident(partition)?)).await.map_err(db_error)?;
    tracing::info!(table = %table, partition = %partition, "dropped the workspace's partition");
    Ok(())
}

impl PgVectorStorage {
    /// This workspace's partition, when the table is partitioned and has one
    /// (`None` for the shared layout, or before the first write).
    ///
    /// # Errors
    /// Initialisation, connection or database errors.
    pub async fn partition_name(&self) -> Result<Option<String>> {
        let state = self.state().await?;
        let conn = self.conn().await?;
        let table = self.table_lower();
        if !state.layout().partitioned {
            // Converted since this storage started?
            if !is_partitioned(&*conn, &table).await? {
                return Ok(None);
            }
            state.became_partitioned();
        }
        find_partition(&*conn, &table, self.ws().as_str()).await
    }

    /// The partitions of the table with their bounds (`FOR VALUES IN ('…')`,
    /// `DEFAULT`), by name; empty for the shared layout. For the doctor and the CLI.
    ///
    /// # Errors
    /// Initialisation, connection or database errors.
    pub async fn partitions(&self) -> Result<Vec<(String, String)>> {
        self.state().await?;
        let conn = self.conn().await?;
        partitions(&*conn, &self.table_lower()).await
    }

    /// Before a write in the partitioned layout: makes sure this workspace has
    /// its partition (built empty and attached, adopting any rows the DEFAULT
    /// partition holds for it). Once per storage; a no-op for the shared layout.
    pub(crate) async fn ensure_partition(&self, state: &State) -> Result<()> {
        let layout = state.layout();
        if !layout.partitioned || layout.partition.is_some() {
            return Ok(());
        }
        let table = self.table_lower();
        let ws = self.ws().as_str();
        let found = self
            .pool()
            .retry("vector partition lookup", || async {
                let conn = self.conn().await?;
                find_partition(&*conn, &table, ws).await
            })
            .await?;
        if let Some(p) = found {
            state.set_partition(Some(p));
            return Ok(());
        }
        let opts = BulkLoadOptions::default();
        let result = self
            .pool()
            .retry_with("vector partition create", Replay::AllButLockTimeouts, || {
                self.bulk_internal(state, Batches::Borrowed(&[]), &opts)
            })
            .await;
        match result {
            Ok(report) => {
                tracing::info!(table = %table, workspace = %ws, partition = ?report.partition(),
                    moved_from_default = report.moved_from_default, "created the workspace's partition");
                Ok(())
            }
            // Another process is loading this workspace and will attach its
            // partition; until then rows go through the parent as usual.
            Err(Error::Conflict { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `drop_all` in the partitioned layout: drops this workspace's partition
    /// (a brief ACCESS EXCLUSIVE lock on the parent: `DROP TABLE` of a partition
    /// needs it) and deletes its rows from the DEFAULT partition and the legacy
    /// table, in one transaction. Without a partition it only deletes.
    pub(crate) async fn drop_partitioned(&self, state: &State) -> Result<()> {
        let table = self.table_lower();
        let ws = self.ws().as_str();
        let timeout = BulkLoadOptions::default().lock_timeout;
        self.pool()
            .retry("vector drop", || async {
                let mut conn = self.conn().await?;
                let tx = conn.transaction().await.map_err(db_error)?;
                if let Some(p) = lock_partition(&tx, &table, ws, timeout).await? {
                    drop_locked_partition(&tx, &table, &p).await?;
                }
                let n = state.delete_rows(&tx, ws).await?;
                tx.commit().await.map_err(db_error)?;
                tracing::debug!(rows = n, "dropped");
                Ok(())
            })
            .await?;
        state.set_partition(None);
        Ok(())
    }
}
