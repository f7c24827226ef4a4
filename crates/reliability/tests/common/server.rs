//! Throwaway PostgreSQL 17 servers run from the sandbox root (a Debian root with
//! PostgreSQL at `/usr/lib/postgresql/17/bin`, pgvector and AGE, `/dev` and
//! `/proc` mounted) through `chroot … su postgres`, adapted from the pool crate's
//! test helper. Never the shared server: each one has its own data directory
//! under `/var/lib/lightrag-pg/` inside the root and its own loopback port, and
//! is stopped and deleted on drop.
//!
//! Without the root (or without the privilege to chroot) the tests FAIL with a
//! message saying so; they never skip.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lightrag_pg_pool::{PgConfig, RetryPolicy, tokio_postgres};

const BIN: &str = "/usr/lib/postgresql/17/bin";

/// The sandbox root: `LIGHTRAG_PG_SANDBOX_ROOT`, else `target/pg-sandbox/rootfs`
/// of this workspace.
pub fn sandbox_root() -> PathBuf {
    let root = std::env::var_os("LIGHTRAG_PG_SANDBOX_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pg-sandbox/rootfs"));
    let postgres = root.join("usr/lib/postgresql/17/bin/postgres");
    if !postgres.exists() || !root.join("proc/self").exists() {
        panic!(
            "this test starts its own PostgreSQL servers and cannot run here: no usable sandbox root at {} \
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

/// Runs `cmd` as postgres inside the root; its output, or an error with it.
fn try_as_postgres(root: &Path, cmd: &str) -> Result<String, String> {
    let out = Command::new("chroot")
        .arg(root)
        .args(["su", "postgres", "-s", "/bin/sh", "-c", cmd])
        .output()
        .unwrap_or_else(|e| panic!("cannot run chroot (are we root, with chroot on PATH?): {e}"));
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "`{cmd}` failed in the sandbox root ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn as_postgres(root: &Path, cmd: &str) -> String {
    try_as_postgres(root, cmd).unwrap_or_else(|e| panic!("{e}"))
}

/// How `pg_ctl stop` ends the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// `-m fast`: sessions are terminated (`57P01`), then a checkpoint.
    Fast,
    /// `-m immediate`: every process dies at once, recovery at the next start.
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

/// A running throwaway server.
#[derive(Debug)]
pub struct PgServer {
    root: PathBuf,
    /// The data directory as seen inside the root (also the socket directory).
    data: String,
    /// The same directory on the host.
    host_dir: PathBuf,
    pub port: u16,
    pub password: String,
    pub name: String,
}

/// Settings every throwaway server gets: loopback only, AGE preloaded, commits
/// durable across a server crash (`synchronous_commit = on`; `fsync = off` only
/// risks an operating-system crash, which these tests do not cause).
fn base_conf(port: u16, data: &str) -> String {
    format!(
        "\n# lightrag-pg-reliability test server\nport = {port}\nlisten_addresses = '127.0.0.1'\n\
         unix_socket_directories = '{data}'\nfsync = off\nsynchronous_commit = on\nfull_page_writes = off\n\
         shared_buffers = 32MB\nmax_connections = 100\nshared_preload_libraries = 'age'\n\
         wal_level = replica\nmax_wal_senders = 4\nwal_keep_size = 256MB\nlog_min_messages = warning\n"
    )
}

const HBA: &str = "local all all trust\nlocal replication all trust\n\
                   host all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n";

impl PgServer {
    /// initdb, configuration (plus `extra_conf`), start, and `CREATE EXTENSION
    /// vector, age` in database `postgres`.
    pub fn start(prefix: &str, extra_conf: &str) -> PgServer {
        let root = sandbox_root();
        let (uid, gid) = postgres_ids(&root);
        let name = format!("{prefix}-{}", super::suffix());
        let data = format!("/var/lib/lightrag-pg/{name}");
        let host_dir = root.join(data.trim_start_matches('/'));
        std::fs::create_dir_all(&host_dir).expect("data directory");
        std::os::unix::fs::chown(&host_dir, Some(uid), Some(gid)).expect("chown data directory");
        std::fs::set_permissions(&host_dir, std::fs::Permissions::from_mode(0o700)).expect("chmod data directory");
        let password = format!("pw-{}", super::suffix());
        let pwfile = format!("/tmp/{name}.pw");
        let host_pwfile = root.join(pwfile.trim_start_matches('/'));
        std::fs::write(&host_pwfile, &password).expect("password file");
        std::os::unix::fs::chown(&host_pwfile, Some(uid), Some(gid)).expect("chown password file");
        let server =
            PgServer { root: root.clone(), data: data.clone(), host_dir, port: super::free_port(), password, name };
        as_postgres(
            &root,
            &format!(
                "{BIN}/initdb -D {data} -U postgres --pwfile={pwfile} --auth-local=trust --auth-host=scram-sha-256 \
                 -N -E UTF8 --locale=C.UTF-8 >/dev/null"
            ),
        );
        let _ = std::fs::remove_file(&host_pwfile);
        server.append_conf(&format!("{}{extra_conf}\n", base_conf(server.port, &data)));
        std::fs::write(server.host_dir.join("pg_hba.conf"), HBA).expect("pg_hba.conf");
        server.pg_ctl("-w -t 60 start");
        server.psql("CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS age;");
        server
    }

    /// A streaming standby of `primary` (`pg_basebackup -R`), started, with
    /// `cluster_name` as its replication name (for `synchronous_standby_names`).
    /// Its own `synchronous_standby_names` is empty, so that once promoted it
    /// does not wait for a standby of its own.
    pub fn standby_of(primary: &PgServer, prefix: &str, cluster_name: &str) -> PgServer {
        let root = primary.root.clone();
        let (uid, gid) = postgres_ids(&root);
        let name = format!("{prefix}-{}", super::suffix());
        let data = format!("/var/lib/lightrag-pg/{name}");
        let host_dir = root.join(data.trim_start_matches('/'));
        std::fs::create_dir_all(&host_dir).expect("standby data directory");
        std::os::unix::fs::chown(&host_dir, Some(uid), Some(gid)).expect("chown standby data directory");
        std::fs::set_permissions(&host_dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let server = PgServer {
            root: root.clone(),
            data: data.clone(),
            host_dir,
            port: super::free_port(),
            password: primary.password.clone(),
            name,
        };
        as_postgres(
            &root,
            &format!(
                "{BIN}/pg_basebackup -D {data} -h {} -p {} -U postgres -R -X stream -c fast >/dev/null",
                primary.data, primary.port
            ),
        );
        server.append_conf(&format!(
            "{}cluster_name = '{cluster_name}'\nhot_standby = on\nsynchronous_standby_names = ''\n",
            base_conf(server.port, &data)
        ));
        let _ = std::fs::remove_file(server.host_dir.join("server.log"));
        server.pg_ctl("-w -t 60 start");
        server
    }

    fn append_conf(&self, text: &str) {
        let path = self.host_dir.join("postgresql.conf");
        let mut conf = std::fs::read_to_string(&path).expect("postgresql.conf");
        conf.push_str(text);
        std::fs::write(&path, conf).expect("write postgresql.conf");
    }

    fn pg_ctl(&self, args: &str) -> String {
        as_postgres(&self.root, &format!("{BIN}/pg_ctl -D {} -l {}/server.log {args}", self.data, self.data))
    }

    /// Runs SQL as postgres over the server's Unix socket, in database `db`.
    pub fn psql_in(&self, db: &str, sql: &str) -> String {
        let quoted = sql.replace('\'', "'\\''");
        as_postgres(
            &self.root,
            &format!(
                "{BIN}/psql -X -q -t -A -v ON_ERROR_STOP=1 -h {} -p {} -U postgres -d {db} -c '{quoted}'",
                self.data, self.port
            ),
        )
    }

    /// Runs SQL as postgres in database `postgres`.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_in("postgres", sql)
    }

    /// `pg_ctl stop -m <mode>`, waiting until the server is down.
    pub fn stop(&self, mode: StopMode) {
        self.pg_ctl(&format!("-w -t 60 -m {} stop", mode.as_str()));
    }

    /// Starts the server again without waiting for it to accept connections.
    pub fn start_no_wait(&self) {
        self.pg_ctl("-W start");
    }

    /// `pg_ctl promote`, waiting until the standby accepts writes.
    pub fn promote(&self) {
        self.pg_ctl("-w -t 60 promote");
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.host_dir.join("server.log")).unwrap_or_default()
    }

    /// Settings for user postgres in database `postgres` on 127.0.0.1, with short
    /// time-outs and a quick retry policy.
    pub fn config(&self) -> PgConfig {
        PgConfig::builder()
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .password(self.password.clone())
            .database("postgres")
            .max_connections(8)
            .connect_timeout(Duration::from_secs(2))
            .pool_timeout(Duration::from_secs(10))
            .retry(RetryPolicy {
                attempts: 3,
                backoff: Duration::from_millis(100),
                backoff_max: Duration::from_millis(400),
            })
            .build()
    }

    /// A plain (unpooled) client, or the connection error.
    pub async fn client(&self) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let mut cfg = tokio_postgres::Config::new();
        cfg.host("127.0.0.1").port(self.port).user("postgres").password(&self.password).dbname("postgres");
        cfg.connect_timeout(Duration::from_secs(1));
        let (client, conn) = cfg.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        Ok(client)
    }

    /// Polls with plain connections until one runs `SELECT 1`; the instant it did.
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
        let _ = try_as_postgres(&self.root, &format!("{BIN}/pg_ctl -D {} -w -t 30 -m immediate stop", self.data));
        let _ = std::fs::remove_dir_all(&self.host_dir);
    }
}
