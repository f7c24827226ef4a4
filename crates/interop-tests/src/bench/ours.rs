//! Our timings: the same operations as `interop/bench_python.py`, through our
//! storages, one pool, medians of the runs.

use std::sync::Arc;

use lightrag_pg::docstatus::PgDocStatusStorage;
use lightrag_pg::kv::PgKvStorage;
use lightrag_pg::vector::{PgVectorConfig, PgVectorStorage};
use lightrag_pg::{
    DocProcessingStatus, DocStatusStorage, Error, GraphStorage, KvNamespace, KvStorage, Result, Storage,
    VectorNamespace, VectorStorage,
};
use lightrag_pg_core::{PageRequest, Properties, VectorQuery, VectorRecord};
use lightrag_pg_graph::{GraphEngine, PgGraphStorage};
use lightrag_pg_pool::PgPool;
use serde_json::{Value, json};

use super::{BenchData, DIM, OpResult, QUERY_MODEL, Report, UPSERT_MODEL, WS_DOCS, WS_KV_READ, WS_QUERY};
use super::{drop_age_graph, drop_table, timed, ws, ws_graph, ws_write};

/// A KV store of `text_chunks`, initialised.
async fn kv(pool: &PgPool, workspace: &str) -> Result<PgKvStorage> {
    let s = PgKvStorage::new(pool.clone(), KvNamespace::TextChunks, ws(workspace)?)?;
    s.initialize().await?;
    Ok(s)
}

/// A chunk-vector store with `model`'s table, threshold -1 (every hit counts,
/// like the Python side), initialised.
///
/// # Errors
/// Configuration, connection or schema errors.
pub async fn vectors(pool: &PgPool, workspace: &str, model: &str) -> Result<PgVectorStorage> {
    let config = PgVectorConfig::from_pool_config(VectorNamespace::Chunks, DIM, Some(model), pool.config())?
        .with_threshold(-1.0);
    let s = PgVectorStorage::new(pool.clone(), ws(workspace)?, config)?;
    s.initialize().await?;
    Ok(s)
}

/// A graph of `engine` (`age` or `table`), initialised.
///
/// # Errors
/// Connection or schema errors.
pub async fn graph(pool: &PgPool, workspace: &str, engine: &str) -> Result<Arc<dyn GraphStorage>> {
    let e = if engine == "age" { GraphEngine::Age } else { GraphEngine::Table };
    let g = PgGraphStorage::new(pool.clone(), ws(workspace)?, e)?.into_dyn();
    g.initialize().await?;
    Ok(g)
}

/// A doc-status store, initialised.
async fn docs(pool: &PgPool, workspace: &str) -> Result<PgDocStatusStorage> {
    let s = PgDocStatusStorage::new(pool.clone(), ws(workspace)?)?;
    s.initialize().await?;
    Ok(s)
}

fn records(data: &BenchData) -> Vec<VectorRecord> {
    data.vec_records
        .iter()
        .zip(&data.vectors)
        .map(|((id, p), v)| VectorRecord { id: id.clone(), vector: v.clone(), payload: p.clone() })
        .collect()
}

fn props(p: &lightrag_pg_core::JsonObject) -> Properties {
    Properties(p.clone())
}

/// Decodes the doc-status records.
///
/// # Errors
/// A record that does not parse, naming its id.
pub fn doc_records(data: &BenchData) -> Result<Vec<(String, DocProcessingStatus)>> {
    data.docs
        .iter()
        .map(|(id, v)| {
            serde_json::from_value::<DocProcessingStatus>(v.clone())
                .map(|d| (id.clone(), d))
                .map_err(|e| Error::invalid(id.clone(), e.to_string()))
        })
        .collect()
}

