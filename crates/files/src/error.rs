//! The crate's error type. Every failure names the file it concerns and, for
//! malformed input, the position inside it (line and column, row index, or
//! record id), so an operator can open the file at the right place.

use std::fmt;
use std::path::{Path, PathBuf};

use lightrag_pg_core::BoxError;
use serde::Serialize;

/// Where in a file a problem is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Position {
    /// A 1-based line and column (JSON and XML syntax errors, GraphML values).
    LineColumn {
        /// 1-based line.
        line: u64,
        /// 1-based column (in bytes).
        column: u64,
    },
    /// A row of a NanoVectorDB `data` array (0-based), with its `__id__` when known.
    Row {
        /// 0-based index into `data`.
        index: usize,
        /// The row's `__id__`, when it has one.
        id: Option<String>,
    },
    /// A record of a JSON object file, by key.
    Record {
        /// The record's key.
        id: String,
    },
    /// A top-level field of the file (`matrix`, `embedding_dim`, …).
    Field {
        /// The field name.
        name: String,
    },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LineColumn { line, column } => write!(f, "line {line}, column {column}"),
            Self::Row { index, id: Some(id) } => write!(f, "data row {index} (__id__ {id:?})"),
            Self::Row { index, id: None } => write!(f, "data row {index}"),
            Self::Record { id } => write!(f, "record {id:?}"),
            Self::Field { name } => write!(f, "field '{name}'"),
        }
    }
}

/// Everything [`crate::migrate()`] and [`crate::export()`] can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// A file is not what its format requires (bad JSON, bad base64, a matrix of
    /// the wrong length, bad XML, …). Nothing was written for any store.
    #[error("{}: {position}: {message}", file.display())]
    Malformed {
        /// The offending file.
        file: PathBuf,
        /// Where in it.
        position: Position,
        /// What is wrong.
        message: String,
        /// The parser's error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The directory cannot be used (missing, not a LightRAG working directory,
    /// or an export target that already holds LightRAG files).
    #[error("{}: {reason}", dir.display())]
    InvalidDirectory {
        /// The directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
    /// A storage call failed; `store` names the store (`text_chunks`,
    /// `vectors.entities`, `graph.edges`, …).
    #[error("{store}: {source}")]
    Storage {
        /// The store being written or read.
        store: String,
        /// The storage error.
        #[source]
        source: lightrag_pg_core::Error,
    },
    /// The directory has a file for a store the target has no storage for.
    #[error("{store}: the source has this store but the target provides no storage for it")]
    MissingTarget {
        /// The store.
        store: String,
    },
    /// The storage opened for a vector file has another dimension than the file.
    #[error(
        "{store}: the file's vectors have {file_dimension} dimensions but the target storage has {target_dimension}"
    )]
    DimensionMismatch {
        /// The vector store.
        store: String,
        /// `embedding_dim` of the file.
        file_dimension: usize,
        /// The storage's dimension.
        target_dimension: usize,
    },
}

impl MigrateError {
    pub(crate) fn malformed(file: &Path, position: Position, message: impl Into<String>) -> Self {
        Self::Malformed { file: file.to_owned(), position, message: message.into(), source: None }
    }

    pub(crate) fn malformed_with(
        file: &Path,
        position: Position,
        message: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::Malformed { file: file.to_owned(), position, message: message.into(), source: Some(source.into()) }
    }

    pub(crate) fn json(file: &Path, err: serde_json::Error) -> Self {
        let position = Position::LineColumn { line: err.line() as u64, column: err.column() as u64 };
        let message = format!("invalid JSON: {err}");
        Self::malformed_with(file, position, message, err)
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_owned(), source }
    }

    pub(crate) fn storage(store: impl Into<String>, source: lightrag_pg_core::Error) -> Self {
        Self::Storage { store: store.into(), source }
    }

    /// The file the error is about, when it concerns one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Self::Malformed { file, .. } => Some(file),
            Self::Io { path, .. } => Some(path),
            Self::InvalidDirectory { dir, .. } => Some(dir),
            _ => None,
        }
    }

    /// The position inside the file, for [`MigrateError::Malformed`].
    pub fn position(&self) -> Option<&Position> {
        match self {
            Self::Malformed { position, .. } => Some(position),
            _ => None,
        }
    }
}

impl From<MigrateError> for lightrag_pg_core::Error {
    /// Storage errors come back unchanged; the others become
    /// [`lightrag_pg_core::Error::InvalidInput`] naming the file (and position).
    fn from(e: MigrateError) -> Self {
        match e {
            MigrateError::Storage { source, .. } => source,
            MigrateError::Malformed { file, position, message, .. } => {
                Self::invalid(format!("{}: {position}", file.display()), message)
            }
            MigrateError::DimensionMismatch { store, file_dimension, target_dimension } => {
                Self::DimensionMismatch { id: Some(store), expected: target_dimension, got: file_dimension }
            }
            other => {
                let input = other.file().map(|p| p.display().to_string()).unwrap_or_default();
                Self::invalid(input, other.to_string())
            }
        }
    }
}

/// 1-based line and column of a byte offset in a file (for parsers that report
/// byte offsets). Falls back to line 0 when the file cannot be re-read.
pub(crate) fn line_column_of(path: &Path, offset: u64) -> Position {
    use std::io::Read;
    let mut line = 1u64;
    let mut column = 1u64;
    if let Ok(f) = std::fs::File::open(path) {
        let mut reader = std::io::BufReader::new(f).take(offset);
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            for &b in &buf[..n] {
                if b == b'\n' {
                    line += 1;
                    column = 1;
                } else {
                    column += 1;
                }
            }
        }
    } else {
        line = 0;
        column = offset;
    }
    Position::LineColumn { line, column }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_names_file_and_position() {
        let e = MigrateError::malformed(
            Path::new("/d/vdb_entities.json"),
            Position::Row { index: 3, id: Some("ent-1".into()) },
            "bad base64",
        );
        assert_eq!(e.to_string(), "/d/vdb_entities.json: data row 3 (__id__ \"ent-1\"): bad base64");
    }

    #[test]
    fn conversion_to_core_error_keeps_the_file_name() {
        let e = MigrateError::malformed(Path::new("x.json"), Position::LineColumn { line: 2, column: 5 }, "oops");
        let core: lightrag_pg_core::Error = e.into();
        assert!(core.to_string().contains("x.json: line 2, column 5"), "{core}");
    }
}
