//! Batch upsert: all-or-nothing validation with typed errors naming the record,
//! the UNNEST path (small batches) and the binary-COPY path (large batches, in
//! bounded sub-batches of one transaction) writing identical rows.

mod common;

use common::*;
use lightrag_pg_core::{DistanceMetric, Error, Storage as _, VectorNamespace, VectorRecord, VectorStorage};
use lightrag_pg_pool::PgPool;
use lightrag_pg_vector::{DEFAULT_UNNEST_MAX_ROWS as UNNEST_MAX_ROWS, PgVectorStorage};
use serde_json::json;

const SMALL: usize = 3;
const LARGE: usize = UNNEST_MAX_ROWS + 36;

async fn stored(s: &PgVectorStorage) -> i64 {
    let pool = lightrag_pg_test_support::test_database().await.pool().await;
    let conn = pool.get().await.unwrap();
    conn.query_one(
        &format!("SELECT count(*) FROM {} WHERE workspace = $1", s.table_name().to_lowercase()),
        &[&s.workspace().as_str()],
    )
    .await
    .unwrap()
    .get(0)
}

fn batch(n: usize, dim: usize) -> Vec<VectorRecord> {
    (0..n).map(|i| chunk(&format!("chunk-{i}"), vec![1.0 + i as f32; dim])).collect()
}

async fn refused(s: &PgVectorStorage, size: usize, bad: VectorRecord) -> Error {
    let mut records = batch(size, 4);
    records.push(bad);
    let err = s.upsert(records).await.expect_err("the batch is refused");
    assert_eq!(stored(s).await, 0, "a refused batch of {size} + 1 writes nothing");
    err
}

#[tokio::test]
async fn each_kind_of_bad_vector_is_a_typed_error_naming_the_record_and_writes_nothing() {
    let pool = pool().await;
    let s = open(&pool, config(VectorNamespace::Chunks, 4, "t_upsert_bad", HNSW, DistanceMetric::Cosine)).await;
    for size in [SMALL, LARGE] {
        let err = refused(&s, size, chunk("bad-dim", vec![1.0; 5])).await;
        assert!(
            matches!(&err, Error::DimensionMismatch { id: Some(id), expected: 4, got: 5 } if id == "bad-dim"),
            "{err}"
        );
        for (id, v) in [
            ("bad-nan", vec![f32::NAN; 4]),
            ("bad-inf", vec![1.0, f32::INFINITY, 0.0, 0.0]),
            ("bad-empty", vec![]),
            ("bad-huge", vec![1.0; 16_001]),
        ] {
            let err = refused(&s, size, chunk(id, v)).await;
            assert!(matches!(&err, Error::InvalidInput { input, .. } if input == id), "{id}: {err}");
        }
        let mut wrong_type = chunk("bad-tokens", vec![1.0; 4]);
        wrong_type.payload.insert("tokens".into(), json!("many"));
        let err = refused(&s, size, wrong_type).await;
        assert!(
            matches!(&err, Error::InvalidInput { input, reason } if input == "bad-tokens" && reason.contains("tokens")),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_large_upsert_streams_in_several_copy_batches_within_one_call() {
    let pool = pool().await;
    let mut cfg = config(VectorNamespace::Chunks, 8, "t_upsert_copy", HNSW, DistanceMetric::Cosine);
    cfg.batch_rows = 250;
    let s = open(&pool, cfg).await;
    let mut records: Vec<VectorRecord> =
        (0..1000).map(|i| chunk(&format!("chunk-{i:04}"), vec![i as f32 + 1.0; 8])).collect();
    // A repeated id: the last one wins, even when the first sits in another batch.
    let mut again = chunk("chunk-0003", vec![-1.0; 8]);
    again.payload.insert("content".into(), json!("last"));
    records.push(again);
    s.upsert(records).await.unwrap();
    assert_eq!(stored(&s).await, 1000);
    let got = s.get_by_id("chunk-0003").await.unwrap().unwrap();
    assert_eq!(got["content"], "last");
    assert_eq!(s.get_vectors_by_ids(&["chunk-0003".to_owned()]).await.unwrap()["chunk-0003"], vec![-1.0; 8]);
    assert_eq!(s.get_by_id("chunk-0999").await.unwrap().unwrap()["tokens"], 7);
    cleanup(&[&s]).await;
}

/// The same records through both write paths give the same rows.
#[tokio::test]
async fn unnest_and_copy_paths_store_identical_rows() {
    let pool = pool().await;
    for ns in [VectorNamespace::Chunks, VectorNamespace::Entities, VectorNamespace::Relationships] {
        let a = open(&pool, config(ns, 4, "t_upsert_paths", HNSW, DistanceMetric::Cosine)).await;
        let b = open(&pool, config(ns, 4, "t_upsert_paths", HNSW, DistanceMetric::Cosine)).await;
        let records: Vec<VectorRecord> = (0..LARGE)
            .map(|i| {
                let payload = match ns {
                    VectorNamespace::Chunks => json!({"full_doc_id": "d", "content": format!("c{i}"), "file_path": "f", "tokens": i, "chunk_order_index": i}),
                    VectorNamespace::Entities => json!({"entity_name": format!("E{i}"), "content": "x", "source_id": if i % 3 == 0 { "".to_owned() } else { format!("c{i}<SEP>c{}", i + 1) }, "file_path": "f"}),
                    VectorNamespace::Relationships => json!({"src_id": format!("E{i}"), "tgt_id": "T", "content": "r", "source_id": format!("c{i}"), "file_path": null}),
                };
                VectorRecord { id: format!("id-{i}"), vector: vec![0.5, i as f32, -1.0, 2.0], payload: obj(payload) }
            })
            .collect();
        for chunk in records.chunks(UNNEST_MAX_ROWS / 2) {
            a.upsert(chunk.to_vec()).await.unwrap();
        }
        b.upsert(records.clone()).await.unwrap();
        let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        let (mut ra, mut rb) = (a.get_by_ids(&ids).await.unwrap(), b.get_by_ids(&ids).await.unwrap());
        for (x, y) in ra.iter_mut().zip(rb.iter_mut()) {
            let (x, y) = (x.as_mut().unwrap(), y.as_mut().unwrap());
            x.remove("created_at");
            y.remove("created_at");
        }
        assert_eq!(ra, rb, "{ns}");
        for (rec, got) in records.iter().zip(&ra) {
            let got = got.as_ref().unwrap();
            for (k, v) in &rec.payload {
                if !v.is_null() {
                    assert_eq!(&got[k], v, "{ns} {} field {k}", rec.id);
                }
            }
        }
        assert_eq!(a.get_vectors_by_ids(&ids).await.unwrap(), b.get_vectors_by_ids(&ids).await.unwrap());
        cleanup(&[&a, &b]).await;
    }
}

#[tokio::test]
async fn payload_fields_outside_lightrags_columns_are_not_stored() {
    let pool: PgPool = pool().await;
    let s = open(&pool, config(VectorNamespace::Entities, 2, "t_upsert_extra", HNSW, DistanceMetric::Cosine)).await;
    let rec = VectorRecord {
        id: "ent-x".into(),
        vector: vec![1.0, 0.0],
        payload: obj(json!({"entity_name": "X", "mood": "happy"})),
    };
    s.upsert(vec![rec]).await.unwrap();
    let got = s.get_by_id("ent-x").await.unwrap().unwrap();
    assert_eq!(got["entity_name"], "X");
    assert!(!got.contains_key("mood"));
    cleanup(&[&s]).await;
}
