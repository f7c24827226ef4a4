#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod admin;
pub mod bulk;
mod catalog;
pub mod codec;
mod columns;
pub mod config;
pub mod convert;
mod index;
mod legacy;
pub mod partition;
pub mod record;
mod search;
mod sql;
pub mod storage;
mod table;
mod write;

pub use bulk::{BulkLoadOptions, BulkLoadReport, BulkMethod, BulkMode, BulkProgress, BulkStage, SkippedRecord};
pub use config::{
    DEFAULT_BULK_THRESHOLD_ROWS, DEFAULT_THRESHOLD, DEFAULT_UNNEST_MAX_ROWS, IndexKind, IndexPlan, PgVectorConfig,
};
pub use convert::{ConversionReport, ConvertOptions, ConvertProgress};
pub use lightrag_pg_pool::ddl::{VectorColumn, VectorIndex};
pub use storage::{Layout, PgVectorStorage};
