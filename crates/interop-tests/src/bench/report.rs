//! The side-by-side table: medians of ours, Python's and the floor, with the
//! ratios ours / Python and ours / floor, as text and as JSON.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::Sizes;

/// The operations in table order.
pub const ORDER: &[&str] = &[
    "kv.upsert",
    "kv.get_by_ids",
    "vector.upsert",
    "vector.query_1",
    "vector.query_16",
    "graph_age.upsert_nodes",
    "graph_age.upsert_edges",
    "graph_age.get_nodes_batch",
    "graph_age.get_nodes_edges_batch",
    "graph_age.get_knowledge_graph",
    "graph_table.upsert_nodes",
    "graph_table.upsert_edges",
    "graph_table.get_nodes_batch",
    "graph_table.get_nodes_edges_batch",
    "graph_table.get_knowledge_graph",
    "doc_status.paginate",
];

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What an operation does, with its sizes.
pub fn describe(op: &str, s: &Sizes) -> String {
    let n = thousands;
    match op {
        "kv.upsert" => format!("{} chunks", n(s.kv)),
        "kv.get_by_ids" => format!("{} of {}", n(s.kv_get), n(s.kv)),
        "vector.upsert" => format!("{} × 1,024", n(s.vec_upsert)),
        "vector.query_1" => format!("{} × top-{}, 1 caller, over {}", s.queries_1, s.top_k, n(s.vec_query_set)),
        "vector.query_16" => format!(
            "{} × top-{}, {} callers, over {}",
            s.callers * s.queries_per_caller,
            s.top_k,
            s.callers,
            n(s.vec_query_set)
        ),
        o if o.ends_with(".upsert_nodes") => format!("{} nodes", n(s.nodes)),
        o if o.ends_with(".upsert_edges") => format!("{} edges", n(s.edges)),
        o if o.ends_with(".get_nodes_batch") || o.ends_with(".get_nodes_edges_batch") => {
            format!("{} of {}", n(s.graph_get), n(s.nodes))
        }
        o if o.ends_with(".get_knowledge_graph") => format!("depth {}, ≤ {} nodes", s.kg_depth, n(s.kg_max_nodes)),
        "doc_status.paginate" => format!("{} docs, pages of {}", n(s.docs), s.page_size),
        _ => String::new(),
    }
}

fn median(report: &Value, op: &str) -> Option<f64> {
    report.get("ops")?.get(op)?.get("median_ms")?.as_f64()
}

fn cell(v: Option<f64>) -> String {
    match v {
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) if x >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.2}"),
        None => "–".to_owned(),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// Pools the runs of several reports (`{"ops": {op: {"runs_ms": [...]}}}`, one
/// per round) into one report with each operation's median over all its runs.
pub fn pool_runs(reports: &[Value]) -> Value {
    let mut ops: Map<String, Value> = Map::new();
    for r in reports {
        let Some(m) = r.get("ops").and_then(Value::as_object) else { continue };
        for (op, v) in m {
            let entry = ops
                .entry(op.clone())
                .or_insert_with(|| json!({"runs_ms": [], "note": v.get("note").cloned().unwrap_or(Value::Null)}));
            let runs = v.get("runs_ms").and_then(Value::as_array).cloned().unwrap_or_default();
            if let Some(a) = entry.get_mut("runs_ms").and_then(Value::as_array_mut) {
                a.extend(runs);
            }
        }
    }
    for v in ops.values_mut() {
        let runs: Vec<f64> =
            v["runs_ms"].as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
        v["median_ms"] = json!(super::median(&runs));
        if v["note"].is_null()
            && let Some(o) = v.as_object_mut()
        {
            o.remove("note");
        }
    }
    json!({"ops": ops})
}

