//! A consistent per-workspace snapshot of all four stores in a
//! self-describing JSON-lines stream, and its restore.
//!
//! [`backup()`] reads, in ONE `REPEATABLE READ READ ONLY` transaction, every row
//! of the workspace from each `lightrag_*` table that has a `workspace` column
//! (`to_jsonb`, so every column round-trips through its text form, vectors
//! included) and, when the workspace has an AGE graph, its vertices and edges
//! straight from the graph's label tables. The stream is:
//!
//! ```text
//! {"format":"lightrag-pg-backup","version":1,"workspace":"ws","tables":[…],"vector_tables":[…],"age_graph":"…"|null}
//! {"table":"lightrag_doc_full","row":{…}}
//! {"node":{"entity_id":"A",…}}
//! {"edge":{"src":"A","tgt":"B","properties":{…}}}
//! ```
//!
//! [`restore()`] creates the tables through the storages' `initialize` (so
//! indexes and the AGE graph are LightRAG's), refuses a target workspace that
//! already holds data, inserts the table rows in one transaction with
//! `jsonb_populate_record`, and writes the graph through
//! `GraphStorage::upsert_nodes_batch` / `upsert_edges_batch`.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use lightrag_pg_core::{Error, KvNamespace, Properties, Result, Storage, VectorNamespace, Workspace};
use lightrag_pg_docstatus::PgDocStatusStorage;
use lightrag_pg_graph::{GraphEngine, PgGraphStorage};
use lightrag_pg_kv::PgKvStorage;
use lightrag_pg_pool::workspace::{self, Partitions};
use lightrag_pg_pool::{PgPool, db_error, ddl};
use lightrag_pg_vector::{PgVectorConfig, PgVectorStorage};
use serde_json::{Value, json};

use super::{age_graph, table_with_rows};

/// The `format` field of the header line.
pub const BACKUP_FORMAT: &str = "lightrag-pg-backup";
/// Rows per INSERT statement on restore.
const BATCH: usize = 500;

/// What [`backup()`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupSummary {
    /// Rows per table, in the order written.
    pub rows: Vec<(String, u64)>,
    /// The AGE graph backed up, if the workspace has one.
    pub age_graph: Option<String>,
    /// Its nodes.
    pub nodes: usize,
    /// Its edges.
    pub edges: usize,
}

/// What [`restore()`] loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSummary {
    /// The workspace restored into.
    pub workspace: Workspace,
    /// Rows per table.
    pub rows: BTreeMap<String, u64>,
    /// Graph nodes written through the AGE graph storage.
    pub nodes: usize,
    /// Graph edges written through the AGE graph storage.
    pub edges: usize,
}

fn io_err(e: std::io::Error) -> Error {
    Error::invalid("backup file", e.to_string())
}

/// One JSON line.
fn line(out: &mut dyn Write, v: &Value) -> Result<()> {
    serde_json::to_writer(&mut *out, v).map_err(|e| Error::invalid("backup file", e.to_string()))?;
    out.write_all(b"\n").map_err(io_err)
}

/// Writes a consistent snapshot of `ws` to `out` (see the module docs).
///
/// # Errors
/// Write errors of `out` ([`Error::InvalidInput`] naming the backup file);
/// connection or database errors.
pub async fn backup(pool: &PgPool, ws: &Workspace, out: &mut dyn Write) -> Result<BackupSummary> {
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await.map_err(db_error)?;
    tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").await.map_err(db_error)?;
    let mut all = workspace::tables(&tx, Partitions::Exclude).await?;
    // Rows are restored in file order: the table graph's edges reference its nodes.
    all.sort_by_key(|t| (t == ddl::GRAPH_EDGES_TABLE, t.clone()));
    // Only the tables holding rows of the workspace: restore creates just those.
    let mut tables = Vec::new();
    let mut vector_tables = Vec::new();
    for t in all {
        if workspace::has_rows(&tx, &t, ws.as_str()).await? {
            if let Some(v) = lightrag_pg_vector::admin::describe(&tx, &t).await? {
                vector_tables.push(json!({"table": v.table, "namespace": v.namespace.as_str(),
                                          "dimension": v.dimension, "model_name": v.model_name}));
            }
            tables.push(t);
        }
    }
    let age_graph = lightrag_pg_graph::admin::workspace_graph(&tx, ws).await?;
    line(
        out,
        &json!({"format": BACKUP_FORMAT, "version": 1, "workspace": ws.as_str(), "tables": tables,
                "vector_tables": vector_tables, "age_graph": age_graph}),
    )?;
    let mut summary = BackupSummary::default();
    for t in tables {
        let rows = workspace::rows_json(&tx, &t, ws.as_str()).await?;
        for row in &rows {
            line(out, &json!({"table": t, "row": row}))?;
        }
        summary.rows.push((t, rows.len() as u64));
    }
    if let Some(g) = &age_graph {
        let snap = lightrag_pg_graph::admin::snapshot(&tx, g).await?;
        for props in &snap.nodes {
            line(out, &json!({"node": props}))?;
        }
        for (src, tgt, props) in &snap.edges {
            line(out, &json!({"edge": {"src": src, "tgt": tgt, "properties": props}}))?;
        }
        (summary.nodes, summary.edges) = (snap.nodes.len(), snap.edges.len());
    }
    tx.commit().await.map_err(db_error)?;
    summary.age_graph = age_graph;
    Ok(summary)
}

/// The header line of a backup.
fn header(lines: &mut impl Iterator<Item = std::io::Result<String>>) -> Result<Value> {
    let header: Value = match lines.next() {
        Some(l) => serde_json::from_str(&l.map_err(io_err)?)
            .map_err(|e| Error::invalid("backup file", format!("bad header: {e}")))?,
        None => return Err(Error::invalid("backup file", "empty file")),
    };
    if header.get("format").and_then(Value::as_str) != Some(BACKUP_FORMAT) {
        return Err(Error::invalid("backup file", "not a lightrag-pg backup (no format header)"));
    }
    Ok(header)
}

