//! A throwaway PostgreSQL 17 server run from the sandbox root (a Debian root
//! with PostgreSQL at `/usr/lib/postgresql/17/bin`, `/dev` and `/proc` mounted)
//! through `chroot … su postgres`. Never the shared server: each one has its own
//! data directory under `/var/lib/lightrag-pg/` inside the root and its own port,
//! and is stopped and deleted on drop.
//!
//! Without the root (or without the privilege to chroot) the tests FAIL with a
//! message saying so; they never skip.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use lightrag_pg_pool::{PgConfig, RetryPolicy, SslConfig, SslMode};

use super::certs::CLIENT_USER;

const BIN: &str = "/usr/lib/postgresql/17/bin";

/// TLS material the server is given.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The server's certificate (PEM).
    pub cert_pem: String,
    /// The server's key (PEM).
    pub key_pem: String,
    /// The CA for client certificates (`ssl_ca_file`).
    pub client_ca_pem: String,
}

/// A running throwaway server.
#[derive(Debug)]
pub struct PgServer {
    root: PathBuf,
    /// The data directory as seen inside the root.
    data: String,
    /// The same directory on the host.
    host_dir: PathBuf,
    /// Client-side files (CA, client certificate, CRL) on the host.
    client_dir: PathBuf,
    pub port: u16,
    pub password: String,
    pub tls: bool,
}

