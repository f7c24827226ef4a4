//! A doc-status upsert is one transaction: 10,000 documents land whole or not at
//! all, across every sub-batch statement.

mod common;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use lightrag_pg_core::{DocProcessingStatus, DocStatus, DocStatusStorage, Error, Storage};
use lightrag_pg_docstatus::PgDocStatusStorage;
use lightrag_pg_pool::{PgPool, RetryPolicy};

const N: usize = 10_000;

fn doc(i: usize) -> (String, DocProcessingStatus) {
    let mut d = DocProcessingStatus::new(
        DocStatus::Pending,
        &format!("Summary {i} 实体 🙂"),
        1000 + i as i64,
        &format!("file-{i}.txt"),
    );
    d.created_at = Utc.timestamp_opt(1_735_787_045 + i as i64, 0).single();
    d.updated_at = d.created_at;
    d.track_id = Some("insert_batch".into());
    d.chunks_list = vec![format!("chunk-{i}-0"), format!("chunk-{i}-1")];
    d.chunks_count = Some(2);
    (format!("doc-{i:032x}"), d)
}

async fn open(pool: &PgPool) -> PgDocStatusStorage {
    let s = PgDocStatusStorage::new(pool.clone(), common::workspace("dsatom")).expect("storage");
    s.initialize().await.expect("initialize");
    s
}

async fn rows_in_workspace(pool: &PgPool, s: &PgDocStatusStorage) -> i64 {
    let conn = pool.get().await.expect("connection");
    conn.query_one("SELECT count(*) FROM lightrag_doc_status WHERE workspace = $1", &[&s.workspace().as_str()])
        .await
        .expect("count")
        .get(0)
}

#[tokio::test]
async fn ten_thousand_docs_with_an_overlong_summary_last_write_nothing() {
    let pool = common::pool().await;
    let s = open(&pool).await;
    let mut batch: Vec<_> = (0..N).map(doc).collect();
    let (bad_id, bad) = batch.last_mut().expect("last");
    bad.content_summary = "s".repeat(256);
    let bad_id = bad_id.clone();
    match s.upsert(batch).await {
        Err(Error::InvalidInput { input, reason }) => {
            assert_eq!(input, bad_id, "names the document");
            assert!(reason.contains("content_summary"), "names the field: {reason}");
        }
        other => panic!("expected InvalidInput, got {other:?}"),
    }
    assert_eq!(rows_in_workspace(&pool, &s).await, 0, "nothing of the batch is written");
}

#[tokio::test]
async fn ten_thousand_docs_land_in_one_call_across_sub_batches() {
    let pool = common::pool_with(|c| c.upsert_batch_rows = 1_000).await;
    let s = open(&pool).await;
    s.upsert((0..N).map(doc).collect()).await.expect("upsert of 10,000 docs");
    assert_eq!(rows_in_workspace(&pool, &s).await, N as i64);
    for i in [0, 4_321, N - 1] {
        let (id, d) = doc(i);
        assert_eq!(s.get_by_id(&id).await.expect("get_by_id"), Some(d), "doc {i}");
    }
    s.drop_all().await.expect("drop_all");
}

/// The last of ten sub-batch statements fails in the server (statement timeout
/// while another session locks one of its rows): the nine before it roll back.
#[tokio::test]
async fn a_server_side_failure_in_the_last_sub_batch_rolls_back_the_earlier_ones() {
    let pool = common::pool_with(|c| {
        c.upsert_batch_rows = 1_000;
        c.statement_timeout = Some(Duration::from_millis(1_500));
        c.retry = RetryPolicy { attempts: 1, ..c.retry };
    })
    .await;
    let s = open(&pool).await;
    let (last_id, last) = doc(N - 1);
    s.upsert(vec![(last_id.clone(), last.clone())]).await.expect("seed the last row");
    let mut locker = common::pool().await.get().await.expect("second session");
    let tx = locker.transaction().await.expect("begin");
    tx.execute(
        "SELECT 1 FROM lightrag_doc_status WHERE workspace = $1 AND id = $2 FOR UPDATE",
        &[&s.workspace().as_str(), &last_id],
    )
    .await
    .expect("lock the row");
    let mut batch: Vec<_> = (0..N).map(doc).collect();
    batch.last_mut().expect("last").1.status = DocStatus::Failed;
    let res = s.upsert(batch).await;
    tx.rollback().await.expect("release the lock");
    match &res {
        Err(Error::Database { sqlstate: Some(code), .. }) => assert_eq!(code, "57014", "{res:?}"),
        other => panic!("expected the server's statement timeout, got {other:?}"),
    }
    assert_eq!(rows_in_workspace(&pool, &s).await, 1, "the earlier sub-batches were rolled back");
    assert_eq!(s.get_by_id(&last_id).await.expect("get_by_id"), Some(last), "the seeded row is unchanged");
    s.drop_all().await.expect("drop_all");
}
