//! In-place upgrade of databases that older Python LightRAG releases (1.2 – 1.4)
//! created, to the columns, keys and indexes of LightRAG 1.5.7 (spec §3.7).
//!
//! [`plan`] compares each LightRAG table with the columns [`ddl`] gives it: the
//! server builds a temporary table from the same DDL and prints every type and
//! default, so nothing here parses or spells types. It returns the [`Step`]s
//! that would run, and writes nothing. [`apply`] runs them, each in its own
//! transaction under the schema advisory lock (the one of [`crate::schema`]),
//! re-planned inside that transaction so that concurrent start-ups apply each
//! step once: a step is applied wholly or not at all.
//!
//! The steps, in order:
//!
//! - `columns:<table>`: columns added (with 1.5.7's types and defaults),
//!   `VARCHAR(n)` widened (`entity_name` 255 → 512, `file_path` → `TEXT`, …),
//!   `TIMESTAMPTZ` turned into `TIMESTAMP` (read as UTC, where 1.5.7 uses the
//!   session's time zone), missing `DEFAULT CURRENT_TIMESTAMP`s set. Adding the
//!   LLM cache's `cache_type` back-fills it as 1.5.7 does. Columns 1.5.7 no
//!   longer declares are kept (doc status's `content`, `doc_chunks`'
//!   `content_vector`, the vector tables' `chunk_id`), as 1.5.7 keeps them; a
//!   timestamp's precision is left as it is (changing it rewrites the table).
//! - `llm_cache:drop_mode`: keys without a `:` become `mode:extract|unknown:
//!   md5(prompt)`, then `mode` is dropped and the key is `(workspace, id)`.
//! - `doc_chunks:vectors_to_vdb_chunks`: chunk vectors that releases before 1.4
//!   kept in `lightrag_doc_chunks` are copied into the legacy
//!   `lightrag_vdb_chunks` (created if missing; 1.5.7 copies only when it
//!   exists). The vector storage then moves each workspace's rows from the
//!   legacy tables into its model-suffixed table when it starts (spec §7.2).
//! - `doc_status:scheduling_index`: the `ws_status_created_nf_id` index is
//!   created and the index it supersedes dropped.
//!
//! Tables, indexes and key-value tables that are missing altogether are not
//! steps here: each storage creates them (`CREATE … IF NOT EXISTS`).
//! [`crate::schema::ensure`] runs [`apply`] once per process and database before
//! it applies a part for the first time, and takes its fast path only when the
//! version table records [`RECORD`] with the current [`checksum`].

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use lightrag_pg_core::{Error, KvNamespace, VectorNamespace};
use serde::Serialize;
use tokio_postgres::Transaction;

use crate::ddl::{self, LegacyTable};
use crate::ident::quote_ident;
use crate::schema::{CREATE_MIGRATIONS_SQL, LOCK_SQL, RECORD_SQL};
use crate::{PgPool, db_error};

/// The version table's record of a completed upgrade (its checksum is
/// [`checksum`]).
pub const RECORD: &str = "upgrade:lightrag-1.5.7";

/// The checksum of the upgrade's target: md5 of the column templates and the
/// data steps' statements, so a change in [`ddl`] runs the upgrade again.
pub fn checksum() -> String {
    let mut parts: Vec<String> =
        LegacyTable::ALL.iter().filter_map(|t| ddl::legacy_column_template(*t, "t").ok()).collect();
    parts.extend(ddl::llm_cache_drop_mode());
    parts.push(ddl::DOC_CHUNKS_TO_VDB_CHUNKS.to_owned());
    parts.extend(ddl::doc_status_replace_scheduling_index());
    lightrag_pg_core::ids::md5_hex(&parts.join(";\n"))
}

/// One upgrade step: what it changes and the statements it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// A stable name: `columns:lightrag_doc_status`, `llm_cache:drop_mode`, ….
    pub name: String,
    /// What the step changes, for people.
    pub description: String,
    /// The SQL it runs, in order, in one transaction.
    pub statements: Vec<String>,
}

/// A column as the catalog describes it.
#[derive(Debug)]
struct Column {
    name: String,
    /// `format_type`: `character varying(255)`, `timestamp(0) without time zone`, ….
    ty: String,
    /// `pg_type.typname`: `varchar`, `timestamptz`, ….
    base: String,
    /// The `VARCHAR` length, when there is one.
    length: Option<i32>,
    not_null: bool,
    default: Option<String>,
}

const COLUMNS_SQL: &str = "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typname::text, \
     CASE WHEN t.typname IN ('varchar', 'bpchar') AND a.atttypmod > 4 THEN a.atttypmod - 4 END, a.attnotnull, \
     pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
     WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";

