//! `lightrag-pg-bench-migrate`: `lightrag-pg migrate` against the server's floor
//! for the same vectors (run by `cargo xtask bench --migrate`).
//!
//! It writes a generated working directory of `--rows` chunks (and a tenth of
//! it) of 768-dimension clustered unit vectors with their documents, entities,
//! relations and graph (`lightrag_pg_files::synthetic`), then, `--runs` times:
//! migrates the small directory and the full one, each into a fresh database,
//! with `/usr/bin/time` recording the peak RSS; and times the floor in the full
//! run's database: psql `\copy` (binary) of each vector store into an unindexed
//! table of the same column type, then one `CREATE INDEX` with the definition
//! and the build settings (`maintenance_work_mem`, parallel workers) the
//! migration's bulk load used. It prints the medians, the ratio and the time
//! split (scan = read and decode, COPY, index build, the rest), and writes
//! every measurement to `--out` as JSON.
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr, missing_docs)]

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use lightrag_pg_core::VectorNamespace;
use lightrag_pg_files::nano::{NanoFile, RowOutcome, file_name};
use lightrag_pg_files::synthetic::Synthetic;
use lightrag_pg_pool::{PgConfig, PgPool};
use serde_json::{Value, json};

const DIMENSION: usize = 768;
const WORKSPACE: &str = "bench_migrate";

type Error = Box<dyn std::error::Error>;

struct Args {
    rows: usize,
    runs: usize,
    cli: PathBuf,
    work: PathBuf,
    out: PathBuf,
    psql: String,
}

