//! Helpers shared by the integration tests: throwaway PostgreSQL servers run from
//! the sandbox root (`server`), certificates made at run time (`certs`), and
//! fresh databases on the shared test server (`fresh`).
#![allow(dead_code, unreachable_pub)]

pub mod catalog;
pub mod certs;
pub mod fresh;
pub mod server;

/// A short random hex suffix for names.
pub fn suffix() -> String {
    format!("{:08x}", rand::random::<u32>())
}
