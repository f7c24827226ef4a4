//! [`PgKvStorage`]: LightRAG's `PGKVStorage` on its own tables.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::Utc;
use lightrag_pg_core::{JsonObject, KvNamespace, KvStorage, Namespace, Result, Storage, Workspace, ids, kv};
use lightrag_pg_pool::batch::{self, BatchLimits};
use lightrag_pg_pool::{PgPool, db_error, ddl, schema};

use crate::mapping::{self, Batch, EncodedRow, KvSql};

/// Key-value storage (LightRAG's `PGKVStorage`) for one namespace of one
/// workspace, on LightRAG 1.5.7's table for that namespace.
///
/// Every call is immediately durable. Reads are one round trip; an upsert is one
/// transaction of `UNNEST` array statements (one per batch within the pool's
/// [`BatchLimits`]), validated in full before anything is sent.
#[derive(Clone)]
pub struct PgKvStorage {
    pool: PgPool,
    ns: KvNamespace,
    ws: Workspace,
    sql: Arc<KvSql>,
}

impl fmt::Debug for PgKvStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgKvStorage").field("namespace", &self.ns).field("workspace", &self.ws).finish_non_exhaustive()
    }
}

impl PgKvStorage {
    /// The storage of `ns` in the effective workspace: `POSTGRES_WORKSPACE`
    /// (`pool.config().workspace`) when set, else `workspace` (spec §2.3).
    /// Nothing is sent to the server until [`Storage::initialize`] or a call.
    ///
    /// # Errors
    /// [`lightrag_pg_core::Error::InvalidInput`] when the forced workspace is not a
    /// valid workspace name.
    pub fn new(pool: PgPool, ns: KvNamespace, workspace: Workspace) -> Result<Self> {
        let ws = Workspace::resolve(pool.config().workspace.as_deref(), Some(workspace.as_str()))?;
        Ok(Self { pool, ns, ws, sql: Arc::new(KvSql::new(ns)?) })
    }

    /// The key-value namespace.
    pub fn kv_namespace(&self) -> KvNamespace {
        self.ns
    }

    /// The table (lower case, as PostgreSQL stores it), e.g. `lightrag_doc_chunks`.
    pub fn table(&self) -> String {
        self.ns.table().to_lowercase()
    }
}

fn finished(started: Instant, what: &str) {
    tracing::debug!(elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, "{what} done");
}

#[async_trait]
impl Storage for PgKvStorage {
    fn namespace(&self) -> Namespace {
        Namespace::Kv(self.ns)
    }

    fn workspace(&self) -> &Workspace {
        &self.ws
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns, workspace = %self.ws))]
    async fn initialize(&self) -> Result<()> {
        let started = Instant::now();
        let table = self.table();
        schema::ensure(&self.pool, &format!("kv:{table}"), &[&table], &ddl::kv_table(self.ns)).await?;
        finished(started, "initialize");
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns, workspace = %self.ws))]
    async fn drop_all(&self) -> Result<()> {
        batch::for_workspace(&self.pool, "kv drop_all", &self.sql.drop_all, self.ws.as_str()).await.map(drop)
    }
}

