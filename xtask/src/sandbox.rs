//! The sandbox server: PostgreSQL 17, pgvector and Apache AGE from Debian trixie
//! packages in a `debootstrap --variant=minbase` root, run with `chroot` on
//! 127.0.0.1. No Docker and no registry: only Debian's package mirror.
//!
//! Layout (`LIGHTRAG_PG_SANDBOX_DIR`, default `target/pg-sandbox`):
//! - `rootfs/`: the root; `rootfs/.lightrag-pg-ready` holds the package versions
//!   and is written only after they were verified, so a partial build is redone,
//!   never trusted;
//! - `rootfs/var/lib/lightrag-pg/`: `data/` (the cluster), `server.log`,
//!   `sandbox.conf` (port and listening address) and `started-with` (what
//!   configuration the running server was started with);
//! - `*.log`: the output of the last debootstrap, apt-get, initdb, pg_ctl and
//!   init-script runs.
//!
//! While the server runs, `rootfs/dev` is a small private tmpfs holding only
//! null, zero, full, random, urandom and tty (never a bind mount of the host's
//! `/dev`, so deleting the folder can never delete the host's device nodes) and
//! `rootfs/proc` is a proc mount. `pg down` stops every process inside the root
//! and unmounts both.

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::cmd::{self, output, run, run_logged};
use crate::{Context, Result, bail};

/// The port when none is asked for.
pub(crate) const DEFAULT_PORT: u16 = 55432;
/// The superuser the tests connect as.
pub(crate) const USER: &str = "postgres";
/// Its password.
pub(crate) const PASSWORD: &str = "lightrag";
/// The database LightRAG uses.
pub(crate) const DATABASE: &str = "lightrag";
/// The image entrypoint's path inside the root.
pub(crate) const ENTRYPOINT: &str = "/usr/local/bin/lightrag-pg-entrypoint";

const SUITE: &str = "trixie";
const DEFAULT_MIRROR: &str = "http://deb.debian.org/debian";
/// The server, its two extensions, and PgBouncer ≥ 1.21 (Debian 12 has 1.18,
/// which cannot carry named prepared statements in transaction mode).
const PACKAGES: [&str; 4] = ["postgresql-17", "postgresql-17-pgvector", "postgresql-17-age", "pgbouncer"];
const MARKER: &str = ".lightrag-pg-ready";
const INNER_PATH: &str = "/usr/lib/postgresql/17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const STATE: &str = "/var/lib/lightrag-pg";
const DATA: &str = "/var/lib/lightrag-pg/data";
const LOG: &str = "/var/lib/lightrag-pg/server.log";
const SANDBOX_CONF: &str = "/var/lib/lightrag-pg/sandbox.conf";
const STARTED_WITH: &str = "/var/lib/lightrag-pg/started-with";
const PWFILE: &str = "/var/lib/lightrag-pg/.pwfile";
const CONFIG_PATH: &str = "/etc/lightrag-pg/postgresql.conf";
const INIT_DIR: &str = "/docker-entrypoint-initdb.d";
const SOCKET_DIR: &str = "/var/run/postgresql";

/// `postgres/config/postgresql.conf`.
pub(crate) const CONFIG: &str = include_str!("../../postgres/config/postgresql.conf");
/// `postgres/init/*`, in the order they run.
pub(crate) const INIT_FILES: [(&str, &str); 4] = [
    ("00-create-custom-db.sh", include_str!("../../postgres/init/00-create-custom-db.sh")),
    ("00-custom-db-setup.sql", include_str!("../../postgres/init/00-custom-db-setup.sql")),
    ("01-init-db.sh", include_str!("../../postgres/init/01-init-db.sh")),
    ("01-init.sql", include_str!("../../postgres/init/01-init.sql")),
];
/// `docker/lightrag-pg-entrypoint.sh`.
pub(crate) const ENTRYPOINT_SCRIPT: &str = include_str!("../../docker/lightrag-pg-entrypoint.sh");

