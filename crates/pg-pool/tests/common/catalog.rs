//! The reference schema Python LightRAG 1.5.7 created (read from the pg_dump
//! files in `shared/reference/` at test time), our DDL for the same tables, and
//! catalog snapshots to compare the two.

use std::collections::BTreeMap;

use lightrag_pg_core::{DistanceMetric, KvNamespace, VectorNamespace};
use lightrag_pg_pool::ddl::{self, VectorColumn, VectorIndex};
use lightrag_pg_pool::{PgConn, PgPool, schema};

/// `shared/reference/` next to the workspace.
pub const REFERENCE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/reference");
/// The dump of the KV, vector and doc-status tables (and an AGE graph).
pub const SCHEMA_DUMP: &str = "lightrag-1.5.7-pg-schema.sql";
/// The dump of the table graph engine's tables.
pub const PGTABLE_GRAPH_DUMP: &str = "lightrag-1.5.7-pgtable-graph-schema.sql";
/// The dimension of the vector tables in the dump.
pub const DUMP_DIMENSION: usize = 64;

/// The `public.lightrag_*` DDL of a dump: `CREATE TABLE`, the constraints
/// (`ALTER TABLE ONLY … ADD CONSTRAINT`) and `CREATE INDEX`, in dump order. The
/// AGE graph's schema, ownership and comments are left out.
pub fn dump_statements(file: &str) -> Vec<String> {
    let path = format!("{REFERENCE_DIR}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reference dump {path}: {e}"));
    let body: String = text.lines().filter(|l| !l.starts_with("--")).map(|l| format!("{l}\n")).collect();
    body.split(";\n")
        .map(str::trim)
        .filter(|s| {
            s.starts_with("CREATE TABLE public.lightrag_")
                || s.starts_with("ALTER TABLE ONLY public.lightrag_")
                || (s.starts_with("CREATE INDEX ") && s.contains(" ON public.lightrag_"))
        })
        .map(str::to_owned)
        .collect()
}

/// One schema part per table, as the storages apply them: name and statements.
pub fn our_parts() -> Vec<(String, Vec<String>)> {
    let mut parts: Vec<(String, Vec<String>)> = KvNamespace::ALL
        .iter()
        .map(|ns| (format!("table:{}", ns.table().to_lowercase()), ddl::kv_table(*ns)))
        .collect();
    parts.push(("table:lightrag_doc_status".into(), ddl::doc_status_table()));
    parts.push(("table:lightrag_graph".into(), ddl::graph_tables()));
    parts
}

/// The vector tables at the dump's dimension with LightRAG's default index
/// (HNSW, cosine, m = 16, ef_construction = 64).
pub fn our_vector_parts() -> Vec<(String, Vec<String>)> {
    VectorNamespace::ALL
        .iter()
        .map(|ns| {
            let table = ddl::vector_table_name(*ns, None, DUMP_DIMENSION).unwrap();
            let mut stmts = ddl::vector_table(*ns, &table, VectorColumn::Vector, DUMP_DIMENSION).unwrap();
            stmts.extend(
                ddl::vector_index(
                    &table,
                    VectorColumn::Vector,
                    VectorIndex::Hnsw { m: 16, ef_construction: 64 },
                    DistanceMetric::Cosine,
                )
                .unwrap(),
            );
            (format!("table:{}", table.to_lowercase()), stmts)
        })
        .collect()
}

/// Applies every part through `schema::ensure`.
pub async fn ensure_all(pool: &PgPool, parts: &[(String, Vec<String>)]) {
    for (name, stmts) in parts {
        schema::ensure(pool, name, &[], stmts).await.unwrap_or_else(|e| panic!("ensure {name}: {e}"));
    }
}

/// One column: name, type, default, NOT NULL.
pub type Column = (String, String, Option<String>, bool);

/// What the catalog says about a set of tables.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Columns per table, in column order.
    pub columns: BTreeMap<String, Vec<Column>>,
    /// `pg_indexes.indexdef` per table, by index name.
    pub indexes: BTreeMap<String, BTreeMap<String, String>>,
    /// Constraint definitions per table, by name.
    pub constraints: BTreeMap<String, BTreeMap<String, String>>,
}

/// The public-schema catalog of `tables` (lower-case names).
pub async fn snapshot(conn: &PgConn, tables: &[String]) -> Snapshot {
    let mut snap = Snapshot::default();
    for r in conn
        .query(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
             pg_get_expr(d.adbin, d.adrelid), a.attnotnull \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
             WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname = ANY($1) ORDER BY c.relname, a.attnum",
            &[&tables],
        )
        .await
        .unwrap()
    {
        snap.columns.entry(r.get(0)).or_default().push((r.get(1), r.get(2), r.get(3), r.get(4)));
    }
    for r in conn
        .query(
            "SELECT tablename::text, indexname::text, indexdef FROM pg_indexes \
             WHERE schemaname = 'public' AND tablename = ANY($1)",
            &[&tables],
        )
        .await
        .unwrap()
    {
        snap.indexes.entry(r.get(0)).or_default().insert(r.get(1), r.get(2));
    }
    for r in conn
        .query(
            "SELECT c.relname::text, k.conname::text, pg_get_constraintdef(k.oid) FROM pg_constraint k \
             JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relname = ANY($1)",
            &[&tables],
        )
        .await
        .unwrap()
    {
        snap.constraints.entry(r.get(0)).or_default().insert(r.get(1), r.get(2));
    }
    snap
}

/// The lower-case table names a dump creates.
pub fn dump_tables(stmts: &[String]) -> Vec<String> {
    stmts
        .iter()
        .filter_map(|s| s.strip_prefix("CREATE TABLE public."))
        .map(|s| s.split([' ', '(']).next().unwrap().to_owned())
        .collect()
}
