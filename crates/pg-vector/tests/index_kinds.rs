//! Index kinds: HNSW, IVFFlat (deferred until trained, rebuildable), HNSW on
//! `halfvec` for real 3,072-dimension data, no index, and the limits.

mod common;

use base64::Engine as _;
use common::*;
use lightrag_pg_core::{
    DistanceMetric, Error, Storage as _, VectorNamespace, VectorQuery, VectorRecord, VectorStorage,
};
use lightrag_pg_pool::PgPool;
use lightrag_pg_vector::{IndexKind, PgVectorConfig, PgVectorStorage, VectorColumn};
use serde_json::Value;

/// The index definition PostgreSQL reports for `name`, if it exists.
async fn index_def(pool: &PgPool, name: &str) -> Option<String> {
    let conn = pool.get().await.unwrap();
    conn.query_opt("SELECT indexdef FROM pg_indexes WHERE indexname = $1", &[&name]).await.unwrap().map(|r| r.get(0))
}

async fn column_type(pool: &PgPool, table: &str) -> String {
    let conn = pool.get().await.unwrap();
    conn.query_one(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'content_vector'",
        &[&table.to_lowercase()],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn hnsw_index_has_lightrags_name_opclass_and_parameters() {
    let pool = pool().await;
    let s = open(
        &pool,
        config(
            VectorNamespace::Entities,
            24,
            "t_hnsw_idx",
            IndexKind::Hnsw { m: 12, ef_construction: 48 },
            DistanceMetric::L2,
        ),
    )
    .await;
    assert_eq!(s.table_name(), "LIGHTRAG_VDB_ENTITY_t_hnsw_idx_24d");
    let def = index_def(&pool, "idx_lightrag_vdb_entity_t_hnsw_idx_24d_hnsw_l2").await.expect("index exists");
    assert!(
        def.contains("USING hnsw (content_vector vector_l2_ops)")
            && def.contains("m='12'")
            && def.contains("ef_construction='48'"),
        "{def}"
    );
    assert!(s.index_ready().await.unwrap());
    assert_eq!(column_type(&pool, s.table_name()).await, "vector(24)");
}

#[tokio::test]
async fn ivfflat_waits_for_training_data_then_builds_and_can_be_rebuilt() {
    let pool = pool().await;
    let model = format!("t_ivf_{:08x}", rand::random::<u32>());
    let s = open(
        &pool,
        config(VectorNamespace::Chunks, 16, &model, IndexKind::IvfFlat { lists: 5 }, DistanceMetric::Cosine),
    )
    .await;
    let name = s.index_plan().index_name.clone().unwrap();
    assert!(name.ends_with("_ivfflat_cosine"), "{name}");
    assert!(!s.index_ready().await.unwrap(), "no index on an empty table");
    assert!(index_def(&pool, &name).await.is_none());
    let vectors = clustered_vectors(41, 42, 80, 16, 5);
    let recs: Vec<VectorRecord> = vectors.iter().enumerate().map(|(i, v)| chunk(&format!("c{i}"), v.clone())).collect();
    s.upsert(recs[..20].to_vec()).await.unwrap();
    assert!(!s.index_ready().await.unwrap(), "20 rows < 5 lists × 10");
    s.upsert(recs[20..].to_vec()).await.unwrap();
    assert!(s.index_ready().await.unwrap(), "80 rows train 5 lists");
    let def = index_def(&pool, &name).await.expect("built after the load");
    assert!(def.contains("USING ivfflat (content_vector vector_cosine_ops)") && def.contains("lists='5'"), "{def}");
    s.rebuild_index().await.unwrap();
    assert!(index_def(&pool, &name).await.is_some());
    let hits = s.query(&VectorQuery::by_vector(vectors[33].clone(), 3)).await.unwrap();
    assert_eq!(hits[0].id, "c33");
    cleanup(&[&s]).await;
    pool.get().await.unwrap().batch_execute(&format!("DROP TABLE {}", s.table_name().to_lowercase())).await.unwrap();
}

#[tokio::test]
async fn no_index_kind_creates_no_vector_index_and_searches_exactly() {
    let pool = pool().await;
    let s = open(&pool, config(VectorNamespace::Relationships, 8, "t_noidx", IndexKind::None, DistanceMetric::Cosine))
        .await;
    assert!(s.index_plan().exact_search());
    let conn = pool.get().await.unwrap();
    let n: i64 = conn
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE tablename = $1 AND indexdef ~ '(hnsw|ivfflat)'",
            &[&s.table_name().to_lowercase()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    s.upsert(vec![VectorRecord {
        id: "rel-1".into(),
        vector: vec![1.0; 8],
        payload: obj(serde_json::json!({"src_id": "A", "tgt_id": "B", "source_id": "c1", "content": "A B"})),
    }])
    .await
    .unwrap();
    let hits = s.query(&VectorQuery::by_vector(vec![1.0; 8], 1)).await.unwrap();
    assert_eq!(hits[0].id, "rel-1");
    assert_eq!(hits[0].metadata["src_id"], "A");
    cleanup(&[&s]).await;
}

#[tokio::test]
async fn more_than_16000_dimensions_are_refused_before_touching_the_server() {
    let pool = pool().await;
    let err =
        PgVectorStorage::new(pool, unique_ws(), PgVectorConfig::new(VectorNamespace::Chunks, 16_001)).unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err}");
    assert!(err.to_string().contains("16000"), "{err}");
}

fn unique_ws() -> lightrag_pg_core::Workspace {
    lightrag_pg_core::testkit::unique_workspace("vt")
}

#[tokio::test]
async fn an_existing_table_of_another_dimension_is_reported_at_initialize() {
    let pool = pool().await;
    let table = "LIGHTRAG_VDB_CHUNKS_t_dimmismatch_8d";
    let conn = pool.get().await.unwrap();
    for stmt in lightrag_pg_pool::ddl::vector_table(VectorNamespace::Chunks, table, VectorColumn::Vector, 9).unwrap() {
        conn.batch_execute(&stmt).await.unwrap();
    }
    let s = PgVectorStorage::new(
        pool.clone(),
        unique_ws(),
        config(VectorNamespace::Chunks, 8, "t_dimmismatch", HNSW, DistanceMetric::Cosine),
    )
    .unwrap();
    let err = s.initialize().await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Config { .. }) && msg.contains("9-dimension") && msg.contains("is 8"), "{msg}");
    conn.batch_execute(&format!("DROP TABLE {}", table.to_lowercase())).await.unwrap();
}

