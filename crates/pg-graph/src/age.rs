//! [`AgeGraphStorage`]: the graph on Apache AGE in LightRAG 1.5.7's layout
//! (spec §9), so Python LightRAG and this crate share one graph.
//!
//! Layout: one AGE graph per workspace ([`crate::names::age_graph_name`]), vertex
//! label `base` with the entity name in property `entity_id`, edge label
//! `DIRECTED` with one edge per unordered pair, stored in the direction of its
//! last write; every read is undirected. The indexes of spec §9.2 are created
//! with LightRAG's names, so both implementations see them as present.
//!
//! Access path: plain SQL on AGE's label tables (`<graph>.base`,
//! `<graph>."DIRECTED"`), for reads *and* writes:
//! * entity lookups use the expression the `entity_idx_node_id` index covers,
//!   `agtype_access_operator(VARIADIC ARRAY[properties, '"entity_id"'])`, compared
//!   with a bound parameter; batches join `unnest($1::text[])`;
//! * vertices and edges are inserted with AGE's own column defaults, which assign
//!   graphids exactly as `cypher()` `CREATE` does (label id + the label's
//!   sequence); node properties are merged with agtype's `||`, edge properties are
//!   written whole, both from bound JSON text;
//! * no value is ever part of the SQL text; the graph name is quoted by
//!   [`lightrag_pg_pool::ident::quote_ident`], so capitals work.
//!
//! Why not `cypher()` for writes: AGE 1.5.0 cannot bind a property map (`SET n +=
//! $props` → "SET clause expects a map"; `CREATE (n $props)` → "properties in a
//! CREATE clause as a parameter is not supported"), `MERGE ... SET` on a new edge
//! stores `{}`, and every `cypher()` call is re-planned. SQL on the label tables
//! writes a whole batch in one statement and merges properties atomically under
//! the row lock, so concurrent writers (including Python's `MERGE ... SET`) lose
//! no update.
//!
//! Concurrency: AGE has no unique constraint, so node creation is serialised per
//! entity with `pg_advisory_xact_lock(hashtextextended(graph || E'\x02' ||
//! entity_id, 0))`; edge writes take LightRAG's exact per-pair lock and the
//! shared graph lock (spec §9.4), so they exclude Python's edge writers too. Locks
//! are taken in one sorted pass (pairs, graph, nodes), and lock conflicts are
//! replayed internally.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use lightrag_pg_core::graph::canonical_pair;
use lightrag_pg_core::ids;
use lightrag_pg_core::storage::EdgePair;
use lightrag_pg_core::{EdgeRecord, Error, Properties, Result, Workspace};
use lightrag_pg_pool::ident::quote_ident;
use lightrag_pg_pool::{PgConn, PgPool, db_error, schema};
use tokio_postgres::types::ToSql;

use crate::agtype::{self, Agtype};
use crate::common::{
    KgSource, distinct, finish_pairs, from_count, lookup_pairs, prepare_edges, prepare_nodes, refresh_statistics,
    sql_limit,
};
use crate::engine::{Engine, graph_storage};
use crate::names;

/// The vertex label LightRAG uses.
pub const VERTEX_LABEL: &str = "base";
/// The edge label LightRAG uses.
pub const EDGE_LABEL: &str = "DIRECTED";
/// The most advisory locks one write takes (one per edge pair and per node);
/// a larger batch takes LightRAG's graph-wide exclusive lock instead, so the
/// server's lock table (`max_locks_per_transaction`) is never exhausted.
pub const MAX_FINE_LOCKS: usize = 512;

/// The first AGE version LightRAG 1.5.7 refuses (`id()` returns `graphid`,
/// spec §3.6).
pub const AGE_FIRST_UNSUPPORTED: (u32, u32, u32) = (1, 8, 0);

/// The AGE graph storage. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AgeGraphStorage {
    pool: PgPool,
    ws: Workspace,
    graph: String,
    sql: std::sync::Arc<AgeSql>,
}

/// The entity id of the row aliased `a`, as the `entity_idx_node_id` index has it.
fn eid(a: &str) -> String {
    format!("ag_catalog.agtype_access_operator(VARIADIC ARRAY[{a}.properties, '\"entity_id\"'::ag_catalog.agtype])")
}

/// A text value as the agtype string it is compared with.
fn key(x: &str) -> String {
    format!("(to_json({x}::text)::text)::ag_catalog.agtype")
}

