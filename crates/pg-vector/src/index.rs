//! The vector index's lifecycle outside the storage's state: the DDL that makes
//! the planned index exist (dropping LightRAG's other kinds), and a build sized
//! for its data (`maintenance_work_mem`, parallel workers) inside a load's or a
//! conversion's transaction.

use lightrag_pg_core::Result;
use lightrag_pg_pool::db_error;
use lightrag_pg_pool::ddl::{self, VectorColumn, VectorIndex};
use lightrag_pg_pool::ident::{quote_ident, safe_index_name};
use tokio_postgres::Transaction;

use crate::config::IndexPlan;

/// What an index build may use.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BuildBudget {
    /// Upper bound for `maintenance_work_mem`, in MiB.
    pub(crate) max_maintenance_work_mem_mb: u64,
    /// `max_parallel_maintenance_workers`; `None` keeps the server's setting.
    pub(crate) parallel_workers: Option<u32>,
}

/// DDL that makes the planned index exist: LightRAG drops indexes of the other
/// kinds (same metric), converts the column when its type differs, then
/// creates the index.
pub(crate) fn index_statements(plan: &IndexPlan, alter: bool, create: bool) -> Result<Vec<String>> {
    let table = &plan.table;
    let quoted = quote_ident(&table.to_lowercase())?;
    let metric = plan.metric;
    let mut stmts = Vec::new();
    let mut others: Vec<String> = [
        (VectorColumn::Vector, VectorIndex::Hnsw { m: 16, ef_construction: 64 }),
        (VectorColumn::HalfVec, VectorIndex::Hnsw { m: 16, ef_construction: 64 }),
        (VectorColumn::Vector, VectorIndex::IvfFlat { lists: 1 }),
    ]
    .into_iter()
    .filter_map(|(c, i)| ddl::vector_index_name(table, c, i, metric))
    .collect();
    others.push(safe_index_name(table, &format!("vchordrq_{}", metric.as_str())));
    for other in others.into_iter().filter(|o| Some(o) != plan.index_name.as_ref()) {
        stmts.push(format!("DROP INDEX IF EXISTS {}", quote_ident(&other)?));
    }
    if alter {
        let ty = format!("{}({})", plan.column.type_name(), plan.dimension);
        stmts.push(format!("ALTER TABLE {quoted} ALTER COLUMN content_vector TYPE {ty} USING content_vector::{ty}"));
    }
    if create {
        stmts.extend(ddl::vector_index(table, plan.column, plan.index, metric)?);
    }
    Ok(stmts)
}

/// The memory an index build over `rows` vectors needs, in MiB (an estimate with
/// a quarter of headroom): pgvector keeps an HNSW graph in memory while it fits
/// `maintenance_work_mem` (each element: the vector, about `2·m` neighbour
/// slots of 16 bytes on layer 0 and its bookkeeping); IVFFlat samples vectors for
/// k-means. Past the limit pgvector falls back to a much slower on-disk build.
pub fn index_build_memory_mb(rows: u64, dimension: usize, column: VectorColumn, index: VectorIndex) -> u64 {
    let width: u64 = match column {
        VectorColumn::Vector => 4,
        VectorColumn::HalfVec => 2,
    };
    let vector = 8 + width * dimension as u64;
    let per_row = match index {
        VectorIndex::None => return 0,
        VectorIndex::Hnsw { m, .. } => vector + 16 * (2 * u64::from(m) + 2) + 160,
        VectorIndex::IvfFlat { .. } => vector + 16,
    };
    let bytes = rows.saturating_mul(per_row).saturating_mul(5) / 4 + (32 << 20);
    bytes.div_ceil(1 << 20)
}

/// Builds a vector index (`create`) with `maintenance_work_mem` sized for
/// `rows` rows and the parallel workers the server allows. Returns the memory
/// (MiB) and workers used.
pub(crate) async fn build_index_sized(
    tx: &Transaction<'_>,
    plan: &IndexPlan,
    column: VectorColumn,
    table: &str,
    create: &str,
    rows: u64,
    budget: BuildBudget,
) -> Result<(u64, u32)> {
    let row = tx
        .query_one(
            "SELECT pg_size_bytes(current_setting('maintenance_work_mem')), \
             current_setting('max_parallel_maintenance_workers')::int, \
             current_setting('max_parallel_workers')::int",
            &[],
        )
        .await
        .map_err(db_error)?;
    let (current, server_workers, max_workers): (i64, i32, i32) = (row.get(0), row.get(1), row.get(2));
    let current_mb = u64::try_from(current).unwrap_or(0) >> 20;
    let need = index_build_memory_mb(rows, plan.dimension, column, plan.index);
    let mem = need.min(budget.max_maintenance_work_mem_mb.max(1)).max(current_mb);
    let workers = budget
        .parallel_workers
        .unwrap_or(u32::try_from(server_workers).unwrap_or(0))
        .min(u32::try_from(max_workers).unwrap_or(0));
    tx.query_one(
        "SELECT set_config('maintenance_work_mem', $1, true), \
         set_config('max_parallel_maintenance_workers', $2, true)",
        &[&format!("{mem}MB"), &workers.to_string()],
    )
    .await
    .map_err(db_error)?;
    // pgvector stores vectors of more than ~500 dimensions out of line
    // (TOAST), so the heap looks small and PostgreSQL would plan no parallel
    // workers for the build; the table's `parallel_workers` says otherwise,
    // for the build only (unless the table has its own setting).
    let qt = quote_ident(table)?;
    let own: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_class c, unnest(c.reloptions) o \
             WHERE c.oid = to_regclass($1) AND o LIKE 'parallel_workers=%')",
            &[&qt],
        )
        .await
        .map_err(db_error)?
        .get(0);
    let set_workers = workers > 0 && !own;
    if set_workers {
        tx.batch_execute(&format!("ALTER TABLE {qt} SET (parallel_workers = {workers})")).await.map_err(db_error)?;
    }
    tracing::info!(table = %table, rows, maintenance_work_mem_mb = mem, estimate_mb = need,
        parallel_workers = workers, "building the vector index");
    tx.batch_execute(create).await.map_err(db_error)?;
    if set_workers {
        tx.batch_execute(&format!("ALTER TABLE {qt} RESET (parallel_workers)")).await.map_err(db_error)?;
    }
    Ok((mem, workers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_memory_follows_the_data_size() {
        let hnsw = VectorIndex::Hnsw { m: 16, ef_construction: 64 };
        // 100,000 × 768 floats is ~300 MB of vectors; the graph needs more.
        let mb = index_build_memory_mb(100_000, 768, VectorColumn::Vector, hnsw);
        assert!((400..=600).contains(&mb), "{mb}");
        // halfvec halves the vector part.
        let half = index_build_memory_mb(100_000, 768, VectorColumn::HalfVec, hnsw);
        assert!(half < mb && half > mb / 3, "{half} vs {mb}");
        // A small load needs little beyond the fixed headroom.
        assert_eq!(index_build_memory_mb(0, 768, VectorColumn::Vector, hnsw), 32);
        assert_eq!(index_build_memory_mb(1_000_000, 768, VectorColumn::Vector, VectorIndex::None), 0);
        assert!(index_build_memory_mb(100_000, 768, VectorColumn::Vector, VectorIndex::IvfFlat { lists: 100 }) < mb);
    }
}
