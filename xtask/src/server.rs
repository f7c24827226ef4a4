//! Which server the project uses, and the `pg` commands.
//!
//! `pg up` picks, in this order: the server that `POSTGRES_HOST` (or
//! `DATABASE_URL`) points at, if it answers (only its extensions are checked);
//! else the sandbox (see [`crate::sandbox`]); else it says exactly what to do.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::cmd::{self, output};
use crate::sandbox::{self, DATABASE, DEFAULT_PORT, PASSWORD, Sandbox, USER};
use crate::{Error, Result, bail};

/// A server given by the environment.
#[derive(Debug, Clone)]
pub(crate) struct External {
    host: String,
    port: u16,
    /// `POSTGRES_HOST` was set (else only `DATABASE_URL`).
    from_postgres_vars: bool,
}

/// The server in use.
#[derive(Debug)]
pub(crate) enum Server {
    /// The sandbox, on 127.0.0.1:`port`.
    Sandbox { sandbox: Sandbox, port: u16 },
    /// The one `POSTGRES_*` / `DATABASE_URL` point at.
    External(External),
}

/// What the server reports about itself.
#[derive(Debug)]
pub(crate) struct Versions {
    server: String,
    vector: String,
    age: String,
    vector_available: String,
    age_available: String,
    database: String,
}

const VERSIONS_SQL: &str = "SELECT current_setting('server_version'), \
    coalesce((SELECT extversion FROM pg_extension WHERE extname = 'vector'), ''), \
    coalesce((SELECT extversion FROM pg_extension WHERE extname = 'age'), ''), \
    coalesce((SELECT default_version FROM pg_available_extensions WHERE name = 'vector'), ''), \
    coalesce((SELECT default_version FROM pg_available_extensions WHERE name = 'age'), ''), \
    current_database()";

impl Server {
    /// The variables that point a child process at this server (none for an
    /// external server: the child inherits them).
    pub(crate) fn env(&self) -> Vec<(String, String)> {
        match self {
            Server::Sandbox { sandbox, port } => {
                let mut vars = sandbox_settings(*port);
                // Tests run helper programs of Debian 13 from the root (PgBouncer).
                vars.push(("LIGHTRAG_PG_SANDBOX_ROOT".to_owned(), sandbox.root().display().to_string()));
                vars
            }
            Server::External(_) => Vec::new(),
        }
    }

    /// Whether this is the sandbox.
    pub(crate) fn is_sandbox(&self) -> bool {
        matches!(self, Server::Sandbox { .. })
    }

    /// psql connected to the server, if a psql can be had.
    pub(crate) fn psql(&self) -> Result<Option<Command>> {
        match self {
            Server::Sandbox { sandbox, port } => sandbox.psql(*port).map(Some),
            Server::External(ext) => external_psql(ext),
        }
    }

    /// Runs one query and returns its rows, fields separated by `|`.
    pub(crate) fn query(&self, sql: &str) -> Result<Option<String>> {
        let Some(mut c) = self.psql()? else {
            return Ok(None);
        };
        c.args(["-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-F", "|", "-c", sql]);
        output(&mut c).map(Some)
    }

    /// PostgreSQL's and the extensions' versions.
    pub(crate) fn versions(&self) -> Result<Option<Versions>> {
        let Some(row) = self.query(VERSIONS_SQL)? else {
            return Ok(None);
        };
        let f: Vec<&str> = row.trim().split('|').collect();
        if f.len() != 6 {
            bail!("unexpected answer from the server: {row:?}");
        }
        Ok(Some(Versions {
            server: f[0].into(),
            vector: f[1].into(),
            age: f[2].into(),
            vector_available: f[3].into(),
            age_available: f[4].into(),
            database: f[5].into(),
        }))
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Server::Sandbox { port, .. } => format!("sandbox on 127.0.0.1:{port}"),
            Server::External(e) => format!(
                "{}:{} from {}",
                e.host,
                e.port,
                if e.from_postgres_vars { "POSTGRES_HOST" } else { "DATABASE_URL" }
            ),
        }
    }
}

