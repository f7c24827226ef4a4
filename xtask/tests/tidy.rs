//! Tidy checks that keep the tree honest (in the spirit of rust-analyzer's):
//! module docs everywhere, no debugging leftovers, no printing from libraries,
//! `unsafe` forbidden, and the workspace lints on every crate.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["crates", "xtask", "benches"] {
        rust_files(&root().join(dir), &mut out);
    }
    assert!(out.len() > 20, "found only {} Rust files", out.len());
    out
}

fn is_test_or_example(p: &Path) -> bool {
    p.components().any(|c| matches!(c.as_os_str().to_str(), Some("tests" | "examples" | "benches")))
}

#[test]
fn every_module_opens_with_a_doc_comment() {
    let mut missing = Vec::new();
    for p in sources() {
        if is_test_or_example(&p) {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        if !(first.starts_with("//!") || first.starts_with("#![doc = include_str!")) {
            missing.push(p.display().to_string());
        }
    }
    assert!(missing.is_empty(), "modules without a `//!` doc: {missing:#?}");
}

#[test]
fn no_debugging_leftovers() {
    let mut found = Vec::new();
    for p in sources() {
        let text = std::fs::read_to_string(&p).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for bad in [concat!("dbg", "!("), concat!("todo", "!("), concat!("unimplemented", "!(")] {
                if code.contains(bad) {
                    found.push(format!("{}:{}: {bad}", p.display(), i + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn libraries_do_not_print() {
    let mut found = Vec::new();
    for p in sources() {
        let s = p.to_string_lossy();
        let binary = s.ends_with("/main.rs") || s.contains("/src/bin/") || s.contains("/crates/cli/");
        let library = s.contains("/crates/") && s.contains("/src/") && !binary && !is_test_or_example(&p);
        if !library {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let non_test = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, line) in non_test.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("println!(") || code.contains("eprintln!(") {
                found.push(format!("{}:{}", p.display(), i + 1));
            }
        }
    }
    assert!(found.is_empty(), "libraries must log through tracing, not print: {found:#?}");
}

#[test]
fn every_crate_forbids_unsafe_and_uses_the_workspace_lints() {
    let mut problems = Vec::new();
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("Cargo.toml"))
        .filter(|p| p.exists())
        .collect();
    manifests.push(root().join("xtask/Cargo.toml"));
    manifests.push(root().join("benches/Cargo.toml"));
    for m in manifests {
        let toml = std::fs::read_to_string(&m).unwrap();
        if !toml.contains("[lints]\nworkspace = true") {
            problems.push(format!("{}: no `[lints] workspace = true`", m.display()));
        }
        let dir = m.parent().unwrap();
        for entry in ["src/lib.rs", "src/main.rs", "lib.rs"] {
            let p = dir.join(entry);
            if p.exists() && !std::fs::read_to_string(&p).unwrap().contains("#![forbid(unsafe_code)]") {
                problems.push(format!("{}: no #![forbid(unsafe_code)]", p.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
