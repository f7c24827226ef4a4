//! Migrates a LightRAG working directory into the in-memory backends, exports it
//! again if asked, and prints the reports as JSON.
//!
//! ```sh
//! cargo run -p lightrag-pg-files --features memory --example migrate_memory -- DIR [EXPORT_DIR]
//! ```

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;

use lightrag_pg_core::{VectorNamespace, Workspace};
use lightrag_pg_files::{ExportOptions, MigrateOptions, Source, Target, export, migrate};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: migrate_memory DIR [EXPORT_DIR]");
        std::process::exit(2);
    };
    let workspace = Workspace::new("example")?;
    let target = Target::memory(workspace.clone());
    let report = migrate(&dir, &target, MigrateOptions::default()).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    if let Some(out) = args.next().map(PathBuf::from) {
        let dim = report.embedding_dim.entities.or(report.embedding_dim.chunks).unwrap_or(1);
        let mut source = Source::memory(workspace, dim);
        source.vectors.retain(|ns, _| match ns {
            VectorNamespace::Chunks => report.embedding_dim.chunks.is_some(),
            VectorNamespace::Entities => report.embedding_dim.entities.is_some(),
            VectorNamespace::Relationships => report.embedding_dim.relationships.is_some(),
        });
        let exported = export(&source, &out, ExportOptions { overwrite: true, ..Default::default() }).await?;
        println!("{}", serde_json::to_string_pretty(&exported)?);
    }
    Ok(())
}
