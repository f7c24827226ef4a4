//! The doctor against the running server, on a fresh database with known
//! contents.

mod common;

use std::time::Duration;

use common::fresh::{FreshDb, TempRole};
use lightrag_pg_core::KvNamespace;
use lightrag_pg_pool::ddl::{self, VectorColumn};
use lightrag_pg_pool::{DoctorReport, PgConfig, PgPool, RetryPolicy, doctor, schema, tokio_postgres};

/// The server's own `jit`, from a session without lightrag-pg's options.
async fn server_jit(config: &PgConfig) -> String {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&config.hosts[0].0).port(config.hosts[0].1).user(&config.user).dbname(&config.database);
    if let Some(p) = &config.password {
        cfg.password(p);
    }
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.query_one("SHOW jit", &[]).await.unwrap().get(0)
}

/// A fresh database with the vector and AGE extensions, two KV workspaces, a
/// vector table without its index, and one AGE graph.
async fn populated(pool: &PgPool) {
    schema::ensure_extension(pool, "vector").await.unwrap();
    schema::ensure_extension(pool, "age").await.unwrap();
    schema::ensure(pool, "table:lightrag_doc_full", &[], &ddl::kv_table(KvNamespace::FullDocs)).await.unwrap();
    let vdb =
        ddl::vector_table(lightrag_pg_core::VectorNamespace::Entities, "LIGHTRAG_VDB_ENTITY", VectorColumn::Vector, 8)
            .unwrap();
    schema::ensure(pool, "table:lightrag_vdb_entity", &[], &vdb).await.unwrap();
    let conn = pool.get().await.unwrap();
    conn.batch_execute(
        "INSERT INTO lightrag_doc_full (id, workspace, content) VALUES ('d1', 'ws_a', 'x'), ('d2', 'ws_a', 'y'), \
         ('d1', 'ws_b', 'z'); \
         SELECT ag_catalog.create_graph('ws_a_chunk_entity_relation');",
    )
    .await
    .unwrap();
}

fn major_minor(v: Option<&str>) -> String {
    v.unwrap_or_default().split('.').take(2).collect::<Vec<_>>().join(".")
}

#[tokio::test]
async fn the_doctor_reports_server_extensions_privileges_tables_and_graphs() {
    let db = FreshDb::create("doctor").await;
    let pool = db.pool(3).await;
    populated(&pool).await;
    let report = doctor(&pool).await;

    assert!(report.reachable, "{report:?}");
    assert_eq!(report.error, None);
    let server = report.server.as_ref().expect("server info");
    assert!(server.version.starts_with("17."), "{server:?}");
    assert!(server.version_num >= 170_000);
    assert_eq!(server.database, db.name);
    assert_eq!(server.user, pool.config().user);

    let vector = report.extension("vector").expect("vector");
    assert_eq!(major_minor(vector.installed_version.as_deref()), "0.8", "{vector:?}");
    assert_eq!(vector.schema.as_deref(), Some("public"));
    let age = report.extension("age").expect("age");
    assert_eq!(major_minor(age.installed_version.as_deref()), "1.5", "{age:?}");
    let pgss = report.extension("pg_stat_statements").expect("pg_stat_statements is listed");
    assert_eq!(pgss.installed_version, None, "not installed in a fresh database");

    let tls = report.tls.as_ref().expect("TLS info");
    assert!(!tls.ssl, "the shared test server runs without TLS");
    assert_eq!(tls.version, None);

    let p = report.privileges.as_ref().expect("privileges");
    assert!(p.superuser && p.create_in_database && p.can_create_extensions && p.create_in_schema, "{p:?}");
    assert_eq!(p.current_schema.as_deref(), Some("public"));

    assert_eq!(report.pool.max_size, 3);
    assert!(report.pool.connections >= 1 && report.pool.connections_created >= 1, "{:?}", report.pool);
    let latency = report.latency.expect("latency");
    assert_eq!(latency.samples, 5);
    assert!(latency.min_ms > 0.0 && latency.min_ms <= latency.median_ms && latency.median_ms <= latency.max_ms);
    assert!(latency.median_ms < 100.0, "a local round trip: {latency:?}");

    let full = report.table("lightrag_doc_full").expect("doc_full listed");
    let counts: Vec<(Option<&str>, i64)> = full.workspaces.iter().map(|w| (w.workspace.as_deref(), w.rows)).collect();
    assert_eq!(counts, [(Some("ws_a"), 2), (Some("ws_b"), 1)]);
    assert!(!full.has_vector_column);
    let vdb = report.table("lightrag_vdb_entity").expect("vdb listed");
    assert!(vdb.has_vector_column && vdb.vector_indexes.is_empty() && vdb.workspaces.is_empty());
    assert!(report.table("lightrag_pg_schema_migrations").is_some());

    let graphs = report.graphs.as_ref().expect("AGE is installed");
    let g = graphs.iter().find(|g| g.name == "ws_a_chunk_entity_relation").expect("the graph");
    assert_eq!(g.workspace.as_deref(), Some("ws_a"));
    assert_eq!((g.vertices, g.edges), (Some(0), Some(0)));

    assert!(report.has_warning("vector_index_missing"), "{:?}", report.warnings);
    let jit = server_jit(&db.config()).await;
    assert_eq!(server.jit.as_deref(), Some(jit.as_str()), "the server's own jit, not the session's");
    assert_eq!(report.has_warning("jit_on"), jit == "on", "server jit = {jit}: {:?}", report.warnings);
    for code in ["age_not_loadable", "age_unsupported_version", "pgvector_without_halfvec", "check_failed"] {
        assert!(!report.has_warning(code), "{code}: {:?}", report.warnings);
    }
}

