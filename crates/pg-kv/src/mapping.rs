//! The record ⇄ column mapping of each key-value namespace, exactly as LightRAG
//! 1.5.7's `PGKVStorage` does it (spec §6.1/§6.2), and the SQL built from it.
//!
//! Writes: a record is turned into one row of typed cells ([`encode`]); rows are
//! gathered column-wise into a [`Batch`] and sent as arrays to one
//! `INSERT … SELECT … FROM unnest(…) ON CONFLICT (workspace, id) DO UPDATE`.
//! Reads: the `SELECT` list is LightRAG's, and [`decode`] rebuilds the record
//! LightRAG returns (same keys, same normalisation).

use chrono::NaiveDateTime;
use lightrag_pg_core::{Error, JsonObject, KvNamespace, Result};
use lightrag_pg_pool::batch::{self, approx_json_bytes};
use lightrag_pg_pool::ident::quote_ident;
use lightrag_pg_pool::tokio_postgres::Row;
use lightrag_pg_pool::tokio_postgres::types::{ToSql, Type};
use serde_json::Value;

/// A column's SQL type, as far as the mapping needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `TEXT` / `VARCHAR`.
    Text,
    /// `INTEGER`.
    Int4,
    /// `JSONB`.
    Jsonb,
}

impl Kind {
    fn array_cast(self) -> &'static str {
        match self {
            Self::Text => "text[]",
            Self::Int4 => "int4[]",
            Self::Jsonb => "jsonb[]",
        }
    }
}

/// One written column (besides `workspace`, `id`, `create_time`, `update_time`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

const FULL_DOCS: &[Column] = &[
    col("content", Kind::Text),
    col("doc_name", Kind::Text),
    col("sidecar_location", Kind::Text),
    col("parse_format", Kind::Text),
    col("content_hash", Kind::Text),
    col("process_options", Kind::Text),
    col("chunk_options", Kind::Jsonb),
    col("parse_engine", Kind::Text),
];
const TEXT_CHUNKS: &[Column] = &[
    col("tokens", Kind::Int4),
    col("chunk_order_index", Kind::Int4),
    col("full_doc_id", Kind::Text),
    col("content", Kind::Text),
    col("file_path", Kind::Text),
    col("llm_cache_list", Kind::Jsonb),
    col("heading", Kind::Jsonb),
    col("sidecar", Kind::Jsonb),
];
const LLM_CACHE: &[Column] = &[
    col("original_prompt", Kind::Text),
    col("return_value", Kind::Text),
    col("chunk_id", Kind::Text),
    col("cache_type", Kind::Text),
    col("queryparam", Kind::Jsonb),
];
const FULL_ENTITIES: &[Column] = &[col("entity_names", Kind::Jsonb), col("count", Kind::Int4)];
const FULL_RELATIONS: &[Column] = &[col("relation_pairs", Kind::Jsonb), col("count", Kind::Int4)];
const CHUNK_IDS: &[Column] = &[col("chunk_ids", Kind::Jsonb), col("count", Kind::Int4)];

/// The columns an upsert writes, in LightRAG's order.
pub(crate) fn columns(ns: KvNamespace) -> &'static [Column] {
    match ns {
        KvNamespace::FullDocs => FULL_DOCS,
        KvNamespace::TextChunks => TEXT_CHUNKS,
        KvNamespace::LlmResponseCache => LLM_CACHE,
        KvNamespace::FullEntities => FULL_ENTITIES,
        KvNamespace::FullRelations => FULL_RELATIONS,
        KvNamespace::EntityChunks | KvNamespace::RelationChunks => CHUNK_IDS,
    }
}

