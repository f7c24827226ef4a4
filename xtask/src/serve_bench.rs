//! `bench --serve [--seconds N] [--clients LIST] [--replicas 0|1]`: `lightrag-pg serve` against
//! the real `lightrag-server` (lightrag-hku 1.5.7 with its `[api]` extra, from
//! the interop venv) under load, on the same knowledge base of the `pg up`
//! server, in one run.
//!
//! Builds the CLI and `lightrag-pg-bench-serve` (benches/bin/serve.rs) in
//! release and runs the latter with the server's settings: it loads
//! `dickens-christmas-carol-en` from the shared datasets, starts both servers,
//! drives `POST /query/data` at each concurrency level, prints a markdown table
//! and saves `target/bench-serve.json` (benches/README.md). `--replicas 1`
//! runs it on a primary and a streaming standby of the sandbox root started
//! for the run, ours reading the standby, and ends by stopping the standby
//! under load (the fallback).

use std::process::Command;

use crate::cmd::{self, cargo, run};
use crate::{Context, Error, Result, bail, interop, server, target_dir};

const USAGE: &str = "usage: cargo xtask bench --serve [--seconds N] [--clients 1,8,32] [--replicas 0|1]";

/// `bench --serve …`.
pub(crate) fn bench(args: &[String]) -> Result<()> {
    let mut pass = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--serve" => {}
            "--seconds" | "--clients" | "--replicas" => {
                let v = it.next().ok_or_else(|| Error(format!("{a} needs a value; {USAGE}")))?;
                for n in v.split(',') {
                    n.parse::<u64>().context(|| format!("{a} {v}"))?;
                }
                pass.extend([a.clone(), v.clone()]);
            }
            other => bail!("unknown argument `{other}`; {USAGE}"),
        }
    }
    let server = server::up(None)?;
    let python = interop::venv()?;
    let lightrag_server = python.with_file_name("lightrag-server");
    if !lightrag_server.is_file() {
        bail!("{} is missing: the interop venv needs lightrag-hku[api]", lightrag_server.display());
    }
    let dataset = interop::datasets()?.join("dickens-christmas-carol-en");
    let mut build = cargo();
    build.args(["build", "--release", "-p", "lightrag-pg-cli", "-p", "lightrag-pg-benches"]);
    build.args(["--bin", "lightrag-pg", "--bin", "lightrag-pg-bench-serve"]);
    println!("$ {}", cmd::describe(&build));
    run(&mut build)?;
    let release = target_dir().join("release");
    let mut c = Command::new(release.join("lightrag-pg-bench-serve"));
    c.args(&pass)
        .arg("--cli")
        .arg(release.join("lightrag-pg"))
        .arg("--python-server")
        .arg(&lightrag_server)
        .arg("--dataset")
        .arg(&dataset)
        .arg("--work")
        .arg(target_dir().join("bench-serve"))
        .arg("--out")
        .arg(target_dir().join("bench-serve.json"))
        .envs(server.env());
    println!("$ {}", cmd::describe(&c));
    run(&mut c)
}
