//! [`TableGraphStorage`]: the graph on two ordinary tables, LightRAG 1.5.7's
//! `PGTableGraphStorage` schema (spec §10), for servers without AGE.
//!
//! * `lightrag_graph_nodes (workspace, namespace, id, properties JSONB, updated_at)`
//!   and `lightrag_graph_edges (workspace, namespace, src_id, tgt_id, properties,
//!   updated_at)`, every statement scoped by `(workspace, namespace)`.
//! * One row per undirected edge in canonical order: `src_id` is the smaller id by
//!   code point (compared in Rust, never with SQL `LEAST`/`GREATEST`, whose
//!   collation may differ).
//! * Node properties are merged (`properties || $new`), edge properties replaced;
//!   an edge write creates missing endpoints; deleting a node removes its edges by
//!   `ON DELETE CASCADE`.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use lightrag_pg_core::graph::canonical_pair;
use lightrag_pg_core::ids;
use lightrag_pg_core::storage::EdgePair;
use lightrag_pg_core::{EdgeRecord, Error, Namespace, Properties, Result, Workspace};
use lightrag_pg_pool::{PgConn, PgPool, db_error, ddl, schema};
use serde_json::Value;
use tokio_postgres::types::ToSql;

use crate::common::{
    KgSource, distinct, finish_pairs, from_count, lookup_pairs, prepare_edges, prepare_nodes, refresh_statistics,
    sql_limit,
};
use crate::engine::{Engine, graph_storage};

/// The schema part name under which [`ddl::graph_tables`] is recorded.
pub const SCHEMA_PART: &str = "lightrag_graph_tables";

const NS: &str = Namespace::GRAPH;

/// Graph storage on plain tables (LightRAG's `PGTableGraphStorage`). Cheap to
/// clone; all clones share the pool.
#[derive(Debug, Clone)]
pub struct TableGraphStorage {
    pool: PgPool,
    ws: Workspace,
}

type Params<'a> = Vec<&'a (dyn ToSql + Sync)>;

fn props_from(v: Value) -> Result<Properties> {
    match v {
        Value::Object(m) => Ok(Properties(m)),
        other => Err(Error::graph(format!("stored properties are not a JSON object: {other}"))),
    }
}

fn props_json(p: &Properties) -> String {
    Value::Object(p.0.clone()).to_string()
}

