//! NetworkX GraphML: `graph_chunk_entity_relation.graphml`, the undirected
//! `networkx.Graph` of LightRAG's `NetworkXStorage`.
//!
//! The reader streams the XML (quick-xml) and yields nodes and edges one at a
//! time, so memory does not grow with the file. `<key>` declarations give each
//! attribute its name and type; values are converted like NetworkX converts them:
//! `long`/`int` → JSON integer, `double`/`float` → JSON number, `boolean` →
//! JSON bool, `string` → JSON string (an empty `<data/>` is `""`). A node's id
//! becomes its `entity_id`. Edge direction in the file is not significant.
//! Malformed XML or a value that does not parse as its declared type is an error
//! naming the file and the line and column.
//!
//! The writer produces what `networkx.write_graphml` writes for LightRAG's graph:
//! typed `<key>`s (`long` for integers, `double` for other numbers, `boolean`,
//! `string`), `edgedefault="undirected"`, nodes then edges. It is the one
//! GraphML writer ([`write()`] to a file, [`write_to`] to any writer; the CLI's
//! `graph --format graphml` uses it): attribute values escape `"`, tab, line
//! feed and every other control character as character references, so a
//! parser reads back exactly what was written.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use lightrag_pg_core::{EdgeRecord, Properties};
use quick_xml::events::{BytesRef, BytesStart, Event};
use serde_json::Value;

use crate::error::{MigrateError, Position, line_column_of};
use crate::jsonio::AtomicFile;

/// The file name LightRAG uses: `graph_chunk_entity_relation.graphml`.
pub const FILE_NAME: &str = "graph_chunk_entity_relation.graphml";

/// A declared attribute type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    /// `boolean`.
    Boolean,
    /// `int` or `long`.
    Integer,
    /// `float` or `double`.
    Float,
    /// `string` (and anything unknown).
    String,
}

/// One `<key>` declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyDef {
    /// `attr.name`.
    pub name: String,
    /// `for` (`node`, `edge`, `graph`, `all`).
    pub domain: String,
    /// `attr.type`.
    pub ty: AttrType,
}

/// A node or an edge.
#[derive(Debug, Clone, PartialEq)]
pub enum GraphItem {
    /// A node: its id and properties (with `entity_id`).
    Node {
        /// The node id (the entity name).
        id: String,
        /// Its attributes.
        properties: Properties,
    },
    /// An edge.
    Edge {
        /// `source`.
        source: String,
        /// `target`.
        target: String,
        /// Its attributes.
        properties: Properties,
    },
}

enum Open {
    None,
    Node { id: String, props: Properties },
    Edge { source: String, target: String, props: Properties },
}

/// A streaming GraphML reader; an iterator of [`GraphItem`]s.
pub struct GraphmlReader {
    path: PathBuf,
    xml: quick_xml::Reader<BufReader<File>>,
    buf: Vec<u8>,
    keys: HashMap<String, KeyDef>,
    open: Open,
    data: Option<(String, String, u64)>,
    in_key: bool,
    saw_root: bool,
    done: bool,
    directed: bool,
}

impl std::fmt::Debug for GraphmlReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphmlReader").field("path", &self.path).field("keys", &self.keys.len()).finish()
    }
}

impl GraphmlReader {
    /// Opens a GraphML file.
    ///
    /// # Errors
    /// [`MigrateError::Io`] when it cannot be opened.
    pub fn open(path: &Path) -> Result<Self, MigrateError> {
        let file = File::open(path).map_err(|e| MigrateError::io(path, e))?;
        let mut xml = quick_xml::Reader::from_reader(BufReader::with_capacity(1 << 16, file));
        xml.config_mut().check_end_names = true;
        Ok(Self {
            path: path.to_owned(),
            xml,
            buf: Vec::with_capacity(4096),
            keys: HashMap::new(),
            open: Open::None,
            data: None,
            in_key: false,
            saw_root: false,
            done: false,
            directed: false,
        })
    }

    /// The `<key>` declarations seen so far, by attribute name and domain.
    pub fn key_names(&self, domain: &str) -> Vec<String> {
        let mut v: Vec<String> =
            self.keys.values().filter(|k| k.domain == domain || k.domain == "all").map(|k| k.name.clone()).collect();
        v.sort();
        v
    }

