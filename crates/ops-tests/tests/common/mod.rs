//! A throwaway PostgreSQL 17 cluster run from the sandbox root (adapted from
//! crates/pg-pool/tests/common/server.rs): initdb in its own data directory,
//! its own port, stopped and deleted on drop. Without the root the tests FAIL.
#![allow(dead_code, unreachable_pub)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = "/usr/lib/postgresql/17/bin";

/// The workspace root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A short random hex suffix for names.
pub fn suffix() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// The sandbox root: `LIGHTRAG_PG_SANDBOX_ROOT`, else `target/pg-sandbox/rootfs`.
pub fn sandbox_root() -> PathBuf {
    let root = std::env::var_os("LIGHTRAG_PG_SANDBOX_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/pg-sandbox/rootfs"));
    if !root.join("usr/lib/postgresql/17/bin/postgres").exists() || !root.join("proc/self").exists() {
        panic!(
            "no usable sandbox root at {} (PostgreSQL 17 and /proc inside); `cargo xtask pg up` prepares it",
            root.display()
        );
    }
    root
}

fn postgres_ids(root: &Path) -> (u32, u32) {
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).expect("etc/passwd in the sandbox root");
    let line = passwd.lines().find(|l| l.starts_with("postgres:")).expect("a postgres user");
    let f: Vec<&str> = line.split(':').collect();
    (f[2].parse().expect("uid"), f[3].parse().expect("gid"))
}

/// Runs `cmd` as postgres inside the root.
pub fn as_postgres_output(root: &Path, cmd: &str) -> Output {
    Command::new("chroot")
        .arg(root)
        .args(["su", "postgres", "-s", "/bin/sh", "-c", cmd])
        .output()
        .unwrap_or_else(|e| panic!("cannot run chroot (are we root, with chroot on PATH?): {e}"))
}

/// Runs `cmd` as postgres inside the root; its stdout, or a panic with the output.
pub fn as_postgres(root: &Path, cmd: &str) -> String {
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

fn free_port() -> u16 {
    for _ in 0..200 {
        let port = 56000 + (rand::random::<u16>() % 400);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in 56000..56400");
}

/// A running throwaway cluster whose superuser is `postgres` (password `password`).
#[derive(Debug)]
pub struct Cluster {
    pub root: PathBuf,
    /// The data directory inside the root (also the Unix socket directory).
    pub data: String,
    host_dir: PathBuf,
    /// A scratch directory inside the root, owned by postgres.
    pub scratch: String,
    pub port: u16,
    pub password: String,
}

impl Cluster {
    /// initdb, `postgres/config/postgresql.conf` included (memory scaled down
    /// after it), start.
    pub fn start(prefix: &str) -> Cluster {
        let root = sandbox_root();
        let (uid, gid) = postgres_ids(&root);
        let name = format!("ops-{prefix}-{}", suffix());
        let data = format!("/var/lib/lightrag-pg/{name}");
        let scratch = format!("/tmp/{name}");
        let host_dir = root.join(data.trim_start_matches('/'));
        let host_scratch = root.join(scratch.trim_start_matches('/'));
        for d in [&host_dir, &host_scratch] {
            std::fs::create_dir_all(d).expect("directory");
            std::os::unix::fs::chown(d, Some(uid), Some(gid)).expect("chown");
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let password = format!("pw-{}", suffix());
        std::fs::write(host_scratch.join("pw"), &password).unwrap();
        std::os::unix::fs::chown(host_scratch.join("pw"), Some(uid), Some(gid)).unwrap();
        // The project's configuration file and init scripts, copied into the root.
        std::fs::copy(repo().join("postgres/config/postgresql.conf"), host_scratch.join("postgresql.conf")).unwrap();
        std::fs::copy(repo().join("postgres/scripts/backup.sh"), host_scratch.join("backup.sh")).unwrap();
        std::fs::create_dir_all(host_scratch.join("init")).unwrap();
        for e in std::fs::read_dir(repo().join("postgres/init")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), host_scratch.join("init").join(e.file_name())).unwrap();
        }
        let c = Cluster {
            root: root.clone(),
            data: data.clone(),
            host_dir,
            scratch: scratch.clone(),
            port: free_port(),
            password,
        };
        as_postgres(
            &root,
            &format!(
                "{BIN}/initdb -D {data} -U postgres --pwfile={scratch}/pw --auth-local=trust --auth-host=scram-sha-256 \
                 -N -E UTF8 --locale=C.UTF-8 >/dev/null"
            ),
        );
        let extra = format!(
            "\ninclude '{scratch}/postgresql.conf'\n# test overrides\nport = {}\nlisten_addresses = 'localhost'\n\
             unix_socket_directories = '{data}'\nfsync = off\nshared_buffers = 16MB\nmax_connections = 30\n\
             effective_cache_size = 128MB\nmaintenance_work_mem = 64MB\nmax_wal_size = 256MB\nmin_wal_size = 64MB\n",
            c.port
        );
        let mut conf = std::fs::read_to_string(c.host_dir.join("postgresql.conf")).unwrap();
        conf.push_str(&extra);
        std::fs::write(c.host_dir.join("postgresql.conf"), conf).unwrap();
        as_postgres(&root, &format!("{BIN}/pg_ctl -D {data} -l {data}/server.log -w -t 60 start >/dev/null"));
        c
    }

    /// The libpq environment that reaches this cluster as the superuser.
    pub fn pgenv(&self) -> String {
        format!("PGHOST={} PGPORT={} PGUSER=postgres PGPASSWORD={}", self.data, self.port, self.password)
    }

    /// Runs SQL as postgres in `db`; unaligned tuples.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let quoted = sql.replace('\'', "'\\''");
        as_postgres(
            &self.root,
            &format!("{} {BIN}/psql -X -q -t -A -v ON_ERROR_STOP=1 -d {db} -c '{quoted}'", self.pgenv()),
        )
    }

    /// Runs a shell command as postgres inside the root with the cluster's libpq
    /// environment and `PATH` containing psql.
    pub fn sh(&self, env: &str, cmd: &str) -> Output {
        as_postgres_output(&self.root, &format!("export PATH={BIN}:/usr/bin:/bin {} {env}; {cmd}", self.pgenv()))
    }

    /// The server log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.host_dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres_output(&self.root, &format!("{BIN}/pg_ctl -D {} -w -m immediate stop", self.data));
        let _ = std::fs::remove_dir_all(&self.host_dir);
        let _ = std::fs::remove_dir_all(self.root.join(self.scratch.trim_start_matches('/')));
    }
}