async fn columns(tx: &Transaction<'_>, quoted: &str) -> Result<Vec<Column>, Error> {
    let rows = tx.query(COLUMNS_SQL, &[&quoted]).await.map_err(db_error)?;
    Ok(rows
        .iter()
        .map(|r| Column {
            name: r.get(0),
            ty: r.get(1),
            base: r.get(2),
            length: r.get(3),
            not_null: r.get(4),
            default: r.get(5),
        })
        .collect())
}

async fn exists(tx: &Transaction<'_>, name: &str) -> Result<bool, Error> {
    let row = tx.query_one("SELECT to_regclass($1) IS NOT NULL", &[&quote_ident(name)?]).await.map_err(db_error)?;
    Ok(row.get(0))
}

async fn any_row(tx: &Transaction<'_>, sql: &str) -> Result<bool, Error> {
    Ok(tx.query_one(&format!("SELECT EXISTS ({sql})"), &[]).await.map_err(db_error)?.get(0))
}

/// How an existing column becomes the 1.5.7 one, if it needs to and safely can:
/// the statement and a few words for the description.
fn convert(table: &str, have: &Column, want: &Column) -> Result<Option<(String, String)>, Error> {
    let widen = match (have.base.as_str(), want.base.as_str()) {
        ("timestamptz", "timestamp") => Some(format!("{} AT TIME ZONE 'UTC'", quote_ident(&have.name)?)),
        ("varchar", "text") => None,
        ("varchar", "varchar") if want.length > have.length && have.length.is_some() => None,
        _ => {
            if have.base != want.base {
                tracing::warn!(table, column = %have.name, have = %have.ty, want = %want.ty,
                    "column type differs from LightRAG 1.5.7's; left as it is");
            }
            return Ok(None);
        }
    };
    let what = format!("{} {} -> {}", have.name, have.ty, want.ty);
    Ok(Some((ddl::alter_column_type(table, &have.name, &want.ty, widen.as_deref())?, what)))
}

/// The `columns:<table>` step of one existing table, if it needs one.
async fn column_step(tx: &Transaction<'_>, table: LegacyTable) -> Result<Option<(Step, Vec<Column>)>, Error> {
    let name = table.name();
    let quoted = quote_ident(&name)?;
    let have = columns(tx, &quoted).await?;
    // The template lives in a savepoint rolled back at once: no DROP (AGE 1.5,
    // when preloaded, fails every DROP in a database without its extension).
    let template = format!("lightrag_upgrade_{name}");
    tx.batch_execute("SAVEPOINT lightrag_upgrade_template").await.map_err(db_error)?;
    tx.batch_execute(&ddl::legacy_column_template(table, &template)?).await.map_err(db_error)?;
    let want = columns(tx, &quote_ident(&template)?).await?;
    tx.batch_execute("ROLLBACK TO SAVEPOINT lightrag_upgrade_template").await.map_err(db_error)?;
    let (mut statements, mut changes) = (Vec::new(), Vec::new());
    for w in want.iter().filter(|w| w.name != "content_vector") {
        match have.iter().find(|h| h.name == w.name) {
            None => {
                statements.push(ddl::add_column(&name, &w.name, &w.ty, w.default.as_deref(), w.not_null)?);
                changes.push(format!("add {} {}", w.name, w.ty));
                if table == LegacyTable::Kv(KvNamespace::LlmResponseCache) && w.name == "cache_type" {
                    statements.push(ddl::LLM_CACHE_TYPE_BACKFILL.to_owned());
                    changes.push("back-fill cache_type from the keys".to_owned());
                }
            }
            Some(h) => {
                if let Some((sql, what)) = convert(&name, h, w)? {
                    statements.push(sql);
                    changes.push(what);
                }
                if let Some(d) = w.default.as_deref().filter(|d| h.default.as_deref() != Some(*d)) {
                    statements.push(ddl::set_column_default(&name, &w.name, d)?);
                    changes.push(format!("{} DEFAULT {d}", w.name));
                }
            }
        }
    }
    let step = (!statements.is_empty()).then(|| Step {
        name: format!("columns:{name}"),
        description: format!("{name}: {}", changes.join("; ")),
        statements,
    });
    Ok(step.map(|s| (s, have)))
}

