//! Reads on streaming standbys: [`Pools`], a write pool and, when
//! `POSTGRES_READ_HOSTS` names standbys, a read pool beside it.
//!
//! # The rules
//!
//! - **Where reads go.** [`Pools::read`] runs a read on a standby of
//!   `POSTGRES_READ_HOSTS` when one is fit to read from, else on the primary:
//!   libpq's `prefer-standby`. Without read hosts every read runs on the
//!   primary, as before. Writes, DDL and LightRAG's LLM cache (the keyword
//!   cache included) always use [`Pools::write`].
//! - **The lag rule.** A standby is read from only while its replay is at most
//!   `POSTGRES_READ_MAX_LAG` (default 5 s) behind the primary. The check runs in
//!   the background at most once per [`CHECK_INTERVAL`] while reads come in:
//!   it notes the primary's flushed WAL position (`pg_current_wal_flush_lsn()`:
//!   every commit acknowledged so far, with `synchronous_commit` on), then polls
//!   the standby's `pg_last_wal_replay_lsn()` until the standby has replayed
//!   that position; the time that took is the replay lag (an upper bound,
//!   within the polling step of [`POLL_STEP`]). A standby still behind after
//!   the bound is *lagging*; one that cannot be reached is *gone*; either way
//!   reads go to the primary until a later check finds it fit again. A check
//!   older than 2 × [`CHECK_INTERVAL`] + `POSTGRES_READ_MAX_LAG` is not gone
//!   by (after a quiet spell, reads go to the primary until a new one
//!   finished). So a read on a standby sees every write committed more than
//!   about 2 × `POSTGRES_READ_MAX_LAG` + 2 × [`CHECK_INTERVAL`] earlier (12 s
//!   with the defaults), and possibly not the ones after.
//! - **Fallback inside the one retry policy.** A read that fails on a standby
//!   with a lost connection (server stopped, connection refused or reset)
//!   marks the standby unusable and fails with
//!   [`Error::StandbyUnavailable`], whose retry class
//!   ([`RetryClass::Reroute`]) makes [`crate::PgPool::retry`] replay it at
//!   once; the replay finds the standby unusable and reads the primary. The
//!   read pool itself retries nothing (`POSTGRES_CONNECTION_RETRIES` is 1 on
//!   it), so no second loop waits on a dead standby.
//! - **Read-your-writes.** A standby may not have replayed what this process
//!   just wrote. So a unit of work that writes and then reads what it wrote
//!   (one `serve` request that inserts into the keyword cache and then looks
//!   the keywords up) reads through [`Pools::after_write`], which is pinned to
//!   the primary; the LLM cache is read on the primary anyway.
//! - **When the primary is gone** the standby keeps serving reads (its lag
//!   cannot be measured then, so it is not held against it): reads stay up
//!   while writes wait for the primary.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lightrag_pg_core::Error;
use lightrag_pg_core::error::RetryClass;
use serde::Serialize;

use crate::config::{PgConfig, TargetSessionAttrs};
use crate::{PgPool, Replay, db_error};

/// How often, at most, a standby's role and lag are checked while reads come in.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The pause between two polls of a standby's replay position during a check.
pub const POLL_STEP: Duration = Duration::from_millis(20);

/// Which server a read ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// The primary, through the write pool.
    Primary,
    /// A standby of `POSTGRES_READ_HOSTS`, through the read pool.
    Standby,
}

/// One host as a check saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostStatus {
    /// The host name or address, as configured.
    pub host: String,
    /// The port.
    pub port: u16,
    /// `write` (`POSTGRES_HOST`) or `read` (`POSTGRES_READ_HOSTS`).
    pub pool: String,
    /// `primary` or `standby` (`pg_is_in_recovery()`); `None` when unreachable.
    pub role: Option<String>,
    /// For a standby: how long it took to replay the primary's WAL position
    /// noted at the start of the check (0 for a primary; `None` when it had not
    /// within `POSTGRES_READ_MAX_LAG`, or when the primary could not be asked).
    pub replay_lag_ms: Option<f64>,
    /// For a standby: `pg_wal_lsn_diff(primary position, pg_last_wal_replay_lsn())`
    /// at the last poll, in bytes.
    pub behind_bytes: Option<f64>,
    /// For a standby: the age of the last transaction it replayed
    /// (`clock_timestamp() - pg_last_xact_replay_timestamp()`); large on an idle
    /// primary, so informative only.
    pub last_replay_age_ms: Option<f64>,
    /// Whether reads may go there: reachable, and a standby within
    /// `POSTGRES_READ_MAX_LAG` (or a primary).
    pub readable: bool,
    /// Why it is unreachable or lagging.
    pub error: Option<String>,
}

