//! The testcontainers smoke test: starts the local image
//! `lightrag-pg/postgres:17` in a container and runs a real pgvector query and
//! a real Apache AGE cypher query in it.
//!
//! It fails where no Docker engine answers or the image is missing (see
//! [`require_docker`]); only `LIGHTRAG_TEST_NO_DOCKER=1` opts a machine
//! without Docker out, and CI never sets it.

#![cfg(feature = "docker")]

use lightrag_pg_test_support::{Source, container_database, require_docker};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_image_answers_pgvector_and_age_queries() {
    if !require_docker("the testcontainers smoke test") {
        return;
    }
    let db = container_database().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(db.source(), Source::Container);
    let pool = db.pool().await;
    let conn = pool.get().await.expect("a connection");

    let distance: f64 =
        conn.query_one("SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector", &[]).await.expect("a pgvector query").get(0);
    assert!((distance - 1.0).abs() < 1e-9, "L2 distance {distance}");

    let graph = format!("smoke_{:08x}", std::process::id());
    conn.batch_execute(&format!(
        "LOAD 'age'; SET search_path = ag_catalog, \"$user\", public; SELECT create_graph('{graph}');"
    ))
    .await
    .expect("AGE set-up and create_graph");
    let rows = conn
        .query(
            &format!(
                "SELECT agtype_out(n)::text FROM cypher('{graph}', $$ CREATE (n:base {{entity_id: 'x'}}) RETURN n $$) AS (n agtype)"
            ),
            &[],
        )
        .await
        .expect("a cypher query");
    assert_eq!(rows.len(), 1);
    let node: String = rows[0].get(0);
    assert!(
        node.contains("\"entity_id\": \"x\"") && node.contains("\"label\": \"base\"") && node.ends_with("::vertex"),
        "{node}"
    );

    let count: i64 =
        conn.query_one(&format!("SELECT count(*) FROM {graph}.base"), &[]).await.expect("the label table").get(0);
    assert_eq!(count, 1);
    conn.batch_execute(&format!("SELECT drop_graph('{graph}', true)")).await.expect("drop_graph");
    drop(conn);
    drop(pool);
    drop(db);
}