    /// Whether the `<graph>` said `edgedefault="directed"` (LightRAG's never does;
    /// edges are read as undirected anyway).
    pub fn declared_directed(&self) -> bool {
        self.directed
    }

    fn here(&self) -> Position {
        line_column_of(&self.path, self.xml.buffer_position())
    }

    fn err(&self, message: impl Into<String>) -> MigrateError {
        MigrateError::malformed(&self.path, self.here(), message)
    }

    fn attr(&self, e: &BytesStart<'_>, name: &str) -> Result<Option<String>, MigrateError> {
        for a in e.attributes() {
            let a = a.map_err(|err| {
                MigrateError::malformed_with(&self.path, self.here(), format!("bad XML attribute: {err}"), err)
            })?;
            if a.key.as_ref() == name.as_bytes() {
                let v = a.decode_and_unescape_value(self.xml.decoder()).map_err(|err| {
                    MigrateError::malformed_with(&self.path, self.here(), format!("bad attribute {name}: {err}"), err)
                })?;
                return Ok(Some(v.into_owned()));
            }
        }
        Ok(None)
    }

    fn required(&self, e: &BytesStart<'_>, name: &str, element: &str) -> Result<String, MigrateError> {
        self.attr(e, name)?.ok_or_else(|| self.err(format!("<{element}> has no {name} attribute")))
    }

    fn start(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<Option<GraphItem>, MigrateError> {
        let name = e.local_name();
        match name.as_ref() {
            b"graphml" => self.saw_root = true,
            b"key" => {
                let id = self.required(e, "id", "key")?;
                let attr_name = self.attr(e, "attr.name")?.unwrap_or_else(|| id.clone());
                let domain = self.attr(e, "for")?.unwrap_or_else(|| "all".to_owned());
                let ty = match self.attr(e, "attr.type")?.as_deref() {
                    Some("boolean") => AttrType::Boolean,
                    Some("int" | "long") => AttrType::Integer,
                    Some("float" | "double") => AttrType::Float,
                    _ => AttrType::String,
                };
                self.keys.insert(id, KeyDef { name: attr_name, domain, ty });
                self.in_key = !empty;
            }
            b"graph" => {
                self.directed = self.attr(e, "edgedefault")?.as_deref() == Some("directed");
            }
            b"node" => {
                if !matches!(self.open, Open::None) {
                    return Err(self.err("<node> inside another node or edge"));
                }
                let id = self.required(e, "id", "node")?;
                let mut props = Properties::new();
                props.insert("entity_id".to_owned(), Value::from(id.clone()));
                if empty {
                    return Ok(Some(GraphItem::Node { id, properties: props }));
                }
                self.open = Open::Node { id, props };
            }
            b"edge" => {
                if !matches!(self.open, Open::None) {
                    return Err(self.err("<edge> inside another node or edge"));
                }
                let source = self.required(e, "source", "edge")?;
                let target = self.required(e, "target", "edge")?;
                if empty {
                    return Ok(Some(GraphItem::Edge { source, target, properties: Properties::new() }));
                }
                self.open = Open::Edge { source, target, props: Properties::new() };
            }
            b"data" if !matches!(self.open, Open::None) => {
                let key = self.required(e, "key", "data")?;
                if empty {
                    self.set_data(key, String::new(), self.xml.buffer_position())?;
                } else {
                    self.data = Some((key, String::new(), self.xml.buffer_position()));
                }
            }
            _ => {}
        }
        Ok(None)
    }

    fn set_data(&mut self, key: String, text: String, at: u64) -> Result<(), MigrateError> {
        let def =
            self.keys.get(&key).cloned().unwrap_or(KeyDef { name: key, domain: "all".into(), ty: AttrType::String });
        let value = convert(def.ty, &text).map_err(|msg| {
            MigrateError::malformed(
                &self.path,
                line_column_of(&self.path, at),
                format!("attribute '{}': {msg}", def.name),
            )
        })?;
        let Some(value) = value else { return Ok(()) };
        match &mut self.open {
            Open::Node { props, .. } => {
                // The node id is authoritative for entity_id.
                if def.name != "entity_id" {
                    props.insert(def.name, value);
                }
            }
            Open::Edge { props, .. } => {
                props.insert(def.name, value);
            }
            Open::None => {}
        }
        Ok(())
    }

    fn end(&mut self, local: &[u8]) -> Result<Option<GraphItem>, MigrateError> {
        match local {
            b"key" => self.in_key = false,
            b"data" => {
                if let Some((key, text, at)) = self.data.take() {
                    self.set_data(key, text, at)?;
                }
            }
            b"node" | b"edge" => {
                return Ok(match std::mem::replace(&mut self.open, Open::None) {
                    Open::Node { id, props } => Some(GraphItem::Node { id, properties: props }),
                    Open::Edge { source, target, props } => Some(GraphItem::Edge { source, target, properties: props }),
                    Open::None => None,
                });
            }
            _ => {}
        }
        Ok(None)
    }

    fn general_ref(&self, r: &BytesRef<'_>) -> Result<String, MigrateError> {
        if let Some(c) = r.resolve_char_ref().map_err(|e| self.err(format!("bad character reference: {e}")))? {
            return Ok(c.to_string());
        }
        let name = r.decode().map_err(|e| self.err(format!("bad entity reference: {e}")))?;
        quick_xml::escape::resolve_predefined_entity(&name)
            .map(str::to_owned)
            .ok_or_else(|| self.err(format!("unknown entity &{name};")))
    }

    fn next_item(&mut self) -> Result<Option<GraphItem>, MigrateError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            let event = match self.xml.read_event_into(&mut buf) {
                Ok(ev) => ev.into_owned(),
                Err(e) => {
                    let at = line_column_of(&self.path, self.xml.error_position());
                    return Err(MigrateError::malformed_with(&self.path, at, format!("invalid XML: {e}"), e));
                }
            };
            self.buf = buf;
            let item = match event {
                Event::Start(e) => self.start(&e, false)?,
                Event::Empty(e) => self.start(&e, true)?,
                Event::End(e) => self.end(e.local_name().as_ref())?,
                Event::Text(t) if self.data.is_some() => {
                    let s = t.xml10_content().map_err(|e| self.err(format!("bad text: {e}")))?;
                    if let Some((_, text, _)) = &mut self.data {
                        text.push_str(&s);
                    }
                    None
                }
                Event::CData(t) if self.data.is_some() => {
                    let s = t.decode().map_err(|e| self.err(format!("bad CDATA: {e}")))?;
                    if let Some((_, text, _)) = &mut self.data {
                        text.push_str(&s);
                    }
                    None
                }
                Event::GeneralRef(r) if self.data.is_some() => {
                    let s = self.general_ref(&r)?;
                    if let Some((_, text, _)) = &mut self.data {
                        text.push_str(&s);
                    }
                    None
                }
                Event::Eof => {
                    self.done = true;
                    if !self.saw_root {
                        return Err(self.err("no <graphml> element: not a GraphML file"));
                    }
                    if !matches!(self.open, Open::None) || self.data.is_some() {
                        return Err(self.err("unexpected end of file inside a node or edge"));
                    }
                    return Ok(None);
                }
                _ => None,
            };
            if item.is_some() {
                return Ok(item);
            }
        }
    }
}

