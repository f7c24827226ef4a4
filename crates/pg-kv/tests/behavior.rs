//! The core behaviour suite (`lightrag_pg_core::testkit::kv_trials`) against
//! [`PgKvStorage`] on the real server.

use std::sync::Arc;

use async_trait::async_trait;
use lightrag_pg_core::testkit::{self, KvFactory};
use lightrag_pg_core::{KvNamespace, KvStorage, Result, Storage, Workspace};
use lightrag_pg_kv::PgKvStorage;
use lightrag_pg_pool::PgPool;

/// Opens initialised [`PgKvStorage`]s on one pool.
struct PgKvFactory {
    pool: PgPool,
}

#[async_trait]
impl KvFactory for PgKvFactory {
    async fn open(&self, ns: KvNamespace, ws: &Workspace) -> Result<Arc<dyn KvStorage>> {
        let s = PgKvStorage::new(self.pool.clone(), ns, ws.clone())?;
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}

fn main() {
    let rt = testkit::runtime();
    let pool = rt.block_on(async {
        let db = lightrag_pg_test_support::test_database().await;
        db.pool().await
    });
    let trials = testkit::kv_trials(Arc::new(PgKvFactory { pool }), rt);
    testkit::run(trials);
}
