//! Compatibility with Python LightRAG 1.5.7 (spec §6).
//!
//! Both directions: rows written with Python's exact SQL and the parameters its
//! `PGKVStorage.upsert` binds read back through [`PgKvStorage`] as Python reads
//! them; and rows written by [`PgKvStorage`] equal, column by column, the rows
//! Python writes for the same record.

mod common;

use chrono::{NaiveDate, NaiveDateTime, Utc};
use common::{JsonText, obj, py_dumps};
use lightrag_pg_core::{JsonObject, KvNamespace, KvStorage, Storage, Workspace};
use lightrag_pg_kv::PgKvStorage;
use lightrag_pg_pool::tokio_postgres::types::ToSql;
use lightrag_pg_pool::{PgPool, db_error};
use serde_json::{Value, json};

// Python's SQL_TEMPLATES (lightrag/kg/postgres_impl.py, lightrag-hku 1.5.7), verbatim.
const PY_UPSERT_DOC_FULL: &str = "INSERT INTO LIGHTRAG_DOC_FULL (id, content, doc_name, workspace,
                            sidecar_location, parse_format, content_hash,
                            process_options, chunk_options, parse_engine)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                        ON CONFLICT (workspace,id) DO UPDATE
                           SET content = EXCLUDED.content,
                               doc_name = EXCLUDED.doc_name,
                               sidecar_location = COALESCE(
                                   NULLIF(EXCLUDED.sidecar_location, ''),
                                   LIGHTRAG_DOC_FULL.sidecar_location
                               ),
                               parse_format = COALESCE(
                                   NULLIF(EXCLUDED.parse_format, ''),
                                   LIGHTRAG_DOC_FULL.parse_format
                               ),
                               content_hash = COALESCE(
                                   NULLIF(EXCLUDED.content_hash, ''),
                                   LIGHTRAG_DOC_FULL.content_hash
                               ),
                               process_options = COALESCE(
                                   NULLIF(EXCLUDED.process_options, ''),
                                   LIGHTRAG_DOC_FULL.process_options
                               ),
                               chunk_options = CASE
                                   WHEN EXCLUDED.chunk_options IS NULL
                                     OR EXCLUDED.chunk_options = '{}'::jsonb
                                   THEN LIGHTRAG_DOC_FULL.chunk_options
                                   ELSE EXCLUDED.chunk_options
                               END,
                               parse_engine = COALESCE(
                                   NULLIF(EXCLUDED.parse_engine, ''),
                                   LIGHTRAG_DOC_FULL.parse_engine
                               ),
                               update_time = CURRENT_TIMESTAMP
                       ";
const PY_UPSERT_LLM_CACHE: &str =
    "INSERT INTO LIGHTRAG_LLM_CACHE(workspace,id,original_prompt,return_value,chunk_id,cache_type,queryparam)
                                      VALUES ($1, $2, $3, $4, $5, $6, $7)
                                      ON CONFLICT (workspace,id) DO UPDATE
                                      SET original_prompt = EXCLUDED.original_prompt,
                                      return_value=EXCLUDED.return_value,
                                      chunk_id=EXCLUDED.chunk_id,
                                      cache_type=EXCLUDED.cache_type,
                                      queryparam=EXCLUDED.queryparam,
                                      update_time = CURRENT_TIMESTAMP
                                     ";
const PY_UPSERT_TEXT_CHUNK: &str = "INSERT INTO LIGHTRAG_DOC_CHUNKS (workspace, id, tokens,
                      chunk_order_index, full_doc_id, content, file_path, llm_cache_list,
                      heading, sidecar, create_time, update_time)
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                      ON CONFLICT (workspace,id) DO UPDATE
                      SET tokens=EXCLUDED.tokens,
                      chunk_order_index=EXCLUDED.chunk_order_index,
                      full_doc_id=EXCLUDED.full_doc_id,
                      content = EXCLUDED.content,
                      file_path=EXCLUDED.file_path,
                      llm_cache_list=EXCLUDED.llm_cache_list,
                      heading=EXCLUDED.heading,
                      sidecar=EXCLUDED.sidecar,
                      update_time = EXCLUDED.update_time
                     ";
