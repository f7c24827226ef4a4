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

use crate::tasks::{bench_flags, run_bench_bin};
use crate::{Result, bail, interop, server};

const USAGE: &str = "usage: cargo xtask bench --serve [--seconds N] [--clients 1,8,32] [--replicas 0|1]";

/// `bench --serve …`.
pub(crate) fn bench(args: &[String]) -> Result<()> {
    let pass = bench_flags(args, "--serve", &["--seconds", "--replicas"], &["--clients"], USAGE)?;
    let server = server::up(None)?;
    let python = interop::venv()?;
    let lightrag_server = python.with_file_name("lightrag-server");
    if !lightrag_server.is_file() {
        bail!("{} is missing: the interop venv needs lightrag-hku[api]", lightrag_server.display());
    }
    let dataset = interop::datasets()?.join("dickens-christmas-carol-en");
    run_bench_bin("lightrag-pg-bench-serve", "bench-serve", &server, &pass, |c| {
        c.arg("--python-server").arg(&lightrag_server).arg("--dataset").arg(&dataset);
    })
}
