//! Every real LightRAG directory in `shared/datasets` migrates into the memory
//! backends; the report's counts equal counts taken straight from the files, and
//! each dataset's known anomalies are reported.

mod common;

use std::path::Path;

use common::{Memory, dataset, graphml_counts, kv_count, vdb_rows};
use lightrag_pg_core::{DocStatus, KvNamespace, VectorNamespace, ids};
use lightrag_pg_files::{FormatGeneration, MigrateOptions, MigrationReport, migrate};

async fn migrate_dataset(name: &str) -> (Memory, MigrationReport) {
    let mem = Memory::new(name);
    let report = migrate(&dataset(name), &mem.target, MigrateOptions::default()).await.unwrap();
    (mem, report)
}

fn warning_count(r: &MigrationReport, store: &str, kind: &str) -> u64 {
    r.warnings.iter().filter(|w| w.store == store && w.kind == kind).map(|w| w.count).sum()
}

/// The report's counts equal the files' own counts (keys, data rows minus rows
/// with an unusable embedding, GraphML elements), and the verification pass agrees.
fn assert_counts_match_the_files(dir: &Path, r: &MigrationReport) {
    let kv = |ns: &str| kv_count(dir, ns).unwrap_or(0);
    assert_eq!(r.full_docs, kv("full_docs"), "full_docs");
    assert_eq!(r.text_chunks, kv("text_chunks"), "text_chunks");
    assert_eq!(r.llm_cache, kv("llm_response_cache"), "llm_cache");
    assert_eq!(r.doc_status, kv("doc_status"), "doc_status");
    assert_eq!(r.full_entities, kv("full_entities"), "full_entities");
    assert_eq!(r.full_relations, kv("full_relations"), "full_relations");
    assert_eq!(r.entity_chunks, kv("entity_chunks"), "entity_chunks");
    assert_eq!(r.relation_chunks, kv("relation_chunks"), "relation_chunks");
    for (ns, got) in
        [("chunks", r.vectors.chunks), ("entities", r.vectors.entities), ("relationships", r.vectors.relationships)]
    {
        let (rows, unusable) = vdb_rows(dir, ns).unwrap_or((0, 0));
        assert_eq!(got, rows - unusable, "vectors.{ns}");
        let skipped = r.skipped_in(&format!("vectors.{ns}")).count() as u64;
        assert_eq!(skipped, unusable, "unusable rows of vectors.{ns} are reported");
    }
    let (nodes, edges) = graphml_counts(dir);
    assert_eq!((r.graph.nodes, r.graph.edges), (nodes, edges), "graph");
    assert!(r.skipped.is_empty(), "nothing is skipped in the published datasets: {:?}", r.skipped);
    assert!(r.verification.performed && r.verification.ok, "{:?}", r.verification.mismatches);
    for check in &r.verification.counts {
        assert_eq!(check.expected, check.found, "{}", check.store);
    }
    assert_eq!(r.verification.vectors.len(), 3);
    for s in &r.verification.vectors {
        assert!(s.checked > 0 && s.mismatched.is_empty(), "{s:?}");
    }
}

#[tokio::test]
async fn english_reading_topics_migrates_with_the_orphan_chunks_of_its_failed_docs_reported() {
    let name = "english-reading-topics-en";
    let (mem, r) = migrate_dataset(name).await;
    assert_counts_match_the_files(&dataset(name), &r);
    assert_eq!(r.format_generation, FormatGeneration::New);
    assert_eq!((r.doc_status, r.text_chunks, r.vectors.chunks), (6, 18, 18));
    assert_eq!(warning_count(&r, "text_chunks", "chunk_of_failed_doc"), 11);
    assert_eq!(warning_count(&r, "vectors.chunks", "chunk_of_failed_doc"), 11);
    let counts = mem.target.doc_status.status_counts().await.unwrap();
    assert_eq!((counts.count(DocStatus::Processed), counts.count(DocStatus::Failed)), (4, 2));
    // The raw float16 vectors are unit vectors: the float32 matrix rows are kept.
    assert_eq!(r.vector_sources["vectors.entities"]["matrix"], 446);
    assert!(r.warnings_of("entity_vector_without_node").next().is_none());
    assert!(r.warnings_of("node_without_entity_vector").next().is_none());
}

