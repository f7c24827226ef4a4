//! The behaviour suite every backend runs.
//!
//! A backend crate provides a factory and runs the trials from its own
//! `tests/behavior.rs` (a `harness = false` test):
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use lightrag_pg_core::testkit::{self, KvFactory};
//! # fn factory() -> Arc<dyn KvFactory> { unimplemented!() }
//! let rt = testkit::runtime();
//! let trials = testkit::kv_trials(factory(), rt);
//! testkit::run(trials);
//! ```
//!
//! Each case checks one behaviour in its own fresh workspace (so trials run in
//! parallel on one server), drops what it wrote when it passes, and leaves it for
//! inspection when it fails; a failure names the call, the values and the
//! workspace. Trial names start with the trait's kind: `kv::`, `vector::`,
//! `graph::`, `doc_status::`.
//!
//! The suite respects the limits of the PostgreSQL backends: ids of at most 255
//! characters (512 for `entity_chunks`/`relation_chunks`), `content_summary` of at
//! most 255 characters, 1 MB values only in `content`/`description`, doc-status
//! timestamps in whole microseconds and KV/vector timestamps in whole seconds,
//! vector components that are exact in half precision, and small vector
//! dimensions (except one case that uses a realistic one).

use std::sync::Arc;

use async_trait::async_trait;
use libtest_mimic::{Arguments, Trial};

mod support;

mod doc_status;
mod graph;
mod kv;
mod vector;

pub use doc_status::doc_status_trials;
pub use graph::graph_trials;
pub use kv::kv_trials;
pub use vector::vector_trials;

pub use crate::memory::{MemoryDocStatusFactory, MemoryGraphFactory, MemoryKvFactory, MemoryVectorFactory};

use crate::{
    DistanceMetric, DocStatusStorage, GraphStorage, KvNamespace, KvStorage, Result, VectorNamespace, VectorStorage,
    Workspace,
};

/// Opens key-value storages for the suite.
#[async_trait]
pub trait KvFactory: Send + Sync + 'static {
    /// An initialised storage for `ns` in `ws`.
    ///
    /// # Errors
    /// When the backend cannot be opened.
    async fn open(&self, ns: KvNamespace, ws: &Workspace) -> Result<Arc<dyn KvStorage>>;
}

/// Opens vector storages for the suite.
#[async_trait]
pub trait VectorFactory: Send + Sync + 'static {
    /// An initialised storage for `ns` in `ws` with the given dimension and metric.
    ///
    /// # Errors
    /// When the backend cannot be opened.
    async fn open(
        &self,
        ns: VectorNamespace,
        ws: &Workspace,
        dimension: usize,
        metric: DistanceMetric,
    ) -> Result<Arc<dyn VectorStorage>>;
}

/// Opens graph storages for the suite.
#[async_trait]
pub trait GraphFactory: Send + Sync + 'static {
    /// An initialised graph storage for `ws`.
    ///
    /// # Errors
    /// When the backend cannot be opened.
    async fn open(&self, ws: &Workspace) -> Result<Arc<dyn GraphStorage>>;
}

/// Opens doc-status storages for the suite.
#[async_trait]
pub trait DocStatusFactory: Send + Sync + 'static {
    /// An initialised doc-status storage for `ws`.
    ///
    /// # Errors
    /// When the backend cannot be opened.
    async fn open(&self, ws: &Workspace) -> Result<Arc<dyn DocStatusStorage>>;
}

/// A multi-threaded runtime shared by the trials of one test binary.
///
/// # Panics
/// When the runtime cannot be built.
pub fn runtime() -> Arc<tokio::runtime::Runtime> {
    Arc::new(tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime"))
}

/// A fresh random workspace, so tests run in parallel on one server.
pub fn unique_workspace(prefix: &str) -> Workspace {
    let n: u64 = rand::random();
    Workspace::new(format!("{prefix}_{n:016x}")).expect("valid workspace")
}

/// Runs `trials` with the command line's libtest arguments (filters, `--list`,
/// `--test-threads`, …) and exits with the conventional status.
pub fn run(trials: Vec<Trial>) -> ! {
    let args = Arguments::from_args();
    libtest_mimic::run(&args, trials).exit()
}
