//! One module per command.

mod backup;
mod docs;
mod doctor;
mod dump;
mod graph;
mod init;
mod kv;
mod migrate;
mod query;
mod rls;
mod search;
mod serve;
mod stats;
mod workspace;

use lightrag_pg::Result;

use crate::args::{Cli, Command};
use crate::context::Context;

/// Runs the parsed command line.
pub(crate) async fn run(cli: Cli) -> Result<()> {
    let ctx = Context::new(&cli, cli.command.overrides())?;
    match cli.command {
        Command::Doctor(f) => doctor::run(&ctx, f.json).await,
        Command::Init { dry_run: true, json, .. } => init::dry_run(&ctx, json.json).await,
        Command::Init { metric, json, .. } => init::run(&ctx, metric, json.json).await,
        Command::Migrate { from, dry_run, memory, json, .. } => {
            migrate::migrate(&ctx, &from, dry_run, memory, json.json).await
        }
        Command::Export { to, graphml, json, .. } => migrate::export(&ctx, &to, graphml, json.json).await,
        Command::Stats(f) => stats::run(&ctx, f.json).await,
        Command::Graph { label, depth, format, .. } => graph::run(&ctx, &label, depth, format).await,
        Command::Search { namespace, like_id, like_entity, vector_file, top_k, json, .. } => {
            search::run(
                &ctx,
                search::SearchArgs {
                    namespace,
                    like_id: like_id.or(like_entity.map(|n| lightrag_pg::core::ids::entity_id(&n))),
                    vector_file,
                    top_k,
                },
                json.json,
            )
            .await
        }
        Command::Kv { command } => kv::run(&ctx, command).await,
        Command::Docs { command } => docs::run(&ctx, command).await,
        Command::Dump { .. } => dump::run(&ctx).await,
        Command::Workspace { command } => workspace::run(&ctx, command).await,
        Command::Rls { command } => rls::run(&ctx, command).await,
        Command::Backup { to, json } => backup::backup(&ctx, &to, json.json).await,
        Command::Query { question, mode, hl_keywords, ll_keywords, format, .. } => {
            query::run(&ctx, query::QueryArgs { question, mode, hl_keywords, ll_keywords, format }).await
        }
        Command::Serve { .. } => serve::run(&ctx).await,
        Command::Restore { from, json } => backup::restore(&ctx, &from, json.json).await,
    }
}