impl Iterator for GraphmlReader {
    type Item = Result<GraphItem, MigrateError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_item() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Converts a `<data>` text to its declared type. `Ok(None)` drops the
/// attribute (an empty numeric or boolean value, which NetworkX cannot hold).
fn convert(ty: AttrType, text: &str) -> Result<Option<Value>, String> {
    let t = text.trim();
    match ty {
        AttrType::String => Ok(Some(Value::String(text.to_owned()))),
        _ if t.is_empty() => Ok(None),
        AttrType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Some(Value::Bool(true))),
            "false" | "0" => Ok(Some(Value::Bool(false))),
            _ => Err(format!("{t:?} is not a boolean")),
        },
        AttrType::Integer => match t.parse::<i64>() {
            Ok(n) => Ok(Some(Value::from(n))),
            Err(_) => match t.parse::<f64>() {
                Ok(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(Value::from(f as i64))),
                _ => Err(format!("{t:?} is not an integer")),
            },
        },
        AttrType::Float => match t.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Some(Value::from(f))),
            // JSON has no NaN/inf: keep the text.
            Ok(_) => Ok(Some(Value::String(t.to_owned()))),
            Err(_) => Err(format!("{t:?} is not a number")),
        },
    }
}

/// Escapes `s` for XML into `out`: the markup characters (`&`, `<`, `>`, and
/// `"` in an attribute value), and every ASCII control character as a
/// character reference (`&#13;`). Text content keeps tab and line feed as they
/// are, since a parser keeps them; an attribute value escapes them too, since
/// attribute-value normalisation would turn them into spaces. A carriage return
/// is always escaped (line-end handling would turn it into a line feed).
fn escape(s: &str, attribute: bool, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\t' | '\n' if !attribute => out.push(c),
            c if c.is_ascii_control() => {
                out.push_str("&#");
                out.push_str(&u32::from(c).to_string());
                out.push(';');
            }
            c => out.push(c),
        }
    }
}

