//! A PgBouncer process of the test's own, in transaction-pooling mode, in front
//! of the shared test server (Debian's `pgbouncer`; installed with apt-get when
//! missing and we are root).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lightrag_pg_pool::PgConfig;

/// PgBouncer's version as `(major, minor)`, installing the package first when
/// the binary is missing and this process is root.
///
/// # Panics
/// When PgBouncer is missing and cannot be installed: the test fails, it never
/// skips.
pub fn ensure_installed() -> (u32, u32) {
    let version = || Command::new(binary()).arg("--version").output().ok().filter(|o| o.status.success());
    let out = match version() {
        Some(out) => out,
        None => {
            // As root with apt-get, else through a password-less sudo.
            let mut cmd = if is_root() { Command::new("apt-get") } else { sudo_apt_get() };
            let status = cmd
                .args(["install", "-y", "--no-install-recommends", "pgbouncer"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdout(Stdio::null())
                .status();
            assert!(
                status.is_ok_and(|s| s.success()),
                "pgbouncer is not installed and could not be installed: install Debian's package \
                 (`apt-get install -y --no-install-recommends pgbouncer`)"
            );
            version().expect("pgbouncer --version after installing it")
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    // "PgBouncer 1.18.0"
    let v = text.split_whitespace().nth(1).unwrap_or_default();
    let mut parts = v.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// `pgbouncer` on the PATH, else Debian's `/usr/sbin/pgbouncer` (not on a
/// normal user's PATH).
fn binary() -> &'static str {
    if Command::new("pgbouncer").arg("--version").output().is_ok() { "pgbouncer" } else { "/usr/sbin/pgbouncer" }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout == b"0\n")
}

fn sudo_apt_get() -> Command {
    let mut c = Command::new("sudo");
    c.args(["-n", "apt-get"]);
    c
}

/// A running PgBouncer, killed and cleaned up on drop.
#[derive(Debug)]
pub struct PgBouncer {
    child: Child,
    dir: PathBuf,
    pub port: u16,
    /// Whether it carries protocol-level prepared statements (≥ 1.21 with
    /// `max_prepared_statements`).
    pub prepared_statements: bool,
    pub version: (u32, u32),
}

impl PgBouncer {
    /// Starts PgBouncer for `upstream`'s first host, user and password, with
    /// `pool_size` server connections per database and user.
    pub fn start(upstream: &PgConfig, pool_size: u32) -> PgBouncer {
        let version = ensure_installed();
        let prepared_statements = version >= (1, 21);
        let dir = std::env::temp_dir().join(format!("lightrag-pgbouncer-{}", super::suffix()));
        std::fs::create_dir_all(&dir).expect("pgbouncer directory");
        let port = super::free_port();
        let (host, upstream_port) = upstream.hosts[0].clone();
        let password = upstream.password.clone().unwrap_or_default();
        let quote = |s: &str| s.replace('"', "\"\"");
        std::fs::write(dir.join("userlist.txt"), format!("\"{}\" \"{}\"\n", quote(&upstream.user), quote(&password)))
            .expect("auth file");
        let extra = if prepared_statements { "max_prepared_statements = 100\n" } else { "" };
        std::fs::write(
            dir.join("pgbouncer.ini"),
            format!(
                "[databases]\n* = host={host} port={upstream_port}\n\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = scram-sha-256\nauth_file = {dir}/userlist.txt\n\
                 pool_mode = transaction\nmax_client_conn = 500\ndefault_pool_size = {pool_size}\n\
                 min_pool_size = 0\nreserve_pool_size = 0\nserver_lifetime = 3600\n\
                 ignore_startup_parameters = options,extra_float_digits\n\
                 logfile = {dir}/pgbouncer.log\nlog_connections = 0\nlog_disconnections = 0\n{extra}",
                dir = dir.display()
            ),
        )
        .expect("pgbouncer.ini");
        // PgBouncer refuses to run as root: as root it switches to `postgres`
        // (or `nobody`), otherwise it runs as the current user.
        let user = if !is_root() {
            None
        } else if Command::new("id").arg("postgres").output().is_ok_and(|o| o.status.success()) {
            Some("postgres")
        } else {
            Some("nobody")
        };
        for entry in std::fs::read_dir(&dir).expect("pgbouncer directory") {
            let path = entry.expect("entry").path();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod pgbouncer directory");
        let mut command = Command::new(binary());
        if let Some(user) = user {
            command.args(["-u", user]);
        }
        let child = command
            .arg("-q")
            .arg(dir.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pgbouncer");
        let mut bouncer = PgBouncer { child, dir, port, prepared_statements, version };
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

    /// `upstream`'s settings pointed at PgBouncer: same user, password and
    /// database; named prepared statements off unless PgBouncer carries them.
    pub fn config(&self, upstream: &PgConfig) -> PgConfig {
        let mut c = upstream.clone();
        c.hosts = vec![("127.0.0.1".to_owned(), self.port)];
        c.prepared_statements = self.prepared_statements;
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
