//! LightRAG's storage namespaces and their string forms.
//!
//! The strings are compatibility facts: they name JSON files, PostgreSQL tables
//! and the AGE graph.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// Which of the four storage kinds a namespace belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageKind {
    /// Key-value records.
    Kv,
    /// Embeddings.
    Vector,
    /// The knowledge graph.
    Graph,
    /// Document status.
    DocStatus,
}

/// The seven key-value namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KvNamespace {
    /// `full_docs`: whole documents (`LIGHTRAG_DOC_FULL`).
    FullDocs,
    /// `text_chunks`: chunks (`LIGHTRAG_DOC_CHUNKS`).
    TextChunks,
    /// `llm_response_cache`: the LLM cache (`LIGHTRAG_LLM_CACHE`).
    LlmResponseCache,
    /// `full_entities`: entity names per document (`LIGHTRAG_FULL_ENTITIES`).
    FullEntities,
    /// `full_relations`: relation pairs per document (`LIGHTRAG_FULL_RELATIONS`).
    FullRelations,
    /// `entity_chunks`: chunk ids per entity (`LIGHTRAG_ENTITY_CHUNKS`).
    EntityChunks,
    /// `relation_chunks`: chunk ids per relation (`LIGHTRAG_RELATION_CHUNKS`).
    RelationChunks,
}

impl KvNamespace {
    /// All seven, in LightRAG's order.
    pub const ALL: [KvNamespace; 7] = [
        Self::FullDocs,
        Self::TextChunks,
        Self::LlmResponseCache,
        Self::FullEntities,
        Self::FullRelations,
        Self::EntityChunks,
        Self::RelationChunks,
    ];

    /// LightRAG's string form, e.g. `text_chunks`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FullDocs => "full_docs",
            Self::TextChunks => "text_chunks",
            Self::LlmResponseCache => "llm_response_cache",
            Self::FullEntities => "full_entities",
            Self::FullRelations => "full_relations",
            Self::EntityChunks => "entity_chunks",
            Self::RelationChunks => "relation_chunks",
        }
    }

    /// The PostgreSQL table LightRAG 1.5.7 uses (upper case as in its DDL;
    /// PostgreSQL folds it to lower case).
    pub fn table(self) -> &'static str {
        match self {
            Self::FullDocs => "LIGHTRAG_DOC_FULL",
            Self::TextChunks => "LIGHTRAG_DOC_CHUNKS",
            Self::LlmResponseCache => "LIGHTRAG_LLM_CACHE",
            Self::FullEntities => "LIGHTRAG_FULL_ENTITIES",
            Self::FullRelations => "LIGHTRAG_FULL_RELATIONS",
            Self::EntityChunks => "LIGHTRAG_ENTITY_CHUNKS",
            Self::RelationChunks => "LIGHTRAG_RELATION_CHUNKS",
        }
    }

    /// The fields an upsert record must carry (LightRAG raises a `KeyError`
    /// without them).
    pub fn required_fields(self) -> &'static [&'static str] {
        match self {
            Self::FullDocs => &["content"],
            Self::TextChunks => &["tokens", "chunk_order_index", "full_doc_id", "content", "file_path"],
            Self::LlmResponseCache => &["original_prompt", "return"],
            Self::FullEntities => &["entity_names", "count"],
            Self::FullRelations => &["relation_pairs", "count"],
            Self::EntityChunks | Self::RelationChunks => &["chunk_ids", "count"],
        }
    }

    /// The longest id the table's `id` column takes, in characters.
    pub fn max_id_chars(self) -> usize {
        match self {
            Self::EntityChunks | Self::RelationChunks => 512,
            _ => 255,
        }
    }
}

/// The three vector namespaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VectorNamespace {
    /// `chunks` (`LIGHTRAG_VDB_CHUNKS`).
    Chunks,
    /// `entities` (`LIGHTRAG_VDB_ENTITY`).
    Entities,
    /// `relationships` (`LIGHTRAG_VDB_RELATION`).
    Relationships,
}

impl VectorNamespace {
    /// All three.
    pub const ALL: [VectorNamespace; 3] = [Self::Chunks, Self::Entities, Self::Relationships];