/// The statements of one graph, built once (identifiers only; values are bound).
#[derive(Debug)]
struct AgeSql {
    has_node: String,
    get_nodes: String,
    has_nodes: String,
    node_degrees: String,
    get_edges: String,
    nodes_edges: String,
    lock_fine: String,
    lock_graph: String,
    upsert_nodes: String,
    insert_missing: String,
    write_edges: String,
    delete_edges: String,
    delete_nodes: String,
    drop_edges: String,
    drop_vertices: String,
    all_labels: String,
    all_nodes: String,
    all_edges: String,
    popular: String,
    search: String,
    level: String,
    induced_edges: String,
    indexes: Vec<(&'static str, String)>,
    cluster: String,
}

impl AgeSql {
    fn new(graph: &str) -> Result<Self> {
        let g = quote_ident(graph)?;
        let v = format!("{g}.{}", quote_ident(VERTEX_LABEL)?);
        let e = format!("{g}.{}", quote_ident(EDGE_LABEL)?);
        let all_e = format!("{g}.\"_ag_label_edge\"");
        let all_v = format!("{g}.\"_ag_label_vertex\"");
        let eq = "OPERATOR(ag_catalog.=)";
        let eb = eid("b");
        // The vertices of one entity id, found through `entity_idx_node_id`. The
        // `OFFSET 0` fence keeps the lookup a per-row index probe: otherwise the
        // planner, costing random reads high, may hash-join a sequential scan that
        // evaluates the agtype accessor on every vertex.
        let find = |alias: &str, of: &str| {
            format!("(SELECT b.id, b.properties FROM {v} b WHERE {eb} {eq} {} OFFSET 0) AS {alias}", key(of))
        };
        let exists = |of: &str| format!("EXISTS (SELECT 1 FROM {v} b WHERE {eb} {eq} {} OFFSET 0)", key(of));
        let degree = |alias: &str| {
            format!(
                "((SELECT count(*) FROM {e} d WHERE d.start_id {eq} {alias}.id) + \
                 (SELECT count(*) FROM {e} d WHERE d.end_id {eq} {alias}.id))"
            )
        };
        // Neighbour vertex ids of the vertex `{alias}.id`, both directions, by index.
        let neighbours = |alias: &str| {
            format!(
                "(SELECT d.end_id AS id FROM {e} d WHERE d.start_id {eq} {alias}.id \
                 UNION ALL SELECT d.start_id FROM {e} d WHERE d.end_id {eq} {alias}.id)"
            )
        };
        let distinct_input = "(SELECT DISTINCT v FROM unnest($1::text[]) AS v) AS t";
        let edge_lock_keys = "SELECT DISTINCT 1 AS kind, hashtextextended($1::text || E'\\x01' || LEAST(t.a, t.b) || \
             E'\\x01' || GREATEST(t.a, t.b), 0) AS k FROM unnest($2::text[], $3::text[]) AS t(a, b)";
        let node_lock_keys = "SELECT DISTINCT 3 AS kind, hashtextextended($1::text || E'\\x02' || t.v, 0) AS k \
             FROM unnest($4::text[]) AS t(v)";
        let pairs = |extra: &str| {
            format!(
                "FROM unnest($1::text[], $2::text[]{extra}) WITH ORDINALITY AS t(a, b{}, ord) \
                 CROSS JOIN LATERAL {} CROSS JOIN LATERAL {}",
                if extra.is_empty() { "" } else { ", props" },
                find("x", "t.a"),
                find("y", "t.b")
            )
        };
        // The edges between each pair, either direction, as two index probes
        // (an OR join would scan the edge table once per pair).
        let either_direction = format!(
            "d.id {eq} ANY (SELECT f.id FROM p JOIN {e} f ON f.start_id {eq} p.aid AND f.end_id {eq} p.bid \
             UNION ALL SELECT r.id FROM p JOIN {e} r ON r.start_id {eq} p.bid AND r.end_id {eq} p.aid)"
        );
        let label = |alias: &str| format!("{}::text", eid(alias));
        let index_expr =
            "(ag_catalog.agtype_access_operator(VARIADIC ARRAY[properties, '\"entity_id\"'::ag_catalog.agtype]))";
        let on = |table: &str, body: &str| format!("{g}.{} {body}", quote_ident(table).expect("fixed label name"));
        let indexes: Vec<(&'static str, String)> = vec![
            ("vertex_idx_node_id", on("_ag_label_vertex", &format!("USING btree {index_expr}"))),
            ("edge_sid_idx", on("_ag_label_edge", "USING btree (start_id)")),
            ("edge_eid_idx", on("_ag_label_edge", "USING btree (end_id)")),
            ("edge_seid_idx", on("_ag_label_edge", "USING btree (start_id, end_id)")),
            ("directed_p_idx", on(EDGE_LABEL, "USING btree (id)")),
            ("directed_eid_idx", on(EDGE_LABEL, "USING btree (end_id)")),
            ("directed_sid_idx", on(EDGE_LABEL, "USING btree (start_id)")),
            ("directed_seid_idx", on(EDGE_LABEL, "USING btree (start_id, end_id)")),
            ("entity_p_idx", on(VERTEX_LABEL, "USING btree (id)")),
            ("entity_idx_node_id", on(VERTEX_LABEL, &format!("USING btree {index_expr}"))),
            ("entity_node_id_gin_idx", on(VERTEX_LABEL, "USING gin (properties)")),
        ];
        let indexes = indexes
            .into_iter()
            .map(|(name, target)| Ok((name, format!("CREATE INDEX IF NOT EXISTS {} ON {target}", quote_ident(name)?))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            has_node: format!("SELECT EXISTS (SELECT 1 FROM {v} b WHERE {eb} {eq} {})", key("$1")),
            get_nodes: format!(
                "SELECT t.v, n.properties FROM {distinct_input} CROSS JOIN LATERAL {} ORDER BY n.id",
                find("n", "t.v")
            ),
            has_nodes: format!("SELECT t.v FROM {distinct_input} WHERE {}", exists("t.v")),
            node_degrees: format!(
                "SELECT t.v, {} FROM {distinct_input} CROSS JOIN LATERAL {}",
                degree("n"),
                find("n", "t.v")
            ),
            get_edges: format!(
                "WITH p AS (SELECT t.ord, x.id AS aid, y.id AS bid {}) \
                 SELECT p.ord, r.id, r.properties FROM p CROSS JOIN LATERAL ( \
                 SELECT d.id, d.properties FROM {e} d WHERE d.start_id {eq} p.aid AND d.end_id {eq} p.bid \
                 UNION ALL \
                 SELECT d.id, d.properties FROM {e} d WHERE d.start_id {eq} p.bid AND d.end_id {eq} p.aid \
                 AND p.aid OPERATOR(ag_catalog.<>) p.bid) r ORDER BY p.ord, r.id",
                pairs("")
            ),
            nodes_edges: format!(
                "WITH vx AS (SELECT t.v, n.id FROM {distinct_input} CROSS JOIN LATERAL {}) \
                 SELECT vx.v, {} FROM vx LEFT JOIN LATERAL {} AS nb ON true LEFT JOIN {v} o ON o.id {eq} nb.id",
                find("n", "t.v"),
                label("o"),
                neighbours("vx")
            ),
            lock_fine: format!(
                "SELECT CASE s.kind WHEN 2 THEN pg_advisory_xact_lock_shared(s.k) ELSE pg_advisory_xact_lock(s.k) END \
                 FROM ({edge_lock_keys} UNION ALL SELECT 2, hashtextextended($1::text, 0) \
                 UNION ALL {node_lock_keys} ORDER BY 1, 2) AS s"
            ),
            lock_graph: "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))".to_owned(),
            upsert_nodes: format!(
                "WITH i AS (SELECT t.v, t.p::ag_catalog.agtype AS p FROM unnest($1::text[], $2::text[]) AS t(v, p)), \
                 x AS (SELECT t.v, t.p, n.id FROM i AS t LEFT JOIN LATERAL {} ON true), \
                 u AS (UPDATE {v} AS b SET properties = b.properties OPERATOR(ag_catalog.||) x.p FROM x WHERE b.id {eq} x.id) \
                 INSERT INTO {v} (properties) SELECT x.p FROM x WHERE x.id IS NULL",
                find("n", "t.v")
            ),
            insert_missing: format!(
                "INSERT INTO {v} (properties) SELECT t.p::ag_catalog.agtype \
                 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(v, p, ord) \
                 WHERE NOT {} ORDER BY t.ord",
                exists("t.v")
            ),
            // One row per pair (the oldest vertex when another writer left
            // duplicates), then delete-and-create in the requested direction.
            write_edges: format!(
                "WITH p AS (SELECT DISTINCT ON (t.ord) t.ord, t.props, x.id AS aid, y.id AS bid {} \
                 ORDER BY t.ord, x.id, y.id), \
                 del AS (DELETE FROM {e} d WHERE {either_direction}) \
                 INSERT INTO {e} (start_id, end_id, properties) \
                 SELECT p.aid, p.bid, p.props::ag_catalog.agtype FROM p ORDER BY p.ord",
                pairs(", $3::text[]")
            ),
            delete_edges: format!(
                "WITH p AS (SELECT x.id AS aid, y.id AS bid {}) DELETE FROM {e} d WHERE {either_direction}",
                pairs("")
            ),
            delete_nodes: format!(
                "WITH vx AS (SELECT n.id FROM {distinct_input} CROSS JOIN LATERAL {}), \
                 de AS (DELETE FROM {all_e} d WHERE d.id {eq} ANY (SELECT s.id FROM vx JOIN {all_e} s ON s.start_id {eq} vx.id \
                 UNION ALL SELECT r.id FROM vx JOIN {all_e} r ON r.end_id {eq} vx.id)) \
                 DELETE FROM {v} b USING vx WHERE b.id {eq} vx.id",
                find("n", "t.v")
            ),
            drop_edges: format!("DELETE FROM {all_e}"),
            drop_vertices: format!("DELETE FROM {all_v}"),
            all_labels: format!(
                "SELECT l FROM (SELECT DISTINCT {} AS l FROM {v} b) AS s WHERE l IS NOT NULL ORDER BY l COLLATE \"C\"",
                label("b")
            ),
            all_nodes: format!("SELECT b.properties FROM {v} b ORDER BY b.id"),
            all_edges: format!(
                "SELECT {}, {}, d.properties FROM {e} d JOIN {v} x ON x.id {eq} d.start_id JOIN {v} y ON y.id {eq} d.end_id \
                 ORDER BY d.id",
                label("x"),
                label("y")
            ),
            popular: format!(
                "WITH deg AS (SELECT s.id, count(*) AS c FROM \
                 (SELECT start_id AS id FROM {e} UNION ALL SELECT end_id FROM {e}) AS s GROUP BY s.id) \
                 SELECT l FROM (SELECT {} AS l, sum(COALESCE(deg.c, 0)) AS c FROM {v} b \
                 LEFT JOIN deg ON deg.id {eq} b.id GROUP BY 1) AS s WHERE l IS NOT NULL \
                 ORDER BY c DESC, l COLLATE \"C\" LIMIT $1",
                label("b")
            ),
            search: format!(
                "WITH q AS (SELECT lower($1::text) AS q), \
                 p AS (SELECT q, replace(replace(replace(q, '\\', '\\\\'), '%', '\\%'), '_', '\\_') AS e FROM q), \
                 labels AS (SELECT DISTINCT {} AS l FROM {v} b), \
                 hits AS (SELECT l, lower(l) AS ll FROM labels, p WHERE l IS NOT NULL \
                 AND lower(l) LIKE '%' || p.e || '%' ESCAPE '\\') \
                 SELECT h.l FROM hits h, p ORDER BY \
                 CASE WHEN h.ll = p.q THEN 1000 WHEN h.ll LIKE p.e || '%' ESCAPE '\\' THEN 500 \
                 ELSE 100 - char_length(h.l) + CASE WHEN h.ll LIKE '% ' || p.e || '%' ESCAPE '\\' \
                 OR h.ll LIKE '%\\_' || p.e || '%' ESCAPE '\\' THEN 50 ELSE 0 END END DESC, \
                 h.l COLLATE \"C\" LIMIT $2",
                label("b")
            ),
            level: format!(
                "WITH f AS (SELECT n.id FROM unnest($1::text[]) AS t(v) CROSS JOIN LATERAL {}), \
                 nb AS (SELECT DISTINCT nb.id FROM f CROSS JOIN LATERAL {} AS nb), \
                 c AS (SELECT {} AS l, o.id FROM nb JOIN {v} o ON o.id {eq} nb.id), \
                 r AS (SELECT c.l, sum({}) AS deg FROM c WHERE c.l IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM unnest($2::text[]) AS s(x) WHERE s.x = c.l) GROUP BY c.l) \
                 SELECT r.l FROM r ORDER BY r.deg DESC, r.l COLLATE \"C\" LIMIT $3",
                find("n", "t.v"),
                neighbours("f"),
                label("o"),
                degree("c")
            ),
            induced_edges: format!(
                "WITH s AS (SELECT t.v, n.id FROM {distinct_input} CROSS JOIN LATERAL {}) \
                 SELECT x.v, y.v, d.id, d.properties FROM s x \
                 CROSS JOIN LATERAL (SELECT d.id, d.end_id, d.properties FROM {e} d WHERE d.start_id {eq} x.id OFFSET 0) AS d \
                 JOIN s y ON d.end_id {eq} y.id ORDER BY d.id",
                find("n", "t.v")
            ),
            indexes,
            cluster: format!("ALTER TABLE {e} CLUSTER ON {}", quote_ident("directed_sid_idx")?),
        })
    }
}

fn props_from(a: &Agtype) -> Result<Properties> {
    agtype::parse_map(&a.0).map(Properties)
}

fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.trim().split('.');
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?, c.parse().ok()?))
}

