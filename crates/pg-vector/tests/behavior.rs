//! The core behaviour suite against the real server, four times: with HNSW on
//! `vector` (the default), HNSW on `halfvec` (as for 3,072-dimension models), no
//! index (exact search), and HNSW in the partitioned layout (one partition per
//! workspace). Each configuration has its own tables, named by the model-name
//! suffix, so they never share an index.

use std::sync::Arc;

use async_trait::async_trait;
use lightrag_pg_core::testkit::{self, VectorFactory};
use lightrag_pg_core::{DistanceMetric, Result, Storage, VectorNamespace, VectorStorage, Workspace};
use lightrag_pg_pool::PgPool;
use lightrag_pg_vector::{IndexKind, PgVectorConfig, PgVectorStorage};

struct Factory {
    pool: PgPool,
    label: &'static str,
    index: IndexKind,
    partitioned: bool,
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
            .with_model_name(format!("bt_{}_{}", self.label, metric.as_str()))
            .with_metric(metric)
            .with_index(self.index)
            .with_partitioned(self.partitioned);
        let storage = PgVectorStorage::new(self.pool.clone(), ws.clone(), config)?;
        storage.initialize().await?;
        Ok(Arc::new(storage))
    }
}

fn main() {
    let rt = testkit::runtime();
    let pool = rt.block_on(async { lightrag_pg_test_support::test_database().await.pool().await });
    let hnsw = IndexKind::Hnsw { m: 16, ef_construction: 64 };
    let halfvec = IndexKind::HnswHalfvec { m: 16, ef_construction: 64 };
    let mut trials = Vec::new();
    for (label, index, partitioned) in
        [("hnsw", hnsw, false), ("half", halfvec, false), ("exact", IndexKind::None, false), ("part", hnsw, true)]
    {
        let factory = Arc::new(Factory { pool: pool.clone(), label, index, partitioned });
        trials.extend(testkit::vector_trials(factory, rt.clone()).into_iter().map(|t| t.with_kind(label)));
    }
    testkit::run(trials)
}