mod sql {
    pub(super) const HAS_NODE: &str = "SELECT EXISTS (SELECT 1 FROM lightrag_graph_nodes \
        WHERE workspace = $1 AND namespace = $2 AND id = $3)";
    pub(super) const HAS_EDGE: &str = "SELECT EXISTS (SELECT 1 FROM lightrag_graph_edges \
        WHERE workspace = $1 AND namespace = $2 AND src_id = $3 AND tgt_id = $4)";
    pub(super) const GET_NODE: &str = "SELECT properties FROM lightrag_graph_nodes \
        WHERE workspace = $1 AND namespace = $2 AND id = $3";
    pub(super) const GET_EDGE: &str = "SELECT properties FROM lightrag_graph_edges \
        WHERE workspace = $1 AND namespace = $2 AND src_id = $3 AND tgt_id = $4";
    /// Per-id correlated counts: index-only probes (an `= ANY` filter makes the
    /// planner scan the whole edge table for a thousand ids).
    pub(super) const NODE_DEGREES: &str = "SELECT i.id, \
        (SELECT count(*) FROM lightrag_graph_edges e WHERE e.workspace = $1 AND e.namespace = $2 AND e.src_id = i.id) \
        + (SELECT count(*) FROM lightrag_graph_edges e WHERE e.workspace = $1 AND e.namespace = $2 AND e.tgt_id = i.id) \
        FROM unnest($3::text[]) AS i(id)";
    pub(super) const NODE_EDGES: &str = "SELECT EXISTS (SELECT 1 FROM lightrag_graph_nodes \
        WHERE workspace = $1 AND namespace = $2 AND id = $3), ARRAY( \
        SELECT tgt_id FROM lightrag_graph_edges WHERE workspace = $1 AND namespace = $2 AND src_id = $3 \
        UNION SELECT src_id FROM lightrag_graph_edges WHERE workspace = $1 AND namespace = $2 AND tgt_id = $3)";
    pub(super) const NODES_EDGES: &str = "SELECT i.id, nb.other FROM unnest($3::text[]) AS i(id) CROSS JOIN LATERAL ( \
        SELECT e.tgt_id AS other FROM lightrag_graph_edges e WHERE e.workspace = $1 AND e.namespace = $2 AND e.src_id = i.id \
        UNION ALL \
        SELECT e.src_id FROM lightrag_graph_edges e WHERE e.workspace = $1 AND e.namespace = $2 AND e.tgt_id = i.id) AS nb";
    /// `OFFSET 0` keeps each lookup an index probe (see `NODE_DEGREES`).
    pub(super) const GET_NODES: &str = "SELECT i.id, n.properties FROM unnest($3::text[]) AS i(id) CROSS JOIN LATERAL ( \
        SELECT n.properties FROM lightrag_graph_nodes n \
        WHERE n.workspace = $1 AND n.namespace = $2 AND n.id = i.id OFFSET 0) AS n";
    pub(super) const HAS_NODES: &str = "SELECT i.id FROM unnest($3::text[]) AS i(id) WHERE EXISTS ( \
        SELECT 1 FROM lightrag_graph_nodes n WHERE n.workspace = $1 AND n.namespace = $2 AND n.id = i.id OFFSET 0)";
    pub(super) const GET_EDGES: &str = "SELECT p.s, p.t, e.properties FROM unnest($3::text[], $4::text[]) AS p(s, t) \
        CROSS JOIN LATERAL (SELECT e.properties FROM lightrag_graph_edges e \
        WHERE e.workspace = $1 AND e.namespace = $2 AND e.src_id = p.s AND e.tgt_id = p.t OFFSET 0) AS e";
    pub(super) const UPSERT_NODES: &str = "INSERT INTO lightrag_graph_nodes \
        (workspace, namespace, id, properties, updated_at) \
        SELECT $1, $2, t.id, t.p::jsonb, now() FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS t(id, p, ord) \
        ORDER BY t.ord \
        ON CONFLICT (workspace, namespace, id) DO UPDATE \
        SET properties = lightrag_graph_nodes.properties || EXCLUDED.properties, updated_at = now()";
    /// Creates missing endpoints (in the given order) and upserts the edges, in
    /// one statement: the foreign keys are checked at its end.
    pub(super) const UPSERT_EDGES: &str = "WITH p AS ( \
        SELECT s, t, props, ord FROM unnest($3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS x(s, t, props, ord)), \
        ends AS (INSERT INTO lightrag_graph_nodes (workspace, namespace, id, properties) \
        SELECT $1, $2, v.id, jsonb_build_object('entity_id', v.id) FROM unnest($6::text[]) WITH ORDINALITY AS v(id, ord) \
        ORDER BY v.ord ON CONFLICT (workspace, namespace, id) DO NOTHING) \
        INSERT INTO lightrag_graph_edges (workspace, namespace, src_id, tgt_id, properties, updated_at) \
        SELECT $1, $2, p.s, p.t, p.props::jsonb, now() FROM p ORDER BY p.ord \
        ON CONFLICT (workspace, namespace, src_id, tgt_id) DO UPDATE \
        SET properties = EXCLUDED.properties, updated_at = now()";
    pub(super) const DELETE_NODES: &str = "DELETE FROM lightrag_graph_nodes \
        WHERE workspace = $1 AND namespace = $2 AND id = ANY($3)";
    pub(super) const DELETE_EDGES: &str = "DELETE FROM lightrag_graph_edges e \
        USING unnest($3::text[], $4::text[]) AS p(s, t) \
        WHERE e.workspace = $1 AND e.namespace = $2 AND e.src_id = p.s AND e.tgt_id = p.t";
    pub(super) const DROP: &str = "WITH e AS (DELETE FROM lightrag_graph_edges WHERE workspace = $1 AND namespace = $2) \
        DELETE FROM lightrag_graph_nodes WHERE workspace = $1 AND namespace = $2";
    pub(super) const ALL_LABELS: &str = "SELECT id FROM lightrag_graph_nodes \
        WHERE workspace = $1 AND namespace = $2 ORDER BY id COLLATE \"C\"";
    pub(super) const ALL_NODES: &str = "SELECT properties FROM lightrag_graph_nodes \
        WHERE workspace = $1 AND namespace = $2 ORDER BY id COLLATE \"C\"";
    pub(super) const ALL_EDGES: &str = "SELECT src_id, tgt_id, properties FROM lightrag_graph_edges \
        WHERE workspace = $1 AND namespace = $2 ORDER BY src_id COLLATE \"C\", tgt_id COLLATE \"C\"";
    pub(super) const POPULAR: &str = "SELECT n.id FROM lightrag_graph_nodes n LEFT JOIN ( \
        SELECT x.id, count(*) AS c FROM ( \
        SELECT src_id AS id FROM lightrag_graph_edges WHERE workspace = $1 AND namespace = $2 \
        UNION ALL SELECT tgt_id FROM lightrag_graph_edges WHERE workspace = $1 AND namespace = $2) x \
        GROUP BY x.id) d ON d.id = n.id \
        WHERE n.workspace = $1 AND n.namespace = $2 \
        ORDER BY COALESCE(d.c, 0) DESC, n.id COLLATE \"C\" LIMIT $3";
    pub(super) const SEARCH: &str = "WITH q AS (SELECT lower($3::text) AS q), \
        p AS (SELECT q, replace(replace(replace(q, '\\', '\\\\'), '%', '\\%'), '_', '\\_') AS e FROM q), \
        hits AS (SELECT n.id, lower(n.id) AS ll FROM lightrag_graph_nodes n, p \
        WHERE n.workspace = $1 AND n.namespace = $2 AND lower(n.id) LIKE '%' || p.e || '%' ESCAPE '\\') \
        SELECT h.id FROM hits h, p ORDER BY \
        CASE WHEN h.ll = p.q THEN 1000 WHEN h.ll LIKE p.e || '%' ESCAPE '\\' THEN 500 \
        ELSE 100 - char_length(h.id) + CASE WHEN h.ll LIKE '% ' || p.e || '%' ESCAPE '\\' \
        OR h.ll LIKE '%\\_' || p.e || '%' ESCAPE '\\' THEN 50 ELSE 0 END END DESC, \
        h.id COLLATE \"C\" LIMIT $4";
    /// The next BFS level: the unvisited neighbours of the frontier, ranked by
    /// degree (then id). Degrees come from one grouped pass over the candidates'
    /// edges (hash joins when there are many), not two index probes each.
    pub(super) const LEVEL: &str = "WITH nb AS (SELECT DISTINCT nb.id FROM unnest($3::text[]) AS f(id) CROSS JOIN LATERAL ( \
        SELECT e.tgt_id AS id FROM lightrag_graph_edges e WHERE e.workspace = $1 AND e.namespace = $2 AND e.src_id = f.id \
        UNION ALL \
        SELECT e.src_id FROM lightrag_graph_edges e WHERE e.workspace = $1 AND e.namespace = $2 AND e.tgt_id = f.id) AS nb), \
        c AS MATERIALIZED (SELECT nb.id FROM nb WHERE NOT EXISTS (SELECT 1 FROM unnest($4::text[]) AS v(x) WHERE v.x = nb.id)), \
        deg AS (SELECT d.id, count(*) AS n FROM ( \
        SELECT e.src_id AS id FROM lightrag_graph_edges e WHERE e.workspace = $1 AND e.namespace = $2 \
        AND e.src_id IN (SELECT id FROM c) \
        UNION ALL \
        SELECT e.tgt_id FROM lightrag_graph_edges e WHERE e.workspace = $1 AND e.namespace = $2 \
        AND e.tgt_id IN (SELECT id FROM c)) AS d GROUP BY d.id) \
        SELECT c.id FROM c LEFT JOIN deg ON deg.id = c.id \
        ORDER BY COALESCE(deg.n, 0) DESC, c.id COLLATE \"C\" LIMIT $5";
    /// The edges among the returned nodes: both ends joined to the id set, so
    /// the planner probes the indexes for a few ids and hashes a scan of the
    /// workspace's edges for many (either plan, custom or generic, stays linear).
    pub(super) const INDUCED_EDGES: &str = "WITH ids AS (SELECT DISTINCT unnest($3::text[]) AS id) \
        SELECT e.src_id, e.tgt_id, e.properties FROM lightrag_graph_edges e \
        JOIN ids s ON e.src_id = s.id JOIN ids t ON e.tgt_id = t.id \
        WHERE e.workspace = $1 AND e.namespace = $2";
    /// Rewrites edges stored against the canonical order (by older writers) into
    /// canonical rows, keeping the newest per pair; an existing canonical row wins
    /// ties (spec §10.2 `_normalize_legacy_edges`).
    pub(super) const NORMALIZE: &str = "WITH moved AS ( \
        DELETE FROM lightrag_graph_edges WHERE workspace = $1 AND namespace = $2 \
        AND src_id COLLATE \"C\" > tgt_id COLLATE \"C\" \
        RETURNING tgt_id AS s, src_id AS t, properties, updated_at), \
        best AS (SELECT DISTINCT ON (s, t) s, t, properties, updated_at FROM moved ORDER BY s, t, updated_at DESC) \
        INSERT INTO lightrag_graph_edges (workspace, namespace, src_id, tgt_id, properties, updated_at) \
        SELECT $1, $2, s, t, properties, updated_at FROM best \
        ON CONFLICT (workspace, namespace, src_id, tgt_id) DO UPDATE \
        SET properties = EXCLUDED.properties, updated_at = EXCLUDED.updated_at \
        WHERE lightrag_graph_edges.updated_at < EXCLUDED.updated_at";
}