impl AgeGraphStorage {
    /// A storage for the effective workspace `ws` (resolve `POSTGRES_WORKSPACE`
    /// first, see [`Workspace::resolve`]). Call [`Storage::initialize`](lightrag_pg_core::Storage::initialize) before use.
    ///
    /// The graph is LightRAG's for that workspace ([`names::age_graph_name`]);
    /// `initialize` refuses with [`Error::Config`] a graph that does not exist
    /// and that AGE cannot create ([`names::check_creatable`]).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] from the identifier quoter (not expected: graph
    /// names are at most 63 ASCII bytes).
    pub fn new(pool: PgPool, ws: Workspace) -> Result<Self> {
        let graph = names::age_graph_name(&ws);
        if names::is_lossy(&ws) {
            tracing::warn!(workspace = %ws, graph = %graph, "the AGE graph name replaces workspace characters outside [A-Za-z0-9_] with '_' or is cut at 63 bytes (as in LightRAG); other workspaces may share this graph");
        }
        let sql = std::sync::Arc::new(AgeSql::new(&graph)?);
        Ok(Self { pool, ws, graph, sql })
    }

    /// The AGE graph's name (also the PostgreSQL schema of its label tables).
    pub fn graph_name(&self) -> &str {
        &self.graph
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Drops the whole AGE graph of this workspace (schema, labels, data), if it
    /// exists. Unlike [`Storage::drop_all`](lightrag_pg_core::Storage::drop_all), which empties the graph and keeps it
    /// as LightRAG does, this removes it; `initialize` creates it again.
    ///
    /// # Errors
    /// [`Error::Graph`] naming the graph when the role may not drop it;
    /// connection or database errors (see [`crate::admin::drop_graph`]).
    pub async fn drop_graph(&self) -> Result<()> {
        crate::admin::drop_graph(&*self.conn().await?, &self.graph).await?;
        Ok(())
    }

    /// The server's plan (`EXPLAIN`, text) for the batch entity lookup that
    /// `get_nodes_batch` runs, with `ids` bound: a diagnostic showing whether the
    /// `entity_idx_node_id` index serves it.
    ///
    /// # Errors
    /// Connection or database errors.
    pub async fn explain_node_lookup(&self, ids: &[String]) -> Result<String> {
        let rows = self.rows("explain", &format!("EXPLAIN {}", self.sql.get_nodes), &[&ids]).await?;
        Ok(rows.into_iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>().join("\n"))
    }

    /// A pooled connection, as it is: every statement here is fully qualified
    /// (`ag_catalog.agtype`, `OPERATOR(ag_catalog.=)`, …) and uses no Cypher, so
    /// it needs neither `LOAD 'age'` (AGE's functions load the library) nor a
    /// `search_path` with `ag_catalog`. Changing the `search_path` of a shared
    /// connection would send later unqualified `CREATE TABLE`s of other storages
    /// into `ag_catalog`.
    async fn conn(&self) -> Result<PgConn> {
        self.pool.get().await
    }

    async fn rows(&self, what: &str, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<tokio_postgres::Row>> {
        self.pool
            .retry(what, || async {
                let conn = self.conn().await?;
                let stmt = conn.prepare_cached(sql).await?;
                conn.query(&stmt, params).await.map_err(db_error)
            })
            .await
    }

    async fn check_version(&self, conn: &PgConn) -> Result<()> {
        let allow = self.pool.config().age_allow_unsupported_version;
        let row =
            conn.query_opt("SELECT extversion FROM pg_extension WHERE extname = 'age'", &[]).await.map_err(db_error)?;
        let Some(row) = row else {
            return Err(Error::config(
                "extension age",
                "Apache AGE is not installed in this database; use the table graph engine",
            ));
        };
        let version: String = row.get(0);
        let refuse = |why: String| {
            if allow {
                tracing::warn!(version = %version, "{why}; continuing because POSTGRES_AGE_ALLOW_UNSUPPORTED_VERSION is set");
                Ok(())
            } else {
                Err(Error::config(
                    "POSTGRES_AGE_ALLOW_UNSUPPORTED_VERSION",
                    format!(
                        "{why}. Use the table graph engine, or set POSTGRES_AGE_ALLOW_UNSUPPORTED_VERSION=true at your own risk"
                    ),
                ))
            }
        };
        match parse_version(&version) {
            Some(v) if v >= AGE_FIRST_UNSUPPORTED => refuse(format!(
                "Apache AGE {version} is not supported (from 1.8.0 `id()` returns graphid, which breaks LightRAG's graph queries and can crash the server)"
            )),
            Some(_) => Ok(()),
            None => refuse(format!("cannot read the Apache AGE version '{version}'")),
        }
    }

    /// `None` for ids that do not exist.
    async fn neighbours(&self, ids: &[String]) -> Result<HashMap<String, Vec<String>>> {
        let ids = ids::lookup(ids);
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        for r in self.rows("get_nodes_edges_batch", &self.sql.nodes_edges, &[&ids]).await? {
            let list = out.entry(r.get(0)).or_default();
            if let Some(n) = r.get::<_, Option<String>>(1) {
                list.push(n);
            }
        }
        Ok(out)
    }

    /// Takes the write locks for `pairs` and `nodes` inside `tx`: per pair and per
    /// node (under the shared graph lock) for small writes, the graph-wide
    /// exclusive lock for large ones.
    async fn lock<N: ToSql + Sync>(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        fine: &tokio_postgres::Statement,
        a: &[&str],
        b: &[&str],
        nodes: &[N],
    ) -> Result<()> {
        if a.len() + nodes.len() <= MAX_FINE_LOCKS {
            tx.query(fine, &[&self.graph, &a, &b, &nodes]).await.map_err(db_error)?;
        } else {
            tx.execute(&self.sql.lock_graph, &[&self.graph]).await.map_err(db_error)?;
        }
        Ok(())
    }

    /// The vertex and edge label tables, quoted (`"<graph>"."base"`, …).
    fn label_tables(&self) -> Result<Vec<String>> {
        let graph = quote_ident(&self.graph)?;
        Ok(vec![format!("{graph}.{}", quote_ident(VERTEX_LABEL)?), format!("{graph}.{}", quote_ident(EDGE_LABEL)?)])
    }

    async fn labels(&self, what: &str, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<String>> {
        Ok(self.rows(what, sql, params).await?.into_iter().map(|r| r.get(0)).collect())
    }
}

#[async_trait]
impl Engine for AgeGraphStorage {
    fn ws(&self) -> &Workspace {
        &self.ws
    }

    async fn do_initialize(&self) -> Result<()> {
        tracing::Span::current().record("graph", self.graph.as_str());
        schema::ensure_extension(&self.pool, "age").await?;
        let mut conn = self.conn().await?;
        self.check_version(&conn).await?;
        let tx = conn.transaction().await.map_err(db_error)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('lightrag_pg_age_graph' || $1::text, 0))",
            &[&self.graph],
        )
        .await
        .map_err(db_error)?;
        let exists = tx
            .query_opt("SELECT 1 FROM ag_catalog.ag_graph WHERE name = $1::text::name", &[&self.graph])
            .await
            .map_err(db_error)?;
        if exists.is_none() {
            names::check_creatable(&self.ws, &self.graph)?;
            tx.execute("SELECT ag_catalog.create_graph($1::text::name)", &[&self.graph]).await.map_err(db_error)?;
            tracing::info!(graph = %self.graph, "created AGE graph");
        }
        let labels: HashSet<String> = tx
            .query(
                "SELECT l.name::text FROM ag_catalog.ag_label l JOIN ag_catalog.ag_graph g ON l.graph = g.graphid \
                 WHERE g.name = $1::text::name",
                &[&self.graph],
            )
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|r| r.get(0))
            .collect();
        if !labels.contains(VERTEX_LABEL) {
            tx.execute(
                "SELECT ag_catalog.create_vlabel($1::text::name, $2::text::name)",
                &[&self.graph, &VERTEX_LABEL],
            )
            .await
            .map_err(db_error)?;
        }
        if !labels.contains(EDGE_LABEL) {
            tx.execute("SELECT ag_catalog.create_elabel($1::text::name, $2::text::name)", &[&self.graph, &EDGE_LABEL])
                .await
                .map_err(db_error)?;
        }
        let present: HashSet<String> = tx
            .query("SELECT indexname::text FROM pg_indexes WHERE schemaname = $1::text::name", &[&self.graph])
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|r| r.get(0))
            .collect();
        for (name, ddl) in &self.sql.indexes {
            if !present.contains(*name) {
                tx.batch_execute(ddl).await.map_err(db_error)?;
                if *name == "directed_sid_idx" {
                    tx.batch_execute(&self.sql.cluster).await.map_err(db_error)?;
                }
            }
        }
        tx.commit().await.map_err(db_error)
    }

    async fn do_get_nodes(&self, ids: &[String]) -> Result<HashMap<String, Properties>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let ids = ids::lookup(ids);
        let mut out = HashMap::with_capacity(ids.len());
        for r in self.rows("get_nodes_batch", &self.sql.get_nodes, &[&ids]).await? {
            // Rows come in graphid order: the oldest vertex of an id wins.
            if let std::collections::hash_map::Entry::Vacant(slot) = out.entry(r.get::<_, String>(0)) {
                slot.insert(props_from(&r.get(1))?);
            }
        }
        Ok(out)
    }

    async fn do_node_degrees(&self, ids: &[String]) -> Result<HashMap<String, usize>> {
        let mut out: HashMap<String, usize> = distinct(ids).into_iter().map(|id| (id, 0)).collect();
        let ids = ids::lookup(ids);
        if ids.is_empty() {
            return Ok(out);
        }
        for r in self.rows("node_degrees_batch", &self.sql.node_degrees, &[&ids]).await? {
            *out.entry(r.get(0)).or_default() += from_count(r.get(1));
        }
        Ok(out)
    }

    async fn do_get_edges(&self, pairs: &[EdgePair]) -> Result<HashMap<EdgePair, Properties>> {
        let pairs = lookup_pairs(pairs);
        if pairs.is_empty() {
            return Ok(HashMap::new());
        }
        let (a, b): (Vec<&str>, Vec<&str>) = pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())).unzip();
        let rows = self.rows("get_edges_batch", &self.sql.get_edges, &[&a, &b]).await?;
        let mut out = HashMap::with_capacity(rows.len());
        // Rows come by request position, then graphid: a newer duplicate edge wins.
        for r in rows {
            let ord: i64 = r.get(0);
            let pair = usize::try_from(ord - 1)
                .ok()
                .and_then(|i| pairs.get(i))
                .ok_or_else(|| Error::graph("bad ordinality"))?;
            out.insert(pair.clone(), props_from(&r.get(2))?);
        }
        Ok(out)
    }

    async fn do_upsert_nodes(&self, nodes: Vec<(String, Properties)>) -> Result<()> {
        let nodes = prepare_nodes(nodes)?;
        if nodes.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = nodes.iter().map(|(id, _)| id.clone()).collect();
        let props = nodes.iter().map(|(id, p)| agtype::to_agtype_json(id, p)).collect::<Result<Vec<_>>>()?;
        let batch = self.pool.config().upsert_batch_rows.max(1);
        self.pool
            .retry("upsert_nodes_batch", || async {
                let mut conn = self.conn().await?;
                let (lock, upsert) = futures::try_join!(
                    conn.prepare_cached(&self.sql.lock_fine),
                    conn.prepare_cached(&self.sql.upsert_nodes)
                )?;
                let tx = conn.transaction().await.map_err(db_error)?;
                self.lock(&tx, &lock, &[], &[], &ids).await?;
                for (ids, props) in ids.chunks(batch).zip(props.chunks(batch)) {
                    tx.execute(&upsert, &[&ids, &props]).await.map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)
            })
            .await?;
        refresh_statistics(&self.pool, &self.label_tables()?, ids.len()).await;
        Ok(())
    }

    async fn do_upsert_edges(&self, edges: Vec<(String, String, Properties)>) -> Result<()> {
        let edges = prepare_edges(edges)?;
        if edges.is_empty() {
            return Ok(());
        }
        let mut ends: Vec<String> = edges.iter().flat_map(|e| [e.a.clone(), e.b.clone()]).collect();
        ends.sort();
        ends.dedup();
        let end_props: Vec<String> = ends.iter().map(|id| serde_json::json!({ "entity_id": id }).to_string()).collect();
        let a: Vec<String> = edges.iter().map(|e| e.a.clone()).collect();
        let b: Vec<String> = edges.iter().map(|e| e.b.clone()).collect();
        let props = edges
            .iter()
            .map(|e| agtype::to_agtype_json(&format!("{}-{}", e.a, e.b), &e.properties))
            .collect::<Result<Vec<_>>>()?;
        let batch = self.pool.config().upsert_batch_rows.max(1);
        self.pool.retry("upsert_edges_batch", || async {
            let mut conn = self.conn().await?;
            let (lock, missing, write) = futures::try_join!(
                conn.prepare_cached(&self.sql.lock_fine),
                conn.prepare_cached(&self.sql.insert_missing),
                conn.prepare_cached(&self.sql.write_edges)
            )?;
            let tx = conn.transaction().await.map_err(db_error)?;
            let (la, lb): (Vec<&str>, Vec<&str>) = a.iter().zip(&b).map(|(x, y)| (x.as_str(), y.as_str())).unzip();
            self.lock(&tx, &lock, &la, &lb, &ends).await?;
            for (ids, props) in ends.chunks(batch).zip(end_props.chunks(batch)) {
                tx.execute(&missing, &[&ids, &props]).await.map_err(db_error)?;
            }
            for ((a, b), p) in a.chunks(batch).zip(b.chunks(batch)).zip(props.chunks(batch)) {
                let written = tx.execute(&write, &[&a, &b, &p]).await.map_err(db_error)?;
                if written != a.len() as u64 {
                    return Err(Error::graph(format!(
                        "edge write lost: {written} of {} edges written (an endpoint vertex was deleted concurrently)",
                        a.len()
                    )));
                }
            }
            tx.commit().await.map_err(db_error)
        })
        .await?;
        refresh_statistics(&self.pool, &self.label_tables()?, a.len()).await;
        Ok(())
    }

    async fn do_remove_nodes(&self, ids: &[String]) -> Result<()> {
        let ids = ids::lookup(ids);
        if ids.is_empty() {
            return Ok(());
        }
        self.pool
            .retry("remove_nodes", || async {
                let mut conn = self.conn().await?;
                let (lock, delete) = futures::try_join!(
                    conn.prepare_cached(&self.sql.lock_fine),
                    conn.prepare_cached(&self.sql.delete_nodes)
                )?;
                let tx = conn.transaction().await.map_err(db_error)?;
                self.lock(&tx, &lock, &[], &[], &ids).await?;
                tx.execute(&delete, &[&ids]).await.map_err(db_error)?;
                tx.commit().await.map_err(db_error)
            })
            .await
    }

    async fn do_remove_edges(&self, pairs: &[EdgePair]) -> Result<()> {
        let pairs = lookup_pairs(pairs);
        if pairs.is_empty() {
            return Ok(());
        }
        let (a, b): (Vec<&str>, Vec<&str>) = pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())).unzip();
        self.pool
            .retry("remove_edges", || async {
                let mut conn = self.conn().await?;
                let (lock, delete) = futures::try_join!(
                    conn.prepare_cached(&self.sql.lock_fine),
                    conn.prepare_cached(&self.sql.delete_edges)
                )?;
                let tx = conn.transaction().await.map_err(db_error)?;
                self.lock::<&str>(&tx, &lock, &a, &b, &[]).await?;
                tx.execute(&delete, &[&a, &b]).await.map_err(db_error)?;
                tx.commit().await.map_err(db_error)
            })
            .await
    }

    async fn do_drop(&self) -> Result<()> {
        self.pool
            .retry("drop", || async {
                let mut conn = self.conn().await?;
                let tx = conn.transaction().await.map_err(db_error)?;
                tx.execute(&self.sql.lock_graph, &[&self.graph]).await.map_err(db_error)?;
                tx.batch_execute(&self.sql.drop_edges).await.map_err(db_error)?;
                tx.batch_execute(&self.sql.drop_vertices).await.map_err(db_error)?;
                tx.commit().await.map_err(db_error)
            })
            .await
    }

    async fn do_has_nodes(&self, ids: &[&str]) -> Result<HashSet<String>> {
        Ok(self.labels("has_nodes_batch", &self.sql.has_nodes, &[&ids]).await?.into_iter().collect())
    }

    async fn do_nodes_edges(&self, ids: &[String]) -> Result<HashMap<String, Vec<EdgePair>>> {
        let mut found = self.neighbours(ids).await?;
        Ok(distinct(ids)
            .into_iter()
            .map(|id| {
                let n = found.remove(&id).unwrap_or_default();
                let pairs = finish_pairs(&id, n);
                (id, pairs)
            })
            .collect())
    }

    async fn do_node_edges(&self, id: &str) -> Result<Option<Vec<EdgePair>>> {
        Ok(self.neighbours(&[id.to_owned()]).await?.remove(id).map(|n| finish_pairs(id, n)))
    }

    async fn do_all_labels(&self) -> Result<Vec<String>> {
        self.labels("get_all_labels", &self.sql.all_labels, &[]).await
    }

    async fn do_all_nodes(&self) -> Result<Vec<Properties>> {
        let rows = self.rows("get_all_nodes", &self.sql.all_nodes, &[]).await?;
        let mut seen = HashSet::with_capacity(rows.len());
        let mut nodes = Vec::with_capacity(rows.len());
        for r in rows {
            let p = props_from(&r.get(0))?;
            // One node per entity id (the oldest vertex, as the other reads).
            if seen.insert(p.entity_id().map(str::to_owned)) || p.entity_id().is_none() {
                nodes.push(p);
            }
        }
        nodes.sort_by(|a, b| a.entity_id().cmp(&b.entity_id()));
        Ok(nodes)
    }

    async fn do_all_edges(&self) -> Result<Vec<EdgeRecord>> {
        let rows = self.rows("get_all_edges", &self.sql.all_edges, &[]).await?;
        let mut edges: HashMap<(String, String), Properties> = HashMap::with_capacity(rows.len());
        for r in rows {
            let (Some(x), Some(y)) = (r.get::<_, Option<String>>(0), r.get::<_, Option<String>>(1)) else {
                continue;
            };
            let (s, t) = canonical_pair(&x, &y);
            edges.insert((s.to_owned(), t.to_owned()), props_from(&r.get(2))?);
        }
        let mut out: Vec<EdgeRecord> =
            edges.into_iter().map(|((source, target), properties)| EdgeRecord { source, target, properties }).collect();
        out.sort_by(|a, b| (&a.source, &a.target).cmp(&(&b.source, &b.target)));
        Ok(out)
    }

    async fn do_search(&self, query: &str, limit: usize) -> Result<Vec<String>> {
        self.labels("search_labels", &self.sql.search, &[&query, &sql_limit(limit)]).await
    }
}