/// Reads served by each side since the process started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReadStats {
    /// Reads that succeeded on a standby.
    pub standby: u64,
    /// Reads that succeeded on the primary (with or without read hosts).
    pub primary: u64,
    /// Reads that failed on a standby and were replayed on the primary.
    pub rerouted: u64,
}

impl ReadStats {
    /// The share of successful reads served by a standby (0 without reads).
    pub fn standby_share(&self) -> f64 {
        let total = self.standby + self.primary;
        if total == 0 { 0.0 } else { self.standby as f64 / total as f64 }
    }
}

/// What `/health` and `doctor` show about read routing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicationReport {
    /// `POSTGRES_READ_HOSTS`, as `host:port`.
    pub read_hosts: Vec<String>,
    /// Whether reads currently go to a standby.
    pub standby_in_use: bool,
    /// `POSTGRES_READ_MAX_LAG`, in milliseconds.
    pub max_lag_ms: f64,
    /// How long ago the last check finished (`None`: none yet).
    pub checked_ms_ago: Option<f64>,
    /// Each read host at the last check.
    pub hosts: Vec<HostStatus>,
    /// Reads served by each side.
    pub reads: ReadStats,
}

/// The write pool and, with `POSTGRES_READ_HOSTS`, the read pool; see the
/// module documentation for the rules. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Pools {
    write: PgPool,
    shared: Arc<Shared>,
    /// Reads go to the primary ([`Pools::after_write`]).
    pinned: bool,
}

#[derive(Debug, Default)]
struct Counters {
    standby: AtomicU64,
    primary: AtomicU64,
    rerouted: AtomicU64,
}

#[derive(Debug)]
struct Shared {
    read: Option<ReadSide>,
    counters: Counters,
}

#[derive(Debug)]
struct ReadSide {
    pool: PgPool,
    max_lag: Duration,
    usable: AtomicBool,
    state: Mutex<CheckState>,
}

#[derive(Debug, Default)]
struct CheckState {
    checking: bool,
    checked_at: Option<Instant>,
    hosts: Vec<HostStatus>,
}