/// `upsert_full_entities`; the other three list tables differ only in names.
const PY_UPSERT_LIST_TEMPLATE: &str = "INSERT INTO {TABLE} (workspace, id, {LIST}, count,
                      create_time, update_time)
                      VALUES ($1, $2, $3, $4, $5, $6)
                      ON CONFLICT (workspace,id) DO UPDATE
                      SET {LIST}=EXCLUDED.{LIST},
                      count=EXCLUDED.count,
                      update_time = EXCLUDED.update_time
                     ";

fn list_field(ns: KvNamespace) -> &'static str {
    match ns {
        KvNamespace::FullEntities => "entity_names",
        KvNamespace::FullRelations => "relation_pairs",
        _ => "chunk_ids",
    }
}

/// Python truthiness.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

fn text<'a>(rec: &'a JsonObject, field: &str) -> Option<&'a str> {
    rec.get(field).and_then(Value::as_str)
}

fn int(rec: &JsonObject, field: &str) -> Option<i32> {
    rec.get(field).and_then(Value::as_i64).map(|n| i32::try_from(n).expect("int4"))
}

/// Executes what Python's `PGKVStorage.upsert({id: rec})` executes: the same SQL
/// with the same parameters (a `now` is the call's UTC-naive time).
async fn python_upsert(pool: &PgPool, ns: KvNamespace, ws: &Workspace, id: &str, rec: &JsonObject, now: NaiveDateTime) {
    let conn = pool.get().await.expect("connection");
    let ws = ws.as_str();
    let result = match ns {
        KvNamespace::TextChunks => {
            let llm_cache_list = JsonText::dumps(rec.get("llm_cache_list").unwrap_or(&json!([])));
            let or_empty = |f: &str| {
                if truthy(rec.get(f)) { JsonText::dumps(&rec[f]) } else { JsonText::dumps(&json!({})) }
            };
            let (heading, sidecar) = (or_empty("heading"), or_empty("sidecar"));
            let params: [&(dyn ToSql + Sync); 12] = [
                &ws,
                &id,
                &int(rec, "tokens"),
                &int(rec, "chunk_order_index"),
                &text(rec, "full_doc_id"),
                &text(rec, "content"),
                &text(rec, "file_path"),
                &llm_cache_list,
                &heading,
                &sidecar,
                &now,
                &now,
            ];
            conn.execute(PY_UPSERT_TEXT_CHUNK, &params).await
        }
        KvNamespace::FullDocs => {
            let doc_name = if rec.contains_key("file_path") { text(rec, "file_path") } else { Some("") };
            let chunk_options = if truthy(rec.get("chunk_options")) {
                JsonText::dumps(&rec["chunk_options"])
            } else {
                JsonText::dumps(&json!({}))
            };
            let params: [&(dyn ToSql + Sync); 10] = [
                &id,
                &text(rec, "content"),
                &doc_name,
                &ws,
                &text(rec, "sidecar_location"),
                &text(rec, "parse_format"),
                &text(rec, "content_hash"),
                &text(rec, "process_options"),
                &chunk_options,
                &text(rec, "parse_engine"),
            ];
            conn.execute(PY_UPSERT_DOC_FULL, &params).await
        }
        KvNamespace::LlmResponseCache => {
            let cache_type = if rec.contains_key("cache_type") { text(rec, "cache_type") } else { Some("extract") };
            let queryparam =
                if truthy(rec.get("queryparam")) { JsonText::dumps(&rec["queryparam"]) } else { JsonText(None) };
            let params: [&(dyn ToSql + Sync); 7] = [
                &ws,
                &id,
                &text(rec, "original_prompt"),
                &text(rec, "return"),
                &text(rec, "chunk_id"),
                &cache_type,
                &queryparam,
            ];
            conn.execute(PY_UPSERT_LLM_CACHE, &params).await
        }
        _ => {
            let field = list_field(ns);
            let sql = PY_UPSERT_LIST_TEMPLATE.replace("{TABLE}", ns.table()).replace("{LIST}", field);
            let list = JsonText::dumps(&rec[field]);
            let params: [&(dyn ToSql + Sync); 6] = [&ws, &id, &list, &int(rec, "count"), &now, &now];
            conn.execute(sql.as_str(), &params).await
        }
    };
    result.expect("Python's upsert statement");
}