/// Real LightRAG data: the 135 entity vectors (3,072 dimensions, OpenAI
/// text-embedding-3-large) of `film-24-2016-en`, stored as `halfvec` with an
/// HNSW index. Each vector finds itself first, and the top 10 match exact search.
#[tokio::test]
async fn real_3072_dimension_entities_are_searchable_through_hnsw_on_halfvec() {
    let pool = pool().await;
    let path = lightrag_pg_test_support::dataset("film-24-2016-en").join("vdb_entities.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let file: Value = serde_json::from_str(&text).unwrap();
    let dim = file["embedding_dim"].as_u64().unwrap() as usize;
    assert_eq!(dim, 3072);
    let matrix = base64::engine::general_purpose::STANDARD.decode(file["matrix"].as_str().unwrap()).unwrap();
    let floats: Vec<f32> = matrix.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let data = file["data"].as_array().unwrap();
    let recs: Vec<VectorRecord> = data
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut payload = row.as_object().unwrap().clone();
            let id = payload.remove("__id__").unwrap().as_str().unwrap().to_owned();
            payload.remove("__created_at__");
            VectorRecord { id, vector: floats[i * dim..(i + 1) * dim].to_vec(), payload }
        })
        .collect();
    let s = open(
        &pool,
        config(
            VectorNamespace::Entities,
            dim,
            "t-text-embedding-3-large",
            IndexKind::default(),
            DistanceMetric::Cosine,
        ),
    )
    .await;
    assert_eq!(s.table_name(), "LIGHTRAG_VDB_ENTITY_t_text_embedding_3_large_3072d");
    assert_eq!(s.column_type(), Some(VectorColumn::HalfVec));
    assert!(s.index_plan().index_name.as_deref().unwrap().ends_with("_hnsw_halfvec_cosine"));
    assert!(
        index_def(&pool, s.index_plan().index_name.as_deref().unwrap()).await.unwrap().contains("halfvec_cosine_ops")
    );
    s.upsert(recs.clone()).await.unwrap();
    let rows: Vec<(String, Vec<f32>)> = recs.iter().map(|r| (r.id.clone(), r.vector.clone())).collect();
    let mut agree = 0;
    for r in recs.iter().step_by(9) {
        let hits = s.query(&VectorQuery::by_vector(r.vector.clone(), 10).with_threshold(-1.0)).await.unwrap();
        assert_eq!(hits[0].id, r.id, "a vector finds itself first");
        assert!(hits[0].distance < 1e-3, "half precision keeps self-distance near 0: {}", hits[0].distance);
        let exact = exact_top_k(DistanceMetric::Cosine, &r.vector, &rows, 10);
        agree += hits.iter().filter(|h| exact.contains(&h.id)).count();
    }
    let queries = recs.iter().step_by(9).count();
    assert!(agree as f64 / (queries * 10) as f64 >= 0.95, "{agree} of {}", queries * 10);
    let back = s.get_vectors_by_ids(&[recs[5].id.clone()]).await.unwrap();
    let v = &back[&recs[5].id];
    assert_eq!(v.len(), dim);
    assert!(
        v.iter().zip(&recs[5].vector).all(|(a, b)| (a - b).abs() <= 1e-3),
        "halfvec reads back as f32 within half precision"
    );
    let got = s.get_by_id(&recs[5].id).await.unwrap().unwrap();
    assert_eq!(got["entity_name"], recs[5].payload["entity_name"]);
    assert_eq!(got["source_id"], recs[5].payload["source_id"]);
    cleanup(&[&s]).await;
}

#[tokio::test]
async fn halfvec_refuses_components_beyond_its_range_naming_the_record() {
    let pool = pool().await;
    let s = open(
        &pool,
        config(
            VectorNamespace::Chunks,
            4,
            "t_halfrange",
            IndexKind::HnswHalfvec { m: 16, ef_construction: 64 },
            DistanceMetric::Cosine,
        ),
    )
    .await;
    let err =
        s.upsert(vec![chunk("ok", vec![1.0; 4]), chunk("huge", vec![1.0, 70_000.0, 0.0, 0.0])]).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidInput { input, .. } if input == "huge"), "{err}");
    assert!(s.get_by_id("ok").await.unwrap().is_none());
}
