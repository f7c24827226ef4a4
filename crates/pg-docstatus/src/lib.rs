#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod row;
mod storage;

pub use storage::PgDocStatusStorage;
