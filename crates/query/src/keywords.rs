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

/// What makes up LightRAG's LLM cache keys besides the mode and the
/// question: the language and the LLM's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordCacheIdentity {
    language: String,
    binding: Option<String>,
    host: Option<String>,
    model: String,
}

impl Default for KeywordCacheIdentity {
    fn default() -> Self {
        Self::new(DEFAULT_LANGUAGE, None, None, DEFAULT_LLM_MODEL)
    }
}

/// LightRAG's `compute_args_hash` of two or more arguments: the MD5 of each
/// argument prefixed with its length in characters.
pub fn compute_args_hash(args: &[&str]) -> String {
    let joined: String = args.iter().map(|a| format!("{}:{a}", a.chars().count())).collect();
    lightrag_pg_core::ids::md5_hex(&joined)
}

/// LightRAG's `_ANSWER_CACHE_POLICY_VERSION`, the first argument of the
/// answer cache key.
pub const ANSWER_CACHE_POLICY_VERSION: &str = "query-answer-cache-v2";

impl KeywordCacheIdentity {
    /// The identity of an LLM (`binding`, `host`, `model`) writing in
    /// `language`.
    pub fn new(language: &str, binding: Option<&str>, host: Option<&str>, model: &str) -> Self {
        Self {
            language: language.to_owned(),
            binding: binding.map(str::to_owned),
            host: host.map(str::to_owned),
            model: model.to_owned(),
        }
    }

    /// From `SUMMARY_LANGUAGE`, `LLM_BINDING`, `LLM_BINDING_HOST`, `LLM_MODEL`.
    /// With `LLM_BINDING` set, as LightRAG's server: an unset host is the
    /// binding's default host and an unset model `mistral-nemo:latest`;
    /// without, a LightRAG library instance's `null`, `null`, `gpt-4o-mini`.
    pub fn from_sources(sources: &Sources) -> Self {
        let language = sources.value("SUMMARY_LANGUAGE").unwrap_or_else(|| DEFAULT_LANGUAGE.to_owned());
        let binding = sources.value("LLM_BINDING");
        let server = binding.as_deref().map(|b| b.trim().to_ascii_lowercase());
        let default_host = match server.as_deref() {
            Some("openai") => Some(crate::llm::LlmBinding::OpenAi.default_host()),
            Some(_) => Some(crate::llm::LlmBinding::Ollama.default_host()),
            None => None,
        };
        let default_model = if server.is_some() { crate::llm::DEFAULT_LLM_MODEL } else { DEFAULT_LLM_MODEL };
        let host = sources.value("LLM_BINDING_HOST").or_else(|| default_host.map(str::to_owned));
        let model = sources.value("LLM_MODEL").unwrap_or_else(|| default_model.to_owned());
        Self::new(&language, binding.as_deref(), host.as_deref(), &model)
    }

    /// The language keywords are extracted in (`SUMMARY_LANGUAGE`).
    pub fn language(&self) -> &str {
        &self.language
    }

    /// `serialize_llm_cache_identity` of the LLM in `role`:
    /// `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
    fn identity(&self, role: &str) -> String {
        format!(
            "{{\"binding\":{},\"host\":{},\"model\":{},\"role\":{}}}",
            dumps(&json!(self.binding)),
            dumps(&json!(self.host)),
            dumps(&json!(self.model)),
            dumps(&json!(role))
        )
    }

    /// The `lightrag_llm_cache` id of the keywords of `question` in `mode`.
    pub fn cache_id(&self, mode: &str, question: &str) -> String {
        let identity = self.identity("keyword");
        let hash = compute_args_hash(&[mode, question, &self.language, "\n<llm_identity>\n", &identity]);
        format!("{mode}:keywords:{hash}")
    }

    /// The `lightrag_llm_cache` id of an answer in `mode`: `kg_query`'s and
    /// `naive_query`'s `compute_args_hash(_ANSWER_CACHE_POLICY_VERSION, mode,
    /// *fields, "\n<llm_identity>\n", identity)`, `fields` rendered as
    /// Python's `str()` renders them.
    pub fn answer_cache_id(&self, mode: &str, fields: &[String]) -> String {
        let identity = self.identity("query");
        let mut args: Vec<&str> = vec![ANSWER_CACHE_POLICY_VERSION, mode];
        args.extend(fields.iter().map(String::as_str));
        args.extend(["\n<llm_identity>\n", identity.as_str()]);
        format!("{mode}:query:{}", compute_args_hash(&args))
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
    let unthought = remove_think_tags(reply);
    let mut text = unthought.trim();
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

/// LightRAG's `remove_think_tags`: an orphaned `</think>` at the start (and
/// what precedes it) and every `<think>…</think>` block go.
fn remove_think_tags(text: &str) -> String {
    let mut text = match (text.find("</think>"), text.find("<think>")) {
        (Some(close), open) if open.is_none_or(|o| o > close) => text[close + "</think>".len()..].to_owned(),
        _ => text.to_owned(),
    };
    while let Some(open) = text.find("<think>") {
        let Some(close) = text[open..].find("</think>") else { break };
        text.replace_range(open..open + close + "</think>".len(), "");
    }
    text.trim().to_owned()
}

/// The keyword reply LightRAG caches: `json.dumps({"high_level_keywords":
/// hl, "low_level_keywords": ll})` (ASCII-escaped, Python's separators).
pub(crate) fn cached_reply(hl: &[String], ll: &[String]) -> String {
    lightrag_pg_core::pyjson::dumps(&json!({"high_level_keywords": hl, "low_level_keywords": ll}), true)
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
