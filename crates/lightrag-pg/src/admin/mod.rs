//! Whole-workspace administration across the four stores: list, drop and copy
//! workspaces, find a namespace's vector table, list a table's ids, the
//! monitoring [`stats`], and a consistent [`backup()`] with its [`restore()`].
//!
//! Composed of the stores' own APIs, so that each layout is handled where it
//! is defined:
//! - rows of every LightRAG table with a `workspace` column (KV, doc status,
//!   vectors, the table graph engine): [`crate::pool::workspace`];
//! - vector tables, and the partitioned layout's per-workspace partitions:
//!   [`crate::vector::admin`];
//! - AGE graphs: [`crate::graph::admin`], and the graph storage itself for
//!   writes.
//!
//! Behind the `admin` feature (which turns on every PostgreSQL backend).

mod backup;
mod stats;

use std::collections::BTreeMap;

use lightrag_pg_core::{Error, GraphStorage, Result, VectorNamespace, Workspace};
use lightrag_pg_graph::{GraphEngine, PgGraphStorage};
use lightrag_pg_pool::tokio_postgres::GenericClient;
use lightrag_pg_pool::workspace::{self, Partitions};
use lightrag_pg_pool::{PgPool, db_error};

pub use backup::{BACKUP_FORMAT, BackupSummary, RestoreSummary, backup, restore};
pub use lightrag_pg_vector::admin::VectorTable;
pub use stats::stats;

/// Every workspace that has rows, and the AGE graphs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkspaceList {
    /// Rows per workspace, summed over LightRAG's tables, by workspace.
    pub rows: BTreeMap<String, u64>,
    /// The AGE graphs of the database, by name (empty without AGE).
    pub age_graphs: Vec<String>,
}

/// Every workspace that has rows in a LightRAG table, with its row count, and
/// the AGE graphs.
///
/// # Errors
/// Connection or database errors.
pub async fn list_workspaces(pool: &PgPool) -> Result<WorkspaceList> {
    let conn = pool.get().await?;
    let mut list = WorkspaceList::default();
    for table in workspace::tables(&*conn, Partitions::Exclude).await? {
        for (ws, n) in workspace::row_counts(&*conn, &table).await? {
            *list.rows.entry(ws).or_default() += n;
        }
    }
    list.age_graphs = lightrag_pg_graph::admin::graphs(&*conn).await?;
    Ok(list)
}

/// The first of `tables` that holds rows of `ws`.
async fn table_with_rows<'t>(client: &impl GenericClient, tables: &'t [String], ws: &str) -> Result<Option<&'t str>> {
    for table in tables {
        if workspace::has_rows(client, table, ws).await? {
            return Ok(Some(table));
        }
    }
    Ok(None)
}

/// What [`drop_workspace`] dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DropReport {
    /// Rows deleted, over every LightRAG table.
    pub rows: u64,
    /// The workspace's AGE graph ([`lightrag_pg_graph::names::age_graph_name`]),
    /// dropped; `None` when it had none (or the database has no AGE).
    pub age_graph: Option<String>,
}