#[tokio::test]
async fn yogyakarta_reports_its_121_stale_entity_vectors_and_ignores_the_parse_cache() {
    let name = "yogyakarta-trafficking-perda-id";
    let (mem, r) = migrate_dataset(name).await;
    assert_counts_match_the_files(&dataset(name), &r);
    assert_eq!(r.format_generation, FormatGeneration::New);
    assert_eq!(warning_count(&r, "vectors.entities", "entity_vector_without_node"), 121);
    assert_eq!(r.vectors.entities, 524, "orphan vectors are data: they are kept");
    assert_eq!(r.ignored_files, ["kv_store_parse_cache.json"]);
    assert_eq!(r.dropped_fields["doc_status"]["multimodal_processed"], 1);
    // RAG-Anything's extra chunk fields survive in the record.
    let chunks = &mem.target.kv[&KvNamespace::TextChunks];
    let id = "chunk-0d3a66fd1e5c620bda5f883fde5cf8fa".to_owned();
    assert!(chunks.get_by_id(&id).await.unwrap().is_some());
}

#[tokio::test]
async fn dickens_reports_the_20_graph_nodes_without_an_entity_vector() {
    let name = "dickens-christmas-carol-en";
    let (_mem, r) = migrate_dataset(name).await;
    assert_counts_match_the_files(&dataset(name), &r);
    assert_eq!(r.format_generation, FormatGeneration::OldV1);
    assert_eq!(warning_count(&r, "graph.nodes", "node_without_entity_vector"), 20);
    assert_eq!((r.graph.nodes, r.graph.edges), (407, 481));
    assert_eq!(r.dropped_fields["doc_status"]["content"], 1, "the duplicated full text is dropped");
}

#[tokio::test]
async fn film_24_migrates_3072_dimension_vectors() {
    let name = "film-24-2016-en";
    let (_mem, r) = migrate_dataset(name).await;
    assert_counts_match_the_files(&dataset(name), &r);
    assert_eq!(r.format_generation, FormatGeneration::OldV1);
    assert_eq!(r.embedding_dim.entities, Some(3072));
    assert_eq!((r.graph.nodes, r.graph.edges, r.vectors.entities), (135, 100, 135));
}

#[tokio::test]
async fn academic_legacy_is_unquoted_flattened_and_completed() {
    let name = "academic-bio-en-legacy";
    let (mem, r) = migrate_dataset(name).await;
    assert_counts_match_the_files(&dataset(name), &r);
    assert_eq!(r.format_generation, FormatGeneration::OldV0);
    assert!(r.legacy_quotes_stripped);
    assert_eq!(r.llm_cache_flattened, 17);
    assert_eq!(warning_count(&r, "vectors.entities", "rekeyed_legacy_id"), 61);
    assert_eq!(warning_count(&r, "vectors.relationships", "rekeyed_legacy_id"), 14);
    assert!(
        r.warnings_of("chunk_without_doc_status").next().is_none(),
        "chunks are matched to their doc through text_chunks"
    );

    let graph = &mem.target.graph;
    let node = graph.get_node("BANGHAO CHI").await.unwrap().expect("unquoted node id");
    assert_eq!(node.entity_id(), Some("BANGHAO CHI"));
    assert_eq!(node.entity_type(), Some("PERSON"));
    assert!(!graph.has_node("\"BANGHAO CHI\"").await.unwrap());

    // Vector ids follow LightRAG's rule on the unquoted name, and the legacy rows
    // without content got LightRAG's "{name}\n{description}" from the graph.
    let entities = mem.vector_store(VectorNamespace::Entities);
    let rec = entities.get_by_id(&ids::entity_id("BANGHAO CHI")).await.unwrap().expect("re-keyed vector");
    assert_eq!(rec["entity_name"], "BANGHAO CHI");
    assert!(rec["content"].as_str().unwrap().starts_with("BANGHAO CHI\n"), "{rec:?}");
    assert_eq!(r.enriched["vectors.entities"], 61);
    assert_eq!(r.enriched["vectors.relationships"], 14);
    // Chunk vectors got their text from kv_store_text_chunks.json.
    let chunks = mem.vector_store(VectorNamespace::Chunks);
    let chunk = chunks.get_by_id("chunk-da2b8e0b70a733451856065f3c722af2").await.unwrap().unwrap();
    assert!(chunk["content"].as_str().unwrap().starts_with("# Academic and Professional Biography"));
    assert_eq!(chunk["tokens"], 1200);

    // The nested cache became flat keys; the naive timestamp is read as UTC.
    let cache = &mem.target.kv[&KvNamespace::LlmResponseCache];
    assert!(cache.get_by_id("naive:query:0e6ed89fae320b357eb67313cfa788a5").await.unwrap().is_some());
    let doc = mem.target.doc_status.get_by_id("doc-44d1d134d28cd0ee0a7e3e82bdce0af3").await.unwrap().unwrap();
    assert_eq!(doc.created_at.unwrap().to_rfc3339(), "2025-02-02T16:27:29.918205+00:00");
    assert_eq!(doc.file_path, "no-file-path");
}

