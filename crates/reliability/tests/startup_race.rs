//! Ten processes initialise the same empty database at once (a fresh
//! `lightrag_race_<random>` on the shared server, created from `template0`,
//! so without even the extensions), each opening every storage kind through
//! the facade — once with the AGE graph engine, once with the table engine.
//! All must succeed and none may log an error (their stderr, at WARN level,
//! is captured); afterwards each process's records are there, once.

#![allow(clippy::print_stdout)] // the tests print what they measured

mod common;

use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use lightrag_pg_test_support::fresh::FreshDb;

const PROCESSES: usize = 10;
const WORKSPACE: &str = "race_ws";

/// Connections per process: one more than the three vector storages that set
/// up at once (see the ignored pool-of-three test).
const POOL_SIZE: u32 = 4;

/// Runs `processes` `race_child` processes against `db` and checks their exits
/// and output; returns their pids.
fn race(db: &str, engine: &str, processes: usize, pool_size: u32) -> Vec<u32> {
    let start_at = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() + 4_000;
    let children: Vec<_> = (0..processes)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_race_child"))
                .args([db, engine, WORKSPACE, &start_at.to_string(), &pool_size.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn race_child")
        })
        .collect();
    let mut pids = Vec::new();
    let mut warnings = 0;
    for child in children {
        let pid = child.id();
        let out = child.wait_with_output().expect("race_child output");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "startup_race ({engine}): process {pid} failed ({}):\n{stderr}", out.status);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("ERROR")).collect();
        assert!(errors.is_empty(), "startup_race ({engine}): process {pid} logged errors:\n{}", errors.join("\n"));
        warnings += stderr.lines().filter(|l| l.contains("WARN")).count();
        pids.push(pid);
    }
    println!("startup_race ({engine}): {processes} processes initialised {db} at once; {warnings} warnings, no error");
    pids
}

async fn count(db: &FreshDb, sql: &str) -> i64 {
    db.admin_client().await.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_race_ten_processes_initialise_an_empty_database_with_the_age_graph() {
    let db = FreshDb::create("race").await;
    let name = db.name.clone();
    let pids = tokio::task::spawn_blocking(move || race(&name, "age", PROCESSES, POOL_SIZE)).await.expect("race");

    assert_eq!(count(&db, "SELECT count(*) FROM pg_extension WHERE extname IN ('vector', 'age')").await, 2);
    assert_eq!(
        count(&db, "SELECT count(*) FROM ag_catalog.ag_graph WHERE name = 'race_ws_chunk_entity_relation'").await,
        1
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM lightrag_doc_full WHERE workspace = 'race_ws'").await,
        PROCESSES as i64
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM lightrag_doc_status WHERE workspace = 'race_ws'").await,
        PROCESSES as i64
    );
    let per_entity = "SELECT count(*) FROM (SELECT ag_catalog.agtype_access_operator(VARIADIC ARRAY[properties, \
                      '\"entity_id\"'::ag_catalog.agtype]) AS e FROM race_ws_chunk_entity_relation.base) v";
    assert_eq!(
        count(&db, &format!("{per_entity} WHERE e OPERATOR(ag_catalog.=) '\"shared\"'::ag_catalog.agtype")).await,
        1,
        "one vertex for the shared entity"
    );
    assert_eq!(count(&db, per_entity).await, PROCESSES as i64 + 1);
    assert_eq!(count(&db, "SELECT count(*) FROM race_ws_chunk_entity_relation.\"DIRECTED\"").await, PROCESSES as i64);
    assert_eq!(pids.len(), PROCESSES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_race_ten_processes_initialise_an_empty_database_with_the_table_graph() {
    let db = FreshDb::create("race").await;
    let name = db.name.clone();
    tokio::task::spawn_blocking(move || race(&name, "table", PROCESSES, POOL_SIZE)).await.expect("race");

    assert_eq!(count(&db, "SELECT count(*) FROM pg_extension WHERE extname = 'vector'").await, 1);
    assert_eq!(
        count(&db, "SELECT count(*) FROM lightrag_doc_full WHERE workspace = 'race_ws'").await,
        PROCESSES as i64
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM lightrag_graph_nodes WHERE workspace = 'race_ws'").await,
        PROCESSES as i64 + 1
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM lightrag_graph_edges WHERE workspace = 'race_ws'").await,
        PROCESSES as i64
    );
    let vectors = "SELECT count(*) FROM pg_class WHERE relname LIKE 'lightrag_vdb_%' AND relkind IN ('r', 'p')";
    assert!(count(&db, vectors).await >= 3, "the three vector tables exist");
}

/// One process whose pool has fewer connections than the storages that set up
/// at once: set-up must never hold a connection while it waits for another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_race_on_a_pool_of_three_connections_setup_never_waits_on_itself() {
    let db = FreshDb::create("race").await;
    let name = db.name.clone();
    tokio::task::spawn_blocking(move || race(&name, "table", 1, 3)).await.expect("race");
}
