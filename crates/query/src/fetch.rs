//! What retrieval reads from PostgreSQL, one statement per step (see the
//! crate README for the statements each mode sends):
//!
//! * [`Store::local`]: the entity vectors nearest the low-level keywords,
//!   their graph nodes and degrees, their edges, and the degrees of the
//!   edges' other ends;
//! * [`Store::global`]: the relation vectors nearest the high-level keywords,
//!   their graph edges and the nodes at both ends;
//! * [`Store::vector_chunks`]: the chunk vectors nearest the question (LightRAG's
//!   own `chunks` statement);
//! * [`Store::chunks`]: the text chunks named by the entities and relations
//!   kept, with their vectors.
//!
//! Every read goes through [`Pools::read`]: on a standby of
//! `POSTGRES_READ_HOSTS` when one is fit, else on the primary. LightRAG's LLM
//! cache (the keyword cache) is read on the primary ([`Store::llm_cache`]):
//! an entry is written there just before it is looked up.
//!
//! AGE graphs are read through their label tables (`<graph>.base`,
//! `<graph>."DIRECTED"`) with plain SQL, matching vertices on
//! `properties.entity_id` exactly as LightRAG's batch reads do.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use lightrag_pg_core::{Error, Workspace};
use lightrag_pg_graph::Agtype;
use lightrag_pg_pool::ident::quote_ident;
use lightrag_pg_pool::{GraphEngine, PgPool, Pools, db_error};
use lightrag_pg_vector::codec::{PgVec, VecParam};
use postgres_types::ToSql;
use serde_json::{Map, Value};
use tokio_postgres::Row;

/// Properties of a node or an edge, in their stored order.
pub(crate) type Props = Map<String, Value>;

/// The tables of one workspace and the statements over them.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pub(crate) pools: Pools,
    pub(crate) ws: Workspace,
    pub(crate) engine: GraphEngine,
    local_sql: String,
    global_sql: String,
    chunks_vdb_sql: String,
    chunks_sql: String,
    exists_sql: String,
    /// When set, every statement is also run under `EXPLAIN (ANALYZE)` and its
    /// server execution time (µs) added here: the floor of a retrieval.
    pub(crate) floor: Option<Arc<AtomicU64>>,
}

/// One local-mode read.
#[derive(Debug, Default)]
pub(crate) struct LocalRows {
    /// Vector hits found in the graph, best first: name, vector-row
    /// `created_at`, node properties, degree.
    pub(crate) nodes: Vec<(String, Option<i64>, Props, i64)>,
    /// Per node name: the edges as (other end, properties, the other end's
    /// degree), in LightRAG's order (`get_nodes_edges_batch`).
    pub(crate) edges: HashMap<String, Vec<(String, Option<Props>, i64)>>,
}

/// One global-mode read.
#[derive(Debug, Default)]
pub(crate) struct GlobalRows {
    /// Vector hits, best first: src, tgt, vector-row `created_at`, the edge's
    /// properties when the graph has the edge.
    pub(crate) relations: Vec<(String, String, Option<i64>, Option<Props>)>,
    /// The nodes at the ends, by name.
    pub(crate) nodes: HashMap<String, Props>,
}

/// A chunk from the chunk vectors.
#[derive(Debug, Clone)]
pub(crate) struct VectorChunk {
    pub(crate) id: String,
    pub(crate) content: String,
    pub(crate) file_path: Option<String>,
}

/// A text chunk and its vector.
#[derive(Debug, Default)]
pub(crate) struct ChunkRows {
    /// `id → (content, file_path)` from the text chunks.
    pub(crate) text: HashMap<String, (String, Option<String>)>,
    /// `id → vector` from the chunk vectors.
    pub(crate) vectors: HashMap<String, Vec<f32>>,
}

/// The nearest rows of a vector table, numbered in distance order (LightRAG's
/// statement: `distance < 1 - threshold`, `ORDER BY distance LIMIT top_k`).
fn nearest(table: &str, cast: &str, columns: &str) -> String {
    format!(
        "SELECT h.*, row_number() OVER () AS ord FROM (SELECT {columns}, \
         EXTRACT(EPOCH FROM create_time)::BIGINT AS created_at FROM {table} \
         WHERE workspace = $1 AND content_vector <=> $2::{cast} < $3 \
         ORDER BY content_vector <=> $2::{cast} LIMIT $4) h"
    )
}

