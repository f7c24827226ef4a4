//! The connection pool: bb8 over tokio-postgres, one per process, shared by all
//! four storages.
//!
//! Each pooled connection keeps its own prepared-statement cache (named
//! statements are prepared once per connection, then every call is one round
//! trip) and remembers whether AGE's session set-up ran on it. Broken
//! connections are evicted at checkout; a server restart is survived by
//! [`PgPool::retry`], which replays idempotent operations with bounded, jittered
//! back-off.

use std::collections::HashMap;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lightrag_pg_core::Error;
use tokio_postgres::{Client, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{AgeSessionInit, PgConfig, SslMode, TargetSessionAttrs};
use crate::error::{db_error, pool_error};
use crate::tls;

/// A pooled PostgreSQL session.
#[derive(Debug)]
pub struct Conn {
    client: Client,
    /// Prepared statements by SQL text (a std mutex: never held across an await).
    statements: std::sync::Mutex<HashMap<String, Statement>>,
    age_ready: AtomicBool,
    age_mode: AgeSessionInit,
    prepared: bool,
}

/// Opens sessions for bb8.
#[derive(Clone)]
pub struct Manager {
    config: Arc<PgConfig>,
    tls: Option<MakeRustlsConnect>,
}

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager").field("config", &self.config).field("tls", &self.tls.is_some()).finish()
    }
}

fn escape_option(v: &str) -> String {
    v.replace('\\', "\\\\").replace(' ', "\\ ")
}

impl Manager {
    fn driver_config(&self, host: &str, port: u16, mode: tokio_postgres::config::SslMode) -> tokio_postgres::Config {
        let c = &self.config;
        let mut cfg = tokio_postgres::Config::new();
        cfg.host(host)
            .port(port)
            .user(&c.user)
            .dbname(&c.database)
            .application_name("lightrag")
            .connect_timeout(c.connect_timeout)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .ssl_mode(mode);
        if let Some(p) = &c.password {
            cfg.password(p);
        }
        let mut options = vec!["-c jit=off".to_owned()];
        if let Some(t) = c.statement_timeout {
            options.push(format!("-c statement_timeout={}", t.as_millis()));
        }
        for (k, v) in &c.server_settings {
            options.push(format!("-c {}={}", escape_option(k), escape_option(v)));
        }
        cfg.options(options.join(" "));
        cfg
    }

    async fn connect_host(&self, host: &str, port: u16) -> Result<Client, tokio_postgres::Error> {
        let mode = self.config.ssl.mode;
        let first = self.driver_config(host, port, tls::driver_mode(mode));
        let result = self.open(&first).await;
        match (result, mode) {
            // libpq's `allow`: plain first; TLS only when the server refuses plain.
            (Err(e), SslMode::Allow) if e.as_db_error().is_some() && self.tls.is_some() => {
                let retry = self.driver_config(host, port, tokio_postgres::config::SslMode::Require);
                self.open(&retry).await
            }
            (r, _) => r,
        }
    }

    async fn open(&self, cfg: &tokio_postgres::Config) -> Result<Client, tokio_postgres::Error> {
        match &self.tls {
            Some(tls) if !matches!(cfg.get_ssl_mode(), tokio_postgres::config::SslMode::Disable) => {
                let (client, conn) = cfg.connect(tls.clone()).await?;
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "postgres connection closed");
                    }
                });
                Ok(client)
            }
            _ => {
                let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "postgres connection closed");
                    }
                });
                Ok(client)
            }
        }
    }

    /// Whether a session matches `target_session_attrs`.
    async fn matches(&self, client: &Client, want: TargetSessionAttrs) -> Result<bool, tokio_postgres::Error> {
        if want == TargetSessionAttrs::Any {
            return Ok(true);
        }
        let row = client.query_one("SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'", &[]).await?;
        let read_only: bool = row.get(0);
        Ok(match want {
            TargetSessionAttrs::ReadWrite => !read_only,
            TargetSessionAttrs::ReadOnly | TargetSessionAttrs::PreferStandby => read_only,
            TargetSessionAttrs::Any => true,
        })
    }
}