/// The `ON CONFLICT … DO UPDATE SET` assignment of one column (`cur` is the
/// stored row). `full_docs` keeps stored pipeline metadata when the new value
/// is empty (LightRAG's `COALESCE(NULLIF(…))` guards); everything else is
/// overwritten.
fn assignment(ns: KvNamespace, c: &Column) -> String {
    let n = c.name;
    match (ns, n) {
        (
            KvNamespace::FullDocs,
            "sidecar_location" | "parse_format" | "content_hash" | "process_options" | "parse_engine",
        ) => format!("{n} = COALESCE(NULLIF(EXCLUDED.{n}, ''), cur.{n})"),
        (KvNamespace::FullDocs, "chunk_options") => "chunk_options = CASE WHEN EXCLUDED.chunk_options IS NULL \
             OR EXCLUDED.chunk_options = '{}'::jsonb THEN cur.chunk_options ELSE EXCLUDED.chunk_options END"
            .to_owned(),
        _ => format!("{n} = EXCLUDED.{n}"),
    }
}

/// The epoch-seconds projection LightRAG reads timestamps with.
const TIMES: &str = "EXTRACT(EPOCH FROM create_time)::BIGINT AS create_time, \
                     EXTRACT(EPOCH FROM update_time)::BIGINT AS update_time";

/// LightRAG's `SELECT` list for `get_by_id(s)` of a namespace.
fn select_list(ns: KvNamespace) -> String {
    match ns {
        KvNamespace::FullDocs => "id, COALESCE(content, '') AS content, COALESCE(doc_name, '') AS file_path, \
             sidecar_location, parse_format, content_hash, process_options, \
             COALESCE(chunk_options, '{}'::jsonb) AS chunk_options, parse_engine"
            .to_owned(),
        KvNamespace::TextChunks => format!(
            "id, tokens, COALESCE(content, '') AS content, chunk_order_index, full_doc_id, file_path, \
             COALESCE(llm_cache_list, '[]'::jsonb) AS llm_cache_list, COALESCE(heading, '{{}}'::jsonb) AS heading, \
             COALESCE(sidecar, '{{}}'::jsonb) AS sidecar, {TIMES}"
        ),
        KvNamespace::LlmResponseCache => {
            format!("id, original_prompt, return_value, chunk_id, cache_type, queryparam, {TIMES}")
        }
        KvNamespace::FullEntities => format!("id, entity_names, count, {TIMES}"),
        KvNamespace::FullRelations => format!("id, relation_pairs, count, {TIMES}"),
        KvNamespace::EntityChunks | KvNamespace::RelationChunks => format!("id, chunk_ids, count, {TIMES}"),
    }
}

/// Every statement of one namespace's table, built once per storage.
#[derive(Debug)]
pub(crate) struct KvSql {
    pub(crate) get_one: String,
    pub(crate) get_many: String,
    pub(crate) existing: String,
    pub(crate) upsert: String,
    pub(crate) delete: String,
    pub(crate) has_any: String,
    pub(crate) drop_all: String,
}

impl KvSql {
    /// The statements for `ns`.
    pub(crate) fn new(ns: KvNamespace) -> Result<Self> {
        let t = quote_ident(&ns.table().to_lowercase())?;
        let cols = columns(ns);
        let select = select_list(ns);
        let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
        let names = names.join(", ");
        let u_names: Vec<String> = cols.iter().map(|c| format!("u.{}", c.name)).collect();
        let args: Vec<String> =
            cols.iter().enumerate().map(|(i, c)| format!("${}::{}", i + 3, c.kind.array_cast())).collect();
        let now = cols.len() + 3;
        let set: Vec<String> = cols.iter().map(|c| assignment(ns, c)).collect();
        // create_time and update_time both get the call's one "now" on insert; on
        // conflict only update_time moves (create_time is never touched).
        let upsert = format!(
            "INSERT INTO {t} AS cur (workspace, id, {names}, create_time, update_time) \
             SELECT $1, u.id, {u_names}, ${now}, ${now} FROM unnest($2::text[], {args}) AS u(id, {names}) \
             ON CONFLICT (workspace, id) DO UPDATE SET {set}, update_time = EXCLUDED.update_time",
            u_names = u_names.join(", "),
            args = args.join(", "),
            set = set.join(", "),
        );
        Ok(Self {
            get_one: format!("SELECT {select} FROM {t} WHERE workspace = $1 AND id = $2"),
            get_many: format!("SELECT {select} FROM {t} WHERE workspace = $1 AND id = ANY($2)"),
            existing: format!("SELECT id FROM {t} WHERE workspace = $1 AND id = ANY($2)"),
            upsert,
            delete: format!("DELETE FROM {t} WHERE workspace = $1 AND id = ANY($2)"),
            has_any: format!("SELECT EXISTS (SELECT 1 FROM {t} WHERE workspace = $1)"),
            drop_all: format!("DELETE FROM {t} WHERE workspace = $1"),
        })
    }
}

