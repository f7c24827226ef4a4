//! Hand-run timings (ignored by default): KV upsert of 10,000 chunk records and
//! `get_by_ids` of 1,000 ids, median of 5, plus the binary-COPY alternative to
//! the UNNEST upsert for comparison.
//!
//! `cargo test -p lightrag-pg-kv --release --test timing -- --ignored --nocapture --test-threads 1`

#![allow(clippy::print_stdout)]

mod common;

use std::pin::pin;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::obj;
use lightrag_pg_core::{JsonObject, KvNamespace, KvStorage, Storage};
use lightrag_pg_kv::PgKvStorage;
use lightrag_pg_pool::tokio_postgres::binary_copy::BinaryCopyInWriter;
use lightrag_pg_pool::tokio_postgres::types::{ToSql, Type};
use lightrag_pg_pool::{PgPool, db_error};
use serde_json::{Value, json};

const N: usize = 10_000;
const RUNS: usize = 5;

/// A chunk record of LightRAG's shape with about 4 KB of content (a 1,200-token
/// chunk).
fn chunk(i: usize) -> (String, JsonObject) {
    let sentence = format!("Chunk {i}: Alice Smith founded Acme Robotics in Berlin; 实体 🙂 and 'quotes'. ");
    let content = sentence.repeat(4_000 / sentence.len() + 1);
    let rec = obj(json!({
        "tokens": 1200,
        "chunk_order_index": i % 40,
        "full_doc_id": format!("doc-{:032x}", i / 40),
        "content": content,
        "file_path": format!("file-{}.pdf", i / 40),
        "llm_cache_list": [format!("default:extract:{i:032x}"), format!("default:summary:{i:032x}")],
        "heading": {"level": 2, "text": format!("Section {}", i / 10)},
        "sidecar": {"page": i % 300},
    }));
    (format!("chunk-{i:032x}"), rec)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn report(what: &str, rows: usize, runs: Vec<Duration>) {
    let m = median(runs.clone());
    let rate = rows as f64 / m.as_secs_f64();
    let all: Vec<String> = runs.iter().map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0)).collect();
    println!("{what}: median {:.1} ms, {rate:.0} rows/s (runs ms: {})", m.as_secs_f64() * 1000.0, all.join(", "));
}

async fn open(pool: &PgPool) -> PgKvStorage {
    let s = PgKvStorage::new(pool.clone(), KvNamespace::TextChunks, common::workspace("kvtime")).expect("storage");
    s.initialize().await.expect("initialize");
    s
}

