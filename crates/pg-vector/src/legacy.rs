//! LightRAG's legacy-table migration (spec §7.2): a workspace's rows in the
//! un-suffixed table of the namespace (`LIGHTRAG_VDB_CHUNKS`, from before tables
//! were named after the model and dimension) are copied into the storage's table
//! once, at initialisation.

use lightrag_pg_core::{Error, Result, VectorNamespace};
use lightrag_pg_pool::db_error;
use lightrag_pg_pool::ddl::VectorColumn;
use lightrag_pg_pool::ident::quote_ident;
use tokio_postgres::GenericClient;

use crate::catalog::relation_exists;
use crate::columns;
use crate::config::IndexPlan;

/// LightRAG's legacy-table migration (spec §7.2), set-based: when the
/// un-suffixed table has rows for this workspace and ours has none, copy them
/// in one statement after checking their dimension. The legacy table is kept
/// (LightRAG drops it when it is completely empty; we never drop tables).
pub(crate) async fn migrate(
    conn: &impl GenericClient,
    ns: VectorNamespace,
    plan: &IndexPlan,
    ws: &str,
    column: VectorColumn,
) -> Result<Option<String>> {
    let table = plan.table.to_lowercase();
    let quoted = quote_ident(&table)?;
    let legacy = ns.base_table().to_lowercase();
    if legacy == table {
        return Ok(None);
    }
    let legacy_q = quote_ident(&legacy)?;
    if !relation_exists(conn, &legacy).await? {
        return Ok(None);
    }
    let sample = conn
        .query_opt(&format!("SELECT vector_dims(content_vector) FROM {legacy_q} WHERE workspace = $1 LIMIT 1"), &[&ws])
        .await
        .map_err(db_error)?;
    let Some(sample) = sample else {
        return Ok(Some(legacy_q));
    };
    let mine = conn
        .query_opt(&format!("SELECT 1 FROM {quoted} WHERE workspace = $1 LIMIT 1"), &[&ws])
        .await
        .map_err(db_error)?;
    if mine.is_some() {
        return Ok(Some(legacy_q));
    }
    let dims: Option<i32> = sample.get(0);
    if dims.and_then(|d| usize::try_from(d).ok()) != Some(plan.dimension) {
        return Err(Error::Conflict {
            what: format!(
                "legacy table {legacy} holds {}-dimension vectors for workspace {ws:?}, but {} expects {}; \
                 migrate or delete them by hand",
                dims.unwrap_or(0),
                table,
                plan.dimension
            ),
            source: None,
        });
    }
    let list = format!("workspace, id, {}, create_time, update_time", columns::names(ns));
    let cast = format!("{}({})", column.type_name(), plan.dimension);
    let sql = format!(
        "INSERT INTO {quoted} ({list}, content_vector) SELECT {list}, content_vector::{cast} FROM {legacy_q} \
         WHERE workspace = $1 ON CONFLICT (workspace, id) DO NOTHING"
    );
    let moved = conn.execute(&sql, &[&ws]).await.map_err(db_error)?;
    tracing::warn!(from = %legacy, to = %table, workspace = %ws, rows = moved,
        "copied this workspace's vectors from LightRAG's legacy table (kept; delete it by hand when done)");
    Ok(Some(legacy_q))
}