/// One typed value of a row about to be written.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Text(Option<String>),
    Int4(Option<i32>),
    Jsonb(Option<Value>),
}

impl Cell {
    /// A rough size in bytes, for bounding a batch's payload.
    fn approx_bytes(&self) -> usize {
        match self {
            Self::Text(s) => s.as_ref().map_or(0, String::len),
            Self::Int4(_) => 4,
            Self::Jsonb(v) => v.as_ref().map_or(0, approx_json_bytes),
        }
    }
}

/// One record as a row of cells in [`columns`] order.
#[derive(Debug)]
pub(crate) struct EncodedRow {
    pub(crate) id: String,
    pub(crate) cells: Vec<Cell>,
}

impl EncodedRow {
    pub(crate) fn approx_bytes(&self) -> usize {
        self.id.len() + self.cells.iter().map(Cell::approx_bytes).sum::<usize>()
    }
}

/// How a field is read from a record.
struct Fields<'a> {
    id: &'a str,
    rec: JsonObject,
}

impl Fields<'_> {
    /// A text field: absent or `null` → `None`; a string, at most `max` characters
    /// when the column is a `VARCHAR`; anything else is refused.
    fn text(&mut self, field: &str, max: Option<usize>) -> Result<Option<String>> {
        match self.rec.remove(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                if let Some(max) = max {
                    let n = s.chars().count();
                    if n > max {
                        return Err(Error::invalid(
                            self.id,
                            format!("field '{field}' has {n} characters; the column takes {max}"),
                        ));
                    }
                }
                Ok(Some(s))
            }
            Some(_) => Err(Error::invalid(self.id, format!("field '{field}' must be a string"))),
        }
    }

    /// A text field whose absence means `default` (a `null` stays `NULL`), like
    /// Python's `v.get(field, default)`.
    fn text_or(&mut self, field: &str, default: &str, max: Option<usize>) -> Result<Option<String>> {
        if self.rec.contains_key(field) { self.text(field, max) } else { Ok(Some(default.to_owned())) }
    }

    /// An `INTEGER` field: absent or `null` → `None`; an integer that fits 32 bits.
    fn int4(&mut self, field: &str) -> Result<Option<i32>> {
        match self.rec.remove(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_i64().map(i32::try_from) {
                Some(Ok(v)) => Ok(Some(v)),
                _ => Err(Error::invalid(self.id, format!("field '{field}' = {n} does not fit the INTEGER column"))),
            },
            Some(_) => Err(Error::invalid(self.id, format!("field '{field}' must be an integer"))),
        }
    }

    /// A JSON field written as `json.dumps(v.get(field, default))`: absent →
    /// `default`; present (even `null`) → as is.
    fn json_or(&mut self, field: &str, default: Value) -> Value {
        self.rec.remove(field).unwrap_or(default)
    }

    /// A JSON field written as `json.dumps(v.get(field) or default)`: absent,
    /// `null` or empty → `default`.
    fn json_or_falsy(&mut self, field: &str, default: Value) -> Value {
        match self.rec.remove(field) {
            Some(v) if !is_falsy(&v) => v,
            _ => default,
        }
    }

    /// A required JSON field written as `json.dumps(v[field])`.
    fn json(&mut self, field: &str) -> Value {
        self.rec.remove(field).unwrap_or(Value::Null)
    }
}

