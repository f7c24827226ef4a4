//! The side-by-side table: medians of ours, Python's and the floor, with the
//! ratios ours / Python and ours / floor, as text and as JSON.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use lightrag_pg_core::DistanceMetric;

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
            if entry.get("hits").is_none()
                && let Some(hits) = v.get("hits")
            {
                entry["hits"] = hits.clone();
            }
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

/// The exact top-`k` ids of each query over `set` (cosine distance, ties by
/// id), streamed: the reference of the recall column.
pub fn exact_top_k(set: impl Iterator<Item = (String, Vec<f32>)>, queries: &[Vec<f32>], k: usize) -> Vec<Vec<String>> {
    let mut best: Vec<Vec<(f64, String)>> = vec![Vec::with_capacity(k + 1); queries.len()];
    for (id, v) in set {
        for (q, top) in queries.iter().zip(&mut best) {
            let d = DistanceMetric::Cosine.distance(q, &v);
            if top.len() < k || top.last().is_some_and(|(worst, _)| d < *worst) {
                let at = top.partition_point(|(x, i)| (*x, i.as_str()) < (d, id.as_str()));
                top.insert(at, (d, id.clone()));
                top.truncate(k);
            }
        }
    }
    best.into_iter().map(|top| top.into_iter().map(|(_, id)| id).collect()).collect()
}

/// Mean share of each query's exact top-k found in its hits; `None` without
/// hits.
fn recall(report: &Value, op: &str, truth: &[Vec<String>]) -> Option<f64> {
    let hits = report.get("ops")?.get(op)?.get("hits")?.as_array()?;
    let mut found = 0usize;
    let mut wanted = 0usize;
    for (h, t) in hits.iter().zip(truth) {
        let h: BTreeSet<&str> = h.as_array()?.iter().filter_map(Value::as_str).collect();
        found += t.iter().filter(|id| h.contains(id.as_str())).count();
        wanted += t.len();
    }
    (wanted > 0).then(|| found as f64 / wanted as f64)
}

/// The merged JSON and the text table. `truth` (exact top-k of the first
/// queries) adds the recall of each side's `vector.query_1` hits.
pub fn build(
    sizes: &Sizes,
    ours: &Value,
    python: &Value,
    floor: &Value,
    prepare: &Value,
    truth: &[Vec<String>],
) -> (Value, String) {
    let mut ops: BTreeSet<String> = BTreeSet::new();
    for r in [ours, python, floor] {
        if let Some(m) = r.get("ops").and_then(Value::as_object) {
            ops.extend(m.keys().cloned());
        }
    }
    let mut ordered: Vec<String> = ORDER.iter().filter(|o| ops.contains(**o)).map(|o| (*o).to_owned()).collect();
    ordered.extend(ops.iter().filter(|o| !ORDER.contains(&o.as_str())).cloned());

    let mut rows = Map::new();
    let mut recalls = Vec::new();
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
        let get = |r: &Value| {
            let mut v = r.get("ops").and_then(|m| m.get(op)).cloned().unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.remove("hits");
            }
            v
        };
        let mut row = json!({
            "size": size, "ours_ms": o, "python_ms": p, "floor_ms": f,
            "ours_over_python": rp, "ours_over_floor": rf,
            "ours": get(ours), "python": get(python), "floor": get(floor),
        });
        let (ro, rpy) = (recall(ours, op, truth), recall(python, op, truth));
        if ro.is_some() || rpy.is_some() {
            row["recall_ours"] = json!(ro);
            row["recall_python"] = json!(rpy);
            recalls.push(format!(
                "{op}: top-{} recall against exact search over the first {} queries: ours {}, Python {}",
                sizes.top_k,
                truth.len(),
                ro.map_or("–".into(), |r| format!("{r:.3}")),
                rpy.map_or("–".into(), |r| format!("{r:.3}"))
            ));
        }
        rows.insert(op.clone(), row);
    }
    for line in &recalls {
        let _ = writeln!(text, "\n{line}");
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
        let (doc, text) = build(&s, &ours, &py, &fl, &Value::Null, &[]);
        assert!(text.contains("| kv.upsert | 10,000 chunks | 50.0 | 100 | 25.0 | 0.50 | 2.0 |"), "{text}");
        assert!(text.contains("| kv.get_by_ids | 1,000 of 10,000 | 2.00 | – | – | – | – |"), "{text}");
        assert_eq!(doc["ops"]["kv.upsert"]["ours_over_python"], json!(0.5));
    }

    #[test]
    fn exact_top_k_keeps_the_nearest_in_distance_order() {
        let set = [("a", [1.0, 0.0]), ("b", [0.0, 1.0]), ("c", [0.9, 0.1]), ("d", [-1.0, 0.0])]
            .map(|(id, v)| (id.to_owned(), v.to_vec()));
        let truth = exact_top_k(set.into_iter(), &[vec![1.0, 0.0], vec![0.0, -1.0]], 2);
        // [0, -1] is equally far (1.0) from a and d, nearer than from c (1.11): ties go by id.
        assert_eq!(truth, vec![vec!["a", "c"], vec!["a", "d"]]);
    }

    #[test]
    fn the_recall_line_compares_each_sides_hits_with_the_exact_top_k() {
        let s = Sizes::new(true, 1);
        let truth = vec![vec!["a".to_owned(), "b".to_owned()], vec!["c".to_owned(), "d".to_owned()]];
        let ours = json!({"ops": {"vector.query_1": {"median_ms": 5.0, "hits": [["a", "b"], ["d", "c"]]}}});
        let py = json!({"ops": {"vector.query_1": {"median_ms": 3.0, "hits": [["a", "x"], ["c", "y"]]}}});
        let (doc, text) = build(&s, &ours, &py, &Value::Null, &Value::Null, &truth);
        assert_eq!(doc["ops"]["vector.query_1"]["recall_ours"], json!(1.0));
        assert_eq!(doc["ops"]["vector.query_1"]["recall_python"], json!(0.5));
        assert!(doc["ops"]["vector.query_1"]["ours"].get("hits").is_none(), "hits stay out of the saved report");
        assert!(text.contains("ours 1.000, Python 0.500"), "{text}");
    }
}
