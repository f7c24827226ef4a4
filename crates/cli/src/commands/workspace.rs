//! `lightrag-pg workspace`: list, drop and copy workspaces across every store.

use lightrag_pg::{Error, Result, Workspace};
use lightrag_pg_graph::{GraphEngine, PgGraphStorage};
use lightrag_pg_pool::{db_error, ident::quote_ident};

use crate::args::WorkspaceCommand;
use crate::commands::stats::workspace_tables;
use crate::context::Context;
use crate::output;
use crate::output::outln;

async fn age_installed(pool: &lightrag_pg_pool::PgPool) -> Result<bool> {
    let conn = pool.get().await?;
    Ok(conn.query_opt("SELECT 1 FROM pg_extension WHERE extname = 'age'", &[]).await.map_err(db_error)?.is_some())
}

pub(crate) async fn run(ctx: &Context, cmd: WorkspaceCommand) -> Result<()> {
    let pool = ctx.pool().await?;
    match cmd {
        WorkspaceCommand::List(f) => {
            let conn = pool.get().await?;
            let mut names = std::collections::BTreeMap::<String, u64>::new();
            for table in workspace_tables(&conn).await? {
                let q = quote_ident(&table)?;
                let rows = conn
                    .query(&format!("SELECT workspace::text, count(*) FROM {q} GROUP BY 1"), &[])
                    .await
                    .map_err(db_error)?;
                for r in rows {
                    *names.entry(r.get(0)).or_default() += r.get::<_, i64>(1) as u64;
                }
            }
            let graphs: Vec<String> = if age_installed(&pool).await? {
                conn.query("SELECT name::text FROM ag_catalog.ag_graph ORDER BY 1", &[])
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(|r| r.get(0))
                    .collect()
            } else {
                Vec::new()
            };
            if f.json {
                let ws: Vec<_> = names.iter().map(|(n, c)| serde_json::json!({"workspace": n, "rows": c})).collect();
                return output::json(&serde_json::json!({ "workspaces": ws, "age_graphs": graphs }));
            }
            for (n, c) in &names {
                outln!("{n:<40} {c} rows");
            }
            for g in &graphs {
                outln!("{g:<40} (AGE graph)");
            }
            Ok(())
        }
        WorkspaceCommand::Drop { name, yes } => {
            if !yes {
                return Err(Error::invalid(name, "dropping a workspace deletes all its data: add --yes"));
            }
            let ws = Workspace::new(name)?;
            let mut conn = pool.get().await?;
            let tables = workspace_tables(&conn).await?;
            let tx = conn.transaction().await.map_err(db_error)?;
            let mut deleted = 0u64;
            for table in &tables {
                let q = quote_ident(table)?;
                deleted += tx
                    .execute(&format!("DELETE FROM {q} WHERE workspace = $1"), &[&ws.as_str()])
                    .await
                    .map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)?;
            if age_installed(&pool).await? {
                let graph = PgGraphStorage::new(pool.clone(), ws.clone(), GraphEngine::Age)?.into_dyn();
                graph.initialize().await?;
                graph.drop_all().await?;
            }
            outln!("dropped workspace '{ws}': {deleted} rows");
            Ok(())
        }
        WorkspaceCommand::Copy { from, to } => {
            let (from, to) = (Workspace::new(from)?, Workspace::new(to)?);
            let mut conn = pool.get().await?;
            let tables = workspace_tables(&conn).await?;
            let tx = conn.transaction().await.map_err(db_error)?;
            let mut copied = 0u64;
            for table in &tables {
                let q = quote_ident(table)?;
                let busy: bool = tx
                    .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {q} WHERE workspace = $1)"), &[&to.as_str()])
                    .await
                    .map_err(db_error)?
                    .get(0);
                if busy {
                    return Err(Error::invalid(to.as_str(), format!("target workspace already has rows in {table}")));
                }
                let cols: Vec<String> = tx
                    .query(
                        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() \
                         AND table_name = $1 AND column_name <> 'workspace' ORDER BY ordinal_position",
                        &[table],
                    )
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(|r| quote_ident(r.get::<_, &str>(0)))
                    .collect::<Result<_>>()?;
                let list = cols.join(", ");
                copied += tx
                    .execute(
                        &format!("INSERT INTO {q} (workspace, {list}) SELECT $2, {list} FROM {q} WHERE workspace = $1"),
                        &[&from.as_str(), &to.as_str()],
                    )
                    .await
                    .map_err(db_error)?;
            }
            tx.commit().await.map_err(db_error)?;
            let mut graph_nodes = 0;
            if age_installed(&pool).await? {
                let src = PgGraphStorage::new(pool.clone(), from.clone(), GraphEngine::Age)?.into_dyn();
                let dst = PgGraphStorage::new(pool.clone(), to.clone(), GraphEngine::Age)?.into_dyn();
                src.initialize().await?;
                dst.initialize().await?;
                let report = lightrag_pg_graph::convert(src.as_ref(), dst.as_ref()).await?;
                graph_nodes = src.get_all_labels().await?.len();
                tracing::info!(?report, "AGE graph copied");
            }
            outln!("copied workspace '{from}' to '{to}': {copied} rows, {graph_nodes} AGE graph nodes");
            Ok(())
        }
    }
}
