#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod codec;
pub mod config;
pub mod record;
mod sql;
pub mod storage;

pub use config::{
    DEFAULT_THRESHOLD, DEFAULT_UNNEST_MAX_ROWS, IndexKind, IndexPlan, PgVectorConfig,
};
pub use lightrag_pg_pool::ddl::{VectorColumn, VectorIndex};
pub use storage::PgVectorStorage;
