//! Vector tables seen from outside a storage, for tools that work on whole
//! workspaces (`lightrag_pg::admin`, the CLI): which namespace, dimension and
//! model a table in the database belongs to, finding a namespace's table, and
//! removing a workspace's rows in either layout (the partitioned layout's
//! per-workspace partition dropped, as `drop_all` does).

use lightrag_pg_core::{Error, Result, VectorNamespace};
use lightrag_pg_pool::{db_error, ddl, workspace};
use tokio_postgres::GenericClient;

use crate::bulk::BulkLoadOptions;
use crate::partition::{drop_locked_partition, is_partitioned, lock_partition};

/// A vector table found in the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorTable {
    /// Its name, lower case (as PostgreSQL stores it).
    pub table: String,
    /// The namespace it stores.
    pub namespace: VectorNamespace,
    /// The dimension of its `content_vector` column.
    pub dimension: usize,
    /// The model name that reproduces its suffix (`None` for LightRAG's
    /// un-suffixed table).
    pub model_name: Option<String>,
}

impl VectorTable {
    /// The table `name` (lower case) with a vector column of `dimension`, when
    /// its name is one LightRAG gives a vector table: a namespace's base table,
    /// or the base table with a model suffix that reproduces `name`.
    pub fn identify(name: &str, dimension: usize) -> Option<Self> {
        let (namespace, model_name) = VectorNamespace::ALL.into_iter().find_map(|ns| {
            let base = ns.base_table().to_lowercase();
            if name == base {
                return Some((ns, None));
            }
            let rest = name.strip_prefix(&base)?.strip_prefix('_')?;
            let model = rest.strip_suffix(&format!("_{dimension}d")).unwrap_or(rest).to_owned();
            let expect = ddl::vector_table_name(ns, Some(&model), dimension).ok()?;
            (expect.to_lowercase() == name).then_some((ns, Some(model)))
        })?;
        Some(Self { table: name.to_owned(), namespace, dimension, model_name })
    }
}

/// The dimension of `table`'s `content_vector` column, or `None` without one.
const DIMENSION_SQL: &str = "SELECT a.atttypmod FROM pg_catalog.pg_attribute a \
     WHERE a.attrelid = to_regclass($1) AND a.attname = 'content_vector' AND NOT a.attisdropped";

/// The tables (not partitions) in the search path whose name starts with a
/// base name and that have a `content_vector` column, with its dimension.
const CANDIDATES_SQL: &str = "SELECT c.relname::text, a.atttypmod FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid \
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attname = 'content_vector' \
     AND NOT a.attisdropped AND pg_table_is_visible(c.oid) \
     AND (c.relname = $1 OR c.relname LIKE $1 || '\\_%') ORDER BY c.relname";

/// Table `table` (any case) as a vector table: `None` when it has no vector
/// column or a name LightRAG does not give vector tables.
///
/// # Errors
/// Connection or database errors.
pub async fn describe(client: &impl GenericClient, table: &str) -> Result<Option<VectorTable>> {
    let name = table.to_lowercase();
    let row = client.query_opt(DIMENSION_SQL, &[&lightrag_pg_pool::ident::quote_ident(&name)?]).await;
    Ok(row.map_err(db_error)?.and_then(|r| VectorTable::identify(&name, dimension(r.get(0)))))
}

/// `atttypmod` of a `vector(n)`/`halfvec(n)` column is `n` (`-1` without one).
fn dimension(typmod: i32) -> usize {
    usize::try_from(typmod).unwrap_or(0)
}

/// The vector table of `ns` (with `model`'s suffix when given). When several
/// tables match, only those holding rows of `workspace` count.
///
/// # Errors
/// [`Error::NotFound`] when none matches; [`Error::InvalidInput`] naming the
/// namespace when several do (pass a model name); connection or database
/// errors.
pub async fn find(
    client: &impl GenericClient,
    ns: VectorNamespace,
    model: Option<&str>,
    workspace: &str,
) -> Result<VectorTable> {
    let base = ns.base_table().to_lowercase();
    let rows = client.query(CANDIDATES_SQL, &[&base]).await.map_err(db_error)?;
    let wanted = |t: &VectorTable| match model {
        Some(m) => ddl::vector_table_name(ns, Some(m), t.dimension).is_ok_and(|n| n.to_lowercase() == t.table),
        None => true,
    };
    let mut found: Vec<VectorTable> = rows
        .iter()
        .filter_map(|r| VectorTable::identify(r.get(0), dimension(r.get(1))))
        .filter(|t| t.namespace == ns && wanted(t))
        .collect();
    if found.len() > 1 {
        let mut with_rows = Vec::new();
        for t in found {
            if workspace::has_rows(client, &t.table, workspace).await? {
                with_rows.push(t);
            }
        }
        found = with_rows;
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::NotFound { what: format!("a vector table for '{ns}' (looked for {base}*)") }),
        _ => Err(Error::invalid(
            ns.as_str(),
            format!(
                "several vector tables match ({}); pass --model-name",
                found.iter().map(|t| t.table.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// Inside transaction `tx`: removes `workspace`'s rows from vector table
/// `table` (any case) and returns how many there were. In the partitioned
/// layout the workspace's partition is dropped (a brief ACCESS EXCLUSIVE lock
/// on the parent, waited for at most the bulk load's `lock_timeout`), as
/// `drop_all` does, and its rows in the DEFAULT partition are deleted.
///
/// # Errors
/// A lock wait that timed out (`55P03`, worth another attempt); connection or
/// database errors.
pub async fn drop_workspace_rows(tx: &impl GenericClient, table: &str, workspace: &str) -> Result<u64> {
    let table = table.to_lowercase();
    if !is_partitioned(tx, &table).await? {
        return workspace::delete_rows(tx, &table, workspace).await;
    }
    let rows = workspace::count_rows(tx, &table, workspace).await?;
    if let Some(p) = lock_partition(tx, &table, workspace, BulkLoadOptions::default().lock_timeout).await? {
        drop_locked_partition(tx, &table, &p).await?;
    }
    workspace::delete_rows(tx, &table, workspace).await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_table_is_identified_without_a_model() {
        let t = VectorTable::identify("lightrag_vdb_entity", 1024).expect("a vector table");
        assert_eq!((t.namespace, t.dimension, t.model_name), (VectorNamespace::Entities, 1024, None));
    }

    #[test]
    fn a_suffixed_table_is_identified_with_the_model_that_reproduces_its_name() {
        let t = VectorTable::identify("lightrag_vdb_chunks_baai_bge_m3_1024d", 1024).expect("a vector table");
        assert_eq!(t.namespace, VectorNamespace::Chunks);
        assert_eq!(t.model_name.as_deref(), Some("baai_bge_m3"));
        let name = ddl::vector_table_name(t.namespace, t.model_name.as_deref(), 1024).unwrap();
        assert_eq!(name.to_lowercase(), t.table);
    }

    #[test]
    fn partitions_and_other_tables_are_not_vector_tables() {
        for name in ["lightrag_vdb_chunks_default", "lightrag_vdb_chunks_m_4d_p_ws_0123456789ab", "lightrag_doc_full"] {
            assert_eq!(VectorTable::identify(name, 4), None, "{name}");
        }
        assert_eq!(VectorTable::identify("lightrag_vdb_chunks_m_8d", 4), None, "the dimension must match the suffix");
    }
}
