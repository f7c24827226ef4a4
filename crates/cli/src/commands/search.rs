//! `lightrag-pg search`: nearest neighbours in a vector namespace.

use std::path::PathBuf;

use lightrag_pg::vector::{PgVectorConfig, PgVectorStorage};
use lightrag_pg::{Error, Result, Storage, VectorNamespace, VectorQuery, VectorStorage};

use crate::args::VectorNsArg;
use crate::context::{Context, find_vector_table};
use crate::output;
use crate::output::outln;

pub(crate) struct SearchArgs {
    pub(crate) namespace: VectorNsArg,
    pub(crate) like_id: Option<String>,
    pub(crate) vector_file: Option<PathBuf>,
    pub(crate) top_k: usize,
}

pub(crate) fn namespace(ns: VectorNsArg) -> VectorNamespace {
    match ns {
        VectorNsArg::Entities => VectorNamespace::Entities,
        VectorNsArg::Relationships => VectorNamespace::Relationships,
        VectorNsArg::Chunks => VectorNamespace::Chunks,
    }
}

pub(crate) async fn run(ctx: &Context, a: SearchArgs, json: bool) -> Result<()> {
    let pool = ctx.pool().await?;
    let ns = namespace(a.namespace);
    let model_name = ctx.model_name();
    let (dimension, model) = match ctx.settings.embedding_dim {
        Some(d) => (d, model_name),
        None => {
            let found = find_vector_table(&pool, ns, model_name.as_deref(), &ctx.workspace()?).await?;
            (found.dimension, model_name.or(found.model_name))
        }
    };
    let config =
        PgVectorConfig::from_pool_config(ns, dimension, model.as_deref(), pool.config())?.with_threshold(-1.0e9);
    let store = PgVectorStorage::new(pool, ctx.workspace()?, config)?;
    store.initialize().await?;
    let vector = match (&a.like_id, &a.vector_file) {
        (Some(id), _) => store
            .get_vectors_by_ids(std::slice::from_ref(id))
            .await?
            .remove(id)
            .ok_or_else(|| Error::NotFound { what: format!("vector '{id}' in {ns}") })?,
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| Error::invalid(file.display().to_string(), format!("cannot read: {e}")))?;
            serde_json::from_str::<Vec<f32>>(&text)
                .map_err(|e| Error::invalid(file.display().to_string(), format!("not a JSON array of numbers: {e}")))?
        }
        (None, None) => return Err(Error::invalid("search", "give --like-id or --vector-file")),
    };
    let hits = store.query(&VectorQuery::by_vector(vector, a.top_k)).await?;
    if json {
        return output::json(&hits);
    }
    for h in &hits {
        let label = ["entity_name", "src_id", "content"]
            .iter()
            .find_map(|k| h.metadata.get(*k).and_then(|v| v.as_str()))
            .unwrap_or("");
        let label: String = label.chars().take(60).collect();
        outln!("{:.4}  {:<40}  {label}", h.similarity, h.id);
    }
    Ok(())
}
