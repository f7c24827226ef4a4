//! Migrations into PostgreSQL through the facade's storages, each into a fresh
//! database: a repeated id stores and verifies its last copy; a generated
//! working directory of 10,000 records in every store (a first load: pg-vector's
//! bulk path) exports back with every record; a generated directory exported,
//! migrated again and exported again gives equal files; a second
//! migration into the loaded workspace goes row by row and says why; a real
//! directory reads back equal.

mod common;

use std::path::Path;

use common::{
    dataset, difference, differences, last_rows, missing_from_export, normalised_dir, pg_source, pg_storages, pg_target,
};
use lightrag_pg_core::{JsonObject, VectorLoad, VectorNamespace};
use lightrag_pg_files::nano::{NanoFile, NanoWriter, file_name};
use lightrag_pg_files::synthetic::Synthetic;
use lightrag_pg_files::{ExportOptions, MigrateOptions, MigrationReport, export, migrate};
use lightrag_pg_test_support::fresh::FreshDb;
use serde_json::json;

/// A deterministic vector, different for every `seed`.
fn vector(seed: usize, dim: usize) -> Vec<f32> {
    (0..dim).map(|j| ((seed * 7919 + j * 104_729) % 1009) as f32 / 1009.0 - 0.5).collect()
}

/// The payload LightRAG 1.5.7 writes for row `i` of `ns` (nothing to enrich).
fn payload(ns: VectorNamespace, i: usize) -> JsonObject {
    let v = match ns {
        VectorNamespace::Chunks => json!({"content": format!("chunk text {i}"), "full_doc_id": "doc-gen",
            "file_path": "gen.txt", "tokens": 3, "chunk_order_index": i}),
        VectorNamespace::Entities => json!({"entity_name": format!("E{i}"), "content": format!("E{i}\nentity {i}"),
            "source_id": format!("chunk-{i}"), "file_path": "gen.txt"}),
        VectorNamespace::Relationships => json!({"src_id": format!("E{i}"), "tgt_id": format!("E{}", i + 1),
            "content": format!("k\tE{i}\nE{}\nrelation {i}", i + 1), "source_id": format!("chunk-{i}"),
            "file_path": "gen.txt"}),
    };
    v.as_object().unwrap().clone()
}

/// Writes `vdb_<ns>.json` of `rows` (id, seed, payload index) in `dir`.
fn write_store(dir: &Path, ns: VectorNamespace, dim: usize, rows: impl IntoIterator<Item = (String, usize, usize)>) {
    let mut w = NanoWriter::create(&dir.join(file_name(ns)), dim).unwrap();
    for (id, seed, i) in rows {
        w.row(&id, Some(1_700_000_000), &payload(ns, i), &vector(seed, dim)).unwrap();
    }
    w.finish().unwrap();
}

async fn assert_reads_back(storages: &lightrag_pg::Storages, dir: &Path) {
    for ns in VectorNamespace::ALL {
        let path = dir.join(file_name(ns));
        if !path.exists() {
            continue;
        }
        let rows = last_rows(&path, ns);
        let store = storages.vector(ns).unwrap();
        let diff = differences(store.as_ref(), &rows).await;
        assert!(
            diff.is_empty(),
            "{ns:?}: {} of {} rows differ: {:?}",
            diff.len(),
            rows.len(),
            &diff[..diff.len().min(5)]
        );
    }
}

fn loads(r: &MigrationReport) -> Vec<(String, VectorLoad)> {
    r.vector_load.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[tokio::test]
async fn a_repeated_id_stores_its_last_copy_and_verification_checks_that_copy() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [("chunk-a", 1, 0), ("chunk-b", 2, 1), ("chunk-a", 3, 2)];
    write_store(dir.path(), VectorNamespace::Chunks, 8, rows.map(|(id, seed, i)| (id.to_owned(), seed, i)));
    let db = FreshDb::create("files_repeated").await;
    let storages = pg_storages(&db, "repeated_id", 8).await;

    let r = migrate(dir.path(), &pg_target(&storages), MigrateOptions::default()).await.expect("migration");

    assert!(r.verification.ok, "{:?}", r.verification.mismatches);
    assert_eq!(r.vectors.chunks, 2);
    let store = storages.vector(VectorNamespace::Chunks).unwrap();
    let got = store.get_vectors_by_ids(&["chunk-a".to_owned()]).await.unwrap();
    let last = &last_rows(&dir.path().join(file_name(VectorNamespace::Chunks)), VectorNamespace::Chunks)["chunk-a"];
    assert_eq!(last.payload["content"], "chunk text 2", "the reader keeps the last copy");
    let stored = &got["chunk-a"];
    assert!(stored.iter().zip(&last.vector).all(|(a, b)| (a - b).abs() < 1e-3), "{stored:?} is not the last copy");
    let payload = store.get_by_id("chunk-a").await.unwrap().unwrap();
    assert_eq!(payload["content"], "chunk text 2");
}

