//! The core behaviour suite (`lightrag_pg_core::testkit::doc_status_trials`)
//! against [`PgDocStatusStorage`] on the real server.

use std::sync::Arc;

use async_trait::async_trait;
use lightrag_pg_core::testkit::{self, DocStatusFactory};
use lightrag_pg_core::{DocStatusStorage, Result, Storage, Workspace};
use lightrag_pg_docstatus::PgDocStatusStorage;
use lightrag_pg_pool::PgPool;

/// Opens initialised [`PgDocStatusStorage`]s on one pool.
struct PgDocStatusFactory {
    pool: PgPool,
}

#[async_trait]
impl DocStatusFactory for PgDocStatusFactory {
    async fn open(&self, ws: &Workspace) -> Result<Arc<dyn DocStatusStorage>> {
        let s = PgDocStatusStorage::new(self.pool.clone(), ws.clone())?;
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
    let trials = testkit::doc_status_trials(Arc::new(PgDocStatusFactory { pool }), rt);
    testkit::run(trials);
}
