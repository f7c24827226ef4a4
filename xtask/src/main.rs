//! `cargo xtask`: project automation.
//!
//! One way of getting a PostgreSQL 17 server with pgvector and Apache AGE that
//! developers, CI, benchmarks and users share (`pg up`), the local Docker image
//! (`image`), and the workflows built on them (`demo`, `test`, `bench`, `ci`).
//! `cargo xtask` with no arguments prints the commands.

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cmd;
mod hash_embed;
mod image;
mod interop;
mod sandbox;
mod serve_bench;
mod server;
mod tasks;
mod vs_python;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// What went wrong, as a sentence for the person at the terminal.
#[derive(Debug)]
pub(crate) struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self(e.to_string())
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// Returns early with an [`Error`] built like `format!`.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::Error(format!($($arg)*)))
    };
}
pub(crate) use bail;

/// Adds what was being done to an error.
pub(crate) trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error(format!("{}: {e}", what())))
    }
}

const USAGE: &str = "\
cargo xtask <command>

A PostgreSQL 17 server with pgvector 0.8 and Apache AGE 1.5:
  pg up [--port N]   make one available and print its settings: the server that
                     POSTGRES_HOST / DATABASE_URL point at if it answers, else a
                     sandbox server (Debian trixie root in a chroot; needs root on
                     Debian or Ubuntu) on 127.0.0.1:55432
  pg down            stop the sandbox server and unmount its file systems
  pg status          versions, port, data folder, running or not
  pg psql [ARGS]     psql connected to the server (ARGS go to psql)
  pg logs [-n N]     the last N lines (default 100, 0 = all) of the sandbox server's log
  pg env             `export POSTGRES_...=` lines: eval \"$(cargo xtask pg env)\"
  image              build the local Docker image lightrag-pg/postgres:17 from the
                     sandbox root (no registry needed)
  image --serve      build lightrag-pg/lightrag-pg:dev, the image of lightrag-pg serve
                     (docker-compose.yml's profile \"serve\"): the same root without
                     PostgreSQL, and the release lightrag-pg binary

Workflows:
  setup              prepare everything demo, test, interop and bench need: the
                     server (pg up), the local Docker image where a Docker engine
                     answers, and the Python venv with lightrag-hku 1.5.7
  demo               the main job: migrate examples/demo-kb into PostgreSQL, then query it
  test [ARGS]        pg up, then every test of every crate with all features, the
                     integration tests against the server and, where a Docker engine
                     answers, the testcontainers tests (ARGS go to cargo test)
  bench [ARGS]       pg up, then cargo bench -p lightrag-pg-benches (ARGS go to cargo bench)
  bench --vs-python [--quick] [--runs N] [--only PREFIX]
                     the same storage operations through Python LightRAG 1.5.7's
                     PostgreSQL storages and ours on the same server, with the
                     server's own time as floor: a table of medians and ratios,
                     saved to target/bench-vs-python.json
  bench --migrate [--rows N] [--runs R]
                     lightrag-pg migrate of a generated working directory of N
                     chunks (default 100,000) × 768 dimensions, with its entities,
                     relations and graph, against the server's floor (psql \\copy,
                     then one CREATE INDEX), and its peak RSS at N/10 and N: a
                     table of medians, saved to target/bench-migrate.json
  bench --serve [--seconds N] [--clients 1,8,32] [--replicas 0|1]
                     lightrag-pg serve and the real lightrag-server 1.5.7 on the same
                     knowledge base (dickens): POST /query/data under 1, 8 and 32
                     concurrent clients for N s each (default 10): req/s, p50, p99,
                     errors, saved to target/bench-serve.json; --replicas 1: on a
                     primary and a streaming standby, ours reading the standby,
                     where the reads ran and the fallback when the standby stops
  interop [SCENARIO...]
                     pg up, a Python venv with lightrag-hku 1.5.7 (cached in
                     target/interop/venv), then the interop scenarios against the real
                     Python LightRAG (interop/README.md)
  ci                 what CI checks: fmt, clippy, test, the facade with each
                     backend feature alone and with none, doc, cargo-deny

