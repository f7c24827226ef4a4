//! What Python LightRAG binds, reproduced for compatibility tests: its
//! `json.dumps` text and asyncpg's way of sending that text as JSONB.

use std::error::Error;

use lightrag_pg_pool::tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use serde_json::Value;

/// Python's `json.dumps(v)` with its defaults: `", "` and `": "` separators and
/// `ensure_ascii=True` (core's [`pyjson`](lightrag_pg_core::pyjson)).
pub fn py_dumps(v: &Value) -> String {
    lightrag_pg_core::pyjson::dumps(v, true)
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
