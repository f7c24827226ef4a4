//! [`PgVectorStorage`]: LightRAG's `PGVectorStorage` on pgvector — the
//! [`Storage`] and [`VectorStorage`] implementations over the modules below it
//! (the table and its layout, the writers, the bulk path, the partitions, query
//! planning).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use lightrag_pg_core::ids;
use lightrag_pg_core::{
    Error, JsonObject, Namespace, Result, Storage, VectorHit, VectorLoad, VectorQuery, VectorRecord, VectorStorage,
    Workspace,
};
use lightrag_pg_pool::{Replay, db_error};
use postgres_types::ToSql;

use crate::bulk::{Batches, BulkLoadOptions, BulkMethod};
use crate::codec::PgVec;
use crate::record::{RowData, render, row_data};
use crate::search::distance_cutoff;
use crate::table::elapsed;
pub use crate::table::{Layout, PgVectorStorage};

impl PgVectorStorage {
    fn rows_by_id(&self, rows: &[tokio_postgres::Row]) -> Result<HashMap<String, JsonObject>> {
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id").map_err(db_error)?;
                Ok((id, render(self.ns(), row, true)?))
            })
            .collect()
    }

    async fn delete_where(&self, sql: &str, arg: &(dyn ToSql + Sync)) -> Result<u64> {
        self.pool()
            .retry("vector delete", || async {
                let conn = self.conn().await?;
                let stmt = conn.prepare_cached(sql).await?;
                conn.execute(&stmt, &[&self.ws().as_str(), arg]).await.map_err(db_error)
            })
            .await
    }
}

#[async_trait]
impl Storage for PgVectorStorage {
    fn namespace(&self) -> Namespace {
        Namespace::Vector(self.ns())
    }

