//! `lightrag-pg backup` and `lightrag-pg restore`: a consistent per-workspace
//! snapshot of all four stores in a self-describing JSON-lines file.
//!
//! The backup reads, in ONE `REPEATABLE READ READ ONLY` transaction, every row of
//! the workspace from each `lightrag_*` table that has a `workspace` column
//! (`SELECT to_jsonb(t)`, so every column round-trips through its text form,
//! vectors included) and, when the workspace has an AGE graph, its vertices and
//! edges straight from the graph's label tables. The file is:
//!
//! ```text
//! {"format":"lightrag-pg-backup","version":1,"workspace":"ws","tables":[…],"vector_tables":[…],"age_graph":"…"|null}
//! {"table":"lightrag_doc_full","row":{…}}
//! {"node":{"entity_id":"A",…}}
//! {"edge":{"src":"A","tgt":"B","properties":{…}}}
//! ```
//!
//! Restore creates the tables through the storages' `initialize` (so indexes and
//! the AGE graph are LightRAG's), refuses a target workspace that already holds
//! data, inserts the table rows in one transaction with `jsonb_populate_record`,
//! and writes the graph through `GraphStorage::upsert_nodes_batch` /
//! `upsert_edges_batch`.
//!
//! A file name ending in `.gz` is written and read gzip-compressed.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use lightrag_pg::core::graph::Properties;
use lightrag_pg::docstatus::PgDocStatusStorage;
use lightrag_pg::kv::PgKvStorage;
use lightrag_pg::{Error, KvNamespace, Result, Storage, VectorNamespace, Workspace};
use lightrag_pg_graph::{GraphEngine, PgGraphStorage};
use lightrag_pg_pool::{db_error, ident::quote_ident};
use lightrag_pg_vector::{PgVectorConfig, PgVectorStorage};
use serde_json::{Map, Value, json};

use crate::context::Context;
use crate::output;

/// The `format` field of the header line.
const FORMAT: &str = "lightrag-pg-backup";
/// Rows per INSERT statement on restore.
const BATCH: usize = 500;

fn io_err(what: &str, e: std::io::Error) -> Error {
    Error::invalid(what, e.to_string())
}

/// The `lightrag_*` tables (in the search path) that have a `workspace` column.
const TABLES_SQL: &str = "SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid \
     WHERE c.relkind IN ('r','p') AND a.attname = 'workspace' AND NOT a.attisdropped \
     AND pg_table_is_visible(c.oid) AND c.relname LIKE 'lightrag\\_%' \
     AND NOT c.relispartition ORDER BY c.relname";

/// A vector table: its name, namespace, dimension and the model name that
/// reproduces its suffix.
fn vector_table_of(name: &str, dim: usize) -> Option<(VectorNamespace, Option<String>)> {
    VectorNamespace::ALL.into_iter().find_map(|ns| {
        let base = ns.base_table().to_lowercase();
        if name == base {
            return Some((ns, None));
        }
        let rest = name.strip_prefix(&base)?.strip_prefix('_')?;
        let model = rest.strip_suffix(&format!("_{dim}d")).unwrap_or(rest).to_owned();
        let expect = lightrag_pg_pool::ddl::vector_table_name(ns, Some(&model), dim).ok()?;
        (expect.to_lowercase() == name).then_some((ns, Some(model)))
    })
}

