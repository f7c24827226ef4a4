//! `lightrag-pg workspace`: list, drop and copy workspaces across every store
//! (`lightrag_pg::admin`).

use lightrag_pg::{Error, Result, Workspace, admin};

use crate::args::WorkspaceCommand;
use crate::context::Context;
use crate::output;
use crate::output::outln;

pub(crate) async fn run(ctx: &Context, cmd: WorkspaceCommand) -> Result<()> {
    let pool = ctx.pool().await?;
    match cmd {
        WorkspaceCommand::List(f) => {
            let list = admin::list_workspaces(&pool).await?;
            if f.json {
                let ws: Vec<_> =
                    list.rows.iter().map(|(n, c)| serde_json::json!({"workspace": n, "rows": c})).collect();
                return output::json(&serde_json::json!({ "workspaces": ws, "age_graphs": list.age_graphs }));
            }
            for (n, c) in &list.rows {
                outln!("{n:<40} {c} rows");
            }
            for g in &list.age_graphs {
                outln!("{g:<40} (AGE graph)");
            }
            Ok(())
        }
        WorkspaceCommand::Drop { name, yes, json } => {
            if !yes {
                return Err(Error::invalid(name, "dropping a workspace deletes all its data: add --yes"));
            }
            let ws = Workspace::new(name)?;
            let report = admin::drop_workspace(&pool, &ws).await?;
            if json.json {
                return output::json(&serde_json::json!({
                    "workspace": ws.as_str(), "rows": report.rows, "age_graph": report.age_graph,
                }));
            }
            let graph = match &report.age_graph {
                Some(g) => format!("AGE graph '{g}'"),
                None => "no AGE graph".to_owned(),
            };
            outln!("dropped workspace '{ws}': {} rows, {graph}", report.rows);
            Ok(())
        }
        WorkspaceCommand::Copy { from, to } => {
            let (from, to) = (Workspace::new(from)?, Workspace::new(to)?);
            let report = admin::copy_workspace(&pool, &from, &to).await?;
            outln!("copied workspace '{from}' to '{to}': {} rows, {} AGE graph nodes", report.rows, report.graph_nodes);
            Ok(())
        }
    }
}
