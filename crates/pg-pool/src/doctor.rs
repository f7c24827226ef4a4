//! The connection doctor: what the server, the session and the LightRAG data
//! look like from this process, and what is likely to go wrong.
//!
//! [`doctor`] never fails: a check that cannot run leaves its field empty and
//! adds a `check_failed` warning, and an unreachable server gives a report with
//! `reachable = false` and the reason. The report serialises with stable field
//! names (the CLI prints it as JSON or text).
//!
//! Counting rows per workspace reads every LightRAG table in full
//! (`SELECT workspace, count(*) … GROUP BY workspace`): cheap on small
//! installations, a scan on large ones.

use std::time::Instant;

use serde::Serialize;
use tokio_postgres::Client;

use crate::ident::quote_ident;
use crate::routing::HostStatus;
use crate::{PgPool, db_error};

/// Everything the doctor found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoctorReport {
    /// Whether a pooled connection could be opened.
    pub reachable: bool,
    /// Why not, when `reachable` is false.
    pub error: Option<String>,
    /// The server and the session's identity.
    pub server: Option<ServerInfo>,
    /// `vector`, `age` and `pg_stat_statements`, installed or not.
    pub extensions: Vec<ExtensionInfo>,
    /// TLS in use on a pooled connection (`pg_stat_ssl`).
    pub tls: Option<TlsInfo>,
    /// What the current user may do.
    pub privileges: Option<Privileges>,
    /// The pool's size and counters.
    pub pool: PoolReport,
    /// Round-trip time of `SELECT 1` on a pooled connection.
    pub latency: Option<Latency>,
    /// The LightRAG tables (`lightrag_*`) visible on the `search_path`, with
    /// rows per workspace.
    pub tables: Vec<TableReport>,
    /// AGE graphs; `None` when AGE is not installed in this database.
    pub graphs: Option<Vec<GraphReport>>,
    /// Each host of `POSTGRES_HOST` and `POSTGRES_READ_HOSTS`: its role
    /// (primary or standby) and, for a standby, its replay lag
    /// ([`crate::routing::probe_all`]).
    pub hosts: Vec<HostStatus>,
    /// What looks wrong.
    pub warnings: Vec<Warning>,
}

/// The server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerInfo {
    /// `server_version`, e.g. `17.12 (Debian 17.12-0+deb13u1)`.
    pub version: String,
    /// `server_version_num`, e.g. `170012`.
    pub version_num: i32,
    /// The database.
    pub database: String,
    /// The user.
    pub user: String,
    /// `jit` as the server sets it for a session without lightrag-pg's options.
    pub jit: Option<String>,
    /// `shared_preload_libraries`.
    pub shared_preload_libraries: Option<String>,
}

/// One extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtensionInfo {
    /// `vector`, `age` or `pg_stat_statements`.
    pub name: String,
    /// The version installed in this database.
    pub installed_version: Option<String>,
    /// The version `CREATE EXTENSION` would install.
    pub available_version: Option<String>,
    /// The schema it is installed in.
    pub schema: Option<String>,
}

/// TLS on the doctor's pooled connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsInfo {
    /// Whether the connection is encrypted.
    pub ssl: bool,
    /// The protocol, e.g. `TLSv1.3`.
    pub version: Option<String>,
    /// The cipher, e.g. `TLS_AES_256_GCM_SHA384`.
    pub cipher: Option<String>,
    /// The cipher's key length in bits.
    pub bits: Option<i32>,
    /// The client certificate's subject, when one was sent.
    pub client_dn: Option<String>,
}

/// The current user's privileges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Privileges {
    /// `rolsuper`.
    pub superuser: bool,
    /// `rolcreatedb`.
    pub create_db: bool,
    /// `rolcreaterole`.
    pub create_role: bool,
    /// `CREATE` on the current database (needed for trusted extensions and
    /// schemas such as AGE graphs).
    pub create_in_database: bool,
    /// The schema new tables go to.
    pub current_schema: Option<String>,
    /// `CREATE` on that schema (needed for the tables).
    pub create_in_schema: bool,
    /// Superuser, or `CREATE` on the database (enough for trusted extensions;
    /// AGE needs a superuser).
    pub can_create_extensions: bool,
}