/// The alternative write path: binary COPY of the rows into a temporary table,
/// then one `INSERT … SELECT … ON CONFLICT` with the same semantics as ours.
async fn copy_upsert(pool: &PgPool, ws: &str, records: &[(String, JsonObject)]) {
    let mut conn = pool.get().await.expect("connection");
    let tx = conn.transaction().await.expect("begin");
    tx.batch_execute(
        "CREATE TEMP TABLE kv_stage (id text, tokens int4, chunk_order_index int4, full_doc_id text, content text, \
         file_path text, llm_cache_list jsonb, heading jsonb, sidecar jsonb) ON COMMIT DROP",
    )
    .await
    .expect("temp table");
    let sink = tx.copy_in("COPY kv_stage FROM STDIN (FORMAT binary)").await.expect("copy");
    let types =
        [Type::TEXT, Type::INT4, Type::INT4, Type::TEXT, Type::TEXT, Type::TEXT, Type::JSONB, Type::JSONB, Type::JSONB];
    let mut writer = pin!(BinaryCopyInWriter::new(sink, &types));
    for (id, r) in records {
        let int = |f: &str| r.get(f).and_then(Value::as_i64).map(|n| n as i32);
        let text = |f: &str| r.get(f).and_then(Value::as_str);
        let row: [&(dyn ToSql + Sync); 9] = [
            id,
            &int("tokens"),
            &int("chunk_order_index"),
            &text("full_doc_id"),
            &text("content"),
            &text("file_path"),
            &r["llm_cache_list"],
            &r["heading"],
            &r["sidecar"],
        ];
        writer.as_mut().write(&row).await.expect("copy row");
    }
    writer.finish().await.expect("finish copy");
    let now = Utc::now().naive_utc();
    tx.execute(
        "INSERT INTO lightrag_doc_chunks AS cur (workspace, id, tokens, chunk_order_index, full_doc_id, content, \
         file_path, llm_cache_list, heading, sidecar, create_time, update_time) \
         SELECT $1, id, tokens, chunk_order_index, full_doc_id, content, file_path, llm_cache_list, heading, sidecar, \
         $2, $2 FROM kv_stage ON CONFLICT (workspace, id) DO UPDATE SET tokens = EXCLUDED.tokens, \
         chunk_order_index = EXCLUDED.chunk_order_index, full_doc_id = EXCLUDED.full_doc_id, \
         content = EXCLUDED.content, file_path = EXCLUDED.file_path, llm_cache_list = EXCLUDED.llm_cache_list, \
         heading = EXCLUDED.heading, sidecar = EXCLUDED.sidecar, update_time = EXCLUDED.update_time",
        &[&ws, &now],
    )
    .await
    .map_err(db_error)
    .expect("merge");
    tx.commit().await.expect("commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing, run by hand"]
async fn upsert_of_ten_thousand_chunks() {
    let pool = common::pool().await;
    let records: Vec<(String, JsonObject)> = (0..N).map(chunk).collect();
    let (mut insert, mut overwrite, mut copy) = (Vec::new(), Vec::new(), Vec::new());
    let mut validate = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        for (id, r) in &records {
            lightrag_pg_core::kv::validate_record(KvNamespace::TextChunks, id, r).expect("valid");
        }
        validate.push(t.elapsed());
        let s = open(&pool).await;
        let input = records.clone();
        let t = Instant::now();
        s.upsert(input).await.expect("upsert");
        insert.push(t.elapsed());
        let input = records.clone();
        let t = Instant::now();
        s.upsert(input).await.expect("upsert again");
        overwrite.push(t.elapsed());
        s.drop_all().await.expect("drop_all");

        let ws = common::workspace("kvcopy");
        let t = Instant::now();
        copy_upsert(&pool, ws.as_str(), &records).await;
        copy.push(t.elapsed());
        PgKvStorage::new(pool.clone(), KvNamespace::TextChunks, ws)
            .expect("storage")
            .drop_all()
            .await
            .expect("drop_all");
    }
    println!("10,000 chunk records of ~4 KB content, batch {} rows:", pool.config().upsert_batch_rows);
    report("validate_record alone         ", N, validate);
    report("UNNEST upsert, new rows      ", N, insert);
    report("UNNEST upsert, existing rows ", N, overwrite);
    report("binary COPY + merge, new rows", N, copy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing, run by hand"]
async fn get_by_ids_of_a_thousand_ids() {
    let pool = common::pool().await;
    let s = open(&pool).await;
    s.upsert((0..N).map(chunk).collect()).await.expect("upsert");
    let ids: Vec<String> = (0..1_000).map(|k| chunk((k * 7_919) % N).0).collect();
    s.get_by_ids(&ids).await.expect("warm-up");
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let got = s.get_by_ids(&ids).await.expect("get_by_ids");
        runs.push(t.elapsed());
        assert!(got.iter().all(Option::is_some));
    }
    report("get_by_ids of 1,000 ids (~4 KB chunks)", 1_000, runs);
    let mut one = Vec::new();
    for id in ids.iter().take(RUNS) {
        let t = Instant::now();
        s.get_by_id(id).await.expect("get_by_id").expect("present");
        one.push(t.elapsed());
    }
    report("get_by_id of 1 id", 1, one);
    s.drop_all().await.expect("drop_all");
}

/// The UNNEST statement alone, with the column arrays built beforehand: what the
/// server and the wire cost, to compare with [`copy_upsert`].
async fn unnest_only(pool: &PgPool, ws: &str, cols: &Columns, batch: usize) {
    let mut conn = pool.get().await.expect("connection");
    let tx = conn.transaction().await.expect("begin");
    let now = Utc::now().naive_utc();
    let sql = "INSERT INTO lightrag_doc_chunks AS cur (workspace, id, tokens, chunk_order_index, full_doc_id, content, \
         file_path, llm_cache_list, heading, sidecar, create_time, update_time) \
         SELECT $1, u.id, u.tokens, u.coi, u.full_doc_id, u.content, u.file_path, u.l, u.h, u.s, $11, $11 \
         FROM unnest($2::text[], $3::int4[], $4::int4[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::jsonb[], \
         $10::jsonb[]) AS u(id, tokens, coi, full_doc_id, content, file_path, l, h, s) \
         ON CONFLICT (workspace, id) DO UPDATE SET tokens = EXCLUDED.tokens, \
         chunk_order_index = EXCLUDED.chunk_order_index, full_doc_id = EXCLUDED.full_doc_id, \
         content = EXCLUDED.content, file_path = EXCLUDED.file_path, llm_cache_list = EXCLUDED.llm_cache_list, \
         heading = EXCLUDED.heading, sidecar = EXCLUDED.sidecar, update_time = EXCLUDED.update_time";
    let stmt = tx.prepare(sql).await.expect("prepare");
    for start in (0..cols.ids.len()).step_by(batch) {
        let r = start..(start + batch).min(cols.ids.len());
        let params: [&(dyn ToSql + Sync); 11] = [
            &ws,
            &&cols.ids[r.clone()],
            &&cols.tokens[r.clone()],
            &&cols.order[r.clone()],
            &&cols.doc[r.clone()],
            &&cols.content[r.clone()],
            &&cols.path[r.clone()],
            &&cols.list[r.clone()],
            &&cols.heading[r.clone()],
            &&cols.sidecar[r.clone()],
            &now,
        ];
        tx.execute(&stmt, &params).await.map_err(db_error).expect("unnest");
    }
    tx.commit().await.expect("commit");
}

struct Columns {
    ids: Vec<String>,
    tokens: Vec<i32>,
    order: Vec<i32>,
    doc: Vec<String>,
    content: Vec<String>,
    path: Vec<String>,
    list: Vec<Value>,
    heading: Vec<Value>,
    sidecar: Vec<Value>,
}

fn columns(records: &[(String, JsonObject)]) -> Columns {
    let s = |r: &JsonObject, f: &str| r[f].as_str().unwrap_or_default().to_owned();
    Columns {
        ids: records.iter().map(|(id, _)| id.clone()).collect(),
        tokens: records.iter().map(|(_, r)| r["tokens"].as_i64().unwrap_or(0) as i32).collect(),
        order: records.iter().map(|(_, r)| r["chunk_order_index"].as_i64().unwrap_or(0) as i32).collect(),
        doc: records.iter().map(|(_, r)| s(r, "full_doc_id")).collect(),
        content: records.iter().map(|(_, r)| s(r, "content")).collect(),
        path: records.iter().map(|(_, r)| s(r, "file_path")).collect(),
        list: records.iter().map(|(_, r)| r["llm_cache_list"].clone()).collect(),
        heading: records.iter().map(|(_, r)| r["heading"].clone()).collect(),
        sidecar: records.iter().map(|(_, r)| r["sidecar"].clone()).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing, run by hand"]
async fn unnest_versus_copy_database_side() {
    let pool = common::pool().await;
    let records: Vec<(String, JsonObject)> = (0..N).map(chunk).collect();
    let cols = columns(&records);
    let (mut unnest5000, mut unnest1000, mut copy) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..9 {
        for (which, runs) in [(0, &mut unnest5000), (1, &mut unnest1000), (2, &mut copy)] {
            let ws = common::workspace("kvcmp");
            let t = Instant::now();
            match which {
                0 => unnest_only(&pool, ws.as_str(), &cols, 5_000).await,
                1 => unnest_only(&pool, ws.as_str(), &cols, 1_000).await,
                _ => copy_upsert(&pool, ws.as_str(), &records).await,
            }
            runs.push(t.elapsed());
            PgKvStorage::new(pool.clone(), KvNamespace::TextChunks, ws)
                .expect("storage")
                .drop_all()
                .await
                .expect("drop_all");
        }
    }
    report("UNNEST, 2 statements of 5,000", N, unnest5000);
    report("UNNEST, 10 statements of 1,000", N, unnest1000);
    report("binary COPY + merge          ", N, copy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing, run by hand"]
async fn unnest_statement_size() {
    let pool = common::pool().await;
    let records: Vec<(String, JsonObject)> = (0..N).map(chunk).collect();
    let cols = columns(&records);
    let sizes = [250, 500, 1_000, 2_000, 5_000];
    let mut runs: Vec<Vec<Duration>> = vec![Vec::new(); sizes.len()];
    for _ in 0..7 {
        for (k, size) in sizes.iter().enumerate() {
            let ws = common::workspace("kvsize");
            let t = Instant::now();
            unnest_only(&pool, ws.as_str(), &cols, *size).await;
            runs[k].push(t.elapsed());
            PgKvStorage::new(pool.clone(), KvNamespace::TextChunks, ws)
                .expect("storage")
                .drop_all()
                .await
                .expect("drop_all");
        }
    }
    for (size, r) in sizes.iter().zip(runs) {
        report(&format!("UNNEST statements of {size} rows (~{} MB)", size * 4 / 1000), N, r);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing, run by hand"]
async fn upsert_of_ten_thousand_small_records() {
    let pool = common::pool().await;
    let records: Vec<(String, JsonObject)> = (0..N)
        .map(|i| {
            let ids: Vec<String> = (0..5).map(|k| format!("chunk-{:032x}", i * 5 + k)).collect();
            (format!("Entity {i}"), obj(json!({"chunk_ids": ids, "count": 5})))
        })
        .collect();
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let s =
            PgKvStorage::new(pool.clone(), KvNamespace::EntityChunks, common::workspace("kvsmall")).expect("storage");
        s.initialize().await.expect("initialize");
        let input = records.clone();
        let t = Instant::now();
        s.upsert(input).await.expect("upsert");
        runs.push(t.elapsed());
        s.drop_all().await.expect("drop_all");
    }
    report("UNNEST upsert of 10,000 entity_chunks records", N, runs);
}
