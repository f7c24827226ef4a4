//! LightRAG's chunk selection for the entities and relations kept:
//! `pick_by_weighted_polling` and `pick_by_vector_similarity`, and the
//! occurrence counting of `_find_related_text_unit_from_entities` /
//! `_from_relations`.

use std::collections::{HashMap, HashSet};

/// One entity's or relation's chunks, deduplicated and sorted by occurrence.
#[derive(Debug, Clone)]
pub(crate) struct Owner {
    pub(crate) sorted_chunks: Vec<String>,
}

/// LightRAG's `split_string_by_multi_markers(source_id, ["<SEP>"])`.
pub(crate) fn split_sep(source_id: &str) -> Vec<String> {
    source_id.split("<SEP>").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Counts occurrences, keeps each chunk with its first owner, sorts each
/// owner's chunks by occurrence (descending, stable). `skip` are chunk ids
/// already taken (the relation step skips the entity step's chunks); with
/// `drop_empty`, owners left without chunks are dropped (the relation step
/// does, the entity step does not).
pub(crate) fn owners(
    lists: Vec<Vec<String>>,
    skip: &HashSet<String>,
    drop_empty: bool,
) -> (Vec<Owner>, HashMap<String, usize>) {
    let mut count: HashMap<String, usize> = HashMap::new();
    let mut kept: Vec<Vec<String>> = Vec::with_capacity(lists.len());
    for chunks in lists {
        let mut mine = Vec::new();
        for c in chunks {
            if skip.contains(&c) {
                continue;
            }
            let n = count.entry(c.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                mine.push(c);
            }
        }
        kept.push(mine);
    }
    let owners = kept
        .into_iter()
        .filter(|c| !drop_empty || !c.is_empty())
        .map(|mut chunks| {
            chunks.sort_by_key(|c| std::cmp::Reverse(count.get(c).copied().unwrap_or(0)));
            Owner { sorted_chunks: chunks }
        })
        .collect();
    (owners, count)
}

/// LightRAG's `pick_by_weighted_polling(owners, max_related_chunks, 1)`.
pub(crate) fn weighted_polling(owners: &[Owner], max_related: usize, min_related: usize) -> Vec<String> {
    if owners.is_empty() || max_related == 0 {
        return Vec::new();
    }
    let n = owners.len();
    if n == 1 {
        return owners[0].sorted_chunks.iter().take(max_related).cloned().collect();
    }
    let expected: Vec<usize> = (0..n)
        .map(|i| {
            let ratio = i as f64 / (n - 1) as f64;
            let e = max_related as f64 - ratio * (max_related as f64 - min_related as f64);
            // Python's round(): half to even.
            e.round_ties_even().max(0.0) as usize
        })
        .collect();
    let mut selected = Vec::new();
    let mut used = Vec::with_capacity(n);
    let mut remaining = 0usize;
    for (o, &exp) in owners.iter().zip(&expected) {
        let actual = exp.min(o.sorted_chunks.len());
        selected.extend(o.sorted_chunks[..actual].iter().cloned());
        used.push(actual);
        remaining += exp - actual;
    }
    for _ in 0..remaining {
        let mut allocated = false;
        for (i, o) in owners.iter().enumerate() {
            if used[i] < o.sorted_chunks.len() {
                selected.push(o.sorted_chunks[used[i]].clone());
                used[i] += 1;
                allocated = true;
                break;
            }
        }
        if !allocated {
            break;
        }
    }
    selected
}

/// LightRAG's `cosine_similarity` (0 for a zero or non-finite norm).
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let na = a.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
    let denom = na * nb;
    if denom == 0.0 || !denom.is_finite() || !dot.is_finite() {
        return 0.0;
    }
    dot / denom
}

/// LightRAG's `pick_by_vector_similarity`: the `num` chunks of the owners
/// most similar to the question; empty (the caller falls back to weighted
/// polling) when any of them has no vector.
pub(crate) fn vector_similarity(
    owners: &[Owner],
    num: usize,
    query: &[f32],
    vectors: &HashMap<String, Vec<f32>>,
) -> Vec<String> {
    if owners.is_empty() || num == 0 {
        return Vec::new();
    }
    let mut ids: Vec<&String> = owners.iter().flat_map(|o| o.sorted_chunks.iter()).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() || ids.iter().any(|id| !vectors.contains_key(*id)) {
        return Vec::new();
    }
    let mut sims: Vec<(&String, f64)> = ids.into_iter().map(|id| (id, cosine(query, &vectors[id]))).collect();
    sims.sort_by(|a, b| b.1.total_cmp(&a.1));
    sims.into_iter().take(num).map(|(id, _)| id.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(c: &[&str]) -> Owner {
        Owner { sorted_chunks: c.iter().map(|s| (*s).to_owned()).collect() }
    }

    #[test]
    fn polling_gives_a_linear_gradient_and_passes_leftovers_on() {
        let o = [owner(&["a", "b", "c", "d", "e", "f"]), owner(&["g"]), owner(&["h", "i"])];
        // expected 5, 3, 1: the second has one chunk; its 2 left over go to the first owners with chunks left.
        assert_eq!(weighted_polling(&o, 5, 1), ["a", "b", "c", "d", "e", "g", "h", "f", "i"]);
    }

    #[test]
    fn python_rounds_half_to_even() {
        // n = 5 between 5 and 1: 5, 4, 3, 2, 1; n = 3 between 4 and 1: 4, 2.5 → 2, 1.
        let o = [owner(&["a", "b", "c", "d"]), owner(&["e", "f", "g"]), owner(&["h"])];
        assert_eq!(weighted_polling(&o, 4, 1), ["a", "b", "c", "d", "e", "f", "h"]);
    }

    #[test]
    fn occurrences_keep_first_owner_and_sort_by_count() {
        let (o, count) = owners(
            vec![vec!["x".into(), "y".into()], vec!["y".into(), "z".into()], vec!["y".into()]],
            &HashSet::new(),
            false,
        );
        assert_eq!(o.len(), 3);
        assert_eq!(o[0].sorted_chunks, ["y", "x"]);
        assert_eq!(o[1].sorted_chunks, ["z"]);
        assert!(o[2].sorted_chunks.is_empty());
        assert_eq!(count["y"], 3);
        assert_eq!(split_sep(" a<SEP>b <SEP><SEP>"), ["a", "b"]);
    }
}
