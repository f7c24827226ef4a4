//! `bench --vs-python [--quick] [--runs N] [--only PREFIX]`: the same storage
//! operations on the same server in one run, Python LightRAG 1.5.7's
//! PostgreSQL storages against ours, with the server's own time as the floor.
//!
//! Steps (all with the `pg up` settings): build `lightrag-pg-interop` in release;
//! write the workload (`bench-data`) to `target/bench-vs-python/data`; load the
//! shared read sets (`bench-prepare`); then `--runs` rounds, each timing ours
//! (`bench`), Python's (`interop/bench_python.py`) and the floor (`bench
//! --floor`) once, so that the load of a shared machine spreads over all three
//! alike; remove every benchmark workspace; print the table of medians (over the
//! rounds) and ratios and save it to `target/bench-vs-python.json`.

use std::path::PathBuf;
use std::process::Command;

use crate::cmd::{self, cargo, output, run, run_logged};
use crate::interop::{python_cmd, venv};
use crate::{Context, Error, Result, bail, server, target_dir};

#[derive(Debug, Default)]
struct Options {
    quick: bool,
    runs: Option<String>,
    scale: Option<String>,
    only: Option<String>,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| Error(format!("{name} needs a value")));
        match a.as_str() {
            "--vs-python" => {}
            "--quick" => o.quick = true,
            "--runs" => o.runs = Some(value("--runs")?),
            "--scale" => o.scale = Some(value("--scale")?),
            "--only" => o.only = Some(value("--only")?),
            other => bail!(
                "unknown argument `{other}`; usage: cargo xtask bench --vs-python [--quick] [--runs N] [--only PREFIX]"
            ),
        }
    }
    if let Some(r) = &o.runs {
        let n: usize = r.parse().context(|| format!("--runs {r}"))?;
        if n < 1 {
            bail!("--runs must be at least 1");
        }
    }
    Ok(o)
}

impl Options {
    /// The rounds (`--runs`, default 3).
    fn rounds(&self) -> usize {
        self.runs.as_deref().and_then(|r| r.parse().ok()).unwrap_or(3)
    }

    /// The size arguments every `lightrag-pg-interop bench*` command takes, with
    /// `runs` runs per call.
    fn size_args(&self, runs: usize) -> Vec<String> {
        let mut v = vec!["--runs".to_owned(), runs.to_string()];
        if self.quick {
            v.push("--quick".to_owned());
        }
        if let Some(s) = &self.scale {
            v.extend(["--scale".to_owned(), s.clone()]);
        }
        v
    }
}

/// `bench --vs-python …`.
pub(crate) fn bench(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    let server = server::up(None)?;
    let python = venv()?;
    let mut build = cargo();
    build.args(["build", "--release", "-p", "lightrag-pg-interop-tests", "-p", "lightrag-pg-cli"]);
    println!("$ {}", cmd::describe(&build));
    run(&mut build)?;
    let bin = target_dir().join("release").join("lightrag-pg-interop");
    let out = target_dir().join("bench-vs-python");
    let data = out.join("data");
    std::fs::create_dir_all(&data)?;
    let envs = server.env();
    let rs = |sub: &str, extra: &[String]| -> Command {
        let mut c = Command::new(&bin);
        c.arg(sub).args(extra).envs(envs.clone());
        c
    };
    let save = |name: &str, text: &str| -> Result<PathBuf> {
        let p = out.join(name);
        std::fs::write(&p, text)?;
        Ok(p)
    };
    let mut only = Vec::new();
    if let Some(p) = &o.only {
        only.extend(["--only".to_owned(), p.clone()]);
    }
    let size = o.size_args(1);
    let rounds = o.rounds();

    step("cleaning up earlier benchmark workspaces");
    output(&mut rs("bench-cleanup", &[]))?;
    let retrieval_only = o.only.as_deref().is_some_and(|p| p.starts_with("retrieval"));
    let with_retrieval = o.only.as_deref().is_none_or(|p| p.starts_with("retrieval") || "retrieval".starts_with(p));
    let result = (|| -> Result<()> {
        if retrieval_only {
            return Ok(());
        }
        step("writing the workload");
        let mut d = rs("bench-data", &size);
        d.arg("--dir").arg(&data);
        output(&mut d)?;
        step("loading the shared read sets (KV, vector query set, both graphs, doc status)");
        let prepare = save("prepare.json", &output(&mut rs("bench-prepare", &size))?)?;
        let mut report = rs("bench-report", &o.size_args(rounds));
        for round in 1..=rounds {
            step(&format!("round {round}/{rounds}: ours"));
            let ours = save(
                &format!("ours-{round}.json"),
                &output(&mut rs("bench", &[size.clone(), only.clone()].concat()))?,
            )?;
            step(&format!("round {round}/{rounds}: Python LightRAG 1.5.7"));
            let py_out = out.join(format!("python-{round}.json"));
            let mut p = python_cmd(&python, &server, "bench_python.py");
            p.arg("--data").arg(&data).arg("--out").arg(&py_out).args(&only);
            run_logged(&mut p, &out.join("python.log"))?;
            step(&format!("round {round}/{rounds}: the floor (EXPLAIN ANALYZE)"));
            let floor_args = [size.clone(), vec!["--floor".into()], only.clone()].concat();
            let floor = save(&format!("floor-{round}.json"), &output(&mut rs("bench", &floor_args))?)?;
            report.arg("--ours").arg(&ours).arg("--python").arg(&py_out).arg("--floor").arg(&floor);
        }
        let json = target_dir().join("bench-vs-python.json");
        report.arg("--prepare").arg(&prepare).arg("--out").arg(&json);
        let table = output(&mut report)?;
        println!("\n{table}\nsaved to {}", json.display());
        Ok(())
    })();
    step("removing the benchmark workspaces");
    let cleaned = output(&mut rs("bench-cleanup", &[])).map(drop);
    result?;
    cleaned?;
    if with_retrieval {
        // Per mode and graph engine: our Retriever against Python's aquery_data
        // on the same migrated workspace, and the floor of our statements.
        step("retrieval: ours against Python's aquery_data (interop/retrieval_bench.py)");
        let mut r = python_cmd(&python, &server, "retrieval_bench.py");
        // Queries per mode: `--runs` when given, else 20 (10 with --quick).
        let queries = o.runs.clone().unwrap_or_else(|| if o.quick { "10" } else { "20" }.to_owned());
        r.args(["--runs", queries.as_str()])
            .arg("--out")
            .arg(target_dir().join("bench-vs-python-retrieval.json"))
            .env("LIGHTRAG_PG_BIN", target_dir().join("release").join("lightrag-pg"))
            .env("LIGHTRAG_PG_INTEROP_BIN", &bin)
            .env("LIGHTRAG_SHARED_DATASETS", crate::interop::datasets()?);
        println!("$ {}", cmd::describe(&r));
        run(&mut r)?;
    }
    Ok(())
}

fn step(what: &str) {
    println!("bench --vs-python: {what}");
}
