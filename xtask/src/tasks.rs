//! The workflows: `demo`, `test`, `bench` and `ci`.

use crate::cmd::{self, cargo, run};
use crate::server::{self, Server};
use crate::{Context, Error, Result, bail, image, target_dir};

/// `demo`: the main job. `pg up`, then migrate the example LightRAG directory
/// `examples/demo-kb` into PostgreSQL with the `lightrag-pg` command (no LLM
/// re-run) and show what is there: versions, the migration report with times,
/// the entities most similar to one entity, the 2-hop graph around it, the
/// document status counts, and a question answered from PostgreSQL
/// (`lightrag-pg query`, the question embedded by the knowledge base's own
/// hashing embedder served on 127.0.0.1).
pub(crate) fn demo() -> Result<()> {
    let server = server::up(None)?;
    println!();
    server::status()?;
    run(cargo().args(["build", "--quiet", "--package", "lightrag-pg-cli"]))?;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf();
    let exe = root.join("target").join("debug").join("lightrag-pg");
    let envs = server.env();
    let step = |title: &str, args: &[&str]| -> Result<()> {
        println!("\n== {title}\n$ lightrag-pg {}", args.join(" "));
        let mut c = std::process::Command::new(&exe);
        c.args(args).envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        run(&mut c)
    };
    let kb = root.join("examples").join("demo-kb");
    let kb = kb.to_string_lossy();
    step(
        "start from an empty workspace 'demo' (a re-run replaces what an earlier run loaded)",
        &["workspace", "drop", "demo", "--yes"],
    )?;
    step(
        "migrate a LightRAG working directory (JsonKV, NanoVectorDB, GraphML) into PostgreSQL",
        &["-w", "demo", "migrate", "--from", &kb, "--graph", "age", "--model-name", "interop-hash"],
    )?;
    step(
        "the 5 entities most similar to 'Elin Observatory' (pgvector, HNSW)",
        &[
            "-w",
            "demo",
            "search",
            "--namespace",
            "entities",
            "--like-entity",
            "Elin Observatory",
            "--top-k",
            "5",
            "--model-name",
            "interop-hash",
        ],
    )?;
    step(
        "the 2-hop graph around 'Elin Observatory' (Apache AGE)",
        &[
            "-w",
            "demo",
            "graph",
            "--label",
            "Elin Observatory",
            "--depth",
            "2",
            "--max-nodes",
            "30",
            "--format",
            "text",
        ],
    )?;
    step("document status counts", &["-w", "demo", "docs", "counts"])?;
    let url = crate::hash_embed::serve(64)?;
    let question = "What does the Elin Observatory study, and who works there?";
    let args = [
        "-w",
        "demo",
        "query",
        question,
        "--mode",
        "hybrid",
        "--ll-keywords",
        "Elin Observatory,Lena Okafor",
        "--hl-keywords",
        "astronomy,research",
        "--top-k",
        "8",
        "--chunk-top-k",
        "3",
        "--model-name",
        "interop-hash",
        "--format",
        "context",
    ];
    println!(
        "\n== a question answered from PostgreSQL: the entities, relations and chunks LightRAG would hand \
         its LLM\n$ lightrag-pg {}",
        args.join(" ")
    );
    let mut c = std::process::Command::new(&exe);
    c.args(args)
        .envs(envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("EMBEDDING_BINDING", "openai")
        .env("EMBEDDING_BINDING_HOST", &url)
        .env("EMBEDDING_DIM", "64");
    run(&mut c)?;
    println!("\ndemo done: the workspace 'demo' is in {} (try `cargo xtask pg psql`)", server.describe());
    Ok(())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn has_package_arg(args: &[String]) -> bool {
    args.iter().take_while(|a| *a != "--").any(|a| a == "-p" || a.starts_with("--package"))
}

/// `test [ARGS]`: `pg up`, then every test of every crate with all features.
pub(crate) fn test(args: &[String]) -> Result<()> {
    with_server(|server| test_against(server, args))
}

/// `pg up`, then `work` against the server.
fn with_server(work: impl FnOnce(&Server) -> Result<()>) -> Result<()> {
    let server = server::up(None)?;
    let result = work(&server);
    if in_ci() && server.is_sandbox() {
        // A CI clone is deleted afterwards: leave no server and no mount behind.
        let down = server::down();
        result?;
        return down;
    }
    result
}

/// What every test run gets: the server's settings, and integration tests on.
fn test_env(server: &Server) -> Vec<(String, String)> {
    let mut envs = server.env();
    envs.push(("LIGHTRAG_TEST_INTEGRATION".into(), "1".into()));
    envs
}

/// The facade's backend features, each alone, then none (`""`). The workspace
/// steps build all features and the defaults only, so without this no
/// `cfg(not(...))` branch of the facade would ever be compiled.
const FACADE_FEATURES: [&str; 6] = ["kv", "vector", "graph-age", "graph-table", "docstatus", ""];

/// Lints and tests `lightrag-pg` with each of [`FACADE_FEATURES`] alone (its
/// `tests/features.rs` checks that exactly those backends open). Every
/// combination runs; the failures are listed at the end.
fn facade_features(server: &Server) -> Result<()> {
    let mut failed = Vec::new();
    for feature in FACADE_FEATURES {
        let only = |c: &mut std::process::Command| {
            c.args(["--package", "lightrag-pg", "--no-default-features", "--features", feature]);
        };
        let mut clippy = cargo();
        clippy.arg("clippy");
        only(&mut clippy);
        clippy.args(["--all-targets", "--", "-D", "warnings"]);
        let mut test = cargo();
        test.arg("test");
        only(&mut test);
        test.envs(test_env(server));
        let name = if feature.is_empty() { "no backend feature" } else { feature };
        let result = [clippy, test].iter_mut().try_for_each(|c| {
            println!("$ {}", cmd::describe(c));
            run(c)
        });
        if let Err(e) = result {
            eprintln!("facade with {name}: {e}");
            failed.push(name);
        }
    }
    if failed.is_empty() { Ok(()) } else { bail!("the facade fails with: {}", failed.join(", ")) }
}

fn test_against(server: &Server, args: &[String]) -> Result<()> {
    let envs = test_env(server);
    let docker = image::docker_answers();
    if docker {
        if let Err(e) = image::ensure_for_tests() {
            eprintln!("warning: {e}\nwarning: the Docker tests will fail without the image");
        }
    } else {
        eprintln!(
            "note: no Docker engine answers here: the Docker tests will fail (set LIGHTRAG_TEST_NO_DOCKER=1 to opt \
             this machine out)"
        );
    }
    let mut c = cargo();
    c.arg("test");
    if !has_package_arg(args) {
        c.arg("--workspace");
    }
    // Every test binary runs, so one failure does not hide the others.
    c.args(["--all-features", "--no-fail-fast"]).args(args).envs(envs);
    println!("$ {}", cmd::describe(&c));
    let result = run(&mut c);
    if docker {
        image::remove_test_containers();
    }
    result
}

/// `bench [ARGS]`: `pg up`, then the benchmarks.
pub(crate) fn bench(args: &[String]) -> Result<()> {
    let server = server::up(None)?;
    let mut c = cargo();
    c.args(["bench", "-p", "lightrag-pg-benches"]).args(args).envs(server.env());
    println!("$ {}", cmd::describe(&c));
    run(&mut c)
}

/// `bench --migrate [--rows N] [--runs R]`: builds `lightrag-pg` and
/// `lightrag-pg-bench-migrate` in release and runs the latter against the
/// server (`benches/bin/migrate.rs` says what it measures).
pub(crate) fn bench_migrate(args: &[String]) -> Result<()> {
    let pass = bench_flags(
        args,
        "--migrate",
        &["--rows", "--runs"],
        &[],
        "usage: cargo xtask bench --migrate [--rows N] [--runs R]",
    )?;
    let Some(psql) = cmd::which("psql") else { bail!("bench --migrate needs psql on PATH (for the floor's \\copy)") };
    if !std::path::Path::new("/usr/bin/time").is_file() {
        bail!("bench --migrate needs /usr/bin/time (GNU time) for the peak RSS");
    }
    let server = server::up(None)?;
    run_bench_bin("lightrag-pg-bench-migrate", "bench-migrate", &server, &pass, |c| {
        c.arg("--psql").arg(&psql);
    })
}

/// The arguments of a `bench` mode (`mode`, e.g. `--migrate`, is skipped):
/// each of `numbers` with a number, each of `lists` with a comma-separated
/// list of numbers, checked and passed on as given.
///
/// # Errors
/// An unknown argument, a missing value or one that is not a number, with `usage`.
pub(crate) fn bench_flags(
    args: &[String],
    mode: &str,
    numbers: &[&str],
    lists: &[&str],
    usage: &str,
) -> Result<Vec<String>> {
    let mut pass = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == mode {
            continue;
        }
        let list = lists.contains(&a.as_str());
        if !list && !numbers.contains(&a.as_str()) {
            bail!("unknown argument `{a}`; {usage}");
        }
        let v = it.next().ok_or_else(|| Error(format!("{a} needs a value; {usage}")))?;
        let items: Vec<&str> = if list { v.split(',').collect() } else { vec![v.as_str()] };
        for n in items {
            n.parse::<u64>().context(|| format!("{a} {v}"))?;
        }
        pass.extend([a.clone(), v.clone()]);
    }
    Ok(pass)
}

/// Builds the CLI and the benches' binary `bin` in release, then runs `bin`
/// with the `pg up` server's settings: `pass`, `--cli`, what `more` adds, and
/// `--work target/<name>` and `--out target/<name>.json`.
///
/// # Errors
/// The build's or the run's failure.
pub(crate) fn run_bench_bin(
    bin: &str,
    name: &str,
    server: &Server,
    pass: &[String],
    more: impl FnOnce(&mut std::process::Command),
) -> Result<()> {
    let mut build = cargo();
    build.args(["build", "--release", "-p", "lightrag-pg-cli", "-p", "lightrag-pg-benches"]);
    build.args(["--bin", "lightrag-pg", "--bin", bin]);
    println!("$ {}", cmd::describe(&build));
    run(&mut build)?;
    let release = target_dir().join("release");
    let mut c = std::process::Command::new(release.join(bin));
    c.args(pass).arg("--cli").arg(release.join("lightrag-pg"));
    more(&mut c);
    c.arg("--work")
        .arg(target_dir().join(name))
        .arg("--out")
        .arg(target_dir().join(format!("{name}.json")))
        .envs(server.env());
    println!("$ {}", cmd::describe(&c));
    run(&mut c)
}

/// `ci`: everything CI checks. Every step runs; the failures are listed at the end.
pub(crate) fn ci() -> Result<()> {
    let mut failed: Vec<String> = Vec::new();
    let mut step = |name: &str, result: Result<()>| {
        if let Err(e) = result {
            eprintln!("ci: {name} FAILED: {e}");
            failed.push(name.to_owned());
        } else {
            println!("ci: {name} ok");
        }
    };

    step("fmt", run(cargo().args(["fmt", "--all", "--", "--check"])));
    step(
        "clippy (all features)",
        run(cargo().args(["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"])),
    );
    step(
        "clippy (no default features)",
        run(cargo().args(["clippy", "--workspace", "--all-targets", "--no-default-features", "--", "-D", "warnings"])),
    );
    step("test", test(&[]));
    step("facade feature combinations", with_server(facade_features));
    step(
        "doc",
        run(cargo().args(["doc", "--workspace", "--no-deps", "--all-features"]).env("RUSTDOCFLAGS", "-D warnings")),
    );
    step("cargo-deny", deny());

    if failed.is_empty() {
        println!("ci: all steps passed");
        Ok(())
    } else {
        bail!("ci: failed steps: {}", failed.join(", "))
    }
}

/// cargo-deny, installed with `cargo install` when missing. Licences, bans and
/// sources must pass; advisories too, unless the advisory database cannot be
/// fetched (then it says so).
fn deny() -> Result<()> {
    if !cmd::succeeds(cargo().args(["deny", "--version"])) {
        println!("installing cargo-deny (cargo install cargo-deny --locked)");
        run(cargo().args(["install", "cargo-deny", "--locked"]))?;
    }
    run(cargo().args(["deny", "check", "licenses", "bans", "sources"]))?;
    let out = cargo()
        .args(["deny", "check", "advisories"])
        .output()
        .map_err(|e| Error(format!("cannot run cargo deny: {e}")))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        println!("cargo deny: advisories ok");
        return Ok(());
    }
    let found = ["error[vulnerability]", "error[unmaintained]", "error[unsound]", "error[yanked]", "error[notice]"]
        .iter()
        .any(|k| text.contains(k));
    if found {
        eprintln!("{text}");
        bail!("cargo deny found advisories");
    }
    println!(
        "cargo deny: the advisory database could not be fetched here; checked licenses, bans and sources only\n{}",
        cmd_tail(&text)
    );
    Ok(())
}

fn cmd_tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join("\n")
}
