//! `lightrag-pg docs`: document status listing and counts.

use lightrag_pg::core::{DocStatus, PageRequest};
use lightrag_pg::docstatus::PgDocStatusStorage;
use lightrag_pg::{DocStatusStorage, Result, Storage};

use crate::args::DocsCommand;
use crate::context::Context;
use crate::output;
use crate::output::outln;

pub(crate) async fn run(ctx: &Context, cmd: DocsCommand) -> Result<()> {
    let store = PgDocStatusStorage::new(ctx.pool().await?, ctx.workspace()?)?;
    store.initialize().await?;
    match cmd {
        DocsCommand::List { status, page, page_size, json } => {
            let status_filter = match status {
                Some(s) => vec![s.parse::<DocStatus>()?],
                None => Vec::new(),
            };
            let req = PageRequest { status_filter, page, page_size, ..PageRequest::default() };
            let page = store.get_docs_paginated(&req).await?;
            if json.json {
                let docs: Vec<serde_json::Value> = page
                    .docs
                    .iter()
                    .map(|(id, d)| {
                        let mut v = serde_json::to_value(d).unwrap_or_default();
                        v["id"] = serde_json::Value::String(id.clone());
                        v
                    })
                    .collect();
                return output::json(&serde_json::json!({ "total": page.total, "docs": docs }));
            }
            for (id, d) in &page.docs {
                outln!("{:<12} {:<45} {}", d.status.as_str(), id, d.file_path);
            }
            outln!("({} of {} documents)", page.docs.len(), page.total);
            Ok(())
        }
        DocsCommand::Counts(f) => {
            let counts = store.status_counts().await?;
            if f.json {
                let mut m = serde_json::Map::new();
                for (s, n) in &counts.counts {
                    m.insert(s.as_str().to_owned(), (*n).into());
                }
                m.insert("all".into(), counts.total.into());
                return output::json(&m);
            }
            for (s, n) in &counts.counts {
                outln!("{:<14} {n}", s.as_str());
            }
            outln!("{:<14} {}", "all", counts.total);
            Ok(())
        }
    }
}