fn value_type(v: &Value) -> Option<AttrType> {
    match v {
        Value::Null => None,
        Value::Bool(_) => Some(AttrType::Boolean),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(AttrType::Integer),
        Value::Number(_) => Some(AttrType::Float),
        _ => Some(AttrType::String),
    }
}

fn merge(a: AttrType, b: AttrType) -> AttrType {
    match (a, b) {
        (x, y) if x == y => x,
        (AttrType::Integer, AttrType::Float) | (AttrType::Float, AttrType::Integer) => AttrType::Float,
        _ => AttrType::String,
    }
}

fn value_text(v: &Value, ty: AttrType) -> String {
    match (v, ty) {
        (Value::String(s), _) => s.clone(),
        (Value::Bool(b), _) => if *b { "true" } else { "false" }.to_owned(),
        (Value::Number(n), AttrType::Float) => match n.as_f64() {
            // Python's str(float) keeps a ".0" on whole numbers.
            Some(f) if f.fract() == 0.0 && f.abs() < 1e16 => format!("{f:.1}"),
            _ => n.to_string(),
        },
        (Value::Number(n), _) => n.to_string(),
        (other, _) => other.to_string(),
    }
}

fn type_name(ty: AttrType) -> &'static str {
    match ty {
        AttrType::Boolean => "boolean",
        AttrType::Integer => "long",
        AttrType::Float => "double",
        AttrType::String => "string",
    }
}

/// Attribute keys of one domain in first-seen order, with their merged types.
fn collect_keys<'a>(maps: impl Iterator<Item = &'a Properties>) -> Vec<(String, AttrType)> {
    let mut order: Vec<(String, AttrType)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for props in maps {
        for (k, v) in props.iter() {
            let Some(ty) = value_type(v) else { continue };
            match index.get(k) {
                Some(&i) => order[i].1 = merge(order[i].1, ty),
                None => {
                    index.insert(k.clone(), order.len());
                    order.push((k.clone(), ty));
                }
            }
        }
    }
    order
}

/// Writes a NetworkX-style undirected GraphML file, atomically (see
/// [`write_to`]). Returns `(nodes, edges, nodes_without_entity_id)`.
///
/// # Errors
/// [`MigrateError::Io`].
pub fn write(path: &Path, nodes: &[Properties], edges: &[EdgeRecord]) -> Result<(u64, u64, u64), MigrateError> {
    let mut file = AtomicFile::create(path)?;
    let counts = write_to(file.writer(), nodes, edges).map_err(|e| MigrateError::io(file.tmp_path(), e))?;
    file.commit()?;
    Ok(counts)
}