async fn open(pool: &PgPool, ns: KvNamespace, ws: &Workspace) -> PgKvStorage {
    let s = PgKvStorage::new(pool.clone(), ns, ws.clone()).expect("storage");
    s.initialize().await.expect("initialize");
    s
}

/// Every column of every row of the workspace except `workspace` and the
/// timestamps, as JSON, by id.
async fn rows_without_times(pool: &PgPool, ns: KvNamespace, ws: &Workspace) -> Vec<Value> {
    let conn = pool.get().await.expect("connection");
    let sql = format!(
        "SELECT to_jsonb(t) - 'workspace' - 'create_time' - 'update_time' FROM {} t WHERE workspace = $1 ORDER BY id",
        ns.table()
    );
    conn.query(sql.as_str(), &[&ws.as_str()])
        .await
        .map_err(db_error)
        .expect("select")
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// `(create_time, update_time)` of one row, UTC-naive.
async fn times(pool: &PgPool, ns: KvNamespace, ws: &Workspace, id: &str) -> (NaiveDateTime, NaiveDateTime) {
    let conn = pool.get().await.expect("connection");
    let sql = format!("SELECT create_time, update_time FROM {} WHERE workspace = $1 AND id = $2", ns.table());
    let row = conn.query_one(sql.as_str(), &[&ws.as_str(), &id]).await.map_err(db_error).expect("select");
    (row.get(0), row.get(1))
}

async fn drop_both(pool: &PgPool, ns: KvNamespace, a: &Workspace, b: &Workspace) {
    open(pool, ns, a).await.drop_all().await.expect("drop_all");
    open(pool, ns, b).await.drop_all().await.expect("drop_all");
}

/// 2025-01-02 03:04:05.600 UTC-naive (rounds to :06 in a `TIMESTAMP(0)`).
fn fixed_now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, 1, 2).and_then(|d| d.and_hms_milli_opt(3, 4, 5, 600)).expect("date")
}

/// Epoch seconds of 2025-01-02 03:04:06 UTC.
const FIXED_EPOCH: i64 = 1_735_787_046;