/// The read pool's settings: the read hosts with `prefer-standby`, no retry of
/// its own (the write pool's policy replays, on the primary), and no idle
/// connections kept open before the first read.
fn read_config(config: &PgConfig) -> PgConfig {
    let mut c = config.clone();
    c.hosts = config.read_hosts.clone();
    c.read_hosts = Vec::new();
    c.target_session_attrs = TargetSessionAttrs::PreferStandby;
    c.retry.attempts = 1;
    c.min_connections = 0;
    c
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

impl Pools {
    /// Connects the write pool (waiting for it, as [`PgPool::connect`]) and,
    /// with `POSTGRES_READ_HOSTS`, sets up the read pool and checks the
    /// standbys once before returning. A standby that is down or lagging at
    /// start is no error: reads go to the primary until it is fit.
    ///
    /// # Errors
    /// As [`PgPool::connect`], for the write pool.
    pub async fn connect(config: PgConfig) -> Result<Self, Error> {
        Self::with_write_pool(PgPool::connect(config).await?).await
    }

    /// Read routing over an existing write pool, with the read hosts of its
    /// configuration ([`PgConfig::read_hosts`]); checks the standbys once.
    ///
    /// # Errors
    /// [`Error::Tls`] for bad TLS settings of the read pool.
    pub async fn with_write_pool(write: PgPool) -> Result<Self, Error> {
        let config = write.config();
        let read = if config.read_hosts.is_empty() {
            None
        } else {
            Some(ReadSide {
                pool: PgPool::connect_lazy(read_config(config))?,
                max_lag: config.read_max_lag,
                usable: AtomicBool::new(false),
                state: Mutex::default(),
            })
        };
        let pools = Self { write, shared: Arc::new(Shared { read, counters: Counters::default() }), pinned: false };
        if pools.shared.read.is_some() {
            pools.check().await;
        }
        Ok(pools)
    }

    /// Only a write pool: every read on the primary.
    pub fn primary_only(write: PgPool) -> Self {
        Self { write, shared: Arc::new(Shared { read: None, counters: Counters::default() }), pinned: false }
    }

    /// The write pool (the primary): writes, DDL, the LLM cache.
    pub fn write(&self) -> &PgPool {
        &self.write
    }

    /// The read pool, when read hosts are configured.
    pub fn read_pool(&self) -> Option<&PgPool> {
        self.shared.read.as_ref().map(|r| &r.pool)
    }

    /// The pool of `route`.
    pub fn pool(&self, route: Route) -> &PgPool {
        match (route, self.read_pool()) {
            (Route::Standby, Some(p)) => p,
            _ => &self.write,
        }
    }

    /// The same pools with every read pinned to the primary: for a unit of work
    /// (a request) that reads what it has just written. Shares the counters.
    pub fn after_write(&self) -> Self {
        Self { write: self.write.clone(), shared: self.shared.clone(), pinned: true }
    }

    /// Whether reads go to the primary whatever the standbys' state.
    pub fn is_pinned(&self) -> bool {
        self.pinned
    }

    /// Where the next read goes (starting a background check when the last is
    /// older than [`CHECK_INTERVAL`]).
    pub fn route(&self) -> Route {
        let Some(side) = self.shared.read.as_ref().filter(|_| !self.pinned) else { return Route::Primary };
        let fresh = self.maybe_check(side);
        if fresh && side.usable.load(Ordering::Acquire) { Route::Standby } else { Route::Primary }
    }

    /// Runs the read `op` on the route [`Pools::route`] picks, under the write
    /// pool's retry policy ([`PgPool::retry`]). `op` gets the route and its
    /// pool and must check its connection out of that pool. A lost connection
    /// on a standby marks it unusable and replays `op` at once on the primary
    /// ([`Error::StandbyUnavailable`]).
    ///
    /// **Only for reads** (and only idempotent ones, as every retry).
    ///
    /// # Errors
    /// The last error, once it is not retryable or the attempts are spent.
    pub async fn read<T, F, Fut>(&self, what: &str, op: F) -> Result<T, Error>
    where
        F: FnMut(Route, PgPool) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        self.read_with(what, Replay::All, op).await
    }

    /// [`Pools::read`], replaying only what `replay` names: around a storage
    /// call, which retries lost connections and lock conflicts itself, use
    /// [`Replay::Reroutes`] (a standby lost mid-read is replayed on the
    /// primary; nothing else is replayed twice).
    ///
    /// # Errors
    /// The last error, once `replay` does not replay it or the attempts are spent.
    pub async fn read_with<T, F, Fut>(&self, what: &str, replay: Replay, mut op: F) -> Result<T, Error>
    where
        F: FnMut(Route, PgPool) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        self.write
            .retry_with(what, replay, || {
                let route = self.route();
                let fut = op(route, self.pool(route).clone());
                async move {
                    let out = fut.await;
                    let counters = &self.shared.counters;
                    match (route, out) {
                        (Route::Primary, Ok(v)) => {
                            counters.primary.fetch_add(1, Ordering::Relaxed);
                            Ok(v)
                        }
                        (Route::Standby, Ok(v)) => {
                            counters.standby.fetch_add(1, Ordering::Relaxed);
                            Ok(v)
                        }
                        (Route::Primary, Err(e)) => Err(e),
                        (Route::Standby, Err(e)) => Err(self.standby_failed(e)),
                    }
                }
            })
            .await
    }

    /// Turns a lost connection on the standby into [`Error::StandbyUnavailable`]
    /// and stops reading there until a check finds it fit again.
    fn standby_failed(&self, e: Error) -> Error {
        let Some(side) = self.shared.read.as_ref() else { return e };
        if e.retry_class() != Some(RetryClass::ConnectionLoss) {
            return e;
        }
        side.usable.store(false, Ordering::Release);
        if let Ok(mut st) = side.state.lock() {
            st.checked_at = Some(Instant::now());
        }
        self.shared.counters.rerouted.fetch_add(1, Ordering::Relaxed);
        let host = side.pool.config().hosts.iter().map(|(h, p)| host_port(h, *p)).collect::<Vec<_>>().join(",");
        tracing::warn!(standby = %host, error = %e, "standby unavailable: reads go to the primary");
        Error::StandbyUnavailable { host, message: e.to_string(), source: Some(Box::new(e)) }
    }

    /// Reads served by each side so far.
    pub fn stats(&self) -> ReadStats {
        let c = &self.shared.counters;
        ReadStats {
            standby: c.standby.load(Ordering::Relaxed),
            primary: c.primary.load(Ordering::Relaxed),
            rerouted: c.rerouted.load(Ordering::Relaxed),
        }
    }

    /// The routing state as of the last check (starting a new one when it is
    /// older than [`CHECK_INTERVAL`]): for `/health`.
    pub fn replication(&self) -> ReplicationReport {
        let config = self.write.config();
        let mut report = ReplicationReport {
            read_hosts: config.read_hosts.iter().map(|(h, p)| host_port(h, *p)).collect(),
            standby_in_use: false,
            max_lag_ms: config.read_max_lag.as_secs_f64() * 1e3,
            checked_ms_ago: None,
            hosts: Vec::new(),
            reads: self.stats(),
        };
        if let Some(side) = &self.shared.read {
            let fresh = self.maybe_check(side);
            report.standby_in_use = fresh && side.usable.load(Ordering::Acquire);
            if let Ok(st) = side.state.lock() {
                report.checked_ms_ago = st.checked_at.map(|t| t.elapsed().as_secs_f64() * 1e3);
                report.hosts = st.hosts.clone();
            }
        }
        report
    }

    /// Checks the standbys now and waits for the result: whether reads go to a
    /// standby afterwards.
    pub async fn check(&self) -> bool {
        let Some(side) = &self.shared.read else { return false };
        if let Ok(mut st) = side.state.lock() {
            st.checking = true;
        }
        check_side(side, &self.write).await
    }

    /// Starts a background check when the last one is older than
    /// [`CHECK_INTERVAL`] (outside a Tokio runtime: never).
    ///
    /// Returns whether the last finished check is recent enough to go by:
    /// at most [`CHECK_INTERVAL`] + `POSTGRES_READ_MAX_LAG` (one check's
    /// polling) + [`CHECK_INTERVAL`] old. After a quiet spell without reads
    /// the first reads go to the primary until a new check has finished.
    fn maybe_check(&self, side: &ReadSide) -> bool {
        let fresh_for = CHECK_INTERVAL * 2 + side.max_lag;
        let fresh = {
            let Ok(mut st) = side.state.lock() else { return false };
            let age = st.checked_at.map(|t| t.elapsed());
            let fresh = age.is_some_and(|a| a <= fresh_for);
            if st.checking || age.is_some_and(|a| a < CHECK_INTERVAL) {
                return fresh;
            }
            let Ok(runtime) = tokio::runtime::Handle::try_current() else { return fresh };
            st.checking = true;
            (fresh, runtime)
        };
        let (fresh, runtime) = fresh;
        let pools = self.clone();
        runtime.spawn(async move {
            if let Some(side) = &pools.shared.read {
                check_side(side, &pools.write).await;
            }
        });
        fresh
    }
}