/// `lightrag-pg backup --to FILE`.
pub(crate) async fn backup(ctx: &Context, to: &Path, json_out: bool) -> Result<()> {
    let pool = ctx.pool().await?;
    let ws = ctx.workspace()?;
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await.map_err(db_error)?;
    tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").await.map_err(db_error)?;
    let all: Vec<String> = tx.query(TABLES_SQL, &[]).await.map_err(db_error)?.iter().map(|r| r.get(0)).collect();
    // Only the tables holding rows of the workspace: restore creates just those.
    let mut tables = Vec::new();
    // Rows are restored in file order: the table graph's edges reference its nodes.
    let mut all = all;
    all.sort_by_key(|t| (t == lightrag_pg_pool::ddl::GRAPH_EDGES_TABLE, t.clone()));
    for t in all {
        let q = quote_ident(&t)?;
        let has: bool = tx
            .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {q} WHERE workspace = $1)"), &[&ws.as_str()])
            .await
            .map_err(db_error)?
            .get(0);
        if has {
            tables.push(t);
        }
    }
    let mut vector_tables = Vec::new();
    for t in &tables {
        let row = tx
            .query_opt(
                "SELECT a.atttypmod FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attname = 'content_vector'",
                &[t],
            )
            .await
            .map_err(db_error)?;
        if let Some(r) = row {
            let dim = r.get::<_, i32>(0).max(0) as usize;
            if let Some((ns, model)) = vector_table_of(t, dim) {
                vector_tables
                    .push(json!({"table": t, "namespace": ns.as_str(), "dimension": dim, "model_name": model}));
            }
        }
    }
    let graph = Some(lightrag_pg_graph::names::age_graph_name(&ws));
    let age_graph = match &graph {
        Some(g) => {
            let has_age: bool = tx
                .query_one("SELECT to_regclass('ag_catalog.ag_graph') IS NOT NULL", &[])
                .await
                .map_err(db_error)?
                .get(0);
            let exists = has_age
                && tx
                    .query_one("SELECT EXISTS (SELECT 1 FROM ag_catalog.ag_graph WHERE name::text = $1)", &[g])
                    .await
                    .map_err(db_error)?
                    .get::<_, bool>(0);
            exists.then(|| g.clone())
        }
        None => None,
    };
    let file = std::fs::File::create(to).map_err(|e| io_err("--to", e))?;
    let sink: Box<dyn Write> = if is_gz(to) {
        Box::new(flate2::write::GzEncoder::new(file, flate2::Compression::default()))
    } else {
        Box::new(file)
    };
    let mut out = BufWriter::new(sink);
    let line = |v: &Value, out: &mut BufWriter<Box<dyn Write>>| -> Result<()> {
        serde_json::to_writer(&mut *out, v).map_err(|e| Error::invalid("--to", e.to_string()))?;
        out.write_all(b"\n").map_err(|e| io_err("--to", e))
    };
    line(
        &json!({"format": FORMAT, "version": 1, "workspace": ws.as_str(), "tables": tables,
                "vector_tables": vector_tables, "age_graph": age_graph}),
        &mut out,
    )?;
    let mut counts = Map::new();
    for t in &tables {
        let q = quote_ident(t)?;
        let rows = tx
            .query(&format!("SELECT to_jsonb(t)::text FROM {q} t WHERE workspace = $1"), &[&ws.as_str()])
            .await
            .map_err(db_error)?;
        for r in &rows {
            let row: Value =
                serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| Error::invalid(t.as_str(), e.to_string()))?;
            line(&json!({"table": t, "row": row}), &mut out)?;
        }
        counts.insert(t.clone(), json!(rows.len()));
    }
    let (mut n_nodes, mut n_edges) = (0usize, 0usize);
    if let Some(g) = &age_graph {
        let gq = quote_ident(g)?;
        let nodes = tx
            .query(&format!("SELECT ag_catalog.graphid_out(id)::text, ag_catalog.agtype_out(properties)::text FROM {gq}._ag_label_vertex ORDER BY id"), &[])
            .await
            .map_err(db_error)?;
        let mut ids = std::collections::HashMap::new();
        for r in &nodes {
            let props: Value = parse_agtype(r.get(1))?;
            if let Some(eid) = props.get("entity_id").and_then(Value::as_str) {
                ids.insert(r.get::<_, String>(0), eid.to_owned());
                line(&json!({"node": props}), &mut out)?;
                n_nodes += 1;
            }
        }
        let edges = tx
            .query(&format!("SELECT ag_catalog.graphid_out(start_id)::text, ag_catalog.graphid_out(end_id)::text, ag_catalog.agtype_out(properties)::text FROM {gq}._ag_label_edge ORDER BY id"), &[])
            .await
            .map_err(db_error)?;
        for r in &edges {
            let (Some(src), Some(tgt)) = (ids.get(r.get::<_, &str>(0)), ids.get(r.get::<_, &str>(1))) else { continue };
            let props = parse_agtype(r.get(2))?;
            line(&json!({"edge": {"src": src, "tgt": tgt, "properties": props}}), &mut out)?;
            n_edges += 1;
        }
    }
    tx.commit().await.map_err(db_error)?;
    out.flush().map_err(|e| io_err("--to", e))?;
    // Dropping the encoder writes the gzip trailer; finish it explicitly to see errors.
    let sink = out.into_inner().map_err(|e| io_err("--to", e.into_error()))?;
    drop(sink);
    let summary = json!({"workspace": ws.as_str(), "file": to.display().to_string(), "rows": counts,
                         "age_graph": age_graph, "nodes": n_nodes, "edges": n_edges});
    let _ = json_out;
    output::json(&summary)
}

