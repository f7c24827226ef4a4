//! AGE graphs seen from outside a storage, for tools that work on whole
//! workspaces (`lightrag_pg::admin`, the CLI): which graphs exist, a
//! workspace's graph, dropping a graph, and every vertex and edge of a graph
//! read straight from its label tables, all inside the caller's transaction
//! (so that a backup sees the graph and the tables at one instant, and a
//! workspace's rows and its graph go together or not at all).
//!
//! The table engine's rows live in ordinary tables with a `workspace` column
//! and are handled with the others (`lightrag_pg_pool::workspace`).

use std::collections::HashMap;

use lightrag_pg_core::{Error, Result, Workspace};
use lightrag_pg_pool::{db_error, ident::quote_ident};
use serde_json::Value;
use tokio_postgres::GenericClient;

use crate::{agtype, names};

/// Whether AGE's catalog is there (the extension is installed in this database).
async fn age_installed(client: &impl GenericClient) -> Result<bool> {
    let row = client.query_one("SELECT to_regclass('ag_catalog.ag_graph') IS NOT NULL", &[]).await;
    Ok(row.map_err(db_error)?.get(0))
}

/// The AGE graphs of the database, by name; empty without AGE.
///
/// # Errors
/// Connection or database errors.
pub async fn graphs(client: &impl GenericClient) -> Result<Vec<String>> {
    if !age_installed(client).await? {
        return Ok(Vec::new());
    }
    let rows = client.query("SELECT name::text FROM ag_catalog.ag_graph ORDER BY 1", &[]).await.map_err(db_error)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The AGE graph of `ws` (LightRAG's name for it), when AGE is installed and
/// the graph exists.
///
/// # Errors
/// Connection or database errors.
pub async fn workspace_graph(client: &impl GenericClient, ws: &Workspace) -> Result<Option<String>> {
    let name = names::age_graph_name(ws);
    if !age_installed(client).await? {
        return Ok(None);
    }
    let row = client
        .query_one("SELECT EXISTS (SELECT 1 FROM ag_catalog.ag_graph WHERE name::text = $1)", &[&name])
        .await
        .map_err(db_error)?;
    Ok(row.get::<_, bool>(0).then_some(name))
}

/// Drops AGE graph `graph` (`ag_catalog.drop_graph(name, true)`: its schema,
/// label tables and catalog rows) when it exists in `ag_catalog.ag_graph`, on
/// the caller's client, so inside the caller's transaction when it has one.
/// Returns whether it existed.
///
/// # Errors
/// [`Error::Graph`] naming the graph when the role may not drop it (SQLSTATE
/// `42501`: only the owner of the graph's schema and objects, or a superuser,
/// may), with the server's error as its cause; connection or database errors
/// (a lock time-out stays retryable).
pub async fn drop_graph(client: &impl GenericClient, graph: &str) -> Result<bool> {
    let exists = client
        .query_opt("SELECT 1 FROM ag_catalog.ag_graph WHERE name = $1::text::name", &[&graph])
        .await
        .map_err(db_error)?
        .is_some();
    if !exists {
        return Ok(false);
    }
    client.execute("SELECT ag_catalog.drop_graph($1::text::name, true)", &[&graph]).await.map_err(|e| {
        let e = db_error(e);
        if e.sqlstate() == Some(INSUFFICIENT_PRIVILEGE) {
            Error::Graph {
                message: format!(
                    "cannot drop AGE graph '{graph}': permission denied (only the owner of the graph's \
                     schema and objects, the role that created it, or a superuser may drop it)"
                ),
                source: Some(Box::new(e)),
            }
        } else {
            e
        }
    })?;
    Ok(true)
}

/// SQLSTATE `insufficient_privilege`.
const INSUFFICIENT_PRIVILEGE: &str = "42501";

/// Every vertex and edge of an AGE graph.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgeSnapshot {
    /// The vertices' properties (those with an `entity_id`, LightRAG's nodes),
    /// in vertex id order.
    pub nodes: Vec<Value>,
    /// The edges between those vertices, as (source `entity_id`, target
    /// `entity_id`, properties), in edge id order.
    pub edges: Vec<(String, String, Value)>,
}

/// Every vertex and edge of AGE graph `graph`, read from its label tables
/// (`_ag_label_vertex`, `_ag_label_edge`) with the client's snapshot.
///
/// # Errors
/// [`lightrag_pg_core::Error::InvalidInput`] for properties that are not
/// agtype; connection or database errors (a missing graph among them).
pub async fn snapshot(client: &impl GenericClient, graph: &str) -> Result<AgeSnapshot> {
    let g = quote_ident(graph)?;
    let vertices = client
        .query(
            &format!(
                "SELECT ag_catalog.graphid_out(id)::text, ag_catalog.agtype_out(properties)::text \
                 FROM {g}._ag_label_vertex ORDER BY id"
            ),
            &[],
        )
        .await
        .map_err(db_error)?;
    let mut snap = AgeSnapshot::default();
    let mut entity_ids = HashMap::new();
    for r in &vertices {
        let props = agtype::parse(r.get(1))?;
        if let Some(eid) = props.get("entity_id").and_then(Value::as_str) {
            entity_ids.insert(r.get::<_, String>(0), eid.to_owned());
            snap.nodes.push(props);
        }
    }
    let edges = client
        .query(
            &format!(
                "SELECT ag_catalog.graphid_out(start_id)::text, ag_catalog.graphid_out(end_id)::text, \
                 ag_catalog.agtype_out(properties)::text FROM {g}._ag_label_edge ORDER BY id"
            ),
            &[],
        )
        .await
        .map_err(db_error)?;
    for r in &edges {
        let (Some(src), Some(tgt)) = (entity_ids.get(r.get::<_, &str>(0)), entity_ids.get(r.get::<_, &str>(1))) else {
            continue;
        };
        snap.edges.push((src.clone(), tgt.clone(), agtype::parse(r.get(2))?));
    }
    Ok(snap)
}
