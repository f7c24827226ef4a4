//! [`Retriever::answer`]: the LLM half of LightRAG's `aquery_llm` —
//! `kg_query` and `naive_query` after the context is built, and `bypass` —
//! with the system prompt (`PROMPTS["rag_response"]` /
//! `PROMPTS["naive_rag_response"]`), `only_need_prompt`, the conversation
//! history, and the answer cache in `lightrag_llm_cache` under Python's key
//! (`{mode}:query:{hash}`), so that an answer Python cached is a hit here and
//! the reverse.

use serde_json::{Value, json};

use crate::error::QueryError;
use crate::keywords::ANSWER_CACHE_POLICY_VERSION;
use crate::llm::{ChatRequest, ChatStream};
use crate::param::{Mode, QueryParam};
use crate::prompts;
use crate::pyfmt::format;
use crate::retrieve::{GENERATING_RESPONSE, Retrieval, Retriever, cache_queryparam, response_type};

/// What the caller asks of [`Retriever::answer`] besides the question and
/// the retrieval parameters.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct AnswerOptions {
    /// `conversation_history`: handed to the LLM between the system prompt
    /// and the question; a request with history neither reads nor writes the
    /// answer cache (LightRAG's `_answer_cache_kv`).
    pub history: Vec<Value>,
    /// `only_need_prompt`: the prompt the LLM would get, not its answer.
    pub only_need_prompt: bool,
    /// `stream`: the LLM's answer as it is written (a cached answer still
    /// comes whole, as in LightRAG).
    pub stream: bool,
}

impl AnswerOptions {
    /// The options of a request: its `conversation_history`,
    /// `only_need_prompt` and `stream`.
    pub fn new(history: Vec<Value>, only_need_prompt: bool, stream: bool) -> Self {
        Self { history, only_need_prompt, stream }
    }
}

/// The text of an answer.
#[non_exhaustive]
pub enum AnswerText {
    /// A whole text: the LLM's (or its cached) answer, the prompt, or
    /// LightRAG's `fail_response`.
    Whole {
        /// The text.
        text: String,
        /// Whether an LLM wrote it (LightRAG's `llm_generated`).
        llm_generated: bool,
    },
    /// The LLM's answer as it is written.
    Stream(ChatStream),
}

impl std::fmt::Debug for AnswerText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Whole { text, llm_generated } => {
                f.debug_struct("Whole").field("text", text).field("llm_generated", llm_generated).finish()
            }
            Self::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// What [`Retriever::answer`] returns: the retrieval (its `data` is
/// `aquery_llm`'s dictionary without `llm_response`) and the answer.
#[derive(Debug)]
#[non_exhaustive]
pub struct Answer {
    /// The retrieval the answer is built on (for `bypass`, empty).
    pub retrieval: Retrieval,
    /// The answer.
    pub text: AnswerText,
}

impl Answer {
    fn whole(retrieval: Retrieval, text: impl Into<String>, llm_generated: bool) -> Self {
        Self { retrieval, text: AnswerText::Whole { text: text.into(), llm_generated } }
    }
}

/// Python's `str(bool)`.
fn py_bool(b: bool) -> String {
    if b { "True" } else { "False" }.to_owned()
}

/// `kg_query`'s clean-up of a whole answer longer than the system prompt
/// (`naive_query` first drops the prompt's length of characters).
fn clean(response: String, sys_prompt: &str, query: &str, naive: bool) -> String {
    let sys_len = sys_prompt.chars().count();
    if response.chars().count() <= sys_len {
        return response;
    }
    let text = if naive { response.chars().skip(sys_len).collect() } else { response };
    let mut text = text.replace(sys_prompt, "").replace("user", "").replace("model", "");
    if !query.is_empty() {
        text = text.replace(query, "");
    }
    text.replace("<system>", "").replace("</system>", "").trim().to_owned()
}

