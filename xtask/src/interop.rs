//! `interop`: the scenarios of `interop/` against the real Python LightRAG
//! 1.5.7 on the `pg up` server (see `interop/README.md`).
//!
//! 1. A virtual environment under `target/interop/venv` with `lightrag-hku[api]==1.5.7`,
//!    `asyncpg` and `pgvector` from PyPI, cached: `target/interop/venv/.ready`
//!    records what was installed and is the cache key.
//! 2. The `lightrag-pg` CLI and `lightrag-pg-interop` (the Rust side of the
//!    scenarios), built in the dev profile.
//! 3. The self-test of the comparison (`interop/test_compare.py`), then every
//!    scenario (`interop/scenarios.py`), with the server's settings exported.
//! 4. The upgrade scenarios (`interop/legacy_scenarios.py`): databases that
//!    lightrag-hku 1.2.6, 1.3.9 and 1.4.9 wrote (one venv each under
//!    `target/interop/legacy/<version>`, cached the same way) are upgraded by
//!    `lightrag-pg init`.
//! 5. `lightrag-pg-graph`'s `python_interop` tests (ignored by `cargo test`,
//!    since they need this venv). Any failure fails the command.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{self, cargo, output, run, run_logged};
use crate::server::{self, Server};
use crate::{Error, Result, bail, target_dir, workspace_root};

/// What the virtual environment holds; `.ready` holds exactly this.
/// `[api]`: the LightRAG server (`lightrag-server`, FastAPI), which the `serve`
/// scenario and `bench --serve` run beside `lightrag-pg serve`.
/// `openai`: LightRAG's `openai_embed` binding, which the retrieval benchmark
/// uses (without it LightRAG installs it at import time).
pub(crate) const REQUIREMENTS: &[&str] = &["lightrag-hku[api]==1.5.7", "asyncpg", "pgvector", "openai"];

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn venv_dir() -> PathBuf {
    target_dir().join("interop").join("venv")
}

/// The older lightrag-hku releases whose databases `legacy_scenarios.py`
/// upgrades, with what each needs for its PostgreSQL storages: the release's
/// own dependencies, plus the drivers and `httpx`, which 1.3 and 1.4 import
/// without declaring it. 1.2.6 declares no dependency at all, so its list is
/// spelled out (no extras: nothing heavier than pandas).
pub(crate) const LEGACY_RELEASES: &[(&str, &[&str])] = &[
    (
        "1.2.6",
        &[
            "lightrag-hku==1.2.6",
            "asyncpg",
            "pgvector",
            "httpx",
            "numpy",
            "pandas",
            "tenacity",
            "pipmaster",
            "python-dotenv",
            "tiktoken",
            "networkx",
            "pydantic",
        ],
    ),
    ("1.3.9", &["lightrag-hku==1.3.9", "asyncpg", "pgvector", "httpx"]),
    ("1.4.9", &["lightrag-hku==1.4.9", "asyncpg", "pgvector", "httpx"]),
];

/// The virtual environment's python, creating or completing the environment
/// when `.ready` does not match [`REQUIREMENTS`].
pub(crate) fn venv() -> Result<PathBuf> {
    venv_at(&venv_dir(), REQUIREMENTS)
}

/// The python of a virtual environment in `dir` holding `requirements`, made or
/// completed when `dir/.ready` does not list exactly them.
fn venv_at(dir: &Path, requirements: &[&str]) -> Result<PathBuf> {
    let python = dir.join("bin").join("python");
    let ready = dir.join(".ready");
    let wanted = format!("{}\n", requirements.join("\n"));
    if python.is_file() && std::fs::read_to_string(&ready).is_ok_and(|s| s == wanted) {
        return Ok(python);
    }
    let log = target_dir().join("interop").join("pip.log");
    std::fs::create_dir_all(target_dir().join("interop"))?;
    if !python.is_file() {
        let Some(py3) = cmd::which("python3") else {
            bail!("python3 is needed for the interop scenarios (Python LightRAG): install python3 and python3-venv");
        };
        let version = output(Command::new(&py3).args(["-c", "import sys; print('%d %d' % sys.version_info[:2])"]))?;
        let v: Vec<u32> = version.split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if v.len() != 2 || (v[0], v[1]) < (3, 10) {
            bail!("Python LightRAG 1.5.7 needs Python >= 3.10; {} is {}", py3.display(), version.trim());
        }
        println!("creating {} (python3 -m venv)", dir.display());
        run_logged(Command::new(&py3).args(["-m", "venv"]).arg(dir), &log)
            .map_err(|e| Error(format!("{e}\n(on Debian/Ubuntu the venv module is the python3-venv package)")))?;
    }
    println!("installing {} into {} (log: {})", requirements.join(", "), dir.display(), log.display());
    let _ = std::fs::remove_file(&ready);
    run_logged(
        Command::new(&python)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input"])
            .args(requirements),
        &log,
    )?;
    std::fs::write(&ready, wanted)?;
    Ok(python)
}

