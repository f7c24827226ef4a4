//! The `LIGHTRAG_DOC_STATUS` row ⇄ [`DocProcessingStatus`] mapping (spec §8.1,
//! §8.2) and the column-wise batch an upsert binds.

use chrono::NaiveDateTime;
use lightrag_pg_core::{DocProcessingStatus, DocStatus, Error, JsonObject, Result};
use lightrag_pg_pool::batch::{self, approx_object_bytes};
use lightrag_pg_pool::tokio_postgres::Row;
use lightrag_pg_pool::tokio_postgres::types::ToSql;
use serde_json::Value;

/// The columns every read selects, in this order (see [`decode`]).
pub(crate) const SELECT_COLUMNS: &str = "id, content_summary, content_length, chunks_count, status, file_path, \
     chunks_list, track_id, metadata, error_msg, content_hash, created_at, updated_at";

/// What a row with a `NULL` file path reads as (LightRAG's
/// `DocProcessingStatus` construction does the same).
pub(crate) const NO_FILE_PATH: &str = "no-file-path";

/// Why a stored row cannot be read as a [`DocProcessingStatus`].
#[derive(Debug)]
pub(crate) struct Unusable {
    pub(crate) id: String,
    pub(crate) reason: String,
}

impl Unusable {
    pub(crate) fn into_error(self) -> Error {
        Error::Database {
            sqlstate: None,
            message: format!("doc-status row {:?} cannot be read: {}", self.id, self.reason),
            source: None,
        }
    }
}

/// Reads one row of [`SELECT_COLUMNS`] (from column `offset` on).
///
/// `NULL`s read as LightRAG reads them: summary `""`, length 0, file path
/// `no-file-path`, chunk list `[]` (a non-list too), metadata `{}` (a
/// non-object too); `chunks_count` `NULL` ↔ `None`, any stored integer (also
/// LightRAG's `-1`) ↔ `Some`. A status that is not one of the seven makes the
/// row unusable.
///
/// # Errors
/// [`Error::Database`] when a column does not have LightRAG's type; the inner
/// [`Unusable`] when the row's status is not a document status.
pub(crate) fn decode(row: &Row, offset: usize) -> Result<std::result::Result<(String, DocProcessingStatus), Unusable>> {
    let c = |i: usize| offset + i;
    let id: String = get(row, c(0))?;
    let status: Option<String> = get(row, c(4))?;
    let status = match status.as_deref().map(str::parse::<DocStatus>) {
        Some(Ok(s)) => s,
        Some(Err(_)) => {
            return Ok(Err(Unusable { id, reason: format!("status {:?} is not a document status", status) }));
        }
        None => return Ok(Err(Unusable { id, reason: "status is NULL".into() })),
    };
    let chunks_list = match get::<Option<Value>>(row, c(6))? {
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    };
    let metadata = match get::<Option<Value>>(row, c(8))? {
        Some(Value::Object(m)) => m,
        _ => JsonObject::new(),
    };
    let doc = DocProcessingStatus {
        content_summary: get::<Option<String>>(row, c(1))?.unwrap_or_default(),
        content_length: get::<Option<i32>>(row, c(2))?.map_or(0, i64::from),
        chunks_count: get::<Option<i32>>(row, c(3))?.map(i64::from),
        status,
        file_path: get::<Option<String>>(row, c(5))?.unwrap_or_else(|| NO_FILE_PATH.to_owned()),
        chunks_list,
        track_id: get(row, c(7))?,
        metadata,
        error_msg: get(row, c(9))?,
        content_hash: get(row, c(10))?,
        created_at: get::<Option<NaiveDateTime>>(row, c(11))?.map(|t| t.and_utc()),
        updated_at: get::<Option<NaiveDateTime>>(row, c(12))?.map(|t| t.and_utc()),
    };
    Ok(Ok((id, doc)))
}

fn get<'a, T: lightrag_pg_pool::tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(lightrag_pg_pool::db_error)
}

/// Checks what [`DocProcessingStatus::validate`] leaves to the server: the two
/// `INTEGER` columns.
///
/// # Errors
/// [`Error::InvalidInput`] naming the id and the field.
pub(crate) fn check_integers(id: &str, doc: &DocProcessingStatus) -> Result<()> {
    if i32::try_from(doc.content_length).is_err() {
        return Err(Error::invalid(
            id,
            format!("content_length {} does not fit the INTEGER column", doc.content_length),
        ));
    }
    if let Some(n) = doc.chunks_count
        && i32::try_from(n).is_err()
    {
        return Err(Error::invalid(id, format!("chunks_count {n} does not fit the INTEGER column")));
    }
    Ok(())
}

