//! The bulk-load path: rows COPYed into an unindexed table, the index built
//! once, swapped in atomically. Correctness at small scale: the index exists,
//! every row is searchable, a re-run is idempotent, an interrupted load leaves
//! the old state, other workspaces keep answering, and the shared layout's
//! choices are reported. (`examples/bulk_measure.rs` measures the speed.)
#![allow(clippy::print_stderr)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use lightrag_pg_core::{
    DistanceMetric, Error, Result, Storage as _, VectorNamespace, VectorQuery, VectorRecord, VectorStorage,
};
use lightrag_pg_pool::PgPool;
use lightrag_pg_vector::{BulkLoadOptions, BulkMethod, BulkMode, BulkStage, PgVectorStorage};

/// Every `step`-th record finds itself first, and every record is stored.
async fn assert_all_searchable(s: &PgVectorStorage, recs: &[VectorRecord], step: usize) {
    let ids: Vec<String> = recs.iter().map(|r| r.id.clone()).collect();
    let got = s.get_by_ids(&ids).await.unwrap();
    assert!(got.iter().all(Option::is_some), "every row is stored");
    for r in recs.iter().step_by(step) {
        let hits = s.query(&VectorQuery::by_vector(r.vector.clone(), 1)).await.unwrap();
        assert_eq!(hits.first().map(|h| h.id.as_str()), Some(r.id.as_str()));
    }
}

