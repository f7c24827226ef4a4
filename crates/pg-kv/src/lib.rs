#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod mapping;
mod storage;

pub use storage::PgKvStorage;