    /// LightRAG's string form, e.g. `entities`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chunks => "chunks",
            Self::Entities => "entities",
            Self::Relationships => "relationships",
        }
    }

    /// The base table name, before the embedding-model suffix.
    pub fn base_table(self) -> &'static str {
        match self {
            Self::Chunks => "LIGHTRAG_VDB_CHUNKS",
            Self::Entities => "LIGHTRAG_VDB_ENTITY",
            Self::Relationships => "LIGHTRAG_VDB_RELATION",
        }
    }

    /// The payload fields LightRAG keeps beside the vector (its `meta_fields`).
    pub fn meta_fields(self) -> &'static [&'static str] {
        match self {
            Self::Chunks => &["full_doc_id", "content", "file_path", "tokens", "chunk_order_index"],
            Self::Entities => &["entity_name", "source_id", "content", "file_path"],
            Self::Relationships => &["src_id", "tgt_id", "source_id", "content", "file_path"],
        }
    }
}

/// Any LightRAG namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Namespace {
    /// A key-value namespace.
    Kv(KvNamespace),
    /// A vector namespace.
    Vector(VectorNamespace),
    /// `chunk_entity_relation`, the knowledge graph.
    Graph,
    /// `doc_status`.
    DocStatus,
}

impl Namespace {
    /// The graph namespace's string form.
    pub const GRAPH: &'static str = "chunk_entity_relation";
    /// The doc-status namespace's string form.
    pub const DOC_STATUS: &'static str = "doc_status";

    /// LightRAG's string form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kv(ns) => ns.as_str(),
            Self::Vector(ns) => ns.as_str(),
            Self::Graph => Self::GRAPH,
            Self::DocStatus => Self::DOC_STATUS,
        }
    }

    /// The storage kind.
    pub fn kind(self) -> StorageKind {
        match self {
            Self::Kv(_) => StorageKind::Kv,
            Self::Vector(_) => StorageKind::Vector,
            Self::Graph => StorageKind::Graph,
            Self::DocStatus => StorageKind::DocStatus,
        }
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for KvNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for VectorNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Namespace {
    type Err = Error;

    /// Parses a namespace the way LightRAG matches them: by suffix, longest
    /// first (`full_entities` before `entities`), so prefixed forms such as
    /// `lightrag_text_chunks` also parse.
    fn from_str(s: &str) -> Result<Self, Error> {
        let kv = KvNamespace::ALL.iter().map(|ns| (ns.as_str(), Namespace::Kv(*ns)));
        let vector = VectorNamespace::ALL.iter().map(|ns| (ns.as_str(), Namespace::Vector(*ns)));
        let others = [(Self::GRAPH, Namespace::Graph), (Self::DOC_STATUS, Namespace::DocStatus)];
        let mut all: Vec<(&str, Namespace)> = kv.chain(vector).chain(others).collect();
        all.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
        all.into_iter()
            .find(|(name, _)| s.ends_with(name))
            .map(|(_, ns)| ns)
            .ok_or_else(|| Error::invalid(s, "not a LightRAG namespace"))
    }
}

impl FromStr for KvNamespace {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.parse::<Namespace>()? {
            Namespace::Kv(ns) => Ok(ns),
            _ => Err(Error::invalid(s, "not a key-value namespace")),
        }
    }
}

impl FromStr for VectorNamespace {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.parse::<Namespace>()? {
            Namespace::Vector(ns) => Ok(ns),
            _ => Err(Error::invalid(s, "not a vector namespace")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_entities_is_not_mistaken_for_entities() {
        assert_eq!("full_entities".parse::<Namespace>().unwrap(), Namespace::Kv(KvNamespace::FullEntities));
        assert_eq!("entities".parse::<Namespace>().unwrap(), Namespace::Vector(VectorNamespace::Entities));
    }

    #[test]
    fn every_namespace_round_trips_through_its_string() {
        for ns in KvNamespace::ALL {
            assert_eq!(ns.as_str().parse::<KvNamespace>().unwrap(), ns);
        }
        for ns in VectorNamespace::ALL {
            assert_eq!(ns.as_str().parse::<VectorNamespace>().unwrap(), ns);
        }
        assert_eq!("chunk_entity_relation".parse::<Namespace>().unwrap(), Namespace::Graph);
        assert_eq!("doc_status".parse::<Namespace>().unwrap(), Namespace::DocStatus);
    }

    #[test]
    fn unknown_namespace_is_refused_by_name() {
        let err = "nope".parse::<Namespace>().unwrap_err();
        assert!(err.to_string().contains("nope"));
    }
}
