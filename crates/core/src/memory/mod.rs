//! In-memory backends for all four traits: the embedded default for programs and
//! tests that need no server. They keep the whole contract and pass the same
//! behaviour suite as the PostgreSQL backends.
//!
//! Data lives in a process-wide registry keyed by namespace and workspace (and, for
//! vectors, dimension), so two instances opened for the same namespace and
//! workspace see the same records, as two connections to one database would, and
//! `drop_all` on one workspace leaves the others intact. State is guarded by
//! `parking_lot` locks that are never held across an `.await`; every call is
//! atomic, and a write validates its whole input (with the same core helpers the
//! PostgreSQL backends use) before it changes anything.
//!
//! ```
//! use lightrag_pg_core::memory::MemoryKvStorage;
//! use lightrag_pg_core::{KvNamespace, KvStorage, Workspace};
//!
//! # tokio_test_block_on(async {
//! let ws = Workspace::new("docs-example").unwrap();
//! let kv = MemoryKvStorage::new(KvNamespace::FullDocs, ws.clone());
//! let record = serde_json::json!({"content": "hello"}).as_object().unwrap().clone();
//! kv.upsert(vec![("doc-1".to_owned(), record)]).await.unwrap();
//!
//! // Another instance of the same namespace and workspace sees the record.
//! let again = MemoryKvStorage::new(KvNamespace::FullDocs, ws);
//! assert_eq!(again.get_by_id("doc-1").await.unwrap().unwrap()["content"], "hello");
//! # });
//! # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
//! #     futures::executor::block_on(f)
//! # }
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;

mod doc_status;
#[cfg(feature = "testkit")]
mod factories;
mod graph;
mod kv;
mod vector;

pub use doc_status::MemoryDocStatusStorage;
#[cfg(feature = "testkit")]
pub use factories::{MemoryDocStatusFactory, MemoryGraphFactory, MemoryKvFactory, MemoryVectorFactory};
pub use graph::MemoryGraphStorage;
pub use kv::MemoryKvStorage;
pub use vector::{DEFAULT_THRESHOLD, MemoryVectorStorage};

/// A process-wide map from a storage key to its shared state.
struct Registry<K, V> {
    map: Mutex<BTreeMap<K, Arc<V>>>,
}

impl<K: Ord, V: Default> Registry<K, V> {
    const fn new() -> Self {
        Self { map: parking_lot::const_mutex(BTreeMap::new()) }
    }

    /// The state for `key`, created empty on first use.
    fn shared(&self, key: K) -> Arc<V> {
        Arc::clone(self.map.lock().entry(key).or_default())
    }
}

/// The current time in whole seconds since the Unix epoch.
fn epoch_seconds() -> i64 {
    chrono::Utc::now().timestamp()
}
