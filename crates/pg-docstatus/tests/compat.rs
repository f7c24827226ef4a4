//! Compatibility with Python LightRAG 1.5.7's `PGDocStatusStorage` (spec §8).
//!
//! Rows written with Python's exact upsert SQL and the parameters it binds read
//! back through [`PgDocStatusStorage`]; rows written by [`PgDocStatusStorage`]
//! equal, column by column, the rows Python writes for the same document, except
//! for the two documented differences (`created_at` is kept on conflict,
//! `chunks_count` `None` is `NULL` rather than `-1`).

mod common;

use chrono::{DateTime, NaiveDateTime, Utc};
use common::{JsonText, obj};
use lightrag_pg_core::doc_status::parse_iso;
use lightrag_pg_core::{
    DocProcessingStatus, DocStatus, DocStatusCursor, DocStatusStorage, JsonObject, Storage, Workspace,
};
use lightrag_pg_docstatus::PgDocStatusStorage;
use lightrag_pg_pool::tokio_postgres::types::ToSql;
use lightrag_pg_pool::{PgPool, db_error};
use serde_json::{Value, json};

/// Python's `PGDocStatusStorage.upsert` SQL (lightrag-hku 1.5.7), verbatim.
const PY_UPSERT: &str = "insert into LIGHTRAG_DOC_STATUS(workspace,id,content_summary,content_length,chunks_count,status,file_path,chunks_list,track_id,metadata,error_msg,content_hash,created_at,updated_at)
                 values($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
                  on conflict(id,workspace) do update set
                  content_summary = EXCLUDED.content_summary,
                  content_length = EXCLUDED.content_length,
                  chunks_count = EXCLUDED.chunks_count,
                  status = EXCLUDED.status,
                  file_path = EXCLUDED.file_path,
                  chunks_list = EXCLUDED.chunks_list,
                  track_id = EXCLUDED.track_id,
                  metadata = EXCLUDED.metadata,
                  error_msg = EXCLUDED.error_msg,
                  content_hash = COALESCE(
                      NULLIF(EXCLUDED.content_hash, ''),
                      LIGHTRAG_DOC_STATUS.content_hash
                  ),
                  created_at = EXCLUDED.created_at,
                  updated_at = EXCLUDED.updated_at";

/// Python's `_parse_doc_status_datetime` for the values the pipeline passes: an
/// ISO string (with or without an offset) → UTC-naive; `None` → `NULL`.
fn py_datetime(v: Option<&Value>) -> Option<NaiveDateTime> {
    v.and_then(Value::as_str).and_then(parse_iso).map(|t| t.naive_utc())
}

/// Executes what Python's `upsert({id: doc})` executes for one document dict
/// (the shape `asdict(DocProcessingStatus)` gives: ISO-string times).
async fn python_upsert(pool: &PgPool, ws: &Workspace, id: &str, d: &JsonObject) {
    let conn = pool.get().await.expect("connection");
    let text = |f: &str| d.get(f).and_then(Value::as_str).map(str::to_owned);
    let int = |f: &str| d.get(f).and_then(Value::as_i64).map(|n| i32::try_from(n).expect("int4"));
    // v.get("chunks_count", -1): only an absent key defaults; None stays NULL.
    let chunks_count = if d.contains_key("chunks_count") { int("chunks_count") } else { Some(-1) };
    let chunks_list = JsonText::dumps(d.get("chunks_list").unwrap_or(&json!([])));
    let metadata = JsonText::dumps(d.get("metadata").unwrap_or(&json!({})));
    let (created, updated) = (py_datetime(d.get("created_at")), py_datetime(d.get("updated_at")));
    let params: [&(dyn ToSql + Sync); 14] = [
        &ws.as_str(),
        &id,
        &text("content_summary"),
        &int("content_length"),
        &chunks_count,
        &text("status"),
        &text("file_path"),
        &chunks_list,
        &text("track_id"),
        &metadata,
        &text("error_msg"),
        &text("content_hash"),
        &created,
        &updated,
    ];
    conn.execute(PY_UPSERT, &params).await.map_err(db_error).expect("Python's upsert statement");
}

async fn open(pool: &PgPool, ws: &Workspace) -> PgDocStatusStorage {
    let s = PgDocStatusStorage::new(pool.clone(), ws.clone()).expect("storage");
    s.initialize().await.expect("initialize");
    s
}

async fn rows(pool: &PgPool, ws: &Workspace) -> Vec<Value> {
    let conn = pool.get().await.expect("connection");
    conn.query(
        "SELECT to_jsonb(t) - 'workspace' FROM lightrag_doc_status t WHERE workspace = $1 ORDER BY id",
        &[&ws.as_str()],
    )
    .await
    .map_err(db_error)
    .expect("select")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

fn utc(s: &str) -> DateTime<Utc> {
    parse_iso(s).expect("ISO time")
}

/// A document as LightRAG's pipeline hands it to `upsert` (`asdict` of
/// `DocProcessingStatus`, plus a field the storage drops).
fn python_doc() -> JsonObject {
    obj(json!({
        "content_summary": "Alice Smith founded Acme Robotics in Berlin. 实体 🙂",
        "content_length": 97,
        "file_path": "a.txt",
        "status": "processed",
        "created_at": "2025-01-02T03:04:05.123456+00:00",
        "updated_at": "2025-01-02T03:09:00+00:00",
        "track_id": "insert_20250102_030405_de6ee075",
        "chunks_count": 1,
        "chunks_list": ["doc-a5e5-chunk-000"],
        "error_msg": null,
        "metadata": {"chunk_method": "legacy_chunking_func", "parse_start_time": 1795927826, "parse_stage_skipped": true},
        "content_hash": "7aefa3ebc935202f974dec1a3205aace",
        "multimodal_processed": true
    }))
}

/// The same document as our type.
fn our_doc() -> DocProcessingStatus {
    DocProcessingStatus {
        content_summary: "Alice Smith founded Acme Robotics in Berlin. 实体 🙂".into(),
        content_length: 97,
        file_path: "a.txt".into(),
        status: DocStatus::Processed,
        created_at: Some(utc("2025-01-02T03:04:05.123456+00:00")),
        updated_at: Some(utc("2025-01-02T03:09:00+00:00")),
        track_id: Some("insert_20250102_030405_de6ee075".into()),
        chunks_count: Some(1),
        chunks_list: vec!["doc-a5e5-chunk-000".into()],
        error_msg: None,
        metadata: obj(
            json!({"chunk_method": "legacy_chunking_func", "parse_start_time": 1795927826, "parse_stage_skipped": true}),
        ),
        content_hash: Some("7aefa3ebc935202f974dec1a3205aace".into()),
    }
}

#[tokio::test]
async fn a_python_row_reads_back_as_the_same_document() {
    let pool = common::pool().await;
    let ws = common::workspace("dspy");
    let s = open(&pool, &ws).await;
    python_upsert(&pool, &ws, "doc-a", &python_doc()).await;
    assert_eq!(
        s.get_by_id("doc-a").await.expect("get_by_id"),
        Some(our_doc()),
        "every field, UTC times with microseconds"
    );
    assert_eq!(s.get_by_ids(&["doc-a".into()]).await.expect("get_by_ids"), vec![Some(our_doc())]);
    let listed = s.get_docs_by_statuses(&[DocStatus::Processed]).await.expect("get_docs_by_statuses");
    assert_eq!(listed, vec![("doc-a".to_owned(), our_doc())]);
    s.drop_all().await.expect("drop_all");
}

#[tokio::test]
async fn our_row_equals_pythons_row_column_by_column() {
    let pool = common::pool().await;
    let (py_ws, rs_ws) = (common::workspace("dspy"), common::workspace("dsrs"));
    let ours = open(&pool, &rs_ws).await;
    python_upsert(&pool, &py_ws, "doc-a", &python_doc()).await;
    ours.upsert(vec![("doc-a".into(), our_doc())]).await.expect("upsert");
    let (py, rs) = (rows(&pool, &py_ws).await, rows(&pool, &rs_ws).await);
    assert_eq!(py.len(), 1);
    assert_eq!(rs, py, "same columns, JSON shapes and UTC-naive times");
    assert_eq!(rs[0]["created_at"], json!("2025-01-02T03:04:05.123456"), "UTC-naive TIMESTAMP with microseconds");
    ours.drop_all().await.expect("drop_all");
    open(&pool, &py_ws).await.drop_all().await.expect("drop_all");
}

#[tokio::test]
async fn python_defaults_read_back_as_minus_one_chunks_and_empty_lists() {
    let pool = common::pool().await;
    let ws = common::workspace("dspy");
    let s = open(&pool, &ws).await;
    let minimal = obj(json!({"content_summary": "s", "content_length": 1, "status": "pending", "file_path": "m.txt"}));
    python_upsert(&pool, &ws, "doc-min", &minimal).await;
    let got = s.get_by_id("doc-min").await.expect("get_by_id").expect("doc-min");
    assert_eq!(got.chunks_count, Some(-1), "Python's -1 default is kept as stored");
    assert_eq!((got.chunks_list, got.metadata), (Vec::new(), JsonObject::new()));
    assert_eq!((got.created_at, got.updated_at), (None, None), "Python binds NULL for a missing time");
    assert_eq!((got.track_id, got.error_msg, got.content_hash), (None, None, None));
    s.drop_all().await.expect("drop_all");
}

#[tokio::test]
async fn chunks_count_none_is_stored_as_null_where_python_writes_minus_one() {
    let pool = common::pool().await;
    let ws = common::workspace("dsnull");
    let s = open(&pool, &ws).await;
    s.upsert(vec![("doc-n".into(), DocProcessingStatus { chunks_count: None, ..our_doc() })]).await.expect("upsert");
    assert_eq!(rows(&pool, &ws).await[0]["chunks_count"], Value::Null);
    assert_eq!(s.get_by_id("doc-n").await.expect("get_by_id").and_then(|d| d.chunks_count), None);
    s.drop_all().await.expect("drop_all");
}

#[tokio::test]
async fn our_upsert_keeps_the_created_at_of_a_python_row_and_fills_a_null_one() {
    let pool = common::pool().await;
    let ws = common::workspace("dscreated");
    let s = open(&pool, &ws).await;
    python_upsert(&pool, &ws, "doc-a", &python_doc()).await;
    let mut nulled = python_doc();
    nulled.insert("created_at".into(), Value::Null);
    python_upsert(&pool, &ws, "doc-null", &nulled).await;
    let later =
        DocProcessingStatus { created_at: Some(utc("2026-06-01T00:00:00Z")), status: DocStatus::Failed, ..our_doc() };
    s.upsert(vec![("doc-a".into(), later.clone()), ("doc-null".into(), later.clone())]).await.expect("upsert");
    let a = s.get_by_id("doc-a").await.expect("get_by_id").expect("doc-a");
    assert_eq!(
        (a.created_at, a.status),
        (our_doc().created_at, DocStatus::Failed),
        "created_at kept, the rest written"
    );
    let n = s.get_by_id("doc-null").await.expect("get_by_id").expect("doc-null");
    assert_eq!(n.created_at, later.created_at, "a NULL created_at is filled");
    s.drop_all().await.expect("drop_all");
}

#[tokio::test]
async fn a_python_cursor_resumes_our_sweep_and_ours_is_pythons_format() {
    let pool = common::pool().await;
    let ws = common::workspace("dscursor");
    let s = open(&pool, &ws).await;
    let at = |t: &str| DocProcessingStatus { created_at: Some(utc(t)), status: DocStatus::Pending, ..our_doc() };
    s.upsert(vec![
        ("doc-1".into(), at("2025-01-02T03:04:05.123456+00:00")),
        ("doc-2".into(), at("2025-01-02T03:04:05.123456+00:00")),
        ("doc-3".into(), at("2025-01-02T03:04:06+00:00")),
    ])
    .await
    .expect("upsert");
    // json.dumps([created_at.isoformat(), id]) — with Python's ", " separator.
    let python_text = r#"["2025-01-02T03:04:05.123456+00:00", "doc-1"]"#;
    let page = s
        .get_docs_by_statuses_page(&[DocStatus::Pending], 1, &DocStatusCursor::After(python_text.into()))
        .await
        .expect("page");
    assert_eq!(page.docs.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), vec!["doc-2"]);
    let DocStatusCursor::After(ours) = page.next else { panic!("a full page continues: {:?}", page.next) };
    let (iso, id): (Option<String>, String) = serde_json::from_str(&ours).expect("a JSON [time, id] pair");
    assert_eq!(
        (iso.as_deref(), id.as_str()),
        (Some("2025-01-02T03:04:05.123456+00:00"), "doc-2"),
        "isoformat() with +00:00"
    );
    s.drop_all().await.expect("drop_all");
}

#[tokio::test]
async fn python_rows_with_a_null_created_at_are_swept_first() {
    let pool = common::pool().await;
    let ws = common::workspace("dsnullsweep");
    let s = open(&pool, &ws).await;
    for (id, created) in [("doc-b", Value::Null), ("doc-a", json!("2025-01-01T00:00:00+00:00")), ("doc-c", Value::Null)]
    {
        let mut d = python_doc();
        d.insert("created_at".into(), created);
        d.insert("status".into(), json!("pending"));
        python_upsert(&pool, &ws, id, &d).await;
    }
    let mut seen = Vec::new();
    let mut pos = DocStatusCursor::Start;
    while pos != DocStatusCursor::End {
        let page = s.get_docs_by_statuses_page(&[DocStatus::Pending], 1, &pos).await.expect("page");
        seen.extend(page.docs.into_iter().map(|(id, _)| id));
        pos = page.next;
    }
    assert_eq!(seen, vec!["doc-b", "doc-c", "doc-a"], "NULL bucket first (by id), then by time");
    s.drop_all().await.expect("drop_all");
}

#[tokio::test]
async fn a_non_boolean_is_duplicate_does_not_make_lookups_fail() {
    let pool = common::pool().await;
    let ws = common::workspace("dsdup");
    let s = open(&pool, &ws).await;
    for (id, meta) in [
        ("doc-str", json!({"is_duplicate": "yes", "original_doc_id": "doc-x"})),
        ("doc-num", json!({"is_duplicate": 1})),
        ("doc-dup", json!({"is_duplicate": true, "original_doc_id": "doc-str"})),
    ] {
        let mut d = python_doc();
        d.insert("metadata".into(), meta);
        python_upsert(&pool, &ws, id, &d).await;
    }
    // Python's `(metadata->>'is_duplicate')::boolean` raises on "yes"; only a
    // JSON `true` marks a duplicate here, as `DocProcessingStatus::is_primary`.
    let by_name = s.get_doc_by_file_basename("a.txt").await.expect("basename lookup must not fail");
    assert_eq!(by_name.map(|(id, _)| id), Some("doc-num".to_owned()), "earliest primary row (ties by id)");
    let by_hash =
        s.get_doc_by_content_hash("7aefa3ebc935202f974dec1a3205aace", Some("doc-str")).await.expect("hash lookup");
    assert_eq!(by_hash.map(|(id, _)| id), Some("doc-num".to_owned()), "skips doc-str and the duplicate pointing to it");
    s.delete(&["doc-num".into()]).await.expect("delete");
    let by_name = s.get_doc_by_file_basename("a.txt").await.expect("basename lookup");
    assert_eq!(by_name.map(|(id, _)| id), Some("doc-str".to_owned()), "a string is_duplicate is a primary row");
    s.drop_all().await.expect("drop_all");
}

#[tokio::test]
async fn status_counts_and_listings_read_python_rows() {
    let pool = common::pool().await;
    let ws = common::workspace("dslist");
    let s = open(&pool, &ws).await;
    for (i, status) in ["pending", "processed", "processed", "failed"].iter().enumerate() {
        let mut d = python_doc();
        d.insert("status".into(), json!(status));
        d.insert("track_id".into(), json!("t-1"));
        python_upsert(&pool, &ws, &format!("doc-{i}"), &d).await;
    }
    let c = s.status_counts().await.expect("status_counts");
    assert_eq!(
        (c.count(DocStatus::Pending), c.count(DocStatus::Processed), c.count(DocStatus::Failed), c.total),
        (1, 2, 1, 4)
    );
    assert_eq!(s.get_docs_by_track_id("t-1").await.expect("by track").len(), 4);
    assert_eq!(s.count_docs_by_statuses(&[DocStatus::Processed, DocStatus::Failed]).await.expect("count"), 3);
    s.drop_all().await.expect("drop_all");
}