Environment:
  POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DATABASE
  or DATABASE_URL            use this server instead of the sandbox
  LIGHTRAG_PG_SANDBOX_DIR    where the sandbox lives (default target/pg-sandbox)
  LIGHTRAG_PG_MIRROR         Debian mirror for debootstrap (default http://deb.debian.org/debian)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => {
            print!("{USAGE}");
            return Ok(());
        }
    };
    match cmd {
        "pg" => run_pg(rest),
        "image" => match rest {
            [] => image::build().map(|_| ()),
            [serve] if serve == "--serve" => image::build_serve().map(|_| ()),
            _ => bail!("usage: cargo xtask image [--serve] (got {rest:?})"),
        },
        "setup" => {
            no_args("setup", rest)?;
            setup()
        }
        "demo" => {
            no_args("demo", rest)?;
            tasks::demo()
        }
        "test" => tasks::test(rest),
        "bench" if rest.iter().any(|a| a == "--vs-python") => vs_python::bench(rest),
        "bench" if rest.iter().any(|a| a == "--migrate") => tasks::bench_migrate(rest),
        "bench" if rest.iter().any(|a| a == "--serve") => serve_bench::bench(rest),
        "bench" => tasks::bench(rest),
        "interop" => interop::interop(rest),
        "ci" => {
            no_args("ci", rest)?;
            tasks::ci()
        }
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command `{other}`; `cargo xtask` lists the commands"),
    }
}

fn run_pg(args: &[String]) -> Result<()> {
    let (sub, rest) = match args.split_first() {
        Some((s, r)) => (s.as_str(), r),
        None => bail!("`cargo xtask pg` needs a command: up, down, status, psql, logs or env"),
    };
    match sub {
        "up" => {
            let port = match rest {
                [] => None,
                [flag, n] if flag == "--port" => Some(parse_port(n)?),
                [flag] if flag.starts_with("--port=") => Some(parse_port(&flag["--port=".len()..])?),
                _ => bail!("usage: cargo xtask pg up [--port N]"),
            };
            server::up(port).map(|_| ())
        }
        "down" => {
            no_args("pg down", rest)?;
            server::down()
        }
        "status" => {
            no_args("pg status", rest)?;
            server::status()
        }
        "psql" => server::psql(rest),
        "logs" => {
            let lines = match rest {
                [] => 100,
                [flag, n] if flag == "-n" => n.parse().context(|| format!("-n {n}"))?,
                _ => bail!("usage: cargo xtask pg logs [-n N]"),
            };
            server::logs(lines)
        }
        "env" => {
            no_args("pg env", rest)?;
            server::env()
        }
        other => bail!("unknown command `pg {other}`: use up, down, status, psql, logs or env"),
    }
}

fn parse_port(s: &str) -> Result<u16> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => bail!("invalid port `{s}`"),
    }
}

fn no_args(cmd: &str, rest: &[String]) -> Result<()> {
    if rest.is_empty() { Ok(()) } else { bail!("`cargo xtask {cmd}` takes no arguments (got {rest:?})") }
}

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub(crate) fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives inside the workspace")
}

/// Cargo's target folder: `CARGO_TARGET_DIR` or `<workspace>/target`.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join("target"),
    }
}

/// `setup`: the server, the images (where Docker answers) and the interop venv,
/// each reused when already there.
fn setup() -> Result<()> {
    let server = server::up(None)?;
    let port = server.env().into_iter().find(|(k, _)| k == "POSTGRES_PORT").map(|(_, v)| v);
    println!("server: ready on port {}", port.as_deref().unwrap_or("?"));
    if image::docker_answers() {
        image::build()?;
        image::build_serve()?;
    } else {
        println!("image: not built (no Docker engine answers here; the Docker tests need one)");
    }
    let python = interop::venv()?;
    println!("python: {} (lightrag-hku 1.5.7)", python.display());
    Ok(())
}
