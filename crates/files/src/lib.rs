#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod doc_status;
pub mod error;
pub mod export;
pub mod generation;
pub mod graphml;
pub mod jsonio;
pub mod kv;
pub mod migrate;
pub mod names;
pub mod nano;
mod nano_index;
pub mod report;
pub mod scan;
mod spool;
pub mod synthetic;

pub use error::{MigrateError, Position};
pub use export::{ExportOptions, KeyLister, Source, StaticKeys, export};
pub use generation::FormatGeneration;
pub use migrate::{
    FnVectorOpener, LeaveAlone, MigrateOptions, ProgressEvent, ProgressFn, Target, VectorOpener, migrate,
};
pub use names::LegacyNames;
pub use report::{ExportReport, MigrationReport, SkipReason, SkippedRecord, Verification, Warning};
pub use scan::Inventory;
