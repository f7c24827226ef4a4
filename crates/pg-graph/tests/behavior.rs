//! The core behaviour suite, run once per engine. Trials carry the engine as
//! their kind (`[age] graph::…`, `[table] graph::…`), so every trial name is
//! unique and `cargo test --test behavior -- '[age]'` selects one engine.
//!
//! The suite cleans up with `drop_all`, which (as in LightRAG) empties an AGE
//! graph but keeps it; the AGE graphs opened here are dropped after the run.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use libtest_mimic::{Arguments, Trial};
use lightrag_pg_core::testkit::{self, GraphFactory};
use lightrag_pg_core::{GraphStorage, Result, Storage, Workspace};
use lightrag_pg_graph::{AgeGraphStorage, TableGraphStorage};
use lightrag_pg_pool::PgPool;

#[derive(Debug)]
struct AgeFactory {
    pool: PgPool,
    opened: Mutex<Vec<AgeGraphStorage>>,
}

#[async_trait]
impl GraphFactory for AgeFactory {
    async fn open(&self, ws: &Workspace) -> Result<Arc<dyn GraphStorage>> {
        let s = AgeGraphStorage::new(self.pool.clone(), ws.clone())?;
        s.initialize().await?;
        self.opened.lock().expect("registry").push(s.clone());
        Ok(Arc::new(s))
    }
}

#[derive(Debug)]
struct TableFactory {
    pool: PgPool,
}

#[async_trait]
impl GraphFactory for TableFactory {
    async fn open(&self, ws: &Workspace) -> Result<Arc<dyn GraphStorage>> {
        let s = TableGraphStorage::new(self.pool.clone(), ws.clone());
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}

#[allow(clippy::print_stderr)] // a test binary reporting a cleanup failure
fn main() {
    let rt = testkit::runtime();
    let pool = rt.block_on(async {
        let db = lightrag_pg_test_support::test_database().await;
        let mut config = db.config();
        config.max_connections = 16;
        PgPool::connect(config).await.expect("test database reachable")
    });
    let age = Arc::new(AgeFactory { pool: pool.clone(), opened: Mutex::new(Vec::new()) });
    let table = Arc::new(TableFactory { pool });

    let mut trials: Vec<Trial> =
        testkit::graph_trials(age.clone(), rt.clone()).into_iter().map(|t| t.with_kind("age")).collect();
    trials.extend(testkit::graph_trials(table, rt.clone()).into_iter().map(|t| t.with_kind("table")));

    let conclusion = libtest_mimic::run(&Arguments::from_args(), trials);

    let opened = std::mem::take(&mut *age.opened.lock().expect("registry"));
    rt.block_on(async {
        for s in opened {
            if let Err(e) = s.drop_graph().await {
                eprintln!("cleanup: cannot drop AGE graph {}: {e}", s.graph_name());
            }
        }
    });
    conclusion.exit()
}
