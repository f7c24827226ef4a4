//! Export followed by re-migration loses nothing: exporting the re-migrated
//! workspace gives the same files (after normalising key order, float
//! formatting and the times storages assign), and the export of the 1.5.7 sample
//! reproduces the records LightRAG itself wrote.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Memory, dataset, difference, json, normalised_dir};
use lightrag_pg_files::graphml::{GraphItem, GraphmlReader};
use lightrag_pg_files::nano::decode_vector;
use lightrag_pg_files::{ExportOptions, MigrateOptions, MigrationReport, export, migrate};
use serde_json::Value;

async fn roundtrip(name: &str) {
    let a = Memory::new(&format!("rt-a-{name}"));
    let first = migrate(&dataset(name), &a.target, MigrateOptions::default()).await.unwrap();
    let dir1 = tempfile::tempdir().unwrap();
    let exported = export(&a.source(true), dir1.path(), ExportOptions::default()).await.unwrap();
    assert_eq!(exported.key_source, "lister");
    assert_eq!(exported.vectors, first.vectors, "every vector is exported");
    assert_eq!(exported.graph, first.graph);
    assert_eq!(
        (exported.full_docs, exported.text_chunks, exported.llm_cache, exported.doc_status),
        (first.full_docs, first.text_chunks, first.llm_cache, first.doc_status)
    );

    let b = Memory::new(&format!("rt-b-{name}"));
    let second = migrate(dir1.path(), &b.target, MigrateOptions::default()).await.unwrap();
    assert!(second.skipped.is_empty(), "{:?}", second.skipped);
    assert!(second.verification.ok, "{:?}", second.verification.mismatches);
    let counts = |r: &MigrationReport| {
        (
            r.full_docs,
            r.text_chunks,
            r.llm_cache,
            r.doc_status,
            r.full_entities,
            r.full_relations,
            r.entity_chunks,
            r.relation_chunks,
            r.vectors,
            r.graph,
        )
    };
    assert_eq!(counts(&first), counts(&second));
    assert!(!second.legacy_quotes_stripped, "an export is never old-v0");

    // The vectors themselves survive: B holds A's vectors up to float32 rounding.
    let written = a.keys.vectors.lock().unwrap().clone();
    for (ns, ids) in &written {
        let ids: Vec<String> = ids.iter().cloned().collect();
        let va = a.vector_store(*ns).get_vectors_by_ids(&ids).await.unwrap();
        let vb = b.vector_store(*ns).get_vectors_by_ids(&ids).await.unwrap();
        assert_eq!(va.len(), vb.len(), "{ns}");
        let worst =
            va.iter().flat_map(|(id, v)| v.iter().zip(&vb[id]).map(|(x, y)| (x - y).abs())).fold(0f32, f32::max);
        assert!(worst < 1e-6, "{ns}: vectors moved by {worst}");
    }

    let dir2 = tempfile::tempdir().unwrap();
    export(&b.source(true), dir2.path(), ExportOptions::default()).await.unwrap();
    let (one, two) = (normalised_dir(dir1.path()), normalised_dir(dir2.path()));
    assert_eq!(one.keys().collect::<Vec<_>>(), two.keys().collect::<Vec<_>>());
    for (file, v) in &one {
        if let Some(d) = difference(v, &two[file], file) {
            panic!("export → migrate → export changed {d}");
        }
    }
}

#[tokio::test]
async fn academic_legacy_round_trips() {
    roundtrip("academic-bio-en-legacy").await;
}

#[tokio::test]
async fn dickens_round_trips() {
    roundtrip("dickens-christmas-carol-en").await;
}

#[tokio::test]
async fn english_reading_topics_round_trips() {
    roundtrip("english-reading-topics-en").await;
}

#[tokio::test]
async fn film_24_round_trips() {
    roundtrip("film-24-2016-en").await;
}

#[tokio::test]
async fn lightrag_157_sample_round_trips() {
    roundtrip("lightrag-1.5.7-format-sample").await;
}

#[tokio::test]
async fn yogyakarta_round_trips() {
    roundtrip("yogyakarta-trafficking-perda-id").await;
}

/// Every field of `want` is in `got` with the same value (`got` may carry more,
/// such as explicit nulls or chunk token counts).
fn assert_contains(file: &str, id: &str, want: &Value, got: &Value) {
    let (Value::Object(w), Value::Object(g)) = (want, got) else { panic!("{file} {id}: not objects") };
    for (k, v) in w {
        assert_eq!(g.get(k), Some(v), "{file} {id}: field {k}");
    }
}

fn without(mut v: Value, fields: &[&str]) -> Value {
    if let Value::Object(m) = &mut v {
        for f in fields {
            m.remove(*f);
        }
    }
    v
}

fn graph_items(path: &Path) -> Vec<GraphItem> {
    GraphmlReader::open(path).unwrap().collect::<Result<Vec<_>, _>>().unwrap()
}