/// Device nodes of the private `/dev`: name, major, minor.
const DEVICES: [(&str, u32, u32); 6] =
    [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)];

/// A running sandbox server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Running {
    pub(crate) pid: u32,
    pub(crate) port: u16,
}

/// The sandbox's folders.
#[derive(Debug)]
pub(crate) struct Sandbox {
    dir: PathBuf,
    root: PathBuf,
}

impl Sandbox {
    /// The sandbox folder, from `LIGHTRAG_PG_SANDBOX_DIR` or `target/pg-sandbox`.
    pub(crate) fn locate() -> Result<Self> {
        let dir = match std::env::var_os("LIGHTRAG_PG_SANDBOX_DIR") {
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => crate::target_dir().join("pg-sandbox"),
        };
        let dir = std::path::absolute(&dir)?;
        let dir = fs::canonicalize(&dir).unwrap_or(dir);
        let root = dir.join("rootfs");
        Ok(Self { dir, root })
    }

    /// The root file system's folder on the host.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// A path inside the root, as seen from the host.
    pub(crate) fn path(&self, inner: &str) -> PathBuf {
        self.root.join(inner.trim_start_matches('/'))
    }

    /// The server's log file on the host.
    pub(crate) fn log_path(&self) -> PathBuf {
        self.path(LOG)
    }

    /// The data folder on the host.
    pub(crate) fn data_path(&self) -> PathBuf {
        self.path(DATA)
    }

    /// The marker's content (the verified package versions), once the root is complete.
    pub(crate) fn marker(&self) -> Option<String> {
        fs::read_to_string(self.root.join(MARKER)).ok()
    }

    /// Whether the root is complete: its marker lists every package we need
    /// (a root from before a package was added gets it on the next `pg up`).
    pub(crate) fn is_ready(&self) -> bool {
        self.marker().is_some_and(|m| {
            PACKAGES.iter().all(|p| m.lines().any(|l| l.split_once('=').is_some_and(|(name, _)| name == *p)))
        })
    }

