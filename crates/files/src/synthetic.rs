//! A generated LightRAG working directory, in the layout lightrag-hku 1.5.7
//! writes with its default file storages, for migration tests and `cargo xtask
//! bench --migrate`: documents, text chunks, entities and relations (the
//! graph's nodes and edges; by default one document per ten chunks and a
//! quarter as many entities and relations as chunks), their vector stores of
//! clustered unit vectors, and the doc-status, `full_docs`, `text_chunks`,
//! `entity_chunks` and `relation_chunks` stores.
//!
//! As in 1.5.7's files, chunk vector rows carry `content`, `full_doc_id` and
//! `file_path` only, so a migration completes their `tokens` and
//! `chunk_order_index` from `text_chunks`. Every file is written as a stream
//! (memory holds the graph, a quarter of the chunks in size, not the vectors).
//! The same `Synthetic` writes the same files.

use std::path::Path;

use lightrag_pg_core::{EdgeRecord, JsonObject, KvNamespace, Properties, VectorNamespace, ids};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::doc_status;
use crate::error::MigrateError;
use crate::graphml;
use crate::jsonio::ObjectWriter;
use crate::kv;
use crate::nano::{self, NanoWriter};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synthetic {
    /// Documents (`full_docs`, doc status); the chunks are spread over them.
    pub docs: usize,
    /// Text chunks (and chunk vectors).
    pub chunks: usize,
    /// Entities (graph nodes, entity vectors, `entity_chunks`).
    pub entities: usize,
    /// Relations (graph edges, relation vectors, `relation_chunks`); at most
    /// `entities × (entities - 1) / 2`.
    pub relations: usize,
    /// Vector dimensions.
    pub dimension: usize,
    /// Clusters the vectors are drawn around.
    pub clusters: usize,
    /// The seed of every random choice.
    pub seed: u64,
}

/// How many records of each kind [`Synthetic::write`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyntheticCounts {
    /// Documents (`full_docs`, doc status).
    pub docs: usize,
    /// Chunks (`text_chunks`, chunk vectors).
    pub chunks: usize,
    /// Entities (graph nodes, entity vectors, `entity_chunks`).
    pub entities: usize,
    /// Relations (graph edges, relation vectors, `relation_chunks`).
    pub relations: usize,
}

/// Chunks per document by default.
const CHUNKS_PER_DOC: usize = 10;
/// The creation time of every record (epoch seconds).
const CREATED: i64 = 1_765_000_000;

impl Synthetic {
    /// `chunks` chunks of `dimension`-component vectors around 64 clusters, a
    /// document per ten chunks, a quarter as many entities and relations.
    pub fn new(chunks: usize, dimension: usize) -> Self {
        let quarter = (chunks / 4).max(3);
        Self {
            docs: chunks.div_ceil(CHUNKS_PER_DOC).max(1),
            chunks,
            entities: quarter,
            relations: quarter,
            dimension,
            clusters: 64,
            seed: 18,
        }
    }

    /// What [`Self::write`] writes.
    pub fn counts(&self) -> SyntheticCounts {
        SyntheticCounts { docs: self.docs, chunks: self.chunks, entities: self.entities, relations: self.relations }
    }

    /// The id of document `d`.
    pub fn doc_id(d: usize) -> String {
        format!("doc-{d:08}")
    }

    /// The document of chunk `c`.
    pub fn doc_of(&self, c: usize) -> usize {
        c * self.docs.max(1) / self.chunks.max(1)
    }

    /// The id of chunk `c`.
    pub fn chunk_id(c: usize) -> String {
        format!("chunk-{c:08}")
    }

    /// The name of entity `e`.
    pub fn entity_name(e: usize) -> String {
        format!("ENTITY {e:07}")
    }

    /// The endpoints of relation `r` among `entities` entities: entity `r mod
    /// entities` and one `1 + r / entities` further on (distinct pairs while
    /// `relations < entities × (entities - 1) / 2`).
    pub fn relation_ends(r: usize, entities: usize) -> (usize, usize) {
        let a = r % entities;
        (a, (a + 1 + r / entities) % entities)
    }

    /// The chunk entity `e` (or relation `e`) was extracted from.
    fn source_chunk(&self, e: usize) -> usize {
        (e * 4 + 1) % self.chunks.max(1)
    }

