//! Behaviour of the memory backends that the shared suite cannot cover because it
//! depends on their configuration: the embedder, the default threshold, zero
//! vectors, the registry's keys, timestamp precision and `Debug` output.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use lightrag_pg_core::memory::{
    DEFAULT_THRESHOLD, MemoryDocStatusStorage, MemoryGraphStorage, MemoryKvStorage, MemoryVectorStorage,
};
use lightrag_pg_core::{
    DistanceMetric, DocProcessingStatus, DocStatus, DocStatusStorage, Embedder, Error, GraphStorage, JsonObject,
    KvNamespace, KvStorage, Properties, Result, VectorNamespace, VectorQuery, VectorRecord, VectorStorage, Workspace,
};

fn ws(name: &str) -> Workspace {
    let n: u64 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    Workspace::new(format!("memtest_{name}_{n:x}")).unwrap()
}

fn rec(id: &str, v: &[f32]) -> VectorRecord {
    VectorRecord { id: id.into(), vector: v.to_vec(), payload: JsonObject::new() }
}

/// Embeds "x" as [1, 0] and anything else as [0, 1].
#[derive(Debug)]
struct TwoWords;

#[async_trait]
impl Embedder for TwoWords {
    fn dimension(&self) -> usize {
        2
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| if t == "x" { vec![1.0, 0.0] } else { vec![0.0, 1.0] }).collect())
    }
}

#[tokio::test]
async fn a_text_query_is_embedded_by_the_configured_embedder() {
    let s = MemoryVectorStorage::new(VectorNamespace::Chunks, ws("embed"), 2, DistanceMetric::Cosine)
        .with_embedder(Arc::new(TwoWords));
    s.upsert(vec![rec("a", &[1.0, 0.0]), rec("b", &[0.0, 1.0])]).await.unwrap();
    let q = VectorQuery { text: Some("x".into()), embedding: None, top_k: 5, threshold: None };
    let hits = s.query(&q).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.id.as_str()).collect::<Vec<_>>(), ["a"]);
    // An explicit embedding wins over the text.
    let q = VectorQuery { embedding: Some(vec![0.0, 1.0]), ..q };
    assert_eq!(s.query(&q).await.unwrap()[0].id, "b");
}

#[tokio::test]
async fn a_text_query_without_an_embedder_or_any_vector_is_refused() {
    let s = MemoryVectorStorage::new(VectorNamespace::Chunks, ws("noembed"), 2, DistanceMetric::Cosine);
    let text = VectorQuery { text: Some("x".into()), embedding: None, top_k: 5, threshold: None };
    assert!(matches!(s.query(&text).await, Err(Error::InvalidInput { .. })));
    let nothing = VectorQuery { text: None, ..text };
    assert!(matches!(s.query(&nothing).await, Err(Error::InvalidInput { .. })));
    let nan = VectorQuery::by_vector(vec![f32::NAN, 1.0], 5);
    assert!(matches!(s.query(&nan).await, Err(Error::InvalidInput { .. })));
}

#[tokio::test]
async fn the_default_threshold_is_lightrags_and_can_be_configured() {
    assert!((DEFAULT_THRESHOLD - 0.2).abs() < f64::EPSILON);
    let w = ws("threshold");
    let s = MemoryVectorStorage::new(VectorNamespace::Chunks, w.clone(), 2, DistanceMetric::Cosine);
    assert!((s.threshold() - 0.2).abs() < f64::EPSILON);
    // Similarities to [1, 0]: 1.0, ≈0.316 and ≈0.1.
    s.upsert(vec![rec("same", &[1.0, 0.0]), rec("wide", &[1.0, 3.0]), rec("far", &[1.0, 9.95])]).await.unwrap();
    let ids = |hits: Vec<lightrag_pg_core::VectorHit>| hits.into_iter().map(|h| h.id).collect::<Vec<_>>();
    let q = VectorQuery::by_vector(vec![1.0, 0.0], 10);
    assert_eq!(ids(s.query(&q).await.unwrap()), ["same", "wide"]);
    let loose = MemoryVectorStorage::new(VectorNamespace::Chunks, w, 2, DistanceMetric::Cosine).with_threshold(0.05);
    assert_eq!(ids(loose.query(&q).await.unwrap()), ["same", "wide", "far"]);
    assert_eq!(ids(loose.query(&q.clone().with_threshold(0.5)).await.unwrap()), ["same"], "the query's threshold wins");
}

