//! Schema set-up: concurrent start-ups, adopting Python LightRAG's tables, and
//! the DDL compared with the schema lightrag-hku 1.5.7 itself created.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::catalog::{
    self, PGTABLE_GRAPH_DUMP, SCHEMA_DUMP, Snapshot, dump_statements, dump_tables, ensure_all, our_parts,
    our_vector_parts, snapshot,
};
use common::fresh::FreshDb;
use lightrag_pg_pool::{PgPool, schema};
use tracing_subscriber::layer::SubscriberExt;

/// Counts WARN and ERROR events.
struct CountWarnings(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountWarnings {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() <= tracing::Level::WARN {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn load(pool: &PgPool, stmts: &[String]) {
    let conn = pool.get().await.unwrap();
    for s in stmts {
        conn.batch_execute(s).await.unwrap_or_else(|e| panic!("reference DDL failed: {e}\n{s}"));
    }
}

#[tokio::test]
#[allow(clippy::print_stdout)]
async fn twenty_concurrent_start_ups_on_an_empty_database_all_succeed_and_leave_one_schema() {
    let warnings = Arc::new(AtomicUsize::new(0));
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(CountWarnings(warnings.clone())));
    let db = FreshDb::create("mig").await;
    let parts = our_parts();
    let mut pools = Vec::new();
    for _ in 0..20 {
        let mut config = db.config();
        config.max_connections = 1;
        pools.push(PgPool::connect_lazy(config).unwrap());
    }
    let started = Instant::now();
    let runs = futures::future::join_all(pools.iter().map(|pool| {
        let parts = parts.clone();
        async move {
            for (name, stmts) in &parts {
                schema::ensure(pool, name, &[], stmts).await.map_err(|e| format!("{name}: {e}"))?;
            }
            Ok::<(), String>(())
        }
    }))
    .await;
    let elapsed = started.elapsed();
    let failed: Vec<&String> = runs.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "failed runs: {failed:?}");
    assert_eq!(warnings.load(Ordering::SeqCst), 0, "no warning or error was logged");

    let conn = pools[0].get().await.unwrap();
    let recorded: Vec<(String, i64)> = conn
        .query("SELECT name, count(*) FROM lightrag_pg_schema_migrations GROUP BY name ORDER BY name", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let mut expected: Vec<(String, i64)> = parts.iter().map(|(n, _)| (n.clone(), 1)).collect();
    expected.push((lightrag_pg_pool::upgrade::RECORD.to_owned(), 1));
    expected.sort();
    assert_eq!(recorded, expected, "one row per part, and the upgrade's");
    let tables: Vec<String> = conn
        .query(
            "SELECT relname::text FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace \
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        tables,
        [
            "lightrag_doc_chunks",
            "lightrag_doc_full",
            "lightrag_doc_status",
            "lightrag_entity_chunks",
            "lightrag_full_entities",
            "lightrag_full_relations",
            "lightrag_graph_edges",
            "lightrag_graph_nodes",
            "lightrag_llm_cache",
            "lightrag_pg_schema_migrations",
            "lightrag_relation_chunks",
        ]
    );
    drop(conn);
    drop(pools);

    // The server saw no failed statement either: no transaction in this
    // database rolled back (statistics arrive when the backends exit).
    let admin_db = lightrag_pg_test_support::test_database().await.pool().await;
    let conn = admin_db.get().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: i64 = conn
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", &[&db.name])
            .await
            .unwrap()
            .get(0);
        if left == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "sessions still open on {}", db.name);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (commits, rollbacks): (i64, i64) = conn
        .query_one("SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = $1", &[&db.name])
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert!(commits > 0, "statistics arrived");
    assert_eq!(rollbacks, 0, "no statement failed on the server");
    println!("20 concurrent start-ups x {} parts: all succeeded in {} ms", parts.len(), elapsed.as_millis());
}

/// Every `lightrag_*` row as JSON, per table, to prove data was not touched.
async fn rows(pool: &PgPool, tables: &[String]) -> Vec<(String, Vec<serde_json::Value>)> {
    let conn = pool.get().await.unwrap();
    let mut out = Vec::new();
    for t in tables {
        let sql =
            format!("SELECT to_jsonb(t) FROM {} t ORDER BY t::text", lightrag_pg_pool::ident::quote_ident(t).unwrap());
        out.push((t.clone(), conn.query(&sql, &[]).await.unwrap().iter().map(|r| r.get(0)).collect()));
    }
    out
}

#[tokio::test]
async fn ensure_adopts_the_tables_python_lightrag_created_without_touching_them() {
    let db = FreshDb::create("adopt").await;
    let pool = db.pool(2).await;
    schema::ensure_extension(&pool, "vector").await.unwrap();
    let mut python = dump_statements(SCHEMA_DUMP);
    python.extend(dump_statements(PGTABLE_GRAPH_DUMP));
    load(&pool, &python).await;
    {
        let conn = pool.get().await.unwrap();
        conn.batch_execute(
            "INSERT INTO lightrag_doc_full (id, workspace, doc_name, content, meta) \
               VALUES ('doc-1', 'py', 'a.txt', 'hello', '{\"k\": 1}'); \
             INSERT INTO lightrag_doc_status (workspace, id, status, chunks_list, created_at) \
               VALUES ('py', 'doc-1', 'processed', '[\"chunk-1\"]', '2024-05-01 10:00:00'); \
             INSERT INTO lightrag_llm_cache (workspace, id, original_prompt, return_value, cache_type) \
               VALUES ('py', 'default:extract:abc', 'p', 'r', 'extract'); \
             INSERT INTO lightrag_vdb_entity (id, workspace, entity_name, content, content_vector) \
               VALUES ('ent-1', 'py', 'Alice', 'Alice', array_fill(0.5, ARRAY[64])::vector); \
             INSERT INTO lightrag_graph_nodes (workspace, id, properties) VALUES ('py', 'Alice', '{\"a\": 1}');",
        )
        .await
        .unwrap();
    }
    let tables = dump_tables(&python);
    assert_eq!(tables.len(), 13, "{tables:?}");
    let conn = pool.get().await.unwrap();
    let before = snapshot(&conn, &tables).await;
    drop(conn);
    let data_before = rows(&pool, &tables).await;

    let mut parts = our_parts();
    parts.extend(our_vector_parts());
    ensure_all(&pool, &parts).await;

    let conn = pool.get().await.unwrap();
    let after = snapshot(&conn, &tables).await;
    assert_eq!(after, before, "no column, index or constraint changed");
    assert_eq!(rows(&pool, &tables).await, data_before, "no row changed");
    let recorded: i64 = conn.query_one("SELECT count(*) FROM lightrag_pg_schema_migrations", &[]).await.unwrap().get(0);
    assert_eq!(recorded as usize, parts.len() + 1, "every part is recorded as applied, and the upgrade");
}

/// Applies the reference DDL to one fresh database and ours to another and
/// returns both catalogs for `tables`.
async fn compare(reference: Vec<String>, ours: Vec<(String, Vec<String>)>, tables: &[String]) -> (Snapshot, Snapshot) {
    let ref_db = FreshDb::create("ddlref").await;
    let our_db = FreshDb::create("ddlours").await;
    let ref_pool = ref_db.pool(1).await;
    let our_pool = our_db.pool(1).await;
    for p in [&ref_pool, &our_pool] {
        schema::ensure_extension(p, "vector").await.unwrap();
    }
    load(&ref_pool, &reference).await;
    ensure_all(&our_pool, &ours).await;
    let a = snapshot(&ref_pool.get().await.unwrap(), tables).await;
    let b = snapshot(&our_pool.get().await.unwrap(), tables).await;
    assert_eq!(a.columns.len(), tables.len(), "the reference has every table: {tables:?}");
    (a, b)
}

fn assert_same(reference: &Snapshot, ours: &Snapshot) {
    for (table, cols) in &reference.columns {
        assert_eq!(ours.columns.get(table), Some(cols), "columns of {table}");
    }
    for (table, idx) in &reference.indexes {
        assert_eq!(ours.indexes.get(table), Some(idx), "indexes of {table}");
    }
    for (table, cons) in &reference.constraints {
        assert_eq!(ours.constraints.get(table), Some(cons), "constraints of {table}");
    }
    assert_eq!(ours, reference);
}

fn tables_with_prefix(stmts: &[String], keep: impl Fn(&str) -> bool) -> Vec<String> {
    dump_tables(stmts).into_iter().filter(|t| keep(t)).collect()
}

#[tokio::test]
async fn the_kv_tables_match_what_lightrag_created() {
    let dump = dump_statements(SCHEMA_DUMP);
    let tables = tables_with_prefix(&dump, |t| !t.starts_with("lightrag_vdb_") && t != "lightrag_doc_status");
    assert_eq!(tables.len(), 7);
    let kv: Vec<_> = our_parts()
        .into_iter()
        .filter(|(n, _)| n != "table:lightrag_doc_status" && n != "table:lightrag_graph")
        .collect();
    let (reference, ours) = compare(dump, kv, &tables).await;
    assert_same(&reference, &ours);
}

#[tokio::test]
async fn the_doc_status_table_matches_what_lightrag_created() {
    let dump = dump_statements(SCHEMA_DUMP);
    let tables = vec!["lightrag_doc_status".to_owned()];
    let part = vec![("table:lightrag_doc_status".to_owned(), lightrag_pg_pool::ddl::doc_status_table())];
    let (reference, ours) = compare(dump, part, &tables).await;
    assert_eq!(reference.indexes["lightrag_doc_status"].len(), 11, "the primary key and the ten secondary indexes");
    assert_same(&reference, &ours);
}

#[tokio::test]
async fn the_table_graph_tables_match_what_lightrag_created() {
    let dump = dump_statements(PGTABLE_GRAPH_DUMP);
    let tables = dump_tables(&dump);
    assert_eq!(tables, ["lightrag_graph_edges", "lightrag_graph_nodes"]);
    let part = vec![("table:lightrag_graph".to_owned(), lightrag_pg_pool::ddl::graph_tables())];
    let (reference, ours) = compare(dump, part, &tables).await;
    assert_same(&reference, &ours);
}

#[tokio::test]
async fn the_vector_tables_match_what_lightrag_created_at_dimension_64() {
    let dump = dump_statements(SCHEMA_DUMP);
    let tables = tables_with_prefix(&dump, |t| t.starts_with("lightrag_vdb_"));
    assert_eq!(tables.len(), 3);
    let (reference, ours) = compare(dump, our_vector_parts(), &tables).await;
    assert!(reference.indexes["lightrag_vdb_entity"].contains_key("idx_lightrag_vdb_entity_hnsw_cosine"));
    assert_same(&reference, &ours);
    let _ = catalog::DUMP_DIMENSION;
}