    fn log(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Builds the root unless it is complete: debootstrap, then the packages,
    /// then the marker. A half-built root is finished or rebuilt, never used.
    pub(crate) fn ensure_root(&self) -> Result<()> {
        if self.is_ready() {
            return Ok(());
        }
        if let Some(why) = why_not_buildable() {
            bail!("cannot build the sandbox here: {why}");
        }
        fs::create_dir_all(&self.dir).context(|| format!("cannot create {}", self.dir.display()))?;
        let started = Instant::now();
        if !self.debootstrapped() {
            ensure_debootstrap()?;
            let partial = self.dir.join("rootfs.partial");
            for p in [&partial, &self.root] {
                if p.exists() {
                    eprintln!("sandbox: removing the incomplete root {}", p.display());
                    remove_tree(p)?;
                }
            }
            let mirror = std::env::var("LIGHTRAG_PG_MIRROR").unwrap_or_else(|_| DEFAULT_MIRROR.to_owned());
            let log = self.log("debootstrap.log");
            fs::write(&log, "")?;
            eprintln!(
                "sandbox: debootstrap --variant=minbase {SUITE} into {} (about 20 s; log: {})",
                self.root.display(),
                log.display()
            );
            let mut c = Command::new("debootstrap");
            c.args(["--variant=minbase", SUITE]).arg(&partial).arg(&mirror);
            run_logged(&mut c, &log)?;
            fs::rename(&partial, &self.root)?;
        }
        self.mount()?;
        let versions = match self.installed_packages() {
            Some(v) => v,
            None => {
                self.prepare_apt()?;
                let log = self.log("apt.log");
                fs::write(&log, "")?;
                eprintln!(
                    "sandbox: apt-get install {} inside the root (about 10-60 s; log: {})",
                    PACKAGES.join(" "),
                    log.display()
                );
                let script = format!(
                    "dpkg --configure -a && apt-get update && apt-get install -y --no-install-recommends {} \
                     && apt-get clean && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*",
                    PACKAGES.join(" ")
                );
                let mut c = self.chroot(false)?;
                c.args(["/bin/sh", "-c", &script]).env("DEBIAN_FRONTEND", "noninteractive");
                run_logged(&mut c, &log)?;
                match self.installed_packages() {
                    Some(v) => v,
                    None => bail!(
                        "apt-get finished but {} are not all installed; see {}",
                        PACKAGES.join(", "),
                        log.display()
                    ),
                }
            }
        };
        let mut marker = format!(
            "# lightrag-pg sandbox root, complete: written by `cargo xtask` after checking the packages\nsuite={SUITE}\n"
        );
        for (package, version) in &versions {
            marker.push_str(&format!("{package}={version}\n"));
        }
        let tmp = self.root.join(format!("{MARKER}.tmp"));
        fs::write(&tmp, marker)?;
        fs::rename(&tmp, self.root.join(MARKER))?;
        eprintln!("sandbox: root ready in {:.0?}", started.elapsed());
        Ok(())
    }

    /// debootstrap finished: it removes `/debootstrap` when done.
    fn debootstrapped(&self) -> bool {
        self.path("/usr/bin/apt-get").is_file()
            && self.path("/etc/os-release").is_file()
            && !self.path("/debootstrap").exists()
    }

    /// The versions of the packages, when all are fully installed.
    fn installed_packages(&self) -> Option<Vec<(String, String)>> {
        let mut c = self.chroot(false).ok()?;
        c.args(["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${db:Status-Abbrev}\n"]).args(PACKAGES);
        let listed = output(&mut c).ok()?;
        let mut versions = Vec::new();
        for package in PACKAGES {
            let line = listed.lines().find(|l| l.split('\t').next() == Some(package))?;
            let mut fields = line.split('\t');
            let (_, version, status) = (fields.next()?, fields.next()?, fields.next()?);
            if status.trim() != "ii" || version.is_empty() {
                return None;
            }
            versions.push((package.to_owned(), version.to_owned()));
        }
        let mut audit = self.chroot(false).ok()?;
        audit.args(["dpkg", "--audit"]);
        match output(&mut audit) {
            Ok(out) if out.trim().is_empty() => Some(versions),
            _ => None,
        }
    }

    /// Name resolution for apt and no service starts from package scripts.
    fn prepare_apt(&self) -> Result<()> {
        let resolv = self.path("/etc/resolv.conf");
        if fs::symlink_metadata(&resolv).is_ok_and(|m| m.file_type().is_symlink()) {
            fs::remove_file(&resolv)?;
        }
        self.write_file("/etc/resolv.conf", &fs::read_to_string("/etc/resolv.conf").unwrap_or_default(), 0o644)?;
        self.write_file(
            "/usr/sbin/policy-rc.d",
            "#!/bin/sh\n# lightrag-pg: no service starts inside the sandbox root\nexit 101\n",
            0o755,
        )
    }

    /// Writes a file inside the root unless it already holds `content`, refusing
    /// to follow symbolic links out of the root.
    fn write_file(&self, inner: &str, content: &str, mode: u32) -> Result<()> {
        let target = self.path(inner);
        let parent = target.parent().expect("a path inside the root has a parent");
        let mut dir = self.root.clone();
        for part in parent.strip_prefix(&self.root).expect("inside the root").components() {
            dir.push(part);
            match fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_symlink() => {
                    bail!("refusing to write {inner}: {} is a symbolic link", dir.display())
                }
                Ok(_) => {}
                Err(_) => fs::create_dir(&dir).context(|| format!("cannot create {}", dir.display()))?,
            }
        }
        if let Ok(m) = fs::symlink_metadata(&target) {
            if m.file_type().is_symlink() {
                fs::remove_file(&target)?;
            } else if fs::read_to_string(&target).is_ok_and(|c| c == content) && m.permissions().mode() & 0o777 == mode
            {
                return Ok(());
            }
        }
        fs::write(&target, content).context(|| format!("cannot write {}", target.display()))?;
        fs::set_permissions(&target, fs::Permissions::from_mode(mode))?;
        Ok(())
    }