/// The steps that would bring the database to 1.5.7's shape, computed inside
/// `tx` (which it leaves unchanged: its temporary tables are rolled back).
async fn plan_in(tx: &Transaction<'_>) -> Result<Vec<Step>, Error> {
    let mut steps = Vec::new();
    let mut llm_cache_has_mode = false;
    let mut chunk_vectors = false;
    for table in LegacyTable::ALL {
        let name = table.name();
        if !exists(tx, &name).await? {
            continue;
        }
        let quoted = quote_ident(&name)?;
        let cols = match column_step(tx, table).await? {
            Some((step, cols)) => {
                steps.push(step);
                cols
            }
            None => columns(tx, &quoted).await?,
        };
        let has = |c: &str| cols.iter().any(|x| x.name == c);
        match table {
            LegacyTable::Kv(KvNamespace::LlmResponseCache) => llm_cache_has_mode = has("mode"),
            LegacyTable::Kv(KvNamespace::TextChunks) if has("content_vector") => {
                chunk_vectors =
                    any_row(tx, "SELECT 1 FROM lightrag_doc_chunks WHERE content_vector IS NOT NULL").await?;
            }
            _ => {}
        }
    }
    if llm_cache_has_mode {
        steps.push(Step {
            name: "llm_cache:drop_mode".to_owned(),
            description: "lightrag_llm_cache: flatten keys without ':' to mode:extract|unknown:md5(prompt), drop \
                          the mode column, key (workspace, id)"
                .to_owned(),
            statements: ddl::llm_cache_drop_mode(),
        });
    }
    let vdb_chunks = LegacyTable::Vector(VectorNamespace::Chunks).name();
    if chunk_vectors && !(exists(tx, &vdb_chunks).await? && any_row(tx, "SELECT 1 FROM lightrag_vdb_chunks").await?) {
        let mut statements = ddl::legacy_vector_table(VectorNamespace::Chunks)?;
        statements.push(ddl::DOC_CHUNKS_TO_VDB_CHUNKS.to_owned());
        steps.push(Step {
            name: "doc_chunks:vectors_to_vdb_chunks".to_owned(),
            description: "copy the chunk vectors of lightrag_doc_chunks into the legacy lightrag_vdb_chunks, from \
                          which each workspace's vector storage moves them into its model-suffixed table"
                .to_owned(),
            statements,
        });
    }
    if exists(tx, ddl::SUPERSEDED_DOC_STATUS_INDEX).await? {
        steps.push(Step {
            name: "doc_status:scheduling_index".to_owned(),
            description: format!(
                "lightrag_doc_status: create idx_lightrag_doc_status_ws_status_created_nf_id, drop {}",
                ddl::SUPERSEDED_DOC_STATUS_INDEX
            ),
            statements: ddl::doc_status_replace_scheduling_index(),
        });
    }
    Ok(steps)
}

/// The upgrade steps the database needs (none for a database LightRAG 1.5.7 or
/// these crates created). Writes nothing.
///
/// # Errors
/// Connection or database errors.
pub async fn plan(pool: &PgPool) -> Result<Vec<Step>, Error> {
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await.map_err(db_error)?;
    let steps = plan_in(&tx).await?;
    // Committed, not rolled back: it changed nothing, and the server's
    // statistics count no failed transaction.
    tx.commit().await.map_err(db_error)?;
    Ok(steps)
}

/// Runs the steps of [`plan`], each in its own transaction under the schema
/// advisory lock, re-planned there (a step another process applied meanwhile is
/// skipped), then records [`RECORD`] in the version table. Returns the steps
/// applied.
///
/// # Errors
/// The failing statement's error; its step is rolled back, the steps before it
/// stay applied.
pub async fn apply(pool: &PgPool) -> Result<Vec<Step>, Error> {
    let mut applied = Vec::new();
    for planned in plan(pool).await? {
        let mut conn = pool.get().await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        tx.batch_execute(LOCK_SQL).await.map_err(db_error)?;
        let Some(step) = plan_in(&tx).await?.into_iter().find(|s| s.name == planned.name) else {
            tx.commit().await.map_err(db_error)?;
            continue;
        };
        for stmt in &step.statements {
            tx.batch_execute(stmt).await.map_err(|e| {
                let err = db_error(e);
                tracing::error!(step = %step.name, statement = %stmt, error = %err, "upgrade step failed");
                err
            })?;
        }
        tx.commit().await.map_err(db_error)?;
        tracing::info!(step = %step.name, "{}", step.description);
        applied.push(step);
    }
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await.map_err(db_error)?;
    tx.batch_execute(LOCK_SQL).await.map_err(db_error)?;
    tx.batch_execute(CREATE_MIGRATIONS_SQL).await.map_err(db_error)?;
    tx.execute(RECORD_SQL, &[&RECORD, &checksum()]).await.map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(applied)
}

/// [`apply`], once per process for each database (host list and name).
///
/// # Errors
/// As [`apply`]; a failed upgrade is tried again by the next call.
pub(crate) async fn apply_once(pool: &PgPool) -> Result<(), Error> {
    static DONE: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let done = DONE.get_or_init(Default::default);
    let key = format!("{:?}/{}", pool.config().hosts, pool.config().database);
    if done.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(&key) {
        return Ok(());
    }
    apply(pool).await?;
    done.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key);
    Ok(())
}
