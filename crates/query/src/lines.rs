//! Counting the tokens of JSON lines (one `json.dumps` object per line, joined
//! by `\n`) item by item, with exactly LightRAG's results but encoding each
//! item once instead of the whole text at every step.
//!
//! LightRAG counts `"\n".join(items)` again and again (the whole list, then the
//! kept prefix, then the rendered chunks). With tiktoken's patterns the
//! pre-tokenizer always splits right after the `\n` between an item's final
//! `}` and the next item's `{` (the `}` run takes the line break with it and
//! stops before `{`), and between `":` and ` "` inside an item, and BPE works
//! within pieces. So the tokens of the joined text are the concatenation of
//! each item's tokens (with its `\n`), and an item `head + tail` split at a
//! `":`/` "` boundary has the tokens of `head` followed by those of `tail`.
//! That lets the chunk texts be encoded once and shared by LightRAG's two
//! chunk renderings (`{"content": …}` and `{"reference_id": …, "content": …}`).
//!
//! A tokenizer that does not promise this ([`Tokenizer::token_offsets`] is
//! `None`) gets LightRAG's plain algorithm on the joined text.

use std::collections::HashMap;

use crate::prompts;
use crate::pyfmt::format;
use crate::tokenizer::{Tokenizer, prefix, retreat_search, truncate_list_by_token_size};

/// Items `heads[i] + tails[i]` joined by `\n`, for one list of tails; heads
/// vary per rendering and are cached by text.
pub(crate) struct Lines<'t> {
    tok: &'t dyn Tokenizer,
    fast: bool,
    tails: Vec<String>,
    heads: HashMap<String, Vec<u32>>,
    /// Tokens of `tails[i] + "\n"`.
    tail_nl: Vec<Option<Vec<u32>>>,
    /// Tokens of `tails[i]`.
    tail_bare: Vec<Option<Vec<u32>>>,
}

impl<'t> Lines<'t> {
    /// Lines over these tails.
    pub(crate) fn new(tok: &'t dyn Tokenizer, tails: Vec<String>) -> Self {
        let n = tails.len();
        Self {
            tok,
            fast: tok.token_offsets(&[]).is_some(),
            tails,
            heads: HashMap::new(),
            tail_nl: vec![None; n],
            tail_bare: vec![None; n],
        }
    }

    /// Whether items are counted one by one (else as LightRAG, whole).
    pub(crate) fn is_fast(&self) -> bool {
        self.fast
    }

    /// The number of items.
    pub(crate) fn len(&self) -> usize {
        self.tails.len()
    }

    fn head(&mut self, h: &str) -> &[u32] {
        if !self.heads.contains_key(h) {
            let t = self.tok.encode(h);
            self.heads.insert(h.to_owned(), t);
        }
        &self.heads[h]
    }

    /// Tokens of tail `i` followed by `\n`.
    pub(crate) fn nl(&mut self, i: usize) -> &[u32] {
        if self.tail_nl[i].is_none() {
            self.tail_nl[i] = Some(self.tok.encode(&format!("{}\n", self.tails[i])));
        }
        self.tail_nl[i].as_deref().unwrap_or_default()
    }

    fn bare(&mut self, i: usize) -> &[u32] {
        if self.tail_bare[i].is_none() {
            self.tail_bare[i] = Some(self.tok.encode(&self.tails[i]));
        }
        self.tail_bare[i].as_deref().unwrap_or_default()
    }

    fn item(&self, heads: &[&str], i: usize) -> String {
        format!("{}{}", heads[i], self.tails[i])
    }

    fn joined(&self, heads: &[&str], k: usize) -> String {
        (0..k).map(|i| self.item(heads, i)).collect::<Vec<_>>().join("\n")
    }

    /// Tokens of `"\n".join(heads[i] + tails[i] for i < k)`.
    pub(crate) fn count_join(&mut self, heads: &[&str], k: usize) -> usize {
        if !self.fast {
            return self.tok.count(&self.joined(heads, k));
        }
        let mut n = 0;
        for (i, head) in heads.iter().enumerate().take(k) {
            n += self.head(head).len();
            n += if i + 1 < k { self.nl(i).len() } else { self.bare(i).len() };
        }
        n
    }