/// `properties.entity_id` of an AGE vertex, as agtype.
fn entity_id(alias: &str) -> String {
    format!("ag_catalog.agtype_access_operator(VARIADIC ARRAY[{alias}.properties, '\"entity_id\"'::ag_catalog.agtype])")
}

/// A text as the agtype string LightRAG compares `entity_id` with.
fn as_agtype(expr: &str) -> String {
    format!("(to_json({expr}::text)::text)::ag_catalog.agtype")
}

impl Store {
    /// The statements for these tables. `tables` are the entity, relation and
    /// chunk vector tables; `cast` is `vector` or `halfvec`.
    pub(crate) fn new(
        pools: Pools,
        ws: Workspace,
        engine: GraphEngine,
        tables: [&str; 3],
        cast: &str,
    ) -> Result<Self, Error> {
        let [et, rt, ct] = [tables[0], tables[1], tables[2]].map(|t| quote_ident(&t.to_lowercase()));
        let (et, rt, ct) = (et?, rt?, ct?);
        let entity_hits = nearest(&et, cast, "entity_name");
        let relation_hits = nearest(&rt, cast, "source_id AS src_id, target_id AS tgt_id");
        let (local_sql, global_sql) = match engine {
            GraphEngine::Age => {
                let g = quote_ident(&lightrag_pg_graph::names::age_graph_name(&ws))?;
                (age_local(&g, &entity_hits), age_global(&g, &relation_hits))
            }
            GraphEngine::Table => (table_local(&entity_hits), table_global(&relation_hits)),
        };
        let chunks_vdb_sql = format!(
            "SELECT id, content, file_path FROM {ct} WHERE workspace = $1 AND content_vector <=> $2::{cast} < $3 \
             ORDER BY content_vector <=> $2::{cast} LIMIT $4"
        );
        let chunks_sql = format!(
            "SELECT 'c' AS kind, c.id, COALESCE(c.content, '') AS content, c.file_path, NULL::{cast} AS vector \
             FROM lightrag_doc_chunks c WHERE c.workspace = $1 AND c.id = ANY($2) \
             UNION ALL SELECT 'v', v.id, NULL, NULL, v.content_vector FROM {ct} v \
             WHERE $3 AND v.workspace = $1 AND v.id = ANY($2) AND v.content_vector IS NOT NULL"
        );
        let exists_sql = format!(
            "SELECT EXISTS (SELECT 1 FROM lightrag_doc_chunks WHERE workspace = $1) \
             OR EXISTS (SELECT 1 FROM {et} WHERE workspace = $1) OR EXISTS (SELECT 1 FROM {ct} WHERE workspace = $1)"
        );
        Ok(Self { pools, ws, engine, local_sql, global_sql, chunks_vdb_sql, chunks_sql, exists_sql, floor: None })
    }

