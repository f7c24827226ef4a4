//! NanoVectorDB files: `vdb_<namespace>.json`,
//! `{"embedding_dim": D, "data": [row, …], "matrix": base64(float32[rows × D])}`.
//!
//! Row `i` of the matrix belongs to `data[i]`; nano-vectordb L2-normalises the
//! matrix rows. Newer LightRAG also keeps each row's raw embedding in the row as
//! `vector` = base64(zlib(float16 bytes)). **The raw `vector` is preferred when
//! present** (it is the un-normalised original, and what LightRAG's
//! `get_vectors_by_ids` returns); otherwise the matrix row is used. One
//! refinement: when the raw vector is itself a unit vector equal to the matrix
//! row within float16 precision (true of every published dataset: their models
//! return unit vectors), the matrix row is taken, because it is the same vector
//! at float32 precision. That keeps export → re-migration lossless: the raw
//! field an export writes is float16, the matrix float32.
//!
//! The payload of a row is every field except nano-vectordb's own
//! (`__id__`, `__created_at__`, `__write_seq__`, `__vector__`, `__metrics__`,
//! `vector`): the namespace's meta fields (entities: `entity_name`, `source_id`,
//! `content`, `file_path`; relationships: `src_id`, `tgt_id`, `source_id`,
//! `content`, `file_path`; chunks: `full_doc_id`, `content`, `file_path`, plus
//! `tokens`/`chunk_order_index` when present).
//!
//! Malformed input (invalid JSON, `embedding_dim` missing or 0, bad base64 or
//! zlib data, a matrix whose length is not rows × dim × 4 bytes) is an error
//! naming the file and the row or field. A row whose raw `vector` has the wrong
//! length, or that has no `__id__`, is skipped and reported.
//!
//! **Unusable embeddings are skipped and reported, never stored**: a vector with
//! a NaN component (`nan_vector`), an infinite one (`infinite_vector`; pgvector
//! refuses both), or all zeros (`zero_vector`: no cosine direction, so it can
//! never be found). Both copies a row carries are checked, the matrix row and
//! the raw `vector`, and either one being unusable skips the row; the reason is
//! the raw vector's when it has one (it is the original embedding), and the
//! detail names both. The typical case is a model that returned zeros:
//! nano-vectordb's normalisation turns the zero vector into a NaN matrix row,
//! while the raw field stays all zeros.

use std::io::{Read, Write};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use lightrag_pg_core::{JsonObject, VectorNamespace};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{MigrateError, Position};
use crate::jsonio::AtomicFile;
use crate::report::{SkipReason, SkippedRecord};

/// The file name of a vector namespace: `vdb_<namespace>.json`.
pub fn file_name(ns: VectorNamespace) -> String {
    format!("vdb_{}.json", ns.as_str())
}

/// The store name used in reports: `vectors.<namespace>`.
pub fn store_name(ns: VectorNamespace) -> String {
    format!("vectors.{}", ns.as_str())
}

/// Fields nano-vectordb and LightRAG add to a row; never part of the payload.
const RESERVED: [&str; 6] = ["__id__", "__created_at__", "__write_seq__", "__vector__", "__metrics__", "vector"];

#[derive(Deserialize)]
struct RawFile {
    embedding_dim: Option<usize>,
    #[serde(default)]
    data: Vec<JsonObject>,
    #[serde(default)]
    matrix: String,
}

/// A NanoVectorDB file, checked. A well-formed file is indexed (the byte ranges
/// of its rows and of its matrix text) and each row
/// and its matrix row are read from the file when asked, so memory holds one
/// row however large the file; any other file is read whole, which names the
/// error.
#[derive(Debug)]
pub struct NanoFile {
    path: std::path::PathBuf,
    namespace: VectorNamespace,
    dimension: usize,
    body: Body,
}

#[derive(Debug)]
enum Body {
    /// Parsed whole (the matrix decoded once).
    Memory { rows: Vec<JsonObject>, matrix: Vec<u8> },
    /// Read row by row: each row's `(offset, length)` and where the matrix's
    /// base64 text starts.
    Indexed { file: std::fs::File, rows: Vec<(u64, u32)>, matrix_at: u64 },
}

