//! [`PgDocStatusStorage`]: LightRAG's `PGDocStatusStorage` on `LIGHTRAG_DOC_STATUS`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use lightrag_pg_core::ids;
use lightrag_pg_core::{
    DocProcessingStatus, DocStatus, DocStatusCursor, DocStatusPage, DocStatusStorage, Error, Namespace, PageRequest,
    PagedDocs, Result, SortDirection, SortField, StatusCounts, Storage, Workspace,
};
use lightrag_pg_pool::batch::{self, BatchLimits};
use lightrag_pg_pool::tokio_postgres::Row;
use lightrag_pg_pool::tokio_postgres::types::ToSql;
use lightrag_pg_pool::{PgPool, db_error, ddl, ident::quote_ident, schema};

use crate::row::{self, Batch, SELECT_COLUMNS};

/// A primary row: not marked `"is_duplicate": true`. Only a JSON `true` marks a
/// duplicate (as [`DocProcessingStatus::is_primary`]); any other value — absent,
/// `false`, a string, a number — is primary, and never makes the query fail
/// (LightRAG's `::boolean` cast raises on a non-boolean).
const PRIMARY: &str = "(metadata -> 'is_duplicate') IS DISTINCT FROM 'true'::jsonb";

/// Every fixed statement, built once (the table name through `quote_ident`).
#[derive(Debug)]
struct DocSql {
    table: String,
    get_one: String,
    get_many: String,
    existing: String,
    upsert: String,
    delete: String,
    has_any: String,
    drop_all: String,
    status_counts: String,
    by_statuses: String,
    count_by_statuses: String,
    by_track_id: String,
    by_file_path: String,
    by_basename: String,
    by_hash: String,
    by_hash_excluding: String,
}

impl DocSql {
    fn new() -> Result<Self> {
        let t = quote_ident(&ddl::DOC_STATUS_TABLE.to_lowercase())?;
        let sel = format!("SELECT {SELECT_COLUMNS} FROM {t} WHERE workspace = $1");
        let earliest = "ORDER BY created_at ASC, id ASC LIMIT 1";
        Ok(Self {
            get_one: format!("{sel} AND id = $2"),
            get_many: format!("{sel} AND id = ANY($2)"),
            existing: format!("SELECT id FROM {t} WHERE workspace = $1 AND id = ANY($2)"),
            upsert: row::upsert_sql(&t),
            delete: format!("DELETE FROM {t} WHERE workspace = $1 AND id = ANY($2)"),
            has_any: format!("SELECT EXISTS (SELECT 1 FROM {t} WHERE workspace = $1)"),
            drop_all: format!("DELETE FROM {t} WHERE workspace = $1"),
            status_counts: format!("SELECT status, count(*) FROM {t} WHERE workspace = $1 GROUP BY status"),
            by_statuses: format!("{sel} AND status = ANY($2) ORDER BY id"),
            count_by_statuses: format!("SELECT count(*) FROM {t} WHERE workspace = $1 AND status = ANY($2)"),
            by_track_id: format!("{sel} AND track_id = $2 ORDER BY id"),
            by_file_path: format!("{sel} AND file_path = $2 {earliest}"),
            by_basename: format!("{sel} AND file_path = $2 AND {PRIMARY} {earliest}"),
            by_hash: format!("{sel} AND content_hash = $2 {earliest}"),
            by_hash_excluding: format!(
                "{sel} AND content_hash = $2 AND id <> $3 AND ((metadata -> 'is_duplicate') = 'true'::jsonb \
                 AND (metadata -> 'original_doc_id') = to_jsonb($3::text)) IS NOT TRUE {earliest}"
            ),
            table: t,
        })
    }

