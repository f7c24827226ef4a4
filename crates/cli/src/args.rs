//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Move LightRAG knowledge bases into PostgreSQL and inspect them.
///
/// Reads LightRAG's POSTGRES_* variables (POSTGRES_HOST, POSTGRES_PORT,
/// POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DATABASE, POSTGRES_WORKSPACE, …);
/// --database-url and --workspace override them.
#[derive(Debug, Parser)]
#[command(name = "lightrag-pg", version, about)]
pub(crate) struct Cli {
    /// A postgres:// URL instead of the POSTGRES_* variables.
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) database_url: Option<String>,
    /// The workspace (overrides POSTGRES_WORKSPACE and WORKSPACE).
    #[arg(long, short = 'w', global = true)]
    pub(crate) workspace: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The graph engine.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum GraphArg {
    /// Apache AGE in LightRAG's layout.
    Age,
    /// Plain tables (no extension).
    Table,
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
        /// Graph engine.
        #[arg(long, value_enum, default_value = "age")]
        graph: GraphArg,
        /// Vector index kind.
        #[arg(long, value_enum, default_value = "hnsw")]
        vector_index: IndexArg,
        /// Distance metric.
        #[arg(long, value_enum, default_value = "cosine")]
        metric: MetricArg,
        /// Embedding dimension.
        #[arg(long, default_value_t = 1024)]
        embedding_dim: usize,
        /// Embedding model name (suffixes the vector tables like LightRAG).
        #[arg(long)]
        model_name: Option<String>,
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
        /// Graph engine.
        #[arg(long, value_enum, default_value = "age")]
        graph: GraphArg,
        /// Embedding model name (suffixes the vector tables like LightRAG).
        #[arg(long)]
        model_name: Option<String>,
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
        /// Graph engine.
        #[arg(long, value_enum, default_value = "age")]
        graph: GraphArg,
        /// Embedding model name of the vector tables (found in the database when
        /// only one model's tables exist).
        #[arg(long)]
        model_name: Option<String>,
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
        /// Most nodes to return.
        #[arg(long, default_value_t = 1000)]
        max_nodes: usize,
        /// Output format.
        #[arg(long, value_enum, default_value = "json")]
        format: GraphFormat,
        /// Graph engine.
        #[arg(long, value_enum, default_value = "age")]
        graph: GraphArg,
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
        /// Embedding model name of the vector table.
        #[arg(long)]
        model_name: Option<String>,
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
        /// Graph engine.
        #[arg(long, value_enum, default_value = "age")]
        graph: GraphArg,
        /// Embedding model name of the vector tables.
        #[arg(long)]
        model_name: Option<String>,
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
    /// Delete every record of a workspace (all stores, its AGE graph).
    Drop {
        /// The workspace.
        name: String,
        /// Required: confirms the deletion.
        #[arg(long)]
        yes: bool,
    },
    /// Copy every record of a workspace into another.
    Copy {
        /// Source workspace.
        from: String,
        /// Target workspace (must be empty).
        to: String,
    },
}
