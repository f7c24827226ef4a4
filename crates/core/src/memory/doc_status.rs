//! [`MemoryDocStatusStorage`]: document pipeline status in process memory.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use parking_lot::RwLock;

use super::Registry;
use crate::{
    DocProcessingStatus, DocStatus, DocStatusCursor, DocStatusPage, DocStatusStorage, Error, Namespace, PageRequest,
    PagedDocs, Result, SortDirection, SortField, StatusCounts, Storage, Workspace,
};

/// The documents of one workspace, sorted by id.
#[derive(Debug, Default)]
struct DocTable {
    rows: RwLock<BTreeMap<String, DocProcessingStatus>>,
}

static TABLES: Registry<Workspace, DocTable> = Registry::new();

/// Document-status storage (LightRAG's `DocStatusStorage`) in process memory.
///
/// Semantics follow the PostgreSQL backend: timestamps are kept at microsecond
/// precision (like a `TIMESTAMP` column); an upsert of an existing id keeps its
/// stored `created_at` (taking the new one only when none is stored) and its
/// `content_hash` when the new one is empty or absent; every other field is
/// overwritten. Lookups by file path or content hash return the earliest record by
/// `(created_at ASC NULLS LAST, id)`; paginated listings sort `NULLS LAST` in both
/// directions with ties broken by id in the same direction; the keyset sweep runs
/// in `(created_at ASC NULLS FIRST, id ASC)` order.
///
/// Every workspace has its own table, shared by all instances in the process.
pub struct MemoryDocStatusStorage {
    ws: Workspace,
    table: Arc<DocTable>,
}

impl fmt::Debug for MemoryDocStatusStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDocStatusStorage")
            .field("workspace", &self.ws)
            .field("documents", &self.table.rows.read().len())
            .finish()
    }
}

impl MemoryDocStatusStorage {
    /// The doc-status table of `ws`, shared with every other instance of the same
    /// workspace in this process.
    pub fn new(ws: Workspace) -> Self {
        let table = TABLES.shared(ws.clone());
        Self { ws, table }
    }

    /// The earliest `(created_at ASC NULLS LAST, id ASC)` document matching `keep`.
    fn earliest(&self, keep: impl Fn(&str, &DocProcessingStatus) -> bool) -> Option<(String, DocProcessingStatus)> {
        self.table
            .rows
            .read()
            .iter()
            .filter(|(id, d)| keep(id, d))
            .min_by(|a, b| nulls_last(a.1.created_at, b.1.created_at, SortDirection::Asc).then_with(|| a.0.cmp(b.0)))
            .map(|(id, d)| (id.clone(), d.clone()))
    }
}

/// Compares optional values in `dir` with `None` last in either direction.
fn nulls_last<T: Ord>(a: Option<T>, b: Option<T>, dir: SortDirection) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => directed(x.cmp(&y), dir),
    }
}

fn directed(o: Ordering, dir: SortDirection) -> Ordering {
    match dir {
        SortDirection::Asc => o,
        SortDirection::Desc => o.reverse(),
    }
}

/// Microsecond precision, like PostgreSQL's `TIMESTAMP`.
fn micros(t: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    t.map(|t| t.trunc_subsecs(6))
}

#[async_trait]
impl Storage for MemoryDocStatusStorage {
    fn namespace(&self) -> Namespace {
        Namespace::DocStatus
    }

    fn workspace(&self) -> &Workspace {
        &self.ws
    }

    async fn initialize(&self) -> Result<()> {
        Ok(())
    }

    async fn drop_all(&self) -> Result<()> {
        self.table.rows.write().clear();
        Ok(())
    }
}

#[async_trait]
impl DocStatusStorage for MemoryDocStatusStorage {
    async fn get_by_id(&self, id: &str) -> Result<Option<DocProcessingStatus>> {
        Ok(self.table.rows.read().get(id).cloned())
    }

    async fn get_by_ids(&self, ids: &[String]) -> Result<Vec<Option<DocProcessingStatus>>> {
        let rows = self.table.rows.read();
        Ok(ids.iter().map(|id| rows.get(id).cloned()).collect())
    }

    async fn filter_keys(&self, keys: &[String]) -> Result<HashSet<String>> {
        let rows = self.table.rows.read();
        Ok(keys.iter().filter(|k| !rows.contains_key(k.as_str())).cloned().collect())
    }

    async fn upsert(&self, docs: Vec<(String, DocProcessingStatus)>) -> Result<()> {
        for (id, doc) in &docs {
            doc.validate(id)?;
        }
        let mut rows = self.table.rows.write();
        for (id, mut doc) in docs {
            doc.created_at = micros(doc.created_at);
            doc.updated_at = micros(doc.updated_at);
            if let Some(old) = rows.get(&id) {
                if old.created_at.is_some() {
                    doc.created_at = old.created_at;
                }
                if doc.content_hash.as_deref().is_none_or(str::is_empty) && old.content_hash.is_some() {
                    doc.content_hash.clone_from(&old.content_hash);
                }
            }
            rows.insert(id, doc);
        }
        Ok(())
    }