fn args() -> Result<Args, Error> {
    let mut a = Args {
        rows: 100_000,
        runs: 1,
        cli: PathBuf::from("lightrag-pg"),
        work: PathBuf::from("target/bench-migrate"),
        out: PathBuf::from("target/bench-migrate.json"),
        psql: "psql".to_owned(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => a.rows = value()?.parse()?,
            "--runs" => a.runs = value()?.parse()?,
            "--cli" => a.cli = value()?.into(),
            "--work" => a.work = value()?.into(),
            "--out" => a.out = value()?.into(),
            "--psql" => a.psql = value()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if a.rows < 10 || a.runs < 1 {
        return Err("--rows must be at least 10 and --runs at least 1".into());
    }
    Ok(a)
}

/// The generated directory of `chunks` chunks under `work`, written once and
/// reused while its settings are the same.
fn generated(work: &Path, chunks: usize) -> Result<PathBuf, Error> {
    let s = Synthetic::new(chunks, DIMENSION);
    let dir = work.join(format!("wd-{chunks}"));
    let stamp = dir.join(".synthetic");
    let want = format!("{s:?}");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return Ok(dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let started = Instant::now();
    s.write(&dir)?;
    std::fs::write(&stamp, want)?;
    eprintln!("bench --migrate: wrote {} in {:.1}s", dir.display(), started.elapsed().as_secs_f64());
    Ok(dir)
}

/// A fresh database, dropped with this value.
struct Database {
    admin: PgConfig,
    name: String,
}

impl Database {
    async fn create(admin: &PgConfig, tag: &str) -> Result<Self, Error> {
        let name = format!("lightrag_bench_migrate_{tag}_{}", std::process::id());
        let pool = PgPool::connect(admin.clone()).await?;
        let conn = pool.get().await?;
        conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
        conn.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0")).await?;
        Ok(Self { admin: admin.clone(), name })
    }

    fn config(&self) -> PgConfig {
        let mut c = self.admin.clone();
        c.database = self.name.clone();
        c
    }

    async fn drop(self) -> Result<(), Error> {
        let pool = PgPool::connect(self.admin.clone()).await?;
        pool.get().await?.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).await?;
        Ok(())
    }
}

/// libpq's variables for `config` (psql).
fn libpq_env(c: &mut Command, config: &PgConfig) {
    let (host, port) = config.hosts[0].clone();
    c.env("PGHOST", host)
        .env("PGPORT", port.to_string())
        .env("PGUSER", &config.user)
        .env("PGPASSWORD", config.password.clone().unwrap_or_default())
        .env("PGDATABASE", &config.database);
}

/// One migration: wall seconds, peak RSS (MiB) and the report.
fn migrate(args: &Args, db: &Database, dir: &Path) -> Result<(f64, f64, Value), Error> {
    let rss_file = args.work.join("rss.txt");
    let (host, port) = db.config().hosts[0].clone();
    let mut c = Command::new("/usr/bin/time");
    c.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(&args.cli);
    c.args(["--workspace", WORKSPACE, "migrate", "--from"]).arg(dir).arg("--json");
    c.env("POSTGRES_HOST", host)
        .env("POSTGRES_PORT", port.to_string())
        .env("POSTGRES_USER", &db.admin.user)
        .env("POSTGRES_PASSWORD", db.admin.password.clone().unwrap_or_default())
        .env("POSTGRES_DATABASE", &db.name)
        .env_remove("POSTGRES_WORKSPACE")
        .env_remove("WORKSPACE");
    let started = Instant::now();
    let out = c.output()?;
    let seconds = started.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!("migrate failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let report: Value = serde_json::from_slice(&out.stdout)?;
    if report["verification"]["ok"] != true {
        return Err(format!("migrate verification failed: {}", report["verification"]).into());
    }
    let kib: f64 = std::fs::read_to_string(&rss_file)?.trim().lines().last().unwrap_or("0").parse()?;
    Ok((seconds, kib / 1024.0, report))
}

/// The vector table of `ns` in the migrated database: (name, column type, HNSW
/// index definition).
async fn vector_table(pool: &PgPool, ns: VectorNamespace) -> Result<(String, String, String), Error> {
    let prefix = match ns {
        VectorNamespace::Chunks => "lightrag_vdb_chunks",
        VectorNamespace::Entities => "lightrag_vdb_entity",
        VectorNamespace::Relationships => "lightrag_vdb_relation",
    };
    let conn = pool.get().await?;
    let row = conn
        .query_one(
            "SELECT c.relname::text, format_type(a.atttypid, a.atttypmod), i.indexdef \
             FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'content_vector' \
             JOIN pg_indexes i ON i.tablename = c.relname AND i.indexdef ILIKE '%USING hnsw%' \
             WHERE c.relkind IN ('r', 'p') AND c.relname LIKE $1 || '%' AND NOT c.relispartition",
            &[&prefix],
        )
        .await?;
    Ok((row.get(0), row.get(1), row.get(2)))
}

/// The vectors of `dir`'s vdb file of `ns` as a binary COPY file of
/// `(workspace, id, content_vector)` rows for a column of type `column`.
fn floor_file(dir: &Path, ns: VectorNamespace, column: &str, out: &Path) -> Result<u64, Error> {
    let half = column.starts_with("halfvec");
    let file = NanoFile::open(&dir.join(file_name(ns)), ns)?;
    let mut w = BufWriter::new(std::fs::File::create(out)?);
    w.write_all(b"PGCOPY\n\xff\r\n\0")?;
    w.write_all(&[0; 8])?;
    let mut rows = 0u64;
    for i in 0..file.len() {
        let RowOutcome::Row(row) = file.row(i)? else { continue };
        w.write_all(&3i16.to_be_bytes())?;
        for text in [WORKSPACE, row.id.as_str()] {
            w.write_all(&i32::try_from(text.len())?.to_be_bytes())?;
            w.write_all(text.as_bytes())?;
        }
        let width = if half { 2 } else { 4 };
        w.write_all(&i32::try_from(4 + width * row.vector.len())?.to_be_bytes())?;
        w.write_all(&i16::try_from(row.vector.len())?.to_be_bytes())?;
        w.write_all(&0i16.to_be_bytes())?;
        for x in &row.vector {
            if half {
                w.write_all(&half::f16::from_f32(*x).to_bits().to_be_bytes())?;
            } else {
                w.write_all(&x.to_be_bytes())?;
            }
        }
        rows += 1;
    }
    w.write_all(&(-1i16).to_be_bytes())?;
    w.flush()?;
    Ok(rows)
}

/// Runs psql with `commands` (each a `-c`, one session); returns the seconds.
fn psql(args: &Args, db: &Database, commands: &[String]) -> Result<f64, Error> {
    let mut c = Command::new(&args.psql);
    c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1"]);
    for command in commands {
        c.arg("-c").arg(command);
    }
    libpq_env(&mut c, &db.config());
    let started = Instant::now();
    let out = c.output()?;
    let seconds = started.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!("psql {commands:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(seconds)
}

/// The floor of one vector store in `db`: `(copy seconds, index seconds)`.
async fn floor(
    args: &Args,
    db: &Database,
    pool: &PgPool,
    dir: &Path,
    ns: VectorNamespace,
    load: &Value,
) -> Result<(f64, f64), Error> {
    let (_table, column, indexdef) = vector_table(pool, ns).await?;
    let floor = format!("bench_floor_{}", ns.as_str());
    let data = args.work.join(format!("{floor}.copy"));
    floor_file(dir, ns, &column, &data)?;
    psql(
        args,
        db,
        &[format!(
            "DROP TABLE IF EXISTS {floor}; \
             CREATE TABLE {floor} (workspace varchar(255), id varchar(255), content_vector {column})"
        )],
    )?;
    let copy = psql(args, db, &[format!("\\copy {floor} FROM '{}' (FORMAT binary)", data.display())])?;
    let using = indexdef.find(" USING ").ok_or("an index definition without USING")?;
    let create = format!("CREATE INDEX {floor}_hnsw ON {floor}{}", &indexdef[using..]);
    let mut commands = Vec::new();
    if let Some(mb) = load["maintenance_work_mem_mb"].as_u64() {
        commands.push(format!("SET maintenance_work_mem = '{mb}MB'"));
    }
    if let Some(w) = load["parallel_workers"].as_u64() {
        commands.push(format!("SET max_parallel_maintenance_workers = {w}"));
        if w > 0 {
            commands.push(format!("ALTER TABLE {floor} SET (parallel_workers = {w})"));
        }
    }
    commands.push(create);
    let index = psql(args, db, &commands)?;
    std::fs::remove_file(&data)?;
    Ok((copy, index))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn sum_loads(report: &Value, field: &str) -> f64 {
    report["vector_load"].as_object().map_or(0.0, |m| m.values().filter_map(|l| l[field].as_f64()).sum())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = args()?;
    std::fs::create_dir_all(&args.work)?;
    let admin = PgConfig::from_env()?;
    let small_rows = args.rows / 10;
    let small = generated(&args.work, small_rows)?;
    let full = generated(&args.work, args.rows)?;
    let counts = Synthetic::new(args.rows, DIMENSION).counts();
    let mut runs = Vec::new();
    for run in 1..=args.runs {
        eprintln!("bench --migrate: run {run}/{}: migrate {small_rows} chunks", args.runs);
        let db = Database::create(&admin, "small").await?;
        let (small_seconds, small_rss, _) = migrate(&args, &db, &small)?;
        db.drop().await?;

        eprintln!("bench --migrate: run {run}/{}: migrate {} chunks", args.runs, args.rows);
        let db = Database::create(&admin, "full").await?;
        let (seconds, rss, report) = migrate(&args, &db, &full)?;
        let pool = PgPool::connect(db.config()).await?;
        let mut floors = serde_json::Map::new();
        let (mut floor_copy, mut floor_index) = (0.0, 0.0);
        for ns in VectorNamespace::ALL {
            let load = &report["vector_load"][ns.as_str()];
            if load["method"] != "bulk" {
                eprintln!("bench --migrate: note: {ns} was not bulk-loaded: {load}");
            }
            eprintln!("bench --migrate: run {run}/{}: floor of {ns}", args.runs);
            let (copy, index) = floor(&args, &db, &pool, &full, ns, load).await?;
            floor_copy += copy;
            floor_index += index;
            floors.insert(ns.as_str().to_owned(), json!({"copy_seconds": copy, "index_seconds": index}));
        }
        drop(pool);
        db.drop().await?;
        let scan = report["timings"]["scan"].as_f64().unwrap_or(0.0);
        let (copy, index) = (sum_loads(&report, "copy_seconds"), sum_loads(&report, "index_seconds"));
        runs.push(json!({
            "migrate_seconds": seconds,
            "migrate_report_seconds": report["seconds"],
            "scan_seconds": scan,
            "vector_copy_seconds": copy,
            "vector_index_seconds": index,
            "other_seconds": seconds - scan - copy - index,
            "floor_copy_seconds": floor_copy,
            "floor_index_seconds": floor_index,
            "floor_seconds": floor_copy + floor_index,
            "floors": floors,
            "ratio": seconds / (floor_copy + floor_index),
            "peak_rss_mib": rss,
            "small_migrate_seconds": small_seconds,
            "small_peak_rss_mib": small_rss,
            "vector_load": report["vector_load"],
            "timings": report["timings"],
        }));
    }
    let med = |key: &str| median(runs.iter().filter_map(|r| r[key].as_f64()).collect());
    let summary = json!({
        "rows": args.rows, "dimension": DIMENSION, "runs": args.runs,
        "docs": counts.docs, "entities": counts.entities, "relations": counts.relations,
        "median": {
            "migrate_seconds": med("migrate_seconds"), "scan_seconds": med("scan_seconds"),
            "vector_copy_seconds": med("vector_copy_seconds"), "vector_index_seconds": med("vector_index_seconds"),
            "other_seconds": med("other_seconds"), "floor_seconds": med("floor_seconds"),
            "floor_copy_seconds": med("floor_copy_seconds"), "floor_index_seconds": med("floor_index_seconds"),
            "ratio": med("ratio"), "peak_rss_mib": med("peak_rss_mib"),
            "small_peak_rss_mib": med("small_peak_rss_mib"), "small_migrate_seconds": med("small_migrate_seconds"),
        },
        "each_run": runs,
    });
    std::fs::write(&args.out, serde_json::to_vec_pretty(&summary)?)?;
    let m = &summary["median"];
    let f = |k: &str| m[k].as_f64().unwrap_or(0.0);
    println!(
        "migrate {} chunks × {DIMENSION} ({} docs, {} entities, {} relations), median of {} run(s)\n",
        args.rows, counts.docs, counts.entities, counts.relations, args.runs
    );
    println!("| measure | seconds | share |");
    println!("|---|---:|---:|");
    let total = f("migrate_seconds");
    for (name, key) in [
        ("lightrag-pg migrate (wall)", "migrate_seconds"),
        ("  scan: read, parse, decode", "scan_seconds"),
        ("  vector COPY (3 stores)", "vector_copy_seconds"),
        ("  vector index builds", "vector_index_seconds"),
        ("  the rest: KV, graph, doc status, verify", "other_seconds"),
    ] {
        println!("| {name} | {:.1} | {:.0}% |", f(key), 100.0 * f(key) / total.max(1e-9));
    }
    for (name, key) in [
        ("floor: psql \\copy + CREATE INDEX", "floor_seconds"),
        ("  \\copy (binary)", "floor_copy_seconds"),
        ("  CREATE INDEX", "floor_index_seconds"),
    ] {
        println!("| {name} | {:.1} | |", f(key));
    }
    println!("\nratio migrate / floor: {:.2} (goal ≤ 1.3)", f("ratio"));
    println!(
        "peak RSS of migrate: {:.0} MiB at {} chunks, {:.0} MiB at {} (+{:.0} MiB; goal ≤ +200)",
        f("small_peak_rss_mib"),
        small_rows,
        f("peak_rss_mib"),
        args.rows,
        f("peak_rss_mib") - f("small_peak_rss_mib")
    );
    println!("saved to {}", args.out.display());
    Ok(())
}
