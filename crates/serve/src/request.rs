//! [`QueryRequest`]: LightRAG server's `QueryRequest` body, validated as its
//! pydantic model validates it (lax mode, as FastAPI runs it), with the same
//! error items (`type`, `loc`, `msg`, `input`, `ctx`).

use lightrag_pg_query::{Mode, QueryParam, validate};
use serde_json::{Map, Value, json};

use crate::error::FieldError;

/// `MAX_QUERY_CHARS`.
pub const MAX_QUERY_CHARS: usize = 64 * 1024;
/// `MAX_MESSAGE_CHARS`.
pub const MAX_MESSAGE_CHARS: usize = 32 * 1024;
/// `MAX_REQUEST_TEXT_CHARS`.
pub const MAX_REQUEST_TEXT_CHARS: usize = 128 * 1024;
/// `MAX_MESSAGES_PER_REQUEST`.
pub const MAX_MESSAGES_PER_REQUEST: usize = 128;
/// `MAX_ROLE_CHARS`.
pub const MAX_ROLE_CHARS: usize = 64;
/// `MAX_KEYWORDS_PER_LIST`.
pub const MAX_KEYWORDS_PER_LIST: usize = 64;
/// `MAX_KEYWORD_CHARS`.
pub const MAX_KEYWORD_CHARS: usize = 512;
/// `MAX_RESPONSE_TYPE_CHARS`.
pub const MAX_RESPONSE_TYPE_CHARS: usize = 256;
/// `MAX_QUERY_TOP_K`.
pub const MAX_QUERY_TOP_K: i64 = 1000;
/// `MAX_QUERY_TOKEN_BUDGET`.
pub const MAX_QUERY_TOKEN_BUDGET: i64 = 1_000_000;

const MODES: &str = "'local', 'global', 'hybrid', 'naive', 'mix' or 'bypass'";

/// A validated `/query`, `/query/stream` or `/query/data` body.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct QueryRequest {
    /// The question, stripped.
    pub query: String,
    /// The mode.
    pub mode: Mode,
    /// `only_need_context`.
    pub only_need_context: bool,
    /// `only_need_prompt`.
    pub only_need_prompt: bool,
    /// `include_references` (true).
    pub include_references: bool,
    /// `include_chunk_content` (false).
    pub include_chunk_content: bool,
    /// `include_progress` (false; `/query/stream` only).
    pub include_progress: bool,
    /// `stream` as given (`/query/stream` streams unless it is `false`;
    /// `/query` ignores it).
    pub stream: Option<bool>,
    /// `conversation_history`, as given.
    pub conversation_history: Option<Vec<Value>>,
    /// The retrieval parameters: the server's defaults with the request's
    /// fields over them.
    pub param: QueryParam,
}

/// Collects pydantic error items.
#[derive(Debug, Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, kind: &str, loc: &[Value], msg: impl Into<String>, input: &Value, ctx: Option<Value>) {
        let mut loc_all = vec![json!("body")];
        loc_all.extend_from_slice(loc);
        let mut e = json!({ "type": kind, "loc": loc_all, "msg": msg.into(), "input": input });
        if let Some(ctx) = ctx {
            e["ctx"] = ctx;
        }
        self.0.push(e);
    }

    fn value_error(&mut self, loc: &[Value], msg: &str, input: &Value) {
        self.push("value_error", loc, format!("Value error, {msg}"), input, Some(json!({ "error": {} })));
    }
}

fn string(errors: &mut Errors, loc: &[Value], v: &Value) -> Option<String> {
    match v.as_str() {
        Some(s) => Some(s.to_owned()),
        None => {
            errors.push("string_type", loc, "Input should be a valid string", v, None);
            None
        }
    }
}

fn bounded_string(errors: &mut Errors, loc: &[Value], v: &Value, min: usize, max: usize) -> Option<String> {
    let s = string(errors, loc, v)?;
    let n = s.chars().count();
    if n < min {
        let plural = if min == 1 { "character" } else { "characters" };
        errors.push(
            "string_too_short",
            loc,
            format!("String should have at least {min} {plural}"),
            v,
            Some(json!({ "min_length": min })),
        );
        return None;
    }
    if n > max {
        errors.push(
            "string_too_long",
            loc,
            format!("String should have at most {max} characters"),
            v,
            Some(json!({ "max_length": max })),
        );
        return None;
    }
    Some(s)
}

