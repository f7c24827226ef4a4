//! A workspace's rows across LightRAG's tables, found through the catalog: the
//! tables that have a `workspace` column, whether a workspace has rows in one,
//! rows per workspace, and deleting, copying, reading (as JSON) and inserting
//! (from JSON) one workspace's rows.
//!
//! These know tables, not stores: a vector table's per-workspace partitions are
//! pg-vector's (`lightrag_pg_vector::admin`), an AGE graph is pg-graph's
//! (`lightrag_pg_graph::admin`), and `lightrag_pg::admin` composes all three.
//! Every function takes any client (a connection or a transaction), so callers
//! choose the transaction. Table names may be given in any case (LightRAG
//! creates them unquoted, so the catalog holds them in lower case) and go
//! through [`quote_ident`]; values are bound.

use lightrag_pg_core::Error;
use serde_json::Value;
use tokio_postgres::GenericClient;

use crate::db_error;
use crate::ident::quote_ident;

/// `table` lower-cased (as PostgreSQL stores LightRAG's unquoted names), quoted.
fn quoted(table: &str) -> Result<String, Error> {
    quote_ident(&table.to_lowercase())
}

/// Whether [`tables`] lists the partitions of partitioned tables too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partitions {
    /// Plain and partitioned tables and every partition: all that holds rows.
    Include,
    /// Plain and partitioned tables only: a partitioned table's rows are read
    /// and written through it.
    Exclude,
}

/// LightRAG's tables (`lightrag_*`) in the current schema that have a
/// `workspace` column, by name.
const TABLES_SQL: &str = "SELECT c.relname::text FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = 'workspace' AND NOT a.attisdropped \
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
     AND c.relname LIKE 'lightrag\\_%' AND ($1 OR NOT c.relispartition) ORDER BY 1";

/// LightRAG's tables in the current schema that have a `workspace` column, by
/// name (as PostgreSQL stores it: lower case).
///
/// # Errors
/// Connection or database errors.
pub async fn tables(client: &impl GenericClient, partitions: Partitions) -> Result<Vec<String>, Error> {
    let include = partitions == Partitions::Include;
    let rows = client.query(TABLES_SQL, &[&include]).await.map_err(db_error)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Whether table `table` exists in the search path.
///
/// # Errors
/// Connection or database errors.
pub async fn table_exists(client: &impl GenericClient, table: &str) -> Result<bool, Error> {
    let row = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&quoted(table)?]).await;
    Ok(row.map_err(db_error)?.get(0))
}

/// Whether `table` holds any row of `workspace`: the one "does this workspace
/// have rows" of the project.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad table name; connection or database errors
/// (a missing table among them).
pub async fn has_rows(client: &impl GenericClient, table: &str, workspace: &str) -> Result<bool, Error> {
    let sql = format!("SELECT EXISTS (SELECT 1 FROM {} WHERE workspace = $1)", quoted(table)?);
    let row = client.query_one(&sql, &[&workspace]).await.map_err(db_error)?;
    Ok(row.get(0))
}

/// How many rows of `workspace` `table` holds.
///
/// # Errors
/// As [`has_rows`].
pub async fn count_rows(client: &impl GenericClient, table: &str, workspace: &str) -> Result<u64, Error> {
    let sql = format!("SELECT count(*) FROM {} WHERE workspace = $1", quoted(table)?);
    let row = client.query_one(&sql, &[&workspace]).await.map_err(db_error)?;
    Ok(row.get::<_, i64>(0).unsigned_abs())
}

/// The rows of `table` per workspace, by workspace.
///
/// # Errors
/// As [`has_rows`].
pub async fn row_counts(client: &impl GenericClient, table: &str) -> Result<Vec<(String, u64)>, Error> {
    let sql = format!("SELECT workspace::text, count(*) FROM {} GROUP BY 1 ORDER BY 1", quoted(table)?);
    let rows = client.query(&sql, &[]).await.map_err(db_error)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get::<_, i64>(1).unsigned_abs())).collect())
}

/// The ids of `workspace`'s rows in `table`, sorted; empty when the table does
/// not exist.
///
/// # Errors
/// As [`has_rows`].
pub async fn ids(client: &impl GenericClient, table: &str, workspace: &str) -> Result<Vec<String>, Error> {
    if !table_exists(client, table).await? {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT id::text FROM {} WHERE workspace = $1 ORDER BY id", quoted(table)?);
    let rows = client.query(&sql, &[&workspace]).await.map_err(db_error)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Deletes `workspace`'s rows from `table`; returns how many.
///
/// # Errors
/// As [`has_rows`].
pub async fn delete_rows(client: &impl GenericClient, table: &str, workspace: &str) -> Result<u64, Error> {
    let sql = format!("DELETE FROM {} WHERE workspace = $1", quoted(table)?);
    client.execute(&sql, &[&workspace]).await.map_err(db_error)
}

/// The columns of `table` a row is written with (generated ones are left to
/// the server), quoted, in table order, `workspace` included unless `skip`.
async fn written_columns(client: &impl GenericClient, table: &str, skip: Option<&str>) -> Result<Vec<String>, Error> {
    let rows = client
        .query(
            "SELECT attname::text FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 \
             AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
            &[&quoted(table)?],
        )
        .await
        .map_err(db_error)?;
    rows.iter().map(|r| r.get::<_, &str>(0)).filter(|c| Some(*c) != skip).map(quote_ident).collect()
}

/// Copies `from`'s rows of `table` into workspace `to` (every column but
/// `workspace` kept); returns how many.
///
/// # Errors
/// As [`has_rows`]; a duplicate key when `to` already has one of the rows.
pub async fn copy_rows(client: &impl GenericClient, table: &str, from: &str, to: &str) -> Result<u64, Error> {
    let q = quoted(table)?;
    let list = written_columns(client, table, Some("workspace")).await?.join(", ");
    let sql = format!("INSERT INTO {q} (workspace, {list}) SELECT $2, {list} FROM {q} WHERE workspace = $1");
    client.execute(&sql, &[&from, &to]).await.map_err(db_error)
}

/// `workspace`'s rows of `table`, each as a JSON object keyed by column
/// (`to_jsonb`: every column in its JSON or text form, vectors included).
///
/// # Errors
/// As [`has_rows`].
pub async fn rows_json(client: &impl GenericClient, table: &str, workspace: &str) -> Result<Vec<Value>, Error> {
    let sql = format!("SELECT to_jsonb(t)::text FROM {} t WHERE workspace = $1", quoted(table)?);
    let rows = client.query(&sql, &[&workspace]).await.map_err(db_error)?;
    rows.iter()
        .map(|r| serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| Error::invalid(table, e.to_string())))
        .collect()
}

/// Inserts `rows` (JSON objects keyed by column, as [`rows_json`] gives them)
/// into `table` in one statement (`jsonb_populate_record`); generated columns
/// are left to the server. Returns how many.
///
/// # Errors
/// As [`has_rows`]; a value a column cannot hold.
pub async fn insert_json(client: &impl GenericClient, table: &str, rows: Vec<Value>) -> Result<u64, Error> {
    let q = quoted(table)?;
    let cols = written_columns(client, table, None).await?;
    let list = cols.join(", ");
    let sel = cols.iter().map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "INSERT INTO {q} ({list}) SELECT {sel} FROM jsonb_array_elements($1::text::jsonb) e, \
         LATERAL jsonb_populate_record(NULL::{q}, e) r"
    );
    client.execute(&sql, &[&Value::Array(rows).to_string()]).await.map_err(db_error)
}
