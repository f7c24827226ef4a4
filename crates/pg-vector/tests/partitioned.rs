//! The partitioned layout: LightRAG's tables LIST-partitioned by workspace, one
//! partition with its own vector index per workspace, a DEFAULT partition, query
//! plans pruned to the workspace's partition, recall, dropping a workspace, and
//! converting a shared table.
#![allow(clippy::print_stderr)] // the recall figures and plans are worth seeing with --nocapture

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use lightrag_pg_core::testkit::unique_workspace;
use lightrag_pg_core::{DistanceMetric, Storage as _, VectorNamespace, VectorQuery, VectorStorage, Workspace};
use lightrag_pg_vector::{BulkLoadOptions, ConvertOptions, Layout};

#[tokio::test]
async fn a_partitioned_table_keeps_lightrags_name_key_and_index_names_with_a_default_partition() {
    let pool = pool().await;
    let model = unique_model("t_part_ddl");
    let s = open(&pool, partitioned(VectorNamespace::Entities, 8, &model)).await;
    let table = s.table_name().to_lowercase();
    assert_eq!(s.layout(), Some(Layout::Partitioned));
    assert_eq!(relkind(&pool, &table).await.as_deref(), Some("p"));
    let conn = pool.get().await.unwrap();
    let row = conn
        .query_one(
            "SELECT pg_get_partkeydef(c.oid), \
             (SELECT pg_get_constraintdef(k.oid) FROM pg_constraint k WHERE k.conrelid = c.oid AND k.conname = $2) \
             FROM pg_class c WHERE c.oid = to_regclass($1)",
            &[&table, &format!("{table}_pk")],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "LIST (workspace)");
    assert_eq!(row.get::<_, String>(1), "PRIMARY KEY (workspace, id)");
    // Python LightRAG's `pg_indexes` checks look these names up on the table.
    for suffix in ["id", "workspace_id", "hnsw_cosine"] {
        let name = format!("idx_{table}_{suffix}");
        let found: i64 = conn
            .query_one("SELECT count(*) FROM pg_indexes WHERE indexname = $1 AND tablename = $2", &[&name, &table])
            .await
            .unwrap()
            .get(0);
        assert_eq!(found, 1, "{name} on {table}");
    }
    let parts = s.partitions().await.unwrap();
    assert_eq!(parts, vec![(format!("{table}_default"), "DEFAULT".to_owned())]);
    drop_table(&pool, &table).await;
}

#[tokio::test]
async fn the_first_write_of_a_workspace_gives_it_its_own_partition_and_vector_index() {
    let pool = pool().await;
    let model = unique_model("t_part_first");
    let cfg = partitioned(VectorNamespace::Chunks, 16, &model);
    let a = open(&pool, cfg.clone()).await;
    let b = open(&pool, cfg).await;
    assert_eq!(a.partition_name().await.unwrap(), None, "no partition before a write");
    a.upsert(chunks(&random_vectors(1, 20, 16), "a")).await.unwrap();
    b.upsert(chunks(&random_vectors(2, 30, 16), "b")).await.unwrap();
    let pa = a.partition_name().await.unwrap().expect("a's partition");
    let pb = b.partition_name().await.unwrap().expect("b's partition");
    assert_ne!(pa, pb);
    assert!(pa.len() <= 56, "{pa}");
    assert_eq!(count_rows(&pool, &pa).await, 20);
    assert_eq!(count_rows(&pool, &pb).await, 30);
    let table = a.table_name().to_lowercase();
    assert_eq!(count_rows(&pool, &format!("{table}_default")).await, 0);
    let def = index_def(&pool, &format!("{pa}_vec")).await.expect("the partition's own vector index");
    assert!(def.contains("USING hnsw (content_vector vector_cosine_ops)"), "{def}");
    // Reads and writes through the parent keep working as before.
    let hits = a.query(&VectorQuery::by_vector(random_vectors(1, 1, 16)[0].clone(), 3)).await.unwrap();
    assert_eq!(hits[0].id, "a-00000");
    a.delete(&["a-00000".to_owned()]).await.unwrap();
    assert_eq!(count_rows(&pool, &pa).await, 19);
    drop_table(&pool, &table).await;
}

