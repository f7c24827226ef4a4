#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod doc_status;
pub mod error;
pub mod graph;
pub mod ids;
pub mod kv;
pub mod namespace;
pub mod pyjson;
pub mod storage;
pub mod vector;
pub mod workspace;

#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use doc_status::{
    DocProcessingStatus, DocStatus, DocStatusCursor, DocStatusPage, PageRequest, PagedDocs, SortDirection, SortField,
    StatusCounts,
};
pub use error::{BoxError, Error, Result};
pub use graph::{EdgeRecord, KnowledgeGraph, KnowledgeGraphEdge, KnowledgeGraphNode, Properties};
pub use kv::JsonObject;
pub use namespace::{KvNamespace, Namespace, StorageKind, VectorNamespace};
pub use storage::{
    DocStatusStorage, Embedder, GraphStorage, KvStorage, NO_BULK_LOAD, Storage, VectorLoad, VectorStorage,
};
pub use vector::{DistanceMetric, VectorHit, VectorQuery, VectorRecord};
pub use workspace::Workspace;
