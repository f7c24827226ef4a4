//! Old-v0 entity names: LightRAG ≈ 1.1 kept the LLM's quotes, so node ids,
//! entity types, relation endpoints and vector `entity_name`s read `"NAME"`.
//!
//! **Decision.** When a directory's GraphML is old-v0 (no `entity_id` key) and
//! *every* node id is wrapped in one pair of double quotes, the migration strips
//! that pair everywhere an entity name appears: node ids (and so `entity_id`),
//! `entity_type`, edge endpoints, vector `entity_name` / `src_id` / `tgt_id`,
//! `entity_chunks` keys, `relation_chunks` keys (`A<SEP>B`, re-sorted),
//! `full_entities.entity_names` and `full_relations.relation_pairs`.
//! Entity and relation vector ids follow: a row whose id was
//! `ent-md5("\"NAME\"")` becomes `ent-md5("NAME")` (relations likewise, from the
//! sorted pair), because LightRAG 1.5.7 finds an entity's vector by that hash
//! when it edits or deletes the entity. Free text (descriptions, keywords, the
//! LLM cache) is left verbatim. Directories where only some ids are quoted are
//! left alone (the quotes may be real) and reported.

use std::borrow::Cow;

use lightrag_pg_core::ids::{self, GRAPH_FIELD_SEP};

/// The unquoting policy of one migration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegacyNames {
    /// Strip one pair of surrounding double quotes from entity names.
    pub strip_quotes: bool,
}

impl LegacyNames {
    /// No change.
    pub const KEEP: Self = Self { strip_quotes: false };
    /// Strip old-v0 quotes.
    pub const STRIP: Self = Self { strip_quotes: true };

    /// Whether `s` is wrapped in one pair of double quotes (with something inside).
    pub fn is_quoted(s: &str) -> bool {
        s.len() >= 3 && s.starts_with('"') && s.ends_with('"')
    }

    /// The entity name as it is stored after migration.
    pub fn name<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if self.strip_quotes && Self::is_quoted(s) { Cow::Borrowed(&s[1..s.len() - 1]) } else { Cow::Borrowed(s) }
    }

    /// The same, for an owned string.
    pub fn name_owned(&self, s: String) -> String {
        if self.strip_quotes && Self::is_quoted(&s) { s[1..s.len() - 1].to_owned() } else { s }
    }

    /// A `relation_chunks` key `A<SEP>B` with both names mapped and re-sorted.
    pub fn relation_key(&self, key: &str) -> String {
        match key.split_once(GRAPH_FIELD_SEP) {
            Some((a, b)) if self.strip_quotes => ids::relation_chunks_key(&self.name(a), &self.name(b)),
            _ => key.to_owned(),
        }
    }

    /// The id an entity vector row gets: re-hashed from the mapped name when the
    /// old id followed LightRAG's `ent-md5(name)` rule, unchanged otherwise.
    pub fn entity_vector_id(&self, old_id: &str, old_name: &str) -> String {
        let new_name = self.name(old_name);
        if new_name != old_name && old_id == ids::entity_id(old_name) {
            ids::entity_id(&new_name)
        } else {
            old_id.to_owned()
        }
    }

    /// The id a relation vector row gets (see [`Self::entity_vector_id`]).
    pub fn relation_vector_id(&self, old_id: &str, src: &str, tgt: &str) -> String {
        let (a, b) = (self.name(src), self.name(tgt));
        if (a != src || b != tgt) && old_id == ids::relation_id(src, tgt) {
            ids::relation_id(&a, &b)
        } else {
            old_id.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_one_pair_of_quotes_only_when_asked() {
        assert_eq!(LegacyNames::STRIP.name("\"BANGHAO CHI\""), "BANGHAO CHI");
        assert_eq!(LegacyNames::KEEP.name("\"BANGHAO CHI\""), "\"BANGHAO CHI\"");
        assert_eq!(LegacyNames::STRIP.name("plain"), "plain");
        assert_eq!(LegacyNames::STRIP.name("\""), "\"");
        assert_eq!(LegacyNames::STRIP.name("\"\""), "\"\"");
    }

    #[test]
    fn vector_ids_are_rehashed_from_the_unquoted_name() {
        let old = ids::entity_id("\"RABBITMQ\"");
        assert_eq!(LegacyNames::STRIP.entity_vector_id(&old, "\"RABBITMQ\""), ids::entity_id("RABBITMQ"));
        // An id that did not follow the rule is kept.
        assert_eq!(LegacyNames::STRIP.entity_vector_id("ent-custom", "\"RABBITMQ\""), "ent-custom");
        let old_rel = ids::relation_id("\"B\"", "\"A\"");
        assert_eq!(LegacyNames::STRIP.relation_vector_id(&old_rel, "\"B\"", "\"A\""), ids::relation_id("A", "B"));
    }

    #[test]
    fn relation_keys_are_resorted_after_unquoting() {
        // '"' sorts before letters, so unquoting can change the order.
        assert_eq!(LegacyNames::STRIP.relation_key("\"Z\"<SEP>A"), "A<SEP>Z");
        assert_eq!(LegacyNames::KEEP.relation_key("\"Z\"<SEP>A"), "\"Z\"<SEP>A");
    }
}