    async fn query(&self, what: &str, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Error> {
        if let Some(floor) = &self.floor {
            let explain = format!("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}");
            let conn = self.pools.pool(self.pools.route()).get().await?;
            let row = conn.query_one(&explain, params).await.map_err(db_error)?;
            let plan: Value = row.get(0);
            let ms = plan.pointer("/0/Execution Time").and_then(Value::as_f64).unwrap_or(0.0);
            floor.fetch_add((ms * 1000.0) as u64, Ordering::Relaxed);
        }
        let started = std::time::Instant::now();
        let rows = self.pools.read(what, |_, pool| run(pool, sql, params)).await?;
        tracing::debug!(what, rows = rows.len(), ms = started.elapsed().as_secs_f64() * 1e3, "read");
        Ok(rows)
    }

    /// A statement on the primary, whatever the read routing.
    async fn query_primary(&self, what: &str, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Error> {
        let pool = self.pools.write();
        pool.retry(what, || run(pool.clone(), sql, params)).await
    }

    /// `return_value` of LightRAG's LLM cache entry `id` (`lightrag_llm_cache`),
    /// read on the primary: the LLM cache stays there (read-your-writes: the
    /// keywords of a question are cached just before they are looked up).
    pub(crate) async fn llm_cache(&self, id: &str) -> Result<Option<String>, Error> {
        const SQL: &str = "SELECT return_value FROM lightrag_llm_cache WHERE workspace = $1 AND id = $2 \
            AND to_regclass('lightrag_llm_cache') IS NOT NULL";
        let ws = self.ws.as_str();
        let exists =
            self.query_primary("llm cache table", "SELECT to_regclass('lightrag_llm_cache') IS NOT NULL", &[]).await?;
        if !exists.first().is_some_and(|r| r.get::<_, bool>(0)) {
            return Ok(None);
        }
        let rows = self.query_primary("llm cache read", SQL, &[&ws, &id]).await?;
        Ok(rows.first().and_then(|r| r.get::<_, Option<String>>(0)))
    }

    /// Whether the workspace holds anything to retrieve from.
    pub(crate) async fn exists(&self) -> Result<bool, Error> {
        let ws = self.ws.as_str();
        let rows = self.query("workspace exists", &self.exists_sql, &[&ws]).await?;
        Ok(rows.first().map(|r| r.get::<_, bool>(0)).unwrap_or(false))
    }

    /// The local step: one statement.
    pub(crate) async fn local(&self, v: &[f32], cutoff: f64, top_k: usize) -> Result<LocalRows, Error> {
        let ws = self.ws.as_str();
        let vp = VecParam(v);
        let limit = i64::try_from(top_k).unwrap_or(i64::MAX);
        let rows = self.query("local retrieval", &self.local_sql, &[&ws, &vp, &cutoff, &limit]).await?;
        match self.engine {
            GraphEngine::Age => parse_age_local(&rows),
            GraphEngine::Table => parse_table_local(&rows),
        }
    }

    /// The global step: one statement.
    pub(crate) async fn global(&self, v: &[f32], cutoff: f64, top_k: usize) -> Result<GlobalRows, Error> {
        let ws = self.ws.as_str();
        let vp = VecParam(v);
        let limit = i64::try_from(top_k).unwrap_or(i64::MAX);
        let rows = self.query("global retrieval", &self.global_sql, &[&ws, &vp, &cutoff, &limit]).await?;
        let mut out = GlobalRows::default();
        // Table engine: the stored orientation decides (LightRAG looks the
        // edge up as (min, max) only).
        let mut table_edges: HashMap<i64, Vec<(String, String, Props)>> = HashMap::new();
        for r in &rows {
            let kind: &str = r.get("kind");
            match kind {
                "r" => {
                    let props = match self.engine {
                        GraphEngine::Age => r.get::<_, Option<Agtype>>("props").map(|a| agtype_map(&a)).transpose()?,
                        GraphEngine::Table => None,
                    };
                    out.relations.push((r.get("name"), r.get("other"), r.get("created_at"), props));
                }
                "x" => {
                    let props = self.props(&r.get::<_, String>("props"))?;
                    table_edges.entry(r.get("ord")).or_default().push((r.get("name"), r.get("other"), props));
                }
                _ => {
                    let props = match self.engine {
                        GraphEngine::Age => agtype_map(&r.get::<_, Agtype>("props"))?,
                        GraphEngine::Table => self.props(&r.get::<_, String>("props"))?,
                    };
                    out.nodes.insert(r.get("name"), props);
                }
            }
        }
        if self.engine == GraphEngine::Table {
            for (i, rel) in out.relations.iter_mut().enumerate() {
                let (lo, hi) = if rel.0 <= rel.1 { (&rel.0, &rel.1) } else { (&rel.1, &rel.0) };
                rel.3 = table_edges
                    .get(&(i as i64 + 1))
                    .and_then(|es| es.iter().find(|(s, t, _)| s == lo && t == hi))
                    .map(|(_, _, p)| p.clone());
            }
        }
        Ok(out)
    }

    /// The chunks nearest the question (mix mode).
    pub(crate) async fn vector_chunks(&self, v: &[f32], cutoff: f64, top_k: usize) -> Result<Vec<VectorChunk>, Error> {
        let ws = self.ws.as_str();
        let vp = VecParam(v);
        let limit = i64::try_from(top_k).unwrap_or(i64::MAX);
        let rows = self.query("chunk retrieval", &self.chunks_vdb_sql, &[&ws, &vp, &cutoff, &limit]).await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                // LightRAG skips a hit without content.
                let content: Option<String> = r.get("content");
                Some(VectorChunk { id: r.get("id"), content: content?, file_path: r.get("file_path") })
            })
            .collect())
    }

    /// The text chunks `ids`, and their vectors when `vectors`.
    pub(crate) async fn chunks(&self, ids: &[String], vectors: bool) -> Result<ChunkRows, Error> {
        let ws = self.ws.as_str();
        let rows = self.query("chunk read", &self.chunks_sql, &[&ws, &ids, &vectors]).await?;
        let mut out = ChunkRows::default();
        for r in &rows {
            let id: String = r.get("id");
            if r.get::<_, &str>("kind") == "c" {
                out.text.insert(id, (r.get("content"), r.get("file_path")));
            } else if let Some(PgVec(v)) = r.get::<_, Option<PgVec>>("vector") {
                out.vectors.insert(id, v);
            }
        }
        Ok(out)
    }

    /// Properties of the table engine (JSONB text).
    fn props(&self, text: &str) -> Result<Props, Error> {
        json_map(text)
    }
}

