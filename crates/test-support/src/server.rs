//! Throwaway PostgreSQL 17 servers run from the sandbox root, for the tests
//! that need a server of their own (restarts, failover, TLS, init scripts):
//! never the shared test server.
//!
//! The sandbox root is a Debian root with PostgreSQL 17 at
//! `/usr/lib/postgresql/17/bin` (pgvector, AGE, PgBouncer) and `/dev` and
//! `/proc` mounted inside; `cargo xtask pg up` prepares it at
//! `target/pg-sandbox/rootfs`, `LIGHTRAG_PG_SANDBOX_ROOT` points elsewhere.
//! Every command runs as `postgres` through `chroot <root> su postgres`. Each
//! server has its own data directory `/var/lib/lightrag-pg/<prefix>-<random>`
//! (also its Unix socket directory) and scratch directory `/tmp/<prefix>-<random>`
//! inside the root, its own loopback port, and is stopped and deleted on drop.
//!
//! Without a usable root (or without the privilege to chroot) the tests FAIL
//! with a message that says so; they never skip.
//!
//! ```no_run
//! use lightrag_pg_test_support::server::{PgServer, StopMode};
//!
//! let server = PgServer::builder("example")
//!     .conf("fsync = off\nshared_buffers = 16MB\n")
//!     .start();
//! assert_eq!(server.psql("SELECT 1").trim(), "1");
//! server.stop(StopMode::Fast);
//! server.start_no_wait();
//! ```

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use lightrag_pg_pool::{PgConfig, tokio_postgres};

/// Where PostgreSQL's programs are inside the root.
pub const BIN: &str = "/usr/lib/postgresql/17/bin";

/// The sandbox root as configured, not checked: `LIGHTRAG_PG_SANDBOX_ROOT`
/// when set and not empty, else `target/pg-sandbox/rootfs` of this workspace.
pub fn sandbox_root_path() -> PathBuf {
    std::env::var_os("LIGHTRAG_PG_SANDBOX_ROOT")
        .filter(|r| !r.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pg-sandbox/rootfs"))
}

/// The sandbox root ([`sandbox_root_path`]), checked: PostgreSQL 17 and a
/// mounted `/proc` inside.
///
/// # Panics
/// When the root is not usable; the message names the path and
/// `cargo xtask pg up`. Tests that need it fail, they never skip.
pub fn sandbox_root() -> PathBuf {
    let root = sandbox_root_path();
    if !root.join("usr/lib/postgresql/17/bin/postgres").exists() || !root.join("proc/self").exists() {
        panic!(
            "this test starts its own PostgreSQL server and cannot run here: no usable sandbox root at {} \
             (it needs PostgreSQL 17 at /usr/lib/postgresql/17/bin with pgvector and AGE, and /dev and /proc \
             mounted inside; `cargo xtask pg up` prepares target/pg-sandbox/rootfs, or set LIGHTRAG_PG_SANDBOX_ROOT)",
            root.display()
        );
    }
    root
}

/// The postgres user's uid and gid inside the root.
fn postgres_ids(root: &Path) -> (u32, u32) {
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).expect("etc/passwd in the sandbox root");
    let line = passwd.lines().find(|l| l.starts_with("postgres:")).expect("a postgres user in the sandbox root");
    let f: Vec<&str> = line.split(':').collect();
    (f[2].parse().expect("uid"), f[3].parse().expect("gid"))
}

/// Runs `cmd` with `sh -c` as postgres inside the root; its output, whatever
/// the exit status.
fn as_postgres_output(root: &Path, cmd: &str) -> Output {
    Command::new("chroot")
        .arg(root)
        .args(["su", "postgres", "-s", "/bin/sh", "-c", cmd])
        .output()
        .unwrap_or_else(|e| panic!("cannot run chroot (are we root, with chroot on PATH?): {e}"))
}

