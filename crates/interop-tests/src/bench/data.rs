//! The benchmark workload, generated deterministically (splitmix64) so both
//! halves work on the same records: [`BenchData::write`] puts it in files that
//! `interop/bench_python.py` reads.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::Path;

use lightrag_pg::{Error, Result};
use lightrag_pg_core::JsonObject;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::DIM;

/// How much of everything.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sizes {
    /// Chunks upserted into the KV store (and the KV read set).
    pub kv: usize,
    /// Ids read back by `get_by_ids`.
    pub kv_get: usize,
    /// Vectors upserted.
    pub vec_upsert: usize,
    /// Vectors in the query set.
    pub vec_query_set: usize,
    /// Queries by one caller.
    pub queries_1: usize,
    /// Concurrent callers.
    pub callers: usize,
    /// Queries per concurrent caller.
    pub queries_per_caller: usize,
    /// Top-k of every query.
    pub top_k: usize,
    /// Graph nodes.
    pub nodes: usize,
    /// Graph edges.
    pub edges: usize,
    /// Ids of `get_nodes_batch` / `get_nodes_edges_batch`.
    pub graph_get: usize,
    /// Depth of `get_knowledge_graph`.
    pub kg_depth: usize,
    /// `max_nodes` of `get_knowledge_graph`.
    pub kg_max_nodes: usize,
    /// Documents in the doc-status read set.
    pub docs: usize,
    /// Page size of the listing.
    pub page_size: usize,
    /// Runs per operation.
    pub runs: usize,
}

impl Sizes {
    /// The sizes; `quick` shrinks the vector query set to 20,000.
    pub fn new(quick: bool, runs: usize) -> Self {
        Self {
            kv: 10_000,
            kv_get: 1_000,
            vec_upsert: 10_000,
            vec_query_set: if quick { 20_000 } else { 100_000 },
            queries_1: 100,
            callers: 16,
            queries_per_caller: 10,
            top_k: 10,
            nodes: 5_000,
            edges: 10_000,
            graph_get: 1_000,
            kg_depth: 3,
            kg_max_nodes: 1_000,
            docs: 10_000,
            page_size: 200,
            runs: runs.max(1),
        }
    }

    /// Every record count multiplied by `f` (at least 10 of each; for smoke
    /// runs of the harness).
    pub fn scaled(mut self, f: f64) -> Self {
        if (f - 1.0).abs() > f64::EPSILON {
            let s = |n: usize| ((n as f64 * f).round() as usize).max(10);
            (self.kv, self.kv_get, self.vec_upsert, self.vec_query_set) =
                (s(self.kv), s(self.kv_get), s(self.vec_upsert), s(self.vec_query_set));
            (self.nodes, self.edges, self.graph_get, self.docs) =
                (s(self.nodes), s(self.edges), s(self.graph_get), s(self.docs));
            self.edges = self.edges.min(self.nodes * (self.nodes - 1) / 2);
        }
        self
    }

    /// Number of query vectors needed.
    pub fn queries_total(&self) -> usize {
        self.queries_1.max(self.callers * self.queries_per_caller)
    }
}

/// splitmix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as f32
    }
}

/// The shared vector query set, row by row: `n` ids (`chunk-q-0000000`, …) and
/// unit vectors, the same on every call (what [`super::ours::prepare`] loads and
/// what the recall column compares against).
pub fn query_set(n: usize) -> impl Iterator<Item = (String, Vec<f32>)> {
    let mut rng = Rng::new(0x7175_6572_7973_6574);
    (0..n).map(move |i| (format!("chunk-q-{i:07}"), unit_vector(&mut rng, super::DIM)))
}

/// A unit vector of `dim` components (a sum of uniforms per component, so
/// roughly Gaussian, then L2-normalised).
pub fn unit_vector(rng: &mut Rng, dim: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..dim).map(|_| rng.unit() + rng.unit() + rng.unit()).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::MIN_POSITIVE);
    v.iter_mut().for_each(|x| *x /= n);
    v
}

const WORDS: &[&str] = &[
    "harbour",
    "lighthouse",
    "captain",
    "storm",
    "railway",
    "observatory",
    "telescope",
    "festival",
    "lantern",
    "tunnel",
    "engineer",
    "astronomer",
    "journal",
    "freight",
    "container",
    "breakwater",
    "pilot",
    "granite",
    "copper",
    "meridian",
    "variable",
    "solar",
    "activity",
    "parade",
    "summer",
    "coastal",
    "authority",
    "keeper",
];

fn text(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[rng.below(WORDS.len())]);
    }
    s
}

