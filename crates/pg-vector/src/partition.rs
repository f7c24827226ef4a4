//! The partitioned layout: a vector table LIST-partitioned by `workspace`, one
//! partition (with its own vector index) per workspace and a DEFAULT partition
//! for workspaces other writers create. Catalog look-ups, partition creation on
//! first write, dropping a workspace's partition, and index rebuilds.
//!
//! Partition names come from `lightrag_pg_pool::ddl::vector_partition_name`
//! (hash-suffixed, at most 56 bytes); a workspace's partition is found by its
//! bound (`FOR VALUES IN ('<workspace>')`, compared with the server's own
//! quoting), so a partition named otherwise is found too.

use std::time::Duration;

use lightrag_pg_core::{Error, Result};
use lightrag_pg_pool::db_error;
use lightrag_pg_pool::ident::quote_ident;
use tokio_postgres::GenericClient;

use crate::bulk::{Batches, BulkLoadOptions};
use crate::storage::{PgVectorStorage, State};

/// Whether `table` (lower case) is a partitioned table.
pub(crate) async fn is_partitioned(client: &impl GenericClient, table: &str) -> Result<bool> {
    let row = client
        .query_opt("SELECT c.relkind = 'p' FROM pg_class c WHERE c.oid = to_regclass($1)", &[&quote_ident(table)?])
        .await
        .map_err(db_error)?;
    Ok(row.is_some_and(|r| r.get(0)))
}

/// The DEFAULT partition of partitioned `table`, if it has one.
pub(crate) async fn default_partition(client: &impl GenericClient, table: &str) -> Result<Option<String>> {
    let row = client
        .query_opt(
            "SELECT d.relname::text FROM pg_partitioned_table pt JOIN pg_class d ON d.oid = pt.partdefid \
             WHERE pt.partrelid = to_regclass($1)",
            &[&quote_ident(table)?],
        )
        .await
        .map_err(db_error)?;
    Ok(row.map(|r| r.get(0)))
}

/// The partition of `table` whose bound is exactly `workspace`, if any.
pub(crate) async fn find_partition(
    client: &impl GenericClient,
    table: &str,
    workspace: &str,
) -> Result<Option<String>> {
    let row = client
        .query_opt(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = to_regclass($1) AND c.relispartition \
             AND pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES IN (%L)', $2::text)",
            &[&quote_ident(table)?, &workspace],
        )
        .await
        .map_err(db_error)?;
    Ok(row.map(|r| r.get(0)))
}

pub(crate) use lightrag_pg_pool::workspace::has_rows;

/// The partitions of `table` and their bounds, for reports and tests.
pub(crate) async fn partitions(client: &impl GenericClient, table: &str) -> Result<Vec<(String, String)>> {
    let rows = client
        .query(
            "SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i \
             JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1) ORDER BY 1",
            &[&quote_ident(table)?],
        )
        .await
        .map_err(db_error)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

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

/// `set_config('lock_timeout', …, true)`: bounds the wait for a brief strong lock.
pub(crate) async fn set_lock_timeout(client: &impl GenericClient, timeout: Duration) -> Result<()> {
    let ms = format!("{}ms", timeout.as_millis().max(1));
    client.query_one("SELECT set_config('lock_timeout', $1, true)", &[&ms]).await.map_err(db_error)?;
    Ok(())
}

/// A lock wait that timed out or deadlocked: worth another attempt.
pub(crate) fn is_lock_error(e: &Error) -> bool {
    matches!(e.sqlstate(), Some("55P03" | "40P01"))
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
            let default = default_partition(&*conn, &table).await?;
            let mut layout = state.layout();
            layout.partitioned = true;
            layout.default_partition = default;
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

    /// The table's name in lower case (as PostgreSQL stores it).
    pub(crate) fn table_lower(&self) -> String {
        self.plan().table.to_lowercase()
    }

    /// Before a write in the partitioned layout: makes sure this workspace has
    /// its partition (built empty and attached, adopting any rows the DEFAULT
    /// partition holds for it). Once per storage; a no-op for the shared layout.
    pub(crate) async fn ensure_partition(&self, state: &State) -> Result<()> {
        {
            let layout = state.layout();
            if !layout.partitioned || layout.partition.is_some() {
                return Ok(());
            }
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
            state.layout().partition = Some(p);
            return Ok(());
        }
        let opts = BulkLoadOptions::default();
        let result = self
            .pool()
            .retry("vector partition create", || self.bulk_internal(state, Batches::Borrowed(&[]), &opts))
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
            .await?;
        state.layout().partition = None;
        Ok(())
    }

    /// The vector index of this workspace's partition (the partition's member of
    /// the parent's partitioned vector index), when both exist.
    pub(crate) async fn partition_vector_index(&self, client: &impl GenericClient) -> Result<Option<String>> {
        let Some(index) = &self.plan().index_name else {
            return Ok(None);
        };
        let Some(partition) = find_partition(client, &self.table_lower(), self.ws().as_str()).await? else {
            return Ok(None);
        };
        let row = client
            .query_opt(
                "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                 JOIN pg_index x ON x.indexrelid = c.oid \
                 WHERE i.inhparent = to_regclass($1) AND x.indrelid = to_regclass($2)",
                &[&quote_ident(index)?, &quote_ident(&partition)?],
            )
            .await
            .map_err(db_error)?;
        Ok(row.map(|r| r.get(0)))
    }
}
