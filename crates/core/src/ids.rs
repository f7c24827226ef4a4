//! LightRAG's key formats: `doc-`, `chunk-`, `ent-`, `rel-` + MD5 hex, the
//! `A<SEP>B` relation key and the LLM-cache key `{mode}:{cache_type}:{hash}`.

use md5::{Digest, Md5};

/// LightRAG's `GRAPH_FIELD_SEP`, which joins chunk ids and relation endpoints.
pub const GRAPH_FIELD_SEP: &str = "<SEP>";

/// Whether an id can exist in storage at all. PostgreSQL text cannot hold a NUL
/// byte, so every write refuses one; reads and deletes treat such an id as
/// absent instead of sending it to the server (which would refuse the whole
/// statement).
pub fn can_exist(id: &str) -> bool {
    !id.contains('\0')
}

/// The ids of a read or delete to send to the server: distinct, in first-seen
/// order, without the ones that cannot exist ([`can_exist`]).
pub fn lookup(ids: &[String]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    ids.iter().map(String::as_str).filter(|id| can_exist(id) && seen.insert(*id)).collect()
}

/// The last item of each id, sorted by id (byte order).
///
/// A batch write sends its rows in this order, so every writer takes row locks
/// in one order and two overlapping batches cannot deadlock each other; and one
/// `INSERT … ON CONFLICT` statement may touch a row only once.
pub fn last_per_id<T>(items: Vec<T>, id: impl Fn(&T) -> &str) -> Vec<T> {
    let mut indexed: Vec<(usize, T)> = items.into_iter().enumerate().collect();
    indexed.sort_by(|(i, a), (j, b)| id(a).cmp(id(b)).then(i.cmp(j)));
    let mut out: Vec<T> = Vec::with_capacity(indexed.len());
    for (_, item) in indexed {
        if out.last().is_some_and(|prev| id(prev) == id(&item)) {
            out.pop();
        }
        out.push(item);
    }
    out
}

/// The answer of a `get_by_ids` in request order: each slot gets the record
/// `found` has for its id, `None` for an id without one. The last slot of an
/// id takes the record, earlier slots of a repeated id get a copy.
pub fn per_slot<T: Clone>(ids: &[String], mut found: std::collections::HashMap<String, T>) -> Vec<Option<T>> {
    let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        last.insert(id.as_str(), i);
    }
    ids.iter()
        .enumerate()
        .map(|(i, id)| if last[id.as_str()] == i { found.remove(id) } else { found.get(id).cloned() })
        .collect()
}

/// Hex MD5 of the UTF-8 string (LightRAG's `compute_mdhash_id` without prefix).
pub fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

/// LightRAG's `compute_mdhash_id(s, prefix)`.
pub fn mdhash_id(s: &str, prefix: &str) -> String {
    format!("{prefix}{}", md5_hex(s))
}

/// The entity vector id: `ent-<md5(name)>`.
pub fn entity_id(entity_name: &str) -> String {
    mdhash_id(entity_name, "ent-")
}

/// The relation vector id: `rel-<md5(src + tgt)>` with the pair sorted.
pub fn relation_id(a: &str, b: &str) -> String {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    mdhash_id(&format!("{lo}{hi}"), "rel-")
}

/// The `relation_chunks` key: `A<SEP>B` with A ≤ B.
pub fn relation_chunks_key(a: &str, b: &str) -> String {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    format!("{lo}{GRAPH_FIELD_SEP}{hi}")
}

/// LightRAG's `compute_args_hash`: one argument → MD5 of it; several → MD5 of the
/// concatenation of `"{len}:{arg}"`.
pub fn args_hash(args: &[&str]) -> String {
    match args {
        [one] => md5_hex(one),
        many => md5_hex(&many.iter().map(|s| format!("{}:{s}", s.chars().count())).collect::<String>()),
    }
}

/// The LLM-cache key `{mode}:{cache_type}:{hash}`.
pub fn llm_cache_key(mode: &str, cache_type: &str, hash: &str) -> String {
    format!("{mode}:{cache_type}:{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_per_id_keeps_the_last_item_of_each_id_in_id_order() {
        let items = vec![("b", 1), ("a", 2), ("b", 3), ("c", 4), ("a", 5)];
        assert_eq!(last_per_id(items, |r| r.0), vec![("a", 5), ("b", 3), ("c", 4)]);
    }

    #[test]
    fn per_slot_answers_every_slot_in_request_order_with_none_for_missing_ids() {
        let ids: Vec<String> = ["b", "x", "a", "b"].iter().map(|s| (*s).to_owned()).collect();
        let found = [("a".to_owned(), 1), ("b".to_owned(), 2)].into_iter().collect();
        assert_eq!(per_slot(&ids, found), vec![Some(2), None, Some(1), Some(2)]);
    }

    #[test]
    fn ids_with_a_nul_byte_cannot_exist() {
        assert!(can_exist("entity"));
        assert!(!can_exist("a\0b"));
    }

    #[test]
    fn lookup_keeps_each_id_that_can_exist_once_in_request_order() {
        let ids: Vec<String> = ["b", "a\0", "a", "b", "c"].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(lookup(&ids), ["b", "a", "c"]);
    }

    #[test]
    fn entity_id_is_md5_of_the_name() {
        assert_eq!(entity_id("A"), "ent-7fc56270e7a70fa81a5935b72eacbe29");
    }

    #[test]
    fn relation_id_ignores_direction() {
        assert_eq!(relation_id("A", "B"), relation_id("B", "A"));
        assert_eq!(relation_chunks_key("B", "A"), "A<SEP>B");
    }

    #[test]
    fn cache_key_has_three_parts() {
        assert_eq!(llm_cache_key("default", "extract", "h"), "default:extract:h");
        assert_eq!(args_hash(&["x"]), md5_hex("x"));
        assert_eq!(args_hash(&["ab", "c"]), md5_hex("2:ab1:c"));
    }
}