/// `pg_class.reltuples` of a relation: set by the `ANALYZE` a bulk load runs.
async fn reltuples(pool: &PgPool, name: &str) -> f32 {
    let conn = pool.get().await.unwrap();
    conn.query_one(
        "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)",
        &[&lightrag_pg_pool::ident::quote_ident(&name.to_lowercase()).unwrap()],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn a_bulk_load_into_an_empty_workspace_builds_its_partition_and_index_and_every_row_is_searchable() {
    let pool = pool().await;
    let model = unique_model("t_bulk_first");
    let s = open(&pool, partitioned(VectorNamespace::Chunks, 32, &model)).await;
    let recs = chunks(&clustered_vectors(7, 8, 3000, 32, 30), "c");
    let report = s.bulk_load_records(&recs, &BulkLoadOptions::default()).await.unwrap();
    eprintln!("{report}");
    let p = s.partition_name().await.unwrap().expect("partition");
    assert_eq!(report.method, BulkMethod::PartitionSwap { partition: p.clone(), replaced_partition: false });
    assert_eq!((report.records, report.rows), (3000, 3000));
    assert_eq!(report.index.as_deref(), Some(format!("{p}_vec").as_str()));
    assert!(report.maintenance_work_mem_mb.unwrap() >= 64);
    let def = index_def(&pool, &format!("{p}_vec")).await.expect("index");
    assert!(def.contains("USING hnsw"), "{def}");
    assert_eq!(reltuples(&pool, &p).await, 3000.0, "analysed by the load");
    assert_all_searchable(&s, &recs, 50).await;
    drop_table(&pool, s.table_name()).await;
}

#[tokio::test]
async fn re_running_a_bulk_load_is_idempotent() {
    let pool = pool().await;
    let model = unique_model("t_bulk_rerun");
    let s = open(&pool, partitioned(VectorNamespace::Chunks, 16, &model)).await;
    let recs = chunks(&random_vectors(9, 800, 16), "c");
    let first = s.bulk_load_records(&recs, &BulkLoadOptions::default()).await.unwrap();
    let again = s.bulk_load_records(&recs, &BulkLoadOptions::default()).await.unwrap();
    assert_eq!((first.rows, again.rows), (800, 800));
    assert!(matches!(again.method, BulkMethod::PartitionSwap { replaced_partition: true, .. }));
    assert_eq!(first.partition(), again.partition());
    let parts = s.partitions().await.unwrap();
    assert_eq!(parts.len(), 2, "one partition and DEFAULT: {parts:?}");
    assert!(index_def(&pool, &format!("{}_vec", again.partition().unwrap())).await.is_some());
    let v = s.get_vectors_by_ids(&[recs[5].id.clone()]).await.unwrap();
    assert_eq!(v[&recs[5].id], recs[5].vector);
    assert_all_searchable(&s, &recs, 40).await;
    drop_table(&pool, s.table_name()).await;
}

/// A stream that yields `batches` and then fails, as a reader of a broken file
/// would.
fn failing_stream(batches: Vec<Vec<VectorRecord>>) -> impl futures::Stream<Item = Result<Vec<VectorRecord>>> + Send {
    futures::stream::iter(batches.into_iter().map(Ok))
        .chain(futures::stream::once(async { Err(Error::invalid("input", "the source broke")) }))
}

#[tokio::test]
async fn an_interrupted_bulk_load_leaves_the_previous_state_and_a_rerun_completes_it() {
    let pool = pool().await;
    let model = unique_model("t_bulk_crash");
    let s = open(&pool, partitioned(VectorNamespace::Chunks, 8, &model)).await;
    let table = s.table_name().to_owned();
    let v1 = chunks(&random_vectors(1, 300, 8), "c");
    let v2 = chunks(&random_vectors(2, 600, 8), "c");

    // Interrupted first load: no partition, no rows, no leftover table.
    let err = s
        .bulk_load(failing_stream(vec![v2[..200].to_vec(), v2[200..400].to_vec()]), &BulkLoadOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("the source broke"), "{err}");
    assert_eq!(s.partition_name().await.unwrap(), None);
    assert_eq!(count_rows(&pool, &table).await, 0);
    let load_table = lightrag_pg_pool::ddl::vector_load_table_name(&table, s.workspace().as_str());
    assert_eq!(relkind(&pool, &load_table).await, None);

    // A complete load, then an interrupted replacement: the old rows stay.
    s.bulk_load_records(&v1, &BulkLoadOptions::default()).await.unwrap();
    let p = s.partition_name().await.unwrap().unwrap();
    let replace = BulkLoadOptions::default().with_mode(BulkMode::Replace);
    s.bulk_load(failing_stream(vec![v2[..300].to_vec()]), &replace).await.unwrap_err();
    assert_eq!(s.partition_name().await.unwrap(), Some(p.clone()));
    assert_eq!(count_rows(&pool, &p).await, 300);
    assert_eq!(s.get_vectors_by_ids(&[v1[7].id.clone()]).await.unwrap()[&v1[7].id], v1[7].vector, "the old vectors");
    assert_eq!(relkind(&pool, &load_table).await, None);

    // The connection dies mid-load (the server ends the backend): same.
    let killer = pool.clone();
    // The load holds its documented advisory lock: that finds its backend.
    let key = format!("lightrag_vector_load\u{1f}{}\u{1f}{}", table.to_lowercase(), s.workspace());
    let batches: Vec<Vec<VectorRecord>> = v2.chunks(100).map(<[VectorRecord]>::to_vec).collect();
    let stream = futures::stream::iter(batches.into_iter().enumerate()).then(move |(i, b)| {
        let killer = killer.clone();
        let key = key.clone();
        async move {
            if i == 3 {
                let conn = killer.get().await.unwrap();
                let n: i64 = conn
                    .query_one(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' \
                         AND objsubid = 1 AND ((classid::int8 << 32) | objid::int8) = hashtextextended($1, 0)",
                        &[&key],
                    )
                    .await
                    .unwrap()
                    .get(0);
                assert_eq!(n, 1, "the loading backend was found");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(b)
        }
    });
    let err = s.bulk_load(stream, &replace).await.expect_err("the load's connection was terminated");
    eprintln!("terminated load: {err}");
    assert_eq!(count_rows(&pool, &p).await, 300, "still the old state");
    assert_eq!(relkind(&pool, &load_table).await, None);

    // The re-run completes it.
    let done = s.bulk_load_records(&v2, &replace).await.unwrap();
    assert_eq!(done.rows, 600);
    assert_eq!(count_rows(&pool, &p).await, 600);
    assert_all_searchable(&s, &v2, 60).await;
    drop_table(&pool, &table).await;
}

#[tokio::test]
async fn other_workspaces_keep_their_index_and_answer_while_a_workspace_loads() {
    let pool = pool().await;
    let model = unique_model("t_bulk_busy");
    let cfg = partitioned(VectorNamespace::Chunks, 32, &model);
    let a = open(&pool, cfg.clone()).await;
    let b = open(&pool, cfg).await;
    let b_recs = chunks(&clustered_vectors(5, 6, 4000, 32, 20), "b");
    b.bulk_load_records(&b_recs, &BulkLoadOptions::default()).await.unwrap();
    let pb = b.partition_name().await.unwrap().unwrap();

    // A slow stream: the load of `a` stays open about two seconds.
    let a_recs = chunks(&clustered_vectors(5, 7, 2000, 32, 20), "a");
    let batches: Vec<Vec<VectorRecord>> = a_recs.chunks(250).map(<[VectorRecord]>::to_vec).collect();
    let slow = futures::stream::iter(batches).then(|batch| async move {
        tokio::time::sleep(Duration::from_millis(250)).await;
        Ok(batch)
    });
    let stages = Arc::new(Mutex::new(Vec::new()));
    let seen = stages.clone();
    let opts = BulkLoadOptions::default().with_progress(move |p| seen.lock().unwrap().push(p.stage));
    let a = Arc::new(a);
    let loader = {
        let a = a.clone();
        tokio::spawn(async move { a.bulk_load(slow, &opts).await })
    };
    let mut queries = 0;
    while !loader.is_finished() {
        let t = Instant::now();
        let hits = b.query(&VectorQuery::by_vector(b_recs[queries % 4000].vector.clone(), 5)).await.unwrap();
        assert_eq!(hits.len(), 5);
        assert!(t.elapsed() < Duration::from_secs(1), "a query of another workspace waited {:?}", t.elapsed());
        let plan = b.explain(&VectorQuery::by_vector(vec![0.1; 32], 5)).await.unwrap().join("\n");
        assert!(plan.contains(&format!("Index Scan using {pb}_vec")), "{plan}");
        if queries == 0 {
            let mine = a.query(&VectorQuery::by_vector(a_recs[0].vector.clone(), 5)).await.unwrap();
            assert!(mine.is_empty(), "the load is not visible before it commits");
        }
        queries += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let report = loader.await.unwrap().unwrap();
    eprintln!("{queries} queries of another workspace answered during the load; {report}");
    assert!(queries >= 5, "{queries}");
    let stages = stages.lock().unwrap().clone();
    assert_eq!(stages.first(), Some(&BulkStage::Loading));
    assert_eq!(stages.last(), Some(&BulkStage::Done));
    assert!(stages.contains(&BulkStage::BuildingIndex) && stages.contains(&BulkStage::Swapping));
    assert_all_searchable(&a, &a_recs, 100).await;
    drop_table(&pool, a.table_name()).await;
}

#[tokio::test]
async fn two_loads_of_one_workspace_do_not_run_at_once() {
    let pool = pool().await;
    let model = unique_model("t_bulk_twice");
    let s = Arc::new(open(&pool, partitioned(VectorNamespace::Chunks, 8, &model)).await);
    let recs = chunks(&random_vectors(3, 400, 8), "c");
    let batches: Vec<Vec<VectorRecord>> = recs.chunks(100).map(<[VectorRecord]>::to_vec).collect();
    let slow = futures::stream::iter(batches).then(|batch| async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(batch)
    });
    let first = {
        let s = s.clone();
        tokio::spawn(async move { s.bulk_load(slow, &BulkLoadOptions::default()).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let err = s.bulk_load_records(&recs, &BulkLoadOptions::default()).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert_eq!(first.await.unwrap().unwrap().rows, 400);
    drop_table(&pool, s.table_name()).await;
}

#[tokio::test]
async fn merge_keeps_the_workspaces_rows_and_replace_discards_them() {
    let pool = pool().await;
    let model = unique_model("t_bulk_modes");
    let s = open(&pool, partitioned(VectorNamespace::Chunks, 8, &model)).await;
    let old = chunks(&random_vectors(1, 100, 8), "old");
    s.upsert(old.clone()).await.unwrap();
    // A new record and a new version of an old one.
    let mut new = chunks(&random_vectors(2, 50, 8), "new");
    let mut changed = old[0].clone();
    changed.vector = vec![9.0; 8];
    new.push(changed.clone());
    let merged = s.bulk_load_records(&new, &BulkLoadOptions::default()).await.unwrap();
    assert_eq!(merged.rows, 150);
    assert_eq!(
        s.get_vectors_by_ids(&[changed.id.clone()]).await.unwrap()[&changed.id],
        changed.vector,
        "the loaded record wins"
    );
    assert!(s.get_by_id(&old[99].id).await.unwrap().is_some());
    let replaced = s.bulk_load_records(&new, &BulkLoadOptions::default().with_mode(BulkMode::Replace)).await.unwrap();
    assert_eq!(replaced.rows, 51);
    assert!(s.get_by_id(&old[99].id).await.unwrap().is_none());
    drop_table(&pool, s.table_name()).await;
}

#[tokio::test]
async fn an_invalid_record_fails_the_whole_load_naming_it_unless_invalid_records_are_skipped() {
    let pool = pool().await;
    let model = unique_model("t_bulk_bad");
    let s = open(&pool, partitioned(VectorNamespace::Chunks, 4, &model)).await;
    let mut recs = chunks(&random_vectors(4, 500, 4), "c");
    recs[321].vector = vec![f32::NAN; 4];
    recs[400].vector = vec![1.0; 3];
    let err = s.bulk_load_records(&recs, &BulkLoadOptions::default()).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidInput { input, .. } if input == "c-00321"), "{err}");
    assert_eq!(count_rows(&pool, s.table_name()).await, 0, "nothing written");
    let report = s.bulk_load_records(&recs, &BulkLoadOptions::default().skipping_invalid()).await.unwrap();
    assert_eq!((report.records, report.rows, report.skipped_count), (500, 498, 2));
    let skipped: Vec<&str> = report.skipped.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(skipped, ["c-00321", "c-00400"]);
    assert!(report.skipped[1].reason.contains("dimension"), "{:?}", report.skipped[1]);
    drop_table(&pool, s.table_name()).await;
}

#[tokio::test]
async fn a_first_large_upsert_of_a_workspace_takes_the_bulk_path_by_itself() {
    let pool = pool().await;
    let model = unique_model("t_bulk_auto");
    // Partitioned: the workspace's partition arrives built and analysed.
    let s = open(&pool, partitioned(VectorNamespace::Chunks, 8, &model)).await;
    let recs = chunks(&random_vectors(5, 2500, 8), "c");
    s.upsert(recs.clone()).await.unwrap();
    let p = s.partition_name().await.unwrap().unwrap();
    assert_eq!(reltuples(&pool, &p).await, 2500.0, "built by the bulk path");
    // A later large upsert is not a first load: the ordinary path.
    s.upsert(chunks(&random_vectors(6, 2500, 8), "d")).await.unwrap();
    assert_eq!(count_rows(&pool, &p).await, 5000);
    assert_eq!(reltuples(&pool, &p).await, 2500.0, "not rebuilt");
    drop_table(&pool, s.table_name()).await;

    // Shared layout, empty table: the index is rebuilt once.
    let model = unique_model("t_bulk_auto_sh");
    let s = open(&pool, config(VectorNamespace::Chunks, 8, &model, HNSW, DistanceMetric::Cosine)).await;
    s.upsert(recs.clone()).await.unwrap();
    assert_eq!(reltuples(&pool, s.table_name()).await, 2500.0);
    assert!(index_def(&pool, s.index_plan().index_name.as_deref().unwrap()).await.is_some());
    assert_all_searchable(&s, &recs, 250).await;
    drop_table(&pool, s.table_name()).await;
}

#[tokio::test]
async fn a_shared_table_without_other_workspaces_gets_its_index_rebuilt_once() {
    let pool = pool().await;
    let model = unique_model("t_bulk_shared");
    let s = open(&pool, config(VectorNamespace::Entities, 16, &model, HNSW, DistanceMetric::Cosine)).await;
    let recs: Vec<VectorRecord> = random_vectors(8, 1500, 16)
        .into_iter()
        .enumerate()
        .map(|(i, v)| VectorRecord {
            id: format!("ent-{i}"),
            vector: v,
            payload: obj(serde_json::json!({"entity_name": format!("E{i}"), "content": "x", "source_id": "c1"})),
        })
        .collect();
    let report = s.bulk_load_records(&recs, &BulkLoadOptions::default()).await.unwrap();
    assert_eq!(report.method, BulkMethod::IndexRebuild);
    assert_eq!(report.index, s.index_plan().index_name);
    let def = index_def(&pool, s.index_plan().index_name.as_deref().unwrap()).await.expect("LightRAG's index, rebuilt");
    assert!(def.contains("hnsw"), "{def}");
    assert_all_searchable(&s, &recs, 100).await;
    drop_table(&pool, s.table_name()).await;
}

#[tokio::test]
async fn a_shared_table_holding_other_workspaces_keeps_its_index_and_says_why() {
    let pool = pool().await;
    let model = unique_model("t_bulk_others");
    let cfg = config(VectorNamespace::Chunks, 8, &model, HNSW, DistanceMetric::Cosine);
    let other = open(&pool, cfg.clone()).await;
    other.upsert(chunks(&random_vectors(1, 10, 8), "o")).await.unwrap();
    let s = open(&pool, cfg).await;
    let recs = chunks(&random_vectors(2, 600, 8), "c");
    let report = s.bulk_load_records(&recs, &BulkLoadOptions::default()).await.unwrap();
    let BulkMethod::Incremental { reason } = &report.method else { panic!("{:?}", report.method) };
    assert!(reason.contains("shared with other workspaces"), "{reason}");
    assert_eq!(report.rows, 600);
    assert!(index_def(&pool, s.index_plan().index_name.as_deref().unwrap()).await.is_some());
    assert_all_searchable(&s, &recs, 60).await;
    assert_eq!(other.get_by_ids(&["o-00003".to_owned()]).await.unwrap().len(), 1);
    drop_table(&pool, s.table_name()).await;
}

#[tokio::test]
async fn a_repeated_id_keeps_its_last_record_within_and_across_batches_with_every_payload_field() {
    let pool = pool().await;
    let model = unique_model("t_bulk_dupes");
    let s = open(&pool, partitioned(VectorNamespace::Relationships, 4, &model)).await;
    let rel = |id: &str, v: f32, content: &str| VectorRecord {
        id: id.to_owned(),
        vector: vec![v, 1.0, 0.0, 0.5],
        payload: obj(serde_json::json!({
            "src_id": "Alice", "tgt_id": "Bob", "content": content,
            "source_id": "chunk-1<SEP>chunk-2", "file_path": "a.txt",
        })),
    };
    let batches = vec![
        Ok(vec![rel("rel-1", 1.0, "first"), rel("rel-2", 2.0, "two"), rel("rel-1", 3.0, "second")]),
        Ok(vec![rel("rel-3", 4.0, "three"), rel("rel-2", 5.0, "two again")]),
    ];
    let report = s.bulk_load(futures::stream::iter(batches), &BulkLoadOptions::default()).await.unwrap();
    assert_eq!((report.records, report.rows), (5, 3));
    let got = s.get_by_id("rel-1").await.unwrap().unwrap();
    assert_eq!(got["content"], "second", "the last record of a batch wins");
    for (k, v) in [("src_id", "Alice"), ("tgt_id", "Bob"), ("source_id", "chunk-1<SEP>chunk-2"), ("file_path", "a.txt")]
    {
        assert_eq!(got[k], v, "{k}");
    }
    assert_eq!(s.get_by_id("rel-2").await.unwrap().unwrap()["content"], "two again", "a later batch wins");
    assert_eq!(s.get_vectors_by_ids(&["rel-2".to_owned()]).await.unwrap()["rel-2"], vec![5.0, 1.0, 0.0, 0.5]);
    s.delete_entity_relation("Bob").await.unwrap();
    assert_eq!(count_rows(&pool, s.table_name()).await, 0);
    drop_table(&pool, s.table_name()).await;
}

/// A chunk record with every payload field.
fn full_chunk(id: &str, v: f32, content: &str) -> VectorRecord {
    VectorRecord {
        id: id.to_owned(),
        vector: vec![v, 1.0, 0.0, 0.5],
        payload: obj(serde_json::json!({
            "content": content, "full_doc_id": "doc-1", "chunk_order_index": 7, "tokens": 42, "file_path": "a.txt",
        })),
    }
}

/// Two batches with ids repeated within and across them.
fn repeated_batches() -> Vec<Result<Vec<VectorRecord>>> {
    vec![
        Ok(vec![full_chunk("c-1", 1.0, "first"), full_chunk("c-2", 2.0, "two"), full_chunk("c-1", 3.0, "second")]),
        Ok(vec![full_chunk("c-3", 4.0, "three"), full_chunk("c-2", 5.0, "two again")]),
    ]
}

#[tokio::test]
async fn a_first_load_into_an_empty_shared_table_keeps_the_last_record_of_a_repeated_id() {
    let pool = pool().await;
    let model = unique_model("t_bulk_direct");
    let s = open(&pool, config(VectorNamespace::Chunks, 4, &model, HNSW, DistanceMetric::Cosine)).await;
    let report = s.bulk_load(futures::stream::iter(repeated_batches()), &BulkLoadOptions::default()).await.unwrap();
    assert_eq!((&report.method, report.records, report.rows), (&BulkMethod::IndexRebuild, 5, 3));
    let got = s.get_by_id("c-1").await.unwrap().unwrap();
    assert_eq!(got["content"], "second", "the last record of a batch wins");
    for (k, v) in [("full_doc_id", "doc-1"), ("file_path", "a.txt")] {
        assert_eq!(got[k], v, "{k}");
    }
    assert_eq!((got["chunk_order_index"].as_i64(), got["tokens"].as_i64()), (Some(7), Some(42)));
    assert_eq!(s.get_by_id("c-2").await.unwrap().unwrap()["content"], "two again", "a later batch wins");
    assert_eq!(s.get_vectors_by_ids(&["c-2".to_owned()]).await.unwrap()["c-2"], vec![5.0, 1.0, 0.0, 0.5]);
    drop_table(&pool, s.table_name()).await;
}

#[tokio::test]
async fn a_shared_table_whose_column_types_differ_from_lightrags_still_loads() {
    let pool = pool().await;
    let model = unique_model("t_bulk_types");
    let s = open(&pool, config(VectorNamespace::Chunks, 4, &model, HNSW, DistanceMetric::Cosine)).await;
    // A binary COPY of LightRAG's INTEGER is refused by a BIGINT column: the
    // load goes through the staging table, which casts.
    let q = lightrag_pg_pool::ident::quote_ident(&s.table_name().to_lowercase()).unwrap();
    let conn = pool.get().await.unwrap();
    conn.batch_execute(&format!("ALTER TABLE {q} ALTER COLUMN tokens TYPE bigint")).await.unwrap();
    let report = s.bulk_load(futures::stream::iter(repeated_batches()), &BulkLoadOptions::default()).await.unwrap();
    assert_eq!((&report.method, report.records, report.rows), (&BulkMethod::IndexRebuild, 5, 3));
    let rows = conn
        .query(&format!("SELECT id::text, content, tokens FROM {q} ORDER BY id"), &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1), r.get::<_, i64>(2)))
        .collect::<Vec<_>>();
    let want = [("c-1", "second"), ("c-2", "two again"), ("c-3", "three")];
    assert_eq!(rows, want.map(|(id, c)| (id.to_owned(), c.to_owned(), 42)));
    drop(conn);
    drop_table(&pool, s.table_name()).await;
}