/// Drops workspace `ws` in one transaction: deletes its rows from every
/// LightRAG table (dropping its partitions of partitioned vector tables, as
/// the vector storage's `drop_all` does) and drops its AGE graph when it has
/// one (`ag_catalog.drop_graph`: the schema, the label tables, the catalog
/// rows), so that all of it goes or none.
///
/// A workspace whose graph name is lossy ([`lightrag_pg_graph::names::is_lossy`]:
/// characters outside `[A-Za-z0-9_]`, or cut at 63 bytes) shares that graph
/// with the workspaces that map to the same name, as in LightRAG, and
/// dropping it drops their graph too.
///
/// # Errors
/// [`Error::Graph`] naming the graph when the role may not drop it; connection
/// or database errors. Nothing is dropped unless all is.
#[tracing::instrument(skip(pool), fields(workspace = %ws))]
pub async fn drop_workspace(pool: &PgPool, ws: &Workspace) -> Result<DropReport> {
    if lightrag_pg_graph::names::is_lossy(ws) {
        let graph = lightrag_pg_graph::names::age_graph_name(ws);
        tracing::warn!(%graph, "the AGE graph name is lossy (as in LightRAG): other workspaces may share the graph this drops");
    }
    pool.retry("workspace drop", || async {
        let mut conn = pool.get().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        let mut report = DropReport::default();
        for table in workspace::tables(&tx, Partitions::Exclude).await? {
            report.rows += match lightrag_pg_vector::admin::describe(&tx, &table).await? {
                Some(_) => lightrag_pg_vector::admin::drop_workspace_rows(&tx, &table, ws.as_str()).await?,
                None => workspace::delete_rows(&tx, &table, ws.as_str()).await?,
            };
        }
        if let Some(graph) = lightrag_pg_graph::admin::workspace_graph(&tx, ws).await?
            && lightrag_pg_graph::admin::drop_graph(&tx, &graph).await?
        {
            report.age_graph = Some(graph);
        }
        tx.commit().await.map_err(db_error)?;
        Ok(report)
    })
    .await
}

/// The AGE graph storage of `ws`, initialised.
async fn age_graph(pool: &PgPool, ws: &Workspace) -> Result<std::sync::Arc<dyn GraphStorage>> {
    let graph = PgGraphStorage::new(pool.clone(), ws.clone(), GraphEngine::Age)?.into_dyn();
    graph.initialize().await?;
    Ok(graph)
}

/// What [`copy_workspace`] copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Rows copied, over every LightRAG table.
    pub rows: u64,
    /// Nodes of the source's AGE graph copied into the target's.
    pub graph_nodes: usize,
}

/// Copies every row of `from` into `to`, over every LightRAG table in one
/// transaction, then `from`'s AGE graph (when it has one) into `to`'s through
/// the graph storage.
///
/// # Errors
/// [`Error::InvalidInput`] naming `to` when it already has rows in a table
/// (nothing is copied); connection or database errors.
pub async fn copy_workspace(pool: &PgPool, from: &Workspace, to: &Workspace) -> Result<CopyReport> {
    let mut conn = pool.get().await?;
    let tables = workspace::tables(&*conn, Partitions::Exclude).await?;
    let tx = conn.transaction().await.map_err(db_error)?;
    if let Some(table) = table_with_rows(&tx, &tables, to.as_str()).await? {
        return Err(Error::invalid(to.as_str(), format!("target workspace already has rows in {table}")));
    }
    let mut report = CopyReport::default();
    for table in &tables {
        report.rows += workspace::copy_rows(&tx, table, from.as_str(), to.as_str()).await?;
    }
    tx.commit().await.map_err(db_error)?;
    if lightrag_pg_graph::admin::workspace_graph(&*conn, from).await?.is_some() {
        let (src, dst) = (age_graph(pool, from).await?, age_graph(pool, to).await?);
        let converted = lightrag_pg_graph::convert(src.as_ref(), dst.as_ref()).await?;
        report.graph_nodes = src.get_all_labels().await?.len();
        tracing::info!(?converted, "AGE graph copied");
    }
    Ok(report)
}

/// The vector table of `ns` (with `model`'s suffix when given); when several
/// match, only those holding rows of `ws` count.
///
/// # Errors
/// [`Error::NotFound`] when there is none; [`Error::InvalidInput`] when several
/// match; connection or database errors.
pub async fn find_vector_table(
    pool: &PgPool,
    ns: VectorNamespace,
    model: Option<&str>,
    ws: &Workspace,
) -> Result<VectorTable> {
    lightrag_pg_vector::admin::find(&*pool.get().await?, ns, model, ws.as_str()).await
}

/// The ids of `ws`'s rows in `table` (any case), sorted; empty when the table
/// does not exist. What the storage traits cannot list.
///
/// # Errors
/// Connection or database errors.
pub async fn ids(pool: &PgPool, table: &str, ws: &Workspace) -> Result<Vec<String>> {
    workspace::ids(&*pool.get().await?, table, ws.as_str()).await
}