#[async_trait]
impl KgSource for AgeGraphStorage {
    async fn kg_has_node(&self, id: &str) -> Result<bool> {
        if !ids::can_exist(id) {
            return Ok(false);
        }
        let rows = self.rows("has_node", &self.sql.has_node, &[&id]).await?;
        Ok(rows.first().is_some_and(|r| r.get(0)))
    }

    async fn kg_top(&self, limit: usize) -> Result<Vec<String>> {
        self.labels("top nodes", &self.sql.popular, &[&sql_limit(limit)]).await
    }

    async fn kg_level(&self, frontier: &[String], visited: &[String], limit: usize) -> Result<Vec<String>> {
        self.labels("bfs level", &self.sql.level, &[&frontier, &visited, &sql_limit(limit)]).await
    }

    async fn kg_induced(&self, ids: &[String]) -> Result<(HashMap<String, Properties>, Vec<EdgeRecord>)> {
        let ids = ids::lookup(ids);
        self.pool
            .retry("induced subgraph", || async {
                let conn = self.conn().await?;
                let (ns, es) = futures::try_join!(
                    conn.prepare_cached(&self.sql.get_nodes),
                    conn.prepare_cached(&self.sql.induced_edges)
                )?;
                let (nrows, erows) =
                    futures::try_join!(async { conn.query(&ns, &[&ids]).await.map_err(db_error) }, async {
                        conn.query(&es, &[&ids]).await.map_err(db_error)
                    })?;
                let mut nodes = HashMap::with_capacity(nrows.len());
                for r in nrows {
                    if let std::collections::hash_map::Entry::Vacant(slot) = nodes.entry(r.get::<_, String>(0)) {
                        slot.insert(props_from(&r.get(1))?);
                    }
                }
                let mut edges: HashMap<(String, String), Properties> = HashMap::with_capacity(erows.len());
                for r in erows {
                    let (x, y): (String, String) = (r.get(0), r.get(1));
                    let (s, t) = canonical_pair(&x, &y);
                    // Rows come in graphid order: a later (newer) duplicate wins.
                    edges.insert((s.to_owned(), t.to_owned()), props_from(&r.get(3))?);
                }
                let mut edges: Vec<EdgeRecord> = edges
                    .into_iter()
                    .map(|((source, target), properties)| EdgeRecord { source, target, properties })
                    .collect();
                edges.sort_by(|a, b| (&a.source, &a.target).cmp(&(&b.source, &b.target)));
                Ok((nodes, edges))
            })
            .await
    }
}

graph_storage!(AgeGraphStorage, "age");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_strictly() {
        assert_eq!(parse_version("1.5.0"), Some((1, 5, 0)));
        assert!(parse_version("1.8.0").unwrap() >= AGE_FIRST_UNSUPPORTED);
        assert_eq!(parse_version("1.5"), None);
        assert_eq!(parse_version("1.5.0-rc1"), None);
    }

    #[test]
    fn statements_quote_the_graph_and_never_hold_values() {
        let sql = AgeSql::new("Team_A_chunk_entity_relation").unwrap();
        assert!(sql.get_nodes.contains("\"Team_A_chunk_entity_relation\".\"base\""));
        assert!(sql.write_edges.contains("\"Team_A_chunk_entity_relation\".\"DIRECTED\""));
        assert!(sql.upsert_nodes.contains("unnest($1::text[], $2::text[])"));
    }
}