/// The sandbox root: `LIGHTRAG_PG_SANDBOX_ROOT`, else `target/pg-sandbox/rootfs`
/// of this workspace.
pub fn sandbox_root() -> PathBuf {
    let root = std::env::var_os("LIGHTRAG_PG_SANDBOX_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pg-sandbox/rootfs"));
    let postgres = root.join("usr/lib/postgresql/17/bin/postgres");
    if !postgres.exists() || !root.join("proc/self").exists() {
        panic!(
            "these tests start their own PostgreSQL server and cannot run here: no usable sandbox root at {} \
             (it needs PostgreSQL 17 at /usr/lib/postgresql/17/bin and /dev and /proc mounted inside; \
             `cargo xtask pg up` prepares target/pg-sandbox/rootfs, or set LIGHTRAG_PG_SANDBOX_ROOT)",
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

/// Runs `cmd` as postgres inside the root; the output, or a panic with it.
fn as_postgres(root: &Path, cmd: &str) -> String {
    let out = Command::new("chroot")
        .arg(root)
        .args(["su", "postgres", "-s", "/bin/sh", "-c", cmd])
        .output()
        .unwrap_or_else(|e| panic!("cannot run chroot (are we root, with chroot on PATH?): {e}"));
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

fn free_port() -> u16 {
    for _ in 0..200 {
        let port = 55600 + (rand::random::<u16>() % 300);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 55600..55900");
}

impl PgServer {
    /// initdb, configuration, start. `tls: None` gives a plain server
    /// (`host … scram-sha-256`); with TLS the server takes only `hostssl`
    /// connections, and [`CLIENT_USER`] logs in by client certificate.
    pub fn start(prefix: &str, tls: Option<ServerTls>) -> PgServer {
        let root = sandbox_root();
        let (uid, gid) = postgres_ids(&root);
        let name = format!("{prefix}-{}", super::suffix());
        let data = format!("/var/lib/lightrag-pg/{name}");
        let host_dir = root.join(data.trim_start_matches('/'));
        let client_dir = std::env::temp_dir().join(format!("lightrag-pg-{name}"));
        std::fs::create_dir_all(&client_dir).unwrap();
        std::fs::create_dir_all(&host_dir).expect("data directory");
        std::os::unix::fs::chown(&host_dir, Some(uid), Some(gid)).expect("chown data directory");
        std::fs::set_permissions(&host_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let password = format!("pw-{}", super::suffix());
        let pwfile = format!("/tmp/{name}.pw");
        let host_pwfile = root.join(pwfile.trim_start_matches('/'));
        std::fs::write(&host_pwfile, &password).unwrap();
        std::os::unix::fs::chown(&host_pwfile, Some(uid), Some(gid)).unwrap();
        let server = PgServer {
            root: root.clone(),
            data: data.clone(),
            host_dir,
            client_dir,
            port: free_port(),
            password,
            tls: tls.is_some(),
        };
        as_postgres(
            &root,
            &format!(
                "{BIN}/initdb -D {data} -U postgres --pwfile={pwfile} --auth-local=trust --auth-host=scram-sha-256 \
                 -N -E UTF8 --locale=C.UTF-8 >/dev/null"
            ),
        );
        let _ = std::fs::remove_file(&host_pwfile);

        let mut conf = format!(
            "\n# lightrag-pg-pool test server\nport = {}\nlisten_addresses = 'localhost'\n\
             unix_socket_directories = '{data}'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
             shared_buffers = 16MB\nmax_connections = 60\n",
            server.port
        );
        let hba = if let Some(tls) = &tls {
            server.write_server_file("server.crt", &tls.cert_pem, 0o644, uid, gid);
            server.write_server_file("server.key", &tls.key_pem, 0o600, uid, gid);
            server.write_server_file("root.crt", &tls.client_ca_pem, 0o644, uid, gid);
            conf.push_str(
                "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'root.crt'\n",
            );
            format!(
                "local all all trust\n\
                 hostssl all {CLIENT_USER} 127.0.0.1/32 cert\nhostssl all {CLIENT_USER} ::1/128 cert\n\
                 hostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n"
            )
        } else {
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n"
                .to_owned()
        };
        let mut pg_conf = std::fs::read_to_string(server.host_dir.join("postgresql.conf")).unwrap();
        pg_conf.push_str(&conf);
        std::fs::write(server.host_dir.join("postgresql.conf"), pg_conf).unwrap();
        std::fs::write(server.host_dir.join("pg_hba.conf"), hba).unwrap();
        server.pg_ctl("-w -t 60 start");
        if server.tls {
            server.psql(&format!("CREATE ROLE {CLIENT_USER} LOGIN"));
        }
        server
    }

    fn write_server_file(&self, name: &str, contents: &str, mode: u32, uid: u32, gid: u32) {
        let path = self.host_dir.join(name);
        std::fs::write(&path, contents).unwrap();
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Writes a client-side file on the host and returns its path.
    pub fn client_file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.client_dir.join(name);
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    fn pg_ctl(&self, args: &str) -> String {
        as_postgres(&self.root, &format!("{BIN}/pg_ctl -D {} -l {}/server.log {args}", self.data, self.data))
    }

    /// Runs SQL as postgres over the server's Unix socket.
    pub fn psql(&self, sql: &str) -> String {
        let quoted = sql.replace('\'', "'\\''");
        as_postgres(
            &self.root,
            &format!(
                "{BIN}/psql -X -q -t -A -v ON_ERROR_STOP=1 -h {} -p {} -U postgres -d postgres -c '{quoted}'",
                self.data, self.port
            ),
        )
    }

    /// `pg_ctl stop -m immediate`: every backend dies at once, no checkpoint.
    pub fn stop_immediate(&self) {
        self.pg_ctl("-w -m immediate stop");
    }

    /// Starts the server again without waiting for it to accept connections.
    pub fn start_no_wait(&self) {
        self.pg_ctl("-W start");
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.host_dir.join("server.log")).unwrap_or_default()
    }

    /// Settings for user postgres on `host` (`localhost` or `127.0.0.1`), with a
    /// quick retry policy and short time-outs.
    pub fn config(&self, host: &str, ssl: SslConfig) -> PgConfig {
        PgConfig::builder()
            .host(host)
            .port(self.port)
            .user("postgres")
            .password(self.password.clone())
            .database("postgres")
            .ssl(ssl)
            .max_connections(4)
            .connect_timeout(Duration::from_secs(5))
            .pool_timeout(Duration::from_secs(10))
            .retry(RetryPolicy {
                attempts: 2,
                backoff: Duration::from_millis(100),
                backoff_max: Duration::from_millis(200),
            })
            .build()
    }

    /// An [`SslConfig`] for `mode`, nothing else set.
    pub fn ssl(mode: SslMode) -> SslConfig {
        SslConfig { mode, ..SslConfig::default() }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = Command::new("chroot")
            .arg(&self.root)
            .args([
                "su",
                "postgres",
                "-s",
                "/bin/sh",
                "-c",
                &format!("{BIN}/pg_ctl -D {} -w -m immediate stop", self.data),
            ])
            .output();
        let _ = std::fs::remove_dir_all(&self.host_dir);
        let _ = std::fs::remove_dir_all(&self.client_dir);
    }
}
