//! JSON plumbing shared by the readers and writers: reading a whole-object file
//! with positioned errors, and writing `{key: value, …}` files record by record,
//! atomically (a temporary file renamed into place, as LightRAG does).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use lightrag_pg_core::JsonObject;
use serde_json::Value;

use crate::error::{MigrateError, Position};

/// Reads a file that must hold one JSON object.
///
/// # Errors
/// [`MigrateError::Io`] when the file cannot be read; [`MigrateError::Malformed`]
/// with line and column for invalid JSON or a top-level value that is not an
/// object.
pub fn read_object(path: &Path) -> Result<JsonObject, MigrateError> {
    let bytes = std::fs::read(path).map_err(|e| MigrateError::io(path, e))?;
    match serde_json::from_slice::<Value>(&bytes).map_err(|e| MigrateError::json(path, e))? {
        Value::Object(map) => Ok(map),
        other => Err(MigrateError::malformed(
            path,
            Position::LineColumn { line: 1, column: 1 },
            format!("expected a JSON object at the top level, found {}", kind(&other)),
        )),
    }
}

/// Calls `each` with every entry of the file's top-level JSON object, in file
/// order, streaming: one entry is in memory at a time (what `read_object` would
/// hold whole). A key that occurs twice is passed twice.
///
/// # Errors
/// As [`read_object`], and `each`'s first error (which ends the reading).
pub fn for_each_entry(
    path: &Path,
    mut each: impl FnMut(String, Value) -> Result<(), MigrateError>,
) -> Result<(), MigrateError> {
    use serde::de::{Deserializer as _, Error as _, MapAccess, Visitor};

    struct Entries<'a, F> {
        each: &'a mut F,
        stopped: &'a mut Option<MigrateError>,
    }
    impl<'de, F: FnMut(String, Value) -> Result<(), MigrateError>> Visitor<'de> for Entries<'_, F> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object at the top level")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                let value: Value = map.next_value()?;
                if let Err(e) = (self.each)(key, value) {
                    *self.stopped = Some(e);
                    return Err(A::Error::custom("stopped"));
                }
            }
            Ok(())
        }
    }

    let file = File::open(path).map_err(|e| MigrateError::io(path, e))?;
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let mut stopped = None;
    let read = (&mut de).deserialize_map(Entries { each: &mut each, stopped: &mut stopped }).and_then(|()| de.end());
    match (stopped, read) {
        (Some(e), _) => Err(e),
        (None, Err(e)) if e.is_io() => Err(MigrateError::io(path, e.into())),
        (None, Err(e)) => Err(MigrateError::json(path, e)),
        (None, Ok(())) => Ok(()),
    }
}

/// The JSON type name of a value, for messages.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A file being written atomically: data goes to `<name>.tmp.<pid>` and is
/// renamed over the target by [`AtomicFile::commit`]. Dropped uncommitted, the
/// temporary file is removed.
#[derive(Debug)]
pub(crate) struct AtomicFile {
    target: PathBuf,
    tmp: PathBuf,
    out: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub(crate) fn create(target: &Path) -> Result<Self, MigrateError> {
        let mut name = target.file_name().map(|n| n.to_os_string()).unwrap_or_default();
        name.push(format!(".tmp.{}", std::process::id()));
        let tmp = target.with_file_name(name);
        let file = File::create(&tmp).map_err(|e| MigrateError::io(&tmp, e))?;
        Ok(Self { target: target.to_owned(), tmp, out: Some(BufWriter::with_capacity(1 << 20, file)) })
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), MigrateError> {
        let out = self.out.as_mut().expect("written after commit");
        out.write_all(bytes).map_err(|e| MigrateError::io(&self.tmp, e))
    }

    pub(crate) fn writer(&mut self) -> &mut BufWriter<File> {
        self.out.as_mut().expect("written after commit")
    }

    pub(crate) fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    pub(crate) fn commit(mut self) -> Result<(), MigrateError> {
        let out = self.out.take().expect("committed twice");
        let file = out.into_inner().map_err(|e| MigrateError::io(&self.tmp, e.into_error()))?;
        file.sync_all().map_err(|e| MigrateError::io(&self.tmp, e))?;
        drop(file);
        std::fs::rename(&self.tmp, &self.target).map_err(|e| MigrateError::io(&self.target, e))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes a `{key: value, …}` file one entry at a time, in the layout Python's
/// `json.dump(obj, indent=2, ensure_ascii=False)` produces (LightRAG's
/// `write_json`).
#[derive(Debug)]
pub struct ObjectWriter {
    file: AtomicFile,
    count: u64,
}

impl ObjectWriter {
    /// Starts writing `path` (through a temporary file).
    ///
    /// # Errors
    /// [`MigrateError::Io`].
    pub fn create(path: &Path) -> Result<Self, MigrateError> {
        let mut file = AtomicFile::create(path)?;
        file.write_all(b"{")?;
        Ok(Self { file, count: 0 })
    }

    /// Appends one entry.
    ///
    /// # Errors
    /// [`MigrateError::Io`].
    pub fn entry(&mut self, key: &str, value: &Value) -> Result<(), MigrateError> {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(if self.count == 0 { b"\n  " } else { b",\n  " });
        serde_json::to_writer(&mut buf, key).expect("a string serialises");
        buf.extend_from_slice(b": ");
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"  ");
        let mut body = Vec::with_capacity(256);
        let mut ser = serde_json::Serializer::with_formatter(&mut body, formatter);
        serde::Serialize::serialize(value, &mut ser).expect("a JSON value serialises");
        // Indent the nested lines one level; string values never contain raw
        // newlines (they are escaped), so splitting on '\n' is safe.
        for (i, line) in body.split(|b| *b == b'\n').enumerate() {
            if i > 0 {
                buf.extend_from_slice(b"\n  ");
            }
            buf.extend_from_slice(line);
        }
        self.file.write_all(&buf)?;
        self.count += 1;
        Ok(())
    }

    /// Closes the object and renames the file into place; returns the number of
    /// entries.
    ///
    /// # Errors
    /// [`MigrateError::Io`].
    pub fn finish(mut self) -> Result<u64, MigrateError> {
        self.file.write_all(if self.count == 0 { b"}" } else { b"\n}" })?;
        self.file.commit()?;
        Ok(self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_python_style_indented_objects() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.json");
        let mut w = ObjectWriter::create(&path).unwrap();
        w.entry("a", &json!({"x": [1, 2], "s": "line\nbreak"})).unwrap();
        w.entry("b", &json!({})).unwrap();
        assert_eq!(w.finish().unwrap(), 2);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\n  \"a\": {\n    \"x\": [\n      1,\n      2\n    ],\n    \"s\": \"line\\nbreak\"\n  },\n  \"b\": {}\n}"
        );
        let back = read_object(&path).unwrap();
        assert_eq!(back["a"]["s"], "line\nbreak");
    }

    #[test]
    fn an_empty_object_is_braces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.json");
        ObjectWriter::create(&path).unwrap().finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        std::fs::write(&path, "{\n  \"a\": {\"x\": 1,,}\n}").unwrap();
        let err = read_object(&path).unwrap_err();
        assert!(matches!(err.position(), Some(Position::LineColumn { line: 2, .. })), "{err}");
        assert!(err.to_string().contains("bad.json"));
    }

    #[test]
    fn an_uncommitted_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.json");
        let w = ObjectWriter::create(&path).unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
