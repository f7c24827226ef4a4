//! LightRAG's checks of the question (`lightrag/query_validation.py`): not
//! empty in any mode, and at least 3 "English-equivalent" characters (a
//! Chinese, Japanese or Korean one counts 2) in every mode but bypass.

use crate::error::QueryError;
use crate::param::Mode;

/// `MIN_RAG_QUERY_WEIGHT`.
pub const MIN_RAG_QUERY_WEIGHT: usize = 3;

/// `_WIDE_CODEPOINT_RANGES`: whole CJK blocks.
const WIDE: &[(u32, u32)] = &[
    (0x1100, 0x11FF),
    (0x2E80, 0x33FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xA960, 0xA97F),
    (0xAC00, 0xD7FF),
    (0xF900, 0xFAFF),
    (0xFE30, 0xFE4F),
    (0xFF00, 0xFFEE),
    (0x16FE0, 0x16FFF),
    (0x1AFF0, 0x1B2FF),
    (0x20000, 0x3FFFD),
];

fn weight(c: char) -> usize {
    let cp = c as u32;
    if WIDE.iter().any(|(a, b)| (*a..=*b).contains(&cp)) { 2 } else { 1 }
}

/// The question, stripped, or the error LightRAG raises.
///
/// # Errors
/// [`QueryError::InvalidInput`] for an empty question, or one too short for
/// retrieval.
pub fn query(question: &str, mode: Mode) -> Result<String, QueryError> {
    // Python's str.strip() strips Unicode whitespace, as Rust's trim().
    let q = question.trim();
    if q.is_empty() {
        return Err(QueryError::invalid("question", "Query must not be empty."));
    }
    if mode != Mode::Bypass && q.chars().map(weight).sum::<usize>() < MIN_RAG_QUERY_WEIGHT {
        return Err(QueryError::invalid(
            "question",
            "RAG query is too short. Enter at least 3 English characters or an equivalent combination where each \
             Chinese, Japanese or Korean character counts as 2.",
        ));
    }
    Ok(q.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_short_questions_are_refused_as_lightrag_does() {
        assert!(query("  \n", Mode::Bypass).is_err());
        assert!(query("ab", Mode::Local).unwrap_err().to_string().contains("too short"));
        assert_eq!(query("ab", Mode::Bypass).unwrap(), "ab");
        assert_eq!(query(" 圣诞 ", Mode::Mix).unwrap(), "圣诞");
        assert_eq!(query(" Who is Scrooge? ", Mode::Naive).unwrap(), "Who is Scrooge?");
    }
}
