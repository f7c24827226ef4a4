//! Where the parts of a NanoVectorDB file are, found in one pass over its bytes
//! without keeping them: the byte range of each `data` row, the range of the
//! `matrix` string's base64 text and `embedding_dim`. [`crate::nano::NanoFile`]
//! then reads a row and its matrix row from the file when asked, so memory does
//! not grow with the file.
//!
//! Only a file that is valid JSON (checked first by serde_json, streaming,
//! without building values) of the expected shape is indexed: an object whose
//! `data` is an array of objects and whose `matrix` is a string without escapes
//! (base64 needs none). Anything else gives `None`, and the caller reads the
//! file whole, which reports the exact error.

use std::fs::File;
use std::io::{BufRead, BufReader};

use serde::Deserialize as _;
use std::path::Path;

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
            if !b.is_ascii_whitespace() {
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

    /// Skips one value (the file is known to be valid JSON).
    fn skip_value(&mut self) -> Option<()> {
        match self.skip_ws()? {
            b'"' => {
                self.next();
                self.string(None).map(drop)
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
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
                while !matches!(self.peek()?, b',' | b'}' | b']') && !self.peek()?.is_ascii_whitespace() {
                    self.next();
                }
                Some(())
            }
        }
    }
}

/// The layout of the NanoVectorDB file at `path`, or `None` when it is not
/// valid JSON of the expected shape (or cannot be read).
pub(crate) fn layout(path: &Path) -> Option<Layout> {
    let check = BufReader::with_capacity(1 << 20, File::open(path).ok()?);
    let mut de = serde_json::Deserializer::from_reader(check);
    serde::de::IgnoredAny::deserialize(&mut de).ok()?;
    de.end().ok()?;
    let mut b = Bytes { inner: BufReader::with_capacity(1 << 20, File::open(path).ok()?), pos: 0 };
    let mut out = Layout { dimension: None, rows: Vec::new(), matrix: (0, 0) };
    b.expect(b'{')?;
    if b.skip_ws()? == b'}' {
        return Some(out);
    }
    loop {
        b.expect(b'"')?;
        let mut key = Vec::new();
        if b.string(Some(&mut key))? {
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
                if !matches!(b.skip_ws()?, b',' | b'}') {
                    return None;
                }
                out.dimension = std::str::from_utf8(&digits).ok()?.parse().ok();
            }
            _ => b.skip_value()?,
        }
        match b.skip_ws()? {
            b',' => b.next().map(drop)?,
            b'}' => return Some(out),
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
