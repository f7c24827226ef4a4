//! `lightrag-pg-interop`: the Rust side of the interop scenarios and of the
//! side-by-side benchmark. Driven by `interop/*.py` and `cargo xtask`; every
//! command prints one JSON document on stdout.
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lightrag_pg::{Error, Result};
use lightrag_pg_interop_tests::bench::{self, BenchData, Sizes};
use lightrag_pg_interop_tests::edit::{self, EditPlan};
use lightrag_pg_pool::{PgConfig, PgPool};
use serde_json::json;

/// The CLI's allocator, so that what this program times (retrieval against
/// Python's) runs as `lightrag-pg query` and `serve` do.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The Rust side of the interop scenarios and of `cargo xtask bench --vs-python`.
#[derive(Debug, Parser)]
#[command(name = "lightrag-pg-interop")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Upsert and delete entities and relations (the mixed-writers scenario).
    Edit {
        /// The workspace.
        #[arg(short = 'w', long)]
        workspace: String,
        /// Graph engine: age or table.
        #[arg(long, default_value = "age")]
        graph: String,
        /// Embedding model name (vector table suffix).
        #[arg(long)]
        model_name: Option<String>,
        /// Embedding dimension.
        #[arg(long, default_value_t = 64)]
        dim: usize,
        /// A new entity.
        #[arg(long)]
        add: Vec<String>,
        /// A new relation `A|B`.
        #[arg(long)]
        link: Vec<String>,
        /// An entity whose description is replaced.
        #[arg(long)]
        update: Vec<String>,
        /// An entity deleted with its relations.
        #[arg(long)]
        delete: Vec<String>,
        /// A relation `A|B` deleted.
        #[arg(long)]
        unlink: Vec<String>,
    },
    /// Write the benchmark workload for the Python half.
    BenchData {
        /// Where.
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        size: SizeArgs,
    },
    /// Load the shared read sets.
    BenchPrepare {
        #[command(flatten)]
        size: SizeArgs,
    },
    /// Time our storages (or, with --floor, the server's floor).
    Bench {
        #[command(flatten)]
        size: SizeArgs,
        /// Measure the server's floor instead of our storages.
        #[arg(long)]
        floor: bool,
        /// Only operations whose name starts with this.
        #[arg(long)]
        only: Option<String>,
    },
    /// Remove every benchmark workspace, graph and table.
    BenchCleanup,
    /// Time `Retriever::retrieve` per mode on a workspace (the retrieval section
    /// of `bench --vs-python`); the embedding settings are LightRAG's
    /// `EMBEDDING_*` variables. Prints `{mode: {"ms": [...], "floor_ms": [...]}}`.
    BenchRetrieval {
        /// The workspace.
        #[arg(short = 'w', long)]
        workspace: String,
        /// Graph engine: age or table.
        #[arg(long)]
        graph: String,
        /// The question.
        #[arg(long)]
        question: String,
        /// High-level keywords, comma-separated.
        #[arg(long, value_delimiter = ',')]
        hl: Vec<String>,
        /// Low-level keywords, comma-separated.
        #[arg(long, value_delimiter = ',')]
        ll: Vec<String>,
        /// Modes, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "local,global,hybrid,mix,naive")]
        modes: Vec<String>,
        /// Timed queries per mode (after one warm-up).
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Merge ours, Python's and the floor into the table (printed as text) and
    /// a JSON file.
    BenchReport {
        #[command(flatten)]
        size: SizeArgs,
        /// Our timings (`bench`); repeat for several rounds (their runs are pooled).
        #[arg(long, required = true)]
        ours: Vec<PathBuf>,
        /// Python's timings (`interop/bench_python.py`); repeatable.
        #[arg(long, required = true)]
        python: Vec<PathBuf>,
        /// The floor (`bench --floor`); repeatable.
        #[arg(long, required = true)]
        floor: Vec<PathBuf>,
        /// The load times (`bench-prepare`).
        #[arg(long)]
        prepare: Option<PathBuf>,
        /// Where the merged JSON goes.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, clap::Args)]
struct SizeArgs {
    /// 20,000 vectors in the query set instead of 100,000.
    #[arg(long)]
    quick: bool,
    /// Runs per operation.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Multiply every record count (a smoke run of the harness: e.g. 0.01).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
}

impl SizeArgs {
    fn data(self) -> BenchData {
        BenchData::generate(Sizes::new(self.quick, self.runs).scaled(self.scale))
    }
}

fn pair(s: &str) -> Result<(String, String)> {
    match s.split_once('|') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.to_owned(), b.to_owned())),
        _ => Err(Error::invalid(s, "expected `A|B`")),
    }
}

async fn pool() -> Result<PgPool> {
    PgPool::connect(PgConfig::from_env()?).await
}

