//! Python's `json.dumps` text, byte for byte: the separators `", "` and
//! `": "`, keys in insertion order, floats as Python's `repr`, and either
//! `ensure_ascii=True` (Python's default: non-ASCII as `\uXXXX`, astral
//! characters as surrogate pairs) or `ensure_ascii=False` (non-ASCII kept).
//! LightRAG's context strings and the JSON text it binds are made this way.

use std::fmt::Write as _;

use serde_json::Value;

/// `json.dumps(value, ensure_ascii=ensure_ascii)`.
#[must_use]
pub fn dumps(value: &Value, ensure_ascii: bool) -> String {
    let mut out = String::new();
    write_value(&mut out, value, ensure_ascii);
    out
}

fn write_value(out: &mut String, value: &Value, ascii: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s, ascii),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, v, ascii);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, k, ascii);
                out.push_str(": ");
                write_value(out, v, ascii);
            }
            out.push('}');
        }
    }
}

/// Python's `repr(float)` for floats (`1.0`, `1e-05`, `1e+16`), integers as
/// they are.
fn write_number(out: &mut String, n: &serde_json::Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        out.push_str(&float_repr(f));
    }
}

/// Python's `repr` of a float: the shortest round-trip digits, in exponent
/// form when the exponent is below -4 or at least 16.
#[must_use]
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    // Shortest round-trip digits and the decimal exponent, from `{:e}`.
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if !(-4..16).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        let esign = if exp < 0 { "-" } else { "+" };
        return format!("{sign}{first}{rest}e{esign}{:02}", exp.abs());
    }
    let point = exp + 1; // digits before the decimal point
    if point <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
    } else if (point as usize) >= digits.len() {
        format!("{sign}{digits}{}.0", "0".repeat(point as usize - digits.len()))
    } else {
        let (a, b) = digits.split_at(point as usize);
        format!("{sign}{a}.{b}")
    }
}

fn write_str(out: &mut String, s: &str, ascii: bool) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Runs of bytes that need no escape are copied whole; every escape but
    // ensure_ascii's starts at an ASCII byte.
    let bytes = s.as_bytes();
    let (mut run, mut i) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        if b >= 0x20 && b != b'"' && b != b'\\' && !(ascii && b > 0x7e) {
            i += 1;
            continue;
        }
        out.push_str(&s[run..i]);
        let c = s[i..].chars().next().unwrap_or_default();
        i += c.len_utf8();
        run = i;
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push_str(&s[run..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn dumps_keeps_non_ascii_when_asked() {
        let v = json!({"entity": "Tiny Tim", "type": "person", "description": "says \"God bless\"\nü\u{1}"});
        assert_eq!(
            dumps(&v, false),
            r#"{"entity": "Tiny Tim", "type": "person", "description": "says \"God bless\"\nü\u0001"}"#
        );
        assert_eq!(dumps(&json!([1, 2.5, null, true]), false), "[1, 2.5, null, true]");
    }

    #[test]
    fn dumps_escapes_non_ascii_as_utf16_by_default() {
        let v = json!({"a": [1, "é", "🙂"], "q": "\"\\\n"});
        assert_eq!(dumps(&v, true), r#"{"a": [1, "\u00e9", "\ud83d\ude42"], "q": "\"\\\n"}"#);
    }

    #[test]
    fn control_characters_are_escaped_between_plain_runs_as_python_does() {
        // json.dumps("ab\x01c\x7fé\td", ensure_ascii=...) in Python 3.11.
        let v = json!("ab\u{1}c\u{7f}é\td");
        assert_eq!(dumps(&v, true), r#""ab\u0001c\u007f\u00e9\td""#);
        assert_eq!(dumps(&v, false), "\"ab\\u0001c\u{7f}é\\td\"");
    }

    #[test]
    fn floats_print_as_pythons_repr() {
        for (f, s) in
            [(1.0, "1.0"), (0.5, "0.5"), (1e-5, "1e-05"), (1e16, "1e+16"), (123.456, "123.456"), (0.0001, "0.0001")]
        {
            assert_eq!(float_repr(f), s, "{f}");
        }
    }
}
