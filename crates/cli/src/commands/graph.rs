//! `lightrag-pg graph`: the subgraph around an entity, as JSON, GraphML or dot.

use lightrag_pg::{KnowledgeGraph, Result};

use crate::args::GraphFormat;
use crate::context::Context;
use crate::output;
use crate::output::outln;

pub(crate) async fn run(ctx: &Context, label: &str, depth: usize, format: GraphFormat) -> Result<()> {
    let max_nodes = ctx.settings.max_graph_nodes.unwrap_or(1000);
    let pool = ctx.pool().await?;
    let graph = lightrag_pg::graph::PgGraphStorage::new(pool, ctx.workspace()?, ctx.engine()?)?.into_dyn();
    graph.initialize().await?;
    let kg = graph.get_knowledge_graph(label, depth, max_nodes).await?;
    match format {
        GraphFormat::Json => output::json(&kg),
        GraphFormat::Graphml => {
            outln!("{}", to_graphml(&kg));
            Ok(())
        }
        GraphFormat::Dot => {
            outln!("{}", to_dot(&kg));
            Ok(())
        }
        GraphFormat::Text => {
            outln!(
                "{} nodes, {} edges{}",
                kg.nodes.len(),
                kg.edges.len(),
                if kg.is_truncated { " (truncated)" } else { "" }
            );
            for n in &kg.nodes {
                let ty = n.properties.entity_type().unwrap_or("");
                outln!("  node  {:<30} {ty}", n.id);
            }
            for e in &kg.edges {
                let kw = e.properties.keywords().unwrap_or("");
                outln!("  edge  {} -- {}  {kw}", e.source, e.target);
            }
            Ok(())
        }
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// GraphML with each property as a string-typed data element.
pub(crate) fn to_graphml(kg: &KnowledgeGraph) -> String {
    let mut keys = std::collections::BTreeSet::new();
    for n in &kg.nodes {
        keys.extend(n.properties.keys().map(|k| ("node", k.clone())));
    }
    for e in &kg.edges {
        keys.extend(e.properties.keys().map(|k| ("edge", k.clone())));
    }
    let mut out = String::from(
        "<?xml version='1.0' encoding='utf-8'?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n",
    );
    for (i, (kind, k)) in keys.iter().enumerate() {
        out.push_str(&format!(
            "  <key id=\"d{i}\" for=\"{kind}\" attr.name=\"{}\" attr.type=\"string\"/>\n",
            xml_escape(k)
        ));
    }
    let key_id = |kind: &str, k: &str| keys.iter().position(|(kk, name)| *kk == kind && name == k).unwrap_or(0);
    let value = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    out.push_str("  <graph edgedefault=\"undirected\">\n");
    for n in &kg.nodes {
        out.push_str(&format!("    <node id=\"{}\">\n", xml_escape(&n.id)));
        for (k, v) in n.properties.iter() {
            out.push_str(&format!("      <data key=\"d{}\">{}</data>\n", key_id("node", k), xml_escape(&value(v))));
        }
        out.push_str("    </node>\n");
    }
    for e in &kg.edges {
        out.push_str(&format!(
            "    <edge source=\"{}\" target=\"{}\">\n",
            xml_escape(&e.source),
            xml_escape(&e.target)
        ));
        for (k, v) in e.properties.iter() {
            out.push_str(&format!("      <data key=\"d{}\">{}</data>\n", key_id("edge", k), xml_escape(&value(v))));
        }
        out.push_str("    </edge>\n");
    }
    out.push_str("  </graph>\n</graphml>");
    out
}

/// Graphviz dot, undirected.
pub(crate) fn to_dot(kg: &KnowledgeGraph) -> String {
    let mut out = String::from("graph lightrag {\n");
    for n in &kg.nodes {
        out.push_str(&format!("  \"{}\";\n", dot_escape(&n.id)));
    }
    for e in &kg.edges {
        out.push_str(&format!("  \"{}\" -- \"{}\";\n", dot_escape(&e.source), dot_escape(&e.target)));
    }
    out.push('}');
    out
}