/// Runs `cmd` as postgres inside the root; its stdout, or a panic with the output.
fn as_postgres(root: &Path, cmd: &str) -> String {
    let out = as_postgres_output(root, cmd);
    if !out.status.success() {
        panic!(
            "`{cmd}` failed in the sandbox root ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A free loopback port above the kernel's ephemeral range
/// (`ip_local_port_range`, 32768–60999 by default), probed by binding it. A
/// port inside that range can be taken at any moment by one of the tests' own
/// client sockets (or held in TIME_WAIT after it), and a server or docker's
/// proxy binding it later fails with "address already in use".
///
/// # Panics
/// When 500 random probes found none.
pub fn free_port() -> u16 {
    let hi = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|h| h.parse::<u16>().ok()))
        .unwrap_or(60_999)
        .min(64_000);
    for _ in 0..500 {
        let port = hi + 1 + rand::random::<u16>() % (65_535 - hi);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port above the ephemeral range (ending at {hi})");
}

/// Creates `dir` owned by `uid:gid` with mode 0700.
fn private_dir(dir: &Path, (uid, gid): (u32, u32)) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    std::os::unix::fs::chown(dir, Some(uid), Some(gid)).unwrap_or_else(|e| panic!("chown {}: {e}", dir.display()));
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", dir.display()));
}

/// Writes `contents` to `path` owned by `uid:gid` with `mode`.
fn owned_file(path: &Path, contents: &str, mode: u32, (uid, gid): (u32, u32)) {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// TLS material for the server: written into its data directory as
/// `server.crt`, `server.key` and `root.crt`, with `ssl = on`.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The server's certificate (PEM).
    pub cert_pem: String,
    /// The server's key (PEM).
    pub key_pem: String,
    /// The CA for client certificates (`ssl_ca_file`).
    pub client_ca_pem: String,
}

/// How `pg_ctl stop` ends the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// `-m fast`: sessions are terminated (`57P01`), then a checkpoint.
    Fast,
    /// `-m immediate`: every process dies at once, no checkpoint; recovery at
    /// the next start.
    Immediate,
}

impl StopMode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Fast => "fast",
            Self::Immediate => "immediate",
        }
    }
}

/// The primary a standby is copied from.
#[derive(Debug, Clone)]
struct Primary {
    data: String,
    port: u16,
    password: String,
}

/// How a [`PgServer`] is made: [`PgServer::builder`], then
/// [`start`](Self::start) (or [`init`](Self::init) to add files first).
#[derive(Debug)]
#[must_use = "a builder does nothing until `start` or `init`"]
pub struct PgServerBuilder {
    root: PathBuf,
    name: String,
    conf: String,
    hba: Option<String>,
    tls: Option<ServerTls>,
    primary: Option<Primary>,
}

impl PgServerBuilder {
    /// The server's name, `<prefix>-<random>`: its directories are named after it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The scratch directory as seen inside the root (`/tmp/<name>`), known
    /// before the server exists so that configuration lines can name it.
    pub fn scratch(&self) -> String {
        format!("/tmp/{}", self.name)
    }

    /// Lines appended to `postgresql.conf`, after initdb's (or the primary's)
    /// and in call order; the last setting of a name wins. `port` and
    /// `unix_socket_directories` are always set after them.
    pub fn conf(mut self, lines: &str) -> Self {
        self.conf.push_str(lines);
        if !self.conf.ends_with('\n') {
            self.conf.push('\n');
        }
        self
    }

    /// The whole `pg_hba.conf`. Without it the server keeps initdb's (`trust`
    /// over the socket, `scram-sha-256` over TCP) or, for a standby, its
    /// primary's.
    pub fn hba(mut self, text: &str) -> Self {
        self.hba = Some(text.to_owned());
        self
    }

