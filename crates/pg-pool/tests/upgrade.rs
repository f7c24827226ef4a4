//! In-place upgrade of the tables older LightRAG releases created: the DDL of
//! lightrag-hku 1.2.6 (its `TABLES`, verbatim) is upgraded to the columns of the
//! schema lightrag-hku 1.5.7 itself created. (`cargo xtask interop` does the same
//! with the real 1.2.6, 1.3.9 and 1.4.9 packages.)

mod common;

use common::catalog::{SCHEMA_DUMP, Snapshot, dump_statements, ensure_all, our_parts, snapshot};
use common::fresh::FreshDb;
use lightrag_pg_pool::{PgPool, schema, upgrade};

/// `TABLES` of lightrag-hku 1.2.6's `postgres_impl.py`.
const LIGHTRAG_1_2_6: &[&str] = &[
    "CREATE TABLE LIGHTRAG_DOC_FULL (id VARCHAR(255), workspace VARCHAR(255), doc_name VARCHAR(1024), \
     content TEXT, meta JSONB, create_time TIMESTAMP DEFAULT CURRENT_TIMESTAMP, update_time TIMESTAMP, \
     CONSTRAINT LIGHTRAG_DOC_FULL_PK PRIMARY KEY (workspace, id))",
    "CREATE TABLE LIGHTRAG_DOC_CHUNKS (id VARCHAR(255), workspace VARCHAR(255), full_doc_id VARCHAR(256), \
     chunk_order_index INTEGER, tokens INTEGER, content TEXT, content_vector VECTOR, file_path VARCHAR(256), \
     create_time TIMESTAMP DEFAULT CURRENT_TIMESTAMP, update_time TIMESTAMP, \
     CONSTRAINT LIGHTRAG_DOC_CHUNKS_PK PRIMARY KEY (workspace, id))",
    "CREATE TABLE LIGHTRAG_VDB_ENTITY (id VARCHAR(255), workspace VARCHAR(255), entity_name VARCHAR(255), \
     content TEXT, content_vector VECTOR, create_time TIMESTAMP DEFAULT CURRENT_TIMESTAMP, update_time TIMESTAMP, \
     chunk_id TEXT NULL, file_path TEXT NULL, CONSTRAINT LIGHTRAG_VDB_ENTITY_PK PRIMARY KEY (workspace, id))",
    "CREATE TABLE LIGHTRAG_LLM_CACHE (workspace varchar(255) NOT NULL, id varchar(255) NOT NULL, \
     mode varchar(32) NOT NULL, original_prompt TEXT, return_value TEXT, \
     create_time TIMESTAMP DEFAULT CURRENT_TIMESTAMP, update_time TIMESTAMP, \
     CONSTRAINT LIGHTRAG_LLM_CACHE_PK PRIMARY KEY (workspace, mode, id))",
    "CREATE TABLE LIGHTRAG_DOC_STATUS (workspace varchar(255) NOT NULL, id varchar(255) NOT NULL, \
     content TEXT NULL, content_summary varchar(255) NULL, content_length int4 NULL, chunks_count int4 NULL, \
     status varchar(64) NULL, file_path TEXT NULL, created_at timestamp DEFAULT CURRENT_TIMESTAMP NULL, \
     updated_at timestamp DEFAULT CURRENT_TIMESTAMP NULL, CONSTRAINT LIGHTRAG_DOC_STATUS_PK PRIMARY KEY (workspace, id))",
    "INSERT INTO lightrag_doc_chunks (workspace, id, content, content_vector, file_path) \
     VALUES ('default', 'chunk-1', 'text', '[1,0,0]', 'a.txt')",
    "INSERT INTO lightrag_llm_cache (workspace, id, mode, original_prompt, return_value) \
     VALUES ('default', 'abc', 'default', 'prompt', 'answer')",
    "INSERT INTO lightrag_doc_status (workspace, id, content, status) VALUES ('default', 'doc-1', 'text', 'processed')",
];

/// Columns 1.2.6 had that 1.5.7 keeps (and so do we).
const KEPT: &[(&str, &str)] = &[
    ("lightrag_doc_status", "content"),
    ("lightrag_doc_chunks", "content_vector"),
    ("lightrag_vdb_entity", "chunk_id"),
];

const TABLES: &[&str] = &["lightrag_doc_full", "lightrag_doc_chunks", "lightrag_llm_cache", "lightrag_doc_status"];

async fn legacy_db(prefix: &str) -> (FreshDb, PgPool) {
    let db = FreshDb::create(prefix).await;
    let pool = db.pool(2).await;
    schema::ensure_extension(&pool, "vector").await.unwrap();
    // The test server preloads AGE, whose hook fails every DROP (here: of the
    // LLM cache's `mode`) in a database without the extension.
    schema::ensure_extension(&pool, "age").await.unwrap();
    let conn = pool.get().await.unwrap();
    for stmt in LIGHTRAG_1_2_6 {
        conn.batch_execute(stmt).await.unwrap();
    }
    (db, pool)
}

/// Columns without the timestamps' precision (the upgrade leaves it) and
/// without the legacy columns 1.5.7 keeps.
fn shape(snap: &Snapshot) -> Snapshot {
    let mut out = snap.clone();
    for (table, cols) in out.columns.iter_mut() {
        cols.retain(|c| !KEPT.contains(&(table.as_str(), c.0.as_str())));
        for c in cols.iter_mut() {
            c.1 = c.1.replace("timestamp(0)", "timestamp");
        }
        cols.sort();
    }
    out.indexes.clear();
    out.constraints.clear();
    out
}

