//! The knowledge base of the retrieval tests: two chunks, two entities, one
//! relation, written through the storages, with a deterministic in-process
//! embedder.

#![allow(dead_code)]

use std::sync::Arc;

use async_trait::async_trait;
use lightrag_pg_core::testkit::unique_workspace;
use lightrag_pg_core::{
    Embedder, KvNamespace, KvStorage, Properties, Storage, VectorNamespace, VectorRecord, VectorStorage, Workspace,
};
use lightrag_pg_pool::{GraphEngine, PgPool, Sources};
use lightrag_pg_query::{QueryError, RetrievalSettings, Retriever};
use lightrag_pg_test_support::{obj, pool};
use serde_json::json;

pub(crate) const DIM: usize = 4;
pub(crate) const MODEL: &str = "query-it";

/// Texts naming Scrooge point one way, Marley another, anything else a third.
#[derive(Debug)]
pub(crate) struct NameEmbedder;

#[async_trait]
impl Embedder for NameEmbedder {
    fn dimension(&self) -> usize {
        DIM
    }

    async fn embed(&self, texts: &[String]) -> lightrag_pg_core::Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|t| match (t.contains("Scrooge"), t.contains("Marley")) {
                (true, false) => vec![1.0, 0.0, 0.0, 0.0],
                (false, true) => vec![0.0, 1.0, 0.0, 0.0],
                (true, true) => vec![0.6, 0.8, 0.0, 0.0],
                _ => vec![0.0, 0.0, 0.0, 1.0],
            })
            .collect())
    }
}

pub(crate) fn vector_store(pool: &PgPool, ws: &Workspace, ns: VectorNamespace) -> lightrag_pg_vector::PgVectorStorage {
    let config = lightrag_pg_vector::PgVectorConfig::from_pool_config(ns, DIM, Some(MODEL), pool.config()).unwrap();
    lightrag_pg_vector::PgVectorStorage::new(pool.clone(), ws.clone(), config).unwrap()
}

pub(crate) fn record(id: &str, vector: [f32; 4], payload: serde_json::Value) -> VectorRecord {
    VectorRecord { id: id.into(), vector: vector.to_vec(), payload: obj(payload) }
}

/// Two chunks, two entities, one relation; the workspace.
pub(crate) async fn knowledge_base(pool: &PgPool, engine: GraphEngine) -> Workspace {
    let ws = unique_workspace("qit");
    let chunks = lightrag_pg_kv::PgKvStorage::new(pool.clone(), KvNamespace::TextChunks, ws.clone()).unwrap();
    chunks.initialize().await.unwrap();
    chunks
        .upsert(vec![
            ("c1".into(), obj(json!({"content": "Scrooge counts coins.", "file_path": "a.txt", "tokens": 4, "chunk_order_index": 0, "full_doc_id": "d1"}))),
            ("c2".into(), obj(json!({"content": "Marley's ghost visits Scrooge.", "file_path": "b.txt", "tokens": 6, "chunk_order_index": 1, "full_doc_id": "d1"}))),
        ])
        .await
        .unwrap();
    let vectors = [
        (
            VectorNamespace::Chunks,
            vec![
                record("c1", [1.0, 0.0, 0.0, 0.0], json!({"content": "Scrooge counts coins.", "file_path": "a.txt"})),
                record(
                    "c2",
                    [0.0, 1.0, 0.0, 0.0],
                    json!({"content": "Marley's ghost visits Scrooge.", "file_path": "b.txt"}),
                ),
            ],
        ),
        (
            VectorNamespace::Entities,
            vec![
                record(
                    "ent-s",
                    [1.0, 0.0, 0.0, 0.0],
                    json!({"entity_name": "Scrooge", "content": "Scrooge", "source_id": "c1<SEP>c2"}),
                ),
                record(
                    "ent-m",
                    [0.0, 1.0, 0.0, 0.0],
                    json!({"entity_name": "Marley", "content": "Marley", "source_id": "c2"}),
                ),
            ],
        ),
        (
            VectorNamespace::Relationships,
            vec![record(
                "rel-ms",
                [0.6, 0.8, 0.0, 0.0],
                json!({"src_id": "Marley", "tgt_id": "Scrooge", "content": "haunts", "source_id": "c2"}),
            )],
        ),
    ];
    for (ns, records) in vectors {
        let store = vector_store(pool, &ws, ns);
        store.initialize().await.unwrap();
        store.upsert(records).await.unwrap();
    }
    let graph = lightrag_pg_graph::PgGraphStorage::new(pool.clone(), ws.clone(), engine).unwrap().into_dyn();
    graph.initialize().await.unwrap();
    let node = |name: &str, source: &str, file: &str| {
        Properties(obj(json!({
            "entity_id": name, "entity_type": "person", "description": format!("{name} of the story."),
            "source_id": source, "file_path": file, "created_at": 1,
        })))
    };
    graph.upsert_node("Scrooge", node("Scrooge", "c1<SEP>c2", "a.txt<SEP>b.txt")).await.unwrap();
    graph.upsert_node("Marley", node("Marley", "c2", "b.txt")).await.unwrap();
    let edge = Properties(obj(json!({
        "weight": 2.0, "description": "Marley haunts Scrooge.", "keywords": "ghost",
        "source_id": "c2", "file_path": "b.txt", "created_at": 2,
    })));
    graph.upsert_edge("Marley", "Scrooge", edge).await.unwrap();
    ws
}

pub(crate) async fn retriever(pool: &PgPool, ws: &Workspace, engine: GraphEngine) -> Result<Retriever, QueryError> {
    let settings = RetrievalSettings::from_sources(&Sources::from_pairs([("COSINE_THRESHOLD", "0.5")])).unwrap();
    Retriever::open(pool.clone(), ws.clone(), engine, DIM, Some(MODEL), Arc::new(NameEmbedder), settings).await
}

/// A fresh knowledge base on `engine` and retrieval over it.
pub(crate) async fn open(engine: GraphEngine) -> Retriever {
    let pool = pool().await;
    let ws = knowledge_base(&pool, engine).await;
    retriever(&pool, &ws, engine).await.unwrap()
}

pub(crate) fn names(list: &[serde_json::Value], key: &str) -> Vec<String> {
    list.iter().map(|v| v[key].as_str().unwrap_or_default().to_owned()).collect()
}
