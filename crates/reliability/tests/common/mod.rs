//! Helpers shared by the reliability tests: throwaway servers from the sandbox
//! root with this crate's settings (`server`, on
//! `lightrag_pg_test_support::server`), a stallable TCP proxy (`proxy`), a
//! PgBouncer process (`pgbouncer`), a tracing capture (`capture`) and record
//! generators (`data`). Fresh databases and roles on the shared server come
//! from `lightrag_pg_test_support::fresh`.
#![allow(dead_code, unreachable_pub, missing_docs, clippy::print_stdout, clippy::print_stderr)]

pub mod capture;
pub mod data;
pub mod pgbouncer;
pub mod proxy;
pub mod server;

use lightrag_pg_pool::{PgConfig, PgPool};
pub use lightrag_pg_test_support::server::free_port;
pub use lightrag_pg_test_support::suffix;

/// The shared test server's settings (`POSTGRES_*`).
pub async fn shared_config() -> PgConfig {
    lightrag_pg_test_support::test_database().await.config()
}

/// A pool on the shared test server with at most `max` connections.
pub async fn shared_pool(max: u32) -> PgPool {
    let mut c = shared_config().await;
    c.max_connections = max;
    PgPool::connect(c).await.expect("the shared test server is reachable")
}

/// Runs `body`, then `cleanup` even when `body` panicked, then re-raises the
/// panic: so a failing test leaves nothing behind on the shared server.
pub async fn with_cleanup(body: impl std::future::Future<Output = ()>, cleanup: impl std::future::Future<Output = ()>) {
    use futures::FutureExt;
    let outcome = std::panic::AssertUnwindSafe(body).catch_unwind().await;
    cleanup.await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
