//! `lightrag-pg backup` and `lightrag-pg restore`: a consistent per-workspace
//! snapshot of all four stores in a self-describing JSON-lines file
//! (`lightrag_pg::admin::backup` and `restore`, which describe the format).
//!
//! A file name ending in `.gz` is written and read gzip-compressed.

use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use lightrag_pg::{Error, Result, Workspace, admin};
use serde_json::{Map, json};

use crate::context::Context;
use crate::output;

fn io_err(what: &str, e: std::io::Error) -> Error {
    Error::invalid(what, e.to_string())
}

/// `lightrag-pg backup --to FILE`.
pub(crate) async fn backup(ctx: &Context, to: &Path, json_out: bool) -> Result<()> {
    let pool = ctx.pool().await?;
    let ws = ctx.workspace()?;
    let file = std::fs::File::create(to).map_err(|e| io_err("--to", e))?;
    let sink: Box<dyn Write> = if is_gz(to) {
        Box::new(flate2::write::GzEncoder::new(file, flate2::Compression::default()))
    } else {
        Box::new(file)
    };
    let mut out = BufWriter::new(sink);
    let summary = admin::backup(&pool, &ws, &mut out).await?;
    out.flush().map_err(|e| io_err("--to", e))?;
    // Dropping the encoder writes the gzip trailer; finish it explicitly to see errors.
    let sink = out.into_inner().map_err(|e| io_err("--to", e.into_error()))?;
    drop(sink);
    let rows: Map<_, _> = summary.rows.into_iter().map(|(t, n)| (t, json!(n))).collect();
    let report = json!({"workspace": ws.as_str(), "file": to.display().to_string(), "rows": rows,
                        "age_graph": summary.age_graph, "nodes": summary.nodes, "edges": summary.edges});
    let _ = json_out;
    output::json(&report)
}

/// A `.gz` file name: the backup is gzip-compressed.
fn is_gz(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// `lightrag-pg restore --from FILE`.
pub(crate) async fn restore(ctx: &Context, from: &Path, json_out: bool) -> Result<()> {
    let file = std::fs::File::open(from).map_err(|e| io_err("--from", e))?;
    let source: Box<dyn std::io::Read> =
        if is_gz(from) { Box::new(flate2::read::GzDecoder::new(file)) } else { Box::new(file) };
    let ws = ctx.workspace_flag().map(Workspace::new).transpose()?;
    let summary = admin::restore(&ctx.pool().await?, BufReader::new(source), ws).await?;
    let report = json!({"workspace": summary.workspace.as_str(), "file": from.display().to_string(),
                        "rows": summary.rows, "nodes": summary.nodes, "edges": summary.edges});
    let _ = json_out;
    output::json(&report)
}
