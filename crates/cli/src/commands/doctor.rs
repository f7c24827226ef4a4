//! `lightrag-pg doctor`: where each effective setting came from (secrets
//! masked), then the pool crate's doctor report.

use lightrag_pg::Result;
use lightrag_pg::pool::PgPool;

use crate::context::Context;
use crate::output;
use crate::output::outln;

pub(crate) async fn run(ctx: &Context, json: bool) -> Result<()> {
    // A lazy pool: the doctor reports an unreachable server instead of failing.
    let pool = PgPool::connect_lazy(ctx.config.clone())?;
    let report = lightrag_pg::pool::doctor(&pool).await;
    let settings = ctx.sources.report();
    let mut value = serde_json::to_value(&report).unwrap_or_default();
    if json {
        value["configuration"] = serde_json::json!({
            "files": ctx.sources.files(),
            "settings": settings,
            "workspace": ctx.workspace()?.as_str(),
            "stores": {
                "kv": ctx.settings.stores.kv,
                "vector": ctx.settings.stores.vector,
                "graph": ctx.settings.stores.graph.map(|g| g.as_str()),
                "doc_status": ctx.settings.stores.doc_status,
            },
        });
        return output::json(&value);
    }
    for file in ctx.sources.files() {
        outln!("read       {}", file.display());
    }
    for s in &settings {
        outln!("setting    {}={}  ({})", s.variable, s.value, s.origin);
    }
    outln!("workspace  {}", ctx.workspace()?);
    outln!("server     {}", ctx.config.primary_host());
    outln!("reachable  {}", report.reachable);
    if let Some(e) = &report.error {
        outln!("error      {e}");
    }
    if let Some(server) = value.get("server").filter(|v| !v.is_null()) {
        outln!("version    {}", server["version"].as_str().unwrap_or("?"));
    }
    if let Some(exts) = value.get("extensions").and_then(|v| v.as_array()) {
        for e in exts {
            outln!(
                "extension  {:<20} installed {:<8} available {}",
                e["name"].as_str().unwrap_or("?"),
                e["installed_version"].as_str().unwrap_or("-"),
                e["available_version"].as_str().unwrap_or("-")
            );
        }
    }
    for h in &report.hosts {
        let lag = h.replay_lag_ms.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.1} ms"));
        outln!(
            "host       {}:{} ({} pool) role {} replay lag {lag}{}",
            h.host,
            h.port,
            h.pool,
            h.role.as_deref().unwrap_or("unreachable"),
            if h.pool == "read" && !h.readable { " — not read from" } else { "" }
        );
    }
    if let Some(tables) = value.get("tables").and_then(|v| v.as_array()) {
        outln!("tables     {}", tables.len());
    }
    if let Some(warnings) = value.get("warnings").and_then(|v| v.as_array()) {
        for w in warnings {
            outln!("warning    {}", w.get("message").and_then(|m| m.as_str()).unwrap_or(&w.to_string()));
        }
    }
    Ok(())
}
