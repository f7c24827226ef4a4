//! `lightrag-pg dump`: every record of a workspace as our storages read it, in one
//! JSON document. The interop harness compares it with what Python LightRAG's own
//! storage classes read from the same tables.

use std::collections::BTreeMap;

use lightrag_pg::docstatus::PgDocStatusStorage;
use lightrag_pg::kv::PgKvStorage;
use lightrag_pg::pool::ddl;
use lightrag_pg::vector::{PgVectorConfig, PgVectorStorage};
use lightrag_pg::{DocStatusStorage, KvNamespace, KvStorage, Result, Storage, VectorNamespace, VectorStorage, admin};
use serde_json::{Map, Value, json};

use crate::context::{Context, find_vector_table};
use crate::output;

pub(crate) async fn run(ctx: &Context) -> Result<()> {
    let model_name = ctx.model_name();
    let pool = ctx.pool().await?;
    let ws = ctx.workspace()?;
    let mut kv_out = Map::new();
    for ns in KvNamespace::ALL {
        let store = PgKvStorage::new(pool.clone(), ns, ws.clone())?;
        store.initialize().await?;
        let ids = admin::ids(&pool, ns.table(), &ws).await?;
        let recs = store.get_by_ids(&ids).await?;
        let m: Map<String, Value> =
            ids.into_iter().zip(recs).filter_map(|(id, r)| r.map(|r| (id, Value::Object(r)))).collect();
        kv_out.insert(ns.as_str().to_owned(), Value::Object(m));
    }
    let docs = PgDocStatusStorage::new(pool.clone(), ws.clone())?;
    docs.initialize().await?;
    let doc_ids = admin::ids(&pool, ddl::DOC_STATUS_TABLE, &ws).await?;
    let doc_recs = docs.get_by_ids(&doc_ids).await?;
    let doc_status: Map<String, Value> = doc_ids
        .into_iter()
        .zip(doc_recs)
        .filter_map(|(id, d)| d.map(|d| (id, serde_json::to_value(d).unwrap_or_default())))
        .collect();
    let mut vectors = Map::new();
    for ns in VectorNamespace::ALL {
        let Ok(found) = find_vector_table(&pool, ns, model_name.as_deref(), &ws).await else {
            vectors.insert(ns.as_str().to_owned(), json!({}));
            continue;
        };
        let model = model_name.clone().or(found.model_name);
        let config = PgVectorConfig::from_pool_config(ns, found.dimension, model.as_deref(), pool.config())?;
        let store = PgVectorStorage::new(pool.clone(), ws.clone(), config)?;
        store.initialize().await?;
        let ids = admin::ids(&pool, store.table_name(), &ws).await?;
        let payloads = store.get_by_ids(&ids).await?;
        let vecs = store.get_vectors_by_ids(&ids).await?;
        let m: Map<String, Value> = ids
            .into_iter()
            .zip(payloads)
            .filter_map(|(id, p)| {
                let mut p = p?;
                p.insert("vector".into(), json!(vecs.get(&id)));
                Some((id, Value::Object(p)))
            })
            .collect();
        vectors.insert(ns.as_str().to_owned(), Value::Object(m));
    }
    let g = lightrag_pg::graph::PgGraphStorage::new(pool.clone(), ws.clone(), ctx.engine()?)?.into_dyn();
    g.initialize().await?;
    let labels = g.get_all_labels().await?;
    let nodes: BTreeMap<String, Value> =
        g.get_nodes_batch(&labels).await?.into_iter().map(|(id, p)| (id, Value::Object(p.0))).collect();
    let degrees: BTreeMap<String, usize> = g.node_degrees_batch(&labels).await?.into_iter().collect();
    let edges: Vec<Value> =
        g.get_all_edges().await?.into_iter().map(|e| serde_json::to_value(e).unwrap_or_default()).collect();
    output::json(&json!({
        "workspace": ws.as_str(),
        "kv": kv_out,
        "doc_status": doc_status,
        "vectors": vectors,
        "graph": { "nodes": nodes, "edges": edges, "degrees": degrees },
    }))
}
