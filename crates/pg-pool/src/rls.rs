//! The optional row-level-security mode: each role reads and writes only the
//! workspaces granted to it.
//!
//! Without it, workspace isolation rests on every query's `workspace = $1`
//! filter (which the isolation tests check for every API method). With it, the
//! server enforces the binding too, so a role bound to workspace A cannot read
//! or write workspace B even with SQL of its own:
//!
//! 1. the administrator (the tables' owner, who is not bound) runs [`enable`]
//!    after `lightrag-pg init`, and again after new LightRAG tables appear (a
//!    new embedding model's vector tables, new partitions);
//! 2. [`grant`] binds a role to a workspace (a role may hold several; members
//!    of a granted role inherit it); [`revoke`] undoes it;
//! 3. the application connects as that role; its storages work unchanged.
//!
//! It covers every table with a `workspace` column (KV, vectors, doc status,
//! the table graph engine). AGE keeps one graph schema per workspace: bind
//! those with schema privileges (`REVOKE ALL ON SCHEMA <graph> FROM <role>`).

use lightrag_pg_core::Error;

use crate::ddl::{self, WORKSPACE_GRANTS_TABLE};
use crate::workspace::{self, Partitions};
use crate::{PgPool, db_error, schema};

/// The schema part under which the grants table is recorded.
const SCHEMA_PART: &str = "rls:lightrag_workspace_grants";

/// Turns the mode on for every LightRAG table that exists now, in one
/// transaction. Returns the tables, by name. Idempotent.
///
/// # Errors
/// [`Error::Database`] (`42501`) unless run by the tables' owner; connection
/// errors.
pub async fn enable(pool: &PgPool) -> Result<Vec<String>, Error> {
    schema::ensure(pool, SCHEMA_PART, &[ddl::WORKSPACE_GRANTS_TABLE], &ddl::workspace_grants_table()).await?;
    apply(pool, ddl::rls_enable).await
}

/// Turns the mode off for every LightRAG table (the grants stay).
///
/// # Errors
/// As [`enable`].
pub async fn disable(pool: &PgPool) -> Result<Vec<String>, Error> {
    apply(pool, ddl::rls_disable).await
}

async fn apply(pool: &PgPool, statements: fn(&str) -> Result<Vec<String>, Error>) -> Result<Vec<String>, Error> {
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await.map_err(db_error)?;
    let mut tables = workspace::tables(&tx, Partitions::Include).await?;
    tables.retain(|t| t != WORKSPACE_GRANTS_TABLE);
    for table in &tables {
        for stmt in statements(table)? {
            tx.batch_execute(&stmt).await.map_err(db_error)?;
        }
    }
    tx.commit().await.map_err(db_error)?;
    tracing::info!(tables = tables.len(), "row-level security changed");
    Ok(tables)
}

/// Binds `role` to `workspace`. Idempotent.
///
/// # Errors
/// [`Error::InvalidInput`] naming the role when it does not exist;
/// [`Error::Database`] when the grants table is missing ([`enable`] first) or
/// the caller may not write it; connection errors.
pub async fn grant(pool: &PgPool, workspace: &str, role: &str) -> Result<(), Error> {
    let conn = pool.get().await?;
    let exists: bool = conn
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)", &[&role])
        .await
        .map_err(db_error)?
        .get(0);
    if !exists {
        return Err(Error::invalid(role, "no such role"));
    }
    conn.execute(
        &format!("INSERT INTO {WORKSPACE_GRANTS_TABLE} (workspace, role) VALUES ($1, $2) ON CONFLICT DO NOTHING"),
        &[&workspace, &role],
    )
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Unbinds `role` from `workspace`; returns whether it was bound.
///
/// # Errors
/// As [`grant`], except that an unknown role is simply not bound.
pub async fn revoke(pool: &PgPool, workspace: &str, role: &str) -> Result<bool, Error> {
    let conn = pool.get().await?;
    let n = conn
        .execute(
            &format!("DELETE FROM {WORKSPACE_GRANTS_TABLE} WHERE workspace = $1 AND role = $2"),
            &[&workspace, &role],
        )
        .await
        .map_err(db_error)?;
    Ok(n > 0)
}