    /// Copies the repository's configuration, init scripts and entrypoint into
    /// the root and creates the folders the server needs (idempotent, cheap).
    pub(crate) fn provision(&self) -> Result<()> {
        self.write_file(CONFIG_PATH, CONFIG, 0o644)?;
        for (name, content) in INIT_FILES {
            let mode = if name.ends_with(".sh") { 0o755 } else { 0o644 };
            self.write_file(&format!("{INIT_DIR}/{name}"), content, mode)?;
        }
        self.write_file(ENTRYPOINT, ENTRYPOINT_SCRIPT, 0o755)?;
        // Inside the root, so that absolute symbolic links (/var/run -> /run)
        // resolve there. AGE in $libdir/plugins lets non-superusers LOAD it.
        let script = format!(
            "install -d -o postgres -g postgres -m 0755 {STATE} /run/postgresql && \
             mkdir -p /usr/lib/postgresql/17/lib/plugins && \
             ln -sfn ../age.so /usr/lib/postgresql/17/lib/plugins/age.so"
        );
        let mut c = self.chroot(false)?;
        c.args(["/bin/sh", "-c", &script]);
        output(&mut c)?;
        Ok(())
    }

    /// The user and group ids of `postgres` inside the root.
    fn postgres_ids(&self) -> Result<(u32, u32)> {
        let passwd = fs::read_to_string(self.path("/etc/passwd"))?;
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() > 3
                && f[0] == "postgres"
                && let (Ok(uid), Ok(gid)) = (f[2].parse(), f[3].parse())
            {
                return Ok((uid, gid));
            }
        }
        bail!("no user postgres in {}/etc/passwd", self.root.display())
    }

    /// `chroot ROOT`, as root or as postgres, with a clean environment.
    pub(crate) fn chroot(&self, as_postgres: bool) -> Result<Command> {
        let mut c = Command::new("chroot");
        c.env_clear().env("PATH", INNER_PATH).env("LANG", "C.UTF-8");
        if let Some(term) = std::env::var_os("TERM") {
            c.env("TERM", term);
        }
        if as_postgres {
            let (uid, gid) = self.postgres_ids()?;
            c.arg(format!("--userspec={uid}:{gid}")).env("HOME", "/var/lib/postgresql").env("USER", "postgres");
        } else {
            c.env("HOME", "/root");
        }
        c.arg(&self.root);
        Ok(c)
    }

    /// Mounts the private `/dev` and `/proc` unless they are mounted.
    pub(crate) fn mount(&self) -> Result<()> {
        let dev = self.path("/dev");
        if !is_mount_point(&dev)? {
            run(Command::new("mount")
                .args(["-t", "tmpfs", "-o", "mode=0755,size=64k,nosuid,noexec", "lightrag-pg-dev"])
                .arg(&dev))?;
            for (name, major, minor) in DEVICES {
                run(Command::new("mknod").args(["-m", "666"]).arg(dev.join(name)).args([
                    "c",
                    &major.to_string(),
                    &minor.to_string(),
                ]))?;
            }
            for (name, target) in [
                ("fd", "/proc/self/fd"),
                ("stdin", "/proc/self/fd/0"),
                ("stdout", "/proc/self/fd/1"),
                ("stderr", "/proc/self/fd/2"),
            ] {
                symlink(target, dev.join(name))?;
            }
        }
        let proc_dir = self.path("/proc");
        if !is_mount_point(&proc_dir)? {
            run(Command::new("mount").args(["-t", "proc", "lightrag-pg-proc"]).arg(&proc_dir))?;
        }
        Ok(())
    }

    /// Unmounts everything mounted inside the root, deepest first.
    pub(crate) fn unmount(&self) -> Result<()> {
        unmount_under(&self.root)
    }

    /// Whether anything is mounted inside the root.
    pub(crate) fn has_mounts(&self) -> Result<bool> {
        Ok(mount_points()?.iter().any(|m| m.starts_with(&self.root) && m != &self.root))
    }

    /// Creates the cluster unless it exists; makes sure it includes our files.
    pub(crate) fn initdb(&self) -> Result<()> {
        let data = self.path(DATA);
        let complete = data.join("PG_VERSION").is_file() && data.join("global/pg_control").is_file();
        if !complete {
            if data.exists() {
                eprintln!("sandbox: removing the incomplete data folder {}", data.display());
                fs::remove_dir_all(&data)?;
            }
            let (uid, gid) = self.postgres_ids()?;
            self.write_file(PWFILE, &format!("{PASSWORD}\n"), 0o600)?;
            std::os::unix::fs::chown(self.path(PWFILE), Some(uid), Some(gid))?;
            let log = self.log("initdb.log");
            fs::write(&log, "")?;
            let mut c = self.chroot(true)?;
            c.args(["initdb", "-D", DATA, "-U", USER]).arg(format!("--pwfile={PWFILE}")).args([
                "-A",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]);
            let result = run_logged(&mut c, &log);
            let _ = fs::remove_file(self.path(PWFILE));
            result?;
        }
        let conf = data.join("postgresql.conf");
        let text = fs::read_to_string(&conf)?;
        let include = format!("include_if_exists = '{CONFIG_PATH}'");
        if !text.contains(&include) {
            let mut f = fs::OpenOptions::new().append(true).open(&conf)?;
            write!(f, "\n# lightrag-pg (cargo xtask pg up)\n{include}\ninclude_if_exists = '{SANDBOX_CONF}'\n")?;
        }
        Ok(())
    }

    fn sandbox_conf(port: u16) -> String {
        format!(
            "# Written by `cargo xtask pg up`: the sandbox server's own settings.\n\
             listen_addresses = '127.0.0.1'\n\
             port = {port}\n\
             unix_socket_directories = '{SOCKET_DIR}'\n\
             # A throwaway test server: commits need not wait for the disk.\n\
             synchronous_commit = off\n"
        )
    }

    /// What the server must have been started with to be reused on `port`.
    fn fingerprint(port: u16) -> String {
        format!("{:016x}\n", fnv1a(&[CONFIG, &Self::sandbox_conf(port)]))
    }

    /// The port of the last `pg up`.
    pub(crate) fn configured_port(&self) -> Option<u16> {
        let text = fs::read_to_string(self.path(SANDBOX_CONF)).ok()?;
        text.lines().find_map(|l| l.trim().strip_prefix("port = ")?.trim().parse().ok())
    }

    /// The server, if it runs inside this root.
    pub(crate) fn running(&self) -> Option<Running> {
        let pidfile = fs::read_to_string(self.path(DATA).join("postmaster.pid")).ok()?;
        let lines: Vec<&str> = pidfile.lines().collect();
        let pid: u32 = lines.first()?.trim().parse().ok()?;
        let port: u16 = lines.get(3)?.trim().parse().ok()?;
        (process_root(pid).as_deref() == Some(self.root.as_path())).then_some(Running { pid, port })
    }

    /// Whether the running server was started with today's configuration on `port`.
    pub(crate) fn is_current(&self, running: Running, port: u16) -> bool {
        running.port == port && fs::read_to_string(self.path(STARTED_WITH)).is_ok_and(|f| f == Self::fingerprint(port))
    }

    /// Starts the server on `port` (it must not be running).
    pub(crate) fn start(&self, port: u16) -> Result<()> {
        self.write_file(SANDBOX_CONF, &Self::sandbox_conf(port), 0o644)?;
        let log = self.log("pg_ctl.log");
        fs::write(&log, "")?;
        let mut c = self.chroot(true)?;
        c.args(["pg_ctl", "-D", DATA, "-l", LOG, "-w", "-t", "120", "start"]);
        if let Err(e) = run_logged(&mut c, &log) {
            bail!("{e}\nthe end of the server log {}:\n{}", self.log_path().display(), cmd::tail(&self.log_path(), 20));
        }
        self.write_file(STARTED_WITH, &Self::fingerprint(port), 0o644)
    }

    /// Stops the server (fast shutdown), then any process left inside the root.
    /// Returns the server's pid if it was running.
    pub(crate) fn stop(&self) -> Result<Option<u32>> {
        let running = self.running();
        if running.is_some() {
            let log = self.log("pg_ctl.log");
            let mut c = self.chroot(true)?;
            c.args(["pg_ctl", "-D", DATA, "-m", "fast", "-w", "-t", "60", "stop"]);
            if let Err(e) = run_logged(&mut c, &log) {
                eprintln!("warning: {e}");
            }
        }
        let mut left = processes_inside(&self.root);
        if !left.is_empty() {
            eprintln!("sandbox: stopping {} process(es) left inside the root: {left:?}", left.len());
            for (signal, wait) in [("-TERM", 10), ("-KILL", 5)] {
                let mut kill = Command::new("kill");
                kill.arg(signal).args(left.iter().map(u32::to_string));
                let _ = cmd::succeeds(&mut kill);
                let deadline = Instant::now() + Duration::from_secs(wait);
                while !left.is_empty() && Instant::now() < deadline {
                    sleep(Duration::from_millis(100));
                    left = processes_inside(&self.root);
                }
                if left.is_empty() {
                    break;
                }
            }
            if !left.is_empty() {
                bail!("processes {left:?} inside {} would not stop", self.root.display());
            }
        }
        let _ = fs::remove_file(self.path(STARTED_WITH));
        Ok(running.map(|r| r.pid))
    }

    /// Runs `postgres/init/*.sh` against the running server (idempotent).
    pub(crate) fn run_init_scripts(&self, port: u16) -> Result<()> {
        let log = self.log("init.log");
        fs::write(&log, "")?;
        for (name, _) in INIT_FILES.iter().filter(|(n, _)| n.ends_with(".sh")) {
            let mut c = self.chroot(true)?;
            c.arg("/bin/sh")
                .arg(format!("{INIT_DIR}/{name}"))
                .env("PGHOST", SOCKET_DIR)
                .env("PGPORT", port.to_string())
                .env("PGUSER", USER)
                .env("PGPASSWORD", PASSWORD)
                .env("POSTGRES_USER", USER)
                .env("POSTGRES_PASSWORD", PASSWORD)
                .env("POSTGRES_DATABASE", DATABASE);
            run_logged(&mut c, &log)?;
        }
        Ok(())
    }

    /// psql inside the root, connected over TCP to the sandbox server.
    pub(crate) fn psql(&self, port: u16) -> Result<Command> {
        let mut c = self.chroot(false)?;
        c.env("PGPASSWORD", PASSWORD).arg("psql").args([
            "-X",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            USER,
            "-d",
            DATABASE,
        ]);
        Ok(c)
    }
}