/// The pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PoolReport {
    /// Open connections.
    pub connections: u32,
    /// Idle connections.
    pub idle: u32,
    /// The maximum size.
    pub max_size: u32,
    /// The minimum idle size.
    pub min_idle: u32,
    /// Checkouts served at once.
    pub gets_direct: u64,
    /// Checkouts that waited for a connection.
    pub gets_waited: u64,
    /// Checkouts that timed out.
    pub gets_timed_out: u64,
    /// Connections opened.
    pub connections_created: u64,
    /// Connections closed because they broke.
    pub connections_closed_broken: u64,
    /// Connections closed after reaching their maximum lifetime.
    pub connections_closed_max_lifetime: u64,
    /// Connections closed after idling too long.
    pub connections_closed_idle_timeout: u64,
}

/// Round-trip latency.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    /// How many `SELECT 1` were timed.
    pub samples: u32,
    /// The median, in milliseconds.
    pub median_ms: f64,
    /// The fastest, in milliseconds.
    pub min_ms: f64,
    /// The slowest, in milliseconds.
    pub max_ms: f64,
}

/// One LightRAG table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableReport {
    /// The table name as stored (lower case).
    pub name: String,
    /// Rows per workspace; empty for a table without a `workspace` column.
    pub workspaces: Vec<WorkspaceRows>,
    /// Whether the table has a `vector`/`halfvec` column.
    pub has_vector_column: bool,
    /// Its vector indexes (HNSW, IVFFlat, …) by name.
    pub vector_indexes: Vec<String>,
}

/// Rows of one workspace in one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkspaceRows {
    /// The workspace (`None` for rows whose workspace is NULL).
    pub workspace: Option<String>,
    /// How many rows.
    pub rows: i64,
}

/// One AGE graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphReport {
    /// The graph (and schema) name.
    pub name: String,
    /// The LightRAG workspace it belongs to, read from the name
    /// (`<workspace>_chunk_entity_relation`; `""` for `chunk_entity_relation`).
    pub workspace: Option<String>,
    /// Vertices, when they could be counted.
    pub vertices: Option<i64>,
    /// Edges, when they could be counted.
    pub edges: Option<i64>,
}

/// Something that looks wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// A stable code: `jit_on`, `vector_index_missing`, `age_not_loadable`,
    /// `age_unsupported_version`, `pgvector_without_halfvec`, `read_host_unfit`,
    /// `check_failed`.
    pub code: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl DoctorReport {
    /// Whether a warning with this code was raised.
    pub fn has_warning(&self, code: &str) -> bool {
        self.warnings.iter().any(|w| w.code == code)
    }

    /// The extension named `name`.
    pub fn extension(&self, name: &str) -> Option<&ExtensionInfo> {
        self.extensions.iter().find(|e| e.name == name)
    }

    /// The table named `name` (lower case).
    pub fn table(&self, name: &str) -> Option<&TableReport> {
        self.tables.iter().find(|t| t.name == name)
    }

    fn warn(&mut self, code: &str, message: impl Into<String>) {
        self.warnings.push(Warning { code: code.to_owned(), message: message.into() });
    }
}

/// The first three dot-separated numbers of a version, padded with zeros
/// (`1.5.0` → `(1, 5, 0)`, `0.8` → `(0, 8, 0)`).
fn version_triple(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.split(['.', '-', ' ']).map(|p| p.parse::<u32>());
    let major = parts.next()?.ok()?;
    let minor = parts.next().and_then(Result::ok).unwrap_or(0);
    let patch = parts.next().and_then(Result::ok).unwrap_or(0);
    Some((major, minor, patch))
}