/// The merged JSON and the text table.
pub fn build(sizes: &Sizes, ours: &Value, python: &Value, floor: &Value, prepare: &Value) -> (Value, String) {
    let mut ops: BTreeSet<String> = BTreeSet::new();
    for r in [ours, python, floor] {
        if let Some(m) = r.get("ops").and_then(Value::as_object) {
            ops.extend(m.keys().cloned());
        }
    }
    let mut ordered: Vec<String> = ORDER.iter().filter(|o| ops.contains(**o)).map(|o| (*o).to_owned()).collect();
    ordered.extend(ops.iter().filter(|o| !ORDER.contains(&o.as_str())).cloned());

    let mut rows = Map::new();
    let mut text = String::new();
    let _ = writeln!(
        text,
        "| operation | size | ours ms | Python ms | floor ms | ours / Python | ours / floor |\n|---|---|---:|---:|---:|---:|---:|"
    );
    for op in &ordered {
        let (o, p, f) = (median(ours, op), median(python, op), median(floor, op));
        let (rp, rf) = (ratio(o, p), ratio(o, f));
        let size = describe(op, sizes);
        let _ = writeln!(
            text,
            "| {op} | {size} | {} | {} | {} | {} | {} |",
            cell(o),
            cell(p),
            cell(f),
            rp.map_or("–".into(), |r| format!("{r:.2}")),
            rf.map_or("–".into(), |r| format!("{r:.1}"))
        );
        let get = |r: &Value| r.get("ops").and_then(|m| m.get(op)).cloned().unwrap_or(Value::Null);
        rows.insert(
            op.clone(),
            json!({
                "size": size, "ours_ms": o, "python_ms": p, "floor_ms": f,
                "ours_over_python": rp, "ours_over_floor": rf,
                "ours": get(ours), "python": get(python), "floor": get(floor),
            }),
        );
    }
    let doc = json!({
        "generated_at": chrono::Utc::now().to_rfc3339(),
        "sizes": sizes,
        "prepare_ms": prepare.get("prepare_ms").cloned().unwrap_or(Value::Null),
        "ops": rows,
        "notes": [
            "medians of the runs; ours = lightrag-pg (release build), Python = lightrag-hku 1.5.7's PG storages called directly",
            "floor = the server's own execution time of one plain SQL statement doing the work (EXPLAIN (ANALYZE, TIMING OFF)); writes rolled back",
            "ratios below 1 mean ours is faster",
        ],
    });
    (doc, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_are_pooled_into_one_median() {
        let a = json!({"ops": {"kv.upsert": {"runs_ms": [10.0], "median_ms": 10.0, "note": "n"}}});
        let b =
            json!({"ops": {"kv.upsert": {"runs_ms": [30.0], "median_ms": 30.0}, "kv.get_by_ids": {"runs_ms": [1.0]}}});
        let c = json!({"ops": {"kv.upsert": {"runs_ms": [20.0], "median_ms": 20.0}}});
        let p = pool_runs(&[a, b, c]);
        assert_eq!(p["ops"]["kv.upsert"]["runs_ms"], json!([10.0, 30.0, 20.0]));
        assert_eq!(p["ops"]["kv.upsert"]["median_ms"], json!(20.0));
        assert_eq!(p["ops"]["kv.upsert"]["note"], json!("n"));
        assert_eq!(p["ops"]["kv.get_by_ids"]["median_ms"], json!(1.0));
    }

    #[test]
    fn the_table_has_a_row_per_operation_with_ratios() {
        let s = Sizes::new(true, 3);
        let ours = json!({"ops": {"kv.upsert": {"median_ms": 50.0}, "kv.get_by_ids": {"median_ms": 2.0}}});
        let py = json!({"ops": {"kv.upsert": {"median_ms": 100.0}}});
        let fl = json!({"ops": {"kv.upsert": {"median_ms": 25.0}}});
        let (doc, text) = build(&s, &ours, &py, &fl, &Value::Null);
        assert!(text.contains("| kv.upsert | 10,000 chunks | 50.0 | 100 | 25.0 | 0.50 | 2.0 |"), "{text}");
        assert!(text.contains("| kv.get_by_ids | 1,000 of 10,000 | 2.00 | – | – | – | – |"), "{text}");
        assert_eq!(doc["ops"]["kv.upsert"]["ours_over_python"], json!(0.5));
    }
}