impl TableGraphStorage {
    /// A storage for the effective workspace `ws` (resolve `POSTGRES_WORKSPACE`
    /// first, see [`Workspace::resolve`]). Call [`Storage::initialize`](lightrag_pg_core::Storage::initialize) before use.
    pub fn new(pool: PgPool, ws: Workspace) -> Self {
        Self { pool, ws }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    async fn conn(&self) -> Result<PgConn> {
        self.pool.get().await
    }

    /// Runs a read that returns rows, with retries.
    async fn rows(&self, what: &str, sql: &str, extra: &[&(dyn ToSql + Sync)]) -> Result<Vec<tokio_postgres::Row>> {
        let ws = self.ws.as_str();
        self.pool
            .retry(what, || async {
                let conn = self.conn().await?;
                let stmt = conn.prepare_cached(sql).await?;
                let mut params: Params<'_> = vec![&ws, &NS];
                params.extend_from_slice(extra);
                conn.query(&stmt, &params).await.map_err(db_error)
            })
            .await
    }

    /// Runs a write statement, with retries (every write here is idempotent).
    async fn exec(&self, what: &str, sql: &str, extra: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let ws = self.ws.as_str();
        self.pool
            .retry(what, || async {
                let conn = self.conn().await?;
                let stmt = conn.prepare_cached(sql).await?;
                let mut params: Params<'_> = vec![&ws, &NS];
                params.extend_from_slice(extra);
                conn.execute(&stmt, &params).await.map_err(db_error)
            })
            .await
    }
}

#[async_trait]
impl Engine for TableGraphStorage {
    fn ws(&self) -> &Workspace {
        &self.ws
    }