/// The sandbox's settings, as LightRAG's variables plus a URL.
fn sandbox_settings(port: u16) -> Vec<(String, String)> {
    [
        ("POSTGRES_HOST", "127.0.0.1".to_owned()),
        ("POSTGRES_PORT", port.to_string()),
        ("POSTGRES_USER", USER.to_owned()),
        ("POSTGRES_PASSWORD", PASSWORD.to_owned()),
        ("POSTGRES_DATABASE", DATABASE.to_owned()),
        ("DATABASE_URL", format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{port}/{DATABASE}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The server `POSTGRES_HOST` or `DATABASE_URL` names, if any.
fn external_from_env() -> Option<External> {
    if let Some(hosts) = var("POSTGRES_HOST") {
        let first = hosts.split(',').next().unwrap_or_default().trim().to_owned();
        let default_port = var("POSTGRES_PORT").and_then(|p| p.trim().parse().ok()).unwrap_or(5432);
        let (host, port) = split_host_port(&first, default_port);
        return Some(External { host, port, from_postgres_vars: true });
    }
    let url = var("DATABASE_URL")?;
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let first = hostport.split(',').next().unwrap_or_default();
    let (host, port) = split_host_port(first, 5432);
    let host = if host.is_empty() { "localhost".to_owned() } else { host };
    Some(External { host, port, from_postgres_vars: false })
}

fn split_host_port(s: &str, default_port: u16) -> (String, u16) {
    if let Some(rest) = s.strip_prefix('[')
        && let Some((h, tail)) = rest.split_once(']')
    {
        let port = tail.strip_prefix(':').and_then(|p| p.parse().ok()).unwrap_or(default_port);
        return (h.to_owned(), port);
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && !h.starts_with('/') => (h.to_owned(), p.parse().unwrap_or(default_port)),
        _ => (s.to_owned(), default_port),
    }
}

fn reachable(ext: &External) -> bool {
    if ext.host.starts_with('/') {
        return Path::new(&ext.host).join(format!(".s.PGSQL.{}", ext.port)).exists();
    }
    let Ok(addrs) = (ext.host.as_str(), ext.port).to_socket_addrs() else {
        return false;
    };
    addrs.into_iter().any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(3)).is_ok())
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "::1") || host.starts_with("127.")
}

/// The environment's server is really the running sandbox (its settings were exported).
fn is_the_sandbox(ext: &External, sandbox: &Sandbox) -> bool {
    is_loopback(&ext.host) && sandbox.running().is_some_and(|r| r.port == ext.port)
}

/// psql for an external server: the sandbox's (when its root is built and we
/// are root) or the host's; `None` when there is none.
fn external_psql(ext: &External) -> Result<Option<Command>> {
    let sandbox = Sandbox::locate()?;
    let mut c = if sandbox.is_ready() && sandbox::why_not_buildable().is_none() {
        sandbox.mount()?;
        let mut c = sandbox.chroot(false)?;
        c.arg("psql");
        c
    } else if let Some(psql) = cmd::which("psql") {
        Command::new(psql)
    } else {
        return Ok(None);
    };
    c.arg("-X");
    if ext.from_postgres_vars {
        c.env("PGHOST", &ext.host).env("PGPORT", ext.port.to_string());
        for (from, to) in [
            ("POSTGRES_USER", "PGUSER"),
            ("POSTGRES_PASSWORD", "PGPASSWORD"),
            ("POSTGRES_DATABASE", "PGDATABASE"),
            ("POSTGRES_SSL_MODE", "PGSSLMODE"),
            ("POSTGRES_SSL_CERT", "PGSSLCERT"),
            ("POSTGRES_SSL_KEY", "PGSSLKEY"),
            ("POSTGRES_SSL_ROOT_CERT", "PGSSLROOTCERT"),
            ("POSTGRES_SSL_CRL", "PGSSLCRL"),
        ] {
            if let Some(v) = var(from) {
                c.env(to, v);
            }
        }
        if var("POSTGRES_USER").is_none() {
            c.env("PGUSER", "postgres");
        }
        if var("POSTGRES_DATABASE").is_none() {
            c.env("PGDATABASE", "postgres");
        }
    } else if let Some(url) = var("DATABASE_URL") {
        c.args(["-d", &url]);
    }
    Ok(Some(c))
}

/// What to do where neither an answering server nor a sandbox can be had.
fn instructions(why: &str) -> String {
    format!(
        "no PostgreSQL with pgvector and AGE can be provided here: no POSTGRES_HOST or DATABASE_URL \
         names a server that answers, and a sandbox server is not possible ({why}).\n\
         Do one of these, then run the command again:\n\
         \x20 - on Debian or Ubuntu, run it as root (sudo -E cargo xtask ...): it builds the sandbox itself;\n\
         \x20 - with Docker and a registry: docker compose -f docker/docker-compose.yml up -d --wait\n\
         \x20   then export POSTGRES_HOST=127.0.0.1 POSTGRES_PORT=5432 POSTGRES_USER=postgres \\\n\
         \x20   POSTGRES_PASSWORD=lightrag POSTGRES_DATABASE=lightrag;\n\
         \x20 - or point POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD and \
         POSTGRES_DATABASE (or DATABASE_URL) at a PostgreSQL 17 server with pgvector 0.8 and AGE 1.5."
    )
}