/// Which of `names` exist (`to_regclass`), and the type of their
/// `content_vector` column (`vector(1536)`, `halfvec(1024)`), in one statement.
///
/// # Errors
/// Connection and server errors.
pub(crate) async fn probe_tables(pools: &Pools, names: &[String]) -> Result<Vec<(bool, Option<String>)>, Error> {
    const SQL: &str = "SELECT to_regclass(t.name) IS NOT NULL, (SELECT format_type(a.atttypid, a.atttypmod) \
        FROM pg_attribute a WHERE a.attrelid = to_regclass(t.name) AND a.attname = 'content_vector' \
        AND NOT a.attisdropped) FROM unnest($1::text[]) WITH ORDINALITY AS t(name, ord) ORDER BY t.ord";
    let params: [&(dyn ToSql + Sync); 1] = [&names];
    let rows = pools.read("probe tables", |_, pool| run(pool, SQL, &params)).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// One statement on a connection of `pool` (prepared once per connection).
async fn run(pool: PgPool, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, Error> {
    let conn = pool.get().await?;
    let stmt = conn.prepare_cached(sql).await?;
    conn.query(&stmt, params).await.map_err(db_error)
}

/// AGE, local: vector hits → vertices → edges both ways → degrees.
fn age_local(g: &str, hits: &str) -> String {
    let eid_b = entity_id("b");
    let eid_o = entity_id("o");
    let hit_id = as_agtype("h.entity_name");
    format!(
        "WITH hits AS MATERIALIZED ({hits}), \
         v AS MATERIALIZED (SELECT h.ord, h.entity_name, h.created_at, b.id AS vid, b.properties \
           FROM hits h JOIN {g}.base b ON {eid_b} OPERATOR(ag_catalog.=) {hit_id}), \
         e AS MATERIALIZED (SELECT v.ord, v.entity_name AS seed, 0 AS dir, d.ctid AS eid, d.end_id AS other, d.properties \
             FROM v JOIN {g}.\"DIRECTED\" d ON d.start_id OPERATOR(ag_catalog.=) v.vid \
           UNION ALL SELECT v.ord, v.entity_name, 1, d.ctid, d.start_id, d.properties \
             FROM v JOIN {g}.\"DIRECTED\" d ON d.end_id OPERATOR(ag_catalog.=) v.vid), \
         ends AS (SELECT vid FROM v UNION SELECT other FROM e), \
         deg AS MATERIALIZED (SELECT x.vid, (SELECT count(*) FROM {g}.\"DIRECTED\" d WHERE d.start_id OPERATOR(ag_catalog.=) x.vid) \
           + (SELECT count(*) FROM {g}.\"DIRECTED\" d WHERE d.end_id OPERATOR(ag_catalog.=) x.vid) AS degree FROM ends x) \
         SELECT 'n' AS kind, v.ord, 0::bigint AS seq, v.entity_name AS name, NULL::text AS other, \
           v.properties AS props, deg.degree, v.created_at \
           FROM v JOIN deg ON deg.vid OPERATOR(ag_catalog.=) v.vid \
         UNION ALL SELECT 'e', e.ord, row_number() OVER (ORDER BY e.ord, e.dir, e.eid), e.seed, {eid_o}::text, \
           e.properties, deg.degree, NULL \
           FROM e JOIN {g}.base o ON o.id OPERATOR(ag_catalog.=) e.other JOIN deg ON deg.vid OPERATOR(ag_catalog.=) e.other \
         ORDER BY 1 DESC, 2, 3"
    )
}

/// Tables, local: vector hits → nodes → edges touching them → degrees.
fn table_local(hits: &str) -> String {
    format!(
        "WITH hits AS MATERIALIZED ({hits}), \
         v AS MATERIALIZED (SELECT h.ord, h.entity_name, h.created_at, n.properties FROM hits h \
           JOIN lightrag_graph_nodes n ON n.workspace = $1 AND n.namespace = 'chunk_entity_relation' AND n.id = h.entity_name), \
         e AS MATERIALIZED (SELECT x.src_id, x.tgt_id, x.properties FROM lightrag_graph_edges x \
           WHERE x.workspace = $1 AND x.namespace = 'chunk_entity_relation' AND x.src_id IN (SELECT entity_name FROM v) \
           UNION SELECT x.src_id, x.tgt_id, x.properties FROM lightrag_graph_edges x \
           WHERE x.workspace = $1 AND x.namespace = 'chunk_entity_relation' AND x.tgt_id IN (SELECT entity_name FROM v)), \
         ends AS (SELECT entity_name AS id FROM v UNION SELECT src_id FROM e UNION SELECT tgt_id FROM e), \
         deg AS MATERIALIZED (SELECT i.id, (SELECT count(*) FROM lightrag_graph_edges d WHERE d.workspace = $1 \
           AND d.namespace = 'chunk_entity_relation' AND d.src_id = i.id) + (SELECT count(*) FROM lightrag_graph_edges d \
           WHERE d.workspace = $1 AND d.namespace = 'chunk_entity_relation' AND d.tgt_id = i.id) AS degree FROM ends i) \
         SELECT 'n' AS kind, v.ord, 0::bigint AS seq, v.entity_name AS name, NULL::text AS other, \
           v.properties::text AS props, deg.degree, v.created_at FROM v JOIN deg ON deg.id = v.entity_name \
         UNION ALL SELECT 'e', NULL, 0, e.src_id, e.tgt_id, e.properties::text, NULL, NULL FROM e \
         UNION ALL SELECT 'd', NULL, 0, deg.id, NULL, NULL, deg.degree, NULL FROM deg \
         ORDER BY 1 DESC, 2"
    )
}

/// AGE, global: relation hits → their edge (LightRAG prefers the backward
/// one when both exist) → the vertices at both ends.
fn age_global(g: &str, hits: &str) -> String {
    let eid_b = entity_id("b");
    let name_id = as_agtype("n.name");
    format!(
        "WITH hits AS MATERIALIZED ({hits}), \
         names AS (SELECT src_id AS name FROM hits UNION SELECT tgt_id FROM hits), \
         nv AS MATERIALIZED (SELECT n.name, b.id AS vid, b.properties FROM names n JOIN {g}.base b ON {eid_b} OPERATOR(ag_catalog.=) {name_id}) \
         SELECT 'r' AS kind, h.ord, h.src_id AS name, h.tgt_id AS other, \
           (SELECT d.properties FROM {g}.\"DIRECTED\" d, nv a, nv b WHERE a.name = h.src_id AND b.name = h.tgt_id \
             AND ((d.start_id OPERATOR(ag_catalog.=) a.vid AND d.end_id OPERATOR(ag_catalog.=) b.vid) \
             OR (d.start_id OPERATOR(ag_catalog.=) b.vid AND d.end_id OPERATOR(ag_catalog.=) a.vid)) \
             ORDER BY (d.start_id OPERATOR(ag_catalog.=) b.vid) DESC LIMIT 1) AS props, h.created_at FROM hits h \
         UNION ALL SELECT 'n', NULL, nv.name, NULL, nv.properties, NULL FROM nv \
         ORDER BY 1 DESC, 2"
    )
}

/// Tables, global: relation hits → the edge rows of each pair → the nodes.
fn table_global(hits: &str) -> String {
    format!(
        "WITH hits AS MATERIALIZED ({hits}) \
         SELECT 'r' AS kind, h.ord, h.src_id AS name, h.tgt_id AS other, NULL::text AS props, h.created_at FROM hits h \
         UNION ALL SELECT 'x', h.ord, x.src_id, x.tgt_id, x.properties::text, NULL FROM hits h \
           JOIN lightrag_graph_edges x ON x.workspace = $1 AND x.namespace = 'chunk_entity_relation' \
           AND ((x.src_id = h.src_id AND x.tgt_id = h.tgt_id) OR (x.src_id = h.tgt_id AND x.tgt_id = h.src_id)) \
         UNION ALL SELECT 'n', NULL, n.id, NULL, n.properties::text, NULL FROM lightrag_graph_nodes n \
           WHERE n.workspace = $1 AND n.namespace = 'chunk_entity_relation' \
           AND n.id IN (SELECT src_id FROM hits UNION SELECT tgt_id FROM hits) \
         ORDER BY 1 DESC, 2"
    )
}

/// An agtype map as JSON.
fn agtype_map(a: &Agtype) -> Result<Props, Error> {
    match a.to_json()? {
        Value::Object(m) => Ok(m),
        _ => Ok(Map::new()),
    }
}

/// A JSONB object's text as JSON.
fn json_map(text: &str) -> Result<Props, Error> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Ok(Map::new()),
        Err(e) => Err(Error::graph(format!("node or edge properties are not JSON: {e}"))),
    }
}