/// AGE versions LightRAG 1.5.7 refuses (`id()` returns `graphid` from 1.8.0).
const AGE_FIRST_UNSUPPORTED: (u32, u32, u32) = (1, 8, 0);
/// pgvector's first version with `halfvec`.
const PGVECTOR_HALFVEC: (u32, u32, u32) = (0, 7, 0);
const WATCHED_EXTENSIONS: [&str; 3] = ["vector", "age", "pg_stat_statements"];
const LATENCY_SAMPLES: u32 = 5;

fn pool_report(pool: &PgPool) -> PoolReport {
    let state = pool.state();
    let s = state.statistics;
    PoolReport {
        connections: state.connections,
        idle: state.idle_connections,
        max_size: pool.config().max_connections,
        min_idle: pool.config().min_connections.min(pool.config().max_connections),
        gets_direct: s.get_direct,
        gets_waited: s.get_waited,
        gets_timed_out: s.get_timed_out,
        connections_created: s.connections_created,
        connections_closed_broken: s.connections_closed_broken,
        connections_closed_max_lifetime: s.connections_closed_max_lifetime,
        connections_closed_idle_timeout: s.connections_closed_idle_timeout,
    }
}

/// Examines the server and the LightRAG data behind `pool`; see the module docs.
#[tracing::instrument(skip_all, fields(database = %pool.config().database))]
pub async fn doctor(pool: &PgPool) -> DoctorReport {
    let started = Instant::now();
    let mut report = DoctorReport {
        reachable: false,
        error: None,
        server: None,
        extensions: Vec::new(),
        tls: None,
        privileges: None,
        pool: pool_report(pool),
        latency: None,
        tables: Vec::new(),
        graphs: None,
        hosts: Vec::new(),
        warnings: Vec::new(),
    };
    let conn = match pool.get().await {
        Ok(c) => c,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    report.reachable = true;
    let client: &Client = &conn;

    match server_info(client).await {
        Ok(s) => report.server = Some(s),
        Err(e) => report.warn("check_failed", format!("server version: {e}")),
    }
    match extensions(client).await {
        Ok(x) => report.extensions = x,
        Err(e) => report.warn("check_failed", format!("extensions: {e}")),
    }
    match tls_info(client).await {
        Ok(t) => report.tls = Some(t),
        Err(e) => report.warn("check_failed", format!("TLS (pg_stat_ssl): {e}")),
    }
    match privileges(client).await {
        Ok(p) => report.privileges = Some(p),
        Err(e) => report.warn("check_failed", format!("privileges: {e}")),
    }
    match latency(client).await {
        Ok(l) => report.latency = Some(l),
        Err(e) => report.warn("check_failed", format!("latency: {e}")),
    }
    match tables(client).await {
        Ok(t) => report.tables = t,
        Err(e) => report.warn("check_failed", format!("LightRAG tables: {e}")),
    }
    let age_installed = report.extension("age").is_some_and(|e| e.installed_version.is_some());
    if age_installed {
        match graphs(client).await {
            Ok(g) => report.graphs = Some(g),
            Err(e) => report.warn("check_failed", format!("AGE graphs: {e}")),
        }
    }
    drop(conn);

    // What a session without lightrag-pg's options sees: the server's `jit`, and
    // whether `LOAD 'age'` works for this user.
    match pool.connect_unpooled().await {
        Ok(raw) => {
            match raw.query_one("SELECT current_setting('jit')", &[]).await {
                Ok(row) => {
                    let jit: String = row.get(0);
                    if let Some(s) = report.server.as_mut() {
                        s.jit = Some(jit);
                    }
                }
                Err(e) => report.warn("check_failed", format!("jit: {}", db_error(e))),
            }
            if age_installed && let Err(e) = raw.batch_execute("LOAD 'age'").await {
                report.warn(
                    "age_not_loadable",
                    format!(
                        "LOAD 'age' fails for user '{}' ({}). Graph calls need AGE loaded: add age to \
                             shared_preload_libraries (and, on Azure, azure.extensions), or install the library \
                             under $libdir/plugins so non-superusers may load it",
                        pool.config().user,
                        db_error(e)
                    ),
                );
            }
        }
        Err(e) => report.warn("check_failed", format!("a session outside the pool: {e}")),
    }

    report.hosts = crate::routing::probe_all(pool).await;
    let unfit: Vec<String> = report
        .hosts
        .iter()
        .filter(|h| h.pool == "read" && !h.readable)
        .map(|h| {
            format!(
                "read host {}:{} is not read from: {} (reads go to the primary)",
                h.host,
                h.port,
                h.error.as_deref().unwrap_or("not a standby within POSTGRES_READ_MAX_LAG")
            )
        })
        .collect();
    for message in unfit {
        report.warn("read_host_unfit", message);
    }
    add_warnings(&mut report);
    report.pool = pool_report(pool);
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, warnings = report.warnings.len(), "doctor done");
    report
}

