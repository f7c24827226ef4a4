//! Knowledge-graph data: node and edge property maps, and the [`KnowledgeGraph`]
//! subgraph that `get_knowledge_graph` returns.

use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, JsonObject};

/// The longest entity id, in characters: LightRAG's `entity_name VARCHAR(512)`
/// in the entity vector table, so a longer name could not be stored there either.
pub const MAX_ENTITY_ID_CHARS: usize = 512;

/// The longest entity id, in UTF-8 bytes: an edge's two ids share one B-tree
/// index entry, which PostgreSQL caps at 2,704 bytes.
pub const MAX_ENTITY_ID_BYTES: usize = 1024;

/// Checks an entity id: non-empty, no NUL byte, at most
/// [`MAX_ENTITY_ID_CHARS`] characters and [`MAX_ENTITY_ID_BYTES`] bytes.
///
/// # Errors
/// [`Error::InvalidInput`] naming the id.
pub fn validate_entity_id(id: &str) -> Result<(), Error> {
    crate::kv::validate_id(id, MAX_ENTITY_ID_CHARS)?;
    if id.len() > MAX_ENTITY_ID_BYTES {
        return Err(Error::invalid(
            id,
            format!("entity id has {} bytes of UTF-8; at most {MAX_ENTITY_ID_BYTES} can be indexed", id.len()),
        ));
    }
    Ok(())
}

/// Checks a node write: its id and its properties.
///
/// # Errors
/// [`Error::InvalidInput`] naming the id.
pub fn validate_node(id: &str, properties: &Properties) -> Result<(), Error> {
    validate_entity_id(id)?;
    properties.validate(id)
}

/// Checks an edge write: both ids and the properties.
///
/// # Errors
/// [`Error::InvalidInput`] naming the id or the pair.
pub fn validate_edge(a: &str, b: &str, properties: &Properties) -> Result<(), Error> {
    validate_entity_id(a)?;
    validate_entity_id(b)?;
    properties.validate(&format!("{a}-{b}"))
}

/// The property map of a node or an edge, with typed access to LightRAG's
/// well-known fields.
///
/// Nodes carry `entity_id` (the node's name), `entity_type`, `description`,
/// `source_id` (`<SEP>`-joined chunk ids), `file_path`, `created_at`; edges carry
/// `weight`, `description`, `keywords`, `source_id`, `file_path`, `created_at`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Properties(pub JsonObject);

impl Properties {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder-style insert.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// `entity_id`: the node's name.
    pub fn entity_id(&self) -> Option<&str> {
        self.str_field("entity_id")
    }
    /// `entity_type`.
    pub fn entity_type(&self) -> Option<&str> {
        self.str_field("entity_type")
    }
    /// `description`.
    pub fn description(&self) -> Option<&str> {
        self.str_field("description")
    }
    /// `source_id`: chunk ids joined by `<SEP>`.
    pub fn source_id(&self) -> Option<&str> {
        self.str_field("source_id")
    }
    /// `file_path`.
    pub fn file_path(&self) -> Option<&str> {
        self.str_field("file_path")
    }
    /// `keywords` (edges).
    pub fn keywords(&self) -> Option<&str> {
        self.str_field("keywords")
    }
    /// `created_at`, epoch seconds.
    pub fn created_at(&self) -> Option<i64> {
        self.0.get("created_at").and_then(Value::as_i64)
    }
    /// `weight` (edges); LightRAG stores it as a float, sometimes as a string.
    pub fn weight(&self) -> Option<f64> {
        match self.0.get("weight")? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// Checks what every graph backend refuses: NUL bytes in keys or values, and
    /// keys that are empty.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming `owner` (the node id or edge pair) and the key.
    pub fn validate(&self, owner: &str) -> Result<(), Error> {
        for key in self.0.keys() {
            if key.is_empty() {
                return Err(Error::invalid(owner, "property name must not be empty"));
            }
        }
        if let Some(field) = crate::kv::first_nul(&self.0) {
            return Err(Error::invalid(owner, format!("property '{field}' contains a NUL byte")));
        }
        crate::kv::check_depth(owner, &self.0)
    }
}

impl Deref for Properties {
    type Target = JsonObject;
    fn deref(&self) -> &JsonObject {
        &self.0
    }
}

impl DerefMut for Properties {
    fn deref_mut(&mut self) -> &mut JsonObject {
        &mut self.0
    }
}

impl From<JsonObject> for Properties {
    fn from(map: JsonObject) -> Self {
        Self(map)
    }
}

/// One stored edge, as `get_all_edges` enumerates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeRecord {
    /// One endpoint's entity id.
    pub source: String,
    /// The other endpoint's entity id.
    pub target: String,
    /// The edge's properties.
    pub properties: Properties,
}

/// A node of a [`KnowledgeGraph`] (LightRAG's `KnowledgeGraphNode`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeGraphNode {
    /// The entity id (both engines use the entity name, not AGE's graphid).
    pub id: String,
    /// `[entity_id]`.
    pub labels: Vec<String>,
    /// The node's properties.
    pub properties: Properties,
}

/// An edge of a [`KnowledgeGraph`] (LightRAG's `KnowledgeGraphEdge`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeGraphEdge {
    /// `"{source}-{target}"`.
    pub id: String,
    /// `DIRECTED`.
    #[serde(rename = "type")]
    pub edge_type: Option<String>,
    /// One endpoint's entity id.
    pub source: String,
    /// The other endpoint's entity id.
    pub target: String,
    /// The edge's properties.
    pub properties: Properties,
}

/// A subgraph (LightRAG's `KnowledgeGraph`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KnowledgeGraph {
    /// The nodes.
    pub nodes: Vec<KnowledgeGraphNode>,
    /// The edges between them.
    pub edges: Vec<KnowledgeGraphEdge>,
    /// Whether `max_nodes` cut anything off.
    pub is_truncated: bool,
}

/// Orders an undirected pair canonically (code-point order), as the table engine
/// stores it.
pub fn canonical_pair<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    if a <= b { (a, b) } else { (b, a) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_accessors_read_well_known_fields() {
        let p = Properties::new().with("entity_id", "A").with("weight", "2.5").with("created_at", 1_700_000_000);
        assert_eq!(p.entity_id(), Some("A"));
        assert_eq!(p.weight(), Some(2.5));
        assert_eq!(p.created_at(), Some(1_700_000_000));
        assert_eq!(p.description(), None);
    }

    #[test]
    fn nul_in_a_property_is_refused_naming_owner_and_key() {
        let p = Properties::new().with("description", json!("a\u{0}"));
        let msg = p.validate("node-x").unwrap_err().to_string();
        assert!(msg.contains("node-x") && msg.contains("description"), "{msg}");
    }

    #[test]
    fn knowledge_graph_serialises_in_lightrag_shape() {
        let kg = KnowledgeGraph {
            nodes: vec![],
            edges: vec![KnowledgeGraphEdge {
                id: "A-B".into(),
                edge_type: Some("DIRECTED".into()),
                source: "A".into(),
                target: "B".into(),
                properties: Properties::new(),
            }],
            is_truncated: false,
        };
        let v = serde_json::to_value(&kg).unwrap();
        assert_eq!(v["edges"][0]["type"], "DIRECTED");
        assert_eq!(v["is_truncated"], false);
    }
}
