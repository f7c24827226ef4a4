//! [`MemoryKvStorage`]: key-value records in process memory.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::RwLock;
use serde_json::Value;

use super::{Registry, epoch_seconds};
use crate::{JsonObject, KvNamespace, KvStorage, Namespace, Result, Storage, Workspace, kv};

/// One stored record with its timestamps (epoch seconds).
#[derive(Debug, Clone)]
struct Row {
    fields: JsonObject,
    create_time: i64,
    update_time: i64,
}

/// The records of one namespace in one workspace.
#[derive(Debug, Default)]
struct KvTable {
    rows: RwLock<HashMap<String, Row>>,
}

static TABLES: Registry<(KvNamespace, Workspace), KvTable> = Registry::new();

/// Key-value storage (LightRAG's `BaseKVStorage`) in process memory.
///
/// Every instance opened for the same namespace and workspace shares one table in
/// a process-wide registry, as instances backed by one database would; other
/// namespaces and workspaces are separate. Input is validated exactly as the
/// PostgreSQL backend validates it ([`kv::validate_record`]), before anything is
/// written. Records are stored whole (like LightRAG's JSON backend) and read back
/// with `id`, `create_time` and `update_time` (epoch seconds; `create_time` keeps
/// its first value across updates).
pub struct MemoryKvStorage {
    ns: KvNamespace,
    ws: Workspace,
    table: Arc<KvTable>,
}

impl fmt::Debug for MemoryKvStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryKvStorage")
            .field("namespace", &self.ns)
            .field("workspace", &self.ws)
            .field("records", &self.table.rows.read().len())
            .finish()
    }
}

impl MemoryKvStorage {
    /// The storage for `ns` in `ws`, sharing its records with every other instance
    /// of the same namespace and workspace in this process.
    pub fn new(ns: KvNamespace, ws: Workspace) -> Self {
        let table = TABLES.shared((ns, ws.clone()));
        Self { ns, ws, table }
    }

    /// The key-value namespace.
    pub fn kv_namespace(&self) -> KvNamespace {
        self.ns
    }

    fn render(id: &str, row: &Row) -> JsonObject {
        let mut out = row.fields.clone();
        out.insert("id".to_owned(), Value::String(id.to_owned()));
        out.insert("create_time".to_owned(), Value::from(row.create_time));
        out.insert("update_time".to_owned(), Value::from(row.update_time));
        out
    }
}

#[async_trait]
impl Storage for MemoryKvStorage {
    fn namespace(&self) -> Namespace {
        Namespace::Kv(self.ns)
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
impl KvStorage for MemoryKvStorage {
    async fn get_by_id(&self, id: &str) -> Result<Option<JsonObject>> {
        Ok(self.table.rows.read().get(id).map(|row| Self::render(id, row)))
    }

    async fn get_by_ids(&self, ids: &[String]) -> Result<Vec<Option<JsonObject>>> {
        let rows = self.table.rows.read();
        Ok(ids.iter().map(|id| rows.get(id).map(|row| Self::render(id, row))).collect())
    }

    async fn filter_keys(&self, keys: &[String]) -> Result<HashSet<String>> {
        let rows = self.table.rows.read();
        Ok(keys.iter().filter(|k| !rows.contains_key(k.as_str())).cloned().collect())
    }

    async fn upsert(&self, records: Vec<(String, JsonObject)>) -> Result<()> {
        for (id, record) in &records {
            kv::validate_record(self.ns, id, record)?;
        }
        if records.is_empty() {
            return Ok(());
        }
        let now = epoch_seconds();
        let mut rows = self.table.rows.write();
        for (id, mut fields) in records {
            // The record's own copies of the computed fields would be shadowed on
            // read anyway; keep the stored value clean.
            for computed in ["id", "create_time", "update_time"] {
                fields.remove(computed);
            }
            let create_time = rows.get(&id).map_or(now, |old| old.create_time);
            rows.insert(id, Row { fields, create_time, update_time: now });
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
}