/// `pg up`: makes a server available and prints its settings.
pub(crate) fn up(requested: Option<u16>) -> Result<Server> {
    let started = Instant::now();
    let sandbox = Sandbox::locate()?;
    if requested.is_none()
        && let Some(ext) = external_from_env()
        && !is_the_sandbox(&ext, &sandbox)
    {
        if reachable(&ext) {
            let server = Server::External(ext);
            check_external(&server)?;
            print_settings(&server, started)?;
            return Ok(server);
        }
        eprintln!(
            "note: {}:{} (from {}) does not answer; using the sandbox instead",
            ext.host,
            ext.port,
            if ext.from_postgres_vars { "POSTGRES_HOST" } else { "DATABASE_URL" }
        );
    }
    if let Some(why) = sandbox::why_not_buildable() {
        bail!("{}", instructions(&why));
    }
    sandbox.ensure_root()?;
    sandbox.mount()?;
    sandbox.provision()?;
    sandbox.initdb()?;
    let wanted = requested.or_else(|| sandbox.configured_port()).unwrap_or(DEFAULT_PORT);
    let mut port = wanted;
    match sandbox.running() {
        Some(r) if sandbox.is_current(r, wanted) => {}
        running => {
            if let Some(r) = running {
                eprintln!(
                    "sandbox: restarting the server (pid {}, port {}) with the current configuration on port {wanted}",
                    r.pid, r.port
                );
                sandbox.stop()?;
            }
            if !sandbox::port_is_free(wanted) {
                if requested.is_some() {
                    bail!("port {wanted} on 127.0.0.1 is taken by another program; choose another with --port");
                }
                port = (wanted + 1..wanted.saturating_add(50))
                    .find(|p| sandbox::port_is_free(*p))
                    .ok_or_else(|| Error(format!("ports {wanted}..{} are all taken", wanted.saturating_add(50))))?;
                eprintln!("sandbox: port {wanted} is taken by another program; using {port}");
            }
            sandbox.start(port)?;
        }
    }
    sandbox.run_init_scripts(port)?;
    let server = Server::Sandbox { sandbox, port };
    print_settings(&server, started)?;
    Ok(server)
}

fn check_external(server: &Server) -> Result<()> {
    let Some(v) = server.versions()? else {
        eprintln!("note: no psql here to check the extensions of {}; the tests will", server.describe());
        return Ok(());
    };
    if !v.server.starts_with("17") {
        eprintln!("warning: {} runs PostgreSQL {}; this project targets 17", server.describe(), v.server);
    }
    for (name, installed, available, want) in [
        ("vector (pgvector)", &v.vector, &v.vector_available, "0.8"),
        ("age (Apache AGE)", &v.age, &v.age_available, "1.5"),
    ] {
        if installed.is_empty() && available.is_empty() {
            bail!(
                "{} has no extension {name} (database {}); install pgvector {want} and AGE 1.5 there, \
                 or unset POSTGRES_HOST/DATABASE_URL to use the sandbox",
                server.describe(),
                v.database
            );
        }
        if installed.is_empty() {
            eprintln!(
                "note: extension {name} {available} is available but not created in database {}; \
                 postgres/init/01-init.sql creates it",
                v.database
            );
        }
    }
    Ok(())
}

fn print_settings(server: &Server, started: Instant) -> Result<()> {
    let v = server.versions()?;
    let what = match &v {
        Some(v) => format!(
            "PostgreSQL {}, pgvector {}, AGE {}",
            v.server,
            or_dash(&v.vector, &v.vector_available),
            or_dash(&v.age, &v.age_available)
        ),
        None => "PostgreSQL".to_owned(),
    };
    println!("{what}: ready ({}, {:.1} s)", server.describe(), started.elapsed().as_secs_f64());
    print_exports(server);
    Ok(())
}

fn or_dash(installed: &str, available: &str) -> String {
    match (installed.is_empty(), available.is_empty()) {
        (false, _) => installed.to_owned(),
        (true, false) => format!("{available} (available, not created)"),
        (true, true) => "-".to_owned(),
    }
}

fn shell_quote(v: &str) -> String {
    if !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c)) {
        v.to_owned()
    } else {
        format!("'{}'", v.replace('\'', "'\\''"))
    }
}

fn print_exports(server: &Server) {
    let vars = match server {
        Server::Sandbox { .. } => server.env(),
        Server::External(_) => [
            "POSTGRES_HOST",
            "POSTGRES_PORT",
            "POSTGRES_USER",
            "POSTGRES_PASSWORD",
            "POSTGRES_DATABASE",
            "DATABASE_URL",
        ]
        .into_iter()
        .filter_map(|k| var(k).map(|v| (k.to_owned(), v)))
        .collect(),
    };
    for (k, v) in vars {
        println!("export {k}={}", shell_quote(&v));
    }
}