/// pydantic's lax `int`: integers, integral floats, numeric strings; a bool
/// is an int too.
fn int(errors: &mut Errors, loc: &[Value], v: &Value, ge: i64, le: i64) -> Option<i64> {
    let n = match v {
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(i),
            None => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(f as i64),
                Some(_) => {
                    errors.push(
                        "int_from_float",
                        loc,
                        "Input should be a valid integer, got a number with a fractional part",
                        v,
                        None,
                    );
                    return None;
                }
                None => None,
            },
        },
        Value::String(s) => match s.trim().parse::<i64>() {
            Ok(i) => Some(i),
            Err(_) => {
                errors.push(
                    "int_parsing",
                    loc,
                    "Input should be a valid integer, unable to parse string as an integer",
                    v,
                    None,
                );
                return None;
            }
        },
        _ => None,
    };
    let Some(n) = n else {
        errors.push("int_type", loc, "Input should be a valid integer", v, None);
        return None;
    };
    if n < ge {
        errors.push(
            "greater_than_equal",
            loc,
            format!("Input should be greater than or equal to {ge}"),
            v,
            Some(json!({ "ge": ge })),
        );
        return None;
    }
    if n > le {
        errors.push(
            "less_than_equal",
            loc,
            format!("Input should be less than or equal to {le}"),
            v,
            Some(json!({ "le": le })),
        );
        return None;
    }
    Some(n)
}

/// pydantic's lax `bool`.
fn boolean(errors: &mut Errors, loc: &[Value], v: &Value) -> Option<bool> {
    let b = match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) if n.as_i64() == Some(0) || n.as_f64() == Some(0.0) => Some(false),
        Value::Number(n) if n.as_i64() == Some(1) || n.as_f64() == Some(1.0) => Some(true),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
            "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
            _ => None,
        },
        _ => None,
    };
    if b.is_none() {
        let (kind, msg) = match v {
            Value::String(_) | Value::Number(_) => {
                ("bool_parsing", "Input should be a valid boolean, unable to interpret input")
            }
            _ => ("bool_type", "Input should be a valid boolean"),
        };
        errors.push(kind, loc, msg, v, None);
    }
    b
}

fn keywords(errors: &mut Errors, name: &str, v: &Value) -> Option<Vec<String>> {
    let loc = [json!(name)];
    let Some(items) = v.as_array() else {
        errors.push("list_type", &loc, "Input should be a valid list", v, None);
        return None;
    };
    let before = errors.0.len();
    let out: Vec<String> =
        items.iter().enumerate().filter_map(|(i, item)| string(errors, &[json!(name), json!(i)], item)).collect();
    if errors.0.len() > before {
        return None;
    }
    if out.len() > MAX_KEYWORDS_PER_LIST {
        errors.push(
            "too_long",
            &loc,
            format!("List should have at most {MAX_KEYWORDS_PER_LIST} items after validation, not {}", out.len()),
            v,
            Some(json!({ "field_type": "List", "max_length": MAX_KEYWORDS_PER_LIST, "actual_length": out.len() })),
        );
        return None;
    }
    if out.iter().any(|k| k.chars().count() > MAX_KEYWORD_CHARS) {
        errors.value_error(&loc, &format!("each keyword must be at most {MAX_KEYWORD_CHARS} characters"), v);
        return None;
    }
    Some(out)
}

fn history(errors: &mut Errors, v: &Value) -> Option<Vec<Value>> {
    let loc = [json!("conversation_history")];
    let Some(items) = v.as_array() else {
        errors.push("list_type", &loc, "Input should be a valid list", v, None);
        return None;
    };
    let before = errors.0.len();
    for (i, item) in items.iter().enumerate() {
        if !item.is_object() {
            errors.push("dict_type", &[loc[0].clone(), json!(i)], "Input should be a valid dictionary", item, None);
        }
    }
    if errors.0.len() > before {
        return None;
    }
    let refuse = |errors: &mut Errors, msg: &str| {
        errors.value_error(&loc, msg, v);
        None
    };
    if items.len() > MAX_MESSAGES_PER_REQUEST {
        return refuse(errors, &format!("conversation_history must hold at most {MAX_MESSAGES_PER_REQUEST} messages"));
    }
    for m in items {
        match m.get("role") {
            None => return refuse(errors, "Each message must have a 'role' key."),
            Some(r) if r.as_str().is_none_or(|r| r.trim().is_empty()) => {
                return refuse(errors, "Each message 'role' must be a non-empty string.");
            }
            Some(r) if r.as_str().is_some_and(|r| r.chars().count() > MAX_ROLE_CHARS) => {
                return refuse(errors, &format!("Each message 'role' must be at most {MAX_ROLE_CHARS} characters."));
            }
            Some(_) => {}
        }
        match m.get("content") {
            None => return refuse(errors, "Each message must have a 'content' key."),
            Some(c) if !c.is_string() => return refuse(errors, "Each message 'content' must be a string."),
            Some(c) if c.as_str().is_some_and(|c| c.chars().count() > MAX_MESSAGE_CHARS) => {
                return refuse(
                    errors,
                    &format!("Each message 'content' must be at most {MAX_MESSAGE_CHARS} characters."),
                );
            }
            Some(_) => {}
        }
    }
    Some(items.clone())
}