/// Python truthiness of a JSON value.
fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Turns a (validated) record into a row, the way LightRAG binds its parameters.
/// Checks what [`lightrag_pg_core::kv::validate_record`] leaves to the server: a
/// text field that is not a string, a `VARCHAR` overflow, an integer outside 32
/// bits.
///
/// # Errors
/// [`Error::InvalidInput`] naming the id and the field.
pub(crate) fn encode(ns: KvNamespace, id: String, rec: JsonObject) -> Result<EncodedRow> {
    let mut f = Fields { id: &id, rec };
    let cells = match ns {
        KvNamespace::FullDocs => vec![
            Cell::Text(f.text("content", None)?),
            Cell::Text(f.text_or("file_path", "", Some(1024))?),
            Cell::Text(f.text("sidecar_location", None)?),
            Cell::Text(f.text("parse_format", Some(32))?),
            Cell::Text(f.text("content_hash", None)?),
            Cell::Text(f.text("process_options", None)?),
            Cell::Jsonb(Some(f.json_or_falsy("chunk_options", Value::Object(JsonObject::new())))),
            Cell::Text(f.text("parse_engine", None)?),
        ],
        KvNamespace::TextChunks => vec![
            Cell::Int4(f.int4("tokens")?),
            Cell::Int4(f.int4("chunk_order_index")?),
            Cell::Text(f.text("full_doc_id", Some(256))?),
            Cell::Text(f.text("content", None)?),
            Cell::Text(f.text("file_path", None)?),
            Cell::Jsonb(Some(f.json_or("llm_cache_list", Value::Array(Vec::new())))),
            Cell::Jsonb(Some(f.json_or_falsy("heading", Value::Object(JsonObject::new())))),
            Cell::Jsonb(Some(f.json_or_falsy("sidecar", Value::Object(JsonObject::new())))),
        ],
        KvNamespace::LlmResponseCache => {
            let queryparam = f.json_or_falsy("queryparam", Value::Null);
            vec![
                Cell::Text(f.text("original_prompt", None)?),
                Cell::Text(f.text("return", None)?),
                Cell::Text(f.text("chunk_id", Some(255))?),
                Cell::Text(f.text_or("cache_type", "extract", Some(32))?),
                // A falsy queryparam is SQL NULL, not JSON null.
                Cell::Jsonb((!queryparam.is_null()).then_some(queryparam)),
            ]
        }
        KvNamespace::FullEntities => vec![Cell::Jsonb(Some(f.json("entity_names"))), Cell::Int4(f.int4("count")?)],
        KvNamespace::FullRelations => {
            vec![Cell::Jsonb(Some(f.json("relation_pairs"))), Cell::Int4(f.int4("count")?)]
        }
        KvNamespace::EntityChunks | KvNamespace::RelationChunks => {
            vec![Cell::Jsonb(Some(f.json("chunk_ids"))), Cell::Int4(f.int4("count")?)]
        }
    };
    Ok(EncodedRow { id, cells })
}

/// One column of a batch, as the array bound to its `unnest` argument.
#[derive(Debug)]
enum ColumnBuf {
    Text(Vec<Option<String>>),
    Int4(Vec<Option<i32>>),
    Jsonb(Vec<Option<Value>>),
}

impl ColumnBuf {
    fn new(kind: Kind, capacity: usize) -> Self {
        match kind {
            Kind::Text => Self::Text(Vec::with_capacity(capacity)),
            Kind::Int4 => Self::Int4(Vec::with_capacity(capacity)),
            Kind::Jsonb => Self::Jsonb(Vec::with_capacity(capacity)),
        }
    }

    fn push(&mut self, cell: Cell) {
        match (self, cell) {
            (Self::Text(v), Cell::Text(x)) => v.push(x),
            (Self::Int4(v), Cell::Int4(x)) => v.push(x),
            (Self::Jsonb(v), Cell::Jsonb(x)) => v.push(x),
            // `encode` and `columns` agree by construction.
            (buf, cell) => unreachable!("cell {cell:?} does not match column {buf:?}"),
        }
    }

    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Self::Text(v) => v,
            Self::Int4(v) => v,
            Self::Jsonb(v) => v,
        }
    }
}

