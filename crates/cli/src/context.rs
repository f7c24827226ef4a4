//! Turning the command line into the one configuration every command uses.
//!
//! The configuration is read once, as LightRAG reads it (the environment, then
//! `.env` and `config.ini` in the working directory: [`Sources::discover`]);
//! the command line's flags are added on top as the highest layer, so `doctor`
//! can say where each effective setting came from.

use lightrag_pg::{Error, GraphEngine, KvNamespace, Result, StoragesBuilder, VectorNamespace, Workspace};
use lightrag_pg_pool::{LightRagSettings, PgConfig, PgPool, Sources, db_error, ddl};

use crate::args::Cli;

/// What every command starts from.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) sources: Sources,
    pub(crate) config: PgConfig,
    pub(crate) settings: LightRagSettings,
}

impl Context {
    /// Reads the configuration once: `flags` are `(variable, flag, value)`
    /// overrides from the command line.
    pub(crate) fn new(cli: &Cli, flags: Vec<(&'static str, &'static str, String)>) -> Result<Self> {
        let mut sources = Sources::discover()?;
        if let Some(url) = &cli.database_url {
            sources = sources.with_flag("DATABASE_URL", "--database-url", url.clone());
        }
        if let Some(ws) = &cli.workspace {
            Workspace::new(ws.clone())?;
            sources = sources.with_flag("POSTGRES_WORKSPACE", "--workspace", ws.clone());
        }
        for (variable, flag, value) in flags {
            sources = sources.with_flag(variable, flag, value);
        }
        let config = PgConfig::from_sources(&sources)?;
        let settings = LightRagSettings::from_sources(&sources)?;
        Ok(Self { sources, config, settings })
    }

    /// The effective workspace: --workspace, POSTGRES_WORKSPACE, WORKSPACE, `default`.
    pub(crate) fn workspace(&self) -> Result<Workspace> {
        Workspace::resolve(self.config.workspace.as_deref(), self.settings.workspace.as_deref())
    }

    /// The workspace given with `--workspace`, if any.
    pub(crate) fn workspace_flag(&self) -> Option<String> {
        self.sources.is_flag("POSTGRES_WORKSPACE").then(|| self.sources.value("POSTGRES_WORKSPACE")).flatten()
    }

    /// The graph engine (`--graph`, LIGHTRAG_GRAPH_STORAGE, AGE), or an error
    /// when the configuration keeps the graph outside PostgreSQL.
    pub(crate) fn engine(&self) -> Result<GraphEngine> {
        self.settings.stores.graph.ok_or_else(|| Error::Unsupported {
            what: format!("the graph is not in PostgreSQL ({}); pass --graph age|table", self.settings.elsewhere(2)),
        })
    }

    /// The embedding model that suffixes the vector tables (`--model-name`,
    /// EMBEDDING_MODEL).
    pub(crate) fn model_name(&self) -> Option<String> {
        self.settings.embedding_model.clone()
    }

    /// A facade builder with this configuration and workspace.
    pub(crate) fn builder(&self) -> Result<StoragesBuilder> {
        StoragesBuilder::from_sources(&self.sources)
    }

    /// A connected pool. An interactive command should not wait minutes for a
    /// server that is down, so connecting is tried at most 3 times over about
    /// 3 s; once connected, operations keep the configured retry policy.
    pub(crate) async fn pool(&self) -> Result<PgPool> {
        let mut first = self.config.clone();
        first.retry = lightrag_pg_pool::RetryPolicy {
            attempts: first.retry.attempts.min(3),
            backoff: std::time::Duration::from_millis(500),
            backoff_max: std::time::Duration::from_secs(2),
        };
        let probe = PgPool::connect(first).await.map(drop);
        let pool = match probe {
            Ok(()) => PgPool::connect(self.config.clone()).await,
            Err(e) => Err(e),
        };
        pool.map_err(|e| match e {
            Error::Connection { message, retryable, source } => Error::Connection {
                message: format!(
                    "{message} (server {}; set POSTGRES_* in the environment, .env or config.ini, or --database-url, \
                     or run `cargo xtask pg up`)",
                    self.config.primary_host()
                ),
                retryable,
                source,
            },
            other => other,
        })
    }
}

/// Parses a KV namespace argument.
pub(crate) fn kv_namespace(s: &str) -> Result<KvNamespace> {
    s.parse()
}

/// A vector table found in the database: its dimension and the model name that
/// reproduces its suffix.
#[derive(Debug)]
pub(crate) struct FoundVectorTable {
    pub(crate) dimension: usize,
    pub(crate) model_name: Option<String>,
}

/// Finds the vector table of `ns` (with `model`'s suffix when given) and reads its
/// dimension from the column type.
/// When several tables match, only those holding rows of `workspace` count.
pub(crate) async fn find_vector_table(
    pool: &PgPool,
    ns: VectorNamespace,
    model: Option<&str>,
    workspace: &Workspace,
) -> Result<FoundVectorTable> {
    let base = ns.base_table().to_lowercase();
    let conn = pool.get().await?;
    let rows = conn
        .query(
            "SELECT c.relname::text, a.atttypmod FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid \
             WHERE c.relkind IN ('r', 'p') AND a.attname = 'content_vector' AND pg_table_is_visible(c.oid) \
             AND (c.relname = $1 OR c.relname LIKE $1 || '\\_%') ORDER BY c.relname",
            &[&base],
        )
        .await
        .map_err(db_error)?;
    let wanted = |name: &str, dim: usize| match model {
        Some(m) => ddl::vector_table_name(ns, Some(m), dim).map(|t| t.to_lowercase() == name).unwrap_or(false),
        None => true,
    };
    let mut found: Vec<(String, usize)> = rows
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, i32>(1).max(0) as usize))
        .filter(|(name, dim)| wanted(name, *dim))
        .collect();
    if found.len() > 1 {
        let mut with_rows = Vec::new();
        for (name, dim) in found.drain(..) {
            let q = lightrag_pg_pool::ident::quote_ident(&name)?;
            let has: bool = conn
                .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {q} WHERE workspace = $1)"), &[&workspace.as_str()])
                .await
                .map_err(db_error)?
                .get(0);
            if has {
                with_rows.push((name, dim));
            }
        }
        found = with_rows;
    }
    match found.as_slice() {
        [(name, dim)] => {
            let suffix = name
                .strip_prefix(&base)
                .and_then(|s| s.strip_prefix('_'))
                .map(|s| s.strip_suffix(&format!("_{dim}d")).unwrap_or(s).to_owned());
            Ok(FoundVectorTable { dimension: *dim, model_name: suffix })
        }
        [] => Err(Error::NotFound { what: format!("a vector table for '{ns}' (looked for {base}*)") }),
        many => Err(Error::invalid(
            ns.as_str(),
            format!(
                "several vector tables match ({}); pass --model-name",
                many.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}