    /// Serves TLS with this material (`ssl = on`); which connections must use
    /// it is up to [`hba`](Self::hba) (`hostssl` lines).
    pub fn tls(mut self, tls: ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Makes a streaming standby of `primary` (`pg_basebackup -R -X stream`)
    /// instead of running initdb: same password, the primary's configuration
    /// and `pg_hba.conf` unless changed here.
    pub fn standby_of(mut self, primary: &PgServer) -> Self {
        self.primary =
            Some(Primary { data: primary.data.clone(), port: primary.port, password: primary.password.clone() });
        self
    }

    /// Creates and configures the server without starting it; [`PgServer::start`]
    /// starts it.
    ///
    /// # Panics
    /// When a step fails; the message carries the command's output.
    pub fn init(self) -> PgServer {
        let ids = postgres_ids(&self.root);
        let data = format!("/var/lib/lightrag-pg/{}", self.name);
        let scratch = self.scratch();
        let server = PgServer {
            host_dir: self.root.join(data.trim_start_matches('/')),
            host_scratch: self.root.join(scratch.trim_start_matches('/')),
            client_dir: std::env::temp_dir().join(format!("lightrag-pg-{}", self.name)),
            root: self.root,
            name: self.name,
            data,
            scratch,
            port: free_port(),
            password: self.primary.as_ref().map_or_else(|| format!("pw-{}", crate::suffix()), |p| p.password.clone()),
        };
        // From here on a panic drops `server`, which deletes what was made.
        private_dir(&server.host_dir, ids);
        private_dir(&server.host_scratch, ids);
        if let Some(primary) = &self.primary {
            as_postgres(
                &server.root,
                &format!(
                    "{BIN}/pg_basebackup -D {} -h {} -p {} -U postgres -R -X stream -c fast >/dev/null",
                    server.data, primary.data, primary.port
                ),
            );
            // The primary's log came along with its data directory.
            let _ = std::fs::remove_file(server.host_dir.join("server.log"));
        } else {
            let host_pwfile = server.host_scratch.join("pw");
            owned_file(&host_pwfile, &server.password, 0o600, ids);
            as_postgres(
                &server.root,
                &format!(
                    "{BIN}/initdb -D {} -U postgres --pwfile={}/pw --auth-local=trust --auth-host=scram-sha-256 \
                     -N -E UTF8 --locale=C.UTF-8 >/dev/null",
                    server.data, server.scratch
                ),
            );
            let _ = std::fs::remove_file(&host_pwfile);
        }
        let mut conf = format!("\n# lightrag-pg test server {}\n{}", server.name, self.conf);
        if let Some(tls) = &self.tls {
            owned_file(&server.host_dir.join("server.crt"), &tls.cert_pem, 0o644, ids);
            owned_file(&server.host_dir.join("server.key"), &tls.key_pem, 0o600, ids);
            owned_file(&server.host_dir.join("root.crt"), &tls.client_ca_pem, 0o644, ids);
            conf.push_str(
                "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'root.crt'\n",
            );
        }
        conf.push_str(&format!("port = {}\nunix_socket_directories = '{}'\n", server.port, server.data));
        server.append_conf(&conf);
        if let Some(hba) = &self.hba {
            std::fs::write(server.host_dir.join("pg_hba.conf"), hba).expect("write pg_hba.conf");
        }
        server
    }

    /// [`init`](Self::init), then start, waiting until the server accepts
    /// connections.
    ///
    /// # Panics
    /// When a step fails; the message carries the command's output.
    pub fn start(self) -> PgServer {
        let server = self.init();
        server.start();
        server
    }
}

/// A throwaway server from the sandbox root, superuser `postgres` with a random
/// password; stopped (`-m immediate`) and deleted on drop.
#[derive(Debug)]
pub struct PgServer {
    root: PathBuf,
    name: String,
    /// The data directory as seen inside the root (also the socket directory).
    data: String,
    /// The same directory on the host.
    host_dir: PathBuf,
    /// The scratch directory as seen inside the root.
    scratch: String,
    /// The same directory on the host.
    host_scratch: PathBuf,
    /// Client-side files on the host (made on first use).
    client_dir: PathBuf,
    port: u16,
    password: String,
}

impl PgServer {
    /// A builder for a server named `<prefix>-<random>`.
    ///
    /// # Panics
    /// When there is no usable sandbox root ([`sandbox_root`]).
    pub fn builder(prefix: &str) -> PgServerBuilder {
        PgServerBuilder {
            root: sandbox_root(),
            name: format!("{prefix}-{}", crate::suffix()),
            conf: String::new(),
            hba: None,
            tls: None,
            primary: None,
        }
    }

    /// The name, `<prefix>-<random>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The password of user `postgres`.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The data directory as seen inside the root; also the Unix socket
    /// directory.
    pub fn data_dir(&self) -> &str {
        &self.data
    }

    /// The scratch directory as seen inside the root, owned by postgres:
    /// for files the server or [`sh`](Self::sh) commands read or write.
    pub fn scratch(&self) -> &str {
        &self.scratch
    }

    /// The scratch directory on the host.
    pub fn host_scratch(&self) -> &Path {
        &self.host_scratch
    }

    /// Appends `text` to `postgresql.conf` (read at the next start or reload).
    ///
    /// # Panics
    /// When the file cannot be read or written.
    pub fn append_conf(&self, text: &str) {
        let path = self.host_dir.join("postgresql.conf");
        let mut conf = std::fs::read_to_string(&path).expect("postgresql.conf");
        conf.push_str(text);
        std::fs::write(&path, conf).expect("write postgresql.conf");
    }

    fn pg_ctl(&self, args: &str) -> String {
        as_postgres(&self.root, &format!("{BIN}/pg_ctl -D {0} -l {0}/server.log {args}", self.data))
    }

    /// Starts the server, waiting (up to 60 s) until it accepts connections.
    ///
    /// # Panics
    /// When `pg_ctl start` fails; see [`log`](Self::log).
    pub fn start(&self) {
        self.pg_ctl("-w -t 60 start");
    }