/// Loads the shared read sets (KV, the vector query set, both graphs, doc
/// status) and returns how long each load took.
///
/// # Errors
/// Any storage error.
pub async fn prepare(pool: &PgPool, data: &BenchData) -> Result<Value> {
    let mut out = serde_json::Map::new();
    let k = kv(pool, WS_KV_READ).await?;
    k.drop_all().await?;
    let (_, ms) = timed(k.upsert(data.chunks.clone())).await?;
    out.insert("kv".into(), json!(ms));

    drop_table(
        pool,
        &PgVectorConfig::from_pool_config(VectorNamespace::Chunks, DIM, Some(QUERY_MODEL), pool.config())?
            .table_name()?,
    )
    .await?;
    let v = vectors(pool, WS_QUERY, QUERY_MODEL).await?;
    let started = std::time::Instant::now();
    let mut set = super::data::query_set(data.sizes.vec_query_set).enumerate().peekable();
    while set.peek().is_some() {
        let recs: Vec<VectorRecord> = set
            .by_ref()
            .take(5_000)
            .map(|(i, (id, vector))| VectorRecord {
                id,
                vector,
                payload: data.vec_records[i % data.vec_records.len().max(1)].1.clone(),
            })
            .collect();
        v.upsert(recs).await?;
    }
    out.insert("vector_query_set".into(), json!(started.elapsed().as_secs_f64() * 1000.0));

    for engine in ["age", "table"] {
        let name = ws_graph(engine);
        if engine == "age" {
            drop_age_graph(pool, &ws(&name)?).await?;
        }
        let g = graph(pool, &name, engine).await?;
        g.drop_all().await?;
        let nodes = data.nodes.iter().map(|(id, p)| (id.clone(), props(p))).collect();
        let edges = data.edges.iter().map(|(a, b, p)| (a.clone(), b.clone(), props(p))).collect();
        let (_, a) = timed(g.upsert_nodes_batch(nodes)).await?;
        let (_, b) = timed(g.upsert_edges_batch(edges)).await?;
        out.insert(format!("graph_{engine}"), json!(a + b));
    }

    let d = docs(pool, WS_DOCS).await?;
    d.drop_all().await?;
    let (_, ms) = timed(d.upsert(doc_records(data)?)).await?;
    out.insert("doc_status".into(), json!(ms));
    // Fresh statistics for the planner, as a long-running database would have.
    pool.get().await?.batch_execute("ANALYZE").await.map_err(lightrag_pg_pool::db_error)?;
    Ok(Value::Object(out))
}

/// Whether `op` is selected by `only` (a prefix filter; `None` = all).
fn selected(only: Option<&str>, op: &str) -> bool {
    only.is_none_or(|p| op.starts_with(p))
}