impl Retriever {
    /// LightRAG's `aquery_llm(question, param)`: retrieval, then the LLM's
    /// answer under the mode's system prompt — or the prompt alone
    /// (`only_need_prompt`), or LightRAG's `fail_response` when nothing was
    /// found. A whole answer is cached in `lightrag_llm_cache` (`cache_type`
    /// `query`) when `ENABLE_LLM_CACHE` is on, no history is given and the
    /// reply was not cut at the token limit, and
    /// a cached one is used without asking the LLM.
    ///
    /// # Errors
    /// As [`Retriever::retrieve`]; [`QueryError::NoLlm`] when the answer needs
    /// an LLM and none is configured; the `Llm*` errors; storage errors of the
    /// cache.
    #[tracing::instrument(level = "debug", skip(self, param, options), fields(mode = %param.mode))]
    pub async fn answer(
        &self,
        question: &str,
        param: &QueryParam,
        options: &AnswerOptions,
    ) -> Result<Answer, QueryError> {
        let mut found = self.retrieve(question, param).await?;
        let query = question.trim();
        if param.mode == Mode::Bypass {
            let request = ChatRequest::new(query).with_history(options.history.clone());
            return self.ask(found, request, options.stream, None).await;
        }
        // kg_query / naive_query returned early: nothing was found.
        let nothing = found.context.is_empty() || found.data.as_object().is_some_and(|o| o.is_empty());
        if nothing {
            return Ok(Answer::whole(found, prompts::FAIL_RESPONSE, false));
        }
        let naive = param.mode == Mode::Naive;
        let user_text = self.effective_user_prompt(param);
        let slot = if user_text.is_empty() { "n/a".to_owned() } else { format!("\n\n{user_text}") };
        let sys_prompt = if naive {
            format(
                prompts::NAIVE_RAG_RESPONSE,
                &[("response_type", &param.response_type), ("user_prompt", &slot), ("content_data", &found.context)],
            )
        } else {
            format(
                prompts::RAG_RESPONSE,
                &[("response_type", response_type(param)), ("user_prompt", &slot), ("context_data", &found.context)],
            )
        };
        if options.only_need_prompt {
            return Ok(Answer::whole(found, [sys_prompt.as_str(), "---User Query---", query].join("\n\n"), false));
        }
        let keywords = |level: &str| {
            found.data["metadata"]["keywords"][level]
                .as_array()
                .map(|l| l.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        };
        let (hl, ll) = (keywords("high_level"), keywords("low_level"));
        let mut fields = vec![
            query.to_owned(),
            param.response_type.clone(),
            param.top_k.to_string(),
            param.chunk_top_k.to_string(),
            param.max_entity_tokens.to_string(),
            param.max_relation_tokens.to_string(),
            param.max_total_tokens.to_string(),
        ];
        if !naive {
            fields.extend([hl.clone(), ll.clone()]);
        }
        let headings = self.settings.enable_content_headings;
        fields.extend([user_text, py_bool(param.enable_rerank), py_bool(headings)]);
        let mode = param.mode.as_str();
        let cache = (self.llm_cache && options.history.is_empty()).then(|| {
            let mut queryparam = cache_queryparam(param);
            queryparam["answer_cache_version"] = json!(ANSWER_CACHE_POLICY_VERSION);
            if !naive {
                queryparam["hl_keywords"] = json!(hl);
                queryparam["ll_keywords"] = json!(ll);
            }
            queryparam["enable_content_headings"] = json!(headings);
            (self.keyword_cache.answer_cache_id(mode, &fields), queryparam)
        });
        if let Some((id, _)) = &cache
            && let Some(cached) = self.store.llm_cache(id).await?
        {
            tracing::info!(%id, "LLM cache: query cache hit");
            return Ok(Answer::whole(found, clean(cached, &sys_prompt, query, naive), true));
        }
        if !naive {
            // kg_query reports it before asking (naive_query does not).
            found.progress.push(GENERATING_RESPONSE);
        }
        let request = ChatRequest::new(query).with_system(sys_prompt.clone()).with_history(options.history.clone());
        let answer = self.ask(found, request, options.stream, cache.as_ref().map(|(id, qp)| (id.as_str(), qp))).await?;
        Ok(match answer.text {
            AnswerText::Whole { text, llm_generated } => Answer {
                retrieval: answer.retrieval,
                text: AnswerText::Whole { text: clean(text, &sys_prompt, query, naive), llm_generated },
            },
            stream => Answer { retrieval: answer.retrieval, text: stream },
        })
    }

    /// Asks the LLM: a stream, or a whole answer (cached under `cache` when
    /// given).
    async fn ask(
        &self,
        found: Retrieval,
        request: ChatRequest,
        stream: bool,
        cache: Option<(&str, &Value)>,
    ) -> Result<Answer, QueryError> {
        let Some(llm) = &self.llm else {
            return Err(QueryError::NoLlm { what: "an answer".into() });
        };
        let request = request.with_stream(stream);
        if stream {
            let pieces = llm.stream(&request).await?;
            return Ok(Answer { retrieval: found, text: AnswerText::Stream(pieces) });
        }
        let reply = llm.complete(&request).await?;
        if let Some((id, queryparam)) = cache.filter(|_| !reply.truncated) {
            self.save_to_cache(id, &reply.text, &request.prompt, "query", queryparam.clone()).await?;
        }
        Ok(Answer::whole(found, reply.text, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_answers_are_kept_and_long_ones_cleaned_as_lightrag_does() {
        assert_eq!(
            clean("Scrooge is a miser.".into(), "a much longer system prompt", "q", false),
            "Scrooge is a miser."
        );
        let echoed = "SYS user Answer for Q model".to_owned();
        assert_eq!(clean(echoed.clone(), "SYS", "Q", false), "Answer for");
        assert_eq!(clean("SYSuser tail Q".into(), "SYS", "Q", true), "tail");
    }
}
