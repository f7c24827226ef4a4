//! What Python LightRAG binds, reproduced for compatibility tests: its
//! `json.dumps` text and asyncpg's way of sending that text as JSONB.

use std::error::Error;

use lightrag_pg_pool::tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use serde_json::Value;

/// Python's `json.dumps(v)` with its defaults: `", "` and `": "` separators and
/// `ensure_ascii=True` (non-ASCII as `\uXXXX`, astral characters as surrogate
/// pairs).
pub fn py_dumps(v: &Value) -> String {
    fn string(s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
    fn value(v: &Value, out: &mut String) {
        match v {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(&n.to_string()),
            Value::String(s) => string(s, out),
            Value::Array(a) => {
                out.push('[');
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    value(x, out);
                }
                out.push(']');
            }
            Value::Object(o) => {
                out.push('{');
                for (i, (k, x)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    string(k, out);
                    out.push_str(": ");
                    value(x, out);
                }
                out.push('}');
            }
        }
    }
    let mut out = String::new();
    value(v, &mut out);
    out
}

/// JSON text bound to a JSONB parameter exactly as asyncpg sends a Python `str`:
/// the JSONB binary format is a version byte (1) followed by the text.
#[derive(Debug)]
pub struct JsonText(pub Option<String>);

impl JsonText {
    /// `json.dumps(v)`.
    pub fn dumps(v: &Value) -> Self {
        Self(Some(py_dumps(v)))
    }
}

impl ToSql for JsonText {
    fn to_sql(&self, _ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match &self.0 {
            None => Ok(IsNull::Yes),
            Some(text) => {
                out.extend_from_slice(&[1]);
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSONB
    }

    to_sql_checked!();
}