/// One row, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct NanoRow {
    /// `__id__`.
    pub id: String,
    /// The vector (raw `vector` when present, else the matrix row).
    pub vector: Vec<f32>,
    /// The payload (meta fields).
    pub payload: JsonObject,
    /// `__created_at__` in epoch seconds (an int in most files, a float in some).
    pub created_at: Option<f64>,
    /// Whether the vector came from the row's own `vector` field (false: from
    /// the matrix row).
    pub from_raw: bool,
}

/// What a row turned into.
#[derive(Debug, Clone, PartialEq)]
pub enum RowOutcome {
    /// A valid record.
    Row(NanoRow),
    /// A row that is reported and not written.
    Skipped(SkippedRecord),
}

impl NanoFile {
    /// Reads and checks a vector file: valid JSON, an `embedding_dim`, a matrix
    /// of exactly `rows × embedding_dim` float32 values.
    ///
    /// # Errors
    /// [`MigrateError::Io`]; [`MigrateError::Malformed`] naming the file and the
    /// line and column (JSON) or the field (`embedding_dim`, `matrix`).
    pub fn open(path: &Path, namespace: VectorNamespace) -> Result<Self, MigrateError> {
        if let Some(layout) = crate::nano_index::layout(path)
            && let Some(dimension) = layout.dimension.filter(|d| *d > 0)
        {
            let bytes = layout.rows.len() as u128 * dimension as u128 * 4;
            if u128::from(layout.matrix.1) == bytes.div_ceil(3) * 4 {
                let file = std::fs::File::open(path).map_err(|e| MigrateError::io(path, e))?;
                let body = Body::Indexed { file, rows: layout.rows, matrix_at: layout.matrix.0 };
                return Ok(Self { path: path.to_owned(), namespace, dimension, body });
            }
        }
        let bytes = std::fs::read(path).map_err(|e| MigrateError::io(path, e))?;
        let raw: RawFile = serde_json::from_slice(&bytes).map_err(|e| MigrateError::json(path, e))?;
        drop(bytes);
        let field = |name: &str| Position::Field { name: name.to_owned() };
        let dimension = match raw.embedding_dim {
            Some(d) if d > 0 => d,
            Some(_) => return Err(MigrateError::malformed(path, field("embedding_dim"), "embedding_dim is 0")),
            None => return Err(MigrateError::malformed(path, field("embedding_dim"), "the file has no embedding_dim")),
        };
        let matrix = decode_matrix(path, raw.matrix.as_bytes())?;
        let expected = raw.data.len() as u128 * dimension as u128 * 4;
        if matrix.len() as u128 != expected {
            return Err(MigrateError::malformed(
                path,
                field("matrix"),
                format!(
                    "matrix holds {} bytes ({} float32 values) but data has {} rows × {} dimensions = {} values",
                    matrix.len(),
                    matrix.len() / 4,
                    raw.data.len(),
                    dimension,
                    raw.data.len() * dimension
                ),
            ));
        }
        Ok(Self { path: path.to_owned(), namespace, dimension, body: Body::Memory { rows: raw.data, matrix } })
    }

    /// `embedding_dim`.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Number of rows in `data`.
    pub fn len(&self) -> usize {
        match &self.body {
            Body::Memory { rows, .. } => rows.len(),
            Body::Indexed { rows, .. } => rows.len(),
        }
    }