fn add_warnings(report: &mut DoctorReport) {
    if let Some(jit) = report.server.as_ref().and_then(|s| s.jit.clone())
        && jit == "on"
    {
        report.warn(
            "jit_on",
            "JIT is on at the server level (jit = on). lightrag-pg turns it off for its own sessions, \
             but other clients (Python LightRAG, psql) pay JIT compilation on vector and graph queries: \
             set jit = off in postgresql.conf or `ALTER DATABASE ... SET jit = off`",
        );
    }
    let missing: Vec<String> = report
        .tables
        .iter()
        .filter(|t| t.has_vector_column && t.vector_indexes.is_empty())
        .map(|t| t.name.clone())
        .collect();
    for table in missing {
        report.warn(
            "vector_index_missing",
            format!(
                "table {table} has a vector column but no vector index (HNSW or IVFFlat): every query scans \
                 the whole table (unless POSTGRES_VECTOR_INDEX_TYPE=NONE was chosen on purpose)"
            ),
        );
    }
    let age = report.extension("age").and_then(|e| e.installed_version.clone());
    if let Some(v) = age
        && version_triple(&v).is_some_and(|t| t >= AGE_FIRST_UNSUPPORTED)
    {
        report.warn(
            "age_unsupported_version",
            format!(
                "Apache AGE {v} is installed; LightRAG 1.5.7 refuses AGE 1.8.0 and later (id() returns graphid, \
                 which breaks get_knowledge_graph and can crash the backend). Use AGE 1.5–1.7, or the table \
                 graph engine"
            ),
        );
    }
    let vector = report.extension("vector").and_then(|e| e.installed_version.clone());
    if let Some(v) = vector
        && version_triple(&v).is_some_and(|t| t < PGVECTOR_HALFVEC)
    {
        report.warn(
            "pgvector_without_halfvec",
            format!(
                "pgvector {v} has no halfvec (0.7.0 and later): POSTGRES_VECTOR_INDEX_TYPE=HNSW_HALFVEC and \
                 indexes over 2,000 dimensions are unavailable; upgrade with ALTER EXTENSION vector UPDATE"
            ),
        );
    }
}

type Res<T> = Result<T, lightrag_pg_core::Error>;

async fn server_info(client: &Client) -> Res<ServerInfo> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int4, \
             current_database()::text, current_user::text, current_setting('shared_preload_libraries', true)",
            &[],
        )
        .await
        .map_err(db_error)?;
    Ok(ServerInfo {
        version: row.get(0),
        version_num: row.get(1),
        database: row.get(2),
        user: row.get(3),
        jit: None,
        shared_preload_libraries: row.get(4),
    })
}

