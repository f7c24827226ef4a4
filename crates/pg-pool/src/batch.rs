//! The write shell of the JSON stores (pg-kv, pg-docstatus), after LightRAG's
//! shared batching helper (spec §3.8):
//!
//! * an upsert's rows are gathered into batches of at most
//!   [`BatchLimits::rows`] rows and about [`BatchLimits::bytes`] bytes
//!   ([`into_batches`]); every batch is one statement, all of a call's
//!   statements one transaction, retried whole ([`upsert`]);
//! * a delete runs one statement per [`BatchLimits::delete_rows`] ids, all in
//!   one transaction ([`delete`]);
//! * a statement over a whole workspace (`drop_all`) runs once, retried
//!   ([`for_workspace`]).
//!
//! Every statement takes the workspace as `$1`.

use std::time::Instant;

use lightrag_pg_core::{JsonObject, Result};
use serde_json::Value;
use tokio_postgres::types::ToSql;

use crate::{PgConfig, PgPool, db_error};

/// How a call's writes are cut into statements. `0` in any field means no
/// bound, as a non-positive limit does in LightRAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Rows per upsert statement (`POSTGRES_UPSERT_MAX_RECORDS_PER_BATCH`).
    pub rows: usize,
    /// Approximate payload bytes per upsert statement
    /// (`POSTGRES_UPSERT_MAX_PAYLOAD_BYTES`); a single larger row forms a
    /// statement of its own.
    pub bytes: usize,
    /// Ids per delete statement (`POSTGRES_DELETE_MAX_RECORDS_PER_BATCH`).
    pub delete_rows: usize,
}

impl BatchLimits {
    /// The limits `config` sets ([`PgConfig::upsert_batch_rows`],
    /// [`PgConfig::upsert_max_payload_bytes`], [`PgConfig::delete_batch_rows`]).
    pub fn of(config: &PgConfig) -> Self {
        Self {
            rows: config.upsert_batch_rows,
            bytes: config.upsert_max_payload_bytes,
            delete_rows: config.delete_batch_rows,
        }
    }
}

/// `0` (no bound) as the largest bound.
fn bound(n: usize) -> usize {
    if n == 0 { usize::MAX } else { n }
}

/// Rows gathered (column-wise, typically) into the parameters of one upsert
/// statement.
pub trait Batch: Send + Sync {
    /// One row to write.
    type Row;

    /// Appends a row.
    fn push(&mut self, row: Self::Row);

    /// Rows in the batch.
    fn len(&self) -> usize;

    /// Whether the batch holds no row.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The statement's parameters, `$1` being `workspace`.
    fn params<'a>(&'a self, workspace: &'a (dyn ToSql + Sync)) -> Vec<&'a (dyn ToSql + Sync)>;
}

