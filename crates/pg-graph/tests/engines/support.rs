//! Opening each engine on a fresh workspace, and cleaning up after.

use std::sync::Arc;

use lightrag_pg_core::{GraphStorage, Storage, Workspace, testkit};
use lightrag_pg_graph::{AgeGraphStorage, GraphEngine, TableGraphStorage};
use lightrag_pg_pool::PgPool;

/// Both engines, for tests that run on each.
pub(crate) const ENGINES: [GraphEngine; 2] = [GraphEngine::Age, GraphEngine::Table];

/// A pool from the test database, with a modest connection cap (the server is
/// shared by several test binaries).
pub(crate) async fn pool(max_connections: u32) -> PgPool {
    let db = lightrag_pg_test_support::test_database().await;
    let mut config = db.config();
    config.max_connections = max_connections;
    PgPool::connect(config).await.expect("test database reachable")
}

/// One opened storage and what is needed to clean it up.
pub(crate) struct Opened {
    pub(crate) pool: PgPool,
    pub(crate) ws: Workspace,
    pub(crate) engine: GraphEngine,
    pub(crate) age: Option<AgeGraphStorage>,
    pub(crate) table: Option<TableGraphStorage>,
}

impl Opened {
    pub(crate) fn storage(&self) -> &dyn GraphStorage {
        match (&self.age, &self.table) {
            (Some(a), _) => a,
            (_, Some(t)) => t,
            _ => unreachable!(),
        }
    }

    pub(crate) fn arc(&self) -> Arc<dyn GraphStorage> {
        match (&self.age, &self.table) {
            (Some(a), _) => Arc::new(a.clone()),
            (_, Some(t)) => Arc::new(t.clone()),
            _ => unreachable!(),
        }
    }

    pub(crate) fn age(&self) -> &AgeGraphStorage {
        self.age.as_ref().expect("an AGE storage")
    }

    /// Removes everything the test created (the AGE graph, or the workspace's rows).
    pub(crate) async fn cleanup(self) {
        if let Some(a) = &self.age {
            a.drop_graph().await.expect("drop graph");
        }
        if let Some(t) = &self.table {
            t.drop_all().await.expect("drop rows");
        }
    }
}

/// Opens and initialises `engine` on a fresh workspace named after `prefix`.
pub(crate) async fn open(engine: GraphEngine, prefix: &str) -> Opened {
    open_in(pool(8).await, engine, testkit::unique_workspace(prefix)).await
}

/// Opens and initialises `engine` on `ws` with `pool`.
pub(crate) async fn open_in(pool: PgPool, engine: GraphEngine, ws: Workspace) -> Opened {
    let (age, table) = match engine {
        GraphEngine::Age => (Some(AgeGraphStorage::new(pool.clone(), ws.clone()).expect("graph name")), None),
        GraphEngine::Table => (None, Some(TableGraphStorage::new(pool.clone(), ws.clone()))),
    };
    let opened = Opened { pool, ws, engine, age, table };
    opened.storage().initialize().await.expect("initialize");
    opened
}
