//! Token counting as LightRAG counts: the [`Tokenizer`] trait, LightRAG's
//! default [`Tiktoken`] (`o200k_base`, what `TiktokenTokenizer("gpt-4o-mini")`
//! loads; the table is compiled into the binary, so it works offline), and
//! [`truncate_list_by_token_size`], LightRAG's "keep the first K whole items
//! that fit" with its exact search for the cut.
//!
//! Offsets are in Unicode code points, as Python's string indices are.

use std::fmt;

/// A tokenizer, as LightRAG's `Tokenizer` uses one.
pub trait Tokenizer: Send + Sync + fmt::Debug {
    /// The tokens of `text`; special-token strings are plain text (LightRAG
    /// retries with `disallowed_special=()`).
    fn encode(&self, text: &str) -> Vec<u32>;

    /// The number of tokens of `text`.
    fn count(&self, text: &str) -> usize {
        self.encode(text).len()
    }

    /// LightRAG's `truncate_by_token_limit(text, max_tokens).end`: the length,
    /// in code points, of a prefix of `text` verified to fit `max_tokens`;
    /// `None` when not even the first code point fits (`TokenBudgetError`).
    /// The default is LightRAG's generic bracket-and-bisect search.
    fn safe_prefix_chars(&self, text: &str, max_tokens: usize) -> Option<usize> {
        generic_safe_prefix(self, text, max_tokens)
    }

    /// tiktoken's `decode_with_offsets`: the code-point offset where each of
    /// `tokens` starts. `Some` also promises what retrieval relies on to
    /// count JSON lines item by item: the pre-tokenizer splits after the `\n`
    /// between `}` and `{`, and between `":` and ` "` (true of tiktoken's
    /// `o200k_base` and `cl100k_base` patterns). `None` (the default): items are
    /// counted by encoding the whole text, as LightRAG does.
    fn token_offsets(&self, _tokens: &[u32]) -> Option<Vec<usize>> {
        None
    }
}

/// `TiktokenTokenizer._prefix_span_via_boundary` from the start: the end (in
/// code points) of the longest candidate prefix ending at a token boundary,
/// retreating 1, 2, 4, … tokens from `max_tokens`, that `fits`; else the first
/// code point when it fits alone.
pub(crate) fn retreat_search(
    total: usize,
    max_tokens: usize,
    len: usize,
    boundary: impl Fn(usize) -> usize,
    mut fits: impl FnMut(usize) -> bool,
) -> Option<usize> {
    let mut k = total.min(max_tokens);
    let mut step = 1;
    let mut last_end = None;
    loop {
        let end = if k < total { boundary(k) } else { len };
        if last_end != Some(end) {
            if end > 0 && fits(end) {
                return Some(end);
            }
            last_end = Some(end);
        }
        if k <= 1 {
            break;
        }
        k = 1.max(k.saturating_sub(step));
        step *= 2;
    }
    fits(1).then_some(1)
}

/// The byte offset of code point `n` of `s` (or `s.len()`).
fn byte_at(s: &str, n: usize) -> usize {
    s.char_indices().nth(n).map_or(s.len(), |(b, _)| b)
}

/// `content[:n]` in code points.
pub(crate) fn prefix(s: &str, n: usize) -> &str {
    &s[..byte_at(s, n)]
}

/// LightRAG's `Tokenizer.truncate_by_token_limit` (base class).
fn generic_safe_prefix<T: Tokenizer + ?Sized>(t: &T, content: &str, max_tokens: usize) -> Option<usize> {
    if max_tokens == 0 {
        return None;
    }
    let len = content.chars().count();
    if len == 0 {
        return Some(0);
    }
    let full = t.count(content);
    if full <= max_tokens {
        return Some(len);
    }
    let chars_per_token = len as f64 / full as f64;
    let remaining = len;
    let seed = remaining.min(((max_tokens as f64 * chars_per_token) as usize).max(1));
    let mut good = 0usize;
    let mut bad;
    if t.count(prefix(content, seed)) <= max_tokens {
        good = seed;
        if seed == remaining {
            return Some(good);
        }
        let mut candidate = seed;
        loop {
            candidate = remaining.min(candidate * 2);
            if t.count(prefix(content, candidate)) > max_tokens {
                bad = candidate;
                break;
            }
            good = candidate;
            if candidate == remaining {
                return Some(good);
            }
        }
    } else {
        bad = seed;
        let mut candidate = seed;
        while candidate > 1 {
            candidate /= 2;
            if t.count(prefix(content, candidate)) <= max_tokens {
                good = candidate;
                break;
            }
            bad = candidate;
        }
    }
    while bad - good > 1 {
        let mid = (good + bad) / 2;
        if t.count(prefix(content, mid)) <= max_tokens {
            good = mid;
        } else {
            bad = mid;
        }
    }
    if good > 0 {
        return Some(good);
    }
    (t.count(prefix(content, 1)) <= max_tokens).then_some(1)
}