    /// Whether `data` is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn io(&self, e: std::io::Error) -> MigrateError {
        MigrateError::io(&self.path, e)
    }

    /// Row `index` of `data`, as stored.
    fn object(&self, index: usize) -> Result<std::borrow::Cow<'_, JsonObject>, MigrateError> {
        match &self.body {
            Body::Memory { rows, .. } => Ok(std::borrow::Cow::Borrowed(&rows[index])),
            Body::Indexed { file, rows, .. } => {
                let (at, len) = rows[index];
                let bytes = crate::nano_index::read_at(file, at, len as usize).map_err(|e| self.io(e))?;
                serde_json::from_slice(&bytes).map(std::borrow::Cow::Owned).map_err(|e| {
                    MigrateError::malformed_with(
                        &self.path,
                        Position::Row { index, id: None },
                        format!("the row is not a JSON object: {e}"),
                        e,
                    )
                })
            }
        }
    }

    /// The matrix row `index` as stored (L2-normalised float32).
    ///
    /// # Errors
    /// [`MigrateError::Io`]; [`MigrateError::Malformed`] when the matrix text of
    /// the row is not valid base64.
    pub fn matrix_row(&self, index: usize) -> Result<Vec<f32>, MigrateError> {
        let width = self.dimension * 4;
        let (start, end) = (index * width, (index + 1) * width);
        let floats =
            |bytes: &[u8]| bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        match &self.body {
            Body::Memory { matrix, .. } => Ok(floats(&matrix[start..end])),
            Body::Indexed { file, matrix_at, .. } => {
                // The base64 groups (4 characters for 3 bytes) covering the row.
                let (first, last) = (start / 3, end.div_ceil(3));
                let text = crate::nano_index::read_at(file, matrix_at + 4 * first as u64, 4 * (last - first))
                    .map_err(|e| self.io(e))?;
                let bytes = decode_matrix(&self.path, &text)?;
                Ok(floats(&bytes[start - 3 * first..end - 3 * first]))
            }
        }
    }

    /// Decodes row `index` into a record, or says why it is skipped.
    ///
    /// # Errors
    /// [`MigrateError::Malformed`] naming the file and the row when its `vector`
    /// is not valid base64 or zlib data.
    pub fn row(&self, index: usize) -> Result<RowOutcome, MigrateError> {
        Ok(self.row_and_fields(index)?.0)
    }

    /// [`Self::row`] and the names of the row's fields as stored (for format
    /// detection).
    ///
    /// # Errors
    /// As [`Self::row`].
    pub fn row_and_fields(&self, index: usize) -> Result<(RowOutcome, Vec<String>), MigrateError> {
        let row = self.object(index)?;
        let fields = row.keys().cloned().collect();
        Ok((self.decode(index, row)?, fields))
    }

    /// [`Self::row_and_fields`] of each of `indexes`, in their order, decoded on
    /// the machine's cores (up to four threads; one for a handful of rows). The
    /// first error in `indexes` order is returned.
    ///
    /// # Errors
    /// As [`Self::row`].
    pub fn rows_and_fields(&self, indexes: &[usize]) -> Result<Vec<(RowOutcome, Vec<String>)>, MigrateError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
        if threads < 2 || indexes.len() < 64 {
            return indexes.iter().map(|i| self.row_and_fields(*i)).collect();
        }
        std::thread::scope(|scope| {
            let parts: Vec<_> = indexes
                .chunks(indexes.len().div_ceil(threads))
                .map(|part| {
                    scope.spawn(move || part.iter().map(|i| self.row_and_fields(*i)).collect::<Result<Vec<_>, _>>())
                })
                .collect();
            let mut out = Vec::with_capacity(indexes.len());
            for part in parts {
                out.extend(part.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?);
            }
            Ok(out)
        })
    }

    fn decode(&self, index: usize, row: std::borrow::Cow<'_, JsonObject>) -> Result<RowOutcome, MigrateError> {
        let store = store_name(self.namespace);
        let id = match row.get("__id__") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Ok(RowOutcome::Skipped(SkippedRecord {
                    store,
                    id: format!("row {index}"),
                    reason: SkipReason::InvalidRecord,
                    detail: "the row has no __id__".to_owned(),
                }));
            }
        };
        let position = || Position::Row { index, id: Some(id.clone()) };
        let raw = match row.get("vector") {
            Some(Value::String(encoded)) => Some(decode_vector(encoded).map_err(|(msg, src)| {
                MigrateError::Malformed { file: self.path.clone(), position: position(), message: msg, source: src }
            })?),
            Some(Value::Null) | None => None,
            Some(other) => {
                return Err(MigrateError::malformed(
                    &self.path,
                    position(),
                    format!("vector is {}, not a base64 string", crate::jsonio::kind(other)),
                ));
            }
        };
        if let Some(raw) = &raw
            && raw.len() != self.dimension
        {
            return Ok(RowOutcome::Skipped(SkippedRecord {
                store,
                id,
                reason: SkipReason::DimensionMismatch,
                detail: format!("the row's vector has {} dimensions; embedding_dim is {}", raw.len(), self.dimension),
            }));
        }
        let matrix = self.matrix_row(index)?;
        let copies =
            raw.as_deref().map(|r| ("the row's vector", r)).into_iter().chain([("the matrix row", &matrix[..])]);
        let problems: Vec<(SkipReason, String)> = copies
            .filter_map(|(copy, v)| unusable(v).map(|(reason, what)| (reason, format!("{copy} {what}"))))
            .collect();
        if let Some((reason, _)) = problems.first() {
            let detail = problems.iter().map(|(_, d)| d.as_str()).collect::<Vec<_>>().join("; ");
            return Ok(RowOutcome::Skipped(SkippedRecord { store, id, reason: *reason, detail }));
        }
        let (vector, from_raw) = match raw {
            Some(raw) if !same_unit_vector(&raw, &matrix) => (raw, true),
            _ => (matrix, false),
        };
        let created_at = row.get("__created_at__").and_then(Value::as_f64);
        // A row read from the file is owned: its fields move into the payload.
        let mut payload = row.into_owned();
        payload.retain(|k, _| !RESERVED.contains(&k.as_str()));
        Ok(RowOutcome::Row(NanoRow { id, vector, payload, created_at, from_raw }))
    }
}