/// Records per namespace that exercise LightRAG's defaults (absent, `null` and
/// empty values) and text that JSON and SQL quoting get wrong.
fn samples(ns: KvNamespace) -> Vec<(&'static str, JsonObject)> {
    match ns {
        KvNamespace::FullDocs => vec![
            (
                "doc-full",
                obj(json!({"content": "全文 🙂 'q' \"dq\" $$ \\ }", "file_path": "a.txt",
                "sidecar_location": "s3://bucket/a.json", "parse_format": "markdown", "content_hash": "abc123",
                "process_options": "ocr=1", "chunk_options": {"chunk_token_size": 1200, "split": "\n\n"},
                "parse_engine": "mineru"})),
            ),
            ("doc-min", obj(json!({"content": "only content"}))),
            ("doc-nulls", obj(json!({"content": "c", "file_path": null, "parse_format": null, "chunk_options": {}}))),
        ],
        KvNamespace::TextChunks => vec![
            (
                "chunk-full",
                obj(json!({"tokens": 97, "chunk_order_index": 0, "full_doc_id": "doc-full",
                "content": "Alice 实体 🙂 'q'", "file_path": "a.txt",
                "llm_cache_list": ["default:extract:5a61", "default:summary:3c7b"],
                "heading": {"level": 2, "text": "标题", "path": ["a", "b"]}, "sidecar": {"page": 7}})),
            ),
            (
                "chunk-defaults",
                obj(json!({"tokens": 1, "chunk_order_index": 1, "full_doc_id": "doc-full",
                "content": "c", "file_path": "a.txt", "heading": null, "sidecar": {}})),
            ),
            (
                "chunk-null-list",
                obj(json!({"tokens": null, "chunk_order_index": 2, "full_doc_id": null,
                "content": "c", "file_path": null, "llm_cache_list": null})),
            ),
        ],
        KvNamespace::LlmResponseCache => vec![
            (
                "local:keywords:cf74",
                obj(json!({"original_prompt": "What did Alice build?",
                "return": "{\"high_level_keywords\": [\"机器人\"]}", "cache_type": "keywords", "chunk_id": null,
                "queryparam": {"mode": "local", "top_k": 40}})),
            ),
            (
                "default:extract:5a61",
                obj(json!({"original_prompt": "---Task---", "return": "entity<|#|>Alice",
                "chunk_id": "chunk-full", "queryparam": {}})),
            ),
        ],
        KvNamespace::FullEntities => {
            vec![("doc-full", obj(json!({"entity_names": ["Acme", "Alice", "柏林"], "count": 3})))]
        }
        KvNamespace::FullRelations => {
            vec![("doc-full", obj(json!({"relation_pairs": [["Acme", "Alice"], ["Alice", "柏林"]], "count": 2})))]
        }
        KvNamespace::EntityChunks => {
            vec![("Alice 'the' \"first\"", obj(json!({"chunk_ids": ["chunk-full", "chunk-defaults"], "count": 2})))]
        }
        KvNamespace::RelationChunks => {
            vec![("Acme<SEP>Alice", obj(json!({"chunk_ids": ["chunk-full"], "count": 1})))]
        }
    }
}

