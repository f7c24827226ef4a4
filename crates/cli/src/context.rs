//! Turning the global options into a configuration, a pool and storages.

use lightrag_pg::pool::{PgConfig, PgPool};
use lightrag_pg::{Error, KvNamespace, Result, Workspace};

use crate::args::{Cli, GraphArg};

/// What every command starts from.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) config: PgConfig,
    pub(crate) workspace_flag: Option<String>,
}

impl Context {
    pub(crate) fn new(cli: &Cli) -> Result<Self> {
        let mut config = match &cli.database_url {
            Some(url) => PgConfig::from_url(url)?,
            None => PgConfig::from_env()?,
        };
        if let Some(ws) = &cli.workspace {
            Workspace::new(ws.clone())?;
            config.workspace = Some(ws.clone());
        }
        Ok(Self { config, workspace_flag: cli.workspace.clone() })
    }

    /// The effective workspace: --workspace, POSTGRES_WORKSPACE, WORKSPACE, `default`.
    pub(crate) fn workspace(&self) -> Result<Workspace> {
        let settings = lightrag_pg::pool::LightRagSettings::from_env()?;
        Workspace::resolve(self.config.workspace.as_deref(), settings.workspace.as_deref())
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
                    "{message} (server {}; set POSTGRES_* or --database-url, or run `cargo xtask pg up`)",
                    self.config.primary_host()
                ),
                retryable,
                source,
            },
            other => other,
        })
    }
}

/// The engine named on the command line.
pub(crate) fn engine(g: GraphArg) -> lightrag_pg::graph::GraphEngine {
    match g {
        GraphArg::Age => lightrag_pg::graph::GraphEngine::Age,
        GraphArg::Table => lightrag_pg::graph::GraphEngine::Table,
    }
}

/// Parses a KV namespace argument.
pub(crate) fn kv_namespace(s: &str) -> Result<KvNamespace> {
    s.parse()
}

/// Finds the vector table of `ns` (with `model`'s suffix when given), its
/// dimension and the model name that reproduces its suffix.
pub(crate) use lightrag_pg::admin::find_vector_table;
