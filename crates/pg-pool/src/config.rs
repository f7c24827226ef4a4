//! Connection configuration, read from LightRAG's `POSTGRES_*` variables (same
//! names and defaults, spec §3.1) through [`Sources`] (flags, the environment,
//! `.env`, `config.ini`, `DATABASE_URL`), a key/value map, or a builder.
//!
//! With [`crate::settings`], this is the only place in the workspace that
//! interprets LightRAG's variables.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use lightrag_pg_core::Error;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use crate::sources::Sources;

/// Every `POSTGRES_*` variable [`PgConfig`] reads (LightRAG's names; a test keeps
/// this list equal to what the parser reads).
pub const VARIABLES: &[&str] = &[
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DATABASE",
    "POSTGRES_WORKSPACE",
    "POSTGRES_MAX_CONNECTIONS",
    "POSTGRES_MIN_CONNECTIONS",
    "POSTGRES_SSL_MODE",
    "POSTGRES_SSL_CERT",
    "POSTGRES_SSL_KEY",
    "POSTGRES_SSL_ROOT_CERT",
    "POSTGRES_SSL_CRL",
    "POSTGRES_TARGET_SESSION_ATTRS",
    "POSTGRES_SERVER_SETTINGS",
    "POSTGRES_STATEMENT_CACHE_SIZE",
    "POSTGRES_STATEMENT_TIMEOUT",
    "POSTGRES_CONNECT_TIMEOUT",
    "POSTGRES_POOL_TIMEOUT",
    "POSTGRES_IDLE_TIMEOUT",
    "POSTGRES_MAX_LIFETIME",
    "POSTGRES_HEALTH_CHECK_AFTER",
    "POSTGRES_CONNECTION_RETRIES",
    "POSTGRES_CONNECTION_RETRY_BACKOFF",
    "POSTGRES_CONNECTION_RETRY_BACKOFF_MAX",
    "POSTGRES_POOL_CLOSE_TIMEOUT",
    "POSTGRES_AGE_SESSION_INIT",
    "POSTGRES_AGE_ALLOW_UNSUPPORTED_VERSION",
    "POSTGRES_VECTOR_INDEX_TYPE",
    "POSTGRES_HNSW_M",
    "POSTGRES_HNSW_EF",
    "POSTGRES_HNSW_EF_SEARCH",
    "POSTGRES_IVFFLAT_LISTS",
    "POSTGRES_IVFFLAT_PROBES",
    "POSTGRES_UPSERT_MAX_PAYLOAD_BYTES",
    "POSTGRES_UPSERT_MAX_RECORDS_PER_BATCH",
    "POSTGRES_DELETE_MAX_RECORDS_PER_BATCH",
    "POSTGRES_VECTOR_PARTITIONED",
    "POSTGRES_READ_HOSTS",
    "POSTGRES_READ_MAX_LAG",
];

/// libpq's `sslmode`, with libpq's semantics (see [`crate::tls`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Plain TCP only.
    Disable,
    /// Plain first; TLS only if the server insists.
    Allow,
    /// TLS if the server offers it, without verification; else plain. The default.
    #[default]
    Prefer,
    /// TLS required; the certificate is verified only when a root certificate is
    /// configured (then as `verify-ca`), like libpq.
    Require,
    /// TLS required; the chain is verified, the host name is not.
    VerifyCa,
    /// TLS required; the chain and the host name are verified.
    VerifyFull,
}

impl SslMode {
    /// libpq's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" | "" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" | "verify_ca" => Self::VerifyCa,
            "verify-full" | "verify_full" => Self::VerifyFull,
            other => {
                return Err(format!(
                    "invalid sslmode '{other}' (expected disable, allow, prefer, require, verify-ca or verify-full)"
                ));
            }
        })
    }
}

/// TLS settings: the mode and the certificate files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SslConfig {
    /// `POSTGRES_SSL_MODE`.
    pub mode: SslMode,
    /// `POSTGRES_SSL_CERT`: client certificate (PEM).
    pub cert: Option<PathBuf>,
    /// `POSTGRES_SSL_KEY`: client key (PEM).
    pub key: Option<PathBuf>,
    /// `POSTGRES_SSL_ROOT_CERT`: CA certificates (PEM); `system` uses the
    /// platform's roots.
    pub root_cert: Option<PathBuf>,
    /// `POSTGRES_SSL_CRL`: certificate revocation list (PEM).
    pub crl: Option<PathBuf>,
}

/// libpq's `target_session_attrs`, for following a failover across several hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetSessionAttrs {
    /// Any server.
    #[default]
    Any,
    /// Only a primary that accepts writes.
    ReadWrite,
    /// Only a standby (`SHOW transaction_read_only` is on).
    ReadOnly,
    /// A standby if one answers, else any.
    PreferStandby,
}

impl FromStr for TargetSessionAttrs {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "any" | "" => Self::Any,
            "read-write" | "read_write" | "primary" => Self::ReadWrite,
            "read-only" | "read_only" | "standby" => Self::ReadOnly,
            "prefer-standby" | "prefer_standby" => Self::PreferStandby,
            other => {
                return Err(format!(
                    "invalid target_session_attrs '{other}' (expected any, read-write, read-only or prefer-standby)"
                ));
            }
        })
    }
}

/// When a connection runs AGE's session set-up (`LOAD 'age'` and the
/// `search_path`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AgeSessionInit {
    /// On every new connection.
    Always,
    /// Never (AGE is preloaded and queries are fully qualified).
    Never,
    /// Lazily, the first time a connection serves a graph call. The default.
    #[default]
    IfNeeded,
}

impl FromStr for AgeSessionInit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "always" => Self::Always,
            "never" => Self::Never,
            "if-needed" | "if_needed" | "ifneeded" | "" => Self::IfNeeded,
            other => return Err(format!("invalid AGE session init '{other}' (expected always, never or if-needed)")),
        })
    }
}

/// Bounded exponential back-off with jitter for transient failures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// `POSTGRES_CONNECTION_RETRIES` (default 10, at most 100): attempts in all.
    pub attempts: u32,
    /// `POSTGRES_CONNECTION_RETRY_BACKOFF` (default 3 s, at most 300 s): first wait.
    pub backoff: Duration,
    /// `POSTGRES_CONNECTION_RETRY_BACKOFF_MAX` (default 30 s, at most 600 s).
    pub backoff_max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { attempts: 10, backoff: Duration::from_secs(3), backoff_max: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// The wait before retry `k` (1-based): `clamp(backoff · 2^(k−1), backoff,
    /// backoff_max)`, scaled by a random jitter in [0.5, 1.0].
    pub fn delay(&self, k: u32) -> Duration {
        let base = self.backoff.as_secs_f64() * 2f64.powi(k.saturating_sub(1).min(30) as i32);
        let capped =
            base.clamp(self.backoff.as_secs_f64(), self.backoff_max.as_secs_f64().max(self.backoff.as_secs_f64()));
        let jitter: f64 = 0.5 + rand::random::<f64>() * 0.5;
        Duration::from_secs_f64(capped * jitter)
    }
}

/// Vector index settings (`POSTGRES_VECTOR_INDEX_TYPE`, `POSTGRES_HNSW_M`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorIndexSettings {
    /// `POSTGRES_VECTOR_INDEX_TYPE`: `HNSW` (default), `HNSW_HALFVEC`, `IVFFLAT`,
    /// `NONE`.
    pub index_type: String,
    /// `POSTGRES_HNSW_M` (default 16).
    pub hnsw_m: u32,
    /// `POSTGRES_HNSW_EF` (default 64): `ef_construction`.
    pub hnsw_ef_construction: u32,
    /// `POSTGRES_HNSW_EF_SEARCH` (default 100; LightRAG never sets it, so it gets
    /// pgvector's 40). Raised to at least `top_k` per query.
    pub hnsw_ef_search: u32,
    /// `POSTGRES_IVFFLAT_LISTS` (default 100).
    pub ivfflat_lists: u32,
    /// `POSTGRES_IVFFLAT_PROBES` (default 10).
    pub ivfflat_probes: u32,
}

impl Default for VectorIndexSettings {
    fn default() -> Self {
        Self {
            index_type: "HNSW".into(),
            hnsw_m: 16,
            hnsw_ef_construction: 64,
            hnsw_ef_search: 100,
            ivfflat_lists: 100,
            ivfflat_probes: 10,
        }
    }
}

