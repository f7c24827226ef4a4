//! The behaviour suite against the in-memory backends: the same trials every
//! PostgreSQL backend runs against itself.

use std::sync::Arc;

use lightrag_pg_core::testkit::{
    self, MemoryDocStatusFactory, MemoryGraphFactory, MemoryKvFactory, MemoryVectorFactory,
};

fn main() {
    let rt = testkit::runtime();
    let mut trials = testkit::kv_trials(Arc::new(MemoryKvFactory), Arc::clone(&rt));
    trials.extend(testkit::vector_trials(Arc::new(MemoryVectorFactory), Arc::clone(&rt)));
    trials.extend(testkit::graph_trials(Arc::new(MemoryGraphFactory), Arc::clone(&rt)));
    trials.extend(testkit::doc_status_trials(Arc::new(MemoryDocStatusFactory), rt));
    testkit::run(trials);
}
