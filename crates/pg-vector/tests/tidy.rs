//! The crate's modules depend on each other in one direction only: every
//! `crate::<module>` a module names (in `use` lines or paths, comments aside)
//! points down, so the edges form a DAG.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each module of `src/` (but `lib.rs`) and the crate modules it names.
fn module_edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(&src).expect("src/") {
        let path = entry.expect("entry").path();
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else { continue };
        if path.extension().is_none_or(|e| e != "rs") || name == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("module source");
        modules.insert(name.to_owned(), text);
    }
    assert!(modules.len() > 5, "found only {:?}", modules.keys().collect::<Vec<_>>());
    modules
        .iter()
        .map(|(name, text)| {
            let mut deps = BTreeSet::new();
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                deps.extend(named_modules(line).into_iter().filter(|m| m != name && modules.contains_key(m)));
            }
            (name.clone(), deps)
        })
        .collect()
}

/// The modules a line names: `crate::x` paths and the members of
/// `use crate::{x, y::z}` groups.
fn named_modules(line: &str) -> Vec<String> {
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    let mut out = Vec::new();
    for (i, _) in line.match_indices("crate::") {
        let rest = &line[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(group.split(',').map(|m| ident(m.trim())).filter(|m| !m.is_empty()));
        } else {
            out.push(ident(rest));
        }
    }
    out
}

/// A cycle among the edges, if there is one (depth-first search).
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|n| visit(n, edges, &mut Vec::new(), &mut done))
}

#[test]
fn module_imports_form_no_cycle() {
    let edges = module_edges();
    if let Some(cycle) = find_cycle(&edges) {
        panic!("module cycle: {}\nall edges: {edges:#?}", cycle.join(" → "));
    }
}

#[test]
fn the_trait_implementation_sits_on_top() {
    let edges = module_edges();
    let users: Vec<&String> = edges.iter().filter(|(_, deps)| deps.contains("storage")).map(|(m, _)| m).collect();
    assert!(users.is_empty(), "modules importing storage: {users:?}");
}

#[test]
fn the_checker_sees_groups_and_finds_cycles() {
    assert_eq!(named_modules("use crate::{columns, table::State};"), ["columns", "table"]);
    assert_eq!(named_modules("    let x = crate::sql::Sql::new();"), ["sql"]);
    let edges: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(m, d)| (m.to_owned(), BTreeSet::from([d.to_owned()])))
        .collect();
    assert_eq!(find_cycle(&edges).expect("a cycle").len(), 4);
    let mut dag = edges.clone();
    dag.insert("c".to_owned(), BTreeSet::new());
    assert_eq!(find_cycle(&dag), None);
}
