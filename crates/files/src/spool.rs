//! The vector rows a scan checked, decoded once and kept on disk for the write
//! phase: an anonymous temporary file (gone when dropped) of length-prefixed
//! records — the id and the payload as JSON, then the float32 vector — so the
//! write neither parses the vdb file again nor decodes its vectors again, and
//! memory holds one row at a time.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use lightrag_pg_core::{JsonObject, VectorRecord};
use serde::{Deserialize, Serialize};

use crate::error::MigrateError;

/// What the errors of the spool name as their file.
const NAME: &str = "<vector spool: a temporary file>";

fn io(e: std::io::Error) -> MigrateError {
    MigrateError::io(Path::new(NAME), e)
}

#[derive(Serialize, Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    payload: std::borrow::Cow<'a, JsonObject>,
}

/// Rows being spooled.
#[derive(Debug)]
pub(crate) struct Spool {
    file: BufWriter<File>,
    rows: usize,
}

impl Spool {
    /// An empty spool.
    pub(crate) fn new() -> Result<Self, MigrateError> {
        Ok(Self { file: BufWriter::new(tempfile::tempfile().map_err(io)?), rows: 0 })
    }

    /// Rows spooled.
    pub(crate) fn len(&self) -> usize {
        self.rows
    }

    /// Appends one row.
    pub(crate) fn push(&mut self, id: &str, payload: &JsonObject, vector: &[f32]) -> Result<(), MigrateError> {
        let head = serde_json::to_vec(&Head { id: id.into(), payload: std::borrow::Cow::Borrowed(payload) })
            .expect("a JSON map serialises");
        let mut buf = Vec::with_capacity(8 + head.len() + vector.len() * 4);
        buf.extend_from_slice(&(head.len() as u32).to_le_bytes());
        buf.extend_from_slice(&head);
        buf.extend_from_slice(&(vector.len() as u32).to_le_bytes());
        for x in vector {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        self.file.write_all(&buf).map_err(io)?;
        self.rows += 1;
        Ok(())
    }

    /// The rows, from the first.
    pub(crate) fn into_rows(self) -> Result<SpooledRows, MigrateError> {
        let mut file = self.file.into_inner().map_err(|e| io(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        Ok(SpooledRows { file: BufReader::new(file), left: self.rows })
    }
}

/// Reads a spool back, one record at a time.
#[derive(Debug)]
pub(crate) struct SpooledRows {
    file: BufReader<File>,
    left: usize,
}

impl SpooledRows {
    fn u32(&mut self) -> Result<usize, MigrateError> {
        let mut n = [0u8; 4];
        self.file.read_exact(&mut n).map_err(io)?;
        Ok(u32::from_le_bytes(n) as usize)
    }

    fn record(&mut self) -> Result<VectorRecord, MigrateError> {
        let mut head = vec![0u8; self.u32()?];
        self.file.read_exact(&mut head).map_err(io)?;
        let head: Head<'_> = serde_json::from_slice(&head).map_err(|e| io(e.into()))?;
        let mut bytes = vec![0u8; self.u32()? * 4];
        self.file.read_exact(&mut bytes).map_err(io)?;
        let vector = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        Ok(VectorRecord { id: head.id.into_owned(), vector, payload: head.payload.into_owned() })
    }
}

impl Iterator for SpooledRows {
    type Item = Result<VectorRecord, MigrateError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(self.record())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spooled_rows_read_back_in_order_and_unchanged() {
        let payload = json!({"content": "tëxt\n\"q\"", "n": 3}).as_object().unwrap().clone();
        let mut spool = Spool::new().unwrap();
        spool.push("a", &payload, &[0.5, -1.25, f32::MIN_POSITIVE]).unwrap();
        spool.push("b", &JsonObject::new(), &[]).unwrap();
        assert_eq!(spool.len(), 2);
        let rows: Vec<VectorRecord> = spool.into_rows().unwrap().map(Result::unwrap).collect();
        assert_eq!(rows[0], VectorRecord { id: "a".into(), vector: vec![0.5, -1.25, f32::MIN_POSITIVE], payload });
        assert_eq!((rows[1].id.as_str(), rows[1].vector.len(), rows.len()), ("b", 0, 2));
    }
}