/// Why no sandbox can be built or run here, if so.
pub(crate) fn why_not_buildable() -> Option<String> {
    if !cfg!(target_os = "linux") {
        return Some("it needs Linux".into());
    }
    if effective_uid() != Some(0) {
        return Some("it needs root (mount and chroot)".into());
    }
    let os = fs::read_to_string("/etc/os-release").unwrap_or_default();
    let debian_like = os
        .lines()
        .any(|l| (l.starts_with("ID=") || l.starts_with("ID_LIKE=")) && (l.contains("debian") || l.contains("ubuntu")));
    if !debian_like {
        return Some("it needs Debian or Ubuntu (debootstrap and apt-get)".into());
    }
    if cmd::which("debootstrap").is_none()
        && !Path::new("/usr/sbin/debootstrap").exists()
        && cmd::which("apt-get").is_none()
    {
        return Some("neither debootstrap nor apt-get is installed".into());
    }
    None
}

fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Installs Debian's debootstrap on the host when it is missing (a package of
/// the host's own release; nothing of trixie goes into the host).
fn ensure_debootstrap() -> Result<()> {
    if cmd::which("debootstrap").is_some() || Path::new("/usr/sbin/debootstrap").exists() {
        return Ok(());
    }
    eprintln!("sandbox: installing debootstrap on the host with apt-get");
    let install = || {
        let mut c = Command::new("apt-get");
        c.args(["install", "-y", "--no-install-recommends", "debootstrap"]).env("DEBIAN_FRONTEND", "noninteractive");
        cmd::succeeds(&mut c)
    };
    if !install() {
        run(Command::new("apt-get").arg("update"))?;
        if !install() {
            bail!("apt-get install debootstrap failed");
        }
    }
    Ok(())
}