impl From<PgPool> for Pools {
    /// [`Pools::primary_only`]: every read on `pool`, whatever its read hosts.
    fn from(pool: PgPool) -> Self {
        Self::primary_only(pool)
    }
}

/// One check of the read hosts: reads may go there when every reachable one is
/// fit and at least one is reachable.
async fn check_side(side: &ReadSide, write: &PgPool) -> bool {
    let hosts = probe_hosts(write, &side.pool.config().hosts, "read", side.max_lag).await;
    let reachable: Vec<&HostStatus> = hosts.iter().filter(|h| h.role.is_some()).collect();
    let usable = !reachable.is_empty() && reachable.iter().all(|h| h.readable);
    let was = side.usable.swap(usable, Ordering::AcqRel);
    if was != usable {
        let why: Vec<String> = hosts.iter().filter_map(|h| h.error.clone()).collect();
        if usable {
            tracing::info!("standby fit to read from again: reads go to the standby");
        } else {
            tracing::warn!(reasons = ?why, "no standby fit to read from: reads go to the primary");
        }
    }
    if let Ok(mut st) = side.state.lock() {
        st.checking = false;
        st.checked_at = Some(Instant::now());
        st.hosts = hosts;
    }
    usable
}

/// The primary's flushed WAL position, from the write pool (`None` when the
/// primary cannot be asked).
async fn primary_lsn(write: &PgPool) -> Option<String> {
    let conn = write.get().await.ok()?;
    let row = conn
        .query_one("SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_flush_lsn()::text END", &[])
        .await
        .ok()?;
    row.get(0)
}

/// Each of `hosts` as seen now: its role and, for a standby, its replay lag
/// against the primary behind `write` (polled for at most `max_lag`). `pool`
/// labels the hosts (`write` or `read`). Connects outside the pools with their
/// credentials.
pub async fn probe_hosts(write: &PgPool, hosts: &[(String, u16)], pool: &str, max_lag: Duration) -> Vec<HostStatus> {
    let mut out = Vec::with_capacity(hosts.len());
    for (host, port) in hosts {
        out.push(probe_host(write, host, *port, pool, max_lag).await);
    }
    out
}