/// Whether the field is given and not `null` (pydantic's `Optional` takes
/// `null` as "not given").
fn given<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    body.get(key).filter(|v| !v.is_null())
}

impl QueryRequest {
    /// Validates a request body over the server's default parameters.
    ///
    /// # Errors
    /// The pydantic error items, in the order pydantic reports them: field
    /// errors first; the model checks (the RAG minimum, the total text
    /// budget) only when every field is valid.
    pub fn parse(body: &Value, defaults: &QueryParam) -> Result<Self, Vec<FieldError>> {
        let mut errors = Errors::default();
        let Some(obj) = body.as_object() else {
            errors.push(
                "model_attributes_type",
                &[],
                "Input should be a valid dictionary or object to extract fields from",
                body,
                None,
            );
            return Err(errors.0);
        };
        let query =
            match obj.get("query") {
                None => {
                    errors.push("missing", &[json!("query")], "Field required", body, None);
                    None
                }
                Some(v) => bounded_string(&mut errors, &[json!("query")], v, 0, MAX_QUERY_CHARS).and_then(|q| {
                    match validate::query(&q, Mode::Bypass) {
                        Ok(q) => Some(q),
                        Err(_) => {
                            errors.value_error(&[json!("query")], "Query must not be empty.", v);
                            None
                        }
                    }
                }),
            };
        let mode = match obj.get("mode") {
            None => Some(Mode::Mix),
            Some(v) => match v.as_str().and_then(|s| Mode::ALL.into_iter().find(|m| m.as_str() == s)) {
                Some(m) => Some(m),
                None => {
                    errors.push(
                        "literal_error",
                        &[json!("mode")],
                        format!("Input should be {MODES}"),
                        v,
                        Some(json!({ "expected": MODES })),
                    );
                    None
                }
            },
        };
        // Field by field in the model's order, as pydantic reports them.
        let flag = |errors: &mut Errors, key: &str, default: bool| {
            given(obj, key).map_or(Some(default), |v| boolean(errors, &[json!(key)], v))
        };
        let count =
            |errors: &mut Errors, key: &str, le: i64| given(obj, key).map(|v| int(errors, &[json!(key)], v, 1, le));
        let only_need_context = flag(&mut errors, "only_need_context", false);
        let only_need_prompt = flag(&mut errors, "only_need_prompt", false);
        let response_type = given(obj, "response_type")
            .map(|v| bounded_string(&mut errors, &[json!("response_type")], v, 1, MAX_RESPONSE_TYPE_CHARS));
        let top_k = count(&mut errors, "top_k", MAX_QUERY_TOP_K);
        let chunk_top_k = count(&mut errors, "chunk_top_k", MAX_QUERY_TOP_K);
        let max_entity = count(&mut errors, "max_entity_tokens", MAX_QUERY_TOKEN_BUDGET);
        let max_relation = count(&mut errors, "max_relation_tokens", MAX_QUERY_TOKEN_BUDGET);
        let max_total = count(&mut errors, "max_total_tokens", MAX_QUERY_TOKEN_BUDGET);
        let hl = obj.get("hl_keywords").map(|v| keywords(&mut errors, "hl_keywords", v));
        let ll = obj.get("ll_keywords").map(|v| keywords(&mut errors, "ll_keywords", v));
        let conversation = given(obj, "conversation_history").map(|v| history(&mut errors, v));
        let user_prompt = given(obj, "user_prompt")
            .map(|v| bounded_string(&mut errors, &[json!("user_prompt")], v, 0, MAX_QUERY_CHARS));
        let disable_prefix = flag(&mut errors, "disable_user_prompt_prefix", false);
        let enable_rerank = flag(&mut errors, "enable_rerank", defaults.enable_rerank);
        let include_references = flag(&mut errors, "include_references", true);
        let include_chunk_content = flag(&mut errors, "include_chunk_content", false);
        let include_progress = flag(&mut errors, "include_progress", false);
        let stream = given(obj, "stream").map(|v| boolean(&mut errors, &[json!("stream")], v));
        if !errors.0.is_empty() {
            return Err(errors.0);
        }
        let (Some(query), Some(mode)) = (query, mode) else { return Err(errors.0) };
        // The model validators: the RAG minimum, then the text budget.
        if mode != Mode::Bypass
            && let Err(e) = validate::query(&query, mode)
        {
            let reason = match e {
                lightrag_pg_query::QueryError::InvalidInput { reason, .. } => reason,
                e => e.to_string(),
            };
            errors.value_error(&[], &reason, body);
            return Err(errors.0);
        }
        let user_prompt = user_prompt.flatten();
        let conversation = conversation.flatten();
        let mut total = query.chars().count() + user_prompt.as_deref().map_or(0, |p| p.chars().count());
        if let Some(h) = conversation.as_ref().filter(|h| !h.is_empty()) {
            total += lightrag_pg_query::pyfmt::dumps(&Value::Array(h.clone())).chars().count();
        }
        if total > MAX_REQUEST_TEXT_CHARS {
            errors.value_error(
                &[],
                &format!("total request text is {total} characters, over the {MAX_REQUEST_TEXT_CHARS} character limit"),
                body,
            );
            return Err(errors.0);
        }
        let usize_of = |v: Option<Option<i64>>, d: usize| v.flatten().map_or(d, |n| usize::try_from(n).unwrap_or(d));
        let mut param = defaults
            .clone()
            .with_mode(mode)
            .with_keywords(hl.flatten().unwrap_or_default(), ll.flatten().unwrap_or_default());
        param.top_k = usize_of(top_k, param.top_k);
        param.chunk_top_k = usize_of(chunk_top_k, param.chunk_top_k);
        param.max_entity_tokens = max_entity.flatten().unwrap_or(param.max_entity_tokens);
        param.max_relation_tokens = max_relation.flatten().unwrap_or(param.max_relation_tokens);
        param.max_total_tokens = max_total.flatten().unwrap_or(param.max_total_tokens);
        if let Some(Some(rt)) = response_type {
            param.response_type = rt;
        }
        param.user_prompt = user_prompt;
        param.enable_rerank = enable_rerank.unwrap_or(param.enable_rerank);
        param.disable_user_prompt_prefix = disable_prefix.unwrap_or(false);
        Ok(Self {
            query,
            mode,
            only_need_context: only_need_context.unwrap_or(false),
            only_need_prompt: only_need_prompt.unwrap_or(false),
            include_references: include_references.unwrap_or(true),
            include_chunk_content: include_chunk_content.unwrap_or(false),
            include_progress: include_progress.unwrap_or(false),
            stream: stream.flatten(),
            conversation_history: conversation,
            param,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(body: Value) -> Vec<Value> {
        QueryRequest::parse(&body, &QueryParam::default()).unwrap_err()
    }

    #[test]
    fn a_missing_query_is_pydantics_missing_field() {
        assert_eq!(
            errors(json!({})),
            [json!({"type": "missing", "loc": ["body", "query"], "msg": "Field required", "input": {}})]
        );
    }

    #[test]
    fn an_unknown_mode_is_a_literal_error() {
        let e = errors(json!({"query": "abc", "mode": "x"}));
        assert_eq!(e[0]["type"], "literal_error");
        assert_eq!(e[0]["msg"], "Input should be 'local', 'global', 'hybrid', 'naive', 'mix' or 'bypass'");
    }

    #[test]
    fn lax_numbers_and_booleans_are_accepted_as_pydantic_accepts_them() {
        let r = QueryRequest::parse(
            &json!({"query": " abc ", "top_k": "5", "chunk_top_k": 3.0, "only_need_context": "yes"}),
            &QueryParam::default(),
        )
        .unwrap();
        assert_eq!((r.query.as_str(), r.param.top_k, r.param.chunk_top_k, r.only_need_context), ("abc", 5, 3, true));
    }

    #[test]
    fn wrong_types_are_reported_per_field() {
        let e = errors(json!({"query": 5, "top_k": 5.5, "hl_keywords": [1], "only_need_context": "maybe"}));
        let kinds: Vec<&str> = e.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["string_type", "bool_parsing", "int_from_float", "string_type"]);
        assert_eq!(e[3]["loc"], json!(["body", "hl_keywords", 0]));
    }

    #[test]
    fn a_short_question_fails_the_model_check_with_the_body_as_input() {
        let e = errors(json!({"query": "ab"}));
        assert_eq!(e[0]["loc"], json!(["body"]));
        assert!(e[0]["msg"].as_str().unwrap().starts_with("Value error, RAG query is too short"), "{e:?}");
        assert!(QueryRequest::parse(&json!({"query": "ab", "mode": "bypass"}), &QueryParam::default()).is_ok());
    }

    #[test]
    fn an_oversized_question_is_string_too_long() {
        let e = errors(json!({"query": "x".repeat(MAX_QUERY_CHARS + 1)}));
        assert_eq!(e[0]["type"], "string_too_long");
        assert_eq!(e[0]["ctx"], json!({"max_length": MAX_QUERY_CHARS}));
    }
}
