#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(feature = "admin")]
pub mod admin;
mod builder;

pub use builder::{Backend, Storages, StoragesBuilder};
pub use lightrag_pg_core::{
    DistanceMetric, DocProcessingStatus, DocStatus, DocStatusStorage, EdgeRecord, Error, GraphStorage, JsonObject,
    KnowledgeGraph, KvNamespace, KvStorage, Namespace, Properties, Result, Storage, VectorHit, VectorNamespace,
    VectorQuery, VectorRecord, VectorStorage, Workspace,
};
#[cfg(feature = "pool")]
pub use lightrag_pg_pool::{GraphEngine, Sources, StoreSelection};

/// The contract crate: traits, types, errors, key formats.
pub use lightrag_pg_core as core;

/// The connection pool, configuration and doctor.
#[cfg(feature = "pool")]
pub use lightrag_pg_pool as pool;

/// The PostgreSQL key-value backend.
#[cfg(feature = "kv")]
pub use lightrag_pg_kv as kv;

/// The pgvector backend.
#[cfg(feature = "vector")]
pub use lightrag_pg_vector as vector;

/// The graph backends (AGE and plain tables).
#[cfg(any(feature = "graph-age", feature = "graph-table"))]
pub use lightrag_pg_graph as graph;

/// The doc-status backend.
#[cfg(feature = "docstatus")]
pub use lightrag_pg_docstatus as docstatus;

/// Retrieval: LightRAG's `aquery_data` (entities, relations, chunks and the
/// context string) over the PostgreSQL storages.
#[cfg(feature = "query")]
pub use lightrag_pg_query as query;

/// The query server: LightRAG server's `/query/data`, `/query`
/// (`only_need_context`), graph-read and `/health` routes over HTTP.
#[cfg(feature = "serve")]
pub use lightrag_pg_serve as serve;

/// The in-memory backends.
#[cfg(feature = "memory")]
pub use lightrag_pg_core::memory;