#[test]
fn py_dumps_matches_python_json_dumps() {
    let v = json!({"a": [1, "é", "🙂"], "b": {"c": null, "d": true}, "q": "\"\\\n"});
    assert_eq!(py_dumps(&v), r#"{"a": [1, "\u00e9", "\ud83d\ude42"], "b": {"c": null, "d": true}, "q": "\"\\\n"}"#);
}

#[tokio::test]
async fn every_namespace_writes_the_columns_python_writes() {
    let pool = common::pool().await;
    for ns in KvNamespace::ALL {
        let (py_ws, rs_ws) = (common::workspace("kvpy"), common::workspace("kvrs"));
        let ours = open(&pool, ns, &rs_ws).await;
        let now = Utc::now().naive_utc();
        for (id, rec) in samples(ns) {
            python_upsert(&pool, ns, &py_ws, id, &rec, now).await;
        }
        ours.upsert(samples(ns).into_iter().map(|(id, r)| (id.to_owned(), r)).collect()).await.expect("upsert");
        let (py, rs) = (rows_without_times(&pool, ns, &py_ws).await, rows_without_times(&pool, ns, &rs_ws).await);
        assert_eq!(py.len(), samples(ns).len(), "{ns}: Python rows");
        assert_eq!(rs, py, "{ns}: our rows equal Python's, column by column (JSON shapes included)");
        drop_both(&pool, ns, &py_ws, &rs_ws).await;
    }
}

#[tokio::test]
async fn our_timestamps_are_one_utc_naive_now_per_call() {
    let pool = common::pool().await;
    for ns in KvNamespace::ALL {
        let ws = common::workspace("kvts");
        let s = open(&pool, ns, &ws).await;
        let before = Utc::now().naive_utc();
        s.upsert(samples(ns).into_iter().map(|(id, r)| (id.to_owned(), r)).collect()).await.expect("upsert");
        let after = Utc::now().naive_utc();
        let mut seen = Vec::new();
        for (id, _) in samples(ns) {
            let (create, update) = times(&pool, ns, &ws, id).await;
            assert_eq!(create, update, "{ns}/{id}: create_time = update_time on insert");
            // TIMESTAMP(0) columns round to the second.
            let slack = chrono::Duration::milliseconds(500);
            assert!(
                create >= before - slack && create <= after + slack,
                "{ns}/{id}: {create} is not UTC now ({before})"
            );
            seen.push(create);
        }
        seen.dedup();
        assert_eq!(seen.len(), 1, "{ns}: one now for the whole call");
        s.drop_all().await.expect("drop_all");
    }
}

#[tokio::test]
async fn text_chunks_written_by_python_read_back_as_python_reads_them() {
    let pool = common::pool().await;
    let ws = common::workspace("kvpyread");
    let s = open(&pool, KvNamespace::TextChunks, &ws).await;
    for (id, rec) in samples(KvNamespace::TextChunks) {
        python_upsert(&pool, KvNamespace::TextChunks, &ws, id, &rec, fixed_now()).await;
    }
    let ids: Vec<String> = ["chunk-full", "chunk-defaults", "chunk-null-list"].map(String::from).to_vec();
    let got = s.get_by_ids(&ids).await.expect("get_by_ids");
    let full = json!({"id": "chunk-full", "tokens": 97, "content": "Alice 实体 🙂 'q'", "chunk_order_index": 0,
        "full_doc_id": "doc-full", "file_path": "a.txt",
        "llm_cache_list": ["default:extract:5a61", "default:summary:3c7b"],
        "heading": {"level": 2, "text": "标题", "path": ["a", "b"]}, "sidecar": {"page": 7},
        "create_time": FIXED_EPOCH, "update_time": FIXED_EPOCH});
    assert_eq!(got[0], Some(obj(full)), "a complete chunk");
    let defaults = json!({"id": "chunk-defaults", "tokens": 1, "content": "c", "chunk_order_index": 1,
        "full_doc_id": "doc-full", "file_path": "a.txt", "llm_cache_list": [], "heading": {}, "sidecar": {},
        "create_time": FIXED_EPOCH, "update_time": FIXED_EPOCH});
    assert_eq!(got[1], Some(obj(defaults)), "Python's defaults: [] and {{}}");
    let nulls = json!({"id": "chunk-null-list", "tokens": null, "content": "c", "chunk_order_index": 2,
        "full_doc_id": null, "file_path": null, "llm_cache_list": null, "heading": {}, "sidecar": {},
        "create_time": FIXED_EPOCH, "update_time": FIXED_EPOCH});
    assert_eq!(got[2], Some(obj(nulls)), "NULL columns and a JSON null list read as null");
    assert_eq!(s.get_by_id("chunk-full").await.expect("get_by_id"), got[0], "get_by_id agrees with get_by_ids");
    s.drop_all().await.expect("drop_all");
}

#[tokio::test]
async fn full_docs_written_by_python_read_back_with_file_path_and_no_timestamps() {
    let pool = common::pool().await;
    let ws = common::workspace("kvpyread");
    let s = open(&pool, KvNamespace::FullDocs, &ws).await;
    for (id, rec) in samples(KvNamespace::FullDocs) {
        python_upsert(&pool, KvNamespace::FullDocs, &ws, id, &rec, fixed_now()).await;
    }
    let full = json!({"id": "doc-full", "content": "全文 🙂 'q' \"dq\" $$ \\ }", "file_path": "a.txt",
        "sidecar_location": "s3://bucket/a.json", "parse_format": "markdown", "content_hash": "abc123",
        "process_options": "ocr=1", "chunk_options": {"chunk_token_size": 1200, "split": "\n\n"},
        "parse_engine": "mineru"});
    assert_eq!(s.get_by_id("doc-full").await.expect("get_by_id"), Some(obj(full)), "doc_name reads as file_path");
    let min = json!({"id": "doc-min", "content": "only content", "file_path": "", "sidecar_location": null,
        "parse_format": null, "content_hash": null, "process_options": null, "chunk_options": {},
        "parse_engine": null});
    assert_eq!(
        s.get_by_id("doc-min").await.expect("get_by_id"),
        Some(obj(min)),
        "an explicit NULL parse_format stays null"
    );
    let nulls = s.get_by_id("doc-nulls").await.expect("get_by_id").expect("doc-nulls");
    assert_eq!(nulls["file_path"], json!(""), "a NULL doc_name reads as \"\"");
    s.drop_all().await.expect("drop_all");
}

#[tokio::test]
async fn llm_cache_written_by_python_reads_back_return_and_return_value() {
    let pool = common::pool().await;
    let ws = common::workspace("kvpyread");
    let s = open(&pool, KvNamespace::LlmResponseCache, &ws).await;
    for (id, rec) in samples(KvNamespace::LlmResponseCache) {
        python_upsert(&pool, KvNamespace::LlmResponseCache, &ws, id, &rec, fixed_now()).await;
    }
    let before = Utc::now().timestamp() - 5;
    let got = s.get_by_id("local:keywords:cf74").await.expect("get_by_id").expect("cache entry");
    let ret = "{\"high_level_keywords\": [\"机器人\"]}";
    assert_eq!(got["return"], json!(ret), "return");
    assert_eq!(got["return_value"], json!(ret), "return_value");
    assert_eq!(got["original_prompt"], json!("What did Alice build?"));
    assert_eq!(got["cache_type"], json!("keywords"));
    assert_eq!(got["chunk_id"], Value::Null);
    assert_eq!(got["queryparam"], json!({"mode": "local", "top_k": 40}));
    let create = got["create_time"].as_i64().expect("epoch create_time");
    assert!(create >= before, "create_time from the column default: {create}");
    assert_eq!(got["update_time"], got["create_time"], "update_time");
    let extract = s.get_by_id("default:extract:5a61").await.expect("get_by_id").expect("entry");
    assert_eq!(extract["cache_type"], json!("extract"), "Python's default cache_type");
    assert_eq!(extract["queryparam"], Value::Null, "an empty queryparam is stored as NULL");
    s.drop_all().await.expect("drop_all");
}

#[tokio::test]
async fn entity_and_relation_rows_written_by_python_read_back() {
    let pool = common::pool().await;
    for ns in
        [KvNamespace::FullEntities, KvNamespace::FullRelations, KvNamespace::EntityChunks, KvNamespace::RelationChunks]
    {
        let ws = common::workspace("kvpyread");
        let s = open(&pool, ns, &ws).await;
        let (id, rec) = samples(ns).remove(0);
        python_upsert(&pool, ns, &ws, id, &rec, fixed_now()).await;
        let field = list_field(ns);
        let want = json!({"id": id, field: rec[field], "count": rec["count"],
            "create_time": FIXED_EPOCH, "update_time": FIXED_EPOCH});
        assert_eq!(s.get_by_id(id).await.expect("get_by_id"), Some(obj(want)), "{ns}");
        s.drop_all().await.expect("drop_all");
    }
}

#[tokio::test]
async fn update_time_of_zero_reads_as_create_time() {
    let pool = common::pool().await;
    let ws = common::workspace("kvzero");
    let s = open(&pool, KvNamespace::EntityChunks, &ws).await;
    python_upsert(
        &pool,
        KvNamespace::EntityChunks,
        &ws,
        "Alice",
        &samples(KvNamespace::EntityChunks)[0].1,
        fixed_now(),
    )
    .await;
    let conn = pool.get().await.expect("connection");
    conn.execute("UPDATE lightrag_entity_chunks SET update_time = 'epoch' WHERE workspace = $1", &[&ws.as_str()])
        .await
        .expect("update");
    let got = s.get_by_id("Alice").await.expect("get_by_id").expect("row");
    assert_eq!(got["update_time"], json!(FIXED_EPOCH), "update_time 0 → create_time");
    s.drop_all().await.expect("drop_all");
}

#[tokio::test]
async fn non_object_heading_and_chunk_options_read_as_empty_objects() {
    let pool = common::pool().await;
    let ws = common::workspace("kvshape");
    let chunks = open(&pool, KvNamespace::TextChunks, &ws).await;
    let docs = open(&pool, KvNamespace::FullDocs, &ws).await;
    let conn = pool.get().await.expect("connection");
    conn.execute(
        "INSERT INTO lightrag_doc_chunks (workspace, id, content, heading, sidecar) VALUES ($1, 'c', 'x', '\"h\"', '[1]')",
        &[&ws.as_str()],
    )
    .await
    .expect("insert chunk");
    conn.execute(
        "INSERT INTO lightrag_doc_full (workspace, id, content, chunk_options) VALUES ($1, 'd', 'x', '[]')",
        &[&ws.as_str()],
    )
    .await
    .expect("insert doc");
    let c = chunks.get_by_id("c").await.expect("get_by_id").expect("chunk");
    assert_eq!((&c["heading"], &c["sidecar"]), (&json!({}), &json!({})), "non-objects read as {{}} like Python");
    assert_eq!(c["llm_cache_list"], json!([]), "a NULL list reads as []");
    let d = docs.get_by_id("d").await.expect("get_by_id").expect("doc");
    assert_eq!(d["chunk_options"], json!({}));
    chunks.drop_all().await.expect("drop_all");
    docs.drop_all().await.expect("drop_all");
}

#[tokio::test]
async fn a_partial_full_docs_upsert_keeps_python_written_pipeline_metadata() {
    let pool = common::pool().await;
    let ws = common::workspace("kvpartial");
    let s = open(&pool, KvNamespace::FullDocs, &ws).await;
    let (id, full) = samples(KvNamespace::FullDocs).remove(0);
    python_upsert(&pool, KvNamespace::FullDocs, &ws, id, &full, fixed_now()).await;
    let partial = obj(json!({"content": "new text", "file_path": "b.txt", "parse_format": "", "chunk_options": {}}));
    s.upsert(vec![(id.to_owned(), partial)]).await.expect("partial upsert");
    let got = s.get_by_id(id).await.expect("get_by_id").expect("doc");
    assert_eq!(
        (&got["content"], &got["file_path"]),
        (&json!("new text"), &json!("b.txt")),
        "content and doc_name are replaced"
    );
    for field in
        ["sidecar_location", "parse_format", "content_hash", "process_options", "chunk_options", "parse_engine"]
    {
        assert_eq!(got[field], full[field], "{field} survives an empty or absent value");
    }
    s.drop_all().await.expect("drop_all");
}

#[tokio::test]
async fn create_time_survives_our_update_of_a_python_row() {
    let pool = common::pool().await;
    let ws = common::workspace("kvcreate");
    let s = open(&pool, KvNamespace::TextChunks, &ws).await;
    let (id, rec) = samples(KvNamespace::TextChunks).remove(0);
    python_upsert(&pool, KvNamespace::TextChunks, &ws, id, &rec, fixed_now()).await;
    s.upsert(vec![(id.to_owned(), rec)]).await.expect("upsert");
    let got = s.get_by_id(id).await.expect("get_by_id").expect("chunk");
    assert_eq!(got["create_time"], json!(FIXED_EPOCH), "create_time is never changed on conflict");
    assert!(got["update_time"].as_i64() > Some(FIXED_EPOCH), "update_time moves to now");
    s.drop_all().await.expect("drop_all");
}
