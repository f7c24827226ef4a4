//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use lightrag_pg::GraphEngine;

/// Move LightRAG knowledge bases into PostgreSQL and inspect them.
///
/// Reads LightRAG's configuration as LightRAG does: the environment, then `.env`
/// and `config.ini` (section `postgres`) in the working directory (POSTGRES_*, WORKSPACE,
/// EMBEDDING_MODEL, EMBEDDING_DIM, LIGHTRAG_*_STORAGE, …); flags override them
/// all. `lightrag-pg doctor` shows where each setting came from.
#[derive(Debug, Parser)]
#[command(name = "lightrag-pg", version, about)]
pub(crate) struct Cli {
    /// A postgres:// URL; overrides the connection POSTGRES_* variables.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) database_url: Option<String>,
    /// The workspace (overrides POSTGRES_WORKSPACE, which overrides WORKSPACE).
    #[arg(long, short = 'w', global = true)]
    pub(crate) workspace: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The vector index.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum IndexArg {
    /// HNSW on `vector` (up to 2,000 dimensions).
    Hnsw,
    /// IVFFlat.
    Ivfflat,
    /// HNSW on `halfvec` (up to 4,000 dimensions).
    HnswHalfvec,
    /// No index: exact search.
    None,
}

/// The distance metric.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum MetricArg {
    /// Cosine (LightRAG's).
    Cosine,
    /// Euclidean.
    L2,
    /// Inner product.
    Ip,
}

/// A vector namespace.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum VectorNsArg {
    /// Entity vectors.
    Entities,
    /// Relation vectors.
    Relationships,
    /// Chunk vectors.
    Chunks,
}

/// Output format of `graph`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum GraphFormat {
    /// LightRAG's KnowledgeGraph JSON.
    Json,
    /// GraphML.
    Graphml,
    /// Graphviz dot.
    Dot,
    /// One line per node and per edge, for people.
    Text,
}

/// What `query` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum QueryFormat {
    /// The object LightRAG's `aquery_data` returns.
    Json,
    /// The context string (`only_need_context`).
    Context,
}

/// `--graph`: the graph engine.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct GraphFlag {
    /// Graph engine: age (PGGraphStorage) or table (PGTableGraphStorage); default
    /// LIGHTRAG_GRAPH_STORAGE, else age.
    #[arg(long = "graph", value_parser = parse_engine)]
    pub(crate) engine: Option<GraphEngine>,
}

fn parse_engine(s: &str) -> Result<GraphEngine, String> {
    s.parse().map_err(|e: lightrag_pg::Error| e.to_string())
}

/// `--model-name`: the embedding model that suffixes the vector tables.
#[derive(Debug, Clone, Args)]
pub(crate) struct ModelFlag {
    /// Embedding model name: suffixes the vector tables like LightRAG (default:
    /// EMBEDDING_MODEL; found in the database when neither is set).
    #[arg(long)]
    pub(crate) model_name: Option<String>,
}

