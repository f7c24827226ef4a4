//! `lightrag-pg query`: LightRAG's `aquery_data` (or the `only_need_context`
//! string) for a question, through the facade's `query` feature; keywords not
//! given are the cached ones, else extracted by the LLM (`LLM_BINDING`).

use std::sync::Arc;

use lightrag_pg::query::{
    HttpEmbedder, HttpReranker, Mode, QueryParam, Reranker, RetrievalSettings, Retriever, validate,
};
use lightrag_pg::{Error, Result, VectorNamespace};

use crate::args::QueryFormat;
use crate::context::{Context, find_vector_table};
use crate::output;
use crate::output::outln;

pub(crate) struct QueryArgs {
    pub(crate) question: String,
    pub(crate) mode: String,
    pub(crate) hl_keywords: Vec<String>,
    pub(crate) ll_keywords: Vec<String>,
    pub(crate) format: QueryFormat,
}

/// Comma-separated keywords, trimmed, empty ones dropped.
fn keywords(list: Vec<String>) -> Vec<String> {
    list.into_iter().map(|k| k.trim().to_owned()).filter(|k| !k.is_empty()).collect()
}

pub(crate) async fn run(ctx: &Context, a: QueryArgs) -> Result<()> {
    // Bad input is refused before anything is opened.
    let mode: Mode = a.mode.parse().map_err(Error::from)?;
    let question = validate::query(&a.question, mode).map_err(Error::from)?;
    let param = QueryParam::from_sources(&ctx.sources)
        .map_err(Error::from)?
        .with_mode(mode)
        .with_keywords(keywords(a.hl_keywords), keywords(a.ll_keywords));
    let settings = RetrievalSettings::from_sources(&ctx.sources).map_err(Error::from)?;
    let engine = ctx.engine()?;
    let ws = ctx.workspace()?;
    let pool = ctx.pool().await?;
    let model = ctx.model_name();
    // EMBEDDING_DIM, else the dimension of the workspace's entity table.
    let mut sources = ctx.sources.clone();
    if ctx.settings.embedding_dim.is_none() {
        let found = find_vector_table(&pool, VectorNamespace::Entities, model.as_deref(), &ws).await?;
        sources = sources.with_flag("EMBEDDING_DIM", "(entity table)", found.dimension.to_string());
    }
    let embedder = HttpEmbedder::from_sources(&sources).map_err(Error::from)?;
    let reranker = HttpReranker::from_sources(&sources).map_err(Error::from)?;
    let dimension = lightrag_pg::core::Embedder::dimension(&embedder);
    // With POSTGRES_READ_HOSTS the retrieval reads a standby fit to read from.
    let pools = lightrag_pg::pool::Pools::with_write_pool(pool).await?;
    let retriever = Retriever::open(pools, ws, engine, dimension, model.as_deref(), Arc::new(embedder), settings)
        .await
        .and_then(|r| r.with_llm_from_sources(&ctx.sources))
        .map_err(Error::from)?
        .with_reranker(reranker.map(|r| Arc::new(r) as Arc<dyn Reranker>));
    let found = retriever.retrieve(&question, &param).await.map_err(Error::from)?;
    match a.format {
        QueryFormat::Json => output::json(&found.data),
        QueryFormat::Context => {
            outln!("{}", found.context);
            Ok(())
        }
    }
}