    async fn do_initialize(&self) -> Result<()> {
        schema::ensure(
            &self.pool,
            SCHEMA_PART,
            &[ddl::GRAPH_NODES_TABLE, ddl::GRAPH_EDGES_TABLE],
            &ddl::graph_tables(),
        )
        .await?;
        let moved = self.exec("normalize legacy edges", sql::NORMALIZE, &[]).await?;
        if moved > 0 {
            tracing::info!(workspace = %self.ws, rows = moved, "rewrote non-canonical edges into canonical order");
        }
        Ok(())
    }

    async fn do_get_nodes(&self, ids: &[String]) -> Result<HashMap<String, Properties>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ids = ids::lookup(ids);
        let rows = self.rows("get_nodes_batch", sql::GET_NODES, &[&ids]).await?;
        rows.into_iter().map(|r| Ok((r.get::<_, String>(0), props_from(r.get(1))?))).collect()
    }

    async fn do_node_degrees(&self, ids: &[String]) -> Result<HashMap<String, usize>> {
        let mut out: HashMap<String, usize> = distinct(ids).into_iter().map(|id| (id, 0)).collect();
        let ids = ids::lookup(ids);
        if ids.is_empty() {
            return Ok(out);
        }
        for r in self.rows("node_degrees_batch", sql::NODE_DEGREES, &[&ids]).await? {
            out.insert(r.get(0), from_count(r.get(1)));
        }
        Ok(out)
    }

