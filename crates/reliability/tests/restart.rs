//! Server restarts during a large batch upsert, on throwaway servers of this
//! test's own (never the shared one): stopped fast (sessions terminated with
//! `57P01`) and immediate (every process killed, crash recovery at the next
//! start) while every store is writing a large batch.
//!
//! Each upsert returns, within its time limit, either success or a retryable
//! error; after the restart every store holds its batch wholly or not at all
//! (wholly when the call said so); and the pool serves again within 5 s of the
//! server accepting connections, with no manual step.

#![allow(clippy::print_stdout)] // the tests print what they measured

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::data;
use common::server::{PgServer, pool_config, start_server};
use lightrag_pg_core::{
    DocStatus, DocStatusStorage, Error, GraphStorage, KvNamespace, KvStorage, Storage, VectorNamespace, VectorStorage,
    Workspace,
};
use lightrag_pg_docstatus::PgDocStatusStorage;
use lightrag_pg_graph::{AgeGraphStorage, TableGraphStorage};
use lightrag_pg_kv::PgKvStorage;
use lightrag_pg_pool::{PgPool, RetryPolicy, db_error};
use lightrag_pg_test_support::server::StopMode;
use lightrag_pg_vector::{PgVectorConfig, PgVectorStorage};

const KV_ROWS: usize = 50_000;
const VECTORS: usize = 20_000;
const DOCS: usize = 20_000;
const NODES: usize = 10_000;
const DIM: usize = 16;
/// No call may take longer than this.
const CALL_LIMIT: Duration = Duration::from_secs(120);

async fn pool_serves(pool: &PgPool) -> Result<(), Error> {
    let conn = pool.get().await?;
    conn.simple_query("SELECT 1").await.map_err(db_error)?;
    Ok(())
}