/// Rows gathered column-wise: the parameters of one upsert statement.
#[derive(Debug)]
pub(crate) struct Batch {
    ids: Vec<String>,
    columns: Vec<ColumnBuf>,
    /// The call's "now", for every timestamp column the call writes.
    now: NaiveDateTime,
}

impl Batch {
    /// An empty batch of namespace `ns`'s columns.
    pub(crate) fn new(ns: KvNamespace, capacity: usize, now: NaiveDateTime) -> Self {
        Self {
            ids: Vec::with_capacity(capacity),
            columns: columns(ns).iter().map(|c| ColumnBuf::new(c.kind, capacity)).collect(),
            now,
        }
    }
}

impl batch::Batch for Batch {
    type Row = EncodedRow;

    fn push(&mut self, row: EncodedRow) {
        self.ids.push(row.id);
        for (buf, cell) in self.columns.iter_mut().zip(row.cells) {
            buf.push(cell);
        }
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    /// `$1` workspace, `$2` ids, the columns, then the call's "now".
    fn params<'a>(&'a self, workspace: &'a (dyn ToSql + Sync)) -> Vec<&'a (dyn ToSql + Sync)> {
        let mut p: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(self.columns.len() + 3);
        p.push(workspace);
        p.push(&self.ids);
        p.extend(self.columns.iter().map(ColumnBuf::as_sql));
        p.push(&self.now);
        p
    }
}

/// Rebuilds the record LightRAG's `get_by_id(s)` returns from a row of
/// [`select_list`]: SQL `NULL` → JSON `null`; `heading`, `sidecar` and
/// `chunk_options` that are not objects → `{}`; the LLM cache adds `return`
/// (= `return_value`); an `update_time` of 0 reads as `create_time`.
///
/// # Errors
/// [`Error::Database`] for a column type the mapping does not know (a schema
/// that is not LightRAG's).
pub(crate) fn decode(ns: KvNamespace, row: &Row) -> Result<(String, JsonObject)> {
    let mut out = JsonObject::new();
    let mut id = String::new();
    for (i, c) in row.columns().iter().enumerate() {
        let name = c.name();
        let ty = c.type_();
        let v = if *ty == Type::TEXT || *ty == Type::VARCHAR || *ty == Type::BPCHAR {
            get::<Option<String>>(row, i)?.map_or(Value::Null, Value::String)
        } else if *ty == Type::INT4 {
            get::<Option<i32>>(row, i)?.map_or(Value::Null, Value::from)
        } else if *ty == Type::INT8 {
            get::<Option<i64>>(row, i)?.map_or(Value::Null, Value::from)
        } else if *ty == Type::JSONB || *ty == Type::JSON {
            get::<Option<Value>>(row, i)?.unwrap_or(Value::Null)
        } else {
            return Err(Error::Database {
                sqlstate: None,
                message: format!("{ns}: column {name} has unexpected type {ty}"),
                source: None,
            });
        };
        if name == "id" {
            id = v.as_str().unwrap_or_default().to_owned();
        }
        out.insert(name.to_owned(), v);
    }
    for field in ["heading", "sidecar", "chunk_options"] {
        if let Some(v) = out.get_mut(field)
            && !v.is_object()
        {
            *v = Value::Object(JsonObject::new());
        }
    }
    if ns == KvNamespace::LlmResponseCache {
        let ret = out.get("return_value").cloned().unwrap_or(Value::Null);
        out.insert("return".to_owned(), ret);
    }
    if let (Some(create), Some(update)) = (out.get("create_time").cloned(), out.get_mut("update_time"))
        && update.as_i64() == Some(0)
    {
        *update = create;
    }
    Ok((id, out))
}

fn get<'a, T: lightrag_pg_pool::tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(lightrag_pg_pool::db_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> JsonObject {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn upsert_sql_has_one_unnest_argument_per_column() {
        let sql = KvSql::new(KvNamespace::TextChunks).unwrap().upsert;
        assert!(sql.contains("unnest($2::text[], $3::int4[], $4::int4[], $5::text[]"), "{sql}");
        assert!(sql.contains("$10::jsonb[]) AS u(id, tokens"), "{sql}");
        assert!(sql.contains("$11, $11 FROM unnest"), "{sql}");
        assert!(!sql.contains("create_time = "), "create_time must never change on conflict: {sql}");
    }

    #[test]
    fn full_docs_keeps_stored_metadata_when_the_new_value_is_empty() {
        let sql = KvSql::new(KvNamespace::FullDocs).unwrap().upsert;
        assert!(sql.contains("parse_format = COALESCE(NULLIF(EXCLUDED.parse_format, ''), cur.parse_format)"));
        assert!(sql.contains("doc_name = EXCLUDED.doc_name"));
        assert!(sql.contains("THEN cur.chunk_options ELSE EXCLUDED.chunk_options END"));
    }

    #[test]
    fn text_chunk_defaults_follow_python() {
        let rec = obj(json!({"tokens": 3, "chunk_order_index": 0, "full_doc_id": "d", "content": "c",
            "file_path": "f", "heading": null}));
        let row = encode(KvNamespace::TextChunks, "c1".into(), rec).unwrap();
        assert!(matches!(&row.cells[5], Cell::Jsonb(Some(v)) if v == &json!([])));
        assert!(matches!(&row.cells[6], Cell::Jsonb(Some(v)) if v == &json!({})));
    }

    #[test]
    fn llm_cache_maps_return_and_defaults_cache_type() {
        let rec = obj(json!({"original_prompt": "p", "return": "r", "queryparam": {}}));
        let row = encode(KvNamespace::LlmResponseCache, "k".into(), rec).unwrap();
        assert!(matches!(&row.cells[1], Cell::Text(Some(s)) if s == "r"));
        assert!(matches!(&row.cells[3], Cell::Text(Some(s)) if s == "extract"));
        assert!(matches!(&row.cells[4], Cell::Jsonb(None)), "an empty queryparam is SQL NULL");
    }

    #[test]
    fn out_of_range_integer_and_overlong_varchar_name_the_record() {
        let rec = obj(json!({"chunk_ids": [], "count": 1_i64 << 40}));
        let err = encode(KvNamespace::EntityChunks, "e1".into(), rec).unwrap_err().to_string();
        assert!(err.contains("e1") && err.contains("count"), "{err}");
        let rec = obj(json!({"original_prompt": "p", "return": "r", "cache_type": "x".repeat(33)}));
        let err = encode(KvNamespace::LlmResponseCache, "k1".into(), rec).unwrap_err().to_string();
        assert!(err.contains("k1") && err.contains("cache_type"), "{err}");
    }

    #[test]
    fn batches_are_bounded_by_rows_and_bytes() {
        use lightrag_pg_pool::batch::{Batch as _, BatchLimits};
        let row = |i: usize, n: usize| EncodedRow {
            id: format!("{i:0>n$}"),
            cells: vec![Cell::Jsonb(Some(json!([]))), Cell::Int4(Some(1))],
        };
        let sizes = |rows: Vec<EncodedRow>, max_rows: usize, max_bytes: usize| -> Vec<usize> {
            let limits = BatchLimits { rows: max_rows, bytes: max_bytes, delete_rows: 0 };
            let now = chrono::Utc::now().naive_utc();
            batch::into_batches(rows, &limits, EncodedRow::approx_bytes, || {
                Batch::new(KvNamespace::EntityChunks, 0, now)
            })
            .iter()
            .map(Batch::len)
            .collect()
        };
        assert_eq!(sizes((0..10).map(|i| row(i, 10)).collect(), 4, usize::MAX), vec![4, 4, 2]);
        assert_eq!(sizes((0..3).map(|i| row(i, 1000)).collect(), 100, 1500), vec![1, 1, 1]);
    }
}