/// The shared datasets (`../shared/datasets` beside the workspace, or
/// `LIGHTRAG_SHARED_DATASETS`).
pub(crate) fn datasets() -> Result<PathBuf> {
    let dir = match std::env::var_os("LIGHTRAG_SHARED_DATASETS") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => workspace_root().join("..").join("shared").join("datasets"),
    };
    if !dir.join("lightrag-1.5.7-format-sample").is_dir() {
        bail!(
            "the LightRAG datasets are not at {} (expected lightrag-1.5.7-format-sample/ there); \
             set LIGHTRAG_SHARED_DATASETS",
            dir.display()
        );
    }
    Ok(dir.canonicalize()?)
}

/// Builds the CLI and `lightrag-pg-interop`; returns their paths.
fn build_bins() -> Result<(PathBuf, PathBuf)> {
    let mut c = cargo();
    c.args(["build", "-p", "lightrag-pg-cli", "-p", "lightrag-pg-interop-tests"]);
    println!("$ {}", cmd::describe(&c));
    run(&mut c)?;
    let dir = target_dir().join("debug");
    Ok((dir.join("lightrag-pg"), dir.join("lightrag-pg-interop")))
}

fn interop_dir() -> PathBuf {
    workspace_root().join("interop")
}

/// A python command in `interop/` with the server's settings.
pub(crate) fn python_cmd(python: &Path, server: &Server, script: &str) -> Command {
    let mut c = Command::new(python);
    c.current_dir(interop_dir()).arg(script).envs(server.env()).env("PYTHONUNBUFFERED", "1");
    c
}

/// `interop [SCENARIO...]`: every scenario, or the named ones.
pub(crate) fn interop(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a.starts_with('-')) {
        bail!(
            "usage: cargo xtask interop [SCENARIO... | legacy] (the scenarios are listed in interop/README.md; \
             `legacy`: only the upgrades of older releases' databases)"
        );
    }
    let server = server::up(None)?;
    let result = run_scenarios(&server, args);
    if in_ci() && server.is_sandbox() {
        // Like `test`: a CI clone leaves no server and no mount behind.
        let down = server::down();
        result?;
        return down;
    }
    result
}

fn run_scenarios(server: &Server, args: &[String]) -> Result<()> {
    let python = venv()?;
    let datasets = datasets()?;
    let (cli, interop_bin) = build_bins()?;
    if args == ["legacy"] {
        return legacy(&python, server, &cli);
    }
    let mut selftest = python_cmd(&python, server, "test_compare.py");
    println!("$ {}", cmd::describe(&selftest));
    run(&mut selftest).map_err(|e| Error(format!("the comparison's self-test failed: {e}")))?;
    let mut c = python_cmd(&python, server, "scenarios.py");
    c.args(args)
        .env("LIGHTRAG_PG_BIN", &cli)
        .env("LIGHTRAG_PG_INTEROP_BIN", &interop_bin)
        .env("LIGHTRAG_SHARED_DATASETS", &datasets);
    println!("$ {}", cmd::describe(&c));
    run(&mut c).map_err(|e| Error(format!("interop scenarios FAILED: {e}")))?;
    if !args.is_empty() {
        return Ok(());
    }
    legacy(&python, server, &cli)?;
    // The graph crate's own tests against Python's two graph storages, which
    // `cargo xtask test` cannot run (they need this venv).
    let mut graph = cargo();
    graph
        .args(["test", "-p", "lightrag-pg-graph", "--all-features", "--test", "python_interop", "--", "--ignored"])
        .envs(server.env())
        .env("LIGHTRAG_INTEROP_PYTHON", &python)
        .env("LIGHTRAG_TEST_INTEGRATION", "1");
    println!("$ {}", cmd::describe(&graph));
    run(&mut graph).map_err(|e| Error(format!("graph interop tests FAILED: {e}")))
}

/// The upgrade scenarios: a database written by each of [`LEGACY_RELEASES`]
/// (its own venv under `target/interop/legacy/<version>`, cached by `.ready`
/// like [`venv`]) is upgraded by `lightrag-pg init` and checked against a fresh
/// 1.5.7 one (`interop/legacy_scenarios.py`).
fn legacy(python: &Path, server: &Server, cli: &Path) -> Result<()> {
    let mut c = python_cmd(python, server, "legacy_scenarios.py");
    for (release, requirements) in LEGACY_RELEASES {
        let py = venv_at(&target_dir().join("interop").join("legacy").join(release), requirements)?;
        c.arg(format!("{release}={}", py.display()));
    }
    c.env("LIGHTRAG_PG_BIN", cli);
    println!("$ {}", cmd::describe(&c));
    run(&mut c).map_err(|e| Error(format!("legacy upgrade scenarios FAILED: {e}")))
}