    /// LightRAG's `truncate_list_by_token_size(items, "\n", max_tokens)`: how
    /// many leading items fit.
    pub(crate) fn truncate(&mut self, heads: &[&str], max_tokens: i64) -> usize {
        let n = self.len().min(heads.len());
        if max_tokens <= 0 || n == 0 {
            return 0;
        }
        if !self.fast {
            let rendered: Vec<String> = (0..n).map(|i| self.item(heads, i)).collect();
            return truncate_list_by_token_size(&rendered, "\n", max_tokens, self.tok);
        }
        let max = usize::try_from(max_tokens).unwrap_or(usize::MAX);
        let total = self.count_join(heads, n);
        if total <= max {
            return n;
        }
        // The joined text's tokens and item spans, from the items' own.
        let mut tokens: Vec<u32> = Vec::with_capacity(total);
        let mut starts = Vec::with_capacity(n);
        let mut token_starts = Vec::with_capacity(n);
        let mut item_chars = Vec::with_capacity(n);
        let mut len = 0usize;
        for (i, head) in heads.iter().enumerate().take(n) {
            starts.push(len);
            token_starts.push(tokens.len());
            let h = self.head(head).to_vec();
            tokens.extend(h);
            let t = if i + 1 < n { self.nl(i).to_vec() } else { self.bare(i).to_vec() };
            tokens.extend(t);
            let chars = head.chars().count() + self.tails[i].chars().count();
            item_chars.push(chars);
            len += chars + usize::from(i + 1 < n);
        }
        let texts: Vec<String> = (0..n).map(|i| self.item(heads, i)).collect();
        let tok = self.tok;
        // Where token `k` starts in the joined text: the search asks only near
        // the cut, so only the items it lands in are decoded (items start at
        // code-point boundaries, so an item's own offsets shift by its start).
        let decoded: std::cell::RefCell<HashMap<usize, Vec<usize>>> = Default::default();
        let boundary = |k: usize| -> usize {
            let j = token_starts.partition_point(|s| *s <= k).saturating_sub(1);
            let end = token_starts.get(j + 1).copied().unwrap_or(tokens.len());
            let mut decoded = decoded.borrow_mut();
            let offsets = decoded
                .entry(j)
                .or_insert_with(|| tok.token_offsets(&tokens[token_starts[j]..end]).unwrap_or_default());
            starts[j] + offsets.get(k - token_starts[j]).copied().unwrap_or(0)
        };
        let fits = |end: usize| -> bool {
            // Items before the one `end` falls in count whole (with their
            // `\n`); the partial item is encoded alone.
            let j = starts.partition_point(|s| *s <= end).saturating_sub(1);
            let partial = prefix(&texts[j], end - starts[j]);
            token_starts[j] + if partial.is_empty() { 0 } else { tok.count(partial) } <= max
        };
        let Some(safe_end) = retreat_search(tokens.len(), max, len, boundary, fits) else { return 0 };
        let mut k = n;
        let mut cumulative = 0usize;
        for (i, chars) in item_chars.iter().enumerate() {
            cumulative += usize::from(i > 0) + chars;
            if cumulative > safe_end {
                k = i;
                break;
            }
        }
        while k > 0 && self.count_join(heads, k) > max {
            k -= 1;
        }
        k
    }
}