/// Everything needed to reach PostgreSQL.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct PgConfig {
    /// `POSTGRES_HOST` (default `localhost`); several as `h1:5432,h2:5433`.
    pub hosts: Vec<(String, u16)>,
    /// `POSTGRES_USER` (default `postgres`).
    pub user: String,
    /// `POSTGRES_PASSWORD`.
    pub password: Option<String>,
    /// `POSTGRES_DATABASE` (default `postgres`).
    pub database: String,
    /// `POSTGRES_WORKSPACE`: forces the workspace of every storage.
    pub workspace: Option<String>,
    /// `POSTGRES_MAX_CONNECTIONS` (default 50).
    pub max_connections: u32,
    /// `POSTGRES_MIN_CONNECTIONS` (default 1).
    pub min_connections: u32,
    /// TLS.
    pub ssl: SslConfig,
    /// `POSTGRES_TARGET_SESSION_ATTRS`.
    pub target_session_attrs: TargetSessionAttrs,
    /// `POSTGRES_SERVER_SETTINGS` (`k1=v1&k2=v2`), applied to every connection
    /// after `jit=off` and `application_name=lightrag`.
    pub server_settings: Vec<(String, String)>,
    /// `POSTGRES_STATEMENT_CACHE_SIZE`: `0` keeps no prepared statement on a
    /// connection; each is prepared and closed per call. Behind PgBouncer in
    /// transaction mode this needs PgBouncer ≥ 1.21 with `max_prepared_statements`.
    pub prepared_statements: bool,
    /// `POSTGRES_STATEMENT_TIMEOUT` in milliseconds (default none).
    pub statement_timeout: Option<Duration>,
    /// `POSTGRES_CONNECT_TIMEOUT` in seconds (default 10).
    pub connect_timeout: Duration,
    /// `POSTGRES_POOL_TIMEOUT`: how long a caller waits for a free connection
    /// (default 30 s).
    pub pool_timeout: Duration,
    /// `POSTGRES_IDLE_TIMEOUT` in seconds (default 600).
    pub idle_timeout: Duration,
    /// `POSTGRES_MAX_LIFETIME` in seconds (default 1800).
    pub max_lifetime: Duration,
    /// `POSTGRES_HEALTH_CHECK_AFTER` in seconds (default 0.5): a pooled connection
    /// that sat idle longer than this is pinged (one round trip) before it is
    /// handed out; `0` pings on every checkout. Connections in steady use skip
    /// the ping; a closed socket is always caught.
    pub health_check_after: Duration,
    /// `POSTGRES_CONNECTION_RETRIES` and the back-off settings.
    pub retry: RetryPolicy,
    /// `POSTGRES_POOL_CLOSE_TIMEOUT` (default 5 s, at most 30 s).
    pub pool_close_timeout: Duration,
    /// `POSTGRES_AGE_SESSION_INIT`: always, never or if-needed.
    pub age_session_init: AgeSessionInit,
    /// `POSTGRES_AGE_ALLOW_UNSUPPORTED_VERSION`.
    pub age_allow_unsupported_version: bool,
    /// Vector index settings.
    pub vector: VectorIndexSettings,
    /// `POSTGRES_UPSERT_MAX_PAYLOAD_BYTES` (default 16 MiB, as LightRAG): the
    /// most bytes one upsert batch carries; `0` disables the byte limit.
    pub upsert_max_payload_bytes: usize,
    /// `POSTGRES_UPSERT_MAX_RECORDS_PER_BATCH` (default 5000 here; LightRAG uses
    /// 200): rows per statement when a large upsert streams in batches.
    pub upsert_batch_rows: usize,
    /// `POSTGRES_DELETE_MAX_RECORDS_PER_BATCH` (default 1000, as LightRAG): ids
    /// per delete statement.
    pub delete_batch_rows: usize,
    /// `POSTGRES_VECTOR_PARTITIONED` (default `false`): vector tables this
    /// project creates are LIST-partitioned by `workspace`, one partition (with
    /// its own vector index) per workspace and a DEFAULT partition for the rest.
    /// Existing tables keep their layout.
    pub vector_partitioned: bool,
    /// `POSTGRES_READ_HOSTS` (default none): streaming standbys for reads, as
    /// `h1:5432,h2` (the port defaults to `POSTGRES_PORT`). Retrieval and
    /// `serve`'s read endpoints read there, with libpq's `prefer-standby`
    /// semantics; see [`crate::routing`]. Empty: everything on the primary.
    pub read_hosts: Vec<(String, u16)>,
    /// `POSTGRES_READ_MAX_LAG` in seconds (default 5): a standby whose replay
    /// is further behind the primary than this is not read from; `0` reads
    /// only a standby that had replayed everything when it was checked.
    pub read_max_lag: Duration,
}

impl Default for PgConfig {
    fn default() -> Self {
        Self {
            hosts: vec![("localhost".into(), 5432)],
            user: "postgres".into(),
            password: None,
            database: "postgres".into(),
            workspace: None,
            max_connections: 50,
            min_connections: 1,
            ssl: SslConfig::default(),
            target_session_attrs: TargetSessionAttrs::Any,
            server_settings: Vec::new(),
            prepared_statements: true,
            statement_timeout: None,
            connect_timeout: Duration::from_secs(10),
            pool_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(1800),
            health_check_after: Duration::from_millis(500),
            retry: RetryPolicy::default(),
            pool_close_timeout: Duration::from_secs(5),
            age_session_init: AgeSessionInit::IfNeeded,
            age_allow_unsupported_version: false,
            vector: VectorIndexSettings::default(),
            upsert_max_payload_bytes: 16 * 1024 * 1024,
            upsert_batch_rows: 5000,
            delete_batch_rows: 1000,
            vector_partitioned: false,
            read_hosts: Vec::new(),
            read_max_lag: Duration::from_secs(5),
        }
    }
}

impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConfig")
            .field("hosts", &self.hosts)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("database", &self.database)
            .field("workspace", &self.workspace)
            .field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("ssl", &self.ssl)
            .field("target_session_attrs", &self.target_session_attrs)
            .field("prepared_statements", &self.prepared_statements)
            .field("statement_timeout", &self.statement_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("pool_timeout", &self.pool_timeout)
            .field("health_check_after", &self.health_check_after)
            .field("retry", &self.retry)
            .field("age_session_init", &self.age_session_init)
            .field("vector", &self.vector)
            .field("vector_partitioned", &self.vector_partitioned)
            .field("read_hosts", &self.read_hosts)
            .field("read_max_lag", &self.read_max_lag)
            .finish_non_exhaustive()
    }
}

/// Where values come from: a lookup by LightRAG's variable name.
type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

fn parse<T: FromStr>(key: &str, raw: &str, what: &str) -> Result<T, Error> {
    raw.trim().parse().map_err(|_| Error::config(key, format!("invalid {what} '{raw}'")))
}

fn parse_bool(key: &str, raw: &str) -> Result<bool, Error> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "t" | "on" | "y" => Ok(true),
        "0" | "false" | "no" | "f" | "off" | "n" | "" => Ok(false),
        _ => Err(Error::config(key, format!("invalid boolean '{raw}'"))),
    }
}

fn parse_secs(key: &str, raw: &str, cap: f64) -> Result<Duration, Error> {
    let v: f64 = parse(key, raw, "number of seconds")?;
    if !v.is_finite() || v < 0.0 {
        return Err(Error::config(key, format!("invalid number of seconds '{raw}'")));
    }
    Ok(Duration::from_secs_f64(v.min(cap)))
}

fn parse_port(key: &str, raw: &str) -> Result<u16, Error> {
    match raw.trim().parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(Error::config(key, format!("invalid port '{raw}'"))),
    }
}