/// Rows gathered column-wise: the parameters of one upsert statement.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    ids: Vec<String>,
    content_summary: Vec<String>,
    content_length: Vec<i32>,
    chunks_count: Vec<Option<i32>>,
    status: Vec<&'static str>,
    file_path: Vec<String>,
    chunks_list: Vec<Value>,
    track_id: Vec<Option<String>>,
    metadata: Vec<Value>,
    error_msg: Vec<Option<String>>,
    content_hash: Vec<Option<String>>,
    created_at: Vec<Option<NaiveDateTime>>,
    updated_at: Vec<Option<NaiveDateTime>>,
}

/// The approximate payload bytes of one record in a [`Batch`].
pub(crate) fn approx_bytes((id, doc): &(String, DocProcessingStatus)) -> usize {
    id.len()
        + doc.content_summary.len()
        + doc.file_path.len()
        + doc.chunks_list.iter().map(|c| c.len() + 3).sum::<usize>()
        + doc.error_msg.as_ref().map_or(0, String::len)
        + approx_object_bytes(&doc.metadata)
        + 96
}

impl batch::Batch for Batch {
    type Row = (String, DocProcessingStatus);

    /// Appends a (validated) record. Integers were checked by
    /// [`check_integers`]; times are stored UTC-naive.
    fn push(&mut self, (id, doc): (String, DocProcessingStatus)) {
        self.ids.push(id);
        self.content_summary.push(doc.content_summary);
        self.content_length.push(i32::try_from(doc.content_length).unwrap_or(i32::MAX));
        self.chunks_count.push(doc.chunks_count.map(|n| i32::try_from(n).unwrap_or(i32::MAX)));
        self.status.push(doc.status.as_str());
        self.file_path.push(doc.file_path);
        self.chunks_list.push(Value::Array(doc.chunks_list.into_iter().map(Value::String).collect()));
        self.track_id.push(doc.track_id);
        self.metadata.push(Value::Object(doc.metadata));
        self.error_msg.push(doc.error_msg);
        self.content_hash.push(doc.content_hash);
        self.created_at.push(doc.created_at.map(|t| t.naive_utc()));
        self.updated_at.push(doc.updated_at.map(|t| t.naive_utc()));
    }

    fn len(&self) -> usize {
        self.ids.len()
    }

    /// `$1` workspace, then the thirteen column arrays in [`upsert_sql`] order.
    fn params<'a>(&'a self, workspace: &'a (dyn ToSql + Sync)) -> Vec<&'a (dyn ToSql + Sync)> {
        vec![
            workspace,
            &self.ids,
            &self.content_summary,
            &self.content_length,
            &self.chunks_count,
            &self.status,
            &self.file_path,
            &self.chunks_list,
            &self.track_id,
            &self.metadata,
            &self.error_msg,
            &self.content_hash,
            &self.created_at,
            &self.updated_at,
        ]
    }
}

/// The batch upsert into table `t` (quoted). LightRAG's column semantics with
/// two changes: `created_at` keeps the stored value (LightRAG overwrites it; it
/// is filled only when the stored one is `NULL`), and `chunks_count` stays
/// `NULL` for `None` (LightRAG writes `-1`). `content_hash` is
/// write-once-after-set as in LightRAG.
pub(crate) fn upsert_sql(t: &str) -> String {
    format!(
        "INSERT INTO {t} AS cur (workspace, id, content_summary, content_length, chunks_count, status, file_path, \
         chunks_list, track_id, metadata, error_msg, content_hash, created_at, updated_at) \
         SELECT $1, u.id, u.content_summary, u.content_length, u.chunks_count, u.status, u.file_path, \
         u.chunks_list, u.track_id, u.metadata, u.error_msg, u.content_hash, u.created_at, u.updated_at \
         FROM unnest($2::text[], $3::text[], $4::int4[], $5::int4[], $6::text[], $7::text[], $8::jsonb[], \
         $9::text[], $10::jsonb[], $11::text[], $12::text[], $13::timestamp[], $14::timestamp[]) \
         AS u(id, content_summary, content_length, chunks_count, status, file_path, chunks_list, track_id, \
         metadata, error_msg, content_hash, created_at, updated_at) \
         ON CONFLICT (workspace, id) DO UPDATE SET content_summary = EXCLUDED.content_summary, \
         content_length = EXCLUDED.content_length, chunks_count = EXCLUDED.chunks_count, \
         status = EXCLUDED.status, file_path = EXCLUDED.file_path, chunks_list = EXCLUDED.chunks_list, \
         track_id = EXCLUDED.track_id, metadata = EXCLUDED.metadata, error_msg = EXCLUDED.error_msg, \
         content_hash = COALESCE(NULLIF(EXCLUDED.content_hash, ''), cur.content_hash), \
         created_at = COALESCE(cur.created_at, EXCLUDED.created_at), updated_at = EXCLUDED.updated_at"
    )
}