impl bb8::ManageConnection for Manager {
    type Connection = Conn;
    type Error = tokio_postgres::Error;

    async fn connect(&self) -> Result<Conn, tokio_postgres::Error> {
        let want = self.config.target_session_attrs;
        let mut last_err = None;
        let mut fallback = None;
        for (host, port) in &self.config.hosts {
            let client = match self.connect_host(host, *port).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(host = %host, port, error = %e, "host refused");
                    last_err = Some(e);
                    continue;
                }
            };
            if self.matches(&client, want).await? {
                return self.finish(client).await;
            }
            if want == TargetSessionAttrs::PreferStandby && fallback.is_none() {
                fallback = Some(client);
            }
        }
        if let Some(client) = fallback {
            return self.finish(client).await;
        }
        match last_err {
            Some(e) => Err(e),
            // Every host answered but none matched: report it as the server would.
            None => {
                let (host, port) = &self.config.hosts[0];
                let client = self.connect_host(host, *port).await?;
                Err(client
                    .simple_query("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '08004', MESSAGE = 'no host matches target_session_attrs'; END $$")
                    .await
                    .expect_err("the DO block always raises"))
            }
        }
    }

    async fn is_valid(&self, conn: &mut Conn) -> Result<(), tokio_postgres::Error> {
        conn.client.simple_query("").await.map(|_| ())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}

impl Manager {
    async fn finish(&self, client: Client) -> Result<Conn, tokio_postgres::Error> {
        let conn = Conn {
            client,
            statements: Default::default(),
            age_ready: AtomicBool::new(false),
            age_mode: self.config.age_session_init,
            prepared: self.config.prepared_statements,
        };
        if self.config.age_session_init == AgeSessionInit::Always {
            conn.client.batch_execute(AGE_SESSION_SQL).await?;
            conn.age_ready.store(true, Ordering::Release);
        }
        Ok(conn)
    }
}

/// AGE's session set-up: load the library and put `ag_catalog` on the path so
/// agtype operators resolve.
const AGE_SESSION_SQL: &str = "LOAD 'age'; SET search_path = ag_catalog, \"$user\", public";

impl Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// A connection checked out of a [`PgPool`]; returned to the pool on drop.
/// Derefs to [`tokio_postgres::Client`].
#[derive(Debug)]
pub struct PgConn(bb8::PooledConnection<'static, Manager>);

impl Deref for PgConn {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.0.client
    }
}

impl DerefMut for PgConn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.0.client
    }
}

impl PgConn {
    /// A prepared statement for `sql`, prepared once per connection. With prepared
    /// statements turned off (PgBouncer), a fresh statement each time.
    ///
    /// # Errors
    /// The server's parse error, or a broken connection.
    pub async fn prepare_cached(&self, sql: &str) -> Result<Statement, Error> {
        if self.0.prepared {
            if let Some(s) = self.0.statements.lock().expect("statement cache").get(sql) {
                return Ok(s.clone());
            }
        }
        let stmt = self.0.client.prepare(sql).await.map_err(db_error)?;
        if self.0.prepared {
            self.0.statements.lock().expect("statement cache").insert(sql.to_owned(), stmt.clone());
        }
        Ok(stmt)
    }

    /// Runs AGE's session set-up (`LOAD 'age'`, `search_path`) once per
    /// connection, unless configured `never`.
    ///
    /// # Errors
    /// [`Error::Graph`] when AGE cannot be loaded (not installed, or `LOAD` not
    /// permitted and not preloaded).
    pub async fn ensure_age(&self) -> Result<(), Error> {
        if self.0.age_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let sql = match self.0.age_mode {
            AgeSessionInit::Never => "SET search_path = ag_catalog, \"$user\", public",
            _ => AGE_SESSION_SQL,
        };
        self.0.client.batch_execute(sql).await.map_err(|e| Error::Graph {
            message: "cannot set up Apache AGE on this connection (is the extension installed and loadable?)".into(),
            source: Some(Box::new(db_error(e))),
        })?;
        self.0.age_ready.store(true, Ordering::Release);
        Ok(())
    }