#[async_trait]
impl KvStorage for PgKvStorage {
    #[tracing::instrument(skip_all, fields(namespace = %self.ns, workspace = %self.ws, count = 1))]
    async fn get_by_id(&self, id: &str) -> Result<Option<JsonObject>> {
        if !ids::can_exist(id) {
            return Ok(None);
        }
        let started = Instant::now();
        let row = self
            .pool
            .retry("kv get_by_id", || async {
                let conn = self.pool.get().await?;
                let stmt = conn.prepare_cached(&self.sql.get_one).await?;
                conn.query_opt(&stmt, &[&self.ws.as_str(), &id]).await.map_err(db_error)
            })
            .await?;
        let out = row.map(|r| mapping::decode(self.ns, &r).map(|(_, rec)| rec)).transpose()?;
        finished(started, "get_by_id");
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns, workspace = %self.ws, count = ids.len()))]
    async fn get_by_ids(&self, ids: &[String]) -> Result<Vec<Option<JsonObject>>> {
        let wanted = ids::lookup(ids);
        if wanted.is_empty() {
            return Ok(vec![None; ids.len()]);
        }
        let started = Instant::now();
        let rows = self
            .pool
            .retry("kv get_by_ids", || async {
                let conn = self.pool.get().await?;
                let stmt = conn.prepare_cached(&self.sql.get_many).await?;
                conn.query(&stmt, &[&self.ws.as_str(), &wanted]).await.map_err(db_error)
            })
            .await?;
        let mut found: HashMap<String, JsonObject> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let (id, rec) = mapping::decode(self.ns, row)?;
            found.insert(id, rec);
        }
        let out = ids::per_slot(ids, found);
        finished(started, "get_by_ids");
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns, workspace = %self.ws, count = keys.len()))]
    async fn filter_keys(&self, keys: &[String]) -> Result<HashSet<String>> {
        let wanted = ids::lookup(keys);
        if wanted.is_empty() {
            return Ok(keys.iter().cloned().collect());
        }
        let started = Instant::now();
        let rows = self
            .pool
            .retry("kv filter_keys", || async {
                let conn = self.pool.get().await?;
                let stmt = conn.prepare_cached(&self.sql.existing).await?;
                conn.query(&stmt, &[&self.ws.as_str(), &wanted]).await.map_err(db_error)
            })
            .await?;
        let existing: HashSet<&str> = rows.iter().map(|r| r.get::<_, &str>(0)).collect();
        let out = keys.iter().filter(|k| !existing.contains(k.as_str())).cloned().collect();
        finished(started, "filter_keys");
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns, workspace = %self.ws, count = records.len()))]
    async fn upsert(&self, records: Vec<(String, JsonObject)>) -> Result<()> {
        let started = Instant::now();
        for (id, record) in &records {
            kv::validate_record(self.ns, id, record)?;
        }
        if records.is_empty() {
            return Ok(());
        }
        let rows =
            records.into_iter().map(|(id, rec)| mapping::encode(self.ns, id, rec)).collect::<Result<Vec<_>>>()?;
        // The last record of an id wins, and rows go in id order (no deadlock
        // between overlapping batches).
        let rows = ids::last_per_id(rows, |r| r.id.as_str());
        let n = rows.len();
        let limits = BatchLimits::of(self.pool.config());
        // One UTC-naive "now" per call, for every timestamp column the call writes.
        let now = Utc::now().naive_utc();
        let capacity = n.min(limits.rows).min(1024);
        let batches =
            batch::into_batches(rows, &limits, EncodedRow::approx_bytes, || Batch::new(self.ns, capacity, now));
        batch::upsert(&self.pool, "kv upsert", &self.sql.upsert, self.ws.as_str(), &batches).await?;
        tracing::debug!(rows = n, statements = batches.len(), "upserted");
        finished(started, "upsert");
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns, workspace = %self.ws, count = ids.len()))]
    async fn delete(&self, ids: &[String]) -> Result<()> {
        batch::delete(&self.pool, "kv delete", &self.sql.delete, self.ws.as_str(), ids).await
    }

    #[tracing::instrument(skip_all, fields(namespace = %self.ns, workspace = %self.ws))]
    async fn is_empty(&self) -> Result<bool> {
        let started = Instant::now();
        let has_any: bool = self
            .pool
            .retry("kv is_empty", || async {
                let conn = self.pool.get().await?;
                let stmt = conn.prepare_cached(&self.sql.has_any).await?;
                conn.query_one(&stmt, &[&self.ws.as_str()]).await.map_err(db_error).map(|r| r.get(0))
            })
            .await?;
        finished(started, "is_empty");
        Ok(!has_any)
    }
}