#[tokio::test]
async fn lightrag_157_sample_is_recognised_as_the_newest_layout() {
    let name = "lightrag-1.5.7-format-sample";
    let (mem, r) = migrate_dataset(name).await;
    assert_counts_match_the_files(&dataset(name), &r);
    assert_eq!(r.format_generation, FormatGeneration::V1_5_7);
    let doc = mem.target.doc_status.get_by_id("doc-8cc72bde17b0c4718c7cd79989722cce").await.unwrap().unwrap();
    assert_eq!(doc.content_hash.as_deref(), Some("f487536603023fb081295410a335b8e8"));
}

#[tokio::test]
async fn a_second_run_leaves_the_same_state() {
    let name = "english-reading-topics-en";
    let (mem, first) = migrate_dataset(name).await;
    let nodes_before = mem.target.graph.get_all_nodes().await.unwrap();
    let second = migrate(&dataset(name), &mem.target, MigrateOptions::default()).await.unwrap();
    let nodes_after = mem.target.graph.get_all_nodes().await.unwrap();
    assert_eq!(nodes_before, nodes_after);
    assert_eq!(mem.target.graph.get_all_edges().await.unwrap().len() as u64, first.graph.edges);
    let counts = |r: &MigrationReport| (r.full_docs, r.text_chunks, r.llm_cache, r.vectors, r.graph);
    assert_eq!(counts(&first), counts(&second));
    assert!(second.verification.ok);
}

#[tokio::test]
async fn a_dry_run_reports_the_counts_and_writes_nothing() {
    let name = "dickens-christmas-carol-en";
    let mem = Memory::new("dry");
    let opts = MigrateOptions { dry_run: true, ..Default::default() };
    let r = migrate(&dataset(name), &mem.target, opts).await.unwrap();
    assert!(r.dry_run && !r.verification.performed);
    assert_eq!((r.graph.nodes, r.text_chunks), (407, 42));
    assert!(mem.target.graph.get_all_labels().await.unwrap().is_empty());
    assert!(mem.target.kv[&KvNamespace::TextChunks].is_empty().await.unwrap());
    assert!(mem.vectors.lock().unwrap().is_empty(), "no vector storage was even opened");
}

#[tokio::test]
async fn the_report_json_has_the_documented_fields() {
    let (_mem, r) = migrate_dataset("film-24-2016-en").await;
    let v = serde_json::to_value(&r).unwrap();
    for field in [
        "workspace",
        "full_docs",
        "text_chunks",
        "llm_cache",
        "doc_status",
        "full_entities",
        "full_relations",
        "entity_chunks",
        "relation_chunks",
        "skipped",
        "seconds",
        "format_generation",
        "verification",
    ] {
        assert!(v.get(field).is_some(), "{field}");
    }
    assert_eq!(v["vectors"]["entities"], 135);
    assert_eq!(v["graph"]["edges"], 100);
    assert_eq!(v["format_generation"], "old-v1");
    assert!(v["seconds"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn progress_is_reported_for_every_phase() {
    use lightrag_pg_files::ProgressEvent;
    use std::sync::{Arc, Mutex};
    let events: Arc<Mutex<Vec<ProgressEvent>>> = Arc::default();
    let sink = Arc::clone(&events);
    let opts = MigrateOptions {
        batch_size: 100,
        progress: Some(Arc::new(move |e| sink.lock().unwrap().push(e))),
        ..Default::default()
    };
    let mem = Memory::new("progress");
    migrate(&dataset("yogyakarta-trafficking-perda-id"), &mem.target, opts).await.unwrap();
    let events = events.lock().unwrap();
    assert!(events.iter().any(|e| matches!(e, ProgressEvent::Scanning { store } if store == "graph")));
    let writes: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::Writing { store, done, total } if store == "vectors.relationships" => {
                assert_eq!(*total, 874);
                Some(*done)
            }
            _ => None,
        })
        .collect();
    assert_eq!(writes, [100, 200, 300, 400, 500, 600, 700, 800, 874], "one event per batch of 100");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ProgressEvent::StoreDone { store, written: 403, .. } if store == "graph.nodes"))
    );
    assert!(events.iter().any(|e| matches!(e, ProgressEvent::Verifying { store } if store == "vectors.entities")));
}