#[tokio::test]
async fn dropping_a_workspace_drops_its_partition_and_leaves_the_others() {
    let pool = pool().await;
    let model = unique_model("t_part_drop");
    let cfg = partitioned(VectorNamespace::Entities, 8, &model);
    let a = open(&pool, cfg.clone()).await;
    let b = open(&pool, cfg).await;
    let rec = |id: &str, v: f32| lightrag_pg_core::VectorRecord {
        id: id.to_owned(),
        vector: vec![v; 8],
        payload: obj(serde_json::json!({"entity_name": id, "content": id, "source_id": "c1"})),
    };
    a.upsert(vec![rec("ent-a", 1.0)]).await.unwrap();
    b.upsert(vec![rec("ent-b", 2.0)]).await.unwrap();
    let pa = a.partition_name().await.unwrap().unwrap();
    a.drop_all().await.unwrap();
    assert_eq!(relkind(&pool, &pa).await, None, "the partition is gone");
    assert!(a.get_by_id("ent-a").await.unwrap().is_none());
    assert!(b.get_by_id("ent-b").await.unwrap().is_some());
    assert!(b.partition_name().await.unwrap().is_some());
    // The workspace can be written again: a new partition.
    a.upsert(vec![rec("ent-a2", 1.0)]).await.unwrap();
    assert_eq!(a.partition_name().await.unwrap(), Some(pa));
    assert!(a.get_by_id("ent-a2").await.unwrap().is_some());
    drop_table(&pool, a.table_name()).await;
}

#[tokio::test]
async fn odd_workspace_names_get_safe_partitions_that_work_end_to_end() {
    let pool = pool().await;
    let model = unique_model("t_part_names");
    let cfg = partitioned(VectorNamespace::Chunks, 4, &model);
    let mut names = Vec::new();
    for ws in ["Team-A \"quoted\" 'single' %s 研究", "team_a", "Team_A", &"w".repeat(255)] {
        let s = open_in(&pool, Workspace::new(ws).unwrap(), cfg.clone()).await;
        s.upsert(vec![chunk("chunk-1", vec![1.0, 2.0, 3.0, 4.0])]).await.unwrap();
        let p = s.partition_name().await.unwrap().expect("partition");
        assert!(p.len() <= 56, "{p}");
        let hits = s.query(&VectorQuery::by_vector(vec![1.0, 2.0, 3.0, 4.0], 5)).await.unwrap();
        assert_eq!(hits.len(), 1, "{ws}: only its own row");
        names.push(p);
        s.drop_all().await.unwrap();
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 4, "every workspace has its own partition name");
    drop_table(&pool, &partitioned(VectorNamespace::Chunks, 4, &model).table_name().unwrap()).await;
}

#[tokio::test]
async fn a_workspace_query_is_pruned_to_its_partition_and_uses_its_hnsw_index() {
    let pool = pool().await;
    let model = unique_model("t_part_plan");
    let cfg = partitioned(VectorNamespace::Chunks, 32, &model);
    let a = open(&pool, cfg.clone()).await;
    let b = open(&pool, cfg).await;
    let opts = BulkLoadOptions::default();
    a.bulk_load_records(&chunks(&clustered_vectors(3, 4, 3000, 32, 20), "a"), &opts).await.unwrap();
    b.bulk_load_records(&chunks(&clustered_vectors(3, 5, 3000, 32, 20), "b"), &opts).await.unwrap();
    let pa = a.partition_name().await.unwrap().unwrap();
    let pb = b.partition_name().await.unwrap().unwrap();
    let plan = a.explain(&VectorQuery::by_vector(vec![0.5; 32], 10)).await.unwrap().join("\n");
    eprintln!("{plan}");
    assert!(
        plan.contains(&format!("Index Scan using {pa}_vec on {pa}")),
        "pruned to a's partition, through its HNSW index:\n{plan}"
    );
    assert!(!plan.contains(&pb), "b's partition is pruned:\n{plan}");
    assert!(!plan.contains("_default"), "the DEFAULT partition is pruned:\n{plan}");
    assert!(!plan.contains("Seq Scan"), "{plan}");
    drop_table(&pool, a.table_name()).await;
}

