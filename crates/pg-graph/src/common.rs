//! What both engines share: input validation and de-duplication, call timing,
//! and the knowledge-graph search driven level by level. Retries are the pool's
//! ([`PgPool::retry`]).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Instant;

use async_trait::async_trait;
use lightrag_pg_core::graph::{canonical_pair, validate_edge, validate_node};
use lightrag_pg_core::ids;
use lightrag_pg_core::storage::EdgePair;
use lightrag_pg_core::{EdgeRecord, KnowledgeGraph, KnowledgeGraphEdge, KnowledgeGraphNode, Properties, Result};
use lightrag_pg_pool::PgPool;
use serde_json::Value;

/// The edge type every knowledge-graph edge reports (LightRAG's AGE label).
pub(crate) const EDGE_TYPE: &str = "DIRECTED";

/// Validates every node, then folds repeated ids into one merged map (as calling
/// `upsert_node` for each in turn would) with `entity_id` forced to the id.
/// The result is sorted by id (code point), the order locks are taken in.
pub(crate) fn prepare_nodes(nodes: Vec<(String, Properties)>) -> Result<Vec<(String, Properties)>> {
    for (id, p) in &nodes {
        validate_node(id, p)?;
    }
    let mut merged: HashMap<String, Properties> = HashMap::with_capacity(nodes.len());
    for (id, p) in nodes {
        merged.entry(id).or_default().0.extend(p.0);
    }
    let mut out: Vec<(String, Properties)> = merged
        .into_iter()
        .map(|(id, mut p)| {
            p.0.insert("entity_id".to_owned(), Value::String(id.clone()));
            (id, p)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// One edge to write: endpoints in the requested (stored) direction.
#[derive(Debug, Clone)]
pub(crate) struct EdgeWrite {
    pub(crate) a: String,
    pub(crate) b: String,
    pub(crate) properties: Properties,
}

/// Validates every edge, then keeps the last write per unordered pair (edge
/// properties are replaced, so earlier writes of a pair are invisible). The
/// result is sorted by canonical pair.
pub(crate) fn prepare_edges(edges: Vec<(String, String, Properties)>) -> Result<Vec<EdgeWrite>> {
    for (a, b, p) in &edges {
        validate_edge(a, b, p)?;
    }
    let mut last: HashMap<(String, String), EdgeWrite> = HashMap::with_capacity(edges.len());
    for (a, b, properties) in edges {
        let (lo, hi) = canonical_pair(&a, &b);
        let key = (lo.to_owned(), hi.to_owned());
        last.insert(key, EdgeWrite { a, b, properties });
    }
    let mut out: Vec<((String, String), EdgeWrite)> = last.into_iter().collect();
    out.sort_by(|x, y| x.0.cmp(&y.0));
    Ok(out.into_iter().map(|(_, e)| e).collect())
}

/// Batches smaller than this never trigger [`refresh_statistics`].
const ANALYZE_MIN_ROWS: usize = 1_000;

/// After a batch write of `written` rows into `tables` (quoted names): runs
/// `ANALYZE` on those whose statistics are missing or describe less than five
/// times the rows just written. Without it the first reads after a bulk load
/// (a migration, say) are planned for an empty table, until autovacuum catches
/// up: in the benches, `node_degrees_batch` of 1,000 ids took 80 s instead of
/// 10 ms, and an AGE `get_knowledge_graph` 10.8 s instead of 158 ms. Failures
/// (an application role may not analyze) are logged, never returned: the
/// write itself succeeded.
pub(crate) async fn refresh_statistics(pool: &PgPool, tables: &[String], written: usize) {
    if written < ANALYZE_MIN_ROWS {
        return;
    }
    let result: Result<()> = async {
        let conn = pool.get().await?;
        for table in tables {
            let row = conn
                .query_opt("SELECT reltuples::float8 FROM pg_catalog.pg_class WHERE oid = to_regclass($1)", &[table])
                .await
                .map_err(lightrag_pg_pool::db_error)?;
            let known: f64 = row.map_or(-1.0, |r| r.get(0));
            if known < 0.0 || known < 5.0 * written as f64 {
                tracing::debug!(table = %table, written, known, "refreshing planner statistics after a large write");
                conn.batch_execute(&format!("ANALYZE {table}")).await.map_err(lightrag_pg_pool::db_error)?;
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not refresh planner statistics after a large write");
    }
}

/// The distinct ids of a request, in first-seen order.
pub(crate) fn distinct(ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().filter(|id| seen.insert(id.as_str())).cloned().collect()
}

/// The pairs of a read or delete whose both ids can exist (see [`ids::lookup`]).
pub(crate) fn lookup_pairs(pairs: &[EdgePair]) -> Cow<'_, [EdgePair]> {
    if pairs.iter().all(|(a, b)| ids::can_exist(a) && ids::can_exist(b)) {
        Cow::Borrowed(pairs)
    } else {
        Cow::Owned(pairs.iter().filter(|(a, b)| ids::can_exist(a) && ids::can_exist(b)).cloned().collect())
    }
}

/// Converts a count or limit for SQL.
pub(crate) fn sql_limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Converts a count from SQL.
pub(crate) fn from_count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// Awaits a storage call and logs its duration (a debug event inside the
/// caller's span).
pub(crate) async fn timed<T>(fut: impl Future<Output = Result<T>>) -> Result<T> {
    let start = Instant::now();
    let result = fut.await;
    let elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
    match &result {
        Ok(_) => tracing::debug!(elapsed_ms, "graph call done"),
        Err(e) => tracing::debug!(elapsed_ms, error = %e, "graph call failed"),
    }
    result
}

/// Sorts `(id, neighbour)` pairs by neighbour and drops repeats (a self-loop
/// found from both ends, or duplicate edges left by another writer).
pub(crate) fn finish_pairs(id: &str, mut neighbours: Vec<String>) -> Vec<(String, String)> {
    neighbours.sort();
    neighbours.dedup();
    neighbours.into_iter().map(|n| (id.to_owned(), n)).collect()
}

/// The queries the knowledge-graph search needs; each is one round trip.
#[async_trait]
pub(crate) trait KgSource: Send + Sync {
    /// Whether the node exists.
    async fn kg_has_node(&self, id: &str) -> Result<bool>;
    /// Up to `limit` node ids by degree descending, ties by id (code point).
    async fn kg_top(&self, limit: usize) -> Result<Vec<String>>;
    /// Up to `limit` neighbours of `frontier` that are not in `visited`, by degree
    /// descending, ties by id (code point).
    async fn kg_level(&self, frontier: &[String], visited: &[String], limit: usize) -> Result<Vec<String>>;
    /// The properties of `ids` and the edges among them, each edge once with
    /// `source <= target` (code point).
    async fn kg_induced(&self, ids: &[String]) -> Result<(HashMap<String, Properties>, Vec<EdgeRecord>)>;
}

/// `get_knowledge_graph` on top of [`KgSource`]: `"*"` takes the `max_nodes`
/// highest-degree nodes; a label starts a breadth-first search that admits each
/// level's new neighbours by degree (descending) then id, until `max_depth` hops
/// or `max_nodes` nodes. `is_truncated` is true exactly when a qualifying node
/// was left out. One query per level, plus one for the induced subgraph.
pub(crate) async fn knowledge_graph(
    src: &dyn KgSource,
    label: &str,
    max_depth: usize,
    max_nodes: usize,
) -> Result<KnowledgeGraph> {
    if label == "*" {
        let mut ids = src.kg_top(max_nodes.saturating_add(1)).await?;
        let is_truncated = ids.len() > max_nodes;
        ids.truncate(max_nodes);
        return assemble(src, ids, is_truncated).await;
    }
    if !src.kg_has_node(label).await? {
        return Ok(KnowledgeGraph::default());
    }
    if max_nodes == 0 {
        return Ok(KnowledgeGraph { is_truncated: true, ..KnowledgeGraph::default() });
    }
    let mut selected = vec![label.to_owned()];
    let mut frontier = vec![label.to_owned()];
    let mut is_truncated = false;
    let mut depth = 0;
    while depth < max_depth && !frontier.is_empty() {
        let room = max_nodes - selected.len();
        let mut level = src.kg_level(&frontier, &selected, room.saturating_add(1)).await?;
        if level.len() > room {
            is_truncated = true;
            level.truncate(room);
        }
        selected.extend(level.iter().cloned());
        frontier = level;
        if is_truncated {
            break;
        }
        depth += 1;
    }
    assemble(src, selected, is_truncated).await
}

async fn assemble(src: &dyn KgSource, ids: Vec<String>, is_truncated: bool) -> Result<KnowledgeGraph> {
    if ids.is_empty() {
        return Ok(KnowledgeGraph { is_truncated, ..KnowledgeGraph::default() });
    }
    let (mut props, edges) = src.kg_induced(&ids).await?;
    let nodes = ids
        .into_iter()
        .filter_map(|id| {
            props.remove(&id).map(|properties| KnowledgeGraphNode { labels: vec![id.clone()], id, properties })
        })
        .collect();
    let edges = edges
        .into_iter()
        .map(|e| KnowledgeGraphEdge {
            id: format!("{}-{}", e.source, e.target),
            edge_type: Some(EDGE_TYPE.to_owned()),
            source: e.source,
            target: e.target,
            properties: e.properties,
        })
        .collect();
    Ok(KnowledgeGraph { nodes, edges, is_truncated })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightrag_pg_core::Error;
    use serde_json::json;

    #[test]
    fn repeated_node_ids_merge_in_order_and_entity_id_is_forced() {
        let out = prepare_nodes(vec![
            ("B".into(), Properties::new().with("x", 1).with("entity_id", "wrong")),
            ("A".into(), Properties::new().with("x", 1)),
            ("B".into(), Properties::new().with("x", 2).with("y", 3)),
        ])
        .unwrap();
        assert_eq!(out[0].0, "A");
        assert_eq!(out[1].1.0, json!({"x": 2, "y": 3, "entity_id": "B"}).as_object().unwrap().clone());
    }

    #[test]
    fn one_bad_node_refuses_the_whole_batch() {
        let err = prepare_nodes(vec![("ok".into(), Properties::new()), ("ba\0d".into(), Properties::new())]);
        assert!(matches!(err, Err(Error::InvalidInput { .. })));
        let err = prepare_nodes(vec![("n".into(), Properties::new().with("d", "x\0"))]).unwrap_err();
        assert!(err.to_string().contains("'d'"), "{err}");
    }

    #[test]
    fn the_last_write_of_an_unordered_pair_wins_with_its_direction() {
        let out = prepare_edges(vec![
            ("A".into(), "B".into(), Properties::new().with("w", 1)),
            ("B".into(), "A".into(), Properties::new().with("w", 2)),
        ])
        .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].a.as_str(), out[0].b.as_str()), ("B", "A"));
        assert_eq!(out[0].properties.get("w"), Some(&json!(2)));
    }

    #[test]
    fn pairs_are_sorted_by_neighbour_without_repeats() {
        let p = finish_pairs("A", vec!["c".into(), "A".into(), "b".into(), "A".into()]);
        assert_eq!(p, vec![("A".into(), "A".into()), ("A".into(), "b".into()), ("A".into(), "c".into())]);
    }
}