/// Decodes base64 matrix text.
fn decode_matrix(path: &Path, text: &[u8]) -> Result<Vec<u8>, MigrateError> {
    B64.decode(text).map_err(|e| {
        MigrateError::malformed_with(
            path,
            Position::Field { name: "matrix".to_owned() },
            format!("matrix is not valid base64: {e}"),
            e,
        )
    })
}

/// Why an embedding can never be found, if it cannot: the reason and what is
/// wrong (`has 3 of 64 components NaN`, …). NaN and infinite components are
/// refused by pgvector; an all-zero vector has no cosine direction.
fn unusable(vector: &[f32]) -> Option<(SkipReason, String)> {
    let n = vector.len();
    let nan = vector.iter().filter(|x| x.is_nan()).count();
    if nan > 0 {
        return Some((SkipReason::NanVector, format!("has {nan} of {n} components NaN")));
    }
    let infinite = vector.iter().filter(|x| x.is_infinite()).count();
    if infinite > 0 {
        return Some((SkipReason::InfiniteVector, format!("has {infinite} of {n} components infinite")));
    }
    if vector.iter().all(|x| *x == 0.0) {
        return Some((SkipReason::ZeroVector, format!("is all zeros ({n} components): it has no cosine direction")));
    }
    None
}

/// Whether the raw float16 `vector` is a unit vector equal to the matrix row
/// within float16 precision. The matrix row then holds the same vector at
/// float32 precision and is the better copy; otherwise the raw vector carries
/// scale the matrix lost, and wins. Both are usable and of one length (the
/// caller checked).
fn same_unit_vector(raw: &[f32], matrix: &[f32]) -> bool {
    const TOLERANCE: f64 = 2e-3;
    let norm = raw.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
    (norm - 1.0).abs() <= TOLERANCE
        && raw.iter().zip(matrix).all(|(r, m)| (f64::from(*r) / norm - f64::from(*m)).abs() <= TOLERANCE)
}

type DecodeError = (String, Option<lightrag_pg_core::BoxError>);

/// Decodes LightRAG's per-row `vector`: base64 → zlib → little-endian float16.
///
/// # Errors
/// A message (and cause) for bad base64, bad zlib data or an odd byte count.
pub fn decode_vector(encoded: &str) -> Result<Vec<f32>, DecodeError> {
    let compressed =
        B64.decode(encoded.as_bytes()).map_err(|e| (format!("vector is not valid base64: {e}"), Some(e.into())))?;
    let mut bytes = Vec::with_capacity(compressed.len() * 2);
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .read_to_end(&mut bytes)
        .map_err(|e| (format!("vector is not valid zlib data: {e}"), Some(e.into())))?;
    if bytes.len() % 2 != 0 {
        return Err((format!("vector has {} bytes, not a whole number of float16 values", bytes.len()), None));
    }
    Ok(bytes.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect())
}