    async fn do_get_edges(&self, pairs: &[EdgePair]) -> Result<HashMap<EdgePair, Properties>> {
        if pairs.is_empty() {
            return Ok(HashMap::new());
        }
        let mut canon: Vec<(String, String)> = lookup_pairs(pairs)
            .iter()
            .map(|(a, b)| canonical_pair(a, b))
            .map(|(s, t)| (s.to_owned(), t.to_owned()))
            .collect();
        canon.sort();
        canon.dedup();
        let (src, tgt): (Vec<String>, Vec<String>) = canon.into_iter().unzip();
        let rows = self.rows("get_edges_batch", sql::GET_EDGES, &[&src, &tgt]).await?;
        let mut found: HashMap<(String, String), Properties> = HashMap::with_capacity(rows.len());
        for r in rows {
            found.insert((r.get(0), r.get(1)), props_from(r.get(2))?);
        }
        Ok(pairs
            .iter()
            .filter_map(|(a, b)| {
                let (s, t) = canonical_pair(a, b);
                found.get(&(s.to_owned(), t.to_owned())).map(|p| ((a.clone(), b.clone()), p.clone()))
            })
            .collect())
    }

    async fn do_nodes_edges(&self, ids: &[String]) -> Result<HashMap<String, Vec<EdgePair>>> {
        let mut neighbours: HashMap<String, Vec<String>> =
            distinct(ids).into_iter().map(|id| (id, Vec::new())).collect();
        let ids = ids::lookup(ids);
        if !ids.is_empty() {
            for r in self.rows("get_nodes_edges_batch", sql::NODES_EDGES, &[&ids]).await? {
                if let Some(list) = neighbours.get_mut(&r.get::<_, String>(0)) {
                    list.push(r.get(1));
                }
            }
        }
        Ok(neighbours.into_iter().map(|(id, n)| (id.clone(), finish_pairs(&id, n))).collect())
    }

    async fn do_upsert_nodes(&self, nodes: Vec<(String, Properties)>) -> Result<()> {
        let nodes = prepare_nodes(nodes)?;
        if nodes.is_empty() {
            return Ok(());
        }
        let batch = self.pool.config().upsert_batch_rows.max(1);
        let chunks: Vec<(Vec<String>, Vec<String>)> =
            nodes.chunks(batch).map(|c| c.iter().map(|(id, p)| (id.clone(), props_json(p))).unzip()).collect();
        let ws = self.ws.as_str();
        self.pool
            .retry("upsert_nodes_batch", || async {
                let mut conn = self.conn().await?;
                let stmt = conn.prepare_cached(sql::UPSERT_NODES).await?;
                let tx = conn.transaction().await.map_err(db_error)?;
                for (ids, props) in &chunks {
                    tx.execute(&stmt, &[&ws, &NS, ids, props]).await.map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)
            })
            .await?;
        refresh_statistics(&self.pool, &[ddl::GRAPH_NODES_TABLE.to_owned()], nodes.len()).await;
        Ok(())
    }

