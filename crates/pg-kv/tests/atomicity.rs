//! An upsert is one transaction: a batch of 10,000 chunk records lands whole or
//! not at all, across every sub-batch statement.

mod common;

use std::time::Duration;

use common::obj;
use lightrag_pg_core::{Error, JsonObject, KvNamespace, KvStorage, Storage};
use lightrag_pg_kv::PgKvStorage;
use lightrag_pg_pool::{PgPool, RetryPolicy};
use serde_json::json;

const N: usize = 10_000;

fn chunk(i: usize) -> (String, JsonObject) {
    let rec = obj(json!({
        "tokens": 200 + (i % 50),
        "chunk_order_index": i,
        "full_doc_id": format!("doc-{:032x}", i / 20),
        "content": format!("Chunk {i}: Alice founded Acme Robotics in Berlin. 实体 🙂 'quoted' \"text\"."),
        "file_path": format!("file-{}.txt", i / 20),
        "llm_cache_list": [format!("default:extract:{i:032x}")],
        "heading": {"level": 1, "text": format!("Section {}", i / 100)},
        "sidecar": {},
    }));
    (format!("chunk-{i:032x}"), rec)
}

fn chunks(n: usize) -> Vec<(String, JsonObject)> {
    (0..n).map(chunk).collect()
}

async fn open(pool: &PgPool) -> PgKvStorage {
    let s = PgKvStorage::new(pool.clone(), KvNamespace::TextChunks, common::workspace("kvatom")).expect("storage");
    s.initialize().await.expect("initialize");
    s
}

/// `SELECT count(*)` of the storage's workspace, in plain SQL.
async fn rows_in_workspace(pool: &PgPool, s: &PgKvStorage) -> i64 {
    let conn = pool.get().await.expect("connection");
    conn.query_one("SELECT count(*) FROM lightrag_doc_chunks WHERE workspace = $1", &[&s.workspace().as_str()])
        .await
        .expect("count")
        .get(0)
}

fn assert_invalid_naming(res: lightrag_pg_core::Result<()>, id: &str) {
    match res {
        Err(Error::InvalidInput { input, .. }) => {
            let stem = input.strip_suffix("...").unwrap_or(&input);
            assert!(id.starts_with(stem) && !stem.is_empty(), "InvalidInput names {input:?}, not {id:?}");
        }
        other => panic!("expected InvalidInput naming {id:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn ten_thousand_chunks_with_an_overlong_id_last_write_nothing() {
    let pool = common::pool().await;
    let s = open(&pool).await;
    let mut batch = chunks(N - 1);
    let bad_id = format!("chunk-{}", "x".repeat(294));
    batch.push((bad_id.clone(), chunk(N - 1).1));
    assert_invalid_naming(s.upsert(batch).await, &bad_id);
    assert_eq!(rows_in_workspace(&pool, &s).await, 0, "nothing of the batch is written");
}

#[tokio::test]
async fn ten_thousand_chunks_with_a_nul_byte_last_write_nothing() {
    let pool = common::pool().await;
    let s = open(&pool).await;
    let mut batch = chunks(N);
    let (bad_id, rec) = batch.last_mut().expect("last");
    rec.insert("content".into(), json!("before\u{0}after"));
    let bad_id = bad_id.clone();
    assert_invalid_naming(s.upsert(batch).await, &bad_id);
    assert_eq!(rows_in_workspace(&pool, &s).await, 0, "nothing of the batch is written");
}

#[tokio::test]
async fn ten_thousand_chunks_with_an_out_of_range_integer_last_write_nothing() {
    let pool = common::pool().await;
    let s = open(&pool).await;
    let mut batch = chunks(N);
    let (bad_id, rec) = batch.last_mut().expect("last");
    rec.insert("tokens".into(), json!(1_i64 << 33));
    let bad_id = bad_id.clone();
    assert_invalid_naming(s.upsert(batch).await, &bad_id);
    assert_eq!(rows_in_workspace(&pool, &s).await, 0, "nothing of the batch is written");
}

#[tokio::test]
async fn ten_thousand_chunks_land_in_one_call_across_sub_batches() {
    let pool = common::pool_with(|c| c.upsert_batch_rows = 1_000).await;
    let s = open(&pool).await;
    s.upsert(chunks(N)).await.expect("upsert of 10,000 chunks");
    assert_eq!(rows_in_workspace(&pool, &s).await, N as i64, "every chunk is written");
    let sample: Vec<(String, JsonObject)> = [0, 999, 1000, 5555, N - 1].into_iter().map(chunk).collect();
    let ids: Vec<String> = sample.iter().map(|(id, _)| id.clone()).collect();
    let got = s.get_by_ids(&ids).await.expect("get_by_ids");
    for ((id, want), slot) in sample.iter().zip(&got) {
        let slot = slot.as_ref().expect("stored");
        for (k, v) in want {
            assert_eq!(slot.get(k), Some(v), "{id}: {k}");
        }
    }
    s.drop_all().await.expect("drop_all");
}

/// A failure the server reports in the last of ten sub-batch statements (here:
/// the statement timeout, while another session holds a row of that sub-batch
/// locked) rolls back the nine statements before it.
#[tokio::test]
async fn a_server_side_failure_in_the_last_sub_batch_rolls_back_the_earlier_ones() {
    let pool = common::pool_with(|c| {
        c.upsert_batch_rows = 1_000;
        c.statement_timeout = Some(Duration::from_millis(1_500));
        c.retry = RetryPolicy { attempts: 1, ..c.retry };
    })
    .await;
    let s = open(&pool).await;
    // A row of the last sub-batch exists already and another session locks it.
    let (last_id, last_rec) = chunk(N - 1);
    s.upsert(vec![(last_id.clone(), last_rec.clone())]).await.expect("seed the last row");
    let mut locker = common::pool().await.get().await.expect("second session");
    let tx = locker.transaction().await.expect("begin");
    tx.execute(
        "SELECT 1 FROM lightrag_doc_chunks WHERE workspace = $1 AND id = $2 FOR UPDATE",
        &[&s.workspace().as_str(), &last_id],
    )
    .await
    .expect("lock the row");

    let mut batch = chunks(N);
    batch.last_mut().expect("last").1.insert("content".into(), json!("would change"));
    let res = s.upsert(batch).await;
    tx.rollback().await.expect("release the lock");

    match &res {
        Err(Error::Database { sqlstate: Some(code), .. }) => assert_eq!(code, "57014", "query_canceled: {res:?}"),
        other => panic!("expected the server's statement timeout, got {other:?}"),
    }
    assert_eq!(rows_in_workspace(&pool, &s).await, 1, "the nine committed-looking sub-batches were rolled back");
    let kept = s.get_by_id(&last_id).await.expect("get_by_id").expect("seeded row");
    assert_eq!(kept["content"], last_rec["content"], "the seeded row is unchanged");
    s.drop_all().await.expect("drop_all");
}