/// Everything both halves write and read.
#[derive(Debug, Clone)]
pub struct BenchData {
    /// Sizes.
    pub sizes: Sizes,
    /// `text_chunks` records.
    pub chunks: Vec<(String, JsonObject)>,
    /// Ids read by `get_by_ids`.
    pub kv_get_ids: Vec<String>,
    /// Chunk-vector payloads (content, full_doc_id, chunk_order_index, tokens, file_path).
    pub vec_records: Vec<(String, JsonObject)>,
    /// Their vectors.
    pub vectors: Vec<Vec<f32>>,
    /// Query vectors.
    pub queries: Vec<Vec<f32>>,
    /// Graph nodes.
    pub nodes: Vec<(String, JsonObject)>,
    /// Graph edges (one per unordered pair).
    pub edges: Vec<(String, String, JsonObject)>,
    /// Ids of the batch graph reads.
    pub graph_get_ids: Vec<String>,
    /// Start of `get_knowledge_graph` (the highest-degree node).
    pub kg_label: String,
    /// Doc-status records in LightRAG's dict form.
    pub docs: Vec<(String, Value)>,
}

fn obj(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        _ => JsonObject::new(),
    }
}

impl BenchData {
    /// Generates the workload.
    pub fn generate(sizes: Sizes) -> Self {
        let mut rng = Rng::new(0x6c69_6768_7472_6167);
        let chunks: Vec<(String, JsonObject)> = (0..sizes.kv)
            .map(|i| {
                let content = text(&mut rng, 120);
                let id = format!("chunk-bench-{i:06}");
                (
                    id,
                    obj(json!({
                        "tokens": 120, "content": content, "chunk_order_index": i % 10,
                        "full_doc_id": format!("doc-bench-{:05}", i / 10), "file_path": format!("bench/{}.txt", i / 10),
                        "llm_cache_list": [],
                    })),
                )
            })
            .collect();
        let step = (sizes.kv / sizes.kv_get.max(1)).max(1);
        let kv_get_ids = chunks.iter().step_by(step).take(sizes.kv_get).map(|(id, _)| id.clone()).collect();
        let vec_records: Vec<(String, JsonObject)> = (0..sizes.vec_upsert)
            .map(|i| {
                let id = format!("chunk-vec-{i:06}");
                let content = format!("{id} {}", text(&mut rng, 40));
                (
                    id,
                    obj(json!({
                        "content": content, "full_doc_id": format!("doc-bench-{:05}", i / 10), "chunk_order_index": i % 10,
                        "tokens": 40, "file_path": format!("bench/{}.txt", i / 10),
                    })),
                )
            })
            .collect();
        let vectors = (0..sizes.vec_upsert).map(|_| unit_vector(&mut rng, DIM)).collect();
        let queries = (0..sizes.queries_total()).map(|_| unit_vector(&mut rng, DIM)).collect();

        let name = |i: usize| format!("Entity {i:05}");
        let nodes: Vec<(String, JsonObject)> = (0..sizes.nodes)
            .map(|i| {
                let n = name(i);
                let props = obj(json!({
                    "entity_id": n, "entity_type": (["person", "organization", "geo", "event"][i % 4]),
                    "description": format!("{n}: {}", text(&mut rng, 30)),
                    "source_id": format!("chunk-bench-{:06}", i * 2), "file_path": format!("bench/{}.txt", i / 5),
                    "created_at": 1_760_000_000 + i as i64, "truncate": "",
                }));
                (n, props)
            })
            .collect();
        let mut seen = HashSet::new();
        let mut edges = Vec::with_capacity(sizes.edges);
        let mut degree = vec![0usize; sizes.nodes.max(1)];
        while edges.len() < sizes.edges && sizes.nodes > 1 {
            // A skewed source (squared uniform) gives hubs, like real graphs.
            let u = rng.below(1 << 20) as f64 / (1u64 << 20) as f64;
            let a = ((u * u) * sizes.nodes as f64) as usize % sizes.nodes;
            let b = rng.below(sizes.nodes);
            if a == b || !seen.insert((a.min(b), a.max(b))) {
                continue;
            }
            degree[a] += 1;
            degree[b] += 1;
            let props = obj(json!({
                "weight": 1.0 + rng.below(10) as f64, "description": text(&mut rng, 20),
                "keywords": text(&mut rng, 3), "source_id": format!("chunk-bench-{:06}", edges.len()),
                "file_path": "bench/edges.txt", "created_at": 1_760_000_000 + edges.len() as i64, "truncate": "",
            }));
            edges.push((name(a), name(b), props));
        }
        let gstep = (sizes.nodes / sizes.graph_get.max(1)).max(1);
        let graph_get_ids = (0..sizes.nodes).step_by(gstep).take(sizes.graph_get).map(name).collect();
        let hub = degree.iter().enumerate().max_by_key(|(i, d)| (**d, usize::MAX - i)).map(|(i, _)| i).unwrap_or(0);

        let docs = (0..sizes.docs)
            .map(|i| {
                let t = chrono::DateTime::from_timestamp(1_760_000_000 + i as i64 * 7, 0).unwrap_or_default();
                let summary = text(&mut rng, 12);
                (
                    format!("doc-bench-{i:05}"),
                    json!({
                        "status": (["processed", "processed", "processed", "failed", "pending"][i % 5]),
                        "content_summary": summary, "content_length": 4000 + i % 1000,
                        "file_path": format!("bench/{i}.txt"),
                        "created_at": t.to_rfc3339(), "updated_at": (t + chrono::Duration::seconds(3)).to_rfc3339(),
                        "track_id": format!("insert_bench_{}", i / 100), "chunks_count": 10,
                        "chunks_list": (0..10).map(|k| format!("chunk-bench-{:06}", i * 10 + k)).collect::<Vec<_>>(),
                        "metadata": {}, "error_msg": null, "content_hash": format!("{:032x}", i),
                    }),
                )
            })
            .collect();
        Self {
            kv_get_ids,
            chunks,
            vec_records,
            vectors,
            queries,
            nodes,
            edges,
            graph_get_ids,
            kg_label: name(hub),
            docs,
            sizes,
        }
    }