    async fn delete(&self, ids: &[String]) -> Result<()> {
        let mut rows = self.table.rows.write();
        for id in ids {
            rows.remove(id);
        }
        Ok(())
    }

    async fn is_empty(&self) -> Result<bool> {
        Ok(self.table.rows.read().is_empty())
    }

    async fn status_counts(&self) -> Result<StatusCounts> {
        let rows = self.table.rows.read();
        let mut counts = StatusCounts::default();
        for doc in rows.values() {
            *counts.counts.entry(doc.status).or_insert(0) += 1;
            counts.total += 1;
        }
        Ok(counts)
    }

    async fn get_docs_by_statuses(&self, statuses: &[DocStatus]) -> Result<Vec<(String, DocProcessingStatus)>> {
        let rows = self.table.rows.read();
        Ok(rows.iter().filter(|(_, d)| statuses.contains(&d.status)).map(|(id, d)| (id.clone(), d.clone())).collect())
    }

    async fn count_docs_by_statuses(&self, statuses: &[DocStatus]) -> Result<u64> {
        let rows = self.table.rows.read();
        Ok(rows.values().filter(|d| statuses.contains(&d.status)).count() as u64)
    }

    async fn get_docs_by_track_id(&self, track_id: &str) -> Result<Vec<(String, DocProcessingStatus)>> {
        let rows = self.table.rows.read();
        Ok(rows
            .iter()
            .filter(|(_, d)| d.track_id.as_deref() == Some(track_id))
            .map(|(id, d)| (id.clone(), d.clone()))
            .collect())
    }

    async fn get_docs_paginated(&self, request: &PageRequest) -> Result<PagedDocs> {
        let r = request.normalized();
        let rows = self.table.rows.read();
        let mut docs: Vec<(&String, &DocProcessingStatus)> =
            rows.iter().filter(|(_, d)| r.status_filter.is_empty() || r.status_filter.contains(&d.status)).collect();
        let dir = r.sort_direction;
        docs.sort_by(|(ia, a), (ib, b)| {
            let by_field = match r.sort_field {
                SortField::CreatedAt => nulls_last(a.created_at, b.created_at, dir),
                SortField::UpdatedAt => nulls_last(a.updated_at, b.updated_at, dir),
                SortField::Id => Ordering::Equal,
                SortField::FilePath => directed(a.file_path.cmp(&b.file_path), dir),
            };
            by_field.then_with(|| directed(ia.cmp(ib), dir))
        });
        let total = docs.len() as u64;
        let skip = usize::try_from(r.offset()).unwrap_or(usize::MAX);
        let docs =
            docs.into_iter().skip(skip).take(r.page_size as usize).map(|(id, d)| (id.clone(), d.clone())).collect();
        Ok(PagedDocs { docs, total })
    }

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
            DocStatusCursor::End => None,
            DocStatusCursor::Start => Some(None),
            DocStatusCursor::After(text) => Some(Some(DocStatusCursor::decode(text)?)),
        };
        let (Some(after), false) = (after, statuses.is_empty()) else {
            return Ok(DocStatusPage { docs: Vec::new(), next: DocStatusCursor::End });
        };
        let rows = self.table.rows.read();
        // `Option` orders `None` first: exactly `created_at ASC NULLS FIRST`.
        let mut docs: Vec<(&String, &DocProcessingStatus)> = rows
            .iter()
            .filter(|(id, d)| {
                statuses.contains(&d.status)
                    && after.as_ref().is_none_or(|(c, i)| (d.created_at, id.as_str()) > (*c, i.as_str()))
            })
            .collect();
        docs.sort_by(|a, b| (a.1.created_at, a.0).cmp(&(b.1.created_at, b.0)));
        docs.truncate(limit);
        let next = match docs.last() {
            Some((id, d)) if docs.len() == limit => DocStatusCursor::after(d.created_at, id),
            _ => DocStatusCursor::End,
        };
        let docs = docs.into_iter().map(|(id, d)| (id.clone(), d.clone())).collect();
        Ok(DocStatusPage { docs, next })
    }

    async fn get_doc_by_file_path(&self, path: &str) -> Result<Option<(String, DocProcessingStatus)>> {
        Ok(self.earliest(|_, d| d.file_path == path))
    }

    async fn get_doc_by_file_basename(&self, basename: &str) -> Result<Option<(String, DocProcessingStatus)>> {
        if basename.is_empty() || basename == "unknown_source" {
            return Ok(None);
        }
        Ok(self.earliest(|_, d| d.file_path == basename && d.is_primary()))
    }

    async fn get_doc_by_content_hash(
        &self,
        hash: &str,
        exclude_doc_id: Option<&str>,
    ) -> Result<Option<(String, DocProcessingStatus)>> {
        if hash.is_empty() {
            return Ok(None);
        }
        Ok(self.earliest(|id, d| {
            if d.content_hash.as_deref() != Some(hash) {
                return false;
            }
            let Some(excluded) = exclude_doc_id else { return true };
            let points_to_excluded = !d.is_primary()
                && d.metadata.get("original_doc_id").and_then(serde_json::Value::as_str) == Some(excluded);
            id != excluded && !points_to_excluded
        }))
    }
}
