//! The monitoring report: rows per workspace and table, table and index sizes,
//! write activity, connections, AGE label tables and top statements (the
//! monitoring queries of the integration guide).

use lightrag_pg_core::Result;
use lightrag_pg_pool::tokio_postgres::GenericClient;
use lightrag_pg_pool::workspace::{self, Partitions};
use lightrag_pg_pool::{PgPool, db_error};
use serde_json::{Value, json};

/// Sizes and write activity of LightRAG's tables.
const TABLES_SQL: &str = "SELECT relname AS table, pg_total_relation_size(relid) AS total_bytes, \
     pg_relation_size(relid) AS table_bytes, n_tup_ins AS inserts, n_tup_upd AS updates, n_tup_del AS deletes, \
     n_live_tup AS live_tuples, n_dead_tup AS dead_tuples FROM pg_stat_user_tables \
     WHERE relname LIKE 'lightrag%' ORDER BY relname";

/// Sizes, methods and use of LightRAG's indexes.
const INDEXES_SQL: &str = "SELECT s.relname AS table, s.indexrelname AS index, am.amname AS method, \
     pg_relation_size(s.indexrelid) AS bytes, s.idx_scan AS scans \
     FROM pg_stat_user_indexes s JOIN pg_class c ON c.oid = s.indexrelid JOIN pg_am am ON am.oid = c.relam \
     WHERE s.relname LIKE 'lightrag%' ORDER BY s.relname, s.indexrelname";

/// Connections to this database by state.
const CONNECTIONS_SQL: &str = "SELECT coalesce(state, 'unknown') AS state, count(*) AS connections \
     FROM pg_stat_activity WHERE datname = current_database() GROUP BY 1 ORDER BY 1";

/// AGE's label tables of LightRAG's labels, with sizes and estimated rows.
const AGE_LABELS_SQL: &str = "SELECT n.nspname AS graph, c.relname AS label, pg_total_relation_size(c.oid) AS bytes, \
     c.reltuples::bigint AS estimated_rows FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind = 'r' AND n.nspname IN (SELECT nspname::text FROM pg_namespace \
       WHERE to_regclass('ag_catalog.ag_graph') IS NOT NULL) \
     AND EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) \
     AND c.relname IN ('base', 'DIRECTED') ORDER BY 1, 2";

/// The ten costliest statements on LightRAG's tables (`pg_stat_statements`).
const STATEMENTS_SQL: &str = "SELECT left(query, 200) AS query, calls, round(total_exec_time::numeric, 2) AS total_ms, \
     round(mean_exec_time::numeric, 3) AS mean_ms, rows FROM pg_stat_statements \
     WHERE query ILIKE '%lightrag%' ORDER BY total_exec_time DESC LIMIT 10";

/// The rows of `sql`, each as a JSON object keyed by column.
async fn rows_json(client: &impl GenericClient, sql: &str) -> Result<Vec<Value>> {
    let rows = client.query(&format!("SELECT to_jsonb(t)::text FROM ({sql}) t"), &[]).await.map_err(db_error)?;
    Ok(rows.iter().filter_map(|r| serde_json::from_str(r.get::<_, &str>(0)).ok()).collect())
}

/// The monitoring report, as JSON: `{"counts": [{"table", "workspace",
/// "rows"}], "tables": [{"table", "total_bytes", "table_bytes", "inserts",
/// "updates", "deletes", "live_tuples", "dead_tuples"}], "indexes": [{"table",
/// "index", "method", "bytes", "scans"}], "connections": [{"state",
/// "connections"}], "age_labels": [{"graph", "label", "bytes",
/// "estimated_rows"}], "top_statements": [{"query", "calls", "total_ms",
/// "mean_ms", "rows"}]}`. AGE labels and top statements are empty where AGE or
/// `pg_stat_statements` is missing or unreadable.
///
/// # Errors
/// Connection or database errors.
pub async fn stats(pool: &PgPool) -> Result<Value> {
    let conn = pool.get().await?;
    let mut counts = Vec::new();
    for table in workspace::tables(&*conn, Partitions::Include).await? {
        for (ws, rows) in workspace::row_counts(&*conn, &table).await? {
            counts.push(json!({ "table": table, "workspace": ws, "rows": rows }));
        }
    }
    let tables = rows_json(&*conn, TABLES_SQL).await?;
    let indexes = rows_json(&*conn, INDEXES_SQL).await?;
    let connections = rows_json(&*conn, CONNECTIONS_SQL).await?;
    let age_labels = rows_json(&*conn, AGE_LABELS_SQL).await.unwrap_or_default();
    let installed = conn
        .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'", &[])
        .await
        .map_err(db_error)?
        .is_some();
    let statements = if installed { rows_json(&*conn, STATEMENTS_SQL).await.unwrap_or_default() } else { Vec::new() };
    Ok(json!({
        "counts": counts, "tables": tables, "indexes": indexes, "connections": connections,
        "age_labels": age_labels, "top_statements": statements,
    }))
}