    /// Writes the workload for the Python half into `dir`: `meta.json`,
    /// `chunks.json`, `vec_records.json`, `vectors.f32` and `queries.f32` (raw
    /// little-endian float32, row-major, 1,024 per row), `nodes.json`,
    /// `edges.json`, `docs.json`.
    ///
    /// # Errors
    /// File system errors, as [`Error::InvalidInput`] naming the file.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let io = |what: &Path, e: std::io::Error| Error::invalid(what.display().to_string(), e.to_string());
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let json_file = |name: &str, v: &Value| -> Result<()> {
            let p = dir.join(name);
            let text = serde_json::to_vec(v).map_err(|e| Error::invalid(name, e.to_string()))?;
            std::fs::write(&p, text).map_err(|e| io(&p, e))
        };
        let meta = json!({
            "sizes": self.sizes, "dim": DIM, "kv_get_ids": self.kv_get_ids, "graph_get_ids": self.graph_get_ids,
            "kg_label": self.kg_label, "recall_queries": super::RECALL_QUERIES, "query_model": super::QUERY_MODEL, "upsert_model": super::UPSERT_MODEL,
            "ws_kv_read": super::WS_KV_READ, "ws_query": super::WS_QUERY, "ws_docs": super::WS_DOCS,
            "ws_graph": {"age": super::ws_graph("age"), "table": super::ws_graph("table")},
        });
        json_file("meta.json", &meta)?;
        let pairs = |v: &[(String, JsonObject)]| Value::Array(v.iter().map(|(k, r)| json!([k, r])).collect());
        json_file("chunks.json", &pairs(&self.chunks))?;
        json_file("vec_records.json", &pairs(&self.vec_records))?;
        json_file("nodes.json", &pairs(&self.nodes))?;
        json_file("edges.json", &Value::Array(self.edges.iter().map(|(a, b, p)| json!([a, b, p])).collect()))?;
        let docs: BTreeMap<&str, &Value> = self.docs.iter().map(|(k, v)| (k.as_str(), v)).collect();
        json_file("docs.json", &serde_json::to_value(docs).unwrap_or_default())?;
        for (name, rows) in [("vectors.f32", &self.vectors), ("queries.f32", &self.queries)] {
            let p = dir.join(name);
            let mut f = std::io::BufWriter::new(std::fs::File::create(&p).map_err(|e| io(&p, e))?);
            for row in rows {
                for x in row {
                    f.write_all(&x.to_le_bytes()).map_err(|e| io(&p, e))?;
                }
            }
            f.flush().map_err(|e| io(&p, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_sized() {
        let mut s = Sizes::new(true, 1);
        (s.kv, s.vec_upsert, s.nodes, s.edges, s.docs) = (50, 20, 30, 60, 15);
        (s.kv_get, s.graph_get) = (10, 5);
        let a = BenchData::generate(s.clone());
        let b = BenchData::generate(s);
        assert_eq!(a.chunks, b.chunks);
        assert_eq!(a.edges.len(), 60);
        assert_eq!(a.kv_get_ids.len(), 10);
        assert_eq!(a.graph_get_ids.len(), 5);
        let pairs: HashSet<(String, String)> = a
            .edges
            .iter()
            .map(|(x, y, _)| if x < y { (x.clone(), y.clone()) } else { (y.clone(), x.clone()) })
            .collect();
        assert_eq!(pairs.len(), 60, "one edge per unordered pair");
        assert_eq!(a.kg_label, b.kg_label);
    }
}