/// Every host of `write`'s configuration: the write hosts (their role) and the
/// read hosts (role and lag): for `doctor`.
pub async fn probe_all(write: &PgPool) -> Vec<HostStatus> {
    let config = write.config();
    let mut out = probe_hosts(write, &config.hosts, "write", config.read_max_lag).await;
    out.extend(probe_hosts(write, &config.read_hosts, "read", config.read_max_lag).await);
    out
}

const PROBE_SQL: &str = "SELECT pg_is_in_recovery(), \
     CASE WHEN pg_is_in_recovery() AND $1::text IS NOT NULL \
          THEN pg_wal_lsn_diff($1::text::pg_lsn, pg_last_wal_replay_lsn())::float8 END, \
     CASE WHEN pg_is_in_recovery() \
          THEN (EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::float8 END";

async fn probe_host(write: &PgPool, host: &str, port: u16, pool: &str, max_lag: Duration) -> HostStatus {
    let mut status = HostStatus {
        host: host.to_owned(),
        port,
        pool: pool.to_owned(),
        role: None,
        replay_lag_ms: None,
        behind_bytes: None,
        last_replay_age_ms: None,
        readable: false,
        error: None,
    };
    let client = match write.connect_to(host, port).await {
        Ok(c) => c,
        Err(e) => {
            status.error = Some(format!("unreachable: {e}"));
            return status;
        }
    };
    let lsn = primary_lsn(write).await;
    let started = Instant::now();
    let mut first = true;
    loop {
        let row = match client.query_one(PROBE_SQL, &[&lsn]).await {
            Ok(r) => r,
            Err(e) => {
                status.role = None;
                status.error = Some(format!("probe failed: {}", db_error(e)));
                return status;
            }
        };
        let standby: bool = row.get(0);
        let behind: Option<f64> = row.get(1);
        status.role = Some(if standby { "standby" } else { "primary" }.to_owned());
        status.behind_bytes = behind;
        status.last_replay_age_ms = row.get(2);
        if !standby {
            status.replay_lag_ms = Some(0.0);
            status.readable = true;
            return status;
        }
        let Some(behind) = behind else {
            // The primary cannot be asked: the standby is all there is to read.
            status.readable = true;
            status.error = Some("the primary is unreachable: replay lag unknown".into());
            return status;
        };
        let elapsed = started.elapsed();
        if behind <= 0.0 {
            status.replay_lag_ms = Some(elapsed.as_secs_f64() * 1e3);
            // Caught up at the first poll: within any bound, 0 included.
            status.readable = first || elapsed <= max_lag;
            if !status.readable {
                status.error = Some(format!("replay lag {elapsed:?} is over POSTGRES_READ_MAX_LAG ({max_lag:?})"));
            }
            return status;
        }
        if elapsed > max_lag {
            status.error = Some(format!(
                "lagging: {behind} bytes behind the primary after {elapsed:?} (POSTGRES_READ_MAX_LAG {max_lag:?})"
            ));
            return status;
        }
        first = false;
        tokio::time::sleep(POLL_STEP).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_pool_prefers_standbys_among_the_read_hosts_and_retries_nothing_itself() {
        let c = PgConfig::builder()
            .host("primary")
            .read_hosts(vec![("r1".into(), 5433), ("r2".into(), 5434)])
            .retry(crate::RetryPolicy { attempts: 7, ..Default::default() })
            .build();
        let r = read_config(&c);
        assert_eq!(r.hosts, c.read_hosts);
        assert_eq!(r.target_session_attrs, TargetSessionAttrs::PreferStandby);
        assert_eq!(r.retry.attempts, 1);
        assert!(r.read_hosts.is_empty());
    }

    #[test]
    fn the_standby_share_counts_successful_reads() {
        assert_eq!(ReadStats::default().standby_share(), 0.0);
        let s = ReadStats { standby: 3, primary: 1, rerouted: 1 };
        assert!((s.standby_share() - 0.75).abs() < 1e-12);
    }

    #[tokio::test]
    async fn without_read_hosts_every_read_goes_to_the_primary() {
        let write = PgPool::connect_lazy(PgConfig::default()).unwrap();
        let pools = Pools::with_write_pool(write).await.unwrap();
        assert!(pools.read_pool().is_none());
        assert_eq!(pools.route(), Route::Primary);
        assert_eq!(pools.after_write().route(), Route::Primary);
        assert!(!pools.replication().standby_in_use);
    }
}