async fn extensions(client: &Client) -> Res<Vec<ExtensionInfo>> {
    let names: Vec<&str> = WATCHED_EXTENSIONS.to_vec();
    let rows = client
        .query(
            "SELECT n.name, e.extversion::text, a.default_version::text, s.nspname::text \
             FROM unnest($1::text[]) WITH ORDINALITY AS n(name, ord) \
             LEFT JOIN pg_extension e ON e.extname = n.name \
             LEFT JOIN pg_namespace s ON s.oid = e.extnamespace \
             LEFT JOIN pg_available_extensions a ON a.name = n.name \
             ORDER BY n.ord",
            &[&names],
        )
        .await
        .map_err(db_error)?;
    Ok(rows
        .iter()
        .map(|r| ExtensionInfo {
            name: r.get(0),
            installed_version: r.get(1),
            available_version: r.get(2),
            schema: r.get(3),
        })
        .collect())
}

async fn tls_info(client: &Client) -> Res<TlsInfo> {
    let row = client
        .query_opt("SELECT ssl, version, cipher, bits, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
        .await
        .map_err(db_error)?;
    Ok(match row {
        Some(r) => TlsInfo { ssl: r.get(0), version: r.get(1), cipher: r.get(2), bits: r.get(3), client_dn: r.get(4) },
        None => TlsInfo { ssl: false, version: None, cipher: None, bits: None, client_dn: None },
    })
}

async fn privileges(client: &Client) -> Res<Privileges> {
    let row = client
        .query_one(
            "SELECT r.rolsuper, r.rolcreatedb, r.rolcreaterole, \
             has_database_privilege(current_user, current_database(), 'CREATE'), current_schema()::text, \
             coalesce(has_schema_privilege(current_user, current_schema(), 'CREATE'), false) \
             FROM pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .await
        .map_err(db_error)?;
    let superuser: bool = row.get(0);
    let create_in_database: bool = row.get(3);
    Ok(Privileges {
        superuser,
        create_db: row.get(1),
        create_role: row.get(2),
        create_in_database,
        current_schema: row.get(4),
        create_in_schema: row.get(5),
        can_create_extensions: superuser || create_in_database,
    })
}

async fn latency(client: &Client) -> Res<Latency> {
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES as usize);
    for _ in 0..LATENCY_SAMPLES {
        let t = Instant::now();
        client.simple_query("SELECT 1").await.map_err(db_error)?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    Ok(Latency {
        samples: LATENCY_SAMPLES,
        median_ms: samples[samples.len() / 2],
        min_ms: samples[0],
        max_ms: samples[samples.len() - 1],
    })
}

async fn tables(client: &Client) -> Res<Vec<TableReport>> {
    let rows = client
        .query(
            "SELECT c.relname::text, \
               EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'workspace' \
                       AND a.attnum > 0 AND NOT a.attisdropped), \
               EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
                       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
                       AND t.typname IN ('vector', 'halfvec')), \
               ARRAY(SELECT ic.relname::text FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
                     JOIN pg_am am ON am.oid = ic.relam \
                     WHERE i.indrelid = c.oid AND am.amname IN ('hnsw', 'ivfflat', 'vchordrq', 'diskann') \
                     ORDER BY 1) \
             FROM pg_class c \
             WHERE c.relkind IN ('r', 'p') AND c.relname LIKE 'lightrag\\_%' AND pg_table_is_visible(c.oid) \
             ORDER BY 1",
            &[],
        )
        .await
        .map_err(db_error)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let name: String = r.get(0);
        let has_workspace: bool = r.get(1);
        let workspaces = if has_workspace {
            let sql = format!(
                "SELECT workspace::text, count(*) FROM {} GROUP BY 1 ORDER BY 1 NULLS FIRST",
                quote_ident(&name)?
            );
            client
                .query(&sql, &[])
                .await
                .map_err(db_error)?
                .iter()
                .map(|w| WorkspaceRows { workspace: w.get(0), rows: w.get(1) })
                .collect()
        } else {
            Vec::new()
        };
        out.push(TableReport { name, workspaces, has_vector_column: r.get(2), vector_indexes: r.get(3) });
    }
    Ok(out)
}

