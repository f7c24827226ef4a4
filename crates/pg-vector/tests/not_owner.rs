//! A least-privileged role that does not own the vector table (the
//! administrator created it) cannot drop and rebuild the table's index ("must
//! be owner of index …"): its loads go row by row instead, and say why.

mod common;

use common::*;
use lightrag_pg_core::testkit::unique_workspace;
use lightrag_pg_core::{DistanceMetric, Storage as _, VectorNamespace, VectorStorage};
use lightrag_pg_pool::PgPool;
use lightrag_pg_test_support::fresh::{FreshDb, TempRole};
use lightrag_pg_vector::{BulkLoadOptions, BulkMethod, PgVectorConfig, PgVectorStorage};

/// The administrator's chunk table in `db` (empty), and the role's storage of a
/// fresh workspace in it, over a pool of the role.
async fn role_storage(db: &FreshDb, role: &TempRole, table_config: &PgVectorConfig) -> PgVectorStorage {
    open_in(&db.pool(2).await, unique_workspace("vno_admin"), table_config.clone()).await;
    db.admin_client()
        .await
        .batch_execute(&format!(
            "CREATE EXTENSION IF NOT EXISTS age; \
             GRANT CONNECT ON DATABASE {db} TO {r}; GRANT USAGE ON SCHEMA public TO {r}; \
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {r}",
            db = db.name,
            r = role.name
        ))
        .await
        .expect("grant row access");
    let mut config = db.config();
    config.user = role.name.clone();
    config.password = Some(role.password.clone());
    config.max_connections = 2;
    let app = PgPool::connect(config).await.expect("the role connects");
    open_in(&app, unique_workspace("vno_app"), table_config.clone()).await
}

fn table_config() -> PgVectorConfig {
    config(VectorNamespace::Chunks, 16, "vno", HNSW, DistanceMetric::Cosine)
}

#[tokio::test]
async fn a_bulk_load_by_a_role_that_does_not_own_the_table_goes_incremental_and_says_why() {
    let role = TempRole::create("vno_bulk");
    let db = FreshDb::create("vno_bulk").await;
    let s = role_storage(&db, &role, &table_config()).await;

    let refusal = s.bulk_load_refusal().await.unwrap().expect("no bulk load for the role");
    assert!(refusal.contains("does not own"), "{refusal}");
    let recs = chunks(&random_vectors(3, 2500, 16), "c");
    let report = s.bulk_load_records(&recs, &BulkLoadOptions::default()).await.expect("the load succeeds");

    assert!(
        matches!(&report.method, BulkMethod::Incremental { reason } if reason.contains("does not own")),
        "{report}"
    );
    assert_eq!((report.records, report.rows), (2500, 2500));
    let got = s.get_by_ids(&[recs[1234].id.clone()]).await.unwrap();
    assert!(got[0].is_some());
}

#[tokio::test]
async fn a_first_large_upsert_by_a_role_that_does_not_own_the_table_writes_row_by_row() {
    let role = TempRole::create("vno_upsert");
    let db = FreshDb::create("vno_upsert").await;
    let s = role_storage(&db, &role, &table_config()).await;
    let recs = chunks(&random_vectors(4, 2500, 16), "u");

    s.upsert(recs.clone()).await.expect("the upsert succeeds without rebuilding the index");

    let ids: Vec<String> = recs.iter().map(|r| r.id.clone()).collect();
    assert!(s.get_by_ids(&ids).await.unwrap().iter().all(Option::is_some));
    s.drop_all().await.unwrap();
}