/// Splits `rows` into batches made by `new`, each of at most `limits.rows`
/// rows and at most `limits.bytes` bytes as `size_of` estimates them (a
/// single larger row forms its own batch). Rows keep their order.
pub fn into_batches<B: Batch>(
    rows: impl IntoIterator<Item = B::Row>,
    limits: &BatchLimits,
    size_of: impl Fn(&B::Row) -> usize,
    mut new: impl FnMut() -> B,
) -> Vec<B> {
    let (max_rows, max_bytes) = (bound(limits.rows), bound(limits.bytes));
    let mut out = Vec::new();
    let mut cur = new();
    let mut bytes = 0usize;
    for row in rows {
        let size = size_of(&row);
        if !cur.is_empty() && (cur.len() >= max_rows || bytes.saturating_add(size) > max_bytes) {
            out.push(std::mem::replace(&mut cur, new()));
            bytes = 0;
        }
        bytes = bytes.saturating_add(size);
        cur.push(row);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Runs `sql` once per batch (`$1` = `workspace`), all in one transaction;
/// the transaction is retried whole by [`PgPool::retry`] (an upsert is
/// idempotent).
///
/// # Errors
/// Connection or database errors; nothing is written then.
pub async fn upsert<B: Batch>(pool: &PgPool, what: &str, sql: &str, workspace: &str, batches: &[B]) -> Result<()> {
    pool.retry(what, || async {
        let mut conn = pool.get().await?;
        let stmt = conn.prepare_cached(sql).await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        for batch in batches {
            tx.execute(&stmt, &batch.params(&workspace)).await.map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    })
    .await
}

/// Deletes `ids`: runs `sql` (`$1` = `workspace`, `$2` = an id array) once per
/// [`BatchLimits::delete_rows`] ids of the pool's limits, all in one
/// transaction, retried whole. Repeated ids and ids that cannot exist
/// ([`lightrag_pg_core::ids::lookup`]) are dropped first; with none left
/// nothing is sent. Logs the time it took (a debug event in the caller's span).
///
/// # Errors
/// Connection or database errors; nothing is deleted then.
pub async fn delete(pool: &PgPool, what: &str, sql: &str, workspace: &str, ids: &[String]) -> Result<()> {
    let wanted = lightrag_pg_core::ids::lookup(ids);
    if wanted.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    let chunk = bound(BatchLimits::of(pool.config()).delete_rows);
    pool.retry(what, || async {
        let mut conn = pool.get().await?;
        let stmt = conn.prepare_cached(sql).await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        for ids in wanted.chunks(chunk) {
            tx.execute(&stmt, &[&workspace, &ids]).await.map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)
    })
    .await?;
    tracing::debug!(elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, ids = wanted.len(), "{what} done");
    Ok(())
}

/// Runs `sql` with `$1` = `workspace` once (a `DELETE` of the workspace's
/// rows, say), retried; returns the rows it touched and logs the time it took
/// (a debug event in the caller's span).
///
/// # Errors
/// Connection or database errors.
pub async fn for_workspace(pool: &PgPool, what: &str, sql: &str, workspace: &str) -> Result<u64> {
    let started = Instant::now();
    let rows = pool
        .retry(what, || async {
            let conn = pool.get().await?;
            let stmt = conn.prepare_cached(sql).await?;
            conn.execute(&stmt, &[&workspace]).await.map_err(db_error)
        })
        .await?;
    tracing::debug!(elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, rows, "{what} done");
    Ok(rows)
}

/// The approximate length of a value's JSON text, without serialising it:
/// what a batch adds to its payload for a JSON column.
pub fn approx_json_bytes(v: &Value) -> usize {
    match v {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 12,
        Value::String(s) => s.len() + 2,
        Value::Array(a) => 2 + a.iter().map(|x| approx_json_bytes(x) + 1).sum::<usize>(),
        Value::Object(o) => approx_object_bytes(o),
    }
}

/// [`approx_json_bytes`] of an object.
pub fn approx_object_bytes(o: &JsonObject) -> usize {
    2 + o.iter().map(|(k, x)| k.len() + 4 + approx_json_bytes(x)).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch of numbers, each "costing" its value in bytes.
    #[derive(Debug, Default)]
    struct Numbers(Vec<usize>);

    impl Batch for Numbers {
        type Row = usize;

        fn push(&mut self, row: usize) {
            self.0.push(row);
        }

        fn len(&self) -> usize {
            self.0.len()
        }

        fn params<'a>(&'a self, workspace: &'a (dyn ToSql + Sync)) -> Vec<&'a (dyn ToSql + Sync)> {
            vec![workspace]
        }
    }

    fn split(rows: &[usize], limits: BatchLimits) -> Vec<Vec<usize>> {
        into_batches(rows.iter().copied(), &limits, |n| *n, Numbers::default).into_iter().map(|b| b.0).collect()
    }

    fn limits(rows: usize, bytes: usize) -> BatchLimits {
        BatchLimits { rows, bytes, delete_rows: 0 }
    }

    #[test]
    fn a_batch_closes_at_the_row_limit() {
        assert_eq!(split(&[1; 5], limits(2, 0)), vec![vec![1, 1], vec![1, 1], vec![1]]);
    }

    #[test]
    fn a_batch_closes_before_the_row_that_would_pass_the_byte_limit() {
        assert_eq!(split(&[4, 4, 4, 1], limits(0, 9)), vec![vec![4, 4], vec![4, 1]]);
    }

    #[test]
    fn a_row_larger_than_the_byte_limit_forms_its_own_batch() {
        assert_eq!(split(&[1, 50, 1], limits(100, 10)), vec![vec![1], vec![50], vec![1]]);
    }

    #[test]
    fn no_rows_make_no_batch() {
        assert!(split(&[], limits(1, 1)).is_empty());
    }

    #[test]
    fn json_sizes_follow_the_compact_text() {
        let v = serde_json::json!({"a": [1, "xy"], "b": null});
        // {"a": [1, "xy"], "b": null}: the estimate counts quotes, colon and space per key.
        assert_eq!(approx_json_bytes(&v), 2 + (1 + 4 + (2 + 13 + 5)) + (1 + 4 + 5));
    }
}