fn parse_age_local(rows: &[Row]) -> Result<LocalRows, Error> {
    let mut out = LocalRows::default();
    for r in rows {
        let props = agtype_map(&r.get::<_, Agtype>("props"))?;
        let name: String = r.get("name");
        if r.get::<_, &str>("kind") == "n" {
            out.nodes.push((name, r.get("created_at"), props, r.get("degree")));
        } else {
            // agtype string → text: the name itself.
            let Some(other) = r.get::<_, Option<String>>("other") else { continue };
            out.edges.entry(name).or_default().push((other, Some(props), r.get("degree")));
        }
    }
    Ok(out)
}

fn parse_table_local(rows: &[Row]) -> Result<LocalRows, Error> {
    let json = json_map;
    let mut out = LocalRows::default();
    let mut degrees: HashMap<String, i64> = HashMap::new();
    let mut edges: Vec<(String, String, Props)> = Vec::new();
    for r in rows {
        match r.get::<_, &str>("kind") {
            "n" => out.nodes.push((r.get("name"), r.get("created_at"), json(r.get("props"))?, r.get("degree"))),
            "e" => edges.push((r.get("name"), r.get("other"), json(r.get("props"))?)),
            _ => {
                degrees.insert(r.get("name"), r.get("degree"));
            }
        }
    }
    // LightRAG's PGTableGraphStorage: (node, other) per edge touching the node
    // (a self-loop once), sorted by the other end; properties looked up as
    // (min, max) of the pair.
    let stored: HashMap<(&str, &str), &Props> = edges.iter().map(|(s, t, p)| ((s.as_str(), t.as_str()), p)).collect();
    for (name, ..) in &out.nodes {
        let mut list: Vec<String> = Vec::new();
        for (s, t, _) in &edges {
            if s == name {
                list.push(t.clone());
            } else if t == name {
                list.push(s.clone());
            }
        }
        list.sort();
        let entries = list
            .into_iter()
            .map(|other| {
                let (lo, hi) = if name.as_str() <= other.as_str() {
                    (name.as_str(), other.as_str())
                } else {
                    (other.as_str(), name.as_str())
                };
                let props = stored.get(&(lo, hi)).map(|p| (*p).clone());
                let degree = degrees.get(&other).copied().unwrap_or(0);
                (other, props, degree)
            })
            .collect();
        out.edges.insert(name.clone(), entries);
    }
    Ok(out)
}
