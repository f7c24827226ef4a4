//! Copying one workspace's graph between engines (AGE → table, table → AGE, or
//! any [`GraphStorage`] to any other), losslessly: every node and edge with all
//! its properties.

use lightrag_pg_core::{Error, GraphStorage, Properties, Result};

/// Nodes and edges written per batch call.
pub const CONVERT_BATCH: usize = 5_000;

/// What [`convert`] copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConvertReport {
    /// Nodes written to the target.
    pub nodes: usize,
    /// Edges written to the target.
    pub edges: usize,
}

/// Copies every node and edge of `from` into `to` (for example an
/// [`crate::AgeGraphStorage`] into a [`crate::TableGraphStorage`] of the same
/// workspace, or back). Node properties are merged into nodes the target already
/// has and edge properties replace existing ones, so running it twice is
/// harmless; call `to.drop_all()` first for an exact copy. Both storages must be
/// initialised. Edge direction is not kept: both engines are undirected (the
/// table engine stores the canonical order).
///
/// Each batch of [`CONVERT_BATCH`] is one transaction; a failure part-way leaves
/// the batches before it written, and a rerun completes the copy.
///
/// # Errors
/// [`Error::Graph`] when a source node has no `entity_id`; the first read or
/// write error of either storage.
pub async fn convert(from: &dyn GraphStorage, to: &dyn GraphStorage) -> Result<ConvertReport> {
    let started = std::time::Instant::now();
    let nodes = from.get_all_nodes().await?;
    let mut batch: Vec<(String, Properties)> = Vec::with_capacity(CONVERT_BATCH.min(nodes.len()));
    let mut report = ConvertReport::default();
    for p in nodes {
        let id = p
            .entity_id()
            .ok_or_else(|| {
                Error::graph(format!(
                    "a source node has no string entity_id: {}",
                    serde_json::Value::Object(p.0.clone())
                ))
            })?
            .to_owned();
        batch.push((id, p));
        if batch.len() == CONVERT_BATCH {
            report.nodes += batch.len();
            to.upsert_nodes_batch(std::mem::take(&mut batch)).await?;
        }
    }
    report.nodes += batch.len();
    to.upsert_nodes_batch(batch).await?;

    let edges = from.get_all_edges().await?;
    for chunk in edges.chunks(CONVERT_BATCH) {
        let batch = chunk.iter().map(|e| (e.source.clone(), e.target.clone(), e.properties.clone())).collect();
        to.upsert_edges_batch(batch).await?;
        report.edges += chunk.len();
    }
    tracing::info!(
        from = %from.workspace(),
        to = %to.workspace(),
        nodes = report.nodes,
        edges = report.edges,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "graph converted"
    );
    Ok(report)
}