/// Parses `h1:5432,h2,[::1]:5433` against a default port (IPv6 addresses in
/// brackets when a port follows; a bare IPv6 address takes the default port).
fn parse_hosts(key: &str, raw: &str, default_port: u16) -> Result<Vec<(String, u16)>, Error> {
    let mut out = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (host, port) = if let Some(inner) = part.strip_prefix('[') {
            let (h, after) =
                inner.split_once(']').ok_or_else(|| Error::config(key, format!("invalid host '{part}'")))?;
            match after.strip_prefix(':') {
                Some(p) => (h.to_owned(), parse_port(key, p)?),
                None if after.is_empty() => (h.to_owned(), default_port),
                None => return Err(Error::config(key, format!("invalid host '{part}'"))),
            }
        } else {
            match part.split_once(':') {
                Some((h, p)) if !p.contains(':') => (h.to_owned(), parse_port(key, p)?),
                _ => (part.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(Error::config(key, format!("invalid host '{part}'")));
        }
        out.push((host, port));
    }
    if out.is_empty() {
        return Err(Error::config(key, "no host given"));
    }
    Ok(out)
}

impl PgConfig {
    /// A builder starting from the defaults.
    pub fn builder() -> PgConfigBuilder {
        PgConfigBuilder(Self::default())
    }

    /// Reads LightRAG's `POSTGRES_*` variables as LightRAG does: the process
    /// environment, then `.env` and `config.ini`'s `[postgres]` section in the
    /// working directory, then `DATABASE_URL` ([`Sources::discover`]).
    ///
    /// # Errors
    /// [`Error::Config`] naming the first bad variable, e.g.
    /// `POSTGRES_PORT: invalid port 'abc'`, or a file that cannot be parsed.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_sources(&Sources::discover()?)
    }

    /// The configuration [`Sources`] give. `DATABASE_URL` fills the connection
    /// settings no layer sets, unless it was given as a flag: then it overrides
    /// them, like every flag.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first bad variable.
    pub fn from_sources(sources: &Sources) -> Result<Self, Error> {
        let url: HashMap<&str, String> = match sources.value("DATABASE_URL") {
            Some(url) => url_settings(&url)?.into_iter().collect(),
            None => HashMap::new(),
        };
        let url_wins = sources.is_flag("DATABASE_URL");
        let mut c = Self::default();
        c.apply(&|k: &str| {
            let from_url = url.get(k).cloned();
            if url_wins && from_url.is_some() { from_url } else { sources.value(k).or(from_url) }
        })?;
        Ok(c)
    }

    /// Builds the configuration from a key/value map, like LightRAG's
    /// `ClientManager` reading `config.ini`'s `[postgres]` section. Keys are either
    /// the variable names (`POSTGRES_PORT`) or the `config.ini` names (`port`).
    ///
    /// # Errors
    /// [`Error::Config`] naming the first bad key.
    pub fn from_map(map: &HashMap<String, String>) -> Result<Self, Error> {
        let mut c = Self::default();
        c.apply(&|k: &str| map.get(k).cloned().or_else(|| map.get(&crate::sources::ini_key(k)?).cloned()))?;
        Ok(c)
    }

    /// Parses a `postgres://` URL (libpq's form: several hosts, IPv6 hosts in
    /// brackets, and the `host`, `port`, `dbname`, `user`, `password`, `ssl*`,
    /// `target_session_attrs` and `connect_timeout` query parameters).
    ///
    /// # Errors
    /// [`Error::Config`] with key `DATABASE_URL`.
    pub fn from_url(url: &str) -> Result<Self, Error> {
        let map: HashMap<&str, String> = url_settings(url)?.into_iter().collect();
        let mut c = Self::default();
        c.apply(&|k: &str| map.get(k).cloned())?;
        Ok(c)
    }

    /// Overlays every variable `get` knows onto `self`.
    fn apply(&mut self, get: &Lookup<'_>) -> Result<(), Error> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let port = match get("POSTGRES_PORT") {
            Some(p) => Some(parse_port("POSTGRES_PORT", &p)?),
            None => None,
        };
        if let Some(h) = get("POSTGRES_HOST") {
            self.hosts = parse_hosts("POSTGRES_HOST", &h, port.unwrap_or(5432))?;
        } else if let Some(p) = port {
            for h in &mut self.hosts {
                h.1 = p;
            }
        }
        if let Some(v) = get("POSTGRES_USER") {
            self.user = v;
        }
        if let Some(v) = get("POSTGRES_PASSWORD") {
            self.password = Some(v);
        }
        if let Some(v) = get("POSTGRES_DATABASE") {
            self.database = v;
        }
        if let Some(v) = get("POSTGRES_WORKSPACE") {
            lightrag_pg_core::Workspace::new(v.clone())
                .map_err(|e| Error::config("POSTGRES_WORKSPACE", e.to_string()))?;
            self.workspace = Some(v);
        }
        if let Some(v) = get("POSTGRES_MAX_CONNECTIONS") {
            let n: u32 = parse("POSTGRES_MAX_CONNECTIONS", &v, "connection count")?;
            if n == 0 {
                return Err(Error::config("POSTGRES_MAX_CONNECTIONS", format!("invalid connection count '{v}'")));
            }
            self.max_connections = n;
        }
        if let Some(v) = get("POSTGRES_MIN_CONNECTIONS") {
            self.min_connections = parse("POSTGRES_MIN_CONNECTIONS", &v, "connection count")?;
        }
        if let Some(v) = get("POSTGRES_SSL_MODE") {
            self.ssl.mode = v.parse().map_err(|e: String| Error::config("POSTGRES_SSL_MODE", e))?;
        }
        for (key, slot) in [
            ("POSTGRES_SSL_CERT", &mut self.ssl.cert),
            ("POSTGRES_SSL_KEY", &mut self.ssl.key),
            ("POSTGRES_SSL_ROOT_CERT", &mut self.ssl.root_cert),
            ("POSTGRES_SSL_CRL", &mut self.ssl.crl),
        ] {
            if let Some(v) = get(key) {
                *slot = Some(PathBuf::from(v));
            }
        }
        // libpq ≥ 16: `sslrootcert=system` makes `verify-full` the default mode.
        if get("POSTGRES_SSL_MODE").is_none() && get("POSTGRES_SSL_ROOT_CERT").is_some_and(|v| v == "system") {
            self.ssl.mode = SslMode::VerifyFull;
        }
        if let Some(v) = get("POSTGRES_TARGET_SESSION_ATTRS") {
            self.target_session_attrs =
                v.parse().map_err(|e: String| Error::config("POSTGRES_TARGET_SESSION_ATTRS", e))?;
        }
        if let Some(v) = get("POSTGRES_SERVER_SETTINGS") {
            self.server_settings = v
                .split('&')
                .filter(|kv| !kv.trim().is_empty())
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
                    _ => Err(Error::config(
                        "POSTGRES_SERVER_SETTINGS",
                        format!("invalid setting '{kv}' (expected key=value)"),
                    )),
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = get("POSTGRES_STATEMENT_CACHE_SIZE") {
            let n: u32 = parse("POSTGRES_STATEMENT_CACHE_SIZE", &v, "cache size")?;
            self.prepared_statements = n > 0;
        }
        if let Some(v) = get("POSTGRES_STATEMENT_TIMEOUT") {
            let ms: u64 = parse("POSTGRES_STATEMENT_TIMEOUT", &v, "number of milliseconds")?;
            self.statement_timeout = (ms > 0).then(|| Duration::from_millis(ms));
        }
        if let Some(v) = get("POSTGRES_CONNECT_TIMEOUT") {
            self.connect_timeout = parse_secs("POSTGRES_CONNECT_TIMEOUT", &v, 600.0)?;
        }
        if let Some(v) = get("POSTGRES_POOL_TIMEOUT") {
            self.pool_timeout = parse_secs("POSTGRES_POOL_TIMEOUT", &v, 3600.0)?;
        }
        if let Some(v) = get("POSTGRES_IDLE_TIMEOUT") {
            self.idle_timeout = parse_secs("POSTGRES_IDLE_TIMEOUT", &v, 86_400.0)?;
        }
        if let Some(v) = get("POSTGRES_MAX_LIFETIME") {
            self.max_lifetime = parse_secs("POSTGRES_MAX_LIFETIME", &v, 86_400.0)?;
        }
        if let Some(v) = get("POSTGRES_HEALTH_CHECK_AFTER") {
            self.health_check_after = parse_secs("POSTGRES_HEALTH_CHECK_AFTER", &v, 3600.0)?;
        }
        if let Some(v) = get("POSTGRES_CONNECTION_RETRIES") {
            let n: u32 = parse("POSTGRES_CONNECTION_RETRIES", &v, "retry count")?;
            self.retry.attempts = n.clamp(1, 100);
        }
        if let Some(v) = get("POSTGRES_CONNECTION_RETRY_BACKOFF") {
            self.retry.backoff = parse_secs("POSTGRES_CONNECTION_RETRY_BACKOFF", &v, 300.0)?;
        }
        if let Some(v) = get("POSTGRES_CONNECTION_RETRY_BACKOFF_MAX") {
            self.retry.backoff_max = parse_secs("POSTGRES_CONNECTION_RETRY_BACKOFF_MAX", &v, 600.0)?;
        }
        if let Some(v) = get("POSTGRES_POOL_CLOSE_TIMEOUT") {
            self.pool_close_timeout = parse_secs("POSTGRES_POOL_CLOSE_TIMEOUT", &v, 30.0)?;
        }
        if let Some(v) = get("POSTGRES_AGE_SESSION_INIT") {
            self.age_session_init = v.parse().map_err(|e: String| Error::config("POSTGRES_AGE_SESSION_INIT", e))?;
        }
        if let Some(v) = get("POSTGRES_AGE_ALLOW_UNSUPPORTED_VERSION") {
            self.age_allow_unsupported_version = parse_bool("POSTGRES_AGE_ALLOW_UNSUPPORTED_VERSION", &v)?;
        }
        if let Some(v) = get("POSTGRES_VECTOR_INDEX_TYPE") {
            let t = v.trim().to_ascii_uppercase();
            if !["AUTO", "HNSW", "HNSW_HALFVEC", "IVFFLAT", "NONE"].contains(&t.as_str()) {
                return Err(Error::config(
                    "POSTGRES_VECTOR_INDEX_TYPE",
                    format!("invalid index type '{v}' (expected AUTO, HNSW, HNSW_HALFVEC, IVFFLAT or NONE)"),
                ));
            }
            self.vector.index_type = t;
        }
        for (key, slot) in [
            ("POSTGRES_HNSW_M", &mut self.vector.hnsw_m),
            ("POSTGRES_HNSW_EF", &mut self.vector.hnsw_ef_construction),
            ("POSTGRES_HNSW_EF_SEARCH", &mut self.vector.hnsw_ef_search),
            ("POSTGRES_IVFFLAT_LISTS", &mut self.vector.ivfflat_lists),
            ("POSTGRES_IVFFLAT_PROBES", &mut self.vector.ivfflat_probes),
        ] {
            if let Some(v) = get(key) {
                let n: u32 = parse(key, &v, "positive integer")?;
                if n == 0 {
                    return Err(Error::config(key, format!("invalid positive integer '{v}'")));
                }
                *slot = n;
            }
        }
        if let Some(v) = get("POSTGRES_UPSERT_MAX_PAYLOAD_BYTES") {
            self.upsert_max_payload_bytes = parse("POSTGRES_UPSERT_MAX_PAYLOAD_BYTES", &v, "byte count")?;
        }
        if let Some(v) = get("POSTGRES_UPSERT_MAX_RECORDS_PER_BATCH") {
            let n: usize = parse("POSTGRES_UPSERT_MAX_RECORDS_PER_BATCH", &v, "row count")?;
            self.upsert_batch_rows = n.max(1);
        }
        if let Some(v) = get("POSTGRES_DELETE_MAX_RECORDS_PER_BATCH") {
            let n: usize = parse("POSTGRES_DELETE_MAX_RECORDS_PER_BATCH", &v, "row count")?;
            self.delete_batch_rows = n.max(1);
        }
        if let Some(v) = get("POSTGRES_VECTOR_PARTITIONED") {
            self.vector_partitioned = parse_bool("POSTGRES_VECTOR_PARTITIONED", &v)?;
        }
        if let Some(v) = get("POSTGRES_READ_HOSTS") {
            self.read_hosts = parse_hosts("POSTGRES_READ_HOSTS", &v, port.unwrap_or(5432))?;
        }
        if let Some(v) = get("POSTGRES_READ_MAX_LAG") {
            self.read_max_lag = parse_secs("POSTGRES_READ_MAX_LAG", &v, 86_400.0)?;
        }
        Ok(())
    }

    /// The first host, for messages.
    pub fn primary_host(&self) -> String {
        self.hosts.first().map(|(h, p)| host_port(h, *p)).unwrap_or_default()
    }

    /// A `postgres://` URL for these settings, with the password redacted unless
    /// `with_password`.
    pub fn url(&self, with_password: bool) -> String {
        let hosts: Vec<String> = self.hosts.iter().map(|(h, p)| host_port(h, *p)).collect();
        let pass = match (&self.password, with_password) {
            (Some(p), true) => format!(":{}", percent_encode(p)),
            (Some(_), false) => ":<redacted>".to_owned(),
            (None, _) => String::new(),
        };
        format!(
            "postgres://{}{pass}@{}/{}?sslmode={}",
            percent_encode(&self.user),
            hosts.join(","),
            percent_encode(&self.database),
            self.ssl.mode.as_str()
        )
    }
}