#[tokio::test]
async fn a_generated_directory_of_10000_records_per_store_migrates_in_bulk_and_exports_back_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let generated =
        Synthetic { docs: 10_000, chunks: 10_000, entities: 10_000, relations: 10_000, ..Synthetic::new(0, 16) };
    generated.write(dir.path()).unwrap();
    let db = FreshDb::create("files_generated").await;
    let storages = pg_storages(&db, "generated", 16).await;

    let r = migrate(dir.path(), &pg_target(&storages), MigrateOptions::default()).await.expect("migration");

    assert!(r.verification.ok, "{:?}", r.verification.mismatches);
    assert!(r.skipped.is_empty(), "{:?}", &r.skipped[..r.skipped.len().min(5)]);
    let counts = (r.full_docs, r.text_chunks, r.doc_status, r.entity_chunks, r.relation_chunks);
    assert_eq!(counts, (10_000, 10_000, 10_000, 10_000, 10_000));
    assert_eq!((r.graph.nodes, r.graph.edges), (10_000, 10_000));
    assert_eq!((r.vectors.chunks, r.vectors.entities, r.vectors.relationships), (10_000, 10_000, 10_000));
    for (store, load) in loads(&r) {
        assert!(matches!(load, VectorLoad::Bulk { .. }), "{store}: {load:?}");
    }
    assert_eq!(r.vector_load.len(), 3);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["vector_load"]["chunks"]["method"], "bulk", "{}", json["vector_load"]);
    // 1.5.7's chunk rows lack tokens and chunk_order_index: completed from text_chunks.
    assert_eq!(r.enriched.get("vectors.chunks"), Some(&10_000), "{:?}", r.enriched);
    let chunk = storages.vector(VectorNamespace::Chunks).unwrap().get_by_id(&Synthetic::chunk_id(7)).await.unwrap();
    let chunk = chunk.expect("chunk 7 stored");
    assert_eq!((&chunk["tokens"], &chunk["chunk_order_index"]), (&json!(19), &json!(0)), "{chunk:?}");
    let out = tempfile::tempdir().unwrap();
    export(&pg_source(&storages, db.pool(2).await), out.path(), ExportOptions::default()).await.expect("export");
    let (missing, compared) = missing_from_export(dir.path(), out.path());
    assert!(missing.is_empty(), "{missing:#?}");
    assert_eq!(compared, 10 * 10_000, "every record compared: 7 files of 10,000, the graph's nodes and edges");
}

#[tokio::test]
async fn a_generated_directory_round_trips_through_postgresql_to_equal_files() {
    let dir = tempfile::tempdir().unwrap();
    Synthetic::new(2_000, 16).write(dir.path()).unwrap();
    let db = FreshDb::create("files_round_trip").await;
    let (a, b) = (pg_storages(&db, "round_trip_a", 16).await, pg_storages(&db, "round_trip_b", 16).await);
    migrate(dir.path(), &pg_target(&a), MigrateOptions::default()).await.expect("migration of the generated directory");
    let one = tempfile::tempdir().unwrap();
    export(&pg_source(&a, db.pool(2).await), one.path(), ExportOptions::default()).await.expect("first export");

    let r = migrate(one.path(), &pg_target(&b), MigrateOptions::default()).await.expect("migration of the export");
    let two = tempfile::tempdir().unwrap();
    export(&pg_source(&b, db.pool(2).await), two.path(), ExportOptions::default()).await.expect("second export");

    assert!(r.verification.ok && r.skipped.is_empty(), "{:?} {:?}", r.verification.mismatches, r.skipped);
    let (one, two) = (normalised_dir(one.path()), normalised_dir(two.path()));
    assert_eq!(one.keys().collect::<Vec<_>>(), two.keys().collect::<Vec<_>>());
    assert_eq!(one.len(), 12, "seven key-value stores, doc status, three vector stores, the graph");
    for (file, v) in &one {
        assert!(difference(v, &two[file], file).is_none(), "{:?}", difference(v, &two[file], file));
    }
}

#[tokio::test]
async fn migrating_into_a_workspace_that_has_rows_goes_incremental_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    Synthetic::new(300, 8).write(dir.path()).unwrap();
    let db = FreshDb::create("files_incremental").await;
    let storages = pg_storages(&db, "incremental", 8).await;
    let target = pg_target(&storages);
    migrate(dir.path(), &target, MigrateOptions::default()).await.expect("first migration");

    let r = migrate(dir.path(), &target, MigrateOptions::default()).await.expect("second migration");

    assert!(r.verification.ok, "{:?}", r.verification.mismatches);
    for (store, load) in loads(&r) {
        match load {
            VectorLoad::Incremental { reason } => assert!(reason.contains("already has rows"), "{store}: {reason}"),
            other => panic!("{store}: {other:?}"),
        }
    }
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["vector_load"]["entities"]["method"], "incremental");
    assert_reads_back(&storages, dir.path()).await;
}

#[tokio::test]
async fn a_real_directory_migrates_into_postgresql_and_reads_back_equal() {
    let dir = dataset("english-reading-topics-en");
    let dim =
        NanoFile::open(&dir.join(file_name(VectorNamespace::Chunks)), VectorNamespace::Chunks).unwrap().dimension();
    let db = FreshDb::create("files_real").await;
    let storages = pg_storages(&db, "real_dir", dim).await;

    let r = migrate(&dir, &pg_target(&storages), MigrateOptions::default()).await.expect("migration");

    assert!(r.verification.ok, "{:?}", r.verification.mismatches);
    assert!(r.warnings_of("rekeyed_legacy_id").next().is_none(), "ids as in the files");
    assert_eq!(r.vector_load.len(), 3, "{:?}", r.vector_load);
    assert_reads_back(&storages, &dir).await;
}
