//! Schema set-up that many processes can run at once.
//!
//! Each named part (a table with its indexes) is applied in one transaction under
//! a database-wide advisory lock, so concurrent start-ups serialise instead of
//! racing into "already exists" errors or deadlocks. A version table records what
//! was applied (by checksum), so later start-ups skip the catalog work entirely.
//! Every statement is `IF NOT EXISTS`, so tables Python LightRAG 1.5.7 created
//! are adopted untouched.
//!
//! - The lock is `pg_advisory_xact_lock(hashtextextended('lightrag_pg_schema', 0))`,
//!   held by the transaction that applies one part; other tools can take the same
//!   lock to coordinate.
//! - [`MIGRATIONS_TABLE`] has one row per part: `name`, `checksum` (md5 of the
//!   statements) and `applied_at`. A changed checksum (new statements in a later
//!   release) re-applies the part; its statements are idempotent.
//! - A part also names the relations it creates; one dropped by hand since
//!   (`DROP TABLE`) makes the part count as not applied, so the next start-up
//!   recreates it instead of trusting the version table.
//! - Already-applied parts cost two catalog lookups and no lock, and an empty
//!   database logs no error on the server.
//! - Before the first part a process applies to a database, [`crate::upgrade`]
//!   brings tables that an older LightRAG release created to 1.5.7's columns
//!   (`CREATE TABLE IF NOT EXISTS` alone would adopt them as they are), and
//!   records that in the version table (`upgrade:lightrag-1.5.7`). The fast path
//!   also needs that record, so a database adopted before the upgrade existed is
//!   upgraded by the next start-up.

use lightrag_pg_core::Error;

use crate::{PgPool, db_error};

/// The version table.
pub const MIGRATIONS_TABLE: &str = "lightrag_pg_schema_migrations";

/// The advisory-lock key every schema change takes (`hashtextextended` of a
/// fixed name, so other tools can coordinate with it).
pub(crate) const LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(hashtextextended('lightrag_pg_schema', 0))";

fn checksum(statements: &[String]) -> String {
    lightrag_pg_core::ids::md5_hex(&statements.join(";\n"))
}

/// Whether the version table records `name` with this checksum and every one of
/// `relations` exists.
const APPLIED_SQL: &str = "SELECT EXISTS (SELECT 1 FROM lightrag_pg_schema_migrations WHERE name = $1 AND checksum = $2) \
     AND NOT EXISTS (SELECT 1 FROM unnest($3::text[]) r WHERE to_regclass(quote_ident(r)) IS NULL)";

/// [`APPLIED_SQL`], and the version table records the upgrade of older
/// releases' tables with the checksum `$5` under the name `$4` (so a database an
/// earlier version of these crates adopted as it was gets upgraded too).
const FAST_SQL: &str = "SELECT EXISTS (SELECT 1 FROM lightrag_pg_schema_migrations WHERE name = $1 AND checksum = $2) \
     AND NOT EXISTS (SELECT 1 FROM unnest($3::text[]) r WHERE to_regclass(quote_ident(r)) IS NULL) \
     AND EXISTS (SELECT 1 FROM lightrag_pg_schema_migrations WHERE name = $4 AND checksum = $5)";

/// `CREATE TABLE IF NOT EXISTS` of the version table.
pub(crate) const CREATE_MIGRATIONS_SQL: &str = "CREATE TABLE IF NOT EXISTS lightrag_pg_schema_migrations \
     (name TEXT PRIMARY KEY, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";

/// Records `$1` as applied with checksum `$2`.
pub(crate) const RECORD_SQL: &str = "INSERT INTO lightrag_pg_schema_migrations (name, checksum) VALUES ($1, $2) \
     ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()";

