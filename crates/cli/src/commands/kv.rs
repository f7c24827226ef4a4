//! `lightrag-pg kv get`: key-value records by id.

use lightrag_pg::kv::PgKvStorage;
use lightrag_pg::{KvStorage, Result, Storage};

use crate::args::KvCommand;
use crate::context::{Context, kv_namespace};
use crate::output;

pub(crate) async fn run(ctx: &Context, cmd: KvCommand) -> Result<()> {
    let KvCommand::Get { namespace, ids } = cmd;
    let ns = kv_namespace(&namespace)?;
    let store = PgKvStorage::new(ctx.pool().await?, ns, ctx.workspace()?)?;
    store.initialize().await?;
    let records = store.get_by_ids(&ids).await?;
    let out: serde_json::Map<String, serde_json::Value> = ids
        .into_iter()
        .zip(records)
        .map(|(id, r)| (id, r.map(serde_json::Value::Object).unwrap_or(serde_json::Value::Null)))
        .collect();
    output::json(&out)
}
