//! `lightrag-pg graph`: the subgraph around an entity, as JSON, GraphML or dot.

use lightrag_pg::{EdgeRecord, Error, KnowledgeGraph, Properties, Result};

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
            outln!("{}", to_graphml(&kg)?.trim_end());
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

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The subgraph as NetworkX-style GraphML, by the one GraphML writer
/// ([`lightrag_pg_files::graphml::write_to`]): typed keys, every attribute and
/// value escaped. A node's id is its `entity_id`.
pub(crate) fn to_graphml(kg: &KnowledgeGraph) -> Result<String> {
    let nodes: Vec<Properties> = kg
        .nodes
        .iter()
        .map(|n| {
            let mut p = n.properties.clone();
            p.0.entry("entity_id").or_insert_with(|| n.id.clone().into());
            p
        })
        .collect();
    let edges: Vec<EdgeRecord> = kg
        .edges
        .iter()
        .map(|e| EdgeRecord { source: e.source.clone(), target: e.target.clone(), properties: e.properties.clone() })
        .collect();
    let mut out = Vec::new();
    lightrag_pg_files::graphml::write_to(&mut out, &nodes, &edges)
        .map_err(|e| Error::invalid("output", e.to_string()))?;
    String::from_utf8(out).map_err(|e| Error::invalid("output", e.to_string()))
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

#[cfg(test)]
mod tests {
    use lightrag_pg::core::{KnowledgeGraphEdge, KnowledgeGraphNode};

    use super::*;

    #[test]
    fn graphml_output_escapes_line_breaks_and_tabs_in_attributes() {
        let id = "A\tB\r\nC";
        let node = |id: &str| KnowledgeGraphNode {
            id: id.to_owned(),
            labels: vec![id.to_owned()],
            properties: Properties::new().with("entity_id", id),
        };
        let kg = KnowledgeGraph {
            nodes: vec![node(id), node("D")],
            edges: vec![KnowledgeGraphEdge {
                id: format!("{id}-D"),
                edge_type: Some("DIRECTED".to_owned()),
                source: id.to_owned(),
                target: "D".to_owned(),
                properties: Properties::new().with("weight", 1.0),
            }],
            is_truncated: false,
        };
        let text = to_graphml(&kg).unwrap();
        assert!(text.contains("<node id=\"A&#9;B&#13;&#10;C\">"), "{text}");
        assert!(text.contains("<edge source=\"A&#9;B&#13;&#10;C\" target=\"D\">"), "{text}");
        assert!(text.contains("attr.name=\"weight\" attr.type=\"double\""), "{text}");
    }
}
