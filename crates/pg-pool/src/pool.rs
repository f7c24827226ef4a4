//! The connection pool: bb8 over tokio-postgres, one per process, shared by all
//! four storages.
//!
//! Each pooled connection keeps its own prepared-statement cache (named
//! statements are prepared once per connection, then every call is one round
//! trip) and remembers whether AGE's session set-up ran on it.
//!
//! Recovery without a manual step (a server restart, a terminated backend, a
//! network blip):
//!
//! - a connection whose socket closed is never handed out; one that sat idle in
//!   the pool longer than [`PgConfig::health_check_after`] (default 500 ms) is
//!   pinged first (one `Sync` round trip, bounded by a time-out) and replaced when
//!   the ping fails;
//! - a failed connection attempt is reported to the caller at once (bb8 alone
//!   would keep the caller waiting for the whole pool time-out and then report a
//!   time-out without the cause), so [`PgPool::retry`] can back off and try again;
//! - only the broken connection is discarded, never the whole pool;
//! - TCP keepalives are on, so a half-open connection is noticed.

use std::collections::HashMap;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lightrag_pg_core::Error;
use tokio::sync::watch;
use tokio_postgres::{Client, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::config::{AgeSessionInit, PgConfig, SslMode, TargetSessionAttrs};
use crate::error::{db_error, pool_error, shared_db_error};
use crate::retry::Replay;
use crate::tls;

/// A pooled PostgreSQL session.
#[derive(Debug)]
pub struct Conn {
    client: Client,
    /// Prepared statements by SQL text (a std mutex: never held across an await).
    statements: Mutex<HashMap<String, Statement>>,
    age_ready: AtomicBool,
    age_mode: AgeSessionInit,
    prepared: bool,
    /// When the connection was last handed back to the pool (or opened).
    last_used: Mutex<Instant>,
    /// Set when a health check failed: the pool drops the connection.
    broken: AtomicBool,
}

impl Conn {
    fn idle_for(&self) -> Duration {
        self.last_used.lock().map(|t| t.elapsed()).unwrap_or_default()
    }

    fn touch(&self) {
        if let Ok(mut t) = self.last_used.lock() {
            *t = Instant::now();
        }
    }
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
    /// The driver settings for one host. `session_settings` adds `jit=off`, the
    /// statement time-out and `POSTGRES_SERVER_SETTINGS`; without them the session
    /// sees the server's own defaults (the doctor uses that).
    fn driver_config(
        &self,
        host: &str,
        port: u16,
        mode: tokio_postgres::config::SslMode,
        session_settings: bool,
    ) -> tokio_postgres::Config {
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
        if session_settings {
            let mut options = vec!["-c jit=off".to_owned()];
            if let Some(t) = c.statement_timeout {
                options.push(format!("-c statement_timeout={}", t.as_millis()));
            }
            for (k, v) in &c.server_settings {
                options.push(format!("-c {}={}", escape_option(k), escape_option(v)));
            }
            cfg.options(options.join(" "));
        }
        cfg
    }

    async fn connect_host(
        &self,
        host: &str,
        port: u16,
        session_settings: bool,
    ) -> Result<Client, tokio_postgres::Error> {
        let mode = self.config.ssl.mode;
        let first = self.driver_config(host, port, tls::driver_mode(mode), session_settings);
        let result = self.open(&first).await;
        match (result, mode) {
            // libpq's `allow`: plain first; TLS only when the server refuses plain.
            (Err(e), SslMode::Allow) if e.as_db_error().is_some() && self.tls.is_some() => {
                let retry = self.driver_config(host, port, tokio_postgres::config::SslMode::Require, session_settings);
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
        let row = client
            .query_one("SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'", &[])
            .await?;
        let read_only: bool = row.get(0);
        Ok(match want {
            TargetSessionAttrs::ReadWrite => !read_only,
            TargetSessionAttrs::ReadOnly | TargetSessionAttrs::PreferStandby => read_only,
            TargetSessionAttrs::Any => true,
        })
    }

    /// A session outside the pool on the first host that answers, without the
    /// pool's session settings (so `SHOW jit` tells the server's own value).
    pub(crate) async fn connect_unpooled(&self) -> Result<Client, tokio_postgres::Error> {
        let mut last_err = None;
        for (host, port) in &self.config.hosts {
            match self.connect_host(host, *port, false).await {
                Ok(c) => return Ok(c),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.expect("a configuration has at least one host"))
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
            let client = match self.connect_host(host, *port, true).await {
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
                let client = self.connect_host(host, *port, true).await?;
                Err(client
                    .simple_query(
                        "DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '08004', MESSAGE = 'no host matches target_session_attrs'; END $$",
                    )
                    .await
                    .expect_err("the DO block always raises"))
            }
        }
    }

    async fn is_valid(&self, conn: &mut Conn) -> Result<(), tokio_postgres::Error> {
        conn.client.check_connection().await
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed() || conn.broken.load(Ordering::Acquire)
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
            last_used: Mutex::new(Instant::now()),
            broken: AtomicBool::new(false),
        };
        if self.config.age_session_init == AgeSessionInit::Always {
            conn.client.batch_execute(AGE_SESSION_SQL).await?;
            conn.age_ready.store(true, Ordering::Release);
        }
        Ok(conn)
    }
}

/// AGE's session set-up: load the library and put `ag_catalog` on the path so
/// agtype operators resolve. It goes LAST: first, an unqualified `CREATE TABLE`
/// on this pooled connection would create the table inside `ag_catalog`.
const AGE_SESSION_SQL: &str = "LOAD 'age'; SET search_path = \"$user\", public, ag_catalog";

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

impl Drop for PgConn {
    fn drop(&mut self) {
        self.0.touch();
    }
}

impl PgConn {
    /// A prepared statement for `sql`, prepared once per connection and reused by
    /// every later call on it.
    ///
    /// With prepared statements turned off (`POSTGRES_STATEMENT_CACHE_SIZE=0`, for
    /// PgBouncer in transaction mode) nothing is cached: each call prepares a
    /// fresh statement that the server forgets as soon as the returned handle is
    /// dropped, so no named statement outlives the call that made it. Behind
    /// PgBouncer ≥ 1.21 with `max_prepared_statements` > 0 this is all that is
    /// needed (PgBouncer carries protocol-level prepared statements between its
    /// server connections). With an older PgBouncer, prepare and execute inside
    /// one transaction, or use [`tokio_postgres::Client::query_typed`] (one round
    /// trip on the unnamed statement) — see [`PgConn::uses_named_statements`].
    ///
    /// # Errors
    /// The server's parse error, or a broken connection.
    pub async fn prepare_cached(&self, sql: &str) -> Result<Statement, Error> {
        if self.0.prepared
            && let Some(s) = self.0.statements.lock().expect("statement cache").get(sql)
        {
            return Ok(s.clone());
        }
        let stmt = self.0.client.prepare(sql).await.map_err(db_error)?;
        if self.0.prepared {
            self.0.statements.lock().expect("statement cache").insert(sql.to_owned(), stmt.clone());
        }
        Ok(stmt)
    }

    /// Whether named prepared statements may be kept on this connection (`false`
    /// with `POSTGRES_STATEMENT_CACHE_SIZE=0`, the transaction-pooler setting).
    /// Storages that want to be safe behind any PgBouncer prefer
    /// [`tokio_postgres::Client::query_typed`] when this is `false`.
    pub fn uses_named_statements(&self) -> bool {
        self.0.prepared
    }

    /// How many statements this connection has cached.
    pub fn cached_statements(&self) -> usize {
        self.0.statements.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Runs AGE's session set-up (`LOAD 'age'`, `search_path`) once per
    /// connection, unless configured `never` (then only the `search_path`).
    ///
    /// Behind a transaction pooler (prepared statements off) session state does
    /// not stick to a connection, so the set-up runs on every call; run it inside
    /// the transaction that needs it, or preload AGE and use `ag_catalog.`-qualified
    /// names.
    ///
    /// # Errors
    /// [`Error::Graph`] when AGE cannot be loaded (not installed, or `LOAD` not
    /// permitted and not preloaded).
    pub async fn ensure_age(&self) -> Result<(), Error> {
        if self.0.prepared && self.0.age_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let sql = match self.0.age_mode {
            AgeSessionInit::Never => "SET search_path = \"$user\", public, ag_catalog",
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

/// The latest failed connection attempt, for callers waiting on the pool.
#[derive(Debug, Clone)]
struct ConnectErrors(Arc<watch::Sender<Option<Arc<tokio_postgres::Error>>>>);

impl bb8::ErrorSink<tokio_postgres::Error> for ConnectErrors {
    fn sink(&self, error: tokio_postgres::Error) {
        tracing::debug!(error = %error, "opening a pooled connection failed");
        self.0.send_replace(Some(Arc::new(error)));
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<tokio_postgres::Error>> {
        Box::new(self.clone())
    }
}

/// A pool of PostgreSQL connections; cheap to clone (an `Arc` inside).
#[derive(Debug, Clone)]
pub struct PgPool {
    inner: bb8::Pool<Manager>,
    config: Arc<PgConfig>,
    errors: ConnectErrors,
    manager: Manager,
}

impl PgPool {
    /// Builds the pool and waits for a first working connection, retrying
    /// transient failures under the configured [`crate::RetryPolicy`].
    ///
    /// # Errors
    /// [`Error::Tls`] for bad TLS settings or a failed handshake; the last
    /// connection error when every attempt failed; a non-retryable error (wrong
    /// password, missing database) at once.
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
        let errors = ConnectErrors(Arc::new(watch::channel(None).0));
        let inner = bb8::Pool::builder()
            .max_size(config.max_connections)
            .min_idle(Some(config.min_connections.min(config.max_connections)))
            .connection_timeout(config.pool_timeout)
            .idle_timeout(Some(config.idle_timeout))
            .max_lifetime(Some(config.max_lifetime))
            .test_on_check_out(false)
            .retry_connection(false)
            .error_sink(Box::new(errors.clone()))
            .build_unchecked(manager.clone());
        Ok(Self { inner, config, errors, manager })
    }

    /// The configuration.
    pub fn config(&self) -> &PgConfig {
        &self.config
    }

    /// One checkout from bb8, returning at once when a connection attempt made
    /// for it (or for anyone) fails meanwhile.
    async fn checkout(&self) -> Result<bb8::PooledConnection<'static, Manager>, Error> {
        let mut failures = self.errors.0.subscribe();
        tokio::select! {
            biased;
            r = self.inner.get_owned() => r.map_err(|e| pool_error(e, self.config.pool_timeout)),
            Ok(()) = failures.changed() => {
                let e = failures.borrow_and_update().clone().expect("a failure was reported");
                Err(shared_db_error(&e))
            }
        }
    }

    /// Adds what the configuration tells about a connection failure.
    fn explain(&self, e: Error) -> Error {
        let ssl = &self.config.ssl;
        match e {
            Error::Database { sqlstate: Some(code), message, source }
                if code == "28000" && message.contains("no encryption") && ssl.mode == SslMode::Disable =>
            {
                Error::Database {
                    sqlstate: Some(code),
                    message: format!(
                        "{message} — the server accepts only TLS connections from here, and \
                         POSTGRES_SSL_MODE=disable never uses TLS: set POSTGRES_SSL_MODE to prefer, require, \
                         verify-ca or verify-full"
                    ),
                    source,
                }
            }
            Error::Tls { message, source } => {
                let root = match &ssl.root_cert {
                    Some(p) => format!(", root certificate '{}'", p.display()),
                    None => String::new(),
                };
                Error::Tls {
                    message: format!(
                        "{message} (sslmode={}{root}, host {})",
                        ssl.mode.as_str(),
                        self.config.primary_host()
                    ),
                    source,
                }
            }
            other => other,
        }
    }

    /// Checks out a connection. A connection whose socket closed is never handed
    /// out, and one idle for longer than [`PgConfig::health_check_after`] is
    /// pinged first; either is replaced by a fresh one.
    ///
    /// # Errors
    /// [`Error::Timeout`] when none frees up within the pool timeout;
    /// [`Error::Connection`] (retryable) when a new one cannot be opened;
    /// [`Error::Tls`] or [`Error::Database`] (wrong password, missing database)
    /// when the server refuses it.
    pub async fn get(&self) -> Result<PgConn, Error> {
        let started = Instant::now();
        let ping_timeout = self.config.connect_timeout.clamp(Duration::from_millis(100), Duration::from_secs(5));
        loop {
            let conn = self.checkout().await.map_err(|e| self.explain(e))?;
            let healthy = if conn.client.is_closed() {
                false
            } else if conn.idle_for() >= self.config.health_check_after {
                matches!(tokio::time::timeout(ping_timeout, conn.client.check_connection()).await, Ok(Ok(())))
            } else {
                true
            };
            if healthy {
                return Ok(PgConn(conn));
            }
            tracing::debug!("discarding a broken pooled connection");
            conn.broken.store(true, Ordering::Release);
            drop(conn);
            if started.elapsed() > self.config.pool_timeout {
                return Err(Error::Timeout {
                    what: "a live pooled connection".into(),
                    after: self.config.pool_timeout,
                });
            }
        }
    }

    /// Runs an operation, replaying it on retryable failures
    /// ([`Error::retry_class`]), each class with its own back-off (see
    /// [`crate::retry`]): a lost connection (refused, reset or broken, `08…`,
    /// `57P01` admin shutdown, `57P03` cannot connect now, pool time-out) under
    /// the configured [`crate::RetryPolicy`]; a lock conflict (`40P01` deadlock,
    /// `40001` serialization failure) after waits of
    /// milliseconds, [`crate::retry::LOCK_CONFLICT_ATTEMPTS`] times, and a lock
    /// time-out (`55P03`) likewise. A statement
    /// time-out (`57014`), a constraint violation or any other error is returned
    /// at once.
    ///
    /// **Only for idempotent operations.** The whole closure is replayed,
    /// and a broken connection does not tell whether the server committed the
    /// write before it broke: use it for reads, for upserts and deletes that give
    /// the same result when repeated, and for transactions that are all-or-nothing
    /// and idempotent as a whole. Never for a write that is not safe to repeat
    /// (an increment, an append). Each attempt should check out its own
    /// connection (`pool.get()` inside the closure), so a broken one is not
    /// reused.
    ///
    /// # Errors
    /// The last error, once it is not retryable or the attempts are spent.
    pub async fn retry<T, F, Fut>(&self, what: &str, op: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        self.retry_with(what, Replay::All, op).await
    }

    /// [`PgPool::retry`], replaying only the failures `replay` names: a long
    /// operation replays itself as a whole on everything but lock time-outs
    /// ([`Replay::AllButLockTimeouts`]) and its lock steps alone on lock
    /// time-outs ([`Replay::LockTimeouts`]).
    ///
    /// # Errors
    /// The last error, once `replay` does not replay it or the attempts are spent.
    pub async fn retry_with<T, F, Fut>(&self, what: &str, replay: Replay, op: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        crate::retry::run(&self.config.retry, replay, what, op).await
    }

    /// Current pool statistics.
    pub fn stats(&self) -> PoolStats {
        let s = self.inner.state();
        PoolStats { connections: s.connections, idle: s.idle_connections, max_size: self.config.max_connections }
    }

    /// bb8's state with its usage counters, for the doctor.
    pub(crate) fn state(&self) -> bb8::State {
        self.inner.state()
    }

    /// A session outside the pool on one given host (which need not be one of
    /// the pool's), with the pool's credentials and TLS settings but without its
    /// session settings: for probing standbys ([`crate::routing`]).
    pub(crate) async fn connect_to(&self, host: &str, port: u16) -> Result<Client, Error> {
        self.manager.connect_host(host, port, false).await.map_err(|e| self.explain(db_error(e)))
    }

    /// A session outside the pool, without the pool's session settings.
    pub(crate) async fn connect_unpooled(&self) -> Result<Client, Error> {
        self.manager.connect_unpooled().await.map_err(|e| self.explain(db_error(e)))
    }
}
