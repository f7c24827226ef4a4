//! Unusable embeddings in a real directory (NaN, infinite or all-zero, in the
//! matrix row or in the raw `vector` field) are skipped, named in the migration
//! report with their reason, and never reach PostgreSQL: the directory migrates
//! through the facade's storages into a fresh database.

mod common;

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{copy_of, edit_json, pg_storages, pg_target};
use lightrag_pg::core::VectorNamespace;
use lightrag_pg_files::nano::encode_vector;
use lightrag_pg_files::{MigrateOptions, SkipReason, migrate};
use lightrag_pg_test_support::fresh::FreshDb;
use serde_json::Value;

/// Overwrites row `row` of `vdb_<ns>.json`: every matrix component with
/// `matrix`, and the raw `vector` with `raw` in every component; returns its id.
fn spoil(dir: &Path, ns: &str, row: usize, matrix: Option<f32>, raw: Option<f32>) -> String {
    let mut id = String::new();
    edit_json(&dir.join(format!("vdb_{ns}.json")), |v| {
        let dim = v["embedding_dim"].as_u64().unwrap() as usize;
        if let Some(x) = matrix {
            let mut bytes = B64.decode(v["matrix"].as_str().unwrap()).unwrap();
            for b in bytes[row * dim * 4..(row + 1) * dim * 4].chunks_exact_mut(4) {
                b.copy_from_slice(&x.to_le_bytes());
            }
            v["matrix"] = Value::from(B64.encode(bytes));
        }
        if let Some(x) = raw {
            v["data"][row]["vector"] = Value::from(encode_vector(&vec![x; dim]));
        }
        id = v["data"][row]["__id__"].as_str().unwrap().to_owned();
    });
    id
}

#[tokio::test]
async fn nan_infinite_and_zero_embeddings_are_reported_by_id_and_reason_and_absent_from_postgresql() {
    let dir = copy_of("lightrag-1.5.7-format-sample");
    let p = dir.path();
    let (nan, inf) = (Some(f32::NAN), Some(f32::INFINITY));
    let spoiled = [
        // A model that returned zeros: nano-vectordb's matrix row is NaN, the raw field zero.
        ("entities", spoil(p, "entities", 0, nan, Some(0.0)), SkipReason::ZeroVector),
        ("entities", spoil(p, "entities", 1, inf, None), SkipReason::InfiniteVector),
        ("chunks", spoil(p, "chunks", 0, Some(0.0), Some(0.0)), SkipReason::ZeroVector),
        ("relationships", spoil(p, "relationships", 0, None, nan), SkipReason::NanVector),
        ("relationships", spoil(p, "relationships", 1, nan, None), SkipReason::NanVector),
    ];

    let db = FreshDb::create("files_unusable").await;
    let storages = pg_storages(&db, "unusable_vectors", 64).await;
    let target = pg_target(&storages);
    let r = migrate(p, &target, MigrateOptions::default()).await.expect("migration");

    let mut reported: Vec<(String, String, SkipReason)> =
        r.skipped.iter().map(|s| (s.store.clone(), s.id.clone(), s.reason)).collect();
    let mut expected: Vec<(String, String, SkipReason)> =
        spoiled.iter().map(|(ns, id, reason)| (format!("vectors.{ns}"), id.clone(), *reason)).collect();
    reported.sort();
    expected.sort();
    assert_eq!(reported, expected, "every unusable embedding is reported, and nothing else");
    assert_eq!((r.vectors.chunks, r.vectors.entities, r.vectors.relationships), (64, 46, 98));
    assert!(r.verification.ok, "{:?}", r.verification.mismatches);

    let json = serde_json::to_value(&r).unwrap();
    let first = &json["skipped"].as_array().unwrap().iter().find(|s| s["id"] == spoiled[0].1.as_str()).unwrap();
    assert_eq!(first["reason"], "zero_vector");
    assert!(first["detail"].as_str().unwrap().contains("all zeros"), "{first}");

    for (ns, id, _) in &spoiled {
        let ns = VectorNamespace::ALL.into_iter().find(|n| n.as_str() == *ns).unwrap();
        let store = storages.vector(ns).unwrap();
        assert_eq!(store.get_by_ids(std::slice::from_ref(id)).await.unwrap(), vec![None], "{ns:?} {id} was stored");
    }
    storages.drop_workspace().await.unwrap();
}