/// The server `pg up` would use, without starting anything.
fn current() -> Result<Server> {
    let sandbox = Sandbox::locate()?;
    if let Some(ext) = external_from_env()
        && !is_the_sandbox(&ext, &sandbox)
        && reachable(&ext)
    {
        return Ok(Server::External(ext));
    }
    let port = sandbox.running().map(|r| r.port).or_else(|| sandbox.configured_port()).unwrap_or(DEFAULT_PORT);
    Ok(Server::Sandbox { sandbox, port })
}

/// `pg down`: stops the sandbox server and unmounts its file systems.
pub(crate) fn down() -> Result<()> {
    let sandbox = Sandbox::locate()?;
    if !sandbox.root().exists() {
        println!("no sandbox at {}", sandbox.root().display());
        return Ok(());
    }
    if let Some(why) = sandbox::why_not_buildable() {
        bail!("cannot manage the sandbox here: {why}");
    }
    match sandbox.stop()? {
        Some(pid) => println!("sandbox server stopped (pid {pid})"),
        None => println!("sandbox server was not running"),
    }
    let had_mounts = sandbox.has_mounts()?;
    sandbox.unmount()?;
    if had_mounts {
        println!("unmounted {}/dev and /proc", sandbox.root().display());
    }
    if external_from_env().is_some_and(|e| !is_the_sandbox(&e, &sandbox)) {
        println!("note: the server POSTGRES_HOST/DATABASE_URL names is not managed here and was left alone");
    }
    Ok(())
}

/// `pg status`.
pub(crate) fn status() -> Result<()> {
    let server = current()?;
    match &server {
        Server::External(_) => {
            println!("server:      {} (from the environment)", server.describe());
            println!("running:     yes (it answers)");
        }
        Server::Sandbox { sandbox, port } => {
            println!("server:      sandbox (chroot) in {}", sandbox.root().display());
            match sandbox.marker() {
                Some(m) => {
                    let pkgs: Vec<&str> = m.lines().filter(|l| l.starts_with("postgresql-")).collect();
                    println!("root:        ready ({})", pkgs.join(", "));
                }
                None => println!("root:        not built (cargo xtask pg up builds it)"),
            }
            println!("data folder: {}", sandbox.data_path().display());
            println!("log:         {}", sandbox.log_path().display());
            match sandbox.running() {
                Some(r) => println!("running:     yes (pid {}) on 127.0.0.1:{}", r.pid, r.port),
                None => {
                    println!("running:     no (port {port} when started)");
                    return Ok(());
                }
            }
        }
    }
    match server.versions()? {
        Some(v) => {
            println!("PostgreSQL:  {}", v.server);
            println!("pgvector:    {}", or_dash(&v.vector, &v.vector_available));
            println!("AGE:         {}", or_dash(&v.age, &v.age_available));
            println!("database:    {}", v.database);
        }
        None => println!("versions:    unknown (no psql here)"),
    }
    Ok(())
}

/// `pg psql [ARGS]`.
pub(crate) fn psql(args: &[String]) -> Result<()> {
    let server = current()?;
    if let Server::Sandbox { sandbox, .. } = &server
        && sandbox.running().is_none()
    {
        bail!("the sandbox server is not running: cargo xtask pg up");
    }
    let Some(mut c) = server.psql()? else { bail!("no psql here") };
    c.args(args);
    let status = c.status()?;
    if !status.success() {
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}

/// `pg logs [-n N]`.
pub(crate) fn logs(lines: usize) -> Result<()> {
    let sandbox = Sandbox::locate()?;
    let log = sandbox.log_path();
    if !log.exists() {
        bail!("no server log at {} (the sandbox server never ran)", log.display());
    }
    println!("{}", cmd::tail(&log, lines));
    Ok(())
}

/// `pg env`: `export` lines for the server `pg up` uses.
pub(crate) fn env() -> Result<()> {
    let server = current()?;
    if let Server::Sandbox { sandbox, .. } = &server
        && sandbox.running().is_none()
    {
        eprintln!("# note: the sandbox server is not running: cargo xtask pg up");
    }
    print_exports(&server);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_are_split() {
        assert_eq!(split_host_port("db:6543", 5432), ("db".into(), 6543));
        assert_eq!(split_host_port("db", 5432), ("db".into(), 5432));
        assert_eq!(split_host_port("[::1]:7000", 5432), ("::1".into(), 7000));
        assert_eq!(split_host_port("/var/run/postgresql", 5432), ("/var/run/postgresql".into(), 5432));
    }

    #[test]
    fn values_are_quoted_for_the_shell() {
        assert_eq!(shell_quote("lightrag"), "lightrag");
        assert_eq!(shell_quote("postgres://u:p@h:1/d"), "postgres://u:p@h:1/d");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