    async fn do_upsert_edges(&self, edges: Vec<(String, String, Properties)>) -> Result<()> {
        let edges = prepare_edges(edges)?;
        if edges.is_empty() {
            return Ok(());
        }
        let batch = self.pool.config().upsert_batch_rows.max(1);
        let mut chunks = Vec::new();
        for c in edges.chunks(batch) {
            let (mut src, mut tgt, mut props) = (Vec::new(), Vec::new(), Vec::new());
            let mut ends = Vec::new();
            for e in c {
                let (s, t) = canonical_pair(&e.a, &e.b);
                src.push(s.to_owned());
                tgt.push(t.to_owned());
                props.push(props_json(&e.properties));
                ends.push(s.to_owned());
                ends.push(t.to_owned());
            }
            ends.sort();
            ends.dedup();
            chunks.push((src, tgt, props, ends));
        }
        let ws = self.ws.as_str();
        self.pool
            .retry("upsert_edges_batch", || async {
                let mut conn = self.conn().await?;
                let stmt = conn.prepare_cached(sql::UPSERT_EDGES).await?;
                let tx = conn.transaction().await.map_err(db_error)?;
                for (src, tgt, props, ends) in &chunks {
                    tx.execute(&stmt, &[&ws, &NS, src, tgt, props, ends]).await.map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)
            })
            .await?;
        let tables = [ddl::GRAPH_NODES_TABLE.to_owned(), ddl::GRAPH_EDGES_TABLE.to_owned()];
        refresh_statistics(&self.pool, &tables, edges.len()).await;
        Ok(())
    }

    async fn do_remove_nodes(&self, ids: &[String]) -> Result<()> {
        let ids = ids::lookup(ids);
        if ids.is_empty() {
            return Ok(());
        }
        self.exec("remove_nodes", sql::DELETE_NODES, &[&ids]).await.map(drop)
    }

    async fn do_remove_edges(&self, pairs: &[EdgePair]) -> Result<()> {
        let pairs = lookup_pairs(pairs);
        if pairs.is_empty() {
            return Ok(());
        }
        let (src, tgt): (Vec<String>, Vec<String>) =
            pairs.iter().map(|(a, b)| canonical_pair(a, b)).map(|(s, t)| (s.to_owned(), t.to_owned())).unzip();
        self.exec("remove_edges", sql::DELETE_EDGES, &[&src, &tgt]).await.map(drop)
    }

    async fn do_drop(&self) -> Result<()> {
        self.exec("drop", sql::DROP, &[]).await.map(drop)
    }

    async fn do_has_nodes(&self, ids: &[&str]) -> Result<HashSet<String>> {
        Ok(self.rows("has_nodes_batch", sql::HAS_NODES, &[&ids]).await?.into_iter().map(|r| r.get(0)).collect())
    }

    async fn do_has_edge(&self, a: &str, b: &str) -> Result<bool> {
        if !ids::can_exist(a) || !ids::can_exist(b) {
            return Ok(false);
        }
        let (s, t) = canonical_pair(a, b);
        let rows = self.rows("has_edge", sql::HAS_EDGE, &[&s, &t]).await?;
        Ok(rows.first().is_some_and(|r| r.get(0)))
    }

    async fn do_get_node(&self, id: &str) -> Result<Option<Properties>> {
        if !ids::can_exist(id) {
            return Ok(None);
        }
        let rows = self.rows("get_node", sql::GET_NODE, &[&id]).await?;
        rows.into_iter().next().map(|r| props_from(r.get(0))).transpose()
    }

    async fn do_get_edge(&self, a: &str, b: &str) -> Result<Option<Properties>> {
        if !ids::can_exist(a) || !ids::can_exist(b) {
            return Ok(None);
        }
        let (s, t) = canonical_pair(a, b);
        let rows = self.rows("get_edge", sql::GET_EDGE, &[&s, &t]).await?;
        rows.into_iter().next().map(|r| props_from(r.get(0))).transpose()
    }

