//! `lightrag-pg stats`: counts per workspace and store, table and index sizes,
//! write activity, connections, and top statements (the monitoring queries of the
//! integration guide).

use lightrag_pg::Result;
use lightrag_pg_pool::{PgConn, db_error, ident::quote_ident};
use serde_json::{Value, json};

use crate::context::Context;
use crate::output;
use crate::output::outln;

/// The LightRAG tables with a `workspace` column in the current schema.
pub(crate) async fn workspace_tables(conn: &PgConn) -> Result<Vec<String>> {
    let rows = conn
        .query(
            "SELECT c.table_name::text FROM information_schema.columns c \
             WHERE c.column_name = 'workspace' AND c.table_schema = current_schema() \
             AND c.table_name LIKE 'lightrag\\_%' ORDER BY 1",
            &[],
        )
        .await
        .map_err(db_error)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

async fn rows_json(conn: &PgConn, sql: &str) -> Result<Vec<Value>> {
    let rows = conn.query(&format!("SELECT to_jsonb(t)::text FROM ({sql}) t"), &[]).await.map_err(db_error)?;
    Ok(rows.iter().filter_map(|r| serde_json::from_str(r.get::<_, &str>(0)).ok()).collect())
}

pub(crate) async fn run(ctx: &Context, json_out: bool) -> Result<()> {
    let pool = ctx.pool().await?;
    let conn = pool.get().await?;
    let mut counts = Vec::new();
    for table in workspace_tables(&conn).await? {
        let q = quote_ident(&table)?;
        for r in rows_json(
            &conn,
            &format!("SELECT workspace, count(*) AS rows FROM {q} GROUP BY workspace ORDER BY workspace"),
        )
        .await?
        {
            counts.push(json!({ "table": table, "workspace": r["workspace"], "rows": r["rows"] }));
        }
    }
    let tables = rows_json(
        &conn,
        "SELECT relname AS table, pg_total_relation_size(relid) AS total_bytes, pg_relation_size(relid) AS table_bytes, \
         n_tup_ins AS inserts, n_tup_upd AS updates, n_tup_del AS deletes, n_live_tup AS live_tuples, \
         n_dead_tup AS dead_tuples FROM pg_stat_user_tables WHERE relname LIKE 'lightrag%' ORDER BY relname",
    )
    .await?;
    let indexes = rows_json(
        &conn,
        "SELECT s.relname AS table, s.indexrelname AS index, am.amname AS method, \
         pg_relation_size(s.indexrelid) AS bytes, s.idx_scan AS scans \
         FROM pg_stat_user_indexes s JOIN pg_class c ON c.oid = s.indexrelid JOIN pg_am am ON am.oid = c.relam \
         WHERE s.relname LIKE 'lightrag%' ORDER BY s.relname, s.indexrelname",
    )
    .await?;
    let connections = rows_json(
        &conn,
        "SELECT coalesce(state, 'unknown') AS state, count(*) AS connections FROM pg_stat_activity \
         WHERE datname = current_database() GROUP BY 1 ORDER BY 1",
    )
    .await?;
    let age_labels = rows_json(
        &conn,
        "SELECT n.nspname AS graph, c.relname AS label, pg_total_relation_size(c.oid) AS bytes, \
         c.reltuples::bigint AS estimated_rows FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND n.nspname IN (SELECT nspname::text FROM pg_namespace \
           WHERE to_regclass('ag_catalog.ag_graph') IS NOT NULL) \
         AND EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid) \
         AND c.relname IN ('base', 'DIRECTED') ORDER BY 1, 2",
    )
    .await
    .unwrap_or_default();
    let statements = if conn
        .query_opt("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'", &[])
        .await
        .map_err(db_error)?
        .is_some()
    {
        rows_json(
            &conn,
            "SELECT left(query, 200) AS query, calls, round(total_exec_time::numeric, 2) AS total_ms, \
             round(mean_exec_time::numeric, 3) AS mean_ms, rows FROM pg_stat_statements \
             WHERE query ILIKE '%lightrag%' ORDER BY total_exec_time DESC LIMIT 10",
        )
        .await
        .unwrap_or_default()
    } else {
        Vec::new()
    };
    let report = json!({
        "counts": counts, "tables": tables, "indexes": indexes, "connections": connections,
        "age_labels": age_labels, "top_statements": statements,
    });
    if json_out {
        return output::json(&report);
    }
    outln!("rows per workspace:");
    for c in &counts {
        outln!(
            "  {:<45} {:<30} {}",
            c["table"].as_str().unwrap_or(""),
            c["workspace"].as_str().unwrap_or(""),
            c["rows"]
        );
    }
    outln!("tables:");
    for t in &tables {
        outln!("  {:<45} {:>12} bytes  dead {}", t["table"].as_str().unwrap_or(""), t["total_bytes"], t["dead_tuples"]);
    }
    outln!("indexes: {}   connections: {}", indexes.len(), connections.len());
    if statements.is_empty() {
        outln!("top statements: (pg_stat_statements not installed in this database)");
    } else {
        outln!("top statements:");
        for s in &statements {
            outln!("  {:>10} ms  {}", s["total_ms"], s["query"].as_str().unwrap_or("").replace('\n', " "));
        }
    }
    Ok(())
}
