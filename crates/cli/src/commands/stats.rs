//! `lightrag-pg stats`: counts per workspace and store, table and index sizes,
//! write activity, connections, and top statements (`lightrag_pg::admin::stats`).

use lightrag_pg::{Result, admin};

use crate::context::Context;
use crate::output;
use crate::output::outln;

pub(crate) async fn run(ctx: &Context, json_out: bool) -> Result<()> {
    let report = admin::stats(&ctx.pool().await?).await?;
    if json_out {
        return output::json(&report);
    }
    let list = |key: &str| report[key].as_array().cloned().unwrap_or_default();
    let (counts, tables, statements) = (list("counts"), list("tables"), list("top_statements"));
    outln!("rows per workspace:");
    for c in &counts {
        outln!(
            "  {:<45} {:<30} {}",
            c["table"].as_str().unwrap_or(""),
            c["workspace"].as_str().unwrap_or(""),
            c["rows"]
        );
    }
    outln!("tables:");
    for t in &tables {
        outln!("  {:<45} {:>12} bytes  dead {}", t["table"].as_str().unwrap_or(""), t["total_bytes"], t["dead_tuples"]);
    }
    outln!("indexes: {}   connections: {}", list("indexes").len(), list("connections").len());
    if statements.is_empty() {
        outln!("top statements: (pg_stat_statements not installed in this database)");
    } else {
        outln!("top statements:");
        for s in &statements {
            outln!("  {:>10} ms  {}", s["total_ms"], s["query"].as_str().unwrap_or("").replace('\n', " "));
        }
    }
    Ok(())
}
