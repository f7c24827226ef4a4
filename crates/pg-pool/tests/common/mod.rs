//! Helpers shared by the integration tests: throwaway PostgreSQL servers with
//! this crate's settings (`server`, on `lightrag_pg_test_support::server`),
//! certificates made at run time (`certs`), and fresh databases and roles on
//! the shared test server (`fresh`, from `lightrag_pg_test_support`).
#![allow(dead_code, unreachable_pub)]

pub mod catalog;
pub mod certs;
pub mod server;

#[allow(unused_imports)] // not every test binary uses it
pub use lightrag_pg_test_support::fresh;
