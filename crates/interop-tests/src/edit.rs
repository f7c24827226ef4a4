//! The Rust writer of the mixed-writers scenario: upserts and deletes entities
//! and relations in a workspace that Python LightRAG wrote, keeping every store
//! consistent the way LightRAG's own entity edits do (graph, entity / relation
//! vectors, `entity_chunks`, `relation_chunks`).

use std::time::{SystemTime, UNIX_EPOCH};

use lightrag_pg::{KvNamespace, Result, Storages, VectorNamespace};
use lightrag_pg_core::ids::{entity_id, relation_chunks_key, relation_id};
use lightrag_pg_core::{JsonObject, Properties, VectorRecord};
use serde_json::{Value, json};

use crate::embed::embed_text;

/// The file path Rust-written records carry.
pub const RUST_FILE_PATH: &str = "rust-edit.txt";

/// What to change.
#[derive(Debug, Clone, Default)]
pub struct EditPlan {
    /// New entities.
    pub add: Vec<String>,
    /// New relations (either endpoint may be new or existing).
    pub link: Vec<(String, String)>,
    /// Existing entities whose description is replaced (merged into the node).
    pub update: Vec<String>,
    /// Entities deleted with their relations.
    pub delete: Vec<String>,
    /// Relations deleted.
    pub unlink: Vec<(String, String)>,
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn obj(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        _ => JsonObject::new(),
    }
}

/// The chunk a new record is attributed to: the first chunk of the first
/// existing entity among `names` (so the record points at a real chunk), else a
/// synthetic id.
async fn source_chunk(storages: &Storages, names: &[&str]) -> Result<String> {
    let ec = storages.kv(KvNamespace::EntityChunks)?;
    let ids: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    for rec in ec.get_by_ids(&ids).await?.into_iter().flatten() {
        if let Some(first) =
            rec.get("chunk_ids").and_then(Value::as_array).and_then(|a| a.first()).and_then(Value::as_str)
        {
            return Ok(first.to_owned());
        }
    }
    Ok("chunk-rust-edit".to_owned())
}

/// Applies `plan` and returns a JSON summary of what was written.
///
/// # Errors
/// Any storage error (the stores written before it stay written).
pub async fn apply(storages: &Storages, plan: &EditPlan) -> Result<Value> {
    let graph = storages.graph()?;
    let entities = storages.vector(VectorNamespace::Entities)?;
    let relations = storages.vector(VectorNamespace::Relationships)?;
    let entity_chunks = storages.kv(KvNamespace::EntityChunks)?;
    let relation_chunks = storages.kv(KvNamespace::RelationChunks)?;
    let dim = entities.dimension();
    let t = now();

    // Deletions first, so a plan may delete and re-add a name.
    let mut deleted_edges = Vec::new();
    for name in &plan.delete {
        let edges = graph.get_node_edges(name).await?.unwrap_or_default();
        graph.delete_node(name).await?;
        entities.delete_entity(name).await?;
        relations.delete_entity_relation(name).await?;
        entity_chunks.delete(std::slice::from_ref(name)).await?;
        let keys: Vec<String> = edges.iter().map(|(a, b)| relation_chunks_key(a, b)).collect();
        relation_chunks.delete(&keys).await?;
        deleted_edges.extend(edges.into_iter().map(|(a, b)| json!([a, b])));
    }
    if !plan.unlink.is_empty() {
        graph.remove_edges(&plan.unlink).await?;
        let ids: Vec<String> = plan.unlink.iter().map(|(a, b)| relation_id(a, b)).collect();
        relations.delete(&ids).await?;
        let keys: Vec<String> = plan.unlink.iter().map(|(a, b)| relation_chunks_key(a, b)).collect();
        relation_chunks.delete(&keys).await?;
    }

    for name in &plan.add {
        let linked: Vec<&str> = plan
            .link
            .iter()
            .filter_map(|(a, b)| {
                if a == name {
                    Some(b.as_str())
                } else if b == name {
                    Some(a.as_str())
                } else {
                    None
                }
            })
            .collect();
        let chunk = source_chunk(storages, &linked).await?;
        let description = format!("{name} was added by the Rust writer.");
        let props = Properties::new()
            .with("entity_id", name.as_str())
            .with("entity_type", "organization")
            .with("description", description.as_str())
            .with("source_id", chunk.as_str())
            .with("file_path", RUST_FILE_PATH)
            .with("created_at", t)
            .with("truncate", "");
        graph.upsert_node(name, props).await?;
        let content = format!("{name}\n{description}");
        entities
            .upsert(vec![VectorRecord {
                id: entity_id(name),
                vector: embed_text(&content, dim),
                payload: obj(json!({
                    "entity_name": name, "content": content, "source_id": chunk, "file_path": RUST_FILE_PATH,
                })),
            }])
            .await?;
        entity_chunks.upsert(vec![(name.clone(), obj(json!({"chunk_ids": [chunk], "count": 1})))]).await?;
    }

    for (a, b) in &plan.link {
        let chunk = source_chunk(storages, &[a.as_str(), b.as_str()]).await?;
        let description = format!("{a} works with {b} (added by the Rust writer).");
        let keywords = "rust edit";
        let props = Properties::new()
            .with("weight", 1.0)
            .with("description", description.as_str())
            .with("keywords", keywords)
            .with("source_id", chunk.as_str())
            .with("file_path", RUST_FILE_PATH)
            .with("created_at", t)
            .with("truncate", "");
        graph.upsert_edge(a, b, props).await?;
        let content = format!("{keywords}\t{a}\n{b}\n{description}");
        relations
            .upsert(vec![VectorRecord {
                id: relation_id(a, b),
                vector: embed_text(&content, dim),
                payload: obj(json!({
                    "src_id": a, "tgt_id": b, "content": content, "source_id": chunk, "file_path": RUST_FILE_PATH,
                    "keywords": keywords, "description": description, "weight": 1.0,
                })),
            }])
            .await?;
        relation_chunks
            .upsert(vec![(relation_chunks_key(a, b), obj(json!({"chunk_ids": [chunk], "count": 1})))])
            .await?;
    }

    for name in &plan.update {
        let Some(node) = graph.get_node(name).await? else {
            return Err(lightrag_pg::Error::NotFound { what: format!("entity '{name}' to update") });
        };
        let description = format!("{name} was updated by the Rust writer.");
        graph.upsert_node(name, Properties::new().with("description", description.as_str())).await?;
        let content = format!("{name}\n{description}");
        let source_id = node.source_id().unwrap_or_default().to_owned();
        let file_path = node.file_path().unwrap_or_default().to_owned();
        entities
            .upsert(vec![VectorRecord {
                id: entity_id(name),
                vector: embed_text(&content, dim),
                payload: obj(json!({
                    "entity_name": name, "content": content, "source_id": source_id, "file_path": file_path,
                })),
            }])
            .await?;
    }

    Ok(json!({
        "workspace": storages.workspace().as_str(),
        "added": plan.add,
        "linked": plan.link,
        "updated": plan.update,
        "deleted": plan.delete,
        "deleted_edges": deleted_edges,
        "unlinked": plan.unlink,
    }))
}
