//! A PgBouncer process of the test's own, in transaction-pooling mode, in front
//! of the shared test server.
//!
//! Transaction pooling needs PgBouncer ≥ 1.21 with `max_prepared_statements`:
//! before that, a named prepared statement (every parameterised statement
//! tokio-postgres sends) may reach a server connection that never saw it.
//! Debian 12 ships 1.18, so the sandbox root (`target/pg-sandbox/rootfs`, or
//! `LIGHTRAG_PG_SANDBOX_ROOT`) carries Debian 13's PgBouncer, run by chroot; a
//! host `pgbouncer` ≥ 1.21 is used first when there is one.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lightrag_pg_pool::PgConfig;

/// The oldest PgBouncer that carries named prepared statements in transaction mode.
const OLDEST: (u32, u32) = (1, 21);

/// A PgBouncer binary: on the host, or inside the sandbox root (run by chroot).
#[derive(Debug, Clone)]
enum Binary {
    Host(&'static str),
    Sandbox(PathBuf),
}

impl Binary {
    fn command(&self) -> Command {
        match self {
            Binary::Host(path) => Command::new(path),
            Binary::Sandbox(root) => {
                let mut c = Command::new("chroot");
                c.arg(root).arg("/usr/sbin/pgbouncer");
                c
            }
        }
    }

    /// `(major, minor)` from `pgbouncer --version` ("PgBouncer 1.24.1"), if it runs.
    fn version(&self) -> Option<(u32, u32)> {
        let out = self.command().arg("--version").output().ok().filter(|o| o.status.success())?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.split_whitespace().nth(1)?.split('.').map(|p| p.parse::<u32>().ok());
        Some((parts.next()??, parts.next()??))
    }

    /// Where a path of the host's temporary folder is seen by the binary.
    fn host_dir(&self, name: &str) -> (PathBuf, PathBuf) {
        match self {
            Binary::Host(_) => {
                let dir = std::env::temp_dir().join(name);
                (dir.clone(), dir)
            }
            Binary::Sandbox(root) => (root.join("tmp").join(name), Path::new("/tmp").join(name)),
        }
    }
}

/// The first PgBouncer ≥ 1.21: the host's, else the sandbox root's.
///
/// # Panics
/// When there is none: the test fails, it never skips.
fn find() -> (Binary, (u32, u32)) {
    let mut candidates = vec![Binary::Host("pgbouncer"), Binary::Host("/usr/sbin/pgbouncer")];
    let root = lightrag_pg_test_support::server::sandbox_root_path();
    if root.join("usr/sbin/pgbouncer").exists() {
        candidates.push(Binary::Sandbox(root));
    }
    let mut seen = Vec::new();
    for candidate in candidates {
        if let Some(version) = candidate.version() {
            if version >= OLDEST {
                return (candidate, version);
            }
            seen.push(format!("{candidate:?} is {}.{}", version.0, version.1));
        }
    }
    panic!(
        "no PgBouncer >= 1.21 here (found: {}). `cargo xtask pg up` puts Debian 13's PgBouncer into the \
         sandbox root (target/pg-sandbox/rootfs, or LIGHTRAG_PG_SANDBOX_ROOT)",
        if seen.is_empty() { "none".to_owned() } else { seen.join(", ") }
    )
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout == b"0\n")
}

/// A running PgBouncer, killed and cleaned up on drop.
#[derive(Debug)]
pub struct PgBouncer {
    child: Child,
    dir: PathBuf,
    pub port: u16,
    pub version: (u32, u32),
}

impl PgBouncer {
    /// Starts PgBouncer for `upstream`'s first host, user and password, with
    /// `pool_size` server connections per database and user.
    pub fn start(upstream: &PgConfig, pool_size: u32) -> PgBouncer {
        let (binary, version) = find();
        let (dir, inner) = binary.host_dir(&format!("lightrag-pgbouncer-{}", super::suffix()));
        std::fs::create_dir_all(&dir).expect("pgbouncer directory");
        let port = super::free_port();
        let (host, upstream_port) = upstream.hosts[0].clone();
        let password = upstream.password.clone().unwrap_or_default();
        let quote = |s: &str| s.replace('"', "\"\"");
        std::fs::write(dir.join("userlist.txt"), format!("\"{}\" \"{}\"\n", quote(&upstream.user), quote(&password)))
            .expect("auth file");
        std::fs::write(
            dir.join("pgbouncer.ini"),
            format!(
                "[databases]\n* = host={host} port={upstream_port}\n\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = scram-sha-256\nauth_file = {inner}/userlist.txt\n\
                 pool_mode = transaction\nmax_client_conn = 500\ndefault_pool_size = {pool_size}\n\
                 min_pool_size = 0\nreserve_pool_size = 0\nserver_lifetime = 3600\n\
                 max_prepared_statements = 200\n\
                 ignore_startup_parameters = options,extra_float_digits\n\
                 logfile = {inner}/pgbouncer.log\nlog_connections = 0\nlog_disconnections = 0\n",
                inner = inner.display()
            ),
        )
        .expect("pgbouncer.ini");
        // PgBouncer refuses to run as root: as root it switches to `postgres`
        // (which the sandbox root has), else `nobody`.
        let user = if !is_root() {
            None
        } else if matches!(binary, Binary::Sandbox(_))
            || Command::new("id").arg("postgres").output().is_ok_and(|o| o.status.success())
        {
            Some("postgres")
        } else {
            Some("nobody")
        };
        for entry in std::fs::read_dir(&dir).expect("pgbouncer directory") {
            let path = entry.expect("entry").path();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod pgbouncer directory");
        let mut command = binary.command();
        if let Some(user) = user {
            command.args(["-u", user]);
        }
        let child = command
            .arg("-q")
            .arg(inner.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pgbouncer");
        let mut bouncer = PgBouncer { child, dir, port, version };
        bouncer.wait_ready();
        bouncer
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("pgbouncer exited at start ({status}):\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "pgbouncer did not listen within 15 s:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// PgBouncer's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }

    /// `upstream`'s settings pointed at PgBouncer: same user, password and database.
    pub fn config(&self, upstream: &PgConfig) -> PgConfig {
        let mut c = upstream.clone();
        c.hosts = vec![("127.0.0.1".to_owned(), self.port)];
        c
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