/// Applies `statements` as the schema part `name`, once: skipped when the version
/// table already records the same checksum and every one of `relations` (the
/// tables or indexes the part creates, by exact name) exists, and records the
/// upgrade of older releases' tables ([`crate::upgrade`]) as done.
///
/// # Errors
/// The first failing statement's error; the transaction rolls back, so a part is
/// applied wholly or not at all.
pub async fn ensure(pool: &PgPool, name: &str, relations: &[&str], statements: &[String]) -> Result<(), Error> {
    let sum = checksum(statements);
    let conn = pool.get().await?;
    // Fast path without the lock. The existence check comes first so that an
    // empty database logs no "relation does not exist" error on the server.
    let table_exists: bool =
        conn.query_one("SELECT to_regclass($1) IS NOT NULL", &[&MIGRATIONS_TABLE]).await.map_err(db_error)?.get(0);
    if table_exists {
        let (upgrade, upgrade_sum) = (crate::upgrade::RECORD, crate::upgrade::checksum());
        let applied: bool = conn
            .query_one(FAST_SQL, &[&name, &sum, &relations, &upgrade, &upgrade_sum])
            .await
            .map_err(db_error)?
            .get(0);
        if applied {
            tracing::debug!(part = name, "schema already applied");
            return Ok(());
        }
    }
    // Tables an older LightRAG release created get 1.5.7's columns first (the
    // part's indexes may need them). The upgrade takes connections of its own.
    drop(conn);
    crate::upgrade::apply_once(pool).await?;
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await.map_err(db_error)?;
    tx.batch_execute(LOCK_SQL).await.map_err(db_error)?;
    tx.batch_execute(CREATE_MIGRATIONS_SQL).await.map_err(db_error)?;
    let done: bool = tx.query_one(APPLIED_SQL, &[&name, &sum, &relations]).await.map_err(db_error)?.get(0);
    if !done {
        for stmt in statements {
            tx.batch_execute(stmt).await.map_err(|e| {
                let err = db_error(e);
                tracing::error!(part = name, statement = %stmt, error = %err, "schema statement failed");
                err
            })?;
        }
        tx.execute(RECORD_SQL, &[&name, &sum]).await.map_err(db_error)?;
        tracing::info!(part = name, "schema applied");
    }
    tx.commit().await.map_err(db_error)?;
    Ok(())
}

/// Forgets the record of a part, so the next [`ensure`] re-applies it (after an
/// index was dropped on purpose, for example).
///
/// # Errors
/// Connection or database errors.
pub async fn forget(pool: &PgPool, name: &str) -> Result<(), Error> {
    let conn = pool.get().await?;
    let exists: bool = conn
        .query_one("SELECT to_regclass('lightrag_pg_schema_migrations') IS NOT NULL", &[])
        .await
        .map_err(db_error)?
        .get(0);
    if exists {
        conn.execute("DELETE FROM lightrag_pg_schema_migrations WHERE name = $1", &[&name]).await.map_err(db_error)?;
    }
    Ok(())
}

/// Makes sure an extension is installed: present already, or created now.
///
/// # Errors
/// [`Error::Config`] naming the extension and how to get it, when it is neither
/// installed nor creatable by this role.
pub async fn ensure_extension(pool: &PgPool, extension: &str) -> Result<(), Error> {
    let conn = pool.get().await?;
    let installed = conn
        .query_opt("SELECT extversion FROM pg_extension WHERE extname = $1", &[&extension])
        .await
        .map_err(db_error)?;
    if installed.is_some() {
        return Ok(());
    }
    let ident = crate::ident::quote_ident(extension)?;
    let mut conn = conn;
    let tx = conn.transaction().await.map_err(db_error)?;
    tx.batch_execute(LOCK_SQL).await.map_err(db_error)?;
    match tx.batch_execute(&format!("CREATE EXTENSION IF NOT EXISTS {ident} CASCADE")).await {
        Ok(()) => {
            tx.commit().await.map_err(db_error)?;
            Ok(())
        }
        Err(e) => {
            let cause = db_error(e);
            Err(Error::config(
                format!("extension {extension}"),
                format!(
                    "not installed, and this role cannot create it ({cause}). Ask an administrator to run \
                     `CREATE EXTENSION {extension};` in database '{}', or install the package \
                     (Debian: postgresql-17-{}). `cargo xtask pg up` gives a server that has it.",
                    pool.config().database,
                    if extension == "vector" { "pgvector" } else { extension }
                ),
            ))
        }
    }
}
