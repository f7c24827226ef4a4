//! Test helpers, shared with the other storage crates through
//! `lightrag-pg-test-support`: a pool per test, a fresh workspace, and what
//! Python LightRAG binds (`json.dumps` text sent as JSONB, as asyncpg does).

#![allow(unused_imports, unreachable_pub)]

pub use lightrag_pg_test_support::python::{JsonText, py_dumps};
pub use lightrag_pg_test_support::unique_workspace as workspace;
pub use lightrag_pg_test_support::{obj, pool, pool_with};