/// Runs every operation `runs` times and returns the medians.
///
/// # Errors
/// Any storage error.
pub async fn run(pool: &PgPool, data: &BenchData, only: Option<&str>) -> Result<Report> {
    let runs = data.sizes.runs;
    let mut report = Report::new();
    let mut put = |name: &str, op: OpResult| {
        report.insert(name.to_owned(), op);
    };

    if selected(only, "kv.upsert") {
        let mut v = Vec::new();
        for r in 0..runs {
            let s = kv(pool, &ws_write("rs", "kv.upsert", r)).await?;
            s.drop_all().await?;
            v.push(timed(s.upsert(data.chunks.clone())).await?.1);
            s.drop_all().await?;
        }
        put("kv.upsert", OpResult::new(v, ""));
    }
    if selected(only, "kv.get_by_ids") {
        let s = kv(pool, WS_KV_READ).await?;
        s.get_by_ids(&data.kv_get_ids).await?; // warm-up
        let mut v = Vec::new();
        for _ in 0..runs {
            let (got, ms) = timed(s.get_by_ids(&data.kv_get_ids)).await?;
            check(got.iter().all(Option::is_some), "kv.get_by_ids: a record is missing")?;
            v.push(ms);
        }
        put("kv.get_by_ids", OpResult::new(v, ""));
    }
    if selected(only, "vector.upsert") {
        let mut v = Vec::new();
        let table = PgVectorConfig::from_pool_config(VectorNamespace::Chunks, DIM, Some(UPSERT_MODEL), pool.config())?
            .table_name()?;
        for r in 0..runs {
            drop_table(pool, &table).await?;
            let s = vectors(pool, &ws_write("rs", "vector.upsert", r), UPSERT_MODEL).await?;
            v.push(timed(s.upsert(records(data))).await?.1);
        }
        drop_table(pool, &table).await?;
        put("vector.upsert", OpResult::new(v, "durable on return (no buffer); HNSW maintained"));
    }
    if selected(only, "vector.query") {
        let s = Arc::new(vectors(pool, WS_QUERY, QUERY_MODEL).await?);
        let top_k = data.sizes.top_k;
        let q = |i: usize| VectorQuery::by_vector(data.queries[i % data.queries.len()].clone(), top_k);
        for i in 0..10 {
            s.query(&q(i)).await?; // warm-up
        }
        let mut v1 = Vec::new();
        for _ in 0..runs {
            let (_, ms) = timed(async {
                for i in 0..data.sizes.queries_1 {
                    let hits = s.query(&q(i)).await?;
                    check(hits.len() == top_k, "vector.query_1: fewer hits than top_k")?;
                }
                Ok(())
            })
            .await?;
            v1.push(ms);
        }
        let mut op = OpResult::new(v1, "");
        for i in 0..super::RECALL_QUERIES {
            op.hits.push(s.query(&q(i)).await?.into_iter().map(|h| h.id).collect());
        }
        put("vector.query_1", op);
        let mut v16 = Vec::new();
        for _ in 0..runs {
            let (_, ms) = timed(async {
                let tasks = (0..data.sizes.callers).map(|c| {
                    let s = Arc::clone(&s);
                    let qs: Vec<VectorQuery> =
                        (0..data.sizes.queries_per_caller).map(|k| q(c * data.sizes.queries_per_caller + k)).collect();
                    tokio::spawn(async move {
                        for query in &qs {
                            s.query(query).await?;
                        }
                        Ok::<_, Error>(())
                    })
                });
                for t in futures::future::join_all(tasks).await {
                    t.map_err(|e| Error::invalid("vector.query_16", e.to_string()))??;
                }
                Ok(())
            })
            .await?;
            v16.push(ms);
        }
        put("vector.query_16", OpResult::new(v16, ""));
    }
    for engine in ["age", "table"] {
        let p = format!("graph_{engine}");
        if selected(only, &format!("{p}.upsert")) {
            let (mut vn, mut ve) = (Vec::new(), Vec::new());
            for r in 0..runs {
                let name = ws_write("rs", &format!("g{engine}"), r);
                if engine == "age" {
                    drop_age_graph(pool, &ws(&name)?).await?;
                }
                let g = graph(pool, &name, engine).await?;
                g.drop_all().await?;
                let nodes = data.nodes.iter().map(|(id, p)| (id.clone(), props(p))).collect();
                let edges = data.edges.iter().map(|(a, b, p)| (a.clone(), b.clone(), props(p))).collect();
                vn.push(timed(g.upsert_nodes_batch(nodes)).await?.1);
                ve.push(timed(g.upsert_edges_batch(edges)).await?.1);
                g.drop_all().await?;
                if engine == "age" {
                    drop_age_graph(pool, &ws(&name)?).await?;
                }
            }
            put(&format!("{p}.upsert_nodes"), OpResult::new(vn, "upsert_nodes_batch"));
            put(&format!("{p}.upsert_edges"), OpResult::new(ve, "upsert_edges_batch"));
        }
        if selected(only, &format!("{p}.get")) || selected(only, &format!("{p}.get_knowledge_graph")) {
            let g = graph(pool, &ws_graph(engine), engine).await?;
            g.get_nodes_batch(&data.graph_get_ids).await?; // warm-up
            let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..runs {
                let (got, ms) = timed(g.get_nodes_batch(&data.graph_get_ids)).await?;
                check(got.len() == data.graph_get_ids.len(), "get_nodes_batch: a node is missing")?;
                a.push(ms);
                b.push(timed(g.get_nodes_edges_batch(&data.graph_get_ids)).await?.1);
                let (kg, ms) =
                    timed(g.get_knowledge_graph(&data.kg_label, data.sizes.kg_depth, data.sizes.kg_max_nodes)).await?;
                check(!kg.nodes.is_empty(), "get_knowledge_graph: empty")?;
                c.push(ms);
            }
            put(&format!("{p}.get_nodes_batch"), OpResult::new(a, ""));
            put(&format!("{p}.get_nodes_edges_batch"), OpResult::new(b, ""));
            put(&format!("{p}.get_knowledge_graph"), OpResult::new(c, ""));
        }
    }
    if selected(only, "doc_status.paginate") {
        let d = docs(pool, WS_DOCS).await?;
        let pages = data.sizes.docs.div_ceil(data.sizes.page_size);
        let mut v = Vec::new();
        for _ in 0..runs {
            let (n, ms) = timed(async {
                let mut n = 0;
                for page in 1..=pages {
                    let req = PageRequest {
                        page: page as u32,
                        page_size: data.sizes.page_size as u32,
                        ..PageRequest::default()
                    };
                    n += d.get_docs_paginated(&req).await?.docs.len();
                }
                Ok(n)
            })
            .await?;
            check(n == data.sizes.docs, "doc_status.paginate: wrong document count")?;
            v.push(ms);
        }
        put("doc_status.paginate", OpResult::new(v, "every page, updated_at desc"));
    }
    Ok(report)
}

fn check(ok: bool, what: &str) -> Result<()> {
    if ok { Ok(()) } else { Err(Error::invalid("bench", what)) }
}
