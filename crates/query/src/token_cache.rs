//! [`CachedTokenizer`]: a [`Tokenizer`] layer that remembers the tokens of
//! the texts retrieval encodes again and again.
//!
//! A knowledge base's texts are stored once and read by every query: the
//! same chunks, the same entity and relation lines, the same system prompt.
//! LightRAG encodes each of them afresh per query; their tokens never change,
//! so this layer keeps them, by exact text, in a bounded concurrent cache
//! (`quick_cache`, weighted by bytes, shared by every thread of a `serve`).
//! Short texts are not kept: the tokenizer's own piece cache already makes
//! them cheap, and they would crowd the long ones out.

use std::fmt;
use std::sync::Arc;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::tokenizer::Tokenizer;

/// Texts shorter than this (bytes) are encoded every time.
const MIN_TEXT_BYTES: usize = 64;

/// What the cache may hold: texts plus their tokens, in bytes.
pub const DEFAULT_CAPACITY_BYTES: u64 = 64 << 20;

#[derive(Clone)]
struct Bytes;

impl Weighter<Box<str>, Arc<[u32]>> for Bytes {
    fn weight(&self, text: &Box<str>, tokens: &Arc<[u32]>) -> u64 {
        (text.len() + tokens.len() * 4 + 64) as u64
    }
}

/// A tokenizer whose `encode` and `count` of long texts are remembered.
pub struct CachedTokenizer {
    inner: Arc<dyn Tokenizer>,
    cache: Cache<Box<str>, Arc<[u32]>, Bytes>,
}

impl fmt::Debug for CachedTokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedTokenizer")
            .field("inner", &self.inner)
            .field("texts", &self.cache.len())
            .field("bytes", &self.cache.weight())
            .finish()
    }
}

impl CachedTokenizer {
    /// `inner`, remembering up to `capacity_bytes` of texts and tokens.
    pub fn new(inner: Arc<dyn Tokenizer>, capacity_bytes: u64) -> Self {
        let items = usize::try_from(capacity_bytes / 4096).unwrap_or(usize::MAX).max(16);
        Self { inner, cache: Cache::with_weighter(items, capacity_bytes, Bytes) }
    }

    fn tokens(&self, text: &str) -> Arc<[u32]> {
        if let Some(tokens) = self.cache.get(text) {
            return tokens;
        }
        let tokens: Arc<[u32]> = self.inner.encode(text).into();
        self.cache.insert(text.into(), tokens.clone());
        tokens
    }
}

impl Tokenizer for CachedTokenizer {
    fn encode(&self, text: &str) -> Vec<u32> {
        if text.len() < MIN_TEXT_BYTES {
            return self.inner.encode(text);
        }
        self.tokens(text).to_vec()
    }

    fn count(&self, text: &str) -> usize {
        if text.len() < MIN_TEXT_BYTES {
            return self.inner.count(text);
        }
        self.tokens(text).len()
    }

    fn safe_prefix_chars(&self, text: &str, max_tokens: usize) -> Option<usize> {
        self.inner.safe_prefix_chars(text, max_tokens)
    }

    fn token_offsets(&self, tokens: &[u32]) -> Option<Vec<usize>> {
        self.inner.token_offsets(tokens)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::tokenizer::Tiktoken;

    /// Tiktoken, counting its calls.
    #[derive(Debug, Default)]
    struct Counting(AtomicUsize);
    impl Tokenizer for Counting {
        fn encode(&self, text: &str) -> Vec<u32> {
            self.0.fetch_add(1, Ordering::Relaxed);
            Tiktoken::o200k_base().encode(text)
        }
    }

    #[test]
    fn a_long_text_is_encoded_once_with_the_same_tokens() {
        let inner = Arc::new(Counting::default());
        let cached = CachedTokenizer::new(inner.clone(), DEFAULT_CAPACITY_BYTES);
        let text = "Marley was dead: to begin with. There is no doubt whatever about that. ".repeat(4);
        let expected = Tiktoken::o200k_base().encode(&text);
        assert_eq!(cached.encode(&text), expected);
        assert_eq!(cached.count(&text), expected.len());
        assert_eq!(cached.encode(&text), expected);
        assert_eq!(inner.0.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn short_texts_go_to_the_tokenizer_every_time() {
        let inner = Arc::new(Counting::default());
        let cached = CachedTokenizer::new(inner.clone(), DEFAULT_CAPACITY_BYTES);
        assert_eq!(cached.count("hello world"), 2);
        assert_eq!(cached.count("hello world"), 2);
        assert_eq!(inner.0.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let cached = CachedTokenizer::new(Arc::new(Tiktoken::o200k_base()), 64 << 10);
        for i in 0..2_000 {
            cached.count(&format!("{i} Marley was dead: to begin with. There is no doubt whatever about that."));
        }
        assert!(cached.cache.weight() <= 64 << 10, "{} bytes", cached.cache.weight());
    }
}