/// 10 workspaces × 10,000 64-dim vectors around the same 50 cluster centres (one
/// embedding model, ten knowledge bases), each in its own partition with its own
/// HNSW index. A workspace-filtered query searches only its partition's graph, so
/// top-10 recall against exact search is at least 0.98 and no query comes back
/// short of top_k.
#[tokio::test]
async fn top10_recall_over_ten_partitioned_workspaces_of_10000_vectors_is_at_least_098() {
    let pool = pool().await;
    let dim = 64;
    let model = unique_model("t_part_recall");
    let cfg = partitioned(VectorNamespace::Chunks, dim, &model);
    let mut stores = Vec::new();
    let mut data = Vec::new();
    for w in 0..10u64 {
        let s = open_in(&pool, unique_workspace("vt_precall"), cfg.clone()).await;
        let recs = chunks(&spread_vectors(1, 100 + w, 10_000, dim, 50, SPREAD), &format!("w{w}"));
        data.push(recs.iter().map(|r| (r.id.clone(), r.vector.clone())).collect::<Vec<_>>());
        // A first large upsert takes the bulk path by itself.
        s.upsert(recs).await.unwrap();
        stores.push(s);
    }
    let mut total = 0.0;
    let mut worst = 1.0_f64;
    let mut n = 0;
    for (w, s) in stores.iter().enumerate() {
        for q in spread_vectors(1, 500 + w as u64, 10, dim, 50, SPREAD) {
            let hits = s.query(&VectorQuery::by_vector(q.clone(), 10).with_threshold(-2.0)).await.unwrap();
            assert_eq!(hits.len(), 10, "workspace {w} returned fewer than top_k");
            let exact = exact_top_k(DistanceMetric::Cosine, &q, &data[w], 10);
            let recall = hits.iter().filter(|h| exact.contains(&h.id)).count() as f64 / 10.0;
            total += recall;
            worst = worst.min(recall);
            n += 1;
        }
    }
    let mean = total / f64::from(n);
    eprintln!(
        "partitioned HNSW top-10 recall over {n} queries (10 workspaces × 10,000 × {dim}): mean {mean:.3}, worst {worst:.2}"
    );
    assert!(mean >= 0.98, "mean recall {mean:.3} (worst {worst:.2})");
    drop_table(&pool, stores[0].table_name()).await;
}

#[tokio::test]
async fn converting_a_shared_table_gives_every_workspace_its_partition_and_keeps_every_row() {
    let pool = pool().await;
    let model = unique_model("t_convert");
    let shared = config(VectorNamespace::Relationships, 16, &model, HNSW, DistanceMetric::Cosine);
    let mut stores = Vec::new();
    let mut all = Vec::new();
    for (w, n) in [(0u64, 300usize), (1, 150), (2, 40)] {
        let s = open(&pool, shared.clone()).await;
        let recs: Vec<_> = random_vectors(w, n, 16)
            .into_iter()
            .enumerate()
            .map(|(i, v)| lightrag_pg_core::VectorRecord {
                id: format!("rel-{w}-{i}"),
                vector: v,
                payload: obj(serde_json::json!({"src_id": "A", "tgt_id": format!("B{i}"), "source_id": "c1<SEP>c2", "content": "A B"})),
            })
            .collect();
        s.upsert(recs.clone()).await.unwrap();
        all.push(recs);
        stores.push(s);
    }
    let table = stores[0].table_name().to_lowercase();
    assert_eq!(stores[0].layout(), Some(Layout::Shared));

    let dry = stores[0].convert_to_partitioned(&ConvertOptions::dry_run()).await.unwrap();
    eprintln!("{dry}");
    assert!(dry.dry_run && !dry.already_partitioned);
    assert_eq!(dry.rows, 490);
    assert_eq!(dry.workspaces.len(), 3);
    assert!(dry.locks.iter().any(|l| l.starts_with("EXCLUSIVE")));
    assert_eq!(relkind(&pool, &table).await.as_deref(), Some("r"), "a dry run changes nothing");

    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let report = stores[0]
        .convert_to_partitioned(&ConvertOptions::default().with_progress(move |p| {
            seen2.lock().unwrap().push((p.workspace.clone(), p.rows, p.done, p.total));
        }))
        .await
        .unwrap();
    eprintln!("{report}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen.iter().map(|s| s.1).sum::<u64>(), 490);
    assert_eq!(seen.last().unwrap().2, 3);
    assert_eq!(relkind(&pool, &table).await.as_deref(), Some("p"));
    assert_eq!(stores[0].layout(), Some(Layout::Partitioned));
    for suffix in ["id", "workspace_id", "hnsw_cosine"] {
        assert!(index_def(&pool, &format!("idx_{table}_{suffix}")).await.is_some(), "{suffix}");
    }
    // Every storage, even one opened before the conversion, reads its rows
    // from its own partition; each record finds itself.
    for (s, recs) in stores.iter().zip(&all) {
        let p = s.partition_name().await.unwrap().expect("partition");
        assert_eq!(count_rows(&pool, &p).await, recs.len() as i64);
        for r in recs.iter().step_by(37) {
            let hits = s.query(&VectorQuery::by_vector(r.vector.clone(), 1)).await.unwrap();
            assert_eq!(hits[0].id, r.id);
            assert_eq!(hits[0].metadata["source_id"], "c1<SEP>c2");
        }
    }
    let again = stores[0].convert_to_partitioned(&ConvertOptions::default()).await.unwrap();
    assert!(again.already_partitioned);
    drop_table(&pool, &table).await;
}