/// Creates, through the storages, the tables and graphs the header names.
async fn create_stores(pool: &PgPool, ws: &Workspace, header: &Value, tables: &[String]) -> Result<()> {
    for ns in KvNamespace::ALL {
        PgKvStorage::new(pool.clone(), ns, ws.clone())?.initialize().await?;
    }
    PgDocStatusStorage::new(pool.clone(), ws.clone())?.initialize().await?;
    for vt in header["vector_tables"].as_array().into_iter().flatten() {
        let ns: VectorNamespace = vt["namespace"].as_str().unwrap_or_default().parse()?;
        let dim = vt["dimension"].as_u64().unwrap_or(0) as usize;
        let config = PgVectorConfig::from_pool_config(ns, dim, vt["model_name"].as_str(), pool.config())?;
        PgVectorStorage::new(pool.clone(), ws.clone(), config)?.initialize().await?;
    }
    if tables.iter().any(|t| t.starts_with("lightrag_graph_")) {
        PgGraphStorage::new(pool.clone(), ws.clone(), GraphEngine::Table)?.into_dyn().initialize().await?;
    }
    Ok(())
}

/// Loads a [`backup()`] stream into `workspace`, or the stream's own workspace
/// when `None` (see the module docs).
///
/// # Errors
/// [`Error::InvalidInput`] for a stream that is not a backup or a target
/// workspace that already has rows or a graph (nothing is written); read
/// errors; connection or database errors.
pub async fn restore(pool: &PgPool, input: impl BufRead, workspace: Option<Workspace>) -> Result<RestoreSummary> {
    let mut lines = input.lines();
    let header = header(&mut lines)?;
    let ws = match workspace {
        Some(w) => w,
        None => Workspace::new(header["workspace"].as_str().unwrap_or("default").to_owned())?,
    };
    let tables: Vec<String> =
        header["tables"].as_array().into_iter().flatten().filter_map(|t| t.as_str().map(str::to_owned)).collect();
    // Tables and graph, exactly as the storages create them.
    create_stores(pool, &ws, &header, &tables).await?;
    let graph = match header["age_graph"].as_str() {
        Some(_) => {
            let g = age_graph(pool, &ws).await?;
            if !g.get_all_labels().await?.is_empty() {
                return Err(Error::invalid(
                    "workspace",
                    format!("workspace '{ws}' already has a graph; restore needs an empty one"),
                ));
            }
            Some(g)
        }
        None => None,
    };
    let mut conn = pool.get().await?;
    for t in &tables {
        if !workspace::table_exists(&*conn, t).await? {
            return Err(Error::invalid(
                t.as_str(),
                "table missing in the target database (run `lightrag-pg init` first)",
            ));
        }
    }
    if let Some(t) = table_with_rows(&*conn, &tables, ws.as_str()).await? {
        return Err(Error::invalid(
            "workspace",
            format!("workspace '{ws}' already has rows in {t}; restore needs an empty one"),
        ));
    }
    let tx = conn.transaction().await.map_err(db_error)?;
    // The stream holds each table's rows together; a table's rows are flushed
    // before the next table's start, so stream order (nodes before edges) holds.
    let mut pending: Option<(String, Vec<Value>)> = None;
    let mut rows = BTreeMap::<String, u64>::new();
    let (mut nodes, mut edges) = (Vec::new(), Vec::new());
    for l in lines {
        let l = l.map_err(io_err)?;
        if l.trim().is_empty() {
            continue;
        }
        let mut v: Value = serde_json::from_str(&l).map_err(|e| Error::invalid("backup file", e.to_string()))?;
        if let Some(t) = v.get("table").and_then(Value::as_str).map(str::to_owned) {
            if !tables.contains(&t) {
                return Err(Error::invalid("backup file", format!("row of undeclared table {t}")));
            }
            let mut row = v["row"].take();
            row["workspace"] = json!(ws.as_str());
            if pending.as_ref().is_some_and(|(pt, _)| *pt != t)
                && let Some((pt, batch)) = pending.take()
            {
                workspace::insert_json(&tx, &pt, batch).await?;
            }
            let (_, batch) = pending.get_or_insert_with(|| (t.clone(), Vec::new()));
            batch.push(row);
            *rows.entry(t.clone()).or_default() += 1;
            if batch.len() >= BATCH {
                let full = std::mem::take(batch);
                workspace::insert_json(&tx, &t, full).await?;
            }
        } else if let Some(n) = v.get_mut("node") {
            let Value::Object(p) = n.take() else { continue };
            let id = p.get("entity_id").and_then(Value::as_str).unwrap_or_default().to_owned();
            nodes.push((id, Properties(p)));
        } else if let Some(e) = v.get_mut("edge") {
            let src = e["src"].as_str().unwrap_or_default().to_owned();
            let tgt = e["tgt"].as_str().unwrap_or_default().to_owned();
            let Value::Object(p) = e["properties"].take() else { continue };
            edges.push((src, tgt, Properties(p)));
        }
    }
    if let Some((t, batch)) = pending.take()
        && !batch.is_empty()
    {
        workspace::insert_json(&tx, &t, batch).await?;
    }
    tx.commit().await.map_err(db_error)?;
    drop(conn);
    let (n_nodes, n_edges) = (nodes.len(), edges.len());
    if let Some(g) = &graph {
        g.upsert_nodes_batch(nodes).await?;
        g.upsert_edges_batch(edges).await?;
    }
    Ok(RestoreSummary { workspace: ws, rows, nodes: n_nodes, edges: n_edges })
}
