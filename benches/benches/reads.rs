//! `reads`: the batch reads LightRAG's retrieval path issues, on the real server.
//!
//! - KV `get_by_ids` of 1,000 ids out of 10,000 chunks;
//! - doc status: a paginated listing page over 10,000 documents;
//! - graph, both engines, on 50,000 nodes and 150,000 edges (`BENCH_GRAPH_NODES`
//!   scales it): 1,000 ids through `get_nodes_batch`, `node_degrees_batch` and
//!   `get_nodes_edges_batch`, and `get_knowledge_graph` at depth 3 with at most
//!   1,000 nodes.
//!
//! Data is loaded once into fixed workspaces and reused by later runs.
#![allow(missing_docs, clippy::print_stderr)]

use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use lightrag_pg_benches::{chunk_records, pool, runtime, workspace};
use lightrag_pg_core::{
    DocProcessingStatus, DocStatus, DocStatusStorage, GraphStorage, KvNamespace, KvStorage, PageRequest, Properties,
    SortField, Storage,
};
use lightrag_pg_docstatus::PgDocStatusStorage;
use lightrag_pg_graph::{GraphEngine, PgGraphStorage};
use lightrag_pg_kv::PgKvStorage;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn graph_nodes() -> usize {
    std::env::var("BENCH_GRAPH_NODES").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000)
}

async fn load_graph(engine: GraphEngine, nodes: usize) -> Arc<dyn GraphStorage> {
    let pool = pool().await;
    let ws = workspace(&format!("bench_graph_{}_{}", engine.as_str(), nodes));
    let graph = PgGraphStorage::new(pool, ws, engine).expect("graph").into_dyn();
    graph.initialize().await.expect("initialize");
    let probe = format!("entity-{:06}", nodes - 1);
    if graph.has_node(&probe).await.expect("probe") {
        return graph;
    }
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(3);
    for chunk in (0..nodes).collect::<Vec<_>>().chunks(5_000) {
        let batch = chunk
            .iter()
            .map(|i| {
                let p = Properties::new()
                    .with("entity_type", "concept")
                    .with("description", format!("Entity {i} is a benchmark node."))
                    .with("source_id", format!("chunk-{}", i / 10))
                    .with("file_path", "bench.txt");
                (format!("entity-{i:06}"), p)
            })
            .collect();
        graph.upsert_nodes_batch(batch).await.expect("nodes");
    }
    let edges = nodes * 3;
    let mut made = 0;
    while made < edges {
        let batch: Vec<_> = (0..5_000.min(edges - made))
            .map(|_| {
                // Preferential-ish attachment: low ids are hubs.
                let a = (rng.random::<f64>().powi(3) * nodes as f64) as usize;
                let b = rng.random_range(0..nodes);
                let p = Properties::new().with("weight", 1.0).with("description", "related").with("keywords", "bench");
                (format!("entity-{a:06}"), format!("entity-{b:06}"), p)
            })
            .collect();
        made += batch.len();
        graph.upsert_edges_batch(batch).await.expect("edges");
    }
    eprintln!("loaded {nodes} nodes / {edges} edges ({}) in {:.1}s", engine.as_str(), started.elapsed().as_secs_f64());
    graph
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("reads");
    group.sample_size(20);

    let kv = rt.block_on(async {
        let kv = PgKvStorage::new(pool().await, KvNamespace::TextChunks, workspace("bench_reads")).expect("kv");
        kv.initialize().await.expect("initialize");
        if kv.get_by_id("chunk-reads-009999").await.expect("probe").is_none() {
            kv.upsert(chunk_records(10_000, "reads")).await.expect("load");
        }
        kv
    });
    let ids: Vec<String> = (0..1000).map(|i| format!("chunk-reads-{:06}", i * 10)).collect();
    group.bench_function("kv_get_by_ids_1000", |b| b.to_async(&rt).iter(|| kv.get_by_ids(&ids)));

    let docs = rt.block_on(async {
        let docs = PgDocStatusStorage::new(pool().await, workspace("bench_reads")).expect("docs");
        docs.initialize().await.expect("initialize");
        if docs.is_empty().await.expect("probe") {
            let batch = (0..10_000)
                .map(|i| {
                    let status = if i % 10 == 0 { DocStatus::Failed } else { DocStatus::Processed };
                    (format!("doc-{i:06}"), DocProcessingStatus::new(status, "summary", 1000, &format!("file-{i}.txt")))
                })
                .collect();
            docs.upsert(batch).await.expect("load");
        }
        docs
    });
    let page = PageRequest { page: 40, page_size: 100, sort_field: SortField::UpdatedAt, ..PageRequest::default() };
    group.bench_function("doc_status_paginated_page40_of_10000", |b| {
        b.to_async(&rt).iter(|| docs.get_docs_paginated(&page))
    });

    let nodes = graph_nodes();
    let ids: Vec<String> = (0..1000).map(|i| format!("entity-{:06}", (i * 37) % nodes)).collect();
    for engine in [GraphEngine::Table, GraphEngine::Age] {
        let graph = rt.block_on(load_graph(engine, nodes));
        let e = engine.as_str();
        group.bench_function(format!("graph_{e}_get_nodes_batch_1000"), |b| {
            b.to_async(&rt).iter(|| graph.get_nodes_batch(&ids))
        });
        group.bench_function(format!("graph_{e}_node_degrees_batch_1000"), |b| {
            b.to_async(&rt).iter(|| graph.node_degrees_batch(&ids))
        });
        group.bench_function(format!("graph_{e}_get_nodes_edges_batch_1000"), |b| {
            b.to_async(&rt).iter(|| graph.get_nodes_edges_batch(&ids))
        });
        group.bench_function(format!("graph_{e}_knowledge_graph_depth3_max1000"), |b| {
            b.to_async(&rt).iter(|| graph.get_knowledge_graph("entity-000100", 3, 1000))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