#[tokio::test]
async fn the_doctor_reads_the_server_level_jit_setting() {
    let db = FreshDb::create("doctorjit").await;
    let pool = db.pool(1).await;
    let report = doctor(&pool).await;
    let jit = server_jit(&db.config()).await;
    assert_eq!(report.server.as_ref().and_then(|s| s.jit.as_deref()), Some(jit.as_str()));
    let session: String = pool.get().await.unwrap().query_one("SHOW jit", &[]).await.unwrap().get(0);
    assert_eq!(session, "off", "pooled sessions always run with jit = off");
}

#[tokio::test]
async fn a_vector_table_with_its_index_raises_no_warning() {
    let db = FreshDb::create("doctoridx").await;
    let pool = db.pool(1).await;
    populated(&pool).await;
    let idx = ddl::vector_index(
        "LIGHTRAG_VDB_ENTITY",
        VectorColumn::Vector,
        ddl::VectorIndex::Hnsw { m: 16, ef_construction: 64 },
        lightrag_pg_core::DistanceMetric::Cosine,
    )
    .unwrap()
    .unwrap();
    pool.get().await.unwrap().batch_execute(&idx).await.unwrap();
    let report = doctor(&pool).await;
    let vdb = report.table("lightrag_vdb_entity").unwrap();
    assert_eq!(vdb.vector_indexes, ["idx_lightrag_vdb_entity_hnsw_cosine"]);
    assert!(!report.has_warning("vector_index_missing"), "{:?}", report.warnings);
}

#[tokio::test]
async fn a_user_who_cannot_load_age_is_warned() {
    let db = FreshDb::create("doctorrole").await;
    let role = TempRole::create("doctor");
    {
        let admin = db.pool(1).await;
        schema::ensure_extension(&admin, "age").await.unwrap();
    }
    let mut config = db.config();
    config.user = role.name.clone();
    config.password = Some(role.password.clone());
    let pool = PgPool::connect(config).await.unwrap();
    let report = doctor(&pool).await;
    assert!(report.has_warning("age_not_loadable"), "{:?}", report.warnings);
    let p = report.privileges.as_ref().unwrap();
    assert!(!p.superuser && !p.create_db, "{p:?}");
    drop(pool);
}

#[tokio::test]
async fn an_unreachable_server_gives_a_report_not_a_panic() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = PgConfig::builder()
        .host("127.0.0.1")
        .port(port)
        .retry(RetryPolicy { attempts: 1, backoff: Duration::ZERO, backoff_max: Duration::ZERO })
        .build();
    let pool = PgPool::connect_lazy(config).unwrap();
    let report: DoctorReport = doctor(&pool).await;
    assert!(!report.reachable);
    assert!(report.error.as_deref().is_some_and(|e| e.contains("refused")), "{:?}", report.error);
    assert!(report.server.is_none() && report.tables.is_empty());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["reachable"], false);
}
