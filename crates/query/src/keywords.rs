//! Keywords LightRAG's keyword extraction cached: the `lightrag_llm_cache`
//! entry Python's `extract_keywords_only` reads and writes, under the same
//! key, so that a question whose keywords Python extracted needs no LLM here.
//!
//! The key is `{mode}:keywords:{args_hash}` with LightRAG's
//! `compute_args_hash(mode, question, language, "\n<llm_identity>\n",
//! identity)`: `language` is `SUMMARY_LANGUAGE` (`English`), `identity` the
//! keyword role's LLM as sorted compact JSON — `{"binding", "host", "model",
//! "role": "keyword"}`, from `LLM_BINDING`, `LLM_BINDING_HOST` and `LLM_MODEL`
//! (unset: `null`, `null` and LightRAG's default model `gpt-4o-mini`, as a
//! LightRAG library instance without role metadata has it).

use lightrag_pg_pool::Sources;
use serde_json::{Value, json};

use crate::pyfmt::dumps;

/// LightRAG's `DEFAULT_SUMMARY_LANGUAGE`.
const DEFAULT_LANGUAGE: &str = "English";
/// LightRAG's default `llm_model_name`.
const DEFAULT_LLM_MODEL: &str = "gpt-4o-mini";

/// What makes up the cache key besides the mode and the question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordCacheIdentity {
    language: String,
    identity: String,
}

impl Default for KeywordCacheIdentity {
    fn default() -> Self {
        Self::new(DEFAULT_LANGUAGE, None, None, DEFAULT_LLM_MODEL)
    }
}

impl KeywordCacheIdentity {
    /// The identity of a keyword LLM (`binding`, `host`, `model`) writing in
    /// `language`.
    pub fn new(language: &str, binding: Option<&str>, host: Option<&str>, model: &str) -> Self {
        // json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        let identity = format!(
            "{{\"binding\":{},\"host\":{},\"model\":{},\"role\":\"keyword\"}}",
            dumps(&json!(binding)),
            dumps(&json!(host)),
            dumps(&json!(model))
        );
        Self { language: language.to_owned(), identity }
    }

    /// From `SUMMARY_LANGUAGE`, `LLM_BINDING`, `LLM_BINDING_HOST`, `LLM_MODEL`.
    pub fn from_sources(sources: &Sources) -> Self {
        let language = sources.value("SUMMARY_LANGUAGE").unwrap_or_else(|| DEFAULT_LANGUAGE.to_owned());
        let model = sources.value("LLM_MODEL").unwrap_or_else(|| DEFAULT_LLM_MODEL.to_owned());
        Self::new(
            &language,
            sources.value("LLM_BINDING").as_deref(),
            sources.value("LLM_BINDING_HOST").as_deref(),
            &model,
        )
    }

    /// The `lightrag_llm_cache` id of the keywords of `question` in `mode`.
    pub fn cache_id(&self, mode: &str, question: &str) -> String {
        let args = [mode, question, &self.language, "\n<llm_identity>\n", &self.identity];
        let joined: String = args.iter().map(|a| format!("{}:{a}", a.chars().count())).collect();
        format!("{mode}:keywords:{}", lightrag_pg_core::ids::md5_hex(&joined))
    }
}

/// LightRAG's `_normalize_keyword_list`.
fn keyword_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => {
            s.split(['\n', ',', ';']).map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect()
        }
        Some(Value::Array(items)) => {
            items.iter().filter_map(Value::as_str).map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

/// LightRAG's `_parse_keywords_payload` of a cached reply: the high- and
/// low-level keywords, or `None` when the reply is not a JSON object.
pub(crate) fn parse(reply: &str) -> Option<(Vec<String>, Vec<String>)> {
    let mut text = reply.trim();
    if let Some(rest) = text.strip_prefix("```") {
        let rest = rest.trim_start_matches(|c: char| c.is_ascii_alphabetic());
        text = rest.trim_end().strip_suffix("```").unwrap_or(rest).trim();
    }
    match serde_json::from_str::<Value>(text).ok()? {
        Value::Object(m) => {
            Some((keyword_list(m.get("high_level_keywords")), keyword_list(m.get("low_level_keywords"))))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_lightrags() {
        // Python: compute_args_hash("local", "Who is Scrooge?", "English", "\n<llm_identity>\n",
        //   '{"binding":null,"host":null,"model":"gpt-4o-mini","role":"keyword"}')
        // Reference values from LightRAG 1.5.7's compute_args_hash / serialize_llm_cache_identity.
        let id = KeywordCacheIdentity::default().cache_id("local", "Who is Scrooge?");
        assert_eq!(id, "local:keywords:48fee818063f625177b977d703d206cc");
        let server = KeywordCacheIdentity::new("English", Some("openai"), Some("http://h:1/v1"), "gpt-4o");
        assert_eq!(server.cache_id("mix", "Wer ist Scröge?"), "mix:keywords:1bd90c0cf9bb19cde4d26f5b9033e707");
    }

    #[test]
    fn replies_parse_as_lightrag_parses_them() {
        let (hl, ll) = parse(
            "```json\n{\"high_level_keywords\": [\"ghosts\", \" \"], \"low_level_keywords\": \"Scrooge; Marley\"}\n```",
        )
        .unwrap();
        assert_eq!((hl, ll), (vec!["ghosts".to_owned()], vec!["Scrooge".to_owned(), "Marley".to_owned()]));
        assert_eq!(parse("not json"), None);
    }
}