    /// `get_docs_paginated`: the total and one page in one statement (the
    /// `total` CTE always yields a row, so an empty page still carries it).
    /// `NULLS LAST` in both directions, ties broken by `id` in the same direction.
    fn paginated(&self, field: SortField, dir: SortDirection, filtered: bool) -> Result<String> {
        let t = &self.table;
        let d = match dir {
            SortDirection::Asc => "ASC",
            SortDirection::Desc => "DESC",
        };
        let order = match field {
            SortField::Id => format!("id {d}"),
            other => format!("{} {d} NULLS LAST, id {d}", quote_ident(other.column())?),
        };
        let (filter, limit, offset) = if filtered { ("AND status = ANY($2)", "$3", "$4") } else { ("", "$2", "$3") };
        Ok(format!(
            "WITH total AS (SELECT count(*) AS total FROM {t} WHERE workspace = $1 {filter}), \
             paged AS (SELECT {SELECT_COLUMNS} FROM {t} WHERE workspace = $1 {filter} \
             ORDER BY {order} LIMIT {limit} OFFSET {offset}) \
             SELECT total.total, paged.* FROM total LEFT JOIN paged ON true ORDER BY {order}"
        ))
    }

    /// The keyset sweep: per status an index-ordered scan of at most `$3` rows
    /// past the cursor (`idx_lightrag_doc_status_ws_status_created_nf_id`), the
    /// union re-sorted and cut to `$3`. `cursor` is the predicate after the
    /// position (`$4`, `$5` bound by the caller).
    fn sweep(&self, cursor: &str) -> String {
        let t = &self.table;
        let order = "ORDER BY created_at ASC NULLS FIRST, id ASC";
        format!(
            "SELECT d.* FROM unnest($2::text[]) AS s(status) CROSS JOIN LATERAL \
             (SELECT {SELECT_COLUMNS} FROM {t} WHERE workspace = $1 AND status = s.status {cursor} \
             {order} LIMIT $3) AS d {order} LIMIT $3"
        )
    }
}

/// Document-status storage (LightRAG's `PGDocStatusStorage`) for one workspace,
/// on LightRAG 1.5.7's `LIGHTRAG_DOC_STATUS` table.
///
/// Every call is one round trip (an upsert: one transaction of `UNNEST` array
/// statements), validated in full before anything is sent.
#[derive(Clone)]
pub struct PgDocStatusStorage {
    pool: PgPool,
    ws: Workspace,
    sql: Arc<DocSql>,
}

impl fmt::Debug for PgDocStatusStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgDocStatusStorage").field("workspace", &self.ws).finish_non_exhaustive()
    }
}

/// Reads rows, skipping (with a warning) those whose status is not a document
/// status, as LightRAG's relaxed listings do.
fn decode_all(rows: &[Row], offset: usize) -> Result<Vec<(String, DocProcessingStatus)>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        match row::decode(r, offset)? {
            Ok(doc) => out.push(doc),
            Err(bad) => tracing::warn!(id = %bad.id, reason = %bad.reason, "skipping unreadable doc-status row"),
        }
    }
    Ok(out)
}

/// Reads a row that must be readable (point lookups).
fn decode_one(r: &Row) -> Result<(String, DocProcessingStatus)> {
    row::decode(r, 0)?.map_err(row::Unusable::into_error)
}

/// Status strings, each once.
fn status_values(statuses: &[DocStatus]) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = statuses.iter().map(|s| s.as_str()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn finished(started: Instant, what: &str) {
    tracing::debug!(elapsed_ms = started.elapsed().as_secs_f64() * 1000.0, "{what} done");
}

impl PgDocStatusStorage {
    /// The doc-status storage of the effective workspace: `POSTGRES_WORKSPACE`
    /// (`pool.config().workspace`) when set, else `workspace` (spec §2.3).
    /// Nothing is sent to the server until [`Storage::initialize`] or a call.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the forced workspace is not a valid name.
    pub fn new(pool: PgPool, workspace: Workspace) -> Result<Self> {
        let ws = Workspace::resolve(pool.config().workspace.as_deref(), Some(workspace.as_str()))?;
        Ok(Self { pool, ws, sql: Arc::new(DocSql::new()?) })
    }

    /// Runs a read (retried on transient failures) and returns its rows.
    async fn rows(&self, what: &str, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        self.pool
            .retry(what, || async {
                let conn = self.pool.get().await?;
                let stmt = conn.prepare_cached(sql).await?;
                conn.query(&stmt, params).await.map_err(db_error)
            })
            .await
    }

    /// Runs a one-row lookup.
    async fn one(
        &self,
        what: &str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<(String, DocProcessingStatus)>> {
        let rows = self.rows(what, sql, params).await?;
        rows.first().map(decode_one).transpose()
    }
}

#[async_trait]
impl Storage for PgDocStatusStorage {
    fn namespace(&self) -> Namespace {
        Namespace::DocStatus
    }

    fn workspace(&self) -> &Workspace {
        &self.ws
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws))]
    async fn initialize(&self) -> Result<()> {
        let started = Instant::now();
        let table = ddl::DOC_STATUS_TABLE.to_lowercase();
        schema::ensure(&self.pool, "doc_status:lightrag_doc_status", &[&table], &ddl::doc_status_table()).await?;
        finished(started, "initialize");
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws))]
    async fn drop_all(&self) -> Result<()> {
        batch::for_workspace(&self.pool, "doc_status drop_all", &self.sql.drop_all, self.ws.as_str()).await.map(drop)
    }
}