#[tokio::test]
async fn the_export_of_the_157_sample_reproduces_what_lightrag_wrote() {
    let name = "lightrag-1.5.7-format-sample";
    let src = dataset(name);
    let mem = Memory::new("repro");
    migrate(&src, &mem.target, MigrateOptions::default()).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    export(&mem.source(true), out.path(), ExportOptions::default()).await.unwrap();

    for entry in std::fs::read_dir(&src).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        let (want, got) = (src.join(&file), out.path().join(&file));
        assert!(got.exists(), "{file} is exported");
        if file.ends_with(".graphml") {
            assert_eq!(graph_items(&want).len(), graph_items(&got).len());
            let mut a = graph_items(&want);
            let mut b = graph_items(&got);
            let key = |i: &GraphItem| match i {
                GraphItem::Node { id, .. } => format!("n {id}"),
                GraphItem::Edge { source, target, .. } => {
                    let (x, y) = if source <= target { (source, target) } else { (target, source) };
                    format!("e {x} {y}")
                }
            };
            a.sort_by_key(key);
            b.sort_by_key(key);
            for (x, y) in a.iter().zip(&b) {
                match (x, y) {
                    (GraphItem::Node { properties: p, .. }, GraphItem::Node { properties: q, .. })
                    | (GraphItem::Edge { properties: p, .. }, GraphItem::Edge { properties: q, .. }) => {
                        assert_eq!(p, q, "{}", key(x))
                    }
                    _ => panic!("{} vs {}", key(x), key(y)),
                }
            }
        } else if file.starts_with("vdb_") {
            let (w, g) = (json(&want), json(&got));
            assert_eq!(w["embedding_dim"], g["embedding_dim"]);
            let rows: BTreeMap<&str, &Value> =
                g["data"].as_array().unwrap().iter().map(|r| (r["__id__"].as_str().unwrap(), r)).collect();
            assert_eq!(rows.len(), w["data"].as_array().unwrap().len(), "{file}");
            for row in w["data"].as_array().unwrap() {
                let id = row["__id__"].as_str().unwrap();
                let exported = rows[id];
                assert_contains(
                    &file,
                    id,
                    &without(row.clone(), &["__created_at__", "__write_seq__", "vector"]),
                    exported,
                );
                let (v1, v2) = (
                    decode_vector(row["vector"].as_str().unwrap()).unwrap(),
                    decode_vector(exported["vector"].as_str().unwrap()).unwrap(),
                );
                let worst = v1.iter().zip(&v2).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
                assert!(worst <= 1e-3, "{file} {id}: the vector differs by {worst}");
            }
        } else {
            let (w, g) = (json(&want), json(&got));
            let (w, g) = (w.as_object().unwrap(), g.as_object().unwrap());
            assert_eq!(w.len(), g.len(), "{file}");
            for (id, rec) in w {
                assert_contains(&file, id, &without(rec.clone(), &["create_time", "update_time"]), &g[id]);
            }
        }
    }
}

#[tokio::test]
async fn export_without_a_key_lister_is_complete_for_the_157_sample() {
    let name = "lightrag-1.5.7-format-sample";
    let mem = Memory::new("derived");
    migrate(&dataset(name), &mem.target, MigrateOptions::default()).await.unwrap();
    let (listed, derived) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    export(&mem.source(true), listed.path(), ExportOptions::default()).await.unwrap();
    let r = export(&mem.source(false), derived.path(), ExportOptions::default()).await.unwrap();
    assert_eq!(r.key_source, "derived");
    assert!(!r.notes.is_empty(), "the limits of derivation are stated");
    let (a, b) = (normalised_dir(listed.path()), normalised_dir(derived.path()));
    assert_eq!(difference(&serde_json::to_value(&a).unwrap(), &serde_json::to_value(&b).unwrap(), ""), None);
}

#[tokio::test]
async fn export_without_a_key_lister_states_what_it_cannot_find() {
    // english-reading-topics has query-time cache entries and old-format chunks
    // of failed documents, which nothing references.
    let mem = Memory::new("derived-en");
    let m = migrate(&dataset("english-reading-topics-en"), &mem.target, MigrateOptions::default()).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = export(&mem.source(false), out.path(), ExportOptions::default()).await.unwrap();
    // 25 extraction entries: 14 for the chunks of processed documents, 11 for the
    // orphan chunks; 39 query-time entries.
    assert_eq!((m.llm_cache, r.llm_cache), (64, 14), "only the cache of reachable chunks is found");
    assert_eq!((m.text_chunks, r.text_chunks), (18, 7), "the 11 orphan chunks are not");
    assert_eq!((r.graph.nodes, r.vectors.entities, r.vectors.relationships), (446, 446, 413));
    assert!(r.notes.iter().any(|n| n.contains("query-time")));
}

#[tokio::test]
async fn export_refuses_a_directory_with_lightrag_files_unless_told_to_overwrite() {
    let mem = Memory::new("overwrite");
    migrate(&dataset("film-24-2016-en"), &mem.target, MigrateOptions::default()).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    export(&mem.source(true), out.path(), ExportOptions::default()).await.unwrap();
    let err = export(&mem.source(true), out.path(), ExportOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("already holds LightRAG files"), "{err}");
    let again =
        export(&mem.source(true), out.path(), ExportOptions { overwrite: true, ..Default::default() }).await.unwrap();
    assert_eq!(again.graph.nodes, 135);
}

#[tokio::test]
async fn the_graphml_can_be_written_elsewhere() {
    let mem = Memory::new("graphml-path");
    migrate(&dataset("academic-bio-en-legacy"), &mem.target, MigrateOptions::default()).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let graph = out.path().join("kg.graphml");
    let opts = ExportOptions { graphml: Some(graph.clone()), ..Default::default() };
    let r = export(&mem.source(true), &out.path().join("dir"), opts).await.unwrap();
    assert_eq!(graph_items(&graph).len() as u64, r.graph.nodes + r.graph.edges);
    assert!(!out.path().join("dir").join("graph_chunk_entity_relation.graphml").exists());
}
