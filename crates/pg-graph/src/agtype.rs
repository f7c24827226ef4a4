//! Apache AGE's `agtype`: a driver type for binding and reading it, and a
//! tolerant parser for its text form.
//!
//! agtype's binary form (`agtype_send`/`agtype_recv`) is one version byte (`1`)
//! followed by the text form. The text form is JSON extended with
//! * type annotations after a value: `{...}::vertex`, `{...}::edge`,
//!   `[...]::path`, `1.5::numeric`;
//! * the float literals `NaN`, `Infinity` and `-Infinity`.
//!
//! Strict JSON parsers reject both, which is how LightRAG's string splitting on
//! `::` lost entities such as `"[std::vector]"` (spec §12 item 27). [`parse`]
//! handles them with a real parser: annotations are dropped (the value keeps
//! its shape), non-finite floats become `null` (JSON cannot hold them).
//!
//! Writing goes the other way: [`to_agtype_json`] renders a property map as JSON
//! text for `$n::text::ag_catalog.agtype` (or an [`Agtype`] parameter), refusing
//! what agtype cannot hold (integers beyond `i64`).

use std::error::Error as StdError;

use bytes::{BufMut, BytesMut};
use lightrag_pg_core::{Error, Properties};
use serde_json::{Map, Number, Value};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

/// The version byte of agtype's binary format.
const AGTYPE_BINARY_VERSION: u8 = 1;

/// An `agtype` value in its text form, for binding parameters of type
/// `ag_catalog.agtype` (such as the third argument of `cypher()`) and for
/// reading agtype columns without a cast.
///
/// The type's OID differs per database; the driver looks it up by name when the
/// statement is prepared, and [`ToSql::accepts`] checks the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agtype(pub String);

impl Agtype {
    /// The text form parsed into JSON (see [`parse`]).
    ///
    /// # Errors
    /// [`Error::Graph`] when the text is not agtype.
    pub fn to_json(&self) -> Result<Value, Error> {
        parse(&self.0)
    }
}

impl ToSql for Agtype {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.put_u8(AGTYPE_BINARY_VERSION);
        out.put_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        ty.name() == "agtype"
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Agtype {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        match raw.split_first() {
            Some((&AGTYPE_BINARY_VERSION, text)) => Ok(Agtype(std::str::from_utf8(text)?.to_owned())),
            Some((v, _)) => Err(format!("unsupported agtype binary version {v}").into()),
            None => Err("empty agtype value".into()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        ty.name() == "agtype"
    }
}

/// Renders a property map as the JSON text agtype's input function reads.
///
/// # Errors
/// [`Error::InvalidInput`] naming `owner` and the key when a value cannot be
/// stored in agtype: an integer outside `i64` (agtype integers are 64-bit).
pub fn to_agtype_json(owner: &str, properties: &Properties) -> Result<String, Error> {
    fn check(v: &Value) -> bool {
        match v {
            Value::Number(n) => n.is_i64() || n.is_f64(),
            Value::Array(a) => a.iter().all(check),
            Value::Object(o) => o.values().all(check),
            _ => true,
        }
    }
    if let Some((key, _)) = properties.iter().find(|(_, v)| !check(v)) {
        return Err(Error::invalid(
            owner,
            format!("property '{key}' holds an integer outside the 64-bit range that AGE stores"),
        ));
    }
    serde_json::to_string(&properties.0)
        .map_err(|e| Error::invalid(owner, format!("properties cannot be encoded: {e}")))
}

/// Parses agtype text into JSON.
///
/// # Errors
/// [`Error::Graph`] when the text is not well-formed agtype.
pub fn parse(text: &str) -> Result<Value, Error> {
    let mut p = Parser { s: text.as_bytes(), i: 0, text };
    let v = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.fail("trailing characters"));
    }
    Ok(v)
}

/// Parses agtype text that must be a map (a vertex's or an edge's properties).
///
/// # Errors
/// [`Error::Graph`] when the text is not an agtype map.
pub fn parse_map(text: &str) -> Result<Map<String, Value>, Error> {
    match parse(text)? {
        Value::Object(m) => Ok(m),
        other => Err(Error::graph(format!("expected an agtype map, found {}", short(&other.to_string())))),
    }
}