/// Encodes a vector as LightRAG does: float16 → zlib → base64.
pub fn encode_vector(vector: &[f32]) -> String {
    let mut bytes = Vec::with_capacity(vector.len() * 2);
    for x in vector {
        bytes.extend_from_slice(&half::f16::from_f32(*x).to_le_bytes());
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&bytes).expect("writing to a Vec cannot fail");
    B64.encode(z.finish().expect("writing to a Vec cannot fail"))
}

/// The L2-normalised copy nano-vectordb keeps in its matrix (zeros stay zeros).
pub fn normalise(vector: &[f32]) -> Vec<f32> {
    let norm = vector.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return vector.to_vec();
    }
    vector.iter().map(|x| (f64::from(*x) / norm) as f32).collect()
}

/// Writes a NanoVectorDB file row by row. The matrix is spooled, base64-encoded,
/// to a temporary file beside the target while rows are written, so memory stays
/// bounded by one batch whatever the number of rows.
#[derive(Debug)]
pub struct NanoWriter {
    file: Option<AtomicFile>,
    spool_path: std::path::PathBuf,
    spool: Option<
        base64::write::EncoderWriter<'static, base64::engine::GeneralPurpose, std::io::BufWriter<std::fs::File>>,
    >,
    dimension: usize,
    rows: u64,
}

impl NanoWriter {
    /// Starts `path` for vectors of `dimension` components.
    ///
    /// # Errors
    /// [`MigrateError::Io`].
    pub fn create(path: &Path, dimension: usize) -> Result<Self, MigrateError> {
        let mut file = AtomicFile::create(path)?;
        let mut spool_name = file.tmp_path().file_name().map(|n| n.to_os_string()).unwrap_or_default();
        spool_name.push(".matrix");
        let spool_path = file.tmp_path().with_file_name(spool_name);
        let spool_file = std::fs::File::create(&spool_path).map_err(|e| MigrateError::io(&spool_path, e))?;
        let spool = base64::write::EncoderWriter::new(std::io::BufWriter::new(spool_file), &B64);
        file.write_all(format!("{{\"embedding_dim\": {dimension}, \"data\": [").as_bytes())?;
        Ok(Self { file: Some(file), spool_path, spool: Some(spool), dimension, rows: 0 })
    }