#[tokio::test]
async fn a_zero_vector_is_never_a_cosine_hit_but_is_an_l2_one() {
    let w = ws("zero");
    let cos = MemoryVectorStorage::new(VectorNamespace::Chunks, w.clone(), 2, DistanceMetric::Cosine);
    cos.upsert(vec![rec("zero", &[0.0, 0.0]), rec("one", &[1.0, 0.0])]).await.unwrap();
    let q = VectorQuery::by_vector(vec![1.0, 0.0], 10).with_threshold(-10.0);
    assert_eq!(cos.query(&q).await.unwrap().len(), 1);
    let l2 = MemoryVectorStorage::new(VectorNamespace::Chunks, w, 2, DistanceMetric::L2);
    assert_eq!(l2.query(&q).await.unwrap().len(), 2, "same rows, another metric");
}

#[tokio::test]
async fn vector_rows_are_shared_per_dimension_not_per_metric() {
    let w = ws("dims");
    let d2 = MemoryVectorStorage::new(VectorNamespace::Entities, w.clone(), 2, DistanceMetric::Cosine);
    let d2_ip = MemoryVectorStorage::new(VectorNamespace::Entities, w.clone(), 2, DistanceMetric::Ip);
    let d3 = MemoryVectorStorage::new(VectorNamespace::Entities, w, 3, DistanceMetric::Cosine);
    d2.upsert(vec![rec("e", &[1.0, 0.0])]).await.unwrap();
    assert!(d2_ip.get_by_id("e").await.unwrap().is_some());
    assert!(d3.get_by_id("e").await.unwrap().is_none());
}

#[tokio::test]
async fn doc_status_timestamps_are_kept_to_the_microsecond() {
    let s = MemoryDocStatusStorage::new(ws("micros"));
    let t = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::nanoseconds(123_456_789);
    let mut d = DocProcessingStatus::new(DocStatus::Pending, "s", 1, "a.txt");
    d.created_at = Some(t);
    s.upsert(vec![("d".into(), d)]).await.unwrap();
    let got = s.get_by_id("d").await.unwrap().unwrap().created_at.unwrap();
    assert_eq!(got.timestamp_subsec_nanos(), 123_456_000);
}

#[tokio::test]
async fn a_knowledge_graph_of_zero_nodes_is_truncated_when_the_seed_exists() {
    let s = MemoryGraphStorage::new(ws("kg0"));
    s.upsert_edge("a", "b", Properties::new()).await.unwrap();
    let kg = s.get_knowledge_graph("a", 2, 0).await.unwrap();
    assert!(kg.nodes.is_empty() && kg.is_truncated);
    let kg = s.get_knowledge_graph("*", 2, 0).await.unwrap();
    assert!(kg.nodes.is_empty() && kg.is_truncated);
    let kg = s.get_knowledge_graph("nobody", 2, 0).await.unwrap();
    assert!(kg.nodes.is_empty() && !kg.is_truncated);
}

#[tokio::test]
async fn debug_output_summarises_instead_of_dumping_records() {
    let w = ws("debug");
    let kv = MemoryKvStorage::new(KvNamespace::FullDocs, w.clone());
    let big = serde_json::json!({"content": "secret text ".repeat(1000)}).as_object().unwrap().clone();
    kv.upsert(vec![("doc".into(), big)]).await.unwrap();
    let shown = format!("{kv:?}");
    assert!(shown.contains("records: 1") && !shown.contains("secret"), "{shown}");
    let g = MemoryGraphStorage::new(w);
    assert!(format!("{g:?}").contains("nodes: 0"));
}

#[test]
fn many_threads_writing_one_graph_keep_it_consistent() {
    let w = ws("threads");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let g = MemoryGraphStorage::new(w.clone());
            rt.spawn(async move {
                for i in 0..50 {
                    let (a, b) = (format!("n{}", (t * 7 + i) % 20), format!("n{}", (t * 3 + i * 5) % 20));
                    g.upsert_edge(&a, &b, Properties::new()).await.unwrap();
                    if i % 7 == 0 {
                        g.delete_node(&format!("n{}", i % 20)).await.unwrap();
                    }
                }
            })
        })
        .collect();
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
        let g = MemoryGraphStorage::new(w);
        // Degrees agree with the edge list, and every edge's endpoints exist.
        let edges = g.get_all_edges().await.unwrap();
        let labels = g.get_all_labels().await.unwrap();
        for e in &edges {
            assert!(labels.contains(&e.source) && labels.contains(&e.target));
        }
        for id in &labels {
            let by_list: usize =
                edges.iter().map(|e| usize::from(&e.source == id) + usize::from(&e.target == id)).sum();
            assert_eq!(g.node_degree(id).await.unwrap(), by_list, "degree of {id}");
        }
    });
}