/// tiktoken's `o200k_base`: LightRAG's default tokenizer. Encoded by GitHub's
/// `bpe-openai` (the same tokens as tiktoken, checked against `tiktoken-rs`
/// in the tests; two to three times faster), with its table compiled in.
#[derive(Clone, Copy)]
pub struct Tiktoken {
    bpe: &'static bpe_openai::Tokenizer,
}

impl fmt::Debug for Tiktoken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tiktoken(o200k_base)")
    }
}

impl Default for Tiktoken {
    fn default() -> Self {
        Self::o200k_base()
    }
}

impl Tiktoken {
    /// The `o200k_base` encoding (built in; loaded once per process).
    pub fn o200k_base() -> Self {
        Self { bpe: bpe_openai::o200k_base() }
    }

    /// tiktoken's `decode`: the text of `tokens`, bytes that are not UTF-8
    /// (a cut inside a character) replaced by U+FFFD.
    pub fn decode(&self, tokens: &[u32]) -> String {
        let bytes: Vec<u8> = tokens.iter().flat_map(|t| self.bpe.bpe.token_bytes(*t).iter().copied()).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// tiktoken's `decode_with_offsets`: the code-point offset where each
    /// token starts.
    fn offsets(&self, tokens: &[u32]) -> Vec<usize> {
        let mut text_len = 0usize;
        let mut offsets = Vec::with_capacity(tokens.len());
        for bytes in tokens.iter().map(|t| self.bpe.bpe.token_bytes(*t)) {
            let continuation = |b: u8| (0x80..0xC0).contains(&b);
            let starts_inside = bytes.first().is_some_and(|b| continuation(*b));
            offsets.push(text_len.saturating_sub(usize::from(starts_inside)));
            text_len += bytes.iter().filter(|b| !continuation(**b)).count();
        }
        offsets
    }
}

/// How many pre-tokenizer pieces [`Tiktoken`] keeps encoded per thread (a few
/// MiB); a full cache is emptied and fills again.
const PIECE_CACHE_ITEMS: usize = 50_000;

/// Pieces longer than this (in bytes) are encoded every time: they are rare
/// (long runs of digits, spaces or symbols) and would crowd the words out.
const PIECE_CACHE_MAX_BYTES: usize = 48;

type PieceCache = std::collections::HashMap<Box<str>, Box<[u32]>, rustc_hash::FxBuildHasher>;

thread_local! {
    /// The tokens of the pre-tokenizer's pieces already encoded on this thread.
    /// BPE merges only within a piece, so a piece's tokens never depend on its
    /// neighbours; and a knowledge base's words repeat from chunk to chunk, so
    /// most pieces are found here instead of being encoded again (the word
    /// cache of OpenAI's GPT-2 encoder and of Hugging Face's BPE). Per thread:
    /// no lock and no shared counter on the hot path.
    static PIECES: std::cell::RefCell<PieceCache> = std::cell::RefCell::new(PieceCache::default());
}

impl Tiktoken {
    /// Calls `each` with the tokens of every piece of `text`, in order.
    fn for_each_piece(&self, text: &str, mut each: impl FnMut(&[u32])) {
        let text = self.bpe.normalize(text);
        PIECES.with_borrow_mut(|cache| {
            for piece in self.bpe.split(text.as_str()) {
                if piece.len() > PIECE_CACHE_MAX_BYTES {
                    each(&self.bpe.bpe.encode_via_backtracking(piece.as_bytes()));
                } else if let Some(tokens) = cache.get(piece) {
                    each(tokens);
                } else {
                    let tokens = self.bpe.bpe.encode_via_backtracking(piece.as_bytes()).into_boxed_slice();
                    each(&tokens);
                    if cache.len() >= PIECE_CACHE_ITEMS {
                        cache.clear();
                    }
                    cache.insert(piece.into(), tokens);
                }
            }
        });
    }
}

impl Tokenizer for Tiktoken {
    fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3);
        self.for_each_piece(text, |t| out.extend_from_slice(t));
        out
    }

    fn count(&self, text: &str) -> usize {
        let mut n = 0;
        self.for_each_piece(text, |t| n += t.len());
        n
    }

    /// `TiktokenTokenizer.truncate_by_token_limit`: candidates at token
    /// boundaries, retreating by 1, 2, 4, … tokens.
    fn safe_prefix_chars(&self, content: &str, max_tokens: usize) -> Option<usize> {
        if max_tokens == 0 {
            return None;
        }
        if content.is_empty() {
            return Some(0);
        }
        let tokens = self.encode(content);
        let total = tokens.len();
        let len = content.chars().count();
        if total <= max_tokens {
            return Some(len);
        }
        let offsets = self.offsets(&tokens);
        retreat_search(total, max_tokens, len, |k| offsets[k], |end| self.count(prefix(content, end)) <= max_tokens)
    }

    fn token_offsets(&self, tokens: &[u32]) -> Option<Vec<usize>> {
        Some(self.offsets(tokens))
    }
}