    /// Forgets cached statements and type OIDs (after DDL that changes types,
    /// such as re-creating an extension).
    pub fn clear_caches(&self) {
        self.0.statements.lock().expect("statement cache").clear();
        self.0.client.clear_type_cache();
    }
}

/// Pool statistics for the doctor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PoolStats {
    /// Open connections.
    pub connections: u32,
    /// Idle connections.
    pub idle: u32,
    /// The maximum size.
    pub max_size: u32,
}

/// A pool of PostgreSQL connections; cheap to clone (an `Arc` inside).
#[derive(Debug, Clone)]
pub struct PgPool {
    inner: bb8::Pool<Manager>,
    config: Arc<PgConfig>,
}

impl PgPool {
    /// Builds the pool and waits for a first working connection, retrying
    /// transient failures under the configured [`crate::RetryPolicy`].
    ///
    /// # Errors
    /// [`Error::Tls`] for bad TLS settings; the last connection error when every
    /// attempt failed.
    pub async fn connect(config: PgConfig) -> Result<Self, Error> {
        let pool = Self::connect_lazy(config)?;
        pool.retry("connect", || async { pool.get().await.map(|_| ()) }).await?;
        Ok(pool)
    }

    /// Builds the pool without connecting; the first [`PgPool::get`] connects.
    ///
    /// # Errors
    /// [`Error::Tls`] for bad TLS settings.
    pub fn connect_lazy(config: PgConfig) -> Result<Self, Error> {
        let tls = tls::client_config(&config.ssl)?.map(MakeRustlsConnect::new);
        let config = Arc::new(config);
        let manager = Manager { config: config.clone(), tls };
        let inner = bb8::Pool::builder()
            .max_size(config.max_connections)
            .min_idle(Some(config.min_connections.min(config.max_connections)))
            .connection_timeout(config.pool_timeout)
            .idle_timeout(Some(config.idle_timeout))
            .max_lifetime(Some(config.max_lifetime))
            .test_on_check_out(false)
            .retry_connection(false)
            .build_unchecked(manager);
        Ok(Self { inner, config })
    }

    /// The configuration.
    pub fn config(&self) -> &PgConfig {
        &self.config
    }

    /// Checks out a connection. Broken connections are never handed out.
    ///
    /// # Errors
    /// [`Error::Timeout`] when none frees up within the pool timeout;
    /// [`Error::Connection`] when a new one cannot be opened.
    pub async fn get(&self) -> Result<PgConn, Error> {
        let started = Instant::now();
        loop {
            let conn = self.inner.get_owned().await.map_err(|e| pool_error(e, self.config.pool_timeout))?;
            if !conn.client.is_closed() {
                return Ok(PgConn(conn));
            }
            if started.elapsed() > self.config.pool_timeout {
                return Err(Error::Timeout { what: "a live pooled connection".into(), after: self.config.pool_timeout });
            }
        }
    }

    /// Runs an **idempotent** operation, replaying it on retryable failures
    /// (broken connection, server shutdown, serialization failure, deadlock) with
    /// bounded exponential back-off and jitter. Never use it for a write that is
    /// not safe to repeat.
    ///
    /// # Errors
    /// The last error, once it is not retryable or the attempts are spent.
    pub async fn retry<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let policy = self.config.retry;
        let mut attempt = 1;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() && attempt < policy.attempts => {
                    let wait = policy.delay(attempt);
                    tracing::warn!(operation = what, attempt, error = %e, wait_ms = wait.as_millis() as u64, "retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Current pool statistics.
    pub fn stats(&self) -> PoolStats {
        let s = self.inner.state();
        PoolStats { connections: s.connections, idle: s.idle_connections, max_size: self.config.max_connections }
    }
}