    /// Writes the working directory into `dir` (which must exist).
    ///
    /// # Errors
    /// [`MigrateError::Io`].
    pub fn write(&self, dir: &Path) -> Result<SyntheticCounts, MigrateError> {
        let n = self.counts();
        if n.entities < 3 && n.relations > 0 || n.relations > n.entities * (n.entities - 1) / 2 {
            return Err(MigrateError::io(dir, std::io::Error::other("more relations than pairs of entities")));
        }
        // The chunks of each document, in order.
        let mut doc_chunks: Vec<Vec<String>> = vec![Vec::new(); n.docs];
        for c in 0..n.chunks {
            doc_chunks[self.doc_of(c)].push(Self::chunk_id(c));
        }
        let file = |d: usize| format!("synthetic-{d:06}.txt");
        let text =
            |c: usize| format!("Synthetic chunk {c} of document {}: words about cluster {}.", self.doc_of(c), c % 64);

        let mut docs = ObjectWriter::create(&dir.join(kv::file_name(KvNamespace::FullDocs)))?;
        let mut status = ObjectWriter::create(&dir.join(doc_status::FILE_NAME))?;
        for (d, chunks) in doc_chunks.into_iter().enumerate() {
            let id = Self::doc_id(d);
            let content = format!("Synthetic document {d}.");
            docs.entry(
                &id,
                &json!({"content": content, "file_path": file(d), "create_time": CREATED,
                        "update_time": CREATED, "_id": id}),
            )?;
            status.entry(
                &id,
                &json!({"status": "processed", "content_summary": content, "content_length": content.len(),
                        "created_at": "2025-12-06T05:46:40+00:00", "updated_at": "2025-12-06T05:46:41+00:00",
                        "file_path": file(d), "track_id": format!("insert_synthetic_{d}"),
                        "chunks_count": chunks.len(), "chunks_list": chunks}),
            )?;
        }
        docs.finish()?;
        status.finish()?;

        let centres = self.centres();
        let (mut chunks, mut vdb, mut rng) = self.store(dir, KvNamespace::TextChunks, VectorNamespace::Chunks)?;
        let mut first = 0;
        for c in 0..n.chunks {
            let id = Self::chunk_id(c);
            let (d, doc) = (self.doc_of(c), Self::doc_id(self.doc_of(c)));
            if c == 0 || self.doc_of(c - 1) != d {
                first = c;
            }
            chunks.entry(
                &id,
                &json!({"tokens": 12 + c % 50, "content": text(c), "chunk_order_index": c - first,
                        "full_doc_id": doc, "file_path": file(d), "llm_cache_list": [],
                        "create_time": CREATED, "update_time": CREATED, "_id": id}),
            )?;
            let payload = object(json!({"content": text(c), "full_doc_id": doc, "file_path": file(d)}));
            vdb.row(&id, Some(CREATED), &payload, &self.vector(&centres, &mut rng))?;
        }
        chunks.finish()?;
        vdb.finish()?;

        let mut nodes = Vec::with_capacity(n.entities);
        let (mut entity_chunks, mut vdb, mut rng) =
            self.store(dir, KvNamespace::EntityChunks, VectorNamespace::Entities)?;
        for e in 0..n.entities {
            let name = Self::entity_name(e);
            let source = Self::chunk_id(self.source_chunk(e));
            let description = format!("{name} is a synthetic entity of cluster {}.", e % 64);
            nodes.push(Properties(object(json!({"entity_id": name, "entity_type": "concept",
                "description": description, "source_id": source, "file_path": file(self.doc_of(self.source_chunk(e))),
                "created_at": CREATED, "truncate": ""}))));
            entity_chunks.entry(&name, &chunk_list(&name, &source))?;
            let payload = object(json!({"entity_name": name, "content": format!("{name}\n{description}"),
                "source_id": source, "file_path": file(self.doc_of(self.source_chunk(e)))}));
            vdb.row(&ids::entity_id(&name), Some(CREATED), &payload, &self.vector(&centres, &mut rng))?;
        }
        entity_chunks.finish()?;
        vdb.finish()?;

        let mut edges = Vec::with_capacity(n.relations);
        let (mut relation_chunks, mut vdb, mut rng) =
            self.store(dir, KvNamespace::RelationChunks, VectorNamespace::Relationships)?;
        for r in 0..n.relations {
            let (a, b) = Self::relation_ends(r, n.entities);
            let (src, tgt) = (Self::entity_name(a), Self::entity_name(b));
            let source = Self::chunk_id(self.source_chunk(r));
            let description = format!("{src} relates to {tgt}.");
            edges.push(EdgeRecord {
                source: src.clone(),
                target: tgt.clone(),
                properties: Properties(object(json!({"weight": 1.0 + (r % 5) as f64, "description": description,
                    "keywords": "synthetic", "source_id": source, "file_path": file(self.doc_of(self.source_chunk(r))),
                    "created_at": CREATED, "truncate": ""}))),
            });
            let key = ids::relation_chunks_key(&src, &tgt);
            relation_chunks.entry(&key, &chunk_list(&key, &source))?;
            let payload = object(json!({"src_id": src, "tgt_id": tgt, "source_id": source,
                "content": format!("synthetic\t{src}\n{tgt}\n{description}"), "file_path": file(self.doc_of(self.source_chunk(r)))}));
            vdb.row(&ids::relation_id(&src, &tgt), Some(CREATED), &payload, &self.vector(&centres, &mut rng))?;
        }
        relation_chunks.finish()?;
        vdb.finish()?;
        graphml::write(&dir.join(graphml::FILE_NAME), &nodes, &edges)?;
        Ok(n)
    }