async fn columns(pool: &PgPool, tables: &[&str]) -> Snapshot {
    let tables: Vec<String> = tables.iter().map(|t| (*t).to_owned()).collect();
    snapshot(&pool.get().await.unwrap(), &tables).await
}

#[tokio::test]
async fn plan_lists_the_steps_of_a_lightrag_1_2_database_and_writes_nothing() {
    let (_db, pool) = legacy_db("upg_plan").await;
    let before = columns(&pool, TABLES).await;
    let steps = upgrade::plan(&pool).await.unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "columns:lightrag_doc_full",
            "columns:lightrag_doc_chunks",
            "columns:lightrag_llm_cache",
            "columns:lightrag_doc_status",
            "columns:lightrag_vdb_entity",
            "llm_cache:drop_mode",
            "doc_chunks:vectors_to_vdb_chunks",
        ]
    );
    assert!(
        steps[3].statements.iter().any(|s| s.contains("ADD COLUMN IF NOT EXISTS \"content_hash\" text")),
        "{steps:?}"
    );
    assert_eq!(columns(&pool, TABLES).await, before, "plan changed nothing");
}

#[tokio::test]
async fn a_lightrag_1_2_database_gets_the_columns_of_lightrag_1_5_7() {
    let (_db, pool) = legacy_db("upg_apply").await;
    ensure_all(&pool, &our_parts()).await;
    assert_eq!(upgrade::plan(&pool).await.unwrap(), vec![], "nothing left to do");

    let ref_db = FreshDb::create("upg_ref").await;
    let ref_pool = ref_db.pool(1).await;
    schema::ensure_extension(&ref_pool, "vector").await.unwrap();
    let conn = ref_pool.get().await.unwrap();
    for stmt in dump_statements(SCHEMA_DUMP) {
        conn.batch_execute(&stmt).await.unwrap();
    }
    drop(conn);
    let want = shape(&columns(&ref_pool, TABLES).await);
    assert_eq!(shape(&columns(&pool, TABLES).await), want);

    let conn = pool.get().await.unwrap();
    let cache = conn.query_one("SELECT id, cache_type FROM lightrag_llm_cache", &[]).await.unwrap();
    let (id, kind): (String, String) = (cache.get(0), cache.get(1));
    assert_eq!((id.as_str(), kind.as_str()), ("default:extract:4ae35dbb42614d2429b7d6d181a950bb", "extract"));
    let key: String = conn
        .query_one("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'lightrag_llm_cache_pk'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(key, "PRIMARY KEY (workspace, id)");
    let moved: String = conn
        .query_one("SELECT content_vector::text FROM lightrag_vdb_chunks WHERE id = 'chunk-1'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(moved, "[1,0,0]", "chunk vectors of lightrag_doc_chunks reach the legacy vdb_chunks table");
    let doc: Option<String> =
        conn.query_one("SELECT content FROM lightrag_doc_status WHERE id = 'doc-1'", &[]).await.unwrap().get(0);
    assert_eq!(doc.as_deref(), Some("text"), "legacy columns keep their data");
}

#[tokio::test]
async fn concurrent_upgrades_apply_each_step_once() {
    let (db, _pool) = legacy_db("upg_conc").await;
    let pools: Vec<PgPool> = (0..6).map(|_| PgPool::connect_lazy(db.config()).unwrap()).collect();
    let runs = futures::future::join_all(pools.iter().map(upgrade::apply)).await;
    let applied: usize = runs.into_iter().map(|r| r.unwrap().len()).sum();
    assert_eq!(applied, 7, "seven steps, each applied by exactly one of the six processes");
    assert_eq!(upgrade::plan(&pools[0]).await.unwrap(), vec![]);
}

#[tokio::test]
async fn a_database_adopted_before_the_upgrade_existed_is_upgraded_by_the_next_start_up() {
    let (_db, pool) = legacy_db("upg_adopted").await;
    // An earlier version of these crates recorded every part as applied, without
    // the upgrade's record (its DDL adopted the old tables as they were).
    let conn = pool.get().await.unwrap();
    conn.batch_execute(
        "CREATE TABLE lightrag_pg_schema_migrations (name TEXT PRIMARY KEY, checksum TEXT NOT NULL, \
         applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await
    .unwrap();
    let parts = our_parts();
    for (name, stmts) in &parts {
        let sum = lightrag_pg_core::ids::md5_hex(&stmts.join(";\n"));
        conn.execute("INSERT INTO lightrag_pg_schema_migrations (name, checksum) VALUES ($1, $2)", &[name, &sum])
            .await
            .unwrap();
    }
    drop(conn);
    assert!(!upgrade::plan(&pool).await.unwrap().is_empty());
    ensure_all(&pool, &parts).await;
    assert_eq!(upgrade::plan(&pool).await.unwrap(), vec![], "upgraded although every part was recorded");
    let conn = pool.get().await.unwrap();
    let sum: String = conn
        .query_one("SELECT checksum FROM lightrag_pg_schema_migrations WHERE name = $1", &[&upgrade::RECORD])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sum, upgrade::checksum());
}