/// The tokens of `PROMPTS["kg_query_context"]` with the entities and
/// relations and no chunks (LightRAG's `kg_context_tokens`). With a
/// tokenizer that splits at JSON line breaks, the lists are counted from
/// their items' tokens: each item is followed by `\n` in the template.
pub(crate) fn kg_context_tokens<'t>(
    tok: &dyn Tokenizer,
    entities: (&mut Lines<'t>, usize, &str),
    relations: (&mut Lines<'t>, usize, &str),
) -> i64 {
    let fast = entities.0.is_fast() && relations.0.is_fast();
    if !fast {
        let text = format(
            prompts::KG_QUERY_CONTEXT,
            &[
                ("entities_str", entities.2),
                ("relations_str", relations.2),
                ("text_chunks_str", ""),
                ("reference_list_str", ""),
            ],
        );
        return tok.count(&text) as i64;
    }
    let template = prompts::KG_QUERY_CONTEXT;
    let (before, rest) = template.split_once("{entities_str}").unwrap_or((template, ""));
    let (middle, after) = rest.split_once("{relations_str}").unwrap_or((rest, ""));
    let after = format(after, &[("text_chunks_str", ""), ("reference_list_str", "")]);
    let mut total = 0i64;
    let mut buf = before.to_owned();
    for (lines, k, next) in [(entities.0, entities.1, middle), (relations.0, relations.1, after.as_str())] {
        match next.strip_prefix('\n') {
            Some(next) if k > 0 => {
                total += tok.count(&buf) as i64;
                total += (0..k).map(|i| lines.nl(i).len() as i64).sum::<i64>();
                buf = next.to_owned();
            }
            _ => {
                // An empty list adds nothing between the constant texts.
                buf.push_str(next);
            }
        }
    }
    total + tok.count(&buf) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyfmt::dumps;
    use crate::tokenizer::Tiktoken;
    use serde_json::json;

    fn texts() -> Vec<String> {
        let words = "Marley was dead: to begin with. \"Bah,\" said Scrooge, \"Humbug!\"\n\tThere is no doubt whatever \
                     about that — ü€😀 1234567 {braces} [x] C:\\path\\to a/b/c.";
        (0..12).map(|i| words.repeat(i % 4 + 1)[i..].to_owned()).collect()
    }

    #[test]
    fn item_by_item_counts_equal_whole_text_counts() {
        let t = Tiktoken::o200k_base();
        let contents = texts();
        let tails: Vec<String> =
            contents.iter().map(|c| dumps(&json!({"content": c}))["{\"content\":".len()..].to_owned()).collect();
        let mut lines = Lines::new(&t, tails);
        let approx = vec!["{\"content\":"; contents.len()];
        let refs: Vec<String> =
            (0..contents.len()).map(|i| format!("{{\"reference_id\": \"{}\", \"content\":", i % 3)).collect();
        let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
        for k in 0..=contents.len() {
            let whole: Vec<String> = contents[..k].iter().map(|c| dumps(&json!({"content": c}))).collect();
            assert_eq!(lines.count_join(&approx, k), t.count(&whole.join("\n")), "approx k={k}");
            let whole: Vec<String> = contents[..k]
                .iter()
                .enumerate()
                .map(|(i, c)| dumps(&json!({"reference_id": (i % 3).to_string(), "content": c})))
                .collect();
            assert_eq!(lines.count_join(&refs, k), t.count(&whole.join("\n")), "rendered k={k}");
        }
    }

    #[test]
    fn the_kg_context_counts_as_the_whole_template() {
        let t = Tiktoken::o200k_base();
        let e: Vec<String> =
            texts().iter().map(|c| dumps(&json!({"entity": c, "type": "x", "description": c}))).collect();
        let r: Vec<String> =
            texts().iter().map(|c| dumps(&json!({"entity1": c, "entity2": "B", "description": c}))).collect();
        for (ek, rk) in [(0, 0), (3, 0), (0, 4), (5, 7), (12, 12)] {
            let (es, rs) = (e[..ek].join("\n"), r[..rk].join("\n"));
            let whole = format(
                prompts::KG_QUERY_CONTEXT,
                &[("entities_str", &es), ("relations_str", &rs), ("text_chunks_str", ""), ("reference_list_str", "")],
            );
            let (mut el, mut rl) = (Lines::new(&t, e.clone()), Lines::new(&t, r.clone()));
            let got = kg_context_tokens(&t, (&mut el, ek, &es), (&mut rl, rk, &rs));
            assert_eq!(got, t.count(&whole) as i64, "ek={ek} rk={rk}");
        }
    }

    #[test]
    fn truncation_equals_lightrags_on_the_whole_text() {
        let t = Tiktoken::o200k_base();
        let items: Vec<String> =
            texts().iter().map(|c| dumps(&json!({"entity": c, "type": "person", "description": c}))).collect();
        let mut lines = Lines::new(&t, items.clone());
        let heads = vec![""; items.len()];
        for max in [-1, 0, 1, 7, 50, 120, 333, 600, 1000, 5000] {
            assert_eq!(lines.truncate(&heads, max), truncate_list_by_token_size(&items, "\n", max, &t), "max={max}");
        }
    }

    #[test]
    fn truncation_with_heads_equals_lightrags_on_the_rendered_items() {
        // The chunks' second rendering: `{"reference_id": …, "content": …}`
        // items whose tails were encoded for the first.
        let t = Tiktoken::o200k_base();
        let head = "{\"content\":";
        let tails: Vec<String> =
            texts().iter().map(|c| dumps(&json!({"content": c}))[head.len()..].to_owned()).collect();
        let heads: Vec<String> =
            (0..tails.len()).map(|i| format!("{{\"reference_id\": \"{i}\", \"content\":")).collect();
        let heads: Vec<&str> = heads.iter().map(String::as_str).collect();
        let rendered: Vec<String> = heads.iter().zip(&tails).map(|(h, t)| format!("{h}{t}")).collect();
        let mut lines = Lines::new(&t, tails);
        for max in [1, 7, 50, 120, 333, 600, 1000, 5000] {
            assert_eq!(lines.truncate(&heads, max), truncate_list_by_token_size(&rendered, "\n", max, &t), "max={max}");
        }
    }
}
