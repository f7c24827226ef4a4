//! Each feature combination opens exactly the backends it was built with and
//! names the feature of every one it lacks. `cargo xtask ci` runs this file
//! with each backend feature alone and with none (as well as with all), so
//! every `cfg(not(...))` branch of the facade is compiled and exercised.

use lightrag_pg::{Error, StoragesBuilder};

/// Asserts that `result` is a storage when `built`, else
/// [`Error::Unsupported`] naming `feature`.
fn check<T>(result: lightrag_pg::Result<T>, built: bool, feature: &str) {
    match result {
        Ok(_) => assert!(built, "a storage that needs `{feature}` opened in a build without it"),
        Err(e) => {
            assert!(!built, "the `{feature}` storage is missing from a build with it: {e}");
            assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
            assert!(e.to_string().contains(feature), "the error names the missing feature `{feature}`: {e}");
        }
    }
}

#[cfg(feature = "pool")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_build_opens_exactly_the_backends_it_has() {
    use lightrag_pg::{Backend, KvNamespace, VectorNamespace};

    let db = lightrag_pg_test_support::fresh::FreshDb::create("facade_features").await;
    let builder =
        StoragesBuilder::new().backend(Backend::Postgres).pool(db.pool(4).await).workspace("features").embedding_dim(8);
    // The default engine, AGE, is not in a build with only the table engine.
    #[cfg(all(feature = "graph-table", not(feature = "graph-age")))]
    let builder = builder.graph("table".parse().expect("an engine name"));
    let storages = builder.build().await.expect("every backend of this build opens");
    for ns in KvNamespace::ALL {
        check(storages.kv(ns), cfg!(feature = "kv"), "kv");
    }
    for ns in VectorNamespace::ALL {
        check(storages.vector(ns), cfg!(feature = "vector"), "vector");
    }
    check(storages.graph(), cfg!(any(feature = "graph-age", feature = "graph-table")), "graph-age or graph-table");
    check(storages.doc_status(), cfg!(feature = "docstatus"), "docstatus");
    storages.drop_workspace().await.expect("drop_workspace");
}

#[cfg(any(
    all(feature = "graph-age", not(feature = "graph-table")),
    all(feature = "graph-table", not(feature = "graph-age"))
))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_with_one_graph_engine_refuses_the_other_naming_its_feature() {
    let (other, feature) = if cfg!(feature = "graph-age") { ("table", "graph-table") } else { ("age", "graph-age") };
    let built = StoragesBuilder::new()
        .pool(lightrag_pg_test_support::pool().await)
        .workspace(lightrag_pg_test_support::unique_workspace("facade_one_engine").as_str())
        .graph(other.parse().expect("an engine name"))
        .build()
        .await;
    check(built, false, feature);
}

#[cfg(not(feature = "pool"))]
#[tokio::test]
async fn a_build_without_postgres_backends_refuses_postgres_naming_them() {
    let built = StoragesBuilder::new().backend(lightrag_pg::Backend::Postgres).build().await;
    check(built, false, "kv, vector, graph-age, graph-table or docstatus");
}

#[cfg(not(any(feature = "pool", feature = "memory")))]
#[tokio::test]
async fn a_build_without_any_backend_refuses_to_open_naming_the_memory_feature() {
    check(StoragesBuilder::new().build().await, false, "memory");
}

#[cfg(feature = "memory")]
#[tokio::test]
async fn the_memory_build_opens_all_four_storages_without_a_server() {
    let storages = StoragesBuilder::new().backend(lightrag_pg::Backend::Memory).build().await.expect("memory");
    check(storages.kv(lightrag_pg::KvNamespace::FullDocs), true, "memory");
    check(storages.vector(lightrag_pg::VectorNamespace::Chunks), true, "memory");
    check(storages.graph(), true, "memory");
    check(storages.doc_status(), true, "memory");
}