    async fn do_node_edges(&self, id: &str) -> Result<Option<Vec<EdgePair>>> {
        if !ids::can_exist(id) {
            return Ok(None);
        }
        let rows = self.rows("get_node_edges", sql::NODE_EDGES, &[&id]).await?;
        let Some(r) = rows.into_iter().next() else {
            return Ok(None);
        };
        let exists: bool = r.get(0);
        Ok(exists.then(|| finish_pairs(id, r.get(1))))
    }

    async fn do_all_labels(&self) -> Result<Vec<String>> {
        Ok(self.rows("get_all_labels", sql::ALL_LABELS, &[]).await?.into_iter().map(|r| r.get(0)).collect())
    }

    async fn do_all_nodes(&self) -> Result<Vec<Properties>> {
        self.rows("get_all_nodes", sql::ALL_NODES, &[]).await?.into_iter().map(|r| props_from(r.get(0))).collect()
    }

    async fn do_all_edges(&self) -> Result<Vec<EdgeRecord>> {
        let rows = self.rows("get_all_edges", sql::ALL_EDGES, &[]).await?;
        let mut edges = rows
            .into_iter()
            .map(|r| Ok(EdgeRecord { source: r.get(0), target: r.get(1), properties: props_from(r.get(2))? }))
            .collect::<Result<Vec<_>>>()?;
        // The database sorted by byte order of UTF-8 (= code point); keep it exact.
        edges.sort_by(|a, b| (&a.source, &a.target).cmp(&(&b.source, &b.target)));
        Ok(edges)
    }

    async fn do_search(&self, query: &str, limit: usize) -> Result<Vec<String>> {
        let rows = self.rows("search_labels", sql::SEARCH, &[&query, &sql_limit(limit)]).await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }
}

#[async_trait]
impl KgSource for TableGraphStorage {
    async fn kg_has_node(&self, id: &str) -> Result<bool> {
        if !ids::can_exist(id) {
            return Ok(false);
        }
        let rows = self.rows("has_node", sql::HAS_NODE, &[&id]).await?;
        Ok(rows.first().is_some_and(|r| r.get(0)))
    }

    async fn kg_top(&self, limit: usize) -> Result<Vec<String>> {
        let rows = self.rows("top nodes", sql::POPULAR, &[&sql_limit(limit)]).await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    async fn kg_level(&self, frontier: &[String], visited: &[String], limit: usize) -> Result<Vec<String>> {
        let rows = self.rows("bfs level", sql::LEVEL, &[&frontier, &visited, &sql_limit(limit)]).await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    async fn kg_induced(&self, ids: &[String]) -> Result<(HashMap<String, Properties>, Vec<EdgeRecord>)> {
        let ws = self.ws.as_str();
        let ids = ids::lookup(ids);
        self.pool
            .retry("induced subgraph", || async {
                let conn = self.conn().await?;
                let (ns, es) =
                    futures::try_join!(conn.prepare_cached(sql::GET_NODES), conn.prepare_cached(sql::INDUCED_EDGES))?;
                let (nrows, erows) =
                    futures::try_join!(async { conn.query(&ns, &[&ws, &NS, &ids]).await.map_err(db_error) }, async {
                        conn.query(&es, &[&ws, &NS, &ids]).await.map_err(db_error)
                    })?;
                let mut nodes = HashMap::with_capacity(nrows.len());
                for r in nrows {
                    nodes.insert(r.get::<_, String>(0), props_from(r.get(1))?);
                }
                let mut edges = Vec::with_capacity(erows.len());
                for r in erows {
                    edges.push(EdgeRecord { source: r.get(0), target: r.get(1), properties: props_from(r.get(2))? });
                }
                edges.sort_by(|a, b| (&a.source, &a.target).cmp(&(&b.source, &b.target)));
                Ok((nodes, edges))
            })
            .await
    }
}

graph_storage!(TableGraphStorage, "table");