async fn until_pool_serves(pool: &PgPool) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if pool_serves(pool).await.is_ok() {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "the pool did not serve again within 60 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until at least `n` backends run an INSERT or COPY.
async fn until_writing(server: &PgServer, n: i64) {
    let client = server.client().await.expect("admin connection");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let busy: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() \
                 AND (query ILIKE '%insert%' OR query ILIKE '%copy%')",
                &[],
            )
            .await
            .expect("pg_stat_activity")
            .get(0);
        if busy >= n {
            return;
        }
        assert!(Instant::now() < deadline, "the batch upserts never started writing");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The stores under test on one pool, and how to count what each holds.
struct Stores {
    kv: Arc<PgKvStorage>,
    vectors: Arc<PgVectorStorage>,
    docs: Arc<PgDocStatusStorage>,
    table_graph: Arc<TableGraphStorage>,
    age_graph: Arc<AgeGraphStorage>,
}

impl Stores {
    async fn open(pool: &PgPool, ws: &Workspace) -> Stores {
        let kv = PgKvStorage::new(pool.clone(), KvNamespace::TextChunks, ws.clone()).expect("kv");
        let vectors = PgVectorStorage::new(
            pool.clone(),
            ws.clone(),
            PgVectorConfig::new(VectorNamespace::Entities, DIM).with_model_name("restart"),
        )
        .expect("vectors");
        let docs = PgDocStatusStorage::new(pool.clone(), ws.clone()).expect("doc status");
        let table_graph = TableGraphStorage::new(pool.clone(), ws.clone());
        let age_graph = AgeGraphStorage::new(pool.clone(), ws.clone()).expect("age graph");
        kv.initialize().await.expect("kv initialize");
        vectors.initialize().await.expect("vector initialize");
        docs.initialize().await.expect("doc status initialize");
        table_graph.initialize().await.expect("table graph initialize");
        age_graph.initialize().await.expect("age graph initialize");
        Stores {
            kv: Arc::new(kv),
            vectors: Arc::new(vectors),
            docs: Arc::new(docs),
            table_graph: Arc::new(table_graph),
            age_graph: Arc::new(age_graph),
        }
    }

    /// Rows per store, counted in plain SQL.
    async fn counts(&self, server: &PgServer) -> Vec<(&'static str, i64, usize)> {
        let c = server.client().await.expect("admin connection");
        let ws = self.kv.workspace().as_str();
        let count = |sql: String| {
            let c = &c;
            async move { c.query_one(&sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get::<_, i64>(0) }
        };
        let lit = format!("'{}'", ws.replace('\'', "''"));
        vec![
            ("kv", count(format!("SELECT count(*) FROM lightrag_doc_chunks WHERE workspace = {lit}")).await, KV_ROWS),
            (
                "vector",
                count(format!("SELECT count(*) FROM {} WHERE workspace = {lit}", self.vectors.table_name())).await,
                VECTORS,
            ),
            (
                "doc_status",
                count(format!("SELECT count(*) FROM lightrag_doc_status WHERE workspace = {lit}")).await,
                DOCS,
            ),
            (
                "table_graph",
                count(format!("SELECT count(*) FROM lightrag_graph_nodes WHERE workspace = {lit}")).await,
                NODES,
            ),
            ("age_graph", count(format!("SELECT count(*) FROM \"{}\".base", self.age_graph.graph_name())).await, NODES),
        ]
    }
}

type Upsert = tokio::task::JoinHandle<(&'static str, Result<Result<(), Error>, tokio::time::error::Elapsed>, Duration)>;

/// Starts the five large batch upserts; each is limited to [`CALL_LIMIT`].
fn start_batches(s: &Stores) -> Vec<Upsert> {
    fn spawn<F>(name: &'static str, fut: F) -> Upsert
    where
        F: std::future::Future<Output = Result<(), Error>> + Send + 'static,
    {
        tokio::spawn(async move {
            let t = Instant::now();
            let r = tokio::time::timeout(CALL_LIMIT, fut).await;
            (name, r, t.elapsed())
        })
    }
    let kv_batch: Vec<_> = (0..KV_ROWS).map(|i| (format!("chunk-{i:08}"), data::chunk(i, "restart"))).collect();
    let vec_batch: Vec<_> =
        (0..VECTORS).map(|i| data::entity_vector(&format!("ent-{i:08}"), i, DIM, "restart")).collect();
    let doc_batch: Vec<_> =
        (0..DOCS).map(|i| (format!("doc-{i:08}"), data::doc_status(i, "restart", DocStatus::Processed))).collect();
    let nodes: Vec<_> = (0..NODES).map(|i| (format!("entity {i:06}"), data::node("restart"))).collect();
    let (kv, vectors, docs, tg, ag) =
        (s.kv.clone(), s.vectors.clone(), s.docs.clone(), s.table_graph.clone(), s.age_graph.clone());
    let nodes2 = nodes.clone();
    vec![
        spawn("kv", async move { kv.upsert(kv_batch).await }),
        spawn("vector", async move { vectors.upsert(vec_batch).await }),
        spawn("doc_status", async move { docs.upsert(doc_batch).await }),
        spawn("table_graph", async move { tg.upsert_nodes_batch(nodes).await }),
        spawn("age_graph", async move { ag.upsert_nodes_batch(nodes2).await }),
    ]
}

async fn restart_during_batch_upserts(mode: StopMode) {
    let server = Arc::new(start_server(&format!("rel-restart-{mode:?}").to_lowercase()));
    let mut config = pool_config(&server);
    config.retry =
        RetryPolicy { attempts: 3, backoff: Duration::from_millis(100), backoff_max: Duration::from_millis(400) };
    let pool = PgPool::connect(config).await.expect("pool");
    let ws = Workspace::new("restart").expect("workspace");
    let stores = Stores::open(&pool, &ws).await;

    let upserts = start_batches(&stores);
    until_writing(&server, 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stop_started = Instant::now();
    let s = server.clone();
    tokio::task::spawn_blocking(move || s.stop(mode)).await.expect("stop");
    println!("restart ({mode:?}): server stopped in {:?}", stop_started.elapsed());
    tokio::time::sleep(Duration::from_millis(500)).await;

    let s = server.clone();
    tokio::task::spawn_blocking(move || s.start_no_wait()).await.expect("start");
    let (accepting, served) = tokio::join!(server.until_accepting(Duration::from_secs(60)), until_pool_serves(&pool));
    let recovery = served.saturating_duration_since(accepting);
    println!(
        "restart ({mode:?}): the pool served {} ms after the server accepted connections again",
        recovery.as_millis()
    );
    assert!(recovery < Duration::from_secs(5), "the pool took {recovery:?} to serve again");

    let mut outcomes = Vec::new();
    for u in upserts {
        let (name, result, took) = u.await.expect("upsert task");
        let result = result.unwrap_or_else(|_| panic!("{name}: the upsert hung past {CALL_LIMIT:?}"));
        match &result {
            Ok(()) => println!("restart ({mode:?}): {name} upsert succeeded in {took:?}"),
            Err(e) => {
                println!("restart ({mode:?}): {name} upsert failed in {took:?} with: {e}");
                assert!(e.is_retryable(), "{name}: the upsert failed with a non-retryable error: {e:?}");
            }
        }
        outcomes.push((name, result.is_ok()));
    }
    for (name, rows, whole) in stores.counts(&server).await {
        let ok = outcomes.iter().find(|(n, _)| *n == name).expect("outcome").1;
        println!("restart ({mode:?}): {name} holds {rows} of {whole} rows");
        if ok {
            assert_eq!(rows, whole as i64, "{name}: an acknowledged batch is not wholly there");
        } else {
            assert!(rows == 0 || rows == whole as i64, "{name}: a partial batch of {rows} of {whole} rows");
        }
    }

    // The failed batches can simply be written again.
    for u in start_batches(&stores) {
        let (name, result, _) = u.await.expect("task");
        result.expect("no hang").unwrap_or_else(|e| panic!("{name}: the batch fails again after the restart: {e}"));
    }
    for (name, rows, whole) in stores.counts(&server).await {
        assert_eq!(rows, whole as i64, "{name} after writing the batch again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_fast_during_batch_upserts_loses_nothing_half_and_the_pool_recovers_within_5_s() {
    restart_during_batch_upserts(StopMode::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_immediate_during_batch_upserts_loses_nothing_half_and_the_pool_recovers_within_5_s() {
    restart_during_batch_upserts(StopMode::Immediate).await;
}