#[async_trait]
impl DocStatusStorage for PgDocStatusStorage {
    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws, count = 1))]
    async fn get_by_id(&self, id: &str) -> Result<Option<DocProcessingStatus>> {
        if !ids::can_exist(id) {
            return Ok(None);
        }
        let started = Instant::now();
        let out = self.one("doc_status get_by_id", &self.sql.get_one, &[&self.ws.as_str(), &id]).await?;
        finished(started, "get_by_id");
        Ok(out.map(|(_, d)| d))
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws, count = ids.len()))]
    async fn get_by_ids(&self, ids: &[String]) -> Result<Vec<Option<DocProcessingStatus>>> {
        let wanted = ids::lookup(ids);
        if wanted.is_empty() {
            return Ok(vec![None; ids.len()]);
        }
        let started = Instant::now();
        let rows = self.rows("doc_status get_by_ids", &self.sql.get_many, &[&self.ws.as_str(), &wanted]).await?;
        let mut found: HashMap<String, DocProcessingStatus> = HashMap::with_capacity(rows.len());
        for r in &rows {
            let (id, doc) = decode_one(r)?;
            found.insert(id, doc);
        }
        let out = ids::per_slot(ids, found);
        finished(started, "get_by_ids");
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws, count = keys.len()))]
    async fn filter_keys(&self, keys: &[String]) -> Result<HashSet<String>> {
        let wanted = ids::lookup(keys);
        if wanted.is_empty() {
            return Ok(keys.iter().cloned().collect());
        }
        let started = Instant::now();
        let rows = self.rows("doc_status filter_keys", &self.sql.existing, &[&self.ws.as_str(), &wanted]).await?;
        let existing: HashSet<&str> = rows.iter().map(|r| r.get::<_, &str>(0)).collect();
        let out = keys.iter().filter(|k| !existing.contains(k.as_str())).cloned().collect();
        finished(started, "filter_keys");
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws, count = docs.len()))]
    async fn upsert(&self, docs: Vec<(String, DocProcessingStatus)>) -> Result<()> {
        let started = Instant::now();
        for (id, doc) in &docs {
            doc.validate(id)?;
            row::check_integers(id, doc)?;
        }
        if docs.is_empty() {
            return Ok(());
        }
        // The last record of an id wins, and rows go in id order (no deadlock
        // between overlapping batches).
        let docs = ids::last_per_id(docs, |(id, _)| id.as_str());
        let limits = BatchLimits::of(self.pool.config());
        let batches = batch::into_batches(docs, &limits, row::approx_bytes, Batch::default);
        batch::upsert(&self.pool, "doc_status upsert", &self.sql.upsert, self.ws.as_str(), &batches).await?;
        finished(started, "upsert");
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws, count = ids.len()))]
    async fn delete(&self, ids: &[String]) -> Result<()> {
        batch::delete(&self.pool, "doc_status delete", &self.sql.delete, self.ws.as_str(), ids).await
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws))]
    async fn is_empty(&self) -> Result<bool> {
        let started = Instant::now();
        let rows = self.rows("doc_status is_empty", &self.sql.has_any, &[&self.ws.as_str()]).await?;
        let has_any = rows.first().is_some_and(|r| r.get::<_, bool>(0));
        finished(started, "is_empty");
        Ok(!has_any)
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws))]
    async fn status_counts(&self) -> Result<StatusCounts> {
        let started = Instant::now();
        let rows = self.rows("doc_status status_counts", &self.sql.status_counts, &[&self.ws.as_str()]).await?;
        let mut counts = StatusCounts::default();
        for r in &rows {
            let status: Option<String> = r.get(0);
            let n = u64::try_from(r.get::<_, i64>(1)).unwrap_or(0);
            // The total counts every row, like LightRAG's "all"; a status that is
            // not one of the seven has no entry of its own.
            counts.total += n;
            match status.as_deref().map(str::parse::<DocStatus>) {
                Some(Ok(s)) => *counts.counts.entry(s).or_insert(0) += n,
                _ => tracing::warn!(status = ?status, rows = n, "doc-status rows with an unknown status"),
            }
        }
        finished(started, "status_counts");
        Ok(counts)
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws, count = statuses.len()))]
    async fn get_docs_by_statuses(&self, statuses: &[DocStatus]) -> Result<Vec<(String, DocProcessingStatus)>> {
        let values = status_values(statuses);
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let started = Instant::now();
        let rows =
            self.rows("doc_status get_docs_by_statuses", &self.sql.by_statuses, &[&self.ws.as_str(), &values]).await?;
        let out = decode_all(&rows, 0)?;
        finished(started, "get_docs_by_statuses");
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws, count = statuses.len()))]
    async fn count_docs_by_statuses(&self, statuses: &[DocStatus]) -> Result<u64> {
        let values = status_values(statuses);
        if values.is_empty() {
            return Ok(0);
        }
        let started = Instant::now();
        let rows = self
            .rows("doc_status count_docs_by_statuses", &self.sql.count_by_statuses, &[&self.ws.as_str(), &values])
            .await?;
        let n = rows.first().map_or(0, |r| r.get::<_, i64>(0));
        finished(started, "count_docs_by_statuses");
        Ok(u64::try_from(n).unwrap_or(0))
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws, count = 1))]
    async fn get_docs_by_track_id(&self, track_id: &str) -> Result<Vec<(String, DocProcessingStatus)>> {
        if !ids::can_exist(track_id) {
            return Ok(Vec::new());
        }
        let started = Instant::now();
        let rows = self
            .rows("doc_status get_docs_by_track_id", &self.sql.by_track_id, &[&self.ws.as_str(), &track_id])
            .await?;
        let out = decode_all(&rows, 0)?;
        finished(started, "get_docs_by_track_id");
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws, count = request.page_size))]
    async fn get_docs_paginated(&self, request: &PageRequest) -> Result<PagedDocs> {
        let started = Instant::now();
        let r = request.normalized();
        let values = status_values(&r.status_filter);
        let filtered = !values.is_empty();
        let sql = self.sql.paginated(r.sort_field, r.sort_direction, filtered)?;
        let limit = i64::from(r.page_size);
        let offset = i64::try_from(r.offset()).unwrap_or(i64::MAX);
        let ws = self.ws.as_str();
        let rows = if filtered {
            self.rows("doc_status get_docs_paginated", &sql, &[&ws, &values, &limit, &offset]).await?
        } else {
            self.rows("doc_status get_docs_paginated", &sql, &[&ws, &limit, &offset]).await?
        };
        let total = rows.first().map_or(0, |r| r.get::<_, i64>(0));
        // The LEFT JOIN's sentinel row of an empty page has a NULL id.
        let page: Vec<Row> = rows.into_iter().filter(|r| r.get::<_, Option<&str>>(1).is_some()).collect();
        let docs = decode_all(&page, 1)?;
        finished(started, "get_docs_paginated");
        Ok(PagedDocs { docs, total: u64::try_from(total).unwrap_or(0) })
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws, count = limit))]
    async fn get_docs_by_statuses_page(
        &self,
        statuses: &[DocStatus],
        limit: usize,
        position: &DocStatusCursor,
    ) -> Result<DocStatusPage> {
        if limit == 0 {
            return Err(Error::invalid("limit", "the page limit must be at least 1"));
        }
        let after = match position {
            DocStatusCursor::End => return Ok(DocStatusPage { docs: Vec::new(), next: DocStatusCursor::End }),
            DocStatusCursor::Start => None,
            DocStatusCursor::After(text) => Some(DocStatusCursor::decode(text)?),
        };
        let values = status_values(statuses);
        if values.is_empty() {
            return Ok(DocStatusPage { docs: Vec::new(), next: DocStatusCursor::End });
        }
        let started = Instant::now();
        let ws = self.ws.as_str();
        let lim = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match &after {
            None => {
                let sql = self.sql.sweep("");
                self.rows("doc_status get_docs_by_statuses_page", &sql, &[&ws, &values, &lim]).await?
            }
            // Inside the NULL bucket (sorted first): the remaining NULL rows by
            // id, then every row with a time.
            Some((None, id)) => {
                let sql = self.sql.sweep("AND ((created_at IS NULL AND id > $4) OR created_at IS NOT NULL)");
                self.rows("doc_status get_docs_by_statuses_page", &sql, &[&ws, &values, &lim, id]).await?
            }
            Some((Some(t), id)) => {
                let sql = self.sql.sweep("AND created_at IS NOT NULL AND (created_at, id) > ($4::timestamp, $5)");
                let t = t.naive_utc();
                self.rows("doc_status get_docs_by_statuses_page", &sql, &[&ws, &values, &lim, &t, id]).await?
            }
        };
        // Every returned row is consumed, readable or not: the cursor moves past
        // the last one.
        let next = match rows.last() {
            Some(last) if rows.len() == limit => {
                let id: String = last.try_get(0).map_err(db_error)?;
                let created: Option<chrono::NaiveDateTime> = last.try_get(11).map_err(db_error)?;
                DocStatusCursor::after(created.map(|t| t.and_utc()), &id)
            }
            _ => DocStatusCursor::End,
        };
        let docs = decode_all(&rows, 0)?;
        finished(started, "get_docs_by_statuses_page");
        Ok(DocStatusPage { docs, next })
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws, count = 1))]
    async fn get_doc_by_file_path(&self, path: &str) -> Result<Option<(String, DocProcessingStatus)>> {
        if !ids::can_exist(path) {
            return Ok(None);
        }
        let started = Instant::now();
        let out =
            self.one("doc_status get_doc_by_file_path", &self.sql.by_file_path, &[&self.ws.as_str(), &path]).await?;
        finished(started, "get_doc_by_file_path");
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws, count = 1))]
    async fn get_doc_by_file_basename(&self, basename: &str) -> Result<Option<(String, DocProcessingStatus)>> {
        if basename.is_empty() || basename == "unknown_source" || !ids::can_exist(basename) {
            return Ok(None);
        }
        let started = Instant::now();
        let out = self
            .one("doc_status get_doc_by_file_basename", &self.sql.by_basename, &[&self.ws.as_str(), &basename])
            .await?;
        finished(started, "get_doc_by_file_basename");
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(namespace = "doc_status", workspace = %self.ws, count = 1))]
    async fn get_doc_by_content_hash(
        &self,
        hash: &str,
        exclude_doc_id: Option<&str>,
    ) -> Result<Option<(String, DocProcessingStatus)>> {
        if hash.is_empty() || !ids::can_exist(hash) {
            return Ok(None);
        }
        let started = Instant::now();
        let ws = self.ws.as_str();
        let out = match exclude_doc_id.filter(|x| ids::can_exist(x)) {
            Some(x) => {
                self.one("doc_status get_doc_by_content_hash", &self.sql.by_hash_excluding, &[&ws, &hash, &x]).await?
            }
            None => self.one("doc_status get_doc_by_content_hash", &self.sql.by_hash, &[&ws, &hash]).await?,
        };
        finished(started, "get_doc_by_content_hash");
        Ok(out)
    }
}