fn percent_decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// What a URL's user, password and database escape: everything but RFC 3986's
/// unreserved characters, so `my-db_1.x~` stays readable.
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, URL_COMPONENT).to_string()
}

/// `host:port` for a URL or a message, with an IPv6 address in brackets.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// The `POSTGRES_*` settings a `postgres://` URL carries. The `url` crate parses
/// the URL; libpq's multi-host authority (`h1:5432,h2:5433`), which no URL
/// parser accepts, is split here and each host parsed on its own.
fn url_settings(raw: &str) -> Result<Vec<(&'static str, String)>, Error> {
    let bad = |why: String| Error::config("DATABASE_URL", why);
    let Some((scheme, rest)) = raw.split_once("://").filter(|(s, _)| matches!(*s, "postgres" | "postgresql")) else {
        return Err(bad("must start with postgres:// or postgresql://".into()));
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    let url = url::Url::parse(&format!("{scheme}://{userinfo}placeholder{tail}"))
        .map_err(|e| bad(format!("invalid URL: {e}")))?;
    let mut out: Vec<(&'static str, String)> = Vec::new();
    let mut host_list = Vec::new();
    for part in hosts.split(',').filter(|p| !p.is_empty()) {
        let h =
            url::Url::parse(&format!("{scheme}://{part}")).map_err(|e| bad(format!("invalid host '{part}': {e}")))?;
        let name = match h.host() {
            Some(url::Host::Ipv6(a)) => a.to_string(),
            Some(other) => percent_decode(&other.to_string()),
            None => return Err(bad(format!("invalid host '{part}'"))),
        };
        host_list.push(match h.port() {
            Some(p) => host_port(&name, p),
            None => {
                if name.contains(':') {
                    format!("[{name}]")
                } else {
                    name
                }
            }
        });
    }
    if !url.username().is_empty() {
        out.push(("POSTGRES_USER", percent_decode(url.username())));
    }
    if let Some(p) = url.password() {
        out.push(("POSTGRES_PASSWORD", percent_decode(p)));
    }
    let db = url.path().trim_start_matches('/');
    if !db.is_empty() {
        out.push(("POSTGRES_DATABASE", percent_decode(db)));
    }
    for (k, v) in url.query_pairs() {
        let key = match k.as_ref() {
            "host" => {
                // libpq: `host=` (a list) replaces the authority's hosts.
                host_list = v.split(',').filter(|h| !h.is_empty()).map(str::to_owned).collect();
                continue;
            }
            "port" => "POSTGRES_PORT",
            "dbname" => "POSTGRES_DATABASE",
            "user" => "POSTGRES_USER",
            "password" => "POSTGRES_PASSWORD",
            "sslmode" => "POSTGRES_SSL_MODE",
            "sslcert" => "POSTGRES_SSL_CERT",
            "sslkey" => "POSTGRES_SSL_KEY",
            "sslrootcert" => "POSTGRES_SSL_ROOT_CERT",
            "sslcrl" => "POSTGRES_SSL_CRL",
            "target_session_attrs" => "POSTGRES_TARGET_SESSION_ATTRS",
            "connect_timeout" => "POSTGRES_CONNECT_TIMEOUT",
            "application_name" => continue,
            other => return Err(bad(format!("unknown parameter '{other}'"))),
        };
        out.retain(|(k, _)| *k != key);
        out.push((key, v.into_owned()));
    }
    // libpq: `port=` may be a list, one per host.
    if let Some(i) = out.iter().position(|(k, v)| *k == "POSTGRES_PORT" && v.contains(',')) {
        let ports: Vec<String> = out.remove(i).1.split(',').map(str::to_owned).collect();
        if ports.len() != host_list.len() {
            return Err(bad(format!("{} ports for {} hosts", ports.len(), host_list.len())));
        }
        for (h, p) in host_list.iter_mut().zip(ports) {
            *h = format!("{h}:{p}");
        }
    }
    if !host_list.is_empty() {
        out.push(("POSTGRES_HOST", host_list.join(",")));
    }
    Ok(out)
}

/// Builds a [`PgConfig`] in code.
#[derive(Debug, Clone)]
pub struct PgConfigBuilder(PgConfig);

impl PgConfigBuilder {
    /// One host (replaces the list).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        let port = self.0.hosts.first().map_or(5432, |h| h.1);
        self.0.hosts = vec![(host.into(), port)];
        self
    }
    /// The port of every host.
    pub fn port(mut self, port: u16) -> Self {
        for h in &mut self.0.hosts {
            h.1 = port;
        }
        self
    }
    /// Several hosts, tried in order.
    pub fn hosts(mut self, hosts: Vec<(String, u16)>) -> Self {
        self.0.hosts = hosts;
        self
    }
    /// The user.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.0.user = user.into();
        self
    }
    /// The password.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.0.password = Some(password.into());
        self
    }
    /// The database.
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.0.database = database.into();
        self
    }
    /// Forces the workspace of every storage.
    pub fn workspace(mut self, workspace: impl Into<String>) -> Self {
        self.0.workspace = Some(workspace.into());
        self
    }
    /// The pool's maximum size.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.0.max_connections = n.max(1);
        self
    }
    /// The pool's minimum idle size.
    pub fn min_connections(mut self, n: u32) -> Self {
        self.0.min_connections = n;
        self
    }
    /// TLS settings.
    pub fn ssl(mut self, ssl: SslConfig) -> Self {
        self.0.ssl = ssl;
        self
    }
    /// `target_session_attrs`.
    pub fn target_session_attrs(mut self, t: TargetSessionAttrs) -> Self {
        self.0.target_session_attrs = t;
        self
    }
    /// Named prepared statements on (default) or off (PgBouncer transaction mode).
    pub fn prepared_statements(mut self, on: bool) -> Self {
        self.0.prepared_statements = on;
        self
    }
    /// Statement timeout for every connection.
    pub fn statement_timeout(mut self, t: Option<Duration>) -> Self {
        self.0.statement_timeout = t;
        self
    }
    /// Connect timeout.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.0.connect_timeout = t;
        self
    }
    /// How long a caller waits for a pooled connection.
    pub fn pool_timeout(mut self, t: Duration) -> Self {
        self.0.pool_timeout = t;
        self
    }
    /// How long an idle connection is kept before the pool closes it.
    pub fn idle_timeout(mut self, t: Duration) -> Self {
        self.0.idle_timeout = t;
        self
    }
    /// The age after which a connection is replaced.
    pub fn max_lifetime(mut self, t: Duration) -> Self {
        self.0.max_lifetime = t;
        self
    }
    /// Idle time after which a connection is pinged before it is handed out.
    pub fn health_check_after(mut self, t: Duration) -> Self {
        self.0.health_check_after = t;
        self
    }
    /// One more server setting for every connection (`-c key=value`).
    pub fn server_setting(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.server_settings.push((key.into(), value.into()));
        self
    }
    /// Retry policy.
    pub fn retry(mut self, r: RetryPolicy) -> Self {
        self.0.retry = r;
        self
    }
    /// AGE session set-up mode.
    pub fn age_session_init(mut self, m: AgeSessionInit) -> Self {
        self.0.age_session_init = m;
        self
    }
    /// Vector index settings.
    pub fn vector(mut self, v: VectorIndexSettings) -> Self {
        self.0.vector = v;
        self
    }
    /// `POSTGRES_VECTOR_PARTITIONED`: one partition per workspace in new vector tables.
    pub fn vector_partitioned(mut self, on: bool) -> Self {
        self.0.vector_partitioned = on;
        self
    }
    /// `POSTGRES_READ_HOSTS`: the standbys reads go to.
    pub fn read_hosts(mut self, hosts: Vec<(String, u16)>) -> Self {
        self.0.read_hosts = hosts;
        self
    }
    /// `POSTGRES_READ_MAX_LAG`: how far behind a standby may be and still be read.
    pub fn read_max_lag(mut self, lag: Duration) -> Self {
        self.0.read_max_lag = lag;
        self
    }
    /// The configuration.
    pub fn build(self) -> PgConfig {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<PgConfig, Error> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        PgConfig::from_map(&map)
    }

    #[test]
    fn defaults_match_lightrag() {
        let c = from(&[]).unwrap();
        assert_eq!(c.hosts, vec![("localhost".to_owned(), 5432)]);
        assert_eq!((c.user.as_str(), c.database.as_str()), ("postgres", "postgres"));
        assert_eq!(c.max_connections, 50);
        assert_eq!(c.ssl.mode, SslMode::Prefer);
        assert_eq!(c.retry, RetryPolicy::default());
        assert_eq!(c.vector.index_type, "HNSW");
        assert_eq!((c.vector.hnsw_m, c.vector.hnsw_ef_construction, c.vector.ivfflat_lists), (16, 64, 100));
    }

    #[test]
    fn every_variable_is_read() {
        let c = from(&[
            ("POSTGRES_HOST", "db.example"),
            ("POSTGRES_PORT", "6543"),
            ("POSTGRES_USER", "u"),
            ("POSTGRES_PASSWORD", "p"),
            ("POSTGRES_DATABASE", "d"),
            ("POSTGRES_WORKSPACE", "ws"),
            ("POSTGRES_MAX_CONNECTIONS", "7"),
            ("POSTGRES_SSL_MODE", "verify-full"),
            ("POSTGRES_SSL_CERT", "/c.pem"),
            ("POSTGRES_SSL_KEY", "/k.pem"),
            ("POSTGRES_SSL_ROOT_CERT", "/ca.pem"),
            ("POSTGRES_SSL_CRL", "/crl.pem"),
            ("POSTGRES_VECTOR_INDEX_TYPE", "hnsw_halfvec"),
            ("POSTGRES_HNSW_M", "32"),
            ("POSTGRES_HNSW_EF", "200"),
            ("POSTGRES_IVFFLAT_LISTS", "50"),
            ("POSTGRES_SERVER_SETTINGS", "search_path=public&work_mem=64MB"),
            ("POSTGRES_STATEMENT_CACHE_SIZE", "0"),
            ("POSTGRES_CONNECTION_RETRIES", "500"),
            ("POSTGRES_CONNECTION_RETRY_BACKOFF", "1.5"),
            ("POSTGRES_CONNECTION_RETRY_BACKOFF_MAX", "9999"),
            ("POSTGRES_POOL_CLOSE_TIMEOUT", "2"),
            ("POSTGRES_STATEMENT_TIMEOUT", "1500"),
            ("POSTGRES_TARGET_SESSION_ATTRS", "read-write"),
            ("POSTGRES_AGE_SESSION_INIT", "never"),
            ("POSTGRES_AGE_ALLOW_UNSUPPORTED_VERSION", "yes"),
        ])
        .unwrap();
        assert_eq!(c.hosts, vec![("db.example".to_owned(), 6543)]);
        assert_eq!((c.user.as_str(), c.password.as_deref(), c.database.as_str()), ("u", Some("p"), "d"));
        assert_eq!(c.workspace.as_deref(), Some("ws"));
        assert_eq!(c.max_connections, 7);
        assert_eq!(c.ssl.mode, SslMode::VerifyFull);
        assert_eq!(c.ssl.crl.as_deref(), Some(std::path::Path::new("/crl.pem")));
        assert_eq!(c.vector.index_type, "HNSW_HALFVEC");
        assert_eq!((c.vector.hnsw_m, c.vector.hnsw_ef_construction, c.vector.ivfflat_lists), (32, 200, 50));
        assert_eq!(c.server_settings.len(), 2);
        assert!(!c.prepared_statements);
        assert_eq!(c.retry.attempts, 100, "capped at 100 like LightRAG");
        assert_eq!(c.retry.backoff, Duration::from_millis(1500));
        assert_eq!(c.retry.backoff_max, Duration::from_secs(600), "capped at 600");
        assert_eq!(c.pool_close_timeout, Duration::from_secs(2));
        assert_eq!(c.statement_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(c.target_session_attrs, TargetSessionAttrs::ReadWrite);
        assert_eq!(c.age_session_init, AgeSessionInit::Never);
        assert!(c.age_allow_unsupported_version);
    }

    #[test]
    fn config_ini_names_work_in_a_map() {
        let c = from(&[("host", "h"), ("port", "5433"), ("user", "u"), ("server_options", "a=b")]).unwrap();
        assert_eq!(c.hosts, vec![("h".to_owned(), 5433)]);
        assert_eq!(c.server_settings, vec![("a".to_owned(), "b".to_owned())]);
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases = [
            ("POSTGRES_PORT", "abc", "POSTGRES_PORT: invalid port 'abc'"),
            ("POSTGRES_PORT", "0", "POSTGRES_PORT: invalid port '0'"),
            ("POSTGRES_MAX_CONNECTIONS", "-1", "POSTGRES_MAX_CONNECTIONS: invalid connection count '-1'"),
            ("POSTGRES_SSL_MODE", "sometimes", "POSTGRES_SSL_MODE: invalid sslmode 'sometimes'"),
            ("POSTGRES_VECTOR_INDEX_TYPE", "BTREE", "POSTGRES_VECTOR_INDEX_TYPE: invalid index type 'BTREE'"),
            ("POSTGRES_HNSW_M", "x", "POSTGRES_HNSW_M: invalid positive integer 'x'"),
            (
                "POSTGRES_CONNECTION_RETRY_BACKOFF",
                "-2",
                "POSTGRES_CONNECTION_RETRY_BACKOFF: invalid number of seconds '-2'",
            ),
            ("POSTGRES_SERVER_SETTINGS", "novalue", "POSTGRES_SERVER_SETTINGS: invalid setting 'novalue'"),
            ("POSTGRES_WORKSPACE", "a/b", "POSTGRES_WORKSPACE:"),
            (
                "POSTGRES_AGE_ALLOW_UNSUPPORTED_VERSION",
                "perhaps",
                "POSTGRES_AGE_ALLOW_UNSUPPORTED_VERSION: invalid boolean 'perhaps'",
            ),
        ];
        for (key, value, expected) in cases {
            let err = from(&[(key, value)]).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{key}={value}: got {err:?}");
        }
    }

    #[test]
    fn several_hosts_with_ports() {
        let c = from(&[("POSTGRES_HOST", "h1:5432, h2:5433,h3"), ("POSTGRES_PORT", "6000")]).unwrap();
        assert_eq!(c.hosts, vec![("h1".into(), 5432), ("h2".into(), 5433), ("h3".into(), 6000)]);
    }

    #[test]
    fn every_sslmode_row_parses() {
        for (raw, mode) in [
            ("disable", SslMode::Disable),
            ("allow", SslMode::Allow),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::VerifyCa),
            ("VERIFY-FULL", SslMode::VerifyFull),
        ] {
            assert_eq!(raw.parse::<SslMode>().unwrap(), mode);
            assert_eq!(mode.as_str().parse::<SslMode>().unwrap(), mode);
        }
    }

    #[test]
    fn debug_output_redacts_the_password() {
        let c = PgConfig::builder().password("s3cret-pw").build();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("s3cret-pw") && dbg.contains("<redacted>"), "{dbg}");
        assert!(!c.url(false).contains("s3cret-pw"));
    }

    #[test]
    fn database_url_is_parsed() {
        let c = PgConfig::from_url("postgres://u:p%40ss@h:5999/db?sslmode=require").unwrap();
        assert_eq!(c.user, "u");
        assert_eq!(c.password.as_deref(), Some("p@ss"));
        assert_eq!(c.hosts, vec![("h".to_owned(), 5999)]);
        assert_eq!(c.database, "db");
        assert_eq!(c.ssl.mode, SslMode::Require);
        assert!(PgConfig::from_url("mysql://x").is_err());
        assert!(PgConfig::from_url("postgres://h/db?bogus=1").is_err());
    }

    #[test]
    fn a_url_with_an_ipv6_host_keeps_the_address() {
        let c = PgConfig::from_url("postgres://u@[::1]:6432/db").unwrap();
        assert_eq!(c.hosts, vec![("::1".to_owned(), 6432)]);
        assert_eq!(c.primary_host(), "[::1]:6432");
        assert!(c.url(false).contains("@[::1]:6432/"), "{}", c.url(false));
        let bare = PgConfig::from_url("postgresql://[2001:db8::7]/db").unwrap();
        assert_eq!(bare.hosts, vec![("2001:db8::7".to_owned(), 5432)]);
    }

    #[test]
    fn a_url_with_several_hosts_keeps_each_port() {
        let c = PgConfig::from_url("postgres://u:p@db1:5432,db2:5433,[::1]/x").unwrap();
        assert_eq!(c.hosts, vec![("db1".into(), 5432), ("db2".into(), 5433), ("::1".into(), 5432)]);
        assert_eq!(c.database, "x");
    }

    #[test]
    fn a_url_takes_libpq_query_parameters() {
        let c = PgConfig::from_url("postgresql:///?host=/var/run/postgresql&port=6000&dbname=rag&user=me").unwrap();
        assert_eq!(c.hosts, vec![("/var/run/postgresql".to_owned(), 6000)]);
        assert_eq!((c.database.as_str(), c.user.as_str()), ("rag", "me"));
        let many = PgConfig::from_url("postgres://u@/db?host=a,b&port=5001,5002&sslmode=disable").unwrap();
        assert_eq!(many.hosts, vec![("a".into(), 5001), ("b".into(), 5002)]);
        assert_eq!(many.ssl.mode, SslMode::Disable);
        assert!(PgConfig::from_url("postgres://u@/db?host=a,b&port=1,2,3").is_err());
    }

    #[test]
    fn postgres_host_accepts_bracketed_ipv6_with_and_without_port() {
        let c = from(&[("POSTGRES_HOST", "[::1]:6000,[fe80::1],db")]).unwrap();
        assert_eq!(c.hosts, vec![("::1".into(), 6000), ("fe80::1".into(), 5432), ("db".into(), 5432)]);
        assert_eq!(from(&[("POSTGRES_HOST", "::1")]).unwrap().hosts, vec![("::1".to_owned(), 5432)]);
    }

    #[test]
    fn database_url_fills_only_what_the_variables_leave_unset() {
        let s = Sources::from_pairs([
            ("DATABASE_URL", "postgres://url-user:pw@url-host/url-db?port=6000"),
            ("POSTGRES_HOST", "var-host"),
        ]);
        let c = PgConfig::from_sources(&s).unwrap();
        assert_eq!(c.hosts, vec![("var-host".to_owned(), 6000)]);
        assert_eq!((c.user.as_str(), c.database.as_str()), ("url-user", "url-db"));
    }

    #[test]
    fn a_database_url_flag_overrides_the_variables() {
        let s = Sources::from_pairs([("POSTGRES_HOST", "var-host"), ("POSTGRES_VECTOR_INDEX_TYPE", "IVFFLAT")])
            .with_flag("DATABASE_URL", "--database-url", "postgres://u@flag-host/db");
        let c = PgConfig::from_sources(&s).unwrap();
        assert_eq!(c.hosts, vec![("flag-host".to_owned(), 5432)]);
        assert_eq!(c.vector.index_type, "IVFFLAT", "settings the URL does not carry still come from the variables");
    }

    #[test]
    fn config_ini_fills_what_the_environment_leaves_unset() {
        let dir = std::env::temp_dir().join(format!("lightrag-pg-ini-{:08x}", rand::random::<u32>()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.ini"), "[postgres]\nhost = ini-host\nport = 6100\nmax_connections = 9\n")
            .unwrap();
        let mut s = Sources::from_pairs([("POSTGRES_PORT", "6200")]);
        s.read_dir(&dir).unwrap();
        let c = PgConfig::from_sources(&s).unwrap();
        assert_eq!(c.hosts, vec![("ini-host".to_owned(), 6200)]);
        assert_eq!(c.max_connections, 9);
    }

    /// One row per variable: the value to set and what it must do.
    type Effect = fn(&PgConfig) -> bool;
    const EFFECTS: &[(&str, &str, Effect)] = &[
        ("POSTGRES_HOST", "db1:6000,db2", |c| c.hosts == [("db1".to_owned(), 6000), ("db2".to_owned(), 5432)]),
        ("POSTGRES_PORT", "6543", |c| c.hosts == [("localhost".to_owned(), 6543)]),
        ("POSTGRES_USER", "rag", |c| c.user == "rag"),
        ("POSTGRES_PASSWORD", "pw", |c| c.password.as_deref() == Some("pw")),
        ("POSTGRES_DATABASE", "ragdb", |c| c.database == "ragdb"),
        ("POSTGRES_WORKSPACE", "team_a", |c| c.workspace.as_deref() == Some("team_a")),
        ("POSTGRES_MAX_CONNECTIONS", "12", |c| c.max_connections == 12),
        ("POSTGRES_MIN_CONNECTIONS", "3", |c| c.min_connections == 3),
        ("POSTGRES_SSL_MODE", "verify-ca", |c| c.ssl.mode == SslMode::VerifyCa),
        ("POSTGRES_SSL_CERT", "/tls/client.pem", |c| {
            c.ssl.cert.as_deref() == Some(std::path::Path::new("/tls/client.pem"))
        }),
        ("POSTGRES_SSL_KEY", "/tls/client.key", |c| {
            c.ssl.key.as_deref() == Some(std::path::Path::new("/tls/client.key"))
        }),
        ("POSTGRES_SSL_ROOT_CERT", "/tls/ca.pem", |c| {
            c.ssl.root_cert.as_deref() == Some(std::path::Path::new("/tls/ca.pem")) && c.ssl.mode == SslMode::Prefer
        }),
        ("POSTGRES_SSL_CRL", "/tls/crl.pem", |c| c.ssl.crl.as_deref() == Some(std::path::Path::new("/tls/crl.pem"))),
        ("POSTGRES_TARGET_SESSION_ATTRS", "prefer-standby", |c| {
            c.target_session_attrs == TargetSessionAttrs::PreferStandby
        }),
        ("POSTGRES_SERVER_SETTINGS", "work_mem=64MB&lock_timeout=5s", |c| {
            c.server_settings
                == [("work_mem".to_owned(), "64MB".to_owned()), ("lock_timeout".to_owned(), "5s".to_owned())]
        }),
        ("POSTGRES_STATEMENT_CACHE_SIZE", "0", |c| !c.prepared_statements),
        ("POSTGRES_STATEMENT_TIMEOUT", "2500", |c| c.statement_timeout == Some(Duration::from_millis(2500))),
        ("POSTGRES_CONNECT_TIMEOUT", "4", |c| c.connect_timeout == Duration::from_secs(4)),
        ("POSTGRES_POOL_TIMEOUT", "7.5", |c| c.pool_timeout == Duration::from_millis(7500)),
        ("POSTGRES_IDLE_TIMEOUT", "60", |c| c.idle_timeout == Duration::from_secs(60)),
        ("POSTGRES_MAX_LIFETIME", "900", |c| c.max_lifetime == Duration::from_secs(900)),
        ("POSTGRES_HEALTH_CHECK_AFTER", "0", |c| c.health_check_after == Duration::ZERO),
        ("POSTGRES_CONNECTION_RETRIES", "4", |c| c.retry.attempts == 4),
        ("POSTGRES_CONNECTION_RETRY_BACKOFF", "0.25", |c| c.retry.backoff == Duration::from_millis(250)),
        ("POSTGRES_CONNECTION_RETRY_BACKOFF_MAX", "12", |c| c.retry.backoff_max == Duration::from_secs(12)),
        ("POSTGRES_POOL_CLOSE_TIMEOUT", "1", |c| c.pool_close_timeout == Duration::from_secs(1)),
        ("POSTGRES_AGE_SESSION_INIT", "always", |c| c.age_session_init == AgeSessionInit::Always),
        ("POSTGRES_AGE_ALLOW_UNSUPPORTED_VERSION", "true", |c| c.age_allow_unsupported_version),
        ("POSTGRES_VECTOR_INDEX_TYPE", "ivfflat", |c| c.vector.index_type == "IVFFLAT"),
        ("POSTGRES_HNSW_M", "24", |c| c.vector.hnsw_m == 24),
        ("POSTGRES_HNSW_EF", "128", |c| c.vector.hnsw_ef_construction == 128),
        ("POSTGRES_HNSW_EF_SEARCH", "250", |c| c.vector.hnsw_ef_search == 250),
        ("POSTGRES_IVFFLAT_LISTS", "40", |c| c.vector.ivfflat_lists == 40),
        ("POSTGRES_IVFFLAT_PROBES", "8", |c| c.vector.ivfflat_probes == 8),
        ("POSTGRES_UPSERT_MAX_PAYLOAD_BYTES", "1024", |c| c.upsert_max_payload_bytes == 1024),
        ("POSTGRES_UPSERT_MAX_RECORDS_PER_BATCH", "300", |c| c.upsert_batch_rows == 300),
        ("POSTGRES_DELETE_MAX_RECORDS_PER_BATCH", "250", |c| c.delete_batch_rows == 250),
        ("POSTGRES_VECTOR_PARTITIONED", "true", |c| c.vector_partitioned),
        ("POSTGRES_READ_HOSTS", "replica1:6001,replica2", |c| {
            c.read_hosts == [("replica1".to_owned(), 6001), ("replica2".to_owned(), 5432)]
        }),
        ("POSTGRES_READ_MAX_LAG", "0.5", |c| c.read_max_lag == Duration::from_millis(500)),
    ];

    /// Every `POSTGRES_*` name this module reads.
    fn variables_read_by_apply() -> Vec<String> {
        let src = include_str!("config.rs");
        let body = &src[src.find("fn apply(").unwrap()..src.find("/// The first host, for messages.").unwrap()];
        let mut names: Vec<String> = body
            .match_indices("\"POSTGRES_")
            .map(|(i, _)| body[i + 1..].split('"').next().unwrap().to_owned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    #[test]
    fn each_variable_sets_its_field_alone() {
        for (key, value, effect) in EFFECTS {
            let c = from(&[(key, value)]).unwrap_or_else(|e| panic!("{key}={value}: {e}"));
            assert!(effect(&c), "{key}={value} did not take effect: {c:?}");
            let untouched = from(&[]).unwrap();
            assert!(!effect(&untouched), "{key}: the default already satisfies the check, so it proves nothing");
        }
    }

    #[test]
    fn the_published_variable_list_is_what_the_parser_reads() {
        let mut published: Vec<String> = VARIABLES.iter().map(|v| (*v).to_owned()).collect();
        published.sort();
        assert_eq!(published, variables_read_by_apply());
    }

    #[test]
    fn every_variable_read_has_a_unit_test() {
        let tested: Vec<&str> = EFFECTS.iter().map(|(k, _, _)| *k).collect();
        for name in variables_read_by_apply() {
            assert!(tested.contains(&name.as_str()), "{name} is read but has no row in EFFECTS");
        }
    }

    #[test]
    fn every_variable_with_a_format_rejects_a_bad_value_by_name() {
        // Free-form strings (user, password, database, file paths) have no bad value.
        let free = [
            "POSTGRES_USER",
            "POSTGRES_PASSWORD",
            "POSTGRES_DATABASE",
            "POSTGRES_SSL_CERT",
            "POSTGRES_SSL_KEY",
            "POSTGRES_SSL_ROOT_CERT",
            "POSTGRES_SSL_CRL",
        ];
        let bad = [
            ("POSTGRES_HOST", "db:notaport", "POSTGRES_HOST: invalid port 'notaport'"),
            ("POSTGRES_PORT", "70000", "POSTGRES_PORT: invalid port '70000'"),
            ("POSTGRES_WORKSPACE", "a/b", "POSTGRES_WORKSPACE:"),
            ("POSTGRES_MAX_CONNECTIONS", "0", "POSTGRES_MAX_CONNECTIONS: invalid connection count '0'"),
            ("POSTGRES_MIN_CONNECTIONS", "few", "POSTGRES_MIN_CONNECTIONS: invalid connection count 'few'"),
            ("POSTGRES_SSL_MODE", "strict", "POSTGRES_SSL_MODE: invalid sslmode 'strict'"),
            (
                "POSTGRES_TARGET_SESSION_ATTRS",
                "primary-ish",
                "POSTGRES_TARGET_SESSION_ATTRS: invalid target_session_attrs",
            ),
            ("POSTGRES_SERVER_SETTINGS", "=x", "POSTGRES_SERVER_SETTINGS: invalid setting '=x'"),
            ("POSTGRES_STATEMENT_CACHE_SIZE", "-5", "POSTGRES_STATEMENT_CACHE_SIZE: invalid cache size '-5'"),
            ("POSTGRES_STATEMENT_TIMEOUT", "1s", "POSTGRES_STATEMENT_TIMEOUT: invalid number of milliseconds '1s'"),
            ("POSTGRES_CONNECT_TIMEOUT", "soon", "POSTGRES_CONNECT_TIMEOUT: invalid number of seconds 'soon'"),
            ("POSTGRES_POOL_TIMEOUT", "-1", "POSTGRES_POOL_TIMEOUT: invalid number of seconds '-1'"),
            ("POSTGRES_IDLE_TIMEOUT", "NaN", "POSTGRES_IDLE_TIMEOUT: invalid number of seconds 'NaN'"),
            ("POSTGRES_MAX_LIFETIME", "forever", "POSTGRES_MAX_LIFETIME: invalid number of seconds 'forever'"),
            ("POSTGRES_HEALTH_CHECK_AFTER", "-0.5", "POSTGRES_HEALTH_CHECK_AFTER: invalid number of seconds '-0.5'"),
            ("POSTGRES_CONNECTION_RETRIES", "many", "POSTGRES_CONNECTION_RETRIES: invalid retry count 'many'"),
            (
                "POSTGRES_CONNECTION_RETRY_BACKOFF",
                "x",
                "POSTGRES_CONNECTION_RETRY_BACKOFF: invalid number of seconds 'x'",
            ),
            (
                "POSTGRES_CONNECTION_RETRY_BACKOFF_MAX",
                "inf",
                "POSTGRES_CONNECTION_RETRY_BACKOFF_MAX: invalid number of seconds 'inf'",
            ),
            ("POSTGRES_POOL_CLOSE_TIMEOUT", "-3", "POSTGRES_POOL_CLOSE_TIMEOUT: invalid number of seconds '-3'"),
            (
                "POSTGRES_AGE_SESSION_INIT",
                "sometimes",
                "POSTGRES_AGE_SESSION_INIT: invalid AGE session init 'sometimes'",
            ),
            (
                "POSTGRES_AGE_ALLOW_UNSUPPORTED_VERSION",
                "2",
                "POSTGRES_AGE_ALLOW_UNSUPPORTED_VERSION: invalid boolean '2'",
            ),
            ("POSTGRES_VECTOR_INDEX_TYPE", "VCHORDRQ", "POSTGRES_VECTOR_INDEX_TYPE: invalid index type 'VCHORDRQ'"),
            ("POSTGRES_HNSW_M", "0", "POSTGRES_HNSW_M: invalid positive integer '0'"),
            ("POSTGRES_HNSW_EF", "-64", "POSTGRES_HNSW_EF: invalid positive integer '-64'"),
            ("POSTGRES_HNSW_EF_SEARCH", "lots", "POSTGRES_HNSW_EF_SEARCH: invalid positive integer 'lots'"),
            ("POSTGRES_IVFFLAT_LISTS", "1.5", "POSTGRES_IVFFLAT_LISTS: invalid positive integer '1.5'"),
            ("POSTGRES_IVFFLAT_PROBES", "0", "POSTGRES_IVFFLAT_PROBES: invalid positive integer '0'"),
            (
                "POSTGRES_UPSERT_MAX_PAYLOAD_BYTES",
                "16MB",
                "POSTGRES_UPSERT_MAX_PAYLOAD_BYTES: invalid byte count '16MB'",
            ),
            (
                "POSTGRES_UPSERT_MAX_RECORDS_PER_BATCH",
                "-1",
                "POSTGRES_UPSERT_MAX_RECORDS_PER_BATCH: invalid row count '-1'",
            ),
            (
                "POSTGRES_DELETE_MAX_RECORDS_PER_BATCH",
                "all",
                "POSTGRES_DELETE_MAX_RECORDS_PER_BATCH: invalid row count 'all'",
            ),
            ("POSTGRES_VECTOR_PARTITIONED", "maybe", "POSTGRES_VECTOR_PARTITIONED: invalid boolean 'maybe'"),
            ("POSTGRES_READ_HOSTS", "replica:x", "POSTGRES_READ_HOSTS: invalid port 'x'"),
            ("POSTGRES_READ_MAX_LAG", "-1", "POSTGRES_READ_MAX_LAG: invalid number of seconds '-1'"),
        ];
        for (key, value, expected) in bad {
            let err = from(&[(key, value)]).unwrap_err();
            assert!(matches!(&err, Error::Config { key: k, .. } if k == key), "{key}: {err:?}");
            assert!(err.to_string().starts_with(expected), "{key}={value}: got {err}");
        }
        for name in variables_read_by_apply() {
            assert!(
                free.contains(&name.as_str()) || bad.iter().any(|(k, _, _)| *k == name),
                "{name} has no bad-value test"
            );
        }
    }

    #[test]
    fn vector_partitioned_is_an_opt_in_boolean() {
        assert!(!from(&[]).unwrap().vector_partitioned, "off by default, as LightRAG's layout");
        for on in ["1", "true", "YES", "on"] {
            assert!(from(&[("POSTGRES_VECTOR_PARTITIONED", on)]).unwrap().vector_partitioned, "{on}");
        }
        for off in ["0", "false", "no", "off"] {
            assert!(!from(&[("POSTGRES_VECTOR_PARTITIONED", off)]).unwrap().vector_partitioned, "{off}");
        }
        assert!(PgConfig::builder().vector_partitioned(true).build().vector_partitioned);
        let mut map = HashMap::new();
        map.insert("vector_partitioned".to_owned(), "true".to_owned());
        assert!(PgConfig::from_map(&map).unwrap().vector_partitioned, "config.ini name");
    }

    #[test]
    fn read_hosts_take_the_port_of_postgres_port_and_come_from_config_ini_too() {
        let c = from(&[("POSTGRES_PORT", "6543"), ("POSTGRES_READ_HOSTS", "r1, r2:7000")]).unwrap();
        assert_eq!(c.read_hosts, [("r1".to_owned(), 6543), ("r2".to_owned(), 7000)]);
        assert!(from(&[]).unwrap().read_hosts.is_empty(), "no read hosts: everything on the primary");
        let mut map = HashMap::new();
        map.insert("read_hosts".to_owned(), "r3".to_owned());
        map.insert("read_max_lag".to_owned(), "2".to_owned());
        let c = PgConfig::from_map(&map).unwrap();
        assert_eq!((c.read_hosts, c.read_max_lag), (vec![("r3".to_owned(), 5432)], Duration::from_secs(2)));
    }

    #[test]
    fn blank_values_count_as_unset() {
        let c = from(&[("POSTGRES_PORT", "  "), ("POSTGRES_SSL_MODE", ""), ("POSTGRES_MAX_CONNECTIONS", "")]).unwrap();
        assert_eq!(c, from(&[]).unwrap());
    }

    #[test]
    fn caps_follow_lightrag() {
        let c = from(&[
            ("POSTGRES_CONNECTION_RETRIES", "0"),
            ("POSTGRES_CONNECTION_RETRY_BACKOFF", "1000"),
            ("POSTGRES_POOL_CLOSE_TIMEOUT", "99"),
        ])
        .unwrap();
        assert_eq!(c.retry.attempts, 1, "at least one attempt");
        assert_eq!(c.retry.backoff, Duration::from_secs(300));
        assert_eq!(c.pool_close_timeout, Duration::from_secs(30));
    }

    #[test]
    fn the_system_root_store_defaults_to_verify_full_like_libpq() {
        let c = from(&[("POSTGRES_SSL_ROOT_CERT", "system")]).unwrap();
        assert_eq!(c.ssl.mode, SslMode::VerifyFull);
        let c = from(&[("POSTGRES_SSL_ROOT_CERT", "system"), ("POSTGRES_SSL_MODE", "require")]).unwrap();
        assert_eq!(c.ssl.mode, SslMode::Require, "an explicit mode is kept (and refused later by the TLS set-up)");
    }

    #[test]
    fn the_builder_sets_what_it_names() {
        let c = PgConfig::builder()
            .host("h")
            .port(6000)
            .user("u")
            .password("p")
            .database("d")
            .workspace("w")
            .max_connections(0)
            .min_connections(2)
            .prepared_statements(false)
            .statement_timeout(Some(Duration::from_secs(3)))
            .health_check_after(Duration::ZERO)
            .server_setting("work_mem", "8MB")
            .build();
        assert_eq!(c.hosts, vec![("h".to_owned(), 6000)]);
        assert_eq!((c.user.as_str(), c.password.as_deref(), c.database.as_str()), ("u", Some("p"), "d"));
        assert_eq!(c.workspace.as_deref(), Some("w"));
        assert_eq!((c.max_connections, c.min_connections), (1, 2), "a pool has at least one connection");
        assert!(!c.prepared_statements);
        assert_eq!(c.statement_timeout, Some(Duration::from_secs(3)));
        assert_eq!(c.health_check_after, Duration::ZERO);
        assert_eq!(c.server_settings, vec![("work_mem".to_owned(), "8MB".to_owned())]);
    }

    #[test]
    fn backoff_doubles_from_the_first_wait_up_to_the_cap_with_jitter() {
        let r = RetryPolicy { attempts: 10, backoff: Duration::from_secs(1), backoff_max: Duration::from_secs(8) };
        for (k, nominal) in [(1u32, 1.0f64), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (30, 8.0), (u32::MAX, 8.0)] {
            for _ in 0..50 {
                let d = r.delay(k).as_secs_f64();
                assert!(
                    d >= nominal * 0.5 - 1e-9 && d <= nominal + 1e-9,
                    "retry {k}: {d}s not in [{}, {nominal}]",
                    nominal * 0.5
                );
            }
        }
    }

    #[test]
    fn a_cap_below_the_first_wait_means_the_first_wait() {
        // LightRAG: the effective maximum is max(backoff, backoff_max).
        let r = RetryPolicy { attempts: 3, backoff: Duration::from_secs(4), backoff_max: Duration::from_secs(1) };
        for k in 1..6 {
            let d = r.delay(k);
            assert!(d >= Duration::from_secs(2) && d <= Duration::from_secs(4), "{k}: {d:?}");
        }
    }

    #[test]
    fn a_zero_backoff_retries_at_once() {
        let r = RetryPolicy { attempts: 3, backoff: Duration::ZERO, backoff_max: Duration::from_secs(30) };
        assert_eq!(r.delay(1), Duration::ZERO);
        assert_eq!(r.delay(5), Duration::ZERO);
    }

    #[test]
    fn backoff_is_bounded() {
        let r = RetryPolicy { attempts: 5, backoff: Duration::from_secs(1), backoff_max: Duration::from_secs(4) };
        for k in 1..10 {
            let d = r.delay(k);
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_secs(4), "{k}: {d:?}");
        }
    }
}