/// Writes NetworkX-style undirected GraphML to `out`: the one GraphML writer
/// (the export and the `lightrag-pg graph --format graphml` command use it).
/// Node ids are the nodes' `entity_id`s (nodes without one are left out and
/// counted in the third value returned); every attribute and value is escaped
/// for XML, control characters included. Returns `(nodes, edges,
/// nodes_without_entity_id)`.
///
/// # Errors
/// The writer's.
pub fn write_to(out: &mut impl Write, nodes: &[Properties], edges: &[EdgeRecord]) -> std::io::Result<(u64, u64, u64)> {
    let node_keys = collect_keys(nodes.iter());
    let edge_keys = collect_keys(edges.iter().map(|e| &e.properties));
    let mut ids: HashMap<(bool, &str), (String, AttrType)> = HashMap::new();
    let mut header = String::from(
        "<?xml version='1.0' encoding='utf-8'?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n",
    );
    let mut n = 0usize;
    for (is_edge, keys) in [(false, &node_keys), (true, &edge_keys)] {
        for (name, ty) in keys {
            let id = format!("d{n}");
            n += 1;
            header.push_str("  <key id=\"");
            header.push_str(&id);
            header.push_str(if is_edge { "\" for=\"edge\" attr.name=\"" } else { "\" for=\"node\" attr.name=\"" });
            escape(name, true, &mut header);
            header.push_str("\" attr.type=\"");
            header.push_str(type_name(*ty));
            header.push_str("\" />\n");
            ids.insert((is_edge, name.as_str()), (id, *ty));
        }
    }
    header.push_str("  <graph edgedefault=\"undirected\">\n");
    out.write_all(header.as_bytes())?;

    let data = |chunk: &mut String, is_edge: bool, props: &Properties| {
        for (k, v) in props.iter() {
            let Some((id, ty)) = ids.get(&(is_edge, k.as_str())) else { continue };
            chunk.push_str("      <data key=\"");
            chunk.push_str(id);
            let text = value_text(v, *ty);
            if text.is_empty() {
                chunk.push_str("\" />\n");
            } else {
                chunk.push_str("\">");
                escape(&text, false, chunk);
                chunk.push_str("</data>\n");
            }
        }
    };
    let (mut written_nodes, mut missing) = (0u64, 0u64);
    let mut chunk = String::with_capacity(1 << 16);
    for props in nodes {
        let Some(id) = props.entity_id() else {
            missing += 1;
            continue;
        };
        chunk.push_str("    <node id=\"");
        escape(id, true, &mut chunk);
        chunk.push_str("\">\n");
        data(&mut chunk, false, props);
        chunk.push_str("    </node>\n");
        written_nodes += 1;
        if chunk.len() > 1 << 16 {
            out.write_all(chunk.as_bytes())?;
            chunk.clear();
        }
    }
    for e in edges {
        chunk.push_str("    <edge source=\"");
        escape(&e.source, true, &mut chunk);
        chunk.push_str("\" target=\"");
        escape(&e.target, true, &mut chunk);
        chunk.push_str("\">\n");
        data(&mut chunk, true, &e.properties);
        chunk.push_str("    </edge>\n");
        if chunk.len() > 1 << 16 {
            out.write_all(chunk.as_bytes())?;
            chunk.clear();
        }
    }
    chunk.push_str("  </graph>\n</graphml>\n");
    out.write_all(chunk.as_bytes())?;
    out.flush()?;
    Ok((written_nodes, edges.len() as u64, missing))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read_all(xml: &str) -> Result<Vec<GraphItem>, MigrateError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE_NAME);
        std::fs::write(&p, xml).unwrap();
        GraphmlReader::open(&p).unwrap().collect()
    }

    const SAMPLE: &str = r#"<?xml version='1.0' encoding='utf-8'?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="d0" for="node" attr.name="entity_id" attr.type="string" />
  <key id="d1" for="node" attr.name="created_at" attr.type="long" />
  <key id="d2" for="edge" attr.name="weight" attr.type="double" />
  <key id="d3" for="edge" attr.name="truncate" attr.type="string" />
  <graph edgedefault="undirected">
    <node id="&quot;A &amp; B&quot;">
      <data key="d0">&quot;A &amp; B&quot;</data>
      <data key="d1">1763959370</data>
    </node>
    <node id="C" />
    <edge source="C" target="&quot;A &amp; B&quot;">
      <data key="d2">1.0</data>
      <data key="d3" />
    </edge>
  </graph>
