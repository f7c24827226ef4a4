#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::fmt;

use lightrag_pg_pool::{PgConfig, PgPool};

#[cfg(feature = "docker")]
mod docker;
mod docker_check;
pub mod embedding;
pub mod fresh;
pub mod init_scripts;
pub mod llm;
pub mod python;
pub mod replica;
pub mod server;

#[cfg(feature = "docker")]
pub use docker::{PID_LABEL, container_database};
pub use docker_check::{NO_DOCKER_ENV, require_docker};
pub use embedding::{JsonEndpoint, embedding_endpoint, json_endpoint, rerank_endpoint};
pub use llm::LlmEndpoint;

/// A fresh random workspace for one test (re-exported from
/// `lightrag_pg_core::testkit`), so tests run in parallel on one server.
pub use lightrag_pg_core::testkit::unique_workspace;

/// A short random hex suffix (8 digits) for names of databases, roles,
/// directories.
pub fn suffix() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// A LightRAG working directory of the shared datasets: under
/// `LIGHTRAG_SHARED_DATASETS`, else `../shared/datasets` beside the workspace
/// (where `cargo xtask interop` finds them too). Read in place, never copied.
///
/// # Panics
/// When the directory is missing: the tests that need it fail, never skip.
pub fn dataset(name: &str) -> std::path::PathBuf {
    let root = std::env::var_os("LIGHTRAG_SHARED_DATASETS")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"));
    let dir = root.join(name);
    assert!(dir.is_dir(), "dataset {} is missing (set LIGHTRAG_SHARED_DATASETS)", dir.display());
    dir
}

/// The local image the `docker` fallback starts (`cargo xtask image` builds it).
pub const IMAGE_NAME: &str = "lightrag-pg/postgres";
/// The local image's tag.
pub const IMAGE_TAG: &str = "17";
/// The line the server prints once it accepts connections.
pub const READY_LINE: &str = "database system is ready to accept connections";

/// Where a [`TestDatabase`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// The server `POSTGRES_*` or `DATABASE_URL` point at.
    Environment,
    /// A container of the local image, started by testcontainers.
    Container,
}

/// A database for tests. Cheap to drop: with [`Source::Container`] the
/// container lives as long as the test process (see `container_database`).
#[derive(Debug)]
pub struct TestDatabase {
    config: PgConfig,
    source: Source,
    #[cfg(feature = "docker")]
    _container: Option<std::sync::Arc<docker::Container>>,
}

/// Why no test database could be had. Its message says what to do.
#[derive(Debug, Clone)]
pub struct NoDatabase {
    message: String,
}

impl NoDatabase {
    fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

impl fmt::Display for NoDatabase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NoDatabase {}

/// What to do when no database is configured.
fn not_configured() -> String {
    "no test database: neither POSTGRES_HOST nor DATABASE_URL is set. Run the tests with \
     `cargo xtask test` (it provides PostgreSQL 17 with pgvector and AGE and sets them), or \
     start a server with `cargo xtask pg up` and export what it prints \
     (eval \"$(cargo xtask pg env)\"). Integration tests fail, never skip, without a database."
        .to_owned()
}

fn env_configured() -> bool {
    ["POSTGRES_HOST", "DATABASE_URL"].iter().any(|k| std::env::var(k).is_ok_and(|v| !v.trim().is_empty()))
}

/// The database every integration test uses:
/// 1. the server that `POSTGRES_*` or `DATABASE_URL` point at (read by
///    [`PgConfig::from_env`], the one parser of LightRAG's variables);
/// 2. otherwise, with the `docker` feature, a container of the local image
///    `lightrag-pg/postgres:17`, one per test binary;
/// 3. otherwise it panics with a message that names `cargo xtask pg up`.
///
/// # Panics
/// When no database can be had: integration tests fail, they never skip.
pub async fn test_database() -> TestDatabase {
    match try_test_database().await {
        Ok(db) => db,
        Err(e) => panic!("{e}"),
    }
}

/// Like [`test_database`], returning the reason instead of panicking.
///
/// # Errors
/// [`NoDatabase`] when the settings are invalid or no database can be had; its
/// message says what to do.
pub async fn try_test_database() -> Result<TestDatabase, NoDatabase> {
    if env_configured() {
        let config = PgConfig::from_env()
            .map_err(|e| NoDatabase::new(format!("the test database settings are invalid: {e}")))?;
        return Ok(TestDatabase {
            config,
            source: Source::Environment,
            #[cfg(feature = "docker")]
            _container: None,
        });
    }
    #[cfg(feature = "docker")]
    {
        container_database()
            .await
            .map_err(|e| NoDatabase::new(format!("{}\nThe testcontainers fallback failed too: {e}", not_configured())))
    }
    #[cfg(not(feature = "docker"))]
    {
        Err(NoDatabase::new(not_configured()))
    }
}

impl TestDatabase {
    /// The connection settings.
    pub fn config(&self) -> PgConfig {
        self.config.clone()
    }

    /// Where the database comes from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// A new pool on the current tokio runtime, connected. A pool's connections
    /// live on the runtime that made them, so each `#[tokio::test]` makes its own;
    /// a `harness = false` suite with one runtime can share one.
    ///
    /// # Panics
    /// When the server cannot be reached; the message names `cargo xtask pg up`.
    pub async fn pool(&self) -> PgPool {
        PgPool::connect(self.config.clone()).await.unwrap_or_else(|e| {
            panic!(
                "cannot reach the test database at {} ({e}); is it running? `cargo xtask pg up` starts it",
                self.config.primary_host()
            )
        })
    }
}

/// A pool on the test database (one per test: a pool belongs to its runtime).
///
/// # Panics
/// When no database can be had, or it cannot be reached.
pub async fn pool() -> PgPool {
    test_database().await.pool().await
}

/// A pool on the test database with a changed configuration.
///
/// # Panics
/// As [`pool`].
pub async fn pool_with(change: impl FnOnce(&mut PgConfig)) -> PgPool {
    let mut cfg = test_database().await.config();
    change(&mut cfg);
    PgPool::connect(cfg).await.expect("pool with a custom configuration")
}

/// `v` as a JSON object.
///
/// # Panics
/// When `v` is not an object.
pub fn obj(v: serde_json::Value) -> lightrag_pg_core::JsonObject {
    v.as_object().cloned().expect("a JSON object")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_message_says_what_to_do() {
        let m = not_configured();
        assert!(m.contains("cargo xtask pg up"), "{m}");
        assert!(m.contains("cargo xtask test"), "{m}");
    }

    #[test]
    fn workspaces_are_unique() {
        assert_ne!(unique_workspace("t"), unique_workspace("t"));
    }
}
