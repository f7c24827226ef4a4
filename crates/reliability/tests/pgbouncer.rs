//! The KV, vector, doc-status and table-graph behaviour suites through
//! PgBouncer in transaction-pooling mode, run by this test on a loopback port
//! in front of the shared test server. Every trial is named `[pgbouncer] …`.
//!
//! The storages send named prepared statements (tokio-postgres' protocol-level
//! Parse), so transaction pooling needs PgBouncer ≥ 1.21 with
//! `max_prepared_statements`; the helper finds one (Debian 13's, from the
//! sandbox root, when the host has Debian 12's 1.18) or fails.

#![allow(clippy::print_stdout)] // the tests print what they measured

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use libtest_mimic::{Arguments, Failed, Trial};
use lightrag_pg_core::testkit::{self, DocStatusFactory, GraphFactory, KvFactory, VectorFactory};
use lightrag_pg_core::{
    DistanceMetric, DocStatusStorage, GraphStorage, KvNamespace, KvStorage, Result, Storage, VectorNamespace,
    VectorStorage, Workspace,
};
use lightrag_pg_docstatus::PgDocStatusStorage;
use lightrag_pg_graph::TableGraphStorage;
use lightrag_pg_kv::PgKvStorage;
use lightrag_pg_pool::{PgPool, db_error};
use lightrag_pg_vector::{PgVectorConfig, PgVectorStorage};

struct Factory {
    pool: PgPool,
}

#[async_trait]
impl KvFactory for Factory {
    async fn open(&self, ns: KvNamespace, ws: &Workspace) -> Result<Arc<dyn KvStorage>> {
        let s = PgKvStorage::new(self.pool.clone(), ns, ws.clone())?;
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}

#[async_trait]
impl VectorFactory for Factory {
    async fn open(
        &self,
        ns: VectorNamespace,
        ws: &Workspace,
        dimension: usize,
        metric: DistanceMetric,
    ) -> Result<Arc<dyn VectorStorage>> {
        let config = PgVectorConfig::new(ns, dimension)
            .with_model_name(format!("pgbouncer_{}", metric.as_str()))
            .with_metric(metric);
        let s = PgVectorStorage::new(self.pool.clone(), ws.clone(), config)?;
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}

#[async_trait]
impl DocStatusFactory for Factory {
    async fn open(&self, ws: &Workspace) -> Result<Arc<dyn DocStatusStorage>> {
        let s = PgDocStatusStorage::new(self.pool.clone(), ws.clone())?;
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}

#[async_trait]
impl GraphFactory for Factory {
    async fn open(&self, ws: &Workspace) -> Result<Arc<dyn GraphStorage>> {
        let s = TableGraphStorage::new(self.pool.clone(), ws.clone());
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}

fn main() {
    let rt = testkit::runtime();
    let upstream = rt.block_on(common::shared_config());
    let bouncer = common::pgbouncer::PgBouncer::start(&upstream, 8);
    println!(
        "pgbouncer {}.{} on 127.0.0.1:{} in transaction mode, max_prepared_statements = 200",
        bouncer.version.0, bouncer.version.1, bouncer.port
    );
    let mut config = bouncer.config(&upstream);
    config.max_connections = 16;
    let pool = rt
        .block_on(PgPool::connect(config))
        .unwrap_or_else(|e| panic!("no connection through pgbouncer: {e}\n{}", bouncer.log()));
    let factory = Arc::new(Factory { pool: pool.clone() });

    let mut trials: Vec<Trial> = Vec::new();
    let (p, r, port) = (pool.clone(), rt.clone(), upstream.hosts[0].1);
    trials.push(Trial::test("pgbouncer::calls_reach_the_server_through_pgbouncer", move || {
        r.block_on(async {
            let conn = p.get().await.map_err(|e| Failed::from(e.to_string()))?;
            let row = conn
                .query_one("SELECT inet_server_port()", &[])
                .await
                .map_err(|e| Failed::from(db_error(e).to_string()))?;
            let server_port: i32 = row.get(0);
            if server_port != i32::from(port) {
                return Err(format!("reached port {server_port}, not the server's {port}").into());
            }
            Ok(())
        })
    }));
    // The unnamed statement (Parse, Bind, Execute and Sync in one round trip)
    // works behind any PgBouncer version.
    let (p, r) = (pool.clone(), rt.clone());
    trials.push(Trial::test("pgbouncer::unnamed_statements_of_query_typed_survive_transaction_pooling", move || {
        r.block_on(async {
            let calls = (0..200i32).map(|i| {
                let p = p.clone();
                async move {
                    let conn = p.get().await.map_err(|e| e.to_string())?;
                    let rows = conn
                        .query_typed(
                            "SELECT $1::int4 + 1",
                            &[(&i, lightrag_pg_pool::tokio_postgres::types::Type::INT4)],
                        )
                        .await
                        .map_err(|e| db_error(e).to_string())?;
                    let v: i32 = rows[0].get(0);
                    if v == i + 1 { Ok(()) } else { Err(format!("{i} + 1 gave {v}")) }
                }
            });
            for r in futures::future::join_all(calls).await {
                r.map_err(Failed::from)?;
            }
            Ok(())
        })
    }));
    trials.extend(testkit::kv_trials(factory.clone(), rt.clone()));
    trials.extend(testkit::vector_trials(factory.clone(), rt.clone()));
    trials.extend(testkit::doc_status_trials(factory.clone(), rt.clone()));
    trials.extend(testkit::graph_trials(factory, rt.clone()));
    let trials = trials.into_iter().map(|t| t.with_kind("pgbouncer")).collect();

    let conclusion = libtest_mimic::run(&Arguments::from_args(), trials);
    if conclusion.has_failed() {
        println!("--- pgbouncer log ---\n{}", bouncer.log().lines().rev().take(40).collect::<Vec<_>>().join("\n"));
    }
    drop(pool);
    drop(bouncer);
    conclusion.exit()
}