</graphml>"#;

    #[test]
    fn nodes_and_edges_are_typed_like_networkx_reads_them() {
        let items = read_all(SAMPLE).unwrap();
        assert_eq!(items.len(), 3);
        let GraphItem::Node { id, properties } = &items[0] else { panic!() };
        assert_eq!(id, "\"A & B\"");
        assert_eq!(
            properties.0,
            json!({"entity_id": "\"A & B\"", "created_at": 1763959370}).as_object().unwrap().clone()
        );
        let GraphItem::Node { id, properties } = &items[1] else { panic!() };
        assert_eq!((id.as_str(), properties.entity_id()), ("C", Some("C")));
        let GraphItem::Edge { source, target, properties } = &items[2] else { panic!() };
        assert_eq!((source.as_str(), target.as_str()), ("C", "\"A & B\""));
        assert_eq!(properties.0, json!({"weight": 1.0, "truncate": ""}).as_object().unwrap().clone());
    }

    #[test]
    fn broken_xml_names_line_and_column() {
        let broken = SAMPLE.replace("</node>\n    <node id=\"C\" />", "</nod>");
        let err = read_all(&broken).unwrap_err();
        let Some(Position::LineColumn { line, .. }) = err.position() else { panic!("{err}") };
        assert_eq!(*line, 11, "{err}");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_malformed() {
        let bad = SAMPLE.replace("<data key=\"d1\">1763959370</data>", "<data key=\"d1\">soon</data>");
        let err = read_all(&bad).unwrap_err();
        assert!(err.to_string().contains("created_at") && err.to_string().contains("line 10"), "{err}");
    }

    #[test]
    fn truncated_file_is_malformed() {
        let cut = &SAMPLE[..SAMPLE.find("<edge").unwrap() + 30];
        assert!(read_all(cut).is_err());
    }

    #[test]
    fn written_graph_reads_back_identically() {
        let nodes = vec![
            Properties(
                json!({"entity_id": "A\tB", "entity_type": "x<y", "created_at": 5, "flag": true})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            Properties(json!({"entity_id": "C", "description": "line1\nline2\r\n&"}).as_object().unwrap().clone()),
        ];
        let edges = vec![EdgeRecord {
            source: "A\tB".into(),
            target: "C".into(),
            properties: Properties(
                json!({"weight": 2.0, "keywords": "k", "truncate": ""}).as_object().unwrap().clone(),
            ),
        }];
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE_NAME);
        assert_eq!(write(&p, &nodes, &edges).unwrap(), (2, 1, 0));
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("attr.name=\"weight\" attr.type=\"double\""));
        assert!(text.contains("<data key=\"d5\">2.0</data>"), "{text}");
        let items: Vec<GraphItem> = GraphmlReader::open(&p).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(items[0], GraphItem::Node { id: "A\tB".into(), properties: nodes[0].clone() });
        assert_eq!(items[1], GraphItem::Node { id: "C".into(), properties: nodes[1].clone() });
        assert_eq!(
            items[2],
            GraphItem::Edge { source: "A\tB".into(), target: "C".into(), properties: edges[0].properties.clone() }
        );
    }

    #[test]
    fn control_characters_are_escaped_as_references_and_read_back_exactly() {
        let nasty = "a\tb\nc\rd\u{1}e\u{1f}f\u{7f}g\"h'i<j>k&l";
        let nodes = vec![
            Properties(json!({"entity_id": nasty, "description": nasty}).as_object().unwrap().clone()),
            Properties(json!({"entity_id": "plain", nasty: 1}).as_object().unwrap().clone()),
        ];
        let edges = vec![EdgeRecord {
            source: nasty.into(),
            target: "plain".into(),
            properties: Properties(json!({"keywords": nasty}).as_object().unwrap().clone()),
        }];
        let mut out = Vec::new();
        assert_eq!(write_to(&mut out, &nodes, &edges).unwrap(), (2, 1, 0));
        let text = String::from_utf8(out).unwrap();

        let attribute = "a&#9;b&#10;c&#13;d&#1;e&#31;f&#127;g&quot;h'i&lt;j&gt;k&amp;l";
        assert!(text.contains(&format!("<node id=\"{attribute}\">")), "{text}");
        assert!(text.contains(&format!("<edge source=\"{attribute}\" target=\"plain\">")), "{text}");
        assert!(text.contains(&format!("attr.name=\"{attribute}\"")), "{text}");
        // Text content keeps tab and line feed; everything else is a reference.
        assert!(text.contains(">a\tb\nc&#13;d&#1;e&#31;f&#127;g\"h'i&lt;j&gt;k&amp;l</data>"), "{text}");
        let raw_controls: Vec<char> =
            text.chars().filter(|c| c.is_ascii_control() && !matches!(c, '\n' | '\t')).collect();
        assert!(raw_controls.is_empty(), "raw control characters in the output: {raw_controls:?}");

        // quick-xml reads every attribute and value back as written.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE_NAME);
        std::fs::write(&p, &text).unwrap();
        let items: Vec<GraphItem> = GraphmlReader::open(&p).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(items[0], GraphItem::Node { id: nasty.into(), properties: nodes[0].clone() });
        assert_eq!(items[1], GraphItem::Node { id: "plain".into(), properties: nodes[1].clone() });
        assert_eq!(
            items[2],
            GraphItem::Edge { source: nasty.into(), target: "plain".into(), properties: edges[0].properties.clone() }
        );
    }
}
