//! Turning the command line into the one configuration every command uses.
//!
//! The configuration is read once, as LightRAG reads it (the environment, then
//! `.env` and `config.ini` in the working directory: [`Sources::discover`]);
//! the command line's flags are added on top as the highest layer, so `doctor`
//! can say where each effective setting came from.

use lightrag_pg::pool::{LightRagSettings, PgConfig, PgPool, Sources};
use lightrag_pg::{Error, GraphEngine, KvNamespace, Result, StoragesBuilder, Workspace};

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
        first.retry = lightrag_pg::pool::RetryPolicy {
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

/// Finds the vector table of `ns` (with `model`'s suffix when given), its
/// dimension and the model name that reproduces its suffix.
pub(crate) use lightrag_pg::admin::find_vector_table;