async fn graphs(client: &Client) -> Res<Vec<GraphReport>> {
    let rows = client
        .query(
            "SELECT g.name::text, n.nspname::text FROM ag_catalog.ag_graph g \
             JOIN pg_namespace n ON n.oid = g.namespace ORDER BY 1",
            &[],
        )
        .await
        .map_err(db_error)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let name: String = r.get(0);
        let schema: String = r.get(1);
        let count = |table: &str| {
            let sql = quote_ident(&schema).map(|s| format!("SELECT count(*) FROM {s}.{table}"));
            async move {
                let sql = sql.ok()?;
                client.query_one(&sql, &[]).await.ok().map(|row| row.get::<_, i64>(0))
            }
        };
        let vertices = count("_ag_label_vertex").await;
        let edges = count("_ag_label_edge").await;
        let workspace = if name == "chunk_entity_relation" {
            Some(String::new())
        } else {
            name.strip_suffix("_chunk_entity_relation").map(str::to_owned)
        };
        out.push(GraphReport { name, workspace, vertices, edges });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_like_lightrag() {
        assert_eq!(version_triple("1.5.0"), Some((1, 5, 0)));
        assert_eq!(version_triple("0.8"), Some((0, 8, 0)));
        assert_eq!(version_triple("1.8.0-rc1"), Some((1, 8, 0)));
        assert!(version_triple("1.8.0").unwrap() >= AGE_FIRST_UNSUPPORTED);
        assert!(version_triple("1.7.9").unwrap() < AGE_FIRST_UNSUPPORTED);
        assert!(version_triple("0.6.2").unwrap() < PGVECTOR_HALFVEC);
        assert_eq!(version_triple("x"), None);
    }

    fn empty_report() -> DoctorReport {
        DoctorReport {
            reachable: true,
            error: None,
            server: None,
            extensions: Vec::new(),
            tls: None,
            privileges: None,
            pool: PoolReport {
                connections: 0,
                idle: 0,
                max_size: 1,
                min_idle: 0,
                gets_direct: 0,
                gets_waited: 0,
                gets_timed_out: 0,
                connections_created: 0,
                connections_closed_broken: 0,
                connections_closed_max_lifetime: 0,
                connections_closed_idle_timeout: 0,
            },
            latency: None,
            tables: Vec::new(),
            graphs: None,
            hosts: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn ext(name: &str, version: &str) -> ExtensionInfo {
        ExtensionInfo {
            name: name.into(),
            installed_version: Some(version.into()),
            available_version: Some(version.into()),
            schema: Some("public".into()),
        }
    }

    #[test]
    fn age_from_1_8_is_flagged_as_unsupported() {
        let mut r = empty_report();
        r.extensions = vec![ext("age", "1.8.0")];
        add_warnings(&mut r);
        assert!(r.has_warning("age_unsupported_version"));
        let mut r = empty_report();
        r.extensions = vec![ext("age", "1.5.0")];
        add_warnings(&mut r);
        assert!(!r.has_warning("age_unsupported_version"));
    }

    #[test]
    fn pgvector_before_0_7_is_flagged_for_missing_halfvec() {
        let mut r = empty_report();
        r.extensions = vec![ext("vector", "0.6.2")];
        add_warnings(&mut r);
        assert!(r.has_warning("pgvector_without_halfvec"));
        let mut r = empty_report();
        r.extensions = vec![ext("vector", "0.8.0")];
        add_warnings(&mut r);
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn field_names_are_stable() {
        let json = serde_json::to_value(empty_report()).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "reachable",
                "error",
                "server",
                "extensions",
                "tls",
                "privileges",
                "pool",
                "latency",
                "tables",
                "graphs",
                "hosts",
                "warnings"
            ]
        );
    }
}
