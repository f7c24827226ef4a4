//! Factories that open the memory backends for the behaviour suite
//! ([`crate::testkit`]).

use std::sync::Arc;

use async_trait::async_trait;

use super::{MemoryDocStatusStorage, MemoryGraphStorage, MemoryKvStorage, MemoryVectorStorage};
use crate::testkit::{DocStatusFactory, GraphFactory, KvFactory, VectorFactory};
use crate::{
    DistanceMetric, DocStatusStorage, GraphStorage, KvNamespace, KvStorage, Result, Storage, VectorNamespace,
    VectorStorage, Workspace,
};

/// Opens [`MemoryKvStorage`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryKvFactory;

/// Opens [`MemoryVectorStorage`]s with the default threshold.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryVectorFactory;

/// Opens [`MemoryGraphStorage`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryGraphFactory;

/// Opens [`MemoryDocStatusStorage`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryDocStatusFactory;

#[async_trait]
impl KvFactory for MemoryKvFactory {
    async fn open(&self, ns: KvNamespace, ws: &Workspace) -> Result<Arc<dyn KvStorage>> {
        let s = MemoryKvStorage::new(ns, ws.clone());
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}

#[async_trait]
impl VectorFactory for MemoryVectorFactory {
    async fn open(
        &self,
        ns: VectorNamespace,
        ws: &Workspace,
        dimension: usize,
        metric: DistanceMetric,
    ) -> Result<Arc<dyn VectorStorage>> {
        let s = MemoryVectorStorage::new(ns, ws.clone(), dimension, metric);
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}

#[async_trait]
impl GraphFactory for MemoryGraphFactory {
    async fn open(&self, ws: &Workspace) -> Result<Arc<dyn GraphStorage>> {
        let s = MemoryGraphStorage::new(ws.clone());
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}

#[async_trait]
impl DocStatusFactory for MemoryDocStatusFactory {
    async fn open(&self, ws: &Workspace) -> Result<Arc<dyn DocStatusStorage>> {
        let s = MemoryDocStatusStorage::new(ws.clone());
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}