/// A `.gz` file name: the backup is gzip-compressed.
fn is_gz(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// agtype's text form of a map is JSON, except for `::numeric`/`::vertex` style
/// annotations, which LightRAG never stores in properties.
fn parse_agtype(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::invalid("agtype properties", format!("{e}: {text}")))
}

/// `lightrag-pg restore --from FILE`.
pub(crate) async fn restore(ctx: &Context, from: &Path, json_out: bool) -> Result<()> {
    let file = std::fs::File::open(from).map_err(|e| io_err("--from", e))?;
    let source: Box<dyn std::io::Read> =
        if is_gz(from) { Box::new(flate2::read::GzDecoder::new(file)) } else { Box::new(file) };
    let mut lines = BufReader::new(source).lines();
    let header: Value = match lines.next() {
        Some(l) => serde_json::from_str(&l.map_err(|e| io_err("--from", e))?)
            .map_err(|e| Error::invalid("--from", format!("bad header: {e}")))?,
        None => return Err(Error::invalid("--from", "empty file")),
    };
    if header.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(Error::invalid("--from", "not a lightrag-pg backup (no format header)"));
    }
    let ws = match ctx.workspace_flag() {
        Some(w) => Workspace::new(w)?,
        None => Workspace::new(header["workspace"].as_str().unwrap_or("default").to_owned())?,
    };
    let pool = ctx.pool().await?;
    // Tables and graph, exactly as the storages create them.
    for ns in KvNamespace::ALL {
        PgKvStorage::new(pool.clone(), ns, ws.clone())?.initialize().await?;
    }
    PgDocStatusStorage::new(pool.clone(), ws.clone())?.initialize().await?;
    for vt in header["vector_tables"].as_array().into_iter().flatten() {
        let ns: VectorNamespace = vt["namespace"].as_str().unwrap_or_default().parse()?;
        let dim = vt["dimension"].as_u64().unwrap_or(0) as usize;
        let model = vt["model_name"].as_str();
        let config = PgVectorConfig::from_pool_config(ns, dim, model, pool.config())?;
        PgVectorStorage::new(pool.clone(), ws.clone(), config)?.initialize().await?;
    }
    let tables: Vec<String> =
        header["tables"].as_array().into_iter().flatten().filter_map(|t| t.as_str().map(str::to_owned)).collect();
    if tables.iter().any(|t| t.starts_with("lightrag_graph_")) {
        PgGraphStorage::new(pool.clone(), ws.clone(), GraphEngine::Table)?.into_dyn().initialize().await?;
    }
    let age = header["age_graph"].as_str().is_some();
    let graph = if age {
        let g = PgGraphStorage::new(pool.clone(), ws.clone(), GraphEngine::Age)?.into_dyn();
        g.initialize().await?;
        if !g.get_all_labels().await?.is_empty() {
            return Err(Error::invalid(
                "--workspace",
                format!("workspace '{ws}' already has a graph; restore needs an empty one"),
            ));
        }
        Some(g)
    } else {
        None
    };
    let mut conn = pool.get().await?;
    for t in &tables {
        let q = quote_ident(t)?;
        let exists: bool = conn.query_one("SELECT to_regclass($1) IS NOT NULL", &[t]).await.map_err(db_error)?.get(0);
        if !exists {
            return Err(Error::invalid(
                t.as_str(),
                "table missing in the target database (run `lightrag-pg init` first)",
            ));
        }
        let busy: bool = conn
            .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {q} WHERE workspace = $1)"), &[&ws.as_str()])
            .await
            .map_err(db_error)?
            .get(0);
        if busy {
            return Err(Error::invalid(
                "--workspace",
                format!("workspace '{ws}' already has rows in {t}; restore needs an empty one"),
            ));
        }
    }
    let tx = conn.transaction().await.map_err(db_error)?;
    // The file holds each table's rows together; a table's rows are flushed
    // before the next table's start, so file order (nodes before edges) holds.
    let mut pending: Option<(String, Vec<Value>)> = None;
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    let (mut nodes, mut edges) = (Vec::new(), Vec::new());
    for l in lines {
        let l = l.map_err(|e| io_err("--from", e))?;
        if l.trim().is_empty() {
            continue;
        }
        let mut v: Value = serde_json::from_str(&l).map_err(|e| Error::invalid("--from", e.to_string()))?;
        if let Some(t) = v.get("table").and_then(Value::as_str).map(str::to_owned) {
            if !tables.contains(&t) {
                return Err(Error::invalid("--from", format!("row of undeclared table {t}")));
            }
            let mut row = v["row"].take();
            row["workspace"] = json!(ws.as_str());
            if pending.as_ref().is_some_and(|(pt, _)| *pt != t)
                && let Some((pt, rows)) = pending.take()
            {
                insert_rows(&tx, &pt, rows).await?;
            }
            let (_, batch) = pending.get_or_insert_with(|| (t.clone(), Vec::new()));
            batch.push(row);
            *counts.entry(t.clone()).or_default() += 1;
            if batch.len() >= BATCH {
                let rows = std::mem::take(batch);
                insert_rows(&tx, &t, rows).await?;
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
    if let Some((t, rows)) = pending.take()
        && !rows.is_empty()
    {
        insert_rows(&tx, &t, rows).await?;
    }
    tx.commit().await.map_err(db_error)?;
    drop(conn);
    let (n_nodes, n_edges) = (nodes.len(), edges.len());
    if let Some(g) = &graph {
        g.upsert_nodes_batch(nodes).await?;
        g.upsert_edges_batch(edges).await?;
    }
    let summary = json!({"workspace": ws.as_str(), "file": from.display().to_string(), "rows": counts,
                         "nodes": n_nodes, "edges": n_edges});
    let _ = json_out;
    output::json(&summary)
}

/// Inserts rows (JSON objects keyed by column) into `table`, generated columns
/// left to the server.
async fn insert_rows(
    tx: &lightrag_pg_pool::tokio_postgres::Transaction<'_>,
    table: &str,
    rows: Vec<Value>,
) -> Result<()> {
    let q = quote_ident(table)?;
    let cols: Vec<String> = tx
        .query(
            "SELECT attname::text FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 \
             AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
            &[&table],
        )
        .await
        .map_err(db_error)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let list = cols.iter().map(|c| quote_ident(c)).collect::<Result<Vec<_>>>()?.join(", ");
    let sel = cols.iter().map(|c| quote_ident(c).map(|q| format!("r.{q}"))).collect::<Result<Vec<_>>>()?.join(", ");
    let body = Value::Array(rows).to_string();
    tx.execute(
        &format!(
            "INSERT INTO {q} ({list}) SELECT {sel} FROM jsonb_array_elements($1::text::jsonb) e, \
             LATERAL jsonb_populate_record(NULL::{q}, e) r"
        ),
        &[&body],
    )
    .await
    .map_err(db_error)?;
    Ok(())
}