    fn workspace(&self) -> &Workspace {
        self.ws()
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws(), count = 0))]
    async fn initialize(&self) -> Result<()> {
        let _t = elapsed();
        self.state().await.map(|_| ())
    }

    /// Deletes this workspace's rows, and its rows in LightRAG's legacy
    /// un-suffixed table (so a later start does not migrate them back), in one
    /// transaction.
    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws(), count = 0))]
    async fn drop_all(&self) -> Result<()> {
        let _t = elapsed();
        let state = self.state().await?;
        if state.layout().partitioned {
            return self.drop_partitioned(state).await;
        }
        self.pool()
            .retry("vector drop", || async {
                let mut conn = self.conn().await?;
                let tx = conn.transaction().await.map_err(db_error)?;
                let n = state.delete_rows(&tx, self.ws().as_str()).await?;
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
        self.plan().dimension
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws(), count = query.top_k))]
    async fn query(&self, query: &VectorQuery) -> Result<Vec<VectorHit>> {
        let _t = elapsed();
        let state = self.state().await?;
        let v = self.query_vector(state, query).await?;
        if query.top_k == 0 {
            return Ok(Vec::new());
        }
        let threshold = query.threshold.unwrap_or(self.config().cosine_better_than_threshold);
        if !threshold.is_finite() {
            return Err(Error::invalid("threshold", format!("{threshold} is not a finite number")));
        }
        let metric = self.plan().metric;
        let cutoff = distance_cutoff(metric, threshold);
        let limit = i64::try_from(query.top_k).unwrap_or(i64::MAX);
        let rows = self
            .pool()
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
    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws(), count = records.len()))]
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
        let threshold = self.config().bulk_threshold_rows;
        if threshold > 0 && keep.len() >= threshold && self.first_load_refusal(state).await?.is_none() {
            // A first load: build the index once after the rows are in.
            let opts = BulkLoadOptions::default();
            let bulk = self
                .pool()
                .retry_with("vector bulk upsert", Replay::AllButLockTimeouts, || {
                    self.bulk_internal(state, Batches::Borrowed(&records), &opts)
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
        let written = self.pool().retry("vector upsert", || self.write_rows(state, &keep, now)).await;
        match written {
            // The workspace's partition was attached (by another writer) while
            // this write, routed to the DEFAULT partition, waited for its lock:
            // PostgreSQL refuses the row there now. Written again, it goes to the
            // partition.
            Err(e) if e.sqlstate() == Some("23514") && state.layout().partitioned => {
                tracing::debug!(error = %e, "the workspace's partition appeared during the write; writing again");
                state.set_partition(None);
                self.ensure_partition(state).await?;
                self.pool().retry("vector upsert", || self.write_rows(state, &keep, now)).await?;
            }
            other => other?,
        }
        self.maybe_build_deferred_index(state).await
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws(), count = ids.len()))]
    async fn delete(&self, ids: &[String]) -> Result<()> {
        let _t = elapsed();
        if ids.is_empty() {
            return Ok(());
        }
        let state = self.state().await?;
        let ids = ids::lookup(ids);
        self.delete_where(&state.sql.delete, &ids).await.map(|_| ())
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws(), count = 1))]
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

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws(), count = 1))]
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

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws(), count = 1))]
    async fn get_by_id(&self, id: &str) -> Result<Option<JsonObject>> {
        let mut out = self.get_by_ids(&[id.to_owned()]).await?;
        Ok(out.pop().flatten())
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws(), count = ids.len()))]
    async fn get_by_ids(&self, ids: &[String]) -> Result<Vec<Option<JsonObject>>> {
        let _t = elapsed();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let state = self.state().await?;
        let wanted = ids::lookup(ids);
        let rows = self
            .pool()
            .retry("vector get_by_ids", || async {
                let conn = self.conn().await?;
                let stmt = conn.prepare_cached(&state.sql.get_by_ids).await?;
                conn.query(&stmt, &[&self.ws().as_str(), &wanted]).await.map_err(db_error)
            })
            .await?;
        let found = self.rows_by_id(&rows)?;
        Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws(), count = ids.len()))]
    async fn filter_keys(&self, ids: &[String]) -> Result<HashSet<String>> {
        let _t = elapsed();
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let state = self.state().await?;
        let wanted = ids::lookup(ids);
        let rows = self
            .pool()
            .retry("vector filter_keys", || async {
                let conn = self.conn().await?;
                let stmt = conn.prepare_cached(&state.sql.existing_ids).await?;
                conn.query(&stmt, &[&self.ws().as_str(), &wanted]).await.map_err(db_error)
            })
            .await?;
        let found: HashSet<&str> = rows.iter().map(|r| r.get::<_, &str>(0)).collect();
        Ok(ids.iter().filter(|id| !found.contains(id.as_str())).cloned().collect())
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns(), workspace = %self.ws(), count = ids.len()))]
    async fn get_vectors_by_ids(&self, ids: &[String]) -> Result<HashMap<String, Vec<f32>>> {
        let _t = elapsed();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let state = self.state().await?;
        let wanted = ids::lookup(ids);
        let rows = self
            .pool()
            .retry("vector get_vectors_by_ids", || async {
                let conn = self.conn().await?;
                let stmt = conn.prepare_cached(&state.sql.get_vectors).await?;
                conn.query(&stmt, &[&self.ws().as_str(), &wanted]).await.map_err(db_error)
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

    async fn bulk_load_refusal(&self) -> Result<Option<String>> {
        PgVectorStorage::bulk_load_refusal(self).await
    }

    /// [`PgVectorStorage::bulk_load`] with the default options; while another
    /// load of the workspace runs (the stream untouched), `upsert` per batch.
    async fn load(&self, batches: BoxStream<'_, Result<Vec<VectorRecord>>>) -> Result<VectorLoad> {
        let mut batches = batches;
        let touched = AtomicBool::new(false);
        let watched = (&mut batches).inspect(|_| touched.store(true, Ordering::Relaxed));
        let report = match self.bulk_load(watched, &BulkLoadOptions::default()).await {
            Err(Error::Conflict { what, .. }) if !touched.load(Ordering::Relaxed) => {
                while let Some(batch) = batches.next().await {
                    self.upsert(batch?).await?;
                }
                return Ok(VectorLoad::Incremental { reason: what });
            }
            other => other?,
        };
        let how = match report.method {
            BulkMethod::PartitionSwap { partition, .. } => format!("partition {partition} built and attached"),
            BulkMethod::IndexRebuild => "vector index dropped and rebuilt once".to_owned(),
            BulkMethod::Incremental { reason } => return Ok(VectorLoad::Incremental { reason }),
        };
        Ok(VectorLoad::Bulk {
            how,
            copy_seconds: report.load_time.as_secs_f64(),
            index_seconds: report.index_time.as_secs_f64(),
            maintenance_work_mem_mb: report.maintenance_work_mem_mb,
            parallel_workers: report.parallel_workers,
        })
    }
}
