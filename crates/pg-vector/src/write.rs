//! The writers: one binary COPY writer ([`copy_rows`]) for every COPY of rows
//! (into the staging table of an upsert, straight into a load's new table), and
//! the upsert's two paths: one UNNEST statement for small batches, COPY into a
//! staging table then `INSERT … SELECT … ON CONFLICT` for large ones. Columns,
//! COPY types and row values all come from [`crate::columns`].

use std::pin::pin;

use chrono::NaiveDateTime;
use lightrag_pg_core::{Result, VectorNamespace};
use lightrag_pg_pool::db_error;
use postgres_types::{ToSql, Type};
use tokio_postgres::Transaction;
use tokio_postgres::binary_copy::BinaryCopyInWriter;

use crate::codec::VecParam;
use crate::columns::{self, Value};
use crate::record::RowData;
use crate::sql::Sql;
use crate::table::{PgVectorStorage, State};

/// A parameter.
type Param<'p> = &'p (dyn ToSql + Sync);

/// Runs `copy` (a binary `COPY … FROM STDIN` of `types`) with one line per row:
/// `lead`, the row's id, its payload columns (per [`columns::payload`]), its
/// vector, then `tail`. Returns the rows written.
pub(crate) async fn copy_rows(
    tx: &Transaction<'_>,
    copy: &str,
    types: &[Type],
    ns: VectorNamespace,
    rows: &[&RowData<'_>],
    lead: &[Param<'_>],
    tail: &[Param<'_>],
) -> Result<u64> {
    let sink = tx.copy_in(copy).await.map_err(db_error)?;
    let mut writer = pin!(BinaryCopyInWriter::new(sink, types));
    let payload = columns::payload(ns);
    for r in rows {
        let values: Vec<Value<'_>> = payload.iter().map(|c| (c.get)(r)).collect();
        let vector = VecParam(r.vector);
        let mut line: Vec<Param<'_>> = Vec::with_capacity(types.len());
        line.extend_from_slice(lead);
        line.push(&r.id);
        line.extend(values.iter().map(|v| v as Param<'_>));
        line.push(&vector);
        line.extend_from_slice(tail);
        writer.as_mut().write(&line).await.map_err(db_error)?;
    }
    writer.as_mut().finish().await.map_err(db_error)
}

impl PgVectorStorage {
    /// Writes validated, de-duplicated rows in one transaction.
    pub(crate) async fn write_rows(&self, state: &State, rows: &[&RowData<'_>], now: NaiveDateTime) -> Result<()> {
        if rows.len() <= self.config().unnest_max_rows {
            self.write_unnest(state, rows, now).await
        } else {
            self.write_copy(state, rows, now).await
        }
    }

    /// One `INSERT … SELECT FROM unnest(…)`: a single statement is its own
    /// transaction. Parameters: workspace, timestamp, ids, one array per payload
    /// column (chunk ids `<SEP>`-joined), the vectors.
    async fn write_unnest(&self, state: &State, rows: &[&RowData<'_>], now: NaiveDateTime) -> Result<()> {
        let conn = self.conn().await?;
        let stmt = conn.prepare_cached(&state.sql.unnest_upsert).await?;
        let ws = self.ws().as_str();
        let ids: Vec<&str> = rows.iter().map(|r| r.id).collect();
        let arrays: Vec<Vec<Value<'_>>> =
            columns::payload(self.ns()).iter().map(|c| rows.iter().map(|r| (c.get)(r).flat()).collect()).collect();
        let vectors: Vec<VecParam<'_>> = rows.iter().map(|r| VecParam(r.vector)).collect();
        let mut params: Vec<Param<'_>> = vec![&ws, &now, &ids];
        params.extend(arrays.iter().map(|a| a as Param<'_>));
        params.push(&vectors);
        conn.execute(&stmt, &params).await.map_err(db_error)?;
        Ok(())
    }

    /// Binary COPY into a staging table, then `INSERT … SELECT … ON CONFLICT`, in
    /// batches of `batch_rows`, all in one transaction. Rows are encoded one at a
    /// time straight from the records, so client memory stays flat.
    async fn write_copy(&self, state: &State, rows: &[&RowData<'_>], now: NaiveDateTime) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        tx.batch_execute(&state.sql.create_stage).await.map_err(db_error)?;
        let batches = rows.chunks(self.config().batch_rows);
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
        tx: &Transaction<'_>,
        state: &State,
        sql: &Sql,
        batch: &[&RowData<'_>],
        now: NaiveDateTime,
    ) -> Result<u64> {
        let ns = self.ns();
        let types = columns::stage_types(ns, &state.vector_type);
        copy_rows(tx, &sql.copy_stage, &types, ns, batch, &[], &[]).await?;
        let ws = self.ws().as_str();
        tx.execute(&sql.merge_stage, &[&ws, &now]).await.map_err(db_error)
    }
}
