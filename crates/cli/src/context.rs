//! Turning the global options into a configuration, a pool and storages.

use lightrag_pg::{Error, KvNamespace, Result, VectorNamespace, Workspace};
use lightrag_pg_pool::{PgConfig, PgPool, db_error, ddl};

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
        let settings = lightrag_pg_pool::LightRagSettings::from_env()?;
        Workspace::resolve(self.config.workspace.as_deref(), settings.workspace.as_deref())
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
pub(crate) fn engine(g: GraphArg) -> lightrag_pg_graph::GraphEngine {
    match g {
        GraphArg::Age => lightrag_pg_graph::GraphEngine::Age,
        GraphArg::Table => lightrag_pg_graph::GraphEngine::Table,
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