/// LightRAG's `truncate_list_by_token_size` on already rendered items: how
/// many leading items, joined by `separator`, fit `max_tokens` (whole items
/// only; the separators count).
pub fn truncate_list_by_token_size(
    rendered: &[String],
    separator: &str,
    max_tokens: i64,
    tokenizer: &dyn Tokenizer,
) -> usize {
    if max_tokens <= 0 || rendered.is_empty() {
        return 0;
    }
    let max = usize::try_from(max_tokens).unwrap_or(usize::MAX);
    let full = rendered.join(separator);
    let Some(safe_end) = tokenizer.safe_prefix_chars(&full, max) else { return 0 };
    let sep_len = separator.chars().count();
    let mut k = rendered.len();
    let mut cumulative = 0usize;
    for (i, text) in rendered.iter().enumerate() {
        cumulative += if i > 0 { sep_len } else { 0 } + text.chars().count();
        if cumulative > safe_end {
            k = i;
            break;
        }
    }
    while k > 0 {
        if tokenizer.count(&rendered[..k].join(separator)) <= max {
            break;
        }
        k -= 1;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One token per code point.
    #[derive(Debug)]
    struct Chars;
    impl Tokenizer for Chars {
        fn encode(&self, text: &str) -> Vec<u32> {
            text.chars().map(|c| c as u32).collect()
        }
    }

    #[test]
    fn the_tokens_are_tiktoken_rs_tokens() {
        let t = Tiktoken::o200k_base();
        let reference = tiktoken_rs::o200k_base_singleton();
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/demo-kb/kv_store_text_chunks.json"
        ))
        .expect("the demo knowledge base");
        let samples = [
            text.as_str(),
            "Marley was dead: to begin with. ü€😀 <|endoftext|> 1234567 {\"a\": \"b\"}\n\n  \t x",
            "日本語のテキスト、中文文本，한국어 텍스트 — العربية",
            "   leading and trailing spaces   \n\n\n",
        ];
        for s in samples {
            // Twice: the second time most pieces come from the piece cache.
            for _ in 0..2 {
                assert_eq!(t.encode(s), reference.encode_ordinary(s), "{}", &s[..s.len().min(60)]);
                assert_eq!(t.count(s), t.encode(s).len());
            }
        }
        let tokens = t.encode(samples[1]);
        let split: Vec<Vec<u8>> = reference._decode_native_and_split(tokens.clone()).collect();
        let ours: Vec<Vec<u8>> = tokens.iter().map(|k| t.bpe.bpe.token_bytes(*k).to_vec()).collect();
        assert_eq!(ours, split);
    }

    #[test]
    fn o200k_counts_as_tiktoken_does() {
        let t = Tiktoken::o200k_base();
        // Reference values from Python tiktoken 0.12 `encoding_for_model("gpt-4o-mini")`.
        assert_eq!(t.count("hello world"), 2);
        assert_eq!(t.count(""), 0);
        assert_eq!(t.count("<|endoftext|>"), t.encode("<|endoftext|>").len());
    }

    #[test]
    fn the_tiktoken_cut_is_a_fitting_prefix() {
        let t = Tiktoken::o200k_base();
        let text = "Marley was dead: to begin with. There is no doubt whatever about that. ü€😀 ".repeat(20);
        for max in [1, 5, 17, 100] {
            let end = t.safe_prefix_chars(&text, max).unwrap();
            assert!(t.count(prefix(&text, end)) <= max);
            assert!(end > 0);
        }
    }

    #[test]
    fn whole_items_are_kept_and_separators_count() {
        let items: Vec<String> = ["aaa", "bbb", "ccc"].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(truncate_list_by_token_size(&items, "\n", 7, &Chars), 2);
        assert_eq!(truncate_list_by_token_size(&items, "\n", 6, &Chars), 1);
        assert_eq!(truncate_list_by_token_size(&items, "\n", 11, &Chars), 3);
        assert_eq!(truncate_list_by_token_size(&items, "\n", 0, &Chars), 0);
        assert_eq!(generic_safe_prefix(&Chars, "abcdef", 4), Some(4));
    }
}
