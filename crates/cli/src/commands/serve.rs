//! `lightrag-pg serve`: LightRAG server's query API over HTTP, through the
//! facade's `serve` feature, until SIGTERM or Ctrl-C.

use lightrag_pg::Result;
use lightrag_pg::serve::Server;

use crate::context::Context;

pub(crate) async fn run(ctx: &Context) -> Result<()> {
    let server = Server::from_sources(&ctx.sources).await?;
    server.bind_and_run().await?;
    Ok(())
}
