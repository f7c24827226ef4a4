//! One module per command.

mod backup;
mod docs;
mod doctor;
mod dump;
mod graph;
mod init;
mod kv;
mod migrate;
mod rls;
mod search;
mod stats;
mod workspace;

use lightrag_pg::Result;

use crate::args::{Cli, Command};
use crate::context::Context;

/// Runs the parsed command line.
pub(crate) async fn run(cli: Cli) -> Result<()> {
    let ctx = Context::new(&cli)?;
    match cli.command {
        Command::Doctor(f) => doctor::run(&ctx, f.json).await,
        Command::Init { dry_run: true, json, .. } => init::dry_run(&ctx, json.json).await,
        Command::Init { graph, vector_index, metric, embedding_dim, model_name, json, .. } => {
            init::run(&ctx, init::InitArgs { graph, vector_index, metric, embedding_dim, model_name }, json.json).await
        }
        Command::Migrate { from, graph, model_name, dry_run, memory, json } => {
            migrate::migrate(&ctx, &from, graph, model_name, dry_run, memory, json.json).await
        }
        Command::Export { to, graphml, graph, model_name, json } => {
            migrate::export(&ctx, &to, graphml, graph, model_name, json.json).await
        }
        Command::Stats(f) => stats::run(&ctx, f.json).await,
        Command::Graph { label, depth, max_nodes, format, graph } => {
            graph::run(&ctx, &label, depth, max_nodes, format, graph).await
        }
        Command::Search { namespace, like_id, like_entity, vector_file, top_k, model_name, embedding_dim, json } => {
            search::run(
                &ctx,
                search::SearchArgs {
                    namespace,
                    like_id: like_id.or(like_entity.map(|n| lightrag_pg::core::ids::entity_id(&n))),
                    vector_file,
                    top_k,
                    model_name,
                    embedding_dim,
                },
                json.json,
            )
            .await
        }
        Command::Kv { command } => kv::run(&ctx, command).await,
        Command::Docs { command } => docs::run(&ctx, command).await,
        Command::Dump { graph, model_name } => dump::run(&ctx, graph, model_name).await,
        Command::Workspace { command } => workspace::run(&ctx, command).await,
        Command::Rls { command } => rls::run(&ctx, command).await,
        Command::Backup { to, json } => backup::backup(&ctx, &to, json.json).await,
        Command::Restore { from, json } => backup::restore(&ctx, &from, json.json).await,
    }
}
