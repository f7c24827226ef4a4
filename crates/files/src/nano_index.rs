//! Where the parts of a NanoVectorDB file are, found in one pass over its bytes
//! without keeping them: the byte range of each `data` row, the range of the
//! `matrix` string's base64 text and `embedding_dim`. [`crate::nano::NanoFile`]
//! then reads a row and its matrix row from the file when asked, so memory does
//! not grow with the file.
//!
//! The pass checks the file's skeleton strictly as it goes: one object, keys
//! without escapes and never repeated, `data` an array of objects, `matrix` a
//! string without escapes (base64 needs none), `embedding_dim` a non-negative
//! integer, any other value valid JSON (serde_json, on its bytes), nothing but
//! JSON whitespace after the object. What it leaves to others is checked there
//! before anything is written: each row's object by serde_json when the row is
//! read (the scan reads every row), the matrix text by the base64 decoder.
//! Anything else gives `None`, and the caller reads the file whole, which
//! reports the exact error.

use std::fs::File;
use std::io::{BufRead, BufReader};

use serde::Deserialize as _;
use std::path::Path;

/// JSON's whitespace (not `is_ascii_whitespace`, which takes form feed too).
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The parts of a NanoVectorDB file.
#[derive(Debug)]
pub(crate) struct Layout {
    /// `embedding_dim`, if present and a non-negative integer.
    pub(crate) dimension: Option<usize>,
    /// `(offset, length)` of each `data` row's JSON object.
    pub(crate) rows: Vec<(u64, u32)>,
    /// `(offset, length)` of the `matrix` string's text (inside the quotes);
    /// `(0, 0)` when there is no matrix.
    pub(crate) matrix: (u64, u64),
}

/// A byte reader that counts its position.
struct Bytes {
    inner: BufReader<File>,
    pos: u64,
}

impl Bytes {
    fn peek(&mut self) -> Option<u8> {
        self.inner.fill_buf().ok()?.first().copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.inner.consume(1);
        self.pos += 1;
        Some(b)
    }

    fn skip_ws(&mut self) -> Option<u8> {
        loop {
            let b = self.peek()?;
            if !is_ws(b) {
                return Some(b);
            }
            self.next();
        }
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.skip_ws()? == want).then(|| self.next()).map(|_| ())
    }

    /// After the opening quote: to the closing one. Returns whether the string
    /// had an escape; `text` receives its bytes when given.
    fn string(&mut self, mut text: Option<&mut Vec<u8>>) -> Option<bool> {
        let mut escaped = false;
        loop {
            // Whole buffered runs up to the next quote or backslash at once.
            let buf = self.inner.fill_buf().ok()?;
            if buf.is_empty() {
                return None;
            }
            let run = buf.iter().position(|b| *b == b'"' || *b == b'\\').unwrap_or(buf.len());
            if let Some(t) = text.as_deref_mut() {
                t.extend_from_slice(&buf[..run]);
            }
            self.inner.consume(run);
            self.pos += run as u64;
            match self.peek()? {
                b'"' => {
                    self.next();
                    return Some(escaped);
                }
                b'\\' => {
                    escaped = true;
                    self.next();
                    self.next()?;
                }
                _ => {}
            }
        }
    }

    /// Whether only whitespace is left.
    fn at_end(&mut self) -> bool {
        while let Some(b) = self.peek() {
            if !is_ws(b) {
                return false;
            }
            self.next();
        }
        self.inner.fill_buf().is_ok_and(<[u8]>::is_empty)
    }

    /// Skips one value: strings to their closing quote, objects and arrays to
    /// their matching bracket (whole buffered runs at once), anything else to
    /// the next delimiter. It does not check the value; the caller does.
    fn skip_value(&mut self) -> Option<()> {
        match self.skip_ws()? {
            b'"' => {
                self.next();
                self.string(None).map(drop)
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    let buf = self.inner.fill_buf().ok()?;
                    let run =
                        buf.iter().position(|b| matches!(b, b'{' | b'[' | b'}' | b']' | b'"')).unwrap_or(buf.len());
                    self.inner.consume(run);
                    self.pos += run as u64;
                    match self.next()? {
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(());
                            }
                        }
                        b'"' => {
                            self.string(None)?;
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                while !matches!(self.peek()?, b',' | b'}' | b']') && !is_ws(self.peek()?) {
                    self.next();
                }
                Some(())
            }
        }
    }
}