/// Removes a folder tree after unmounting anything inside it, never crossing
/// into another file system.
fn remove_tree(path: &Path) -> Result<()> {
    unmount_under(path)?;
    if mount_points()?.iter().any(|m| m.starts_with(path)) {
        bail!("{} still has mounts inside; not removing it", path.display());
    }
    run(Command::new("rm").args(["-rf", "--one-file-system"]).arg(path))
}

/// Mount points, from /proc/self/mountinfo.
fn mount_points() -> Result<Vec<PathBuf>> {
    let info = fs::read_to_string("/proc/self/mountinfo")?;
    Ok(info.lines().filter_map(|l| l.split(' ').nth(4)).map(|p| PathBuf::from(unescape_mount_path(p))).collect())
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape_mount_path(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b)) {
            let v = bytes[i + 1..i + 4].iter().fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            out.push(v as u8);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_mount_point(path: &Path) -> Result<bool> {
    Ok(mount_points()?.iter().any(|m| m == path))
}

fn unmount_under(prefix: &Path) -> Result<()> {
    let mut points: Vec<PathBuf> = mount_points()?.into_iter().filter(|m| m.starts_with(prefix)).collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    points.dedup();
    for point in points {
        let mut tries = 0;
        while is_mount_point(&point)? {
            let mut c = Command::new("umount");
            c.arg(&point);
            match output(&mut c) {
                Ok(_) => {}
                Err(e) if tries < 20 => {
                    if tries == 0 {
                        eprintln!("sandbox: {e}; retrying");
                    }
                    sleep(Duration::from_millis(250));
                }
                Err(e) => return Err(e),
            }
            tries += 1;
        }
    }
    Ok(())
}

/// The root folder of a process, as the host sees it.
fn process_root(pid: u32) -> Option<PathBuf> {
    fs::read_link(format!("/proc/{pid}/root")).ok()
}

/// Every live (not zombie) process whose root is `root`.
fn processes_inside(root: &Path) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| process_root(*pid).as_deref() == Some(root))
        .filter(|pid| {
            // The state follows the parenthesised command name in /proc/PID/stat.
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) != Some("Z")
        })
        .collect()
}

/// Whether nothing listens on 127.0.0.1:`port`.
pub(crate) fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A stable 64-bit FNV-1a hash of some texts, for cache keys.
pub(crate) fn fnv1a(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_paths_are_unescaped() {
        assert_eq!(unescape_mount_path(r"/a\040b/c\134d"), "/a b/c\\d");
        assert_eq!(unescape_mount_path("/plain"), "/plain");
        assert_eq!(unescape_mount_path(r"/end\04"), r"/end\04");
    }

    #[test]
    fn fingerprint_depends_on_port() {
        assert_ne!(Sandbox::fingerprint(1), Sandbox::fingerprint(2));
        assert_eq!(Sandbox::fingerprint(55432), Sandbox::fingerprint(55432));
    }
}