    /// The writers of a key-value file and a vector file, and the vectors' random source.
    fn store(
        &self,
        dir: &Path,
        records: KvNamespace,
        ns: VectorNamespace,
    ) -> Result<(ObjectWriter, NanoWriter, SmallRng), MigrateError> {
        Ok((
            ObjectWriter::create(&dir.join(kv::file_name(records)))?,
            NanoWriter::create(&dir.join(nano::file_name(ns)), self.dimension)?,
            self.rng(ns),
        ))
    }

    fn rng(&self, ns: VectorNamespace) -> SmallRng {
        SmallRng::seed_from_u64(self.seed ^ (ns as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    /// The cluster centres: unit vectors.
    fn centres(&self) -> Vec<Vec<f32>> {
        let mut rng = SmallRng::seed_from_u64(self.seed);
        (0..self.clusters.max(1))
            .map(|_| nano::normalise(&(0..self.dimension).map(|_| rng.random_range(-1.0f32..1.0)).collect::<Vec<_>>()))
            .collect()
    }

    /// A unit vector near a random centre.
    fn vector(&self, centres: &[Vec<f32>], rng: &mut SmallRng) -> Vec<f32> {
        let centre = &centres[rng.random_range(0..centres.len())];
        let spread = 0.6 / (self.dimension as f32).sqrt();
        let v: Vec<f32> = centre.iter().map(|c| c + spread * rng.random_range(-1.0f32..1.0)).collect();
        nano::normalise(&v)
    }
}

/// An `entity_chunks` / `relation_chunks` record of one chunk.
fn chunk_list(key: &str, chunk: &str) -> Value {
    json!({"chunk_ids": [chunk], "count": 1, "create_time": CREATED, "update_time": CREATED, "_id": key})
}

fn object(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_ends_are_distinct_pairs_without_loops() {
        let entities = 25;
        let mut seen = std::collections::HashSet::new();
        for r in 0..25 {
            let (a, b) = Synthetic::relation_ends(r, entities);
            assert_ne!(a, b);
            assert!(seen.insert((a.min(b), a.max(b))), "relation {r} repeats a pair");
        }
    }

    #[test]
    fn the_default_counts_are_proportional_to_the_chunks() {
        let n = Synthetic::new(10_000, 8).counts();
        assert_eq!((n.docs, n.chunks, n.entities, n.relations), (1_000, 10_000, 2_500, 2_500));
    }

    #[test]
    fn chunks_spread_over_the_documents_in_order() {
        let s = Synthetic { docs: 3, ..Synthetic::new(10, 8) };
        let docs: Vec<usize> = (0..10).map(|c| s.doc_of(c)).collect();
        assert_eq!(docs, [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
    }
}