/// The layout of the NanoVectorDB file at `path`, or `None` when its skeleton
/// is not of the expected shape (or it cannot be read).
pub(crate) fn layout(path: &Path) -> Option<Layout> {
    let file = File::open(path).ok()?;
    let mut b = Bytes { inner: BufReader::with_capacity(1 << 20, file.try_clone().ok()?), pos: 0 };
    let mut out = Layout { dimension: None, rows: Vec::new(), matrix: (0, 0) };
    let mut keys: Vec<Vec<u8>> = Vec::new();
    b.expect(b'{')?;
    if b.skip_ws()? == b'}' {
        b.next();
        return b.at_end().then_some(out);
    }
    loop {
        b.expect(b'"')?;
        let mut key = Vec::new();
        if b.string(Some(&mut key))? || key.iter().any(|c| *c < 0x20) || std::str::from_utf8(&key).is_err() {
            return None;
        }
        if keys.contains(&key) {
            return None;
        }
        b.expect(b':')?;
        match key.as_slice() {
            b"data" => {
                b.expect(b'[')?;
                if b.skip_ws()? == b']' {
                    b.next();
                } else {
                    loop {
                        if b.skip_ws()? != b'{' {
                            return None;
                        }
                        let start = b.pos;
                        b.skip_value()?;
                        out.rows.push((start, u32::try_from(b.pos - start).ok()?));
                        match b.skip_ws()? {
                            b',' => b.next().map(drop)?,
                            b']' => {
                                b.next();
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
            }
            b"matrix" => {
                b.expect(b'"')?;
                let start = b.pos;
                if b.string(None)? {
                    return None;
                }
                out.matrix = (start, b.pos - 1 - start);
            }
            b"embedding_dim" => {
                b.skip_ws()?;
                let mut digits = Vec::new();
                while b.peek()?.is_ascii_digit() {
                    digits.push(b.next()?);
                }
                if digits.len() > 1 && digits[0] == b'0' || !matches!(b.skip_ws()?, b',' | b'}') {
                    return None;
                }
                out.dimension = Some(std::str::from_utf8(&digits).ok()?.parse().ok()?);
            }
            _ => {
                b.skip_ws()?;
                let start = b.pos;
                b.skip_value()?;
                let text = read_at(&file, start, usize::try_from(b.pos - start).ok()?).ok()?;
                let mut de = serde_json::Deserializer::from_slice(&text);
                serde::de::IgnoredAny::deserialize(&mut de).ok()?;
                de.end().ok()?;
            }
        }
        keys.push(key);
        match b.skip_ws()? {
            b',' => b.next().map(drop)?,
            b'}' => {
                b.next();
                return b.at_end().then_some(out);
            }
            _ => return None,
        }
    }
}

/// Reads `len` bytes at `offset` of `file`.
pub(crate) fn read_at(file: &File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt as _;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, offset)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout_of(text: &str) -> Option<Layout> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vdb_chunks.json");
        std::fs::write(&path, text).unwrap();
        layout(&path)
    }

    #[test]
    fn a_well_formed_file_is_indexed() {
        let text = r#" {"embedding_dim": 2, "extra": {"a": [1, "}"]}, "data": [{"__id__": "a]"}, {"__id__": "b"}],
            "matrix": "AACAPwAAAAA="} "#;
        let l = layout_of(text).unwrap();
        assert_eq!(l.dimension, Some(2));
        let rows: Vec<&str> =
            l.rows.iter().map(|(at, len)| &text[*at as usize..(*at + u64::from(*len)) as usize]).collect();
        assert_eq!(rows, [r#"{"__id__": "a]"}"#, r#"{"__id__": "b"}"#]);
        let (at, len) = l.matrix;
        assert_eq!(&text[at as usize..(at + len) as usize], "AACAPwAAAAA=");
    }

    #[test]
    fn a_broken_skeleton_is_left_to_the_whole_read() {
        for text in [
            r#"{"embedding_dim": 2, "data": [], "matrix": ""} x"#,
            r#"{"embedding_dim": 2, "data": [], "data": [], "matrix": ""}"#,
            r#"{"embedding_dim": 2, "other": tru, "data": [], "matrix": ""}"#,
            r#"{"embedding_dim": 02, "data": [], "matrix": ""}"#,
            "{\"embedding_dim\": 2,\u{c} \"data\": [], \"matrix\": \"\"}",
            r#"{"embedding_dim": 2, "data": [{"__id__": "a"} {"__id__": "b"}], "matrix": ""}"#,
            r#"{"embedding_dim": 2, "data": [], "matrix": "AA\nAA"#,
        ] {
            assert!(layout_of(text).is_none(), "{text}");
        }
    }
}