async fn run(cli: Cli) -> Result<serde_json::Value> {
    match cli.command {
        Command::Edit { workspace, graph, model_name, dim, add, link, update, delete, unlink } => {
            let plan = EditPlan {
                add,
                link: link.iter().map(|s| pair(s)).collect::<Result<_>>()?,
                update,
                delete,
                unlink: unlink.iter().map(|s| pair(s)).collect::<Result<_>>()?,
            };
            let storages = lightrag_pg_interop_tests::open(&workspace, &graph, model_name.as_deref(), dim).await?;
            let out = edit::apply(&storages, &plan).await;
            storages.finalize().await?;
            out
        }
        Command::BenchData { dir, size } => {
            let data = size.data();
            data.write(&dir)?;
            Ok(json!({"dir": dir, "sizes": data.sizes}))
        }
        Command::BenchPrepare { size } => {
            let data = size.data();
            let pool = pool().await?;
            bench::ours::prepare(&pool, &data).await.map(|v| json!({"prepare_ms": v}))
        }
        Command::Bench { size, floor, only } => {
            let data = size.data();
            let pool = pool().await?;
            let report = if floor {
                bench::floor::run(&pool, &data, only.as_deref()).await?
            } else {
                bench::ours::run(&pool, &data, only.as_deref()).await?
            };
            Ok(json!({"ops": report}))
        }
        Command::BenchReport { size, ours, python, floor, prepare, out } => {
            let read = |p: &PathBuf| -> Result<serde_json::Value> {
                let text =
                    std::fs::read_to_string(p).map_err(|e| Error::invalid(p.display().to_string(), e.to_string()))?;
                serde_json::from_str(&text).map_err(|e| Error::invalid(p.display().to_string(), e.to_string()))
            };
            let prepare = match &prepare {
                Some(p) => read(p)?,
                None => serde_json::Value::Null,
            };
            let sizes = Sizes::new(size.quick, size.runs).scaled(size.scale);
            let pooled = |files: &[PathBuf]| -> Result<serde_json::Value> {
                Ok(bench::report::pool_runs(&files.iter().map(read).collect::<Result<Vec<_>>>()?))
            };
            let (ours, python) = (pooled(&ours)?, pooled(&python)?);
            let wants_recall = [&ours, &python].iter().any(|r| r["ops"]["vector.query_1"].get("hits").is_some());
            let truth = if wants_recall {
                let queries = size.data().queries;
                let first: Vec<Vec<f32>> =
                    (0..bench::RECALL_QUERIES).map(|i| queries[i % queries.len()].clone()).collect();
                bench::report::exact_top_k(bench::data::query_set(sizes.vec_query_set), &first, sizes.top_k)
            } else {
                Vec::new()
            };
            let (doc, table) = bench::report::build(&sizes, &ours, &python, &pooled(&floor)?, &prepare, &truth);
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            std::fs::write(&out, text).map_err(|e| Error::invalid(out.display().to_string(), e.to_string()))?;
            print!("{table}");
            Ok(serde_json::Value::Null)
        }
        Command::BenchRetrieval { workspace, graph, question, hl, ll, modes, runs } => {
            bench_retrieval(&workspace, &graph, &question, hl, ll, &modes, runs).await
        }
        Command::BenchCleanup => {
            let pool = pool().await?;
            bench::cleanup(&pool).await?;
            Ok(json!({"cleaned": true}))
        }
    }
}

/// `bench-retrieval`: per mode, `runs` timed retrievals (wall clock, embedding
/// included), then as many with the floor probe (the server's execution time of
/// the same statements).
async fn bench_retrieval(
    workspace: &str,
    graph: &str,
    question: &str,
    hl: Vec<String>,
    ll: Vec<String>,
    modes: &[String],
    runs: usize,
) -> Result<serde_json::Value> {
    use lightrag_pg::query::{Mode, QueryParam, Retriever};
    let sources = lightrag_pg_pool::Sources::from_env_and_dir(std::path::Path::new("."))?
        .with_flag("POSTGRES_WORKSPACE", "-w", workspace)
        .with_flag("LIGHTRAG_GRAPH_STORAGE", "--graph", graph);
    let retriever = Retriever::from_sources(&sources).await?;
    let probe = Retriever::from_sources(&sources).await?.with_floor_probe();
    let mut out = serde_json::Map::new();
    for m in modes {
        let mode: Mode = m.parse().map_err(Error::from)?;
        let param = QueryParam::from_sources(&sources)?.with_mode(mode).with_keywords(hl.clone(), ll.clone());
        retriever.retrieve(question, &param).await?;
        let mut ms = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = std::time::Instant::now();
            retriever.retrieve(question, &param).await?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let mut floor = Vec::with_capacity(runs);
        for _ in 0..runs {
            probe.retrieve(question, &param).await?;
            floor.push(probe.floor_ms());
        }
        out.insert(m.clone(), json!({"ms": ms, "floor_ms": floor}));
    }
    Ok(serde_json::Value::Object(out))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LIGHTRAG_PG_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(v) => {
            if !v.is_null() {
                println!("{v}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}