    /// Appends one row: `__id__`, `__created_at__`, the payload fields, `vector`;
    /// and its normalised copy to the matrix.
    ///
    /// # Errors
    /// [`MigrateError::Io`]; [`MigrateError::Storage`]-free: a vector of the wrong
    /// length is written as it is (the caller checks dimensions).
    pub fn row(
        &mut self,
        id: &str,
        created_at: Option<i64>,
        payload: &JsonObject,
        vector: &[f32],
    ) -> Result<(), MigrateError> {
        let mut row = serde_json::Map::with_capacity(payload.len() + 3);
        row.insert("__id__".to_owned(), Value::from(id));
        row.insert("__created_at__".to_owned(), created_at.map_or(Value::Null, Value::from));
        for (k, v) in payload {
            if !RESERVED.contains(&k.as_str()) && k != "id" && k != "created_at" {
                row.insert(k.clone(), v.clone());
            }
        }
        row.insert("vector".to_owned(), Value::from(encode_vector(vector)));
        let mut buf = Vec::with_capacity(256);
        if self.rows > 0 {
            buf.extend_from_slice(b", ");
        }
        serde_json::to_writer(&mut buf, &row).expect("a JSON map serialises");
        self.file.as_mut().expect("row after finish").write_all(&buf)?;
        let spool = self.spool.as_mut().expect("row after finish");
        let mut bytes = Vec::with_capacity(self.dimension * 4);
        for x in normalise(vector) {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
        spool.write_all(&bytes).map_err(|e| MigrateError::io(&self.spool_path, e))?;
        self.rows += 1;
        Ok(())
    }

    /// Appends the matrix, closes the object and renames the file into place;
    /// returns the number of rows.
    ///
    /// # Errors
    /// [`MigrateError::Io`].
    pub fn finish(mut self) -> Result<u64, MigrateError> {
        let mut spool = self.spool.take().expect("finished twice");
        let inner = spool.finish().map_err(|e| MigrateError::io(&self.spool_path, e))?;
        let file = inner.into_inner().map_err(|e| MigrateError::io(&self.spool_path, e.into_error()))?;
        drop(file);
        let mut out = self.file.take().expect("finished twice");
        out.write_all(b"], \"matrix\": \"")?;
        let mut spooled = std::fs::File::open(&self.spool_path).map_err(|e| MigrateError::io(&self.spool_path, e))?;
        std::io::copy(&mut spooled, out.writer()).map_err(|e| MigrateError::io(&self.spool_path, e))?;
        out.write_all(b"\"}")?;
        let _ = std::fs::remove_file(&self.spool_path);
        out.commit()?;
        Ok(self.rows)
    }
}

impl Drop for NanoWriter {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.spool_path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn float16_codec_round_trips_exactly_for_float16_values() {
        let v = vec![0.5f32, -1.25, 3.0, 0.0];
        assert_eq!(decode_vector(&encode_vector(&v)).unwrap(), v);
        let w = vec![0.123_456_79_f32];
        assert!((decode_vector(&encode_vector(&w)).unwrap()[0] - w[0]).abs() < 1e-3);
    }

    fn matrix_b64(rows: &[Vec<f32>]) -> String {
        let bytes: Vec<u8> = rows.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
        B64.encode(bytes)
    }

    fn open(v: Value) -> Result<NanoFile, MigrateError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vdb_entities.json");
        std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
        NanoFile::open(&p, VectorNamespace::Entities)
    }

    #[test]
    fn a_unit_raw_vector_yields_the_more_precise_matrix_row() {
        let m = vec![0.6f32, 0.800_000_1];
        let f = open(json!({
            "embedding_dim": 2,
            "data": [{"__id__": "ent-a", "vector": encode_vector(&m)}],
            "matrix": matrix_b64(std::slice::from_ref(&m))
        }))
        .unwrap();
        let RowOutcome::Row(a) = f.row(0).unwrap() else { panic!() };
        assert_eq!(a.vector, m);
        assert!(!a.from_raw);
    }

    #[test]
    fn raw_vector_is_preferred_over_the_matrix_row() {
        let f = open(json!({
            "embedding_dim": 2,
            "data": [
                {"__id__": "ent-a", "__created_at__": 1.5, "entity_name": "A", "vector": encode_vector(&[3.0, 4.0])},
                {"__id__": "ent-b", "__created_at__": 7, "entity_name": "B"}
            ],
            "matrix": matrix_b64(&[vec![0.6, 0.8], vec![1.0, 0.0]])
        }))
        .unwrap();
        let RowOutcome::Row(a) = f.row(0).unwrap() else { panic!() };
        assert_eq!(a.vector, vec![3.0, 4.0]);
        assert!(a.from_raw);
        assert_eq!(a.created_at, Some(1.5));
        assert_eq!(Value::Object(a.payload), json!({"entity_name": "A"}));
        let RowOutcome::Row(b) = f.row(1).unwrap() else { panic!() };
        assert_eq!(b.vector, vec![1.0, 0.0]);
        assert_eq!(b.created_at, Some(7.0));
    }

