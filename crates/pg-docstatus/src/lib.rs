#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod row;
mod storage;

pub use storage::{MAX_BATCH_BYTES, PgDocStatusStorage};