fn short(s: &str) -> String {
    if s.chars().count() > 80 { s.chars().take(77).collect::<String>() + "..." } else { s.to_owned() }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn fail(&self, what: &str) -> Error {
        Error::graph(format!("malformed agtype ({what}) at byte {} of {}", self.i, short(self.text)))
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Value, Error> {
        self.ws();
        let v = match self.peek() {
            Some(b'{') => self.object()?,
            Some(b'[') => self.array()?,
            Some(b'"') => Value::String(self.string()?),
            Some(b't') if self.eat("true") => Value::Bool(true),
            Some(b'f') if self.eat("false") => Value::Bool(false),
            Some(b'n') if self.eat("null") => Value::Null,
            Some(b'N') if self.eat("NaN") => Value::Null,
            Some(b'I') if self.eat("Infinity") => Value::Null,
            Some(b'-') if self.eat("-Infinity") => Value::Null,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return Err(self.fail("unexpected character")),
        };
        self.annotation();
        Ok(v)
    }

    /// Skips a `::name` type annotation.
    fn annotation(&mut self) {
        let save = self.i;
        self.ws();
        if self.eat("::") {
            let start = self.i;
            while self.i < self.s.len() && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_') {
                self.i += 1;
            }
            if self.i > start {
                return;
            }
        }
        self.i = save;
    }

    fn object(&mut self) -> Result<Value, Error> {
        self.i += 1;
        let mut map = Map::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.fail("expected a key"));
            }
            let key = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.fail("expected ':'"));
            }
            self.i += 1;
            let v = self.value()?;
            map.insert(key, v);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(self.fail("expected ',' or '}'")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, Error> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.fail("expected ',' or ']'")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let digits = self.s.get(self.i..self.i + 4).ok_or_else(|| self.fail("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.fail("bad \\u escape"))?;
        let n = u32::from_str_radix(text, 16).map_err(|_| self.fail("bad \\u escape"))?;
        self.i += 4;
        Ok(n)
    }

    fn string(&mut self) -> Result<String, Error> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while self.i < self.s.len() && self.s[self.i] != b'"' && self.s[self.i] != b'\\' {
                self.i += 1;
            }
            // The input is a &str and we split only at ASCII bytes: valid UTF-8.
            out.push_str(&self.text[start..self.i]);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.peek().ok_or_else(|| self.fail("unterminated escape"))?;
                    self.i += 1;
                    match c {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) && self.eat("\\u") {
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.fail("unpaired surrogate"));
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code).ok_or_else(|| self.fail("invalid code point"))?);
                        }
                        _ => return Err(self.fail("unknown escape")),
                    }
                }
                _ => return Err(self.fail("unterminated string")),
            }
        }
    }

    fn number(&mut self) -> Result<Value, Error> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while self.i < self.s.len() && matches!(self.s[self.i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
            self.i += 1;
        }
        let tok = &self.text[start..self.i];
        if let Ok(n) = tok.parse::<i64>() {
            return Ok(Value::Number(n.into()));
        }
        if let Ok(n) = tok.parse::<u64>() {
            return Ok(Value::Number(n.into()));
        }
        let f: f64 = tok.parse().map_err(|_| self.fail("bad number"))?;
        Ok(Number::from_f64(f).map_or(Value::Null, Value::Number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vertex_annotation_is_dropped_and_shape_kept() {
        let v = parse(r#"{"id": 844424930131969, "label": "base", "properties": {"entity_id": "A"}}::vertex"#).unwrap();
        assert_eq!(v["properties"]["entity_id"], "A");
    }

    #[test]
    fn double_colons_inside_strings_are_data() {
        let v = parse(r#"{"entity_id": "[std::vector]", "x": "a::numeric"}"#).unwrap();
        assert_eq!(v, json!({"entity_id": "[std::vector]", "x": "a::numeric"}));
    }

    #[test]
    fn numeric_annotation_and_non_finite_floats_parse() {
        let v =
            parse(r#"{"a": 1.5::numeric, "b": NaN, "c": -Infinity, "d": Infinity, "e": 1e+300, "f": -0.0}"#).unwrap();
        assert_eq!(v["a"], json!(1.5));
        assert!(v["b"].is_null() && v["c"].is_null() && v["d"].is_null());
        assert_eq!(v["e"], json!(1e300));
    }

    #[test]
    fn escapes_and_surrogate_pairs_decode() {
        let v = parse(r#""a\"b\\c\n\u00e9\ud83d\ude00""#).unwrap();
        assert_eq!(v, json!("a\"b\\c\né😀"));
    }

    #[test]
    fn paths_and_nested_arrays_parse() {
        let v = parse(r#"[{"id": 1, "properties": {}}::vertex, {"id": 2, "properties": {}}::edge]::path"#).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
    }

    #[test]
    fn garbage_is_an_error_not_a_guess() {
        assert!(parse("{\"a\": }").is_err());
        assert!(parse("{\"a\": 1} x").is_err());
        assert!(parse("\"open").is_err());
    }

    #[test]
    fn integers_beyond_i64_are_refused_for_agtype() {
        let p = Properties::new().with("big", u64::MAX);
        let e = to_agtype_json("node-x", &p).unwrap_err().to_string();
        assert!(e.contains("node-x") && e.contains("big"), "{e}");
        assert!(to_agtype_json("n", &Properties::new().with("ok", i64::MAX)).is_ok());
    }
}