/// `--json` for scripts.
#[derive(Debug, Clone, Copy, Args)]
pub(crate) struct JsonFlag {
    /// Print one JSON document (stable fields; see docs/cli.md).
    #[arg(long)]
    pub(crate) json: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check the server, extensions, TLS, privileges, pool and LightRAG data.
    Doctor(#[command(flatten)] JsonFlag),
    /// Prepare a workspace: tables, indexes and the graph.
    Init {
        #[command(flatten)]
        graph: GraphFlag,
        /// Vector index kind (default: POSTGRES_VECTOR_INDEX_TYPE, else hnsw).
        #[arg(long, value_enum)]
        vector_index: Option<IndexArg>,
        /// Distance metric.
        #[arg(long, value_enum, default_value = "cosine")]
        metric: MetricArg,
        /// Embedding dimension (default: EMBEDDING_DIM, else 1024).
        #[arg(long)]
        embedding_dim: Option<usize>,
        #[command(flatten)]
        model: ModelFlag,
        /// List the steps that would upgrade tables an older LightRAG release
        /// created (`--json`: as a JSON array), and write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Load a LightRAG working directory (JsonKV, JsonDocStatus, NanoVectorDB,
    /// GraphML) into PostgreSQL, with no LLM re-run.
    Migrate {
        /// The working directory.
        #[arg(long)]
        from: PathBuf,
        #[command(flatten)]
        graph: GraphFlag,
        #[command(flatten)]
        model: ModelFlag,
        /// Read and check everything, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Load into memory instead of PostgreSQL (no server needed).
        #[arg(long, hide = true)]
        memory: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Write a workspace back as LightRAG's file storage.
    Export {
        /// The target directory.
        #[arg(long)]
        to: PathBuf,
        /// Also write the graph to this GraphML file.
        #[arg(long)]
        graphml: Option<PathBuf>,
        #[command(flatten)]
        graph: GraphFlag,
        #[command(flatten)]
        model: ModelFlag,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Counts per workspace and store, sizes, activity and top statements.
    Stats(#[command(flatten)] JsonFlag),
    /// The subgraph around an entity (`*` for the most connected).
    Graph {
        /// The entity id, or `*`.
        #[arg(long)]
        label: String,
        /// Hops from the entity.
        #[arg(long, default_value_t = 2)]
        depth: usize,
        /// Most nodes to return (default: MAX_GRAPH_NODES, else 1000).
        #[arg(long)]
        max_nodes: Option<usize>,
        /// Output format.
        #[arg(long, value_enum, default_value = "json")]
        format: GraphFormat,
        #[command(flatten)]
        graph: GraphFlag,
    },
    /// Nearest neighbours of a stored vector or of a vector from a file.
    Search {
        /// The vector namespace.
        #[arg(long, value_enum)]
        namespace: VectorNsArg,
        /// Use the stored vector of this id.
        #[arg(long, conflicts_with_all = ["vector_file", "like_entity"], required_unless_present_any = ["vector_file", "like_entity"])]
        like_id: Option<String>,
        /// Use the stored vector of this entity (its id is `ent-` + md5(name)).
        #[arg(long, conflicts_with = "vector_file")]
        like_entity: Option<String>,
        /// A JSON array of floats.
        #[arg(long)]
        vector_file: Option<PathBuf>,
        /// How many hits.
        #[arg(long, default_value_t = 10)]
        top_k: usize,
        #[command(flatten)]
        model: ModelFlag,
        /// Embedding dimension of the vector table (found in the database when omitted).
        #[arg(long)]
        embedding_dim: Option<usize>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Key-value records.
    Kv {
        #[command(subcommand)]
        command: KvCommand,
    },
    /// Document status.
    Docs {
        #[command(subcommand)]
        command: DocsCommand,
    },
    /// Every record of the workspace, as these crates read it, in one JSON
    /// document (for interop checks and debugging).
    Dump {
        #[command(flatten)]
        graph: GraphFlag,
        #[command(flatten)]
        model: ModelFlag,
    },
    /// Workspaces.
    Workspace {
        #[command(subcommand)]
        command: WorkspaceCommand,
    },
    /// Row-level security: bind roles to workspaces, enforced by the server.
    Rls {
        #[command(subcommand)]
        command: RlsCommand,
    },
    /// A consistent snapshot of the workspace (all four stores, the AGE graph)
    /// in one REPEATABLE READ transaction, as a JSON-lines file.
    Backup {
        /// The file to write.
        #[arg(long)]
        to: PathBuf,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Answer-free retrieval: what LightRAG's `aquery_data` returns for a
    /// question (entities, relations, chunks, references), or the context
    /// string `aquery(only_need_context=True)` returns.
    Query {
        /// The question.
        question: String,
        /// local, global, hybrid, mix (default), naive or bypass.
        #[arg(long, default_value = "mix")]
        mode: String,
        /// High-level keywords (relations), comma-separated.
        #[arg(long, value_delimiter = ',')]
        hl_keywords: Vec<String>,
        /// Low-level keywords (entities), comma-separated.
        #[arg(long, value_delimiter = ',')]
        ll_keywords: Vec<String>,
        /// Entities (local) or relations (global) to retrieve (default TOP_K, else 40).
        #[arg(long)]
        top_k: Option<usize>,
        /// Chunks to retrieve and keep (default CHUNK_TOP_K, else 20).
        #[arg(long)]
        chunk_top_k: Option<usize>,
        /// json: the object `aquery_data` returns; context: the context string.
        #[arg(long, value_enum, default_value = "json")]
        format: QueryFormat,
        #[command(flatten)]
        graph: GraphFlag,
        #[command(flatten)]
        model: ModelFlag,
        /// Embedding dimension (default EMBEDDING_DIM; found in the database when neither is set).
        #[arg(long)]
        embedding_dim: Option<usize>,
    },
    /// Serve LightRAG server's query API (`/query/data`, `/query` with
    /// only_need_context, the graph-read routes, `/health`) from PostgreSQL,
    /// beside the LightRAG server on the same `.env` (docs/serve.md).
    Serve {
        /// Address to listen on (default HOST, else 0.0.0.0).
        #[arg(long)]
        host: Option<String>,
        /// Port (default PORT, else 9621).
        #[arg(long)]
        port: Option<u16>,
        #[command(flatten)]
        graph: GraphFlag,
        #[command(flatten)]
        model: ModelFlag,
    },
    /// Load a `backup` file into an empty workspace (the file's, or --workspace).
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
        #[command(flatten)]
        json: JsonFlag,
    },
}

/// `kv …`
#[derive(Debug, Subcommand)]
pub(crate) enum KvCommand {
    /// Print records by id (JSON, one object keyed by id; missing ids are null).
    Get {
        /// The namespace, e.g. text_chunks.
        #[arg(long)]
        namespace: String,
        /// The ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

/// `docs …`
#[derive(Debug, Subcommand)]
pub(crate) enum DocsCommand {
    /// List documents.
    List {
        /// Only this status.
        #[arg(long)]
        status: Option<String>,
        /// Page (1-based).
        #[arg(long, default_value_t = 1)]
        page: u32,
        /// Page size (10–200).
        #[arg(long, default_value_t = 50)]
        page_size: u32,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Count documents per status.
    Counts(#[command(flatten)] JsonFlag),
}

/// `rls …` (run as the tables' owner).
#[derive(Debug, Subcommand)]
pub(crate) enum RlsCommand {
    /// Turn row-level security on for every LightRAG table (run again after new
    /// tables appear).
    Enable(#[command(flatten)] JsonFlag),
    /// Turn it off (the grants stay).
    Disable(#[command(flatten)] JsonFlag),
    /// Let a role read and write a workspace.
    Grant {
        /// The workspace.
        workspace: String,
        /// The role (members of it inherit the grant).
        role: String,
    },
    /// Take a grant back.
    Revoke {
        /// The workspace.
        workspace: String,
        /// The role.
        role: String,
    },
}

/// `workspace …`
#[derive(Debug, Subcommand)]
pub(crate) enum WorkspaceCommand {
    /// Workspaces found in the LightRAG tables and AGE graphs.
    List(#[command(flatten)] JsonFlag),
    /// Delete every record of a workspace and drop its AGE graph, all or
    /// nothing.
    Drop {
        /// The workspace.
        name: String,
        /// Required: confirms the deletion.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Copy every record of a workspace into another.
    Copy {
        /// Source workspace.
        from: String,
        /// Target workspace (must be empty).
        to: String,
    },
}

impl IndexArg {
    /// LightRAG's `POSTGRES_VECTOR_INDEX_TYPE` value.
    pub(crate) fn lightrag_name(self) -> &'static str {
        match self {
            Self::Hnsw => "HNSW",
            Self::Ivfflat => "IVFFLAT",
            Self::HnswHalfvec => "HNSW_HALFVEC",
            Self::None => "NONE",
        }
    }
}

impl Command {
    /// The command's flags that override LightRAG's variables, as `(variable,
    /// flag, value)`: they become the highest configuration layer.
    pub(crate) fn overrides(&self) -> Vec<(&'static str, &'static str, String)> {
        let mut out = Vec::new();
        let (graph, model) = match self {
            Self::Init { graph, model, vector_index, embedding_dim, .. } => {
                if let Some(i) = vector_index {
                    out.push(("POSTGRES_VECTOR_INDEX_TYPE", "--vector-index", i.lightrag_name().to_owned()));
                }
                if let Some(d) = embedding_dim {
                    out.push(("EMBEDDING_DIM", "--embedding-dim", d.to_string()));
                }
                (Some(graph), Some(model))
            }
            Self::Migrate { graph, model, .. } | Self::Export { graph, model, .. } | Self::Dump { graph, model } => {
                (Some(graph), Some(model))
            }
            Self::Graph { graph, max_nodes, .. } => {
                if let Some(n) = max_nodes {
                    out.push(("MAX_GRAPH_NODES", "--max-nodes", n.to_string()));
                }
                (Some(graph), None)
            }
            Self::Query { graph, model, embedding_dim, top_k, chunk_top_k, .. } => {
                if let Some(d) = embedding_dim {
                    out.push(("EMBEDDING_DIM", "--embedding-dim", d.to_string()));
                }
                if let Some(k) = top_k {
                    out.push(("TOP_K", "--top-k", k.to_string()));
                }
                if let Some(k) = chunk_top_k {
                    out.push(("CHUNK_TOP_K", "--chunk-top-k", k.to_string()));
                }
                (Some(graph), Some(model))
            }
            Self::Serve { host, port, graph, model } => {
                if let Some(h) = host {
                    out.push(("HOST", "--host", h.clone()));
                }
                if let Some(p) = port {
                    out.push(("PORT", "--port", p.to_string()));
                }
                (Some(graph), Some(model))
            }
            Self::Search { model, embedding_dim, .. } => {
                if let Some(d) = embedding_dim {
                    out.push(("EMBEDDING_DIM", "--embedding-dim", d.to_string()));
                }
                (None, Some(model))
            }
            _ => (None, None),
        };
        if let Some(engine) = graph.and_then(|g| g.engine) {
            out.push(("LIGHTRAG_GRAPH_STORAGE", "--graph", engine.lightrag_name().to_owned()));
        }
        if let Some(m) = model.and_then(|m| m.model_name.clone()) {
            out.push(("EMBEDDING_MODEL", "--model-name", m));
        }
        out
    }
}
