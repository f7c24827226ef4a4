//! The Rust half of `cargo xtask bench --vs-python`: the workload (generated
//! deterministically and written to files that the Python half reads), the
//! shared read sets, our timings and the server's floor.
//!
//! Every operation has a name shared with `interop/bench_python.py`
//! (`kv.upsert`, `vector.query_16`, `graph_age.get_knowledge_graph`, …). A
//! write runs against a fresh workspace per run; a read runs against a shared
//! read set loaded once by [`ours::prepare`].

pub mod data;
pub mod floor;
pub mod ours;
pub mod report;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

use lightrag_pg::{Result, Workspace};
use lightrag_pg_pool::{PgPool, db_error, ident::quote_ident};
use serde::{Deserialize, Serialize};

pub use data::{BenchData, Sizes};

/// The embedding dimension of every benchmark vector.
pub const DIM: usize = 1024;
/// Model name of the shared query set's vector table.
pub const QUERY_MODEL: &str = "bvp";
/// Model name of the vector tables the upsert runs write (dropped before each run).
pub const UPSERT_MODEL: &str = "bvpw";
/// The workspace of the KV read set.
pub const WS_KV_READ: &str = "bvp_kv_read";
/// The workspace of the vector query set.
pub const WS_QUERY: &str = "bvp_query";
/// The workspace of the doc-status read set.
pub const WS_DOCS: &str = "bvp_docs";
/// The workspace of a graph read set (`age` or `table`).
pub fn ws_graph(engine: &str) -> String {
    format!("bvp_graph_{engine}")
}
/// A fresh workspace for one write run: `who` is `rs`, `py` or `fl`.
pub fn ws_write(who: &str, op: &str, run: usize) -> String {
    format!("bvp_w_{who}_{}_{run}", op.replace('.', "_"))
}

/// How many of the first queries of `vector.query_1` each side reports the
/// hits of, for the recall column (top-k against exact search).
pub const RECALL_QUERIES: usize = 20;

/// The timings of one operation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpResult {
    /// Milliseconds, one per run.
    pub runs_ms: Vec<f64>,
    /// Their median.
    pub median_ms: f64,
    /// How it was measured, when that needs saying.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// For a vector query: the ids returned for the first [`RECALL_QUERIES`]
    /// queries, in rank order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hits: Vec<Vec<String>>,
}

impl OpResult {
    /// From the runs.
    pub fn new(runs_ms: Vec<f64>, note: impl Into<String>) -> Self {
        Self { median_ms: median(&runs_ms), runs_ms, note: note.into(), hits: Vec::new() }
    }
}

/// Timings by operation name.
pub type Report = BTreeMap<String, OpResult>;

/// The median (mean of the middle two for an even count); NaN when empty.
pub fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 }
}

/// Runs `f` and returns its value and wall time in milliseconds.
///
/// # Errors
/// What `f` returns.
pub async fn timed<T, F: Future<Output = Result<T>>>(f: F) -> Result<(T, f64)> {
    let t = Instant::now();
    let v = f.await?;
    Ok((v, t.elapsed().as_secs_f64() * 1000.0))
}

/// A workspace value.
///
/// # Errors
/// An invalid name.
pub fn ws(name: &str) -> Result<Workspace> {
    Workspace::new(name.to_owned())
}

/// Drops a table if it exists.
///
/// # Errors
/// Connection or database errors.
pub async fn drop_table(pool: &PgPool, table: &str) -> Result<()> {
    let conn = pool.get().await?;
    conn.batch_execute(&format!("DROP TABLE IF EXISTS {}", quote_ident(&table.to_lowercase())?))
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Drops the AGE graph of `ws` if it exists.
///
/// # Errors
/// Connection or database errors.
pub async fn drop_age_graph(pool: &PgPool, ws: &Workspace) -> Result<()> {
    let name = lightrag_pg_graph::names::age_graph_name(ws);
    let conn = pool.get().await?;
    conn.ensure_age().await?;
    conn.execute(
        "SELECT ag_catalog.drop_graph(g.name, true) FROM ag_catalog.ag_graph g WHERE g.name = $1::text::name",
        &[&name],
    )
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Deletes every row of every benchmark workspace (`bvp_%`) from the LightRAG
/// tables, drops their AGE graphs and the benchmark's vector tables.
///
/// # Errors
/// Connection or database errors.
pub async fn cleanup(pool: &PgPool) -> Result<()> {
    let conn = pool.get().await?;
    let tables: Vec<String> = conn
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid \
             WHERE c.relkind = 'r' AND a.attname = 'workspace' AND pg_table_is_visible(c.oid) \
             AND c.relname LIKE 'lightrag\\_%'",
            &[],
        )
        .await
        .map_err(db_error)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for t in &tables {
        let lower = t.to_lowercase();
        if lower.ends_with(&format!("_{QUERY_MODEL}_{DIM}d")) || lower.ends_with(&format!("_{UPSERT_MODEL}_{DIM}d")) {
            conn.batch_execute(&format!("DROP TABLE IF EXISTS {}", quote_ident(t)?)).await.map_err(db_error)?;
        } else {
            conn.execute(&format!("DELETE FROM {} WHERE workspace LIKE 'bvp\\_%'", quote_ident(t)?), &[])
                .await
                .map_err(db_error)?;
        }
    }
    conn.ensure_age().await?;
    conn.batch_execute(
        "SELECT ag_catalog.drop_graph(g.name, true) FROM ag_catalog.ag_graph g WHERE g.name::text LIKE 'bvp\\_%'",
    )
    .await
    .map_err(db_error)?;
    Ok(())
}
