//! `lightrag-pg rls`: the optional row-level-security mode
//! (`lightrag_pg::pool::rls`): enable, disable, grant and revoke.

use lightrag_pg::Result;
use lightrag_pg::pool::rls;

use crate::args::RlsCommand;
use crate::context::Context;
use crate::output::{self, outln};

pub(crate) async fn run(ctx: &Context, cmd: RlsCommand) -> Result<()> {
    let pool = ctx.pool().await?;
    match cmd {
        RlsCommand::Enable(f) => report(rls::enable(&pool).await?, "on", f.json),
        RlsCommand::Disable(f) => report(rls::disable(&pool).await?, "off", f.json),
        RlsCommand::Grant { workspace, role } => {
            rls::grant(&pool, &workspace, &role).await?;
            outln!("{role} may read and write workspace {workspace:?}");
            Ok(())
        }
        RlsCommand::Revoke { workspace, role } => {
            let was = rls::revoke(&pool, &workspace, &role).await?;
            outln!(
                "{role} {} workspace {workspace:?}",
                if was { "no longer reads or writes" } else { "had no grant on" }
            );
            Ok(())
        }
    }
}

fn report(tables: Vec<String>, state: &str, json: bool) -> Result<()> {
    if json {
        return output::json(&serde_json::json!({ "row_level_security": state, "tables": tables }));
    }
    outln!("row-level security {state} for {} table(s)", tables.len());
    for t in &tables {
        outln!("  {t}");
    }
    Ok(())
}
