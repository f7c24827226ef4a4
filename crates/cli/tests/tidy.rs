//! The CLI talks to the facade (`lightrag_pg`, with its re-exports) and
//! `lightrag_pg_files` only: it depends on no database driver and no store
//! crate directly, and its sources hold no SQL. Whole-workspace operations
//! that need SQL belong to `lightrag_pg::admin` and the stores.

use std::path::{Path, PathBuf};

use toml_edit::{Document, Item};

const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
const SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// Database drivers the CLI must not depend on, in any dependency table.
const DRIVERS: &[&str] = &["tokio-postgres", "postgres", "postgres-types", "bb8-postgres", "sqlx"];
/// The project's crates the CLI may depend on (its `[dependencies]`).
const ALLOWED: &[&str] = &["lightrag-pg", "lightrag-pg-files"];
/// Words that begin or mark an SQL statement (upper case, as this project writes SQL).
const SQL_WORDS: &[&str] = &[
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "COPY", "TRUNCATE", "GRANT", "REVOKE", "VACUUM",
    "REINDEX", "EXPLAIN", "LOCK", "WHERE",
];

fn manifest() -> Document<String> {
    let text = std::fs::read_to_string(MANIFEST).expect("read crates/cli/Cargo.toml");
    Document::parse(text).expect("parse crates/cli/Cargo.toml")
}

/// The names in a dependency table, by key (`package = "…"` renames included).
fn dependency_names(table: &Item) -> Vec<String> {
    let Some(t) = table.as_table_like() else { return Vec::new() };
    t.iter().map(|(key, spec)| spec.get("package").and_then(Item::as_str).unwrap_or(key).to_owned()).collect()
}

/// Every dependency table of the manifest: the three kinds, plain and per target.
fn all_dependency_names(doc: &Document<String>) -> Vec<String> {
    let kinds = ["dependencies", "dev-dependencies", "build-dependencies"];
    let mut names: Vec<String> = kinds.iter().filter_map(|k| doc.get(k)).flat_map(dependency_names).collect();
    if let Some(targets) = doc.get("target").and_then(Item::as_table_like) {
        for (_, target) in targets.iter() {
            names.extend(kinds.iter().filter_map(|k| target.get(k)).flat_map(dependency_names));
        }
    }
    names
}

#[test]
fn the_cli_depends_on_no_database_driver() {
    let names = all_dependency_names(&manifest());
    assert!(names.iter().any(|n| n == "lightrag-pg"), "the manifest was not read: {names:?}");
    let drivers: Vec<_> = names.iter().filter(|n| DRIVERS.contains(&n.as_str())).collect();
    assert!(drivers.is_empty(), "crates/cli depends on {drivers:?}: reach the database through lightrag_pg");
}

#[test]
fn the_cli_depends_on_the_facade_and_files_only() {
    let doc = manifest();
    let names = dependency_names(doc.get("dependencies").expect("[dependencies]"));
    let stores: Vec<_> =
        names.iter().filter(|n| n.starts_with("lightrag-") && !ALLOWED.contains(&n.as_str())).collect();
    assert!(stores.is_empty(), "crates/cli depends on {stores:?} directly: use lightrag_pg's re-exports");
}

/// The string literals of Rust source `src` (normal, byte and raw strings),
/// with comments and character literals skipped.
fn string_literals(src: &str) -> Vec<String> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = src[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
                i = end;
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#')) && (i == 0 || !is_word(b[i - 1])) => {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                let open = i + 1 + hashes;
                if b.get(open) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let end = src[open + 1..].find(&close).map_or(b.len(), |e| open + 1 + e);
                out.push(src[open + 1..end].to_owned());
                i = end + close.len();
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                out.push(src[i + 1..j.min(b.len())].to_owned());
                i = j + 1;
            }
            // A character literal ('"', '\'', 'x'); a lifetime has no closing quote.
            b'\'' => {
                i += if b.get(i + 1) == Some(&b'\\') {
                    src[i + 2..].find('\'').map_or(1, |e| e + 3)
                } else if b.get(i + 2) == Some(&b'\'') {
                    3
                } else {
                    1
                };
            }
            _ => i += 1,
        }
    }
    out
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The SQL words that occur as whole words in `text`.
fn sql_words(text: &str) -> Vec<&'static str> {
    let words: Vec<&str> = text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).collect();
    SQL_WORDS.iter().copied().filter(|w| words.contains(w)).collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_cli_sources_hold_no_sql() {
    let mut files = Vec::new();
    rust_files(Path::new(SOURCES), &mut files);
    assert!(files.len() > 10, "the sources were not found: {files:?}");
    let mut found = Vec::new();
    for file in &files {
        let src = std::fs::read_to_string(file).expect("read a source file");
        for lit in string_literals(&src) {
            let words = sql_words(&lit);
            if !words.is_empty() {
                found.push(format!("{}: {words:?} in {lit:?}", file.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "SQL in crates/cli (move it behind lightrag_pg::admin or a store):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_sql_scan_finds_sql_in_every_kind_of_string_literal() {
    let src = r####"
        // "SELECT in a comment" is not code
        /* "DELETE FROM in a block comment" */
        fn f<'a>(x: &'a str) -> char {
            let a = "SELECT 1";
            let b = format!("DELETE FROM {t} WHERE workspace = $1");
            let c = r#"INSERT INTO "t" VALUES (1)"#;
            let d = "escaped \" quote, then UPDATE t SET";
            let e = "dropping a workspace deletes its data";
            '"'
        }
    "####;
    let lits = string_literals(src);
    let flagged: Vec<Vec<&str>> = lits.iter().map(|l| sql_words(l)).filter(|w| !w.is_empty()).collect();
    assert_eq!(
        flagged,
        vec![vec!["SELECT"], vec!["DELETE", "WHERE"], vec!["INSERT"], vec!["UPDATE"]],
        "literals found: {lits:?}"
    );
}