    /// Starts the server without waiting for it to accept connections.
    ///
    /// # Panics
    /// When `pg_ctl start` fails.
    pub fn start_no_wait(&self) {
        self.pg_ctl("-W start");
    }

    /// `pg_ctl stop -m <mode>`, waiting (up to 60 s) until the server is down.
    ///
    /// # Panics
    /// When `pg_ctl stop` fails.
    pub fn stop(&self, mode: StopMode) {
        self.pg_ctl(&format!("-w -t 60 -m {} stop", mode.as_str()));
    }

    /// `pg_ctl promote`, waiting (up to 60 s) until the standby accepts writes.
    ///
    /// # Panics
    /// When `pg_ctl promote` fails.
    pub fn promote(&self) {
        self.pg_ctl("-w -t 60 promote");
    }

    /// The server log so far (empty when there is none yet).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.host_dir.join("server.log")).unwrap_or_default()
    }

    /// The libpq environment (`PGHOST=… PGPORT=… PGUSER=postgres PGPASSWORD=…`)
    /// that reaches this server as the superuser over its Unix socket, for
    /// shell commands inside the root.
    pub fn pgenv(&self) -> String {
        format!("PGHOST={} PGPORT={} PGUSER=postgres PGPASSWORD={}", self.data, self.port, self.password)
    }

    /// Runs SQL as postgres in database `db` with psql (`-X -q -t -A`,
    /// `ON_ERROR_STOP`); the unaligned tuples.
    ///
    /// # Panics
    /// When psql fails; the message carries its output.
    pub fn psql_in(&self, db: &str, sql: &str) -> String {
        let quoted = sql.replace('\'', "'\\''");
        as_postgres(
            &self.root,
            &format!("{} {BIN}/psql -X -q -t -A -v ON_ERROR_STOP=1 -d {db} -c '{quoted}'", self.pgenv()),
        )
    }

    /// [`psql_in`](Self::psql_in) database `postgres`.
    ///
    /// # Panics
    /// When psql fails.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in("postgres", sql)
    }

    /// Runs a shell command as postgres inside the root, with `env` (`K=V …`,
    /// may be empty) after the server's [`pgenv`](Self::pgenv) and `PATH`
    /// holding PostgreSQL's programs; its output, whatever the exit status.
    pub fn sh(&self, env: &str, cmd: &str) -> Output {
        as_postgres_output(&self.root, &format!("export PATH={BIN}:/usr/bin:/bin {} {env}; {cmd}", self.pgenv()))
    }

    /// Writes a client-side file (mode 0600) into this server's directory on
    /// the host, deleted on drop, and returns its path: CA certificates, client
    /// keys, CRLs.
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn client_file(&self, name: &str, contents: &str) -> PathBuf {
        std::fs::create_dir_all(&self.client_dir).expect("client file directory");
        let path = self.client_dir.join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod client file");
        path
    }

    /// Settings for user `postgres` in database `postgres` on `127.0.0.1`,
    /// everything else at [`PgConfig`]'s defaults: callers set their time-outs,
    /// retry policy and TLS.
    pub fn config(&self) -> PgConfig {
        PgConfig::builder()
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .password(self.password.clone())
            .database("postgres")
            .build()
    }

    /// A plain (unpooled, no TLS) client as `postgres` on `127.0.0.1`, with a
    /// 1 s connect time-out; its connection task runs on the current runtime.
    ///
    /// # Errors
    /// The connection error.
    pub async fn client(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host("127.0.0.1").port(self.port).user("postgres").password(&self.password).dbname("postgres");
        cfg.connect_timeout(Duration::from_secs(1));
        let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        Ok(client)
    }

    /// Polls every 10 ms with plain connections until one runs `SELECT 1`;
    /// the instant it did.
    ///
    /// # Panics
    /// When none did within `within`.
    pub async fn until_accepting(&self, within: Duration) -> Instant {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(client) = self.client().await
                && client.simple_query("SELECT 1").await.is_ok()
            {
                return Instant::now();
            }
            assert!(Instant::now() < deadline, "server {} did not accept connections within {within:?}", self.name);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = as_postgres_output(&self.root, &format!("{BIN}/pg_ctl -D {} -w -t 60 -m immediate stop", self.data));
        let _ = std::fs::remove_dir_all(&self.host_dir);
        let _ = std::fs::remove_dir_all(&self.host_scratch);
        let _ = std::fs::remove_dir_all(&self.client_dir);
    }
}
