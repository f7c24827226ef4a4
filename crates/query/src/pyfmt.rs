//! Python's text renderings that the context string is made of, byte for
//! byte: `json.dumps(obj, ensure_ascii=False)` (core's [`pyjson`]) and
//! `str.format` with named fields.

use lightrag_pg_core::pyjson;
use serde_json::Value;

/// `json.dumps(value, ensure_ascii=False)`: keys in insertion order.
pub fn dumps(value: &Value) -> String {
    pyjson::dumps(value, false)
}

/// Python's `template.format(**fields)` for templates with plain named fields
/// (`{name}`, and `{{` / `}}` for literal braces). A field not given is left
/// as written.
pub fn format(template: &str, fields: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{") {
            out.push('{');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("}}") {
            out.push('}');
            rest = after;
        } else if tail.starts_with('{') {
            match tail.find('}') {
                Some(end) => {
                    let name = &tail[1..end];
                    match fields.iter().find(|(k, _)| *k == name) {
                        Some((_, v)) => out.push_str(v),
                        None => out.push_str(&tail[..=end]),
                    }
                    rest = &tail[end + 1..];
                }
                None => {
                    out.push_str(tail);
                    rest = "";
                }
            }
        } else {
            out.push('}');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_fills_named_fields_and_unescapes_braces() {
        assert_eq!(format("a {x} {{b}} {y}", &[("x", "1"), ("y", "{z}")]), "a 1 {b} {z}");
    }
}
