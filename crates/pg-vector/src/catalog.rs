//! What the server's catalog says about a vector table — whether it is
//! partitioned, its DEFAULT partition, a workspace's partition (found by its
//! bound, `FOR VALUES IN ('<workspace>')`, compared with the server's own
//! quoting, so a partition named otherwise is found too), a relation's
//! existence — and the lock step of a long transaction ([`lock_step`]).
//!
//! Free functions over any client or transaction; nothing here knows the
//! storage.

use std::future::Future;
use std::time::Duration;

use lightrag_pg_core::Result;
use lightrag_pg_pool::ident::quote_ident;
use lightrag_pg_pool::{PgPool, Replay, db_error};
use tokio_postgres::{GenericClient, Transaction};

/// Whether `table` (lower case) is a partitioned table.
pub(crate) async fn is_partitioned(client: &impl GenericClient, table: &str) -> Result<bool> {
    let row = client
        .query_opt("SELECT c.relkind = 'p' FROM pg_class c WHERE c.oid = to_regclass($1)", &[&quote_ident(table)?])
        .await
        .map_err(db_error)?;
    Ok(row.is_some_and(|r| r.get(0)))
}

/// Why `current_user` may not drop and rebuild the indexes of `table` (lower
/// case) or attach partitions to it: both need the privileges of the table
/// owner's role, which a least-privileged application role usually lacks
/// ("must be owner of index …"). `None` when it has them, or when the table
/// does not exist.
pub(crate) async fn owner_refusal(client: &impl GenericClient, table: &str) -> Result<Option<String>> {
    let row = client
        .query_opt(
            "SELECT current_user::text, pg_get_userbyid(c.relowner)::text, \
             pg_has_role(current_user, c.relowner, 'USAGE') FROM pg_class c WHERE c.oid = to_regclass($1)",
            &[&quote_ident(table)?],
        )
        .await
        .map_err(db_error)?;
    Ok(row.filter(|r| !r.get::<_, bool>(2)).map(|r| {
        format!(
            "role {:?} does not own table {table} (owner {:?}), so it cannot rebuild the table's vector index",
            r.get::<_, String>(0),
            r.get::<_, String>(1)
        )
    }))
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

/// Whether each of `columns` of `table` (lower case) has exactly the type of
/// the same position in `types` (by OID; a missing column does not match).
pub(crate) async fn columns_have_types(
    client: &impl GenericClient,
    table: &str,
    columns: &[&str],
    types: &[postgres_types::Type],
) -> Result<bool> {
    let rows = client
        .query(
            "SELECT a.attname::text, a.atttypid FROM pg_attribute a \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
            &[&quote_ident(table)?],
        )
        .await
        .map_err(db_error)?;
    let have: std::collections::HashMap<String, u32> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    Ok(columns.len() == types.len() && columns.iter().zip(types).all(|(c, t)| have.get(*c) == Some(&t.oid())))
}

/// Whether `table` holds any row of `workspace` (the one check, in pg-pool).
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

/// `set_config('lock_timeout', …, true)`: bounds the wait for a brief strong lock.
pub(crate) async fn set_lock_timeout(client: &impl GenericClient, timeout: Duration) -> Result<()> {
    let ms = format!("{}ms", timeout.as_millis().max(1));
    client.query_one("SELECT set_config('lock_timeout', $1, true)", &[&ms]).await.map_err(db_error)?;
    Ok(())
}

/// Whether the relation `name` (lower case) exists.
pub(crate) async fn relation_exists(client: &impl GenericClient, name: &str) -> Result<bool> {
    let row = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&quote_ident(name)?]).await.map_err(db_error)?;
    Ok(row.get(0))
}

/// The member of partitioned index `index` on partition `partition`, if any.
pub(crate) async fn partition_index(
    client: &impl GenericClient,
    index: &str,
    partition: &str,
) -> Result<Option<String>> {
    let row = client
        .query_opt(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             JOIN pg_index x ON x.indexrelid = c.oid \
             WHERE i.inhparent = to_regclass($1) AND x.indrelid = to_regclass($2)",
            &[&quote_ident(index)?, &quote_ident(partition)?],
        )
        .await
        .map_err(db_error)?;
    Ok(row.map(|r| r.get(0)))
}

/// The savepoint of a [`lock_step`].
const LOCK_SAVEPOINT: &str = "lightrag_vector_lock";

/// Runs `step` (which takes strong locks, each waited for at most
/// `lock_timeout`: see [`set_lock_timeout`]) inside a savepoint of `tx`, and
/// replays it from the savepoint after a lock time-out (`55P03`), `attempts`
/// times in all, through the pool's one retry layer
/// ([`Replay::LockTimeouts`]). The transaction's earlier work (a load's rows, an
/// index build) is kept. A deadlock or a lost connection is returned: the
/// transaction must be replayed as a whole (a deadlock may involve locks taken
/// before the savepoint), which the caller's [`Replay::AllButLockTimeouts`]
/// does.
///
/// # Errors
/// The step's last error.
pub(crate) async fn lock_step<T, F, Fut>(
    pool: &PgPool,
    tx: &Transaction<'_>,
    what: &str,
    attempts: u32,
    step: F,
) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    pool.retry_with(what, Replay::LockTimeouts(attempts.max(1)), || async {
        tx.batch_execute(&format!("SAVEPOINT {LOCK_SAVEPOINT}")).await.map_err(db_error)?;
        let result = step().await;
        let end = match &result {
            Ok(_) => format!("RELEASE SAVEPOINT {LOCK_SAVEPOINT}"),
            Err(_) => format!("ROLLBACK TO SAVEPOINT {LOCK_SAVEPOINT}; RELEASE SAVEPOINT {LOCK_SAVEPOINT}"),
        };
        match (tx.batch_execute(&end).await.map_err(db_error), result) {
            (Ok(()), result) => result,
            (Err(e), Ok(_)) => Err(e),
            (Err(e), Err(first)) => {
                tracing::debug!(error = %e, "rolling back to the lock savepoint failed");
                Err(first)
            }
        }
    })
    .await
}