    /// One row of a two-dimension file: id, matrix row, raw `vector` (if any).
    type Row = (&'static str, [f32; 2], Option<[f32; 2]>);

    /// Writes a file of `rows` and returns, per row, its skip reason (None:
    /// written) and the detail.
    fn outcomes(rows: &[Row]) -> Vec<(Option<SkipReason>, String)> {
        let data: Vec<Value> = rows
            .iter()
            .map(|(id, _, raw)| match raw {
                Some(r) => json!({"__id__": id, "vector": encode_vector(r)}),
                None => json!({"__id__": id}),
            })
            .collect();
        let matrix: Vec<Vec<f32>> = rows.iter().map(|(_, m, _)| m.to_vec()).collect();
        let f = open(json!({"embedding_dim": 2, "data": data, "matrix": matrix_b64(&matrix)})).unwrap();
        (0..rows.len())
            .map(|i| match f.row(i).unwrap() {
                RowOutcome::Row(_) => (None, String::new()),
                RowOutcome::Skipped(s) => (Some(s.reason), s.detail),
            })
            .collect()
    }

    #[test]
    fn nan_infinite_and_zero_embeddings_are_skipped_with_their_reason_whichever_copy_is_bad() {
        use SkipReason::{InfiniteVector, NanVector, ZeroVector};
        let (nan, inf) = (f32::NAN, f32::INFINITY);
        let cases: [(Row, Option<SkipReason>); 10] = [
            (("matrix-nan", [nan, nan], None), Some(NanVector)),
            (("matrix-half-nan", [0.6, nan], None), Some(NanVector)),
            (("matrix-inf", [inf, 0.0], None), Some(InfiniteVector)),
            (("matrix-neg-inf", [0.0, -inf], None), Some(InfiniteVector)),
            (("matrix-zero", [0.0, 0.0], None), Some(ZeroVector)),
            // A model that returned zeros: nano-vectordb's normalisation makes the
            // matrix row NaN and the raw field stays zero (the real-world case).
            (("nan-matrix-zero-raw", [nan, nan], Some([0.0, 0.0])), Some(ZeroVector)),
            (("good-matrix-nan-raw", [0.6, 0.8], Some([nan, 1.0])), Some(NanVector)),
            (("good-matrix-inf-raw", [0.6, 0.8], Some([inf, 1.0])), Some(InfiniteVector)),
            (("nan-matrix-good-raw", [nan, nan], Some([3.0, 4.0])), Some(NanVector)),
            (("good", [0.6, 0.8], Some([3.0, 4.0])), None),
        ];
        let rows: Vec<Row> = cases.iter().map(|(row, _)| *row).collect();
        for (((id, _, _), want), (got, detail)) in cases.iter().zip(outcomes(&rows)) {
            assert_eq!(got, *want, "{id}: {detail}");
        }
    }

    #[test]
    fn a_skipped_row_names_every_bad_copy_in_its_detail() {
        let got = outcomes(&[("ent-z", [f32::NAN, f32::NAN], Some([0.0, 0.0]))]);
        assert_eq!(
            got[0].1,
            "the row's vector is all zeros (2 components): it has no cosine direction; \
             the matrix row has 2 of 2 components NaN"
        );
    }

    #[test]
    fn wrong_dimensions_and_missing_ids_are_skipped_not_fatal() {
        let f = open(json!({
            "embedding_dim": 2,
            "data": [{"__id__": "ent-short", "vector": encode_vector(&[1.0])}, {}],
            "matrix": matrix_b64(&[vec![1.0, 0.0], vec![0.0, 1.0]])
        }))
        .unwrap();
        let RowOutcome::Skipped(s) = f.row(0).unwrap() else { panic!() };
        assert_eq!(s.reason, SkipReason::DimensionMismatch);
        let RowOutcome::Skipped(s) = f.row(1).unwrap() else { panic!() };
        assert_eq!((s.id.as_str(), s.reason), ("row 1", SkipReason::InvalidRecord));
    }

    #[test]
    fn matrix_of_the_wrong_length_is_malformed() {
        let err = open(json!({"embedding_dim": 3, "data": [{"__id__": "a"}], "matrix": matrix_b64(&[vec![1.0, 0.0]])}))
            .unwrap_err();
        assert_eq!(err.position(), Some(&Position::Field { name: "matrix".into() }));
        assert!(err.to_string().contains("1 rows × 3 dimensions"), "{err}");
    }

    #[test]
    fn bad_row_base64_names_the_row() {
        let f = open(json!({"embedding_dim": 1, "data": [{"__id__": "a"}, {"__id__": "b", "vector": "!!"}],
                            "matrix": matrix_b64(&[vec![1.0], vec![1.0]])}))
        .unwrap();
        let err = f.row(1).unwrap_err();
        assert_eq!(err.position(), Some(&Position::Row { index: 1, id: Some("b".into()) }));
    }

    #[test]
    fn writer_output_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vdb_entities.json");
        let mut w = NanoWriter::create(&p, 2).unwrap();
        let payload = json!({"entity_name": "A", "content": "A\nx"}).as_object().unwrap().clone();
        w.row("ent-a", Some(5), &payload, &[3.0, 4.0]).unwrap();
        w.row("ent-b", None, &JsonObject::new(), &[0.0, 2.0]).unwrap();
        assert_eq!(w.finish().unwrap(), 2);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "temporary files are removed");
        let f = NanoFile::open(&p, VectorNamespace::Entities).unwrap();
        assert_eq!(f.matrix_row(0).unwrap(), vec![0.6, 0.8]);
        let RowOutcome::Row(a) = f.row(0).unwrap() else { panic!() };
        assert_eq!(a.vector, vec![3.0, 4.0]);
        assert_eq!(a.created_at, Some(5.0));
        assert_eq!(a.payload["content"], "A\nx");
    }

    /// `(id, vector)` of every valid row.
    fn rows_of(f: &NanoFile) -> Vec<(String, Vec<f32>)> {
        (0..f.len())
            .filter_map(|i| match f.row(i).unwrap() {
                RowOutcome::Row(r) => Some((r.id, r.vector)),
                RowOutcome::Skipped(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_well_formed_file_is_read_row_by_row_from_disk_with_rows_across_base64_groups() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vdb_chunks.json");
        // 5 dimensions: 20 bytes a row, so rows start inside base64 groups.
        let mut w = NanoWriter::create(&p, 5).unwrap();
        let vectors: Vec<Vec<f32>> = (0..7).map(|i| (0..5).map(|j| (i * 5 + j + 1) as f32).collect()).collect();
        for (i, v) in vectors.iter().enumerate() {
            w.row(&format!("c{i}"), Some(1), &JsonObject::new(), v).unwrap();
        }
        w.finish().unwrap();
        let f = NanoFile::open(&p, VectorNamespace::Chunks).unwrap();
        assert!(matches!(f.body, Body::Indexed { .. }), "{:?}", f.body);
        for (i, v) in vectors.iter().enumerate() {
            let m = f.matrix_row(i).unwrap();
            let want = normalise(v);
            assert!(m.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-7), "row {i}: {m:?} != {want:?}");
        }
        assert_eq!(rows_of(&f).len(), 7);
    }

    #[test]
    fn a_matrix_with_escaped_slashes_is_read_whole_and_gives_the_same_rows() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.json");
        // Vectors whose float32 bytes put '/' in the base64 text.
        let vectors = [vec![-1.0e-30f32, 3.0e38], vec![1.0, 0.5]];
        let text = matrix_b64(&vectors);
        assert!(text.contains('/'), "{text}");
        let file = |matrix: &str| {
            json!({"embedding_dim": 2, "data": [{"__id__": "a"}, {"__id__": "b"}], "matrix": matrix}).to_string()
        };
        std::fs::write(&plain, file(&text)).unwrap();
        let escaped = dir.path().join("escaped.json");
        std::fs::write(&escaped, file(&text).replace('/', "\\/")).unwrap();
        let (a, b) = (
            NanoFile::open(&plain, VectorNamespace::Chunks).unwrap(),
            NanoFile::open(&escaped, VectorNamespace::Chunks).unwrap(),
        );
        assert!(matches!(b.body, Body::Memory { .. }), "{:?}", b.body);
        assert_eq!(rows_of(&a), rows_of(&b));
    }

    #[test]
    fn an_empty_writer_writes_an_empty_matrix() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vdb_chunks.json");
        NanoWriter::create(&p, 4).unwrap().finish().unwrap();
        let f = NanoFile::open(&p, VectorNamespace::Chunks).unwrap();
        assert!(f.is_empty());
        assert_eq!(f.dimension(), 4);
    }
}
