//! The vector suite: [`vector_trials`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use super::VectorFactory;
use super::support::{
    Ctx, Env, ONE_MB, Outcome, TRICKY, big_text, cases, ensure, ensure_eq, expect_invalid, now_epoch, strings, trial,
};
use crate::{
    DistanceMetric, Error, JsonObject, Namespace, VectorHit, VectorNamespace, VectorQuery, VectorRecord, VectorStorage,
    Workspace, ids,
};

type VecEnv = Env<dyn VectorFactory>;

/// The dimension of most cases: small, so they are fast on any backend.
const DIM: usize = 4;

/// The realistic dimension of the one case that uses a full-size embedding.
const FULL_DIM: usize = 1024;

/// Tolerance for distances and similarities (backends may compute in `f32`).
const EPS: f64 = 1e-4;

impl Env<dyn VectorFactory> {
    /// Opens `ns` in the trial's workspace.
    async fn open(
        &self,
        ns: VectorNamespace,
        dim: usize,
        metric: DistanceMetric,
    ) -> Result<Arc<dyn VectorStorage>, Failed> {
        let ws = self.ws.clone();
        self.open_in(ns, &ws, dim, metric).await
    }

    /// Opens `ns` in `ws` (dropped after the case).
    async fn open_in(
        &self,
        ns: VectorNamespace,
        ws: &Workspace,
        dim: usize,
        metric: DistanceMetric,
    ) -> Result<Arc<dyn VectorStorage>, Failed> {
        let s = self
            .factory
            .open(ns, ws, dim, metric)
            .await
            .ctx(format_args!("open {ns} ({dim} dimensions, {}) in {ws}", metric.as_str()))?;
        self.track(s.clone());
        Ok(s)
    }
}

/// Every vector case, each in its own workspace: search order, threshold and
/// `top_k` for cosine, L2 and inner product; payload round trips in all three
/// namespaces; request order and missing ids; exact vectors; all-or-nothing
/// validation of dimension, NaN, infinity and empty vectors; deletes by id, entity
/// and relation; tricky and 1 MB values; isolation and concurrency.
pub fn vector_trials(factory: Arc<dyn VectorFactory>, rt: Arc<Runtime>) -> Vec<Trial> {
    let mut trials = Vec::new();
    for (metric, name) in
        [(DistanceMetric::Cosine, "cosine"), (DistanceMetric::L2, "l2"), (DistanceMetric::Ip, "inner_product")]
    {
        let case = format!("{name}_query_orders_hits_by_ascending_distance");
        trials.push(trial("vector", &case, &rt, &factory, move |env| ordering(env, metric)));
    }
    for ns in VectorNamespace::ALL {
        let case = format!("{}_payload_round_trips_with_id_and_created_at", ns.as_str());
        trials.push(trial("vector", &case, &rt, &factory, move |env| payload_round_trip(env, ns)));
    }
    trials.extend(cases!("vector", &rt, &factory;
        reports_the_requested_dimension_and_round_trips_a_full_size_vector,
        cosine_threshold_keeps_only_hits_above_the_similarity,
        l2_threshold_applies_to_one_over_one_plus_distance,
        inner_product_threshold_applies_to_the_inner_product,
        top_k_limits_the_hits_to_the_nearest,
        query_on_an_empty_store_is_empty,
        query_refuses_a_query_vector_of_the_wrong_dimension,
        hits_carry_the_payload_and_created_at,
        upsert_replaces_the_vector_and_payload_of_an_existing_id,
        created_at_survives_an_update,
        upsert_with_duplicate_ids_keeps_the_last,
        upsert_with_a_wrong_dimension_last_record_writes_nothing,
        upsert_refuses_nan_infinite_and_empty_vectors,
        upsert_of_empty_input_is_a_no_op,
        get_by_id_returns_none_for_a_missing_id,
        get_by_ids_answers_in_request_order_with_none_for_missing,
        get_vectors_by_ids_returns_exact_vectors_of_found_ids_only,
        filter_keys_returns_the_ids_not_stored,
        delete_removes_ids_and_ignores_missing_ones,
        delete_entity_removes_only_that_entitys_vector,
        delete_entity_relation_removes_relations_on_either_side,
        drop_all_leaves_other_workspaces_intact,
        workspaces_keep_separate_vectors_under_one_id,
        ids_and_payloads_with_cjk_emoji_and_quotes_round_trip,
        one_megabyte_content_round_trips,
        concurrent_upserts_all_land_and_stay_searchable,
    ));
    trials
}

fn obj(v: Value) -> JsonObject {
    v.as_object().cloned().unwrap_or_default()
}

/// A chunk record: the `chunks` namespace's meta fields.
fn chunk(id: &str, vector: &[f32]) -> VectorRecord {
    VectorRecord {
        id: id.to_owned(),
        vector: vector.to_vec(),
        payload: obj(json!({
            "full_doc_id": "doc-0123456789abcdef",
            "content": format!("Chunk text of {id}."),
            "file_path": "notes/report.txt",
            "tokens": 12,
            "chunk_order_index": 0,
        })),
    }
}

/// An entity record (`ent-<md5(name)>`) with the `entities` meta fields.
fn entity(name: &str, vector: &[f32]) -> VectorRecord {
    VectorRecord {
        id: ids::entity_id(name),
        vector: vector.to_vec(),
        payload: obj(json!({
            "entity_name": name,
            "source_id": "chunk-aaa<SEP>chunk-bbb",
            "content": format!("{name}\nAn entity called {name}."),
            "file_path": "notes/report.txt",
        })),
    }
}

/// A relation record (`rel-<md5(sorted pair)>`) with the `relationships` meta fields.
fn relation(src: &str, tgt: &str, vector: &[f32]) -> VectorRecord {
    VectorRecord {
        id: ids::relation_id(src, tgt),
        vector: vector.to_vec(),
        payload: obj(json!({
            "src_id": src,
            "tgt_id": tgt,
            "source_id": "chunk-ccc",
            "content": format!("{src}\t{tgt}\nknows\n{src} knows {tgt}."),
            "file_path": "notes/report.txt",
        })),
    }
}

/// A record of namespace `ns` with a distinct name.
fn record(ns: VectorNamespace, name: &str, vector: &[f32]) -> VectorRecord {
    match ns {
        VectorNamespace::Chunks => chunk(&ids::mdhash_id(name, "chunk-"), vector),
        VectorNamespace::Entities => entity(name, vector),
        VectorNamespace::Relationships => relation(name, &format!("{name} partner"), vector),
    }
}

/// A full-size vector whose components are multiples of 1/8 (exact in `f16`).
fn full_vector(seed: usize) -> Vec<f32> {
    (0..FULL_DIM).map(|i| ((i * 7 + seed * 3) % 16) as f32 / 8.0 - 1.0).collect()
}

fn hit_ids(hits: &[VectorHit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

async fn search(s: &Arc<dyn VectorStorage>, q: &[f32], top_k: usize, threshold: f64) -> Result<Vec<VectorHit>, Failed> {
    s.query(&VectorQuery::by_vector(q.to_vec(), top_k).with_threshold(threshold))
        .await
        .ctx(format_args!("query {q:?} top_k {top_k} threshold {threshold}"))
}

/// Every payload field reads back, with `id` and an integer `created_at`, and no
/// vector.
fn ensure_payload(got: &Option<JsonObject>, rec: &VectorRecord, what: &str) -> Outcome {
    let Some(got) = got else {
        return Err(Failed::from(format!("{what}: record {:?} is missing", rec.id)));
    };
    ensure_eq!(got.get("id"), Some(&Value::String(rec.id.clone())), "{what}: field \"id\"");
    for (k, v) in &rec.payload {
        ensure_eq!(got.get(k), Some(v), "{what}: payload field {k:?} of {:?}", rec.id);
    }
    ensure!(
        got.get("created_at").is_some_and(Value::is_i64),
        "{what}: created_at should be epoch seconds, got {:?}",
        got.get("created_at")
    );
    for k in ["vector", "content_vector", "__vector__", "embedding"] {
        ensure!(!got.contains_key(k), "{what}: the record carries its vector as {k:?}");
    }
    Ok(())
}

fn ensure_vector(got: Option<&Vec<f32>>, expected: &[f32], what: &str) -> Outcome {
    let Some(got) = got else {
        return Err(Failed::from(format!("{what}: vector missing")));
    };
    ensure_eq!(got.len(), expected.len(), "{what}: vector length");
    for (i, (a, b)) in got.iter().zip(expected).enumerate() {
        ensure!((a - b).abs() <= 1e-6, "{what}: component {i} is {a}, expected {b}");
    }
    Ok(())
}

/// Hits are exactly `expected` (ids), in order, with the metric's distances and
/// similarities.
fn ensure_hits(
    hits: &[VectorHit],
    expected: &[&VectorRecord],
    q: &[f32],
    metric: DistanceMetric,
    what: &str,
) -> Outcome {
    let want: Vec<&str> = expected.iter().map(|r| r.id.as_str()).collect();
    ensure_eq!(hit_ids(hits), want, "{what}: hit ids in order");
    for (hit, rec) in hits.iter().zip(expected) {
        let d = metric.distance(q, &rec.vector);
        ensure!((hit.distance - d).abs() <= EPS, "{what}: distance of {} is {}, expected {d}", hit.id, hit.distance);
        let s = metric.similarity(d);
        ensure!(
            (hit.similarity - s).abs() <= EPS,
            "{what}: similarity of {} is {}, expected {s}",
            hit.id,
            hit.similarity
        );
    }
    for pair in hits.windows(2) {
        ensure!(pair[0].distance <= pair[1].distance, "{what}: hits are not sorted by distance: {pair:?}");
    }
    Ok(())
}

async fn ordering(env: Arc<VecEnv>, metric: DistanceMetric) -> Outcome {
    let s = env.open(VectorNamespace::Chunks, DIM, metric).await?;
    let q = [1.0, 0.5, 0.0, 0.25];
    let recs = vec![
        chunk("chunk-a", &[1.0, 0.5, 0.0, 0.25]),
        chunk("chunk-b", &[0.5, 1.0, 0.0, 0.0]),
        chunk("chunk-c", &[-1.0, 0.0, 0.5, 0.0]),
        chunk("chunk-d", &[2.0, 1.0, 0.0, 0.5]),
        chunk("chunk-e", &[0.0, 0.0, 1.0, -1.0]),
        chunk("chunk-f", &[0.25, 0.0, 0.0, 0.0]),
    ];
    s.upsert(recs.clone()).await.ctx("upsert")?;
    let mut expected: Vec<&VectorRecord> = recs.iter().collect();
    expected.sort_by(|a, b| metric.distance(&q, &a.vector).total_cmp(&metric.distance(&q, &b.vector)));
    let hits = search(&s, &q, 10, -1e9).await?;
    ensure_hits(&hits, &expected, &q, metric, &format!("{} order", metric.as_str()))
}

async fn payload_round_trip(env: Arc<VecEnv>, ns: VectorNamespace) -> Outcome {
    let s = env.open(ns, DIM, DistanceMetric::Cosine).await?;
    ensure_eq!(s.namespace(), Namespace::Vector(ns), "namespace()");
    ensure_eq!(s.workspace(), &env.ws, "workspace()");
    let recs = vec![record(ns, "Alpha", &[1.0, 0.0, 0.0, 0.0]), record(ns, "Beta", &[0.0, 1.0, 0.0, 0.0])];
    let before = now_epoch();
    s.upsert(recs.clone()).await.ctx("upsert")?;
    s.index_done_callback().await.ctx("index_done_callback")?;
    let after = now_epoch();
    for rec in &recs {
        let got = s.get_by_id(&rec.id).await.ctx("get_by_id")?;
        ensure_payload(&got, rec, "get_by_id")?;
        let t = got.as_ref().and_then(|g| g.get("created_at")).and_then(Value::as_i64).unwrap_or_default();
        ensure!((before - 1..=after + 1).contains(&t), "created_at {t} is not within [{before}, {after}] ± 1 s");
    }
    let ask: Vec<String> = recs.iter().map(|r| r.id.clone()).collect();
    let got = s.get_by_ids(&ask).await.ctx("get_by_ids")?;
    ensure_eq!(got.len(), 2, "slot count");
    ensure_payload(&got[0], &recs[0], "get_by_ids slot 0")?;
    ensure_payload(&got[1], &recs[1], "get_by_ids slot 1")
}

async fn reports_the_requested_dimension_and_round_trips_a_full_size_vector(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Chunks, FULL_DIM, DistanceMetric::Cosine).await?;
    ensure_eq!(s.dimension(), FULL_DIM, "dimension()");
    let recs: Vec<VectorRecord> = (0..3).map(|i| chunk(&format!("chunk-full-{i}"), &full_vector(i))).collect();
    s.upsert(recs.clone()).await.ctx("upsert full-size vectors")?;
    let vectors = s
        .get_vectors_by_ids(&strings(&["chunk-full-0", "chunk-full-1", "chunk-full-2"]))
        .await
        .ctx("get_vectors_by_ids")?;
    for rec in &recs {
        ensure_vector(vectors.get(&rec.id), &rec.vector, &rec.id)?;
    }
    let hits = search(&s, &recs[1].vector, 1, 0.2).await?;
    ensure_eq!(hit_ids(&hits), vec!["chunk-full-1"], "nearest to itself");
    ensure!(hits[0].distance.abs() <= EPS, "distance to itself is {}", hits[0].distance);
    let short = s.upsert(vec![chunk("chunk-short", &[1.0; DIM])]).await;
    ensure!(
        matches!(short, Err(Error::DimensionMismatch { expected: FULL_DIM, got: DIM, .. })),
        "a {DIM}-dimension vector in a {FULL_DIM}-dimension store should be a DimensionMismatch, got {short:?}"
    );
    Ok(())
}

async fn cosine_threshold_keeps_only_hits_above_the_similarity(env: Arc<VecEnv>) -> Outcome {
    let m = DistanceMetric::Cosine;
    let s = env.open(VectorNamespace::Chunks, DIM, m).await?;
    let q = [1.0, 0.0, 0.0, 0.0];
    let recs = vec![
        chunk("chunk-same", &[2.0, 0.0, 0.0, 0.0]),       // similarity 1
        chunk("chunk-close", &[1.0, 1.0, 0.0, 0.0]),      // 0.707
        chunk("chunk-medium", &[1.0, 2.0, 0.0, 0.0]),     // 0.447
        chunk("chunk-orthogonal", &[0.0, 1.0, 0.0, 0.0]), // 0
        chunk("chunk-opposite", &[-1.0, 0.0, 0.0, 0.0]),  // -1
    ];
    s.upsert(recs.clone()).await.ctx("upsert")?;
    ensure_hits(&search(&s, &q, 10, 0.6).await?, &[&recs[0], &recs[1]], &q, m, "threshold 0.6")?;
    ensure_hits(&search(&s, &q, 10, 0.3).await?, &[&recs[0], &recs[1], &recs[2]], &q, m, "threshold 0.3")?;
    ensure_hits(&search(&s, &q, 10, 0.99).await?, &[&recs[0]], &q, m, "threshold 0.99")?;
    let all: Vec<&VectorRecord> = recs.iter().collect();
    ensure_hits(&search(&s, &q, 10, -1.5).await?, &all, &q, m, "threshold -1.5")
}

async fn l2_threshold_applies_to_one_over_one_plus_distance(env: Arc<VecEnv>) -> Outcome {
    let m = DistanceMetric::L2;
    let s = env.open(VectorNamespace::Chunks, DIM, m).await?;
    let q = [0.0, 0.0, 0.0, 1.0];
    let recs = vec![
        chunk("chunk-d0", &[0.0, 0.0, 0.0, 1.0]), // distance 0, similarity 1
        chunk("chunk-d1", &[1.0, 0.0, 0.0, 1.0]), // 1, 0.5
        chunk("chunk-d3", &[0.0, 3.0, 0.0, 1.0]), // 3, 0.25
        chunk("chunk-d8", &[0.0, 0.0, 8.0, 1.0]), // 8, 0.111
    ];
    s.upsert(recs.clone()).await.ctx("upsert")?;
    ensure_hits(&search(&s, &q, 10, 0.4).await?, &[&recs[0], &recs[1]], &q, m, "threshold 0.4")?;
    ensure_hits(&search(&s, &q, 10, 0.2).await?, &[&recs[0], &recs[1], &recs[2]], &q, m, "threshold 0.2")?;
    let all: Vec<&VectorRecord> = recs.iter().collect();
    ensure_hits(&search(&s, &q, 10, 0.0).await?, &all, &q, m, "threshold 0")
}

async fn inner_product_threshold_applies_to_the_inner_product(env: Arc<VecEnv>) -> Outcome {
    let m = DistanceMetric::Ip;
    let s = env.open(VectorNamespace::Chunks, DIM, m).await?;
    let q = [1.0, 1.0, 0.0, 0.0];
    let recs = vec![
        chunk("chunk-ip4", &[2.0, 2.0, 0.0, 0.0]),    // a·q = 4
        chunk("chunk-ip1", &[1.0, 0.0, 0.0, 0.0]),    // 1
        chunk("chunk-ip0", &[0.0, 0.0, 1.0, 0.0]),    // 0
        chunk("chunk-ipm2", &[-1.0, -1.0, 0.0, 0.0]), // -2
    ];
    s.upsert(recs.clone()).await.ctx("upsert")?;
    ensure_hits(&search(&s, &q, 10, 2.0).await?, &[&recs[0]], &q, m, "threshold 2")?;
    ensure_hits(&search(&s, &q, 10, 0.5).await?, &[&recs[0], &recs[1]], &q, m, "threshold 0.5")?;
    ensure_hits(&search(&s, &q, 10, -1.0).await?, &[&recs[0], &recs[1], &recs[2]], &q, m, "threshold -1")?;
    let all: Vec<&VectorRecord> = recs.iter().collect();
    ensure_hits(&search(&s, &q, 10, -10.0).await?, &all, &q, m, "threshold -10")
}

async fn top_k_limits_the_hits_to_the_nearest(env: Arc<VecEnv>) -> Outcome {
    let m = DistanceMetric::L2;
    let s = env.open(VectorNamespace::Chunks, DIM, m).await?;
    let recs: Vec<VectorRecord> = (0..6).map(|i| chunk(&format!("chunk-k{i}"), &[i as f32, 0.0, 0.0, 0.0])).collect();
    s.upsert(recs.clone()).await.ctx("upsert")?;
    let q = [0.0; DIM];
    ensure_hits(&search(&s, &q, 3, 0.0).await?, &[&recs[0], &recs[1], &recs[2]], &q, m, "top_k 3")?;
    ensure_hits(&search(&s, &q, 1, 0.0).await?, &[&recs[0]], &q, m, "top_k 1")?;
    ensure!(search(&s, &q, 0, 0.0).await?.is_empty(), "top_k 0 gives no hit");
    let all: Vec<&VectorRecord> = recs.iter().collect();
    ensure_hits(&search(&s, &q, 100, 0.0).await?, &all, &q, m, "top_k above the record count")
}

async fn query_on_an_empty_store_is_empty(env: Arc<VecEnv>) -> Outcome {
    for metric in [DistanceMetric::Cosine, DistanceMetric::L2, DistanceMetric::Ip] {
        let s = env.open(VectorNamespace::Entities, DIM, metric).await?;
        let hits = search(&s, &[1.0, 0.0, 0.0, 0.0], 5, -1e9).await?;
        ensure!(hits.is_empty(), "{}: an empty store has no hits, got {hits:?}", metric.as_str());
    }
    Ok(())
}

async fn query_refuses_a_query_vector_of_the_wrong_dimension(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Chunks, DIM, DistanceMetric::Cosine).await?;
    s.upsert(vec![chunk("chunk-1", &[1.0, 0.0, 0.0, 0.0])]).await.ctx("upsert")?;
    for len in [DIM - 1, DIM + 1] {
        let res = s.query(&VectorQuery::by_vector(vec![1.0; len], 5)).await;
        ensure!(
            matches!(res, Err(Error::DimensionMismatch { expected: DIM, got, .. }) if got == len),
            "a {len}-component query should be DimensionMismatch {{ expected: {DIM}, got: {len} }}, got {res:?}"
        );
    }
    Ok(())
}

async fn hits_carry_the_payload_and_created_at(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Entities, DIM, DistanceMetric::Cosine).await?;
    let rec = entity("Ada Lovelace", &[0.5, 0.5, 0.0, 0.0]);
    s.upsert(vec![rec.clone(), entity("Charles Babbage", &[0.0, 0.0, 1.0, 0.0])]).await.ctx("upsert")?;
    let hits = search(&s, &[1.0, 1.0, 0.0, 0.0], 1, 0.2).await?;
    ensure_eq!(hit_ids(&hits), vec![rec.id.as_str()], "the one nearest hit");
    let meta = &hits[0].metadata;
    for (k, v) in &rec.payload {
        ensure_eq!(meta.get(k), Some(v), "hit metadata field {k:?}");
    }
    ensure!(meta.get("created_at").is_some_and(Value::is_i64), "hit metadata created_at: {:?}", meta.get("created_at"));
    Ok(())
}

async fn upsert_replaces_the_vector_and_payload_of_an_existing_id(env: Arc<VecEnv>) -> Outcome {
    let m = DistanceMetric::Cosine;
    let s = env.open(VectorNamespace::Chunks, DIM, m).await?;
    s.upsert(vec![chunk("chunk-x", &[1.0, 0.0, 0.0, 0.0]), chunk("chunk-y", &[0.0, 1.0, 0.0, 0.0])])
        .await
        .ctx("upsert")?;
    let mut moved = chunk("chunk-x", &[0.0, 0.0, 0.0, 1.0]);
    moved.payload.insert("content".into(), json!("Rewritten chunk text."));
    s.upsert(vec![moved.clone()]).await.ctx("second upsert")?;
    ensure_payload(&s.get_by_id("chunk-x").await.ctx("get_by_id")?, &moved, "replaced record")?;
    let v = s.get_vectors_by_ids(&strings(&["chunk-x"])).await.ctx("get_vectors_by_ids")?;
    ensure_vector(v.get("chunk-x"), &moved.vector, "replaced vector")?;
    let q = [0.0, 0.0, 0.0, 1.0];
    ensure_hits(&search(&s, &q, 5, 0.5).await?, &[&moved], &q, m, "search finds the new vector")?;
    let old = search(&s, &[1.0, 0.0, 0.0, 0.0], 5, 0.5).await?;
    ensure!(old.is_empty(), "the old vector is gone, yet the search found {:?}", hit_ids(&old));
    Ok(())
}

async fn created_at_survives_an_update(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Entities, DIM, DistanceMetric::Cosine).await?;
    let rec = entity("Grace Hopper", &[1.0, 0.0, 0.0, 0.0]);
    s.upsert(vec![rec.clone()]).await.ctx("upsert")?;
    let first = s.get_by_id(&rec.id).await.ctx("get_by_id")?.ok_or("record missing")?;
    let created = first.get("created_at").and_then(Value::as_i64).ok_or("created_at missing")?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut again = rec.clone();
    again.payload.insert("content".into(), json!("Grace Hopper\nUpdated description."));
    s.upsert(vec![again.clone()]).await.ctx("second upsert")?;
    let got = s.get_by_id(&rec.id).await.ctx("get_by_id")?;
    ensure_payload(&got, &again, "updated record")?;
    let t = got.and_then(|g| g.get("created_at").and_then(Value::as_i64));
    ensure_eq!(t, Some(created), "created_at keeps its first value");
    Ok(())
}

async fn upsert_with_duplicate_ids_keeps_the_last(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Chunks, DIM, DistanceMetric::Cosine).await?;
    let first = chunk("chunk-dup", &[1.0, 0.0, 0.0, 0.0]);
    let mut last = chunk("chunk-dup", &[0.0, 1.0, 0.0, 0.0]);
    last.payload.insert("content".into(), json!("The last version."));
    s.upsert(vec![first, chunk("chunk-other", &[0.0, 0.0, 1.0, 0.0]), last.clone()]).await.ctx("upsert")?;
    ensure_payload(&s.get_by_id("chunk-dup").await.ctx("get_by_id")?, &last, "duplicated id")?;
    let v = s.get_vectors_by_ids(&strings(&["chunk-dup", "chunk-other"])).await.ctx("get_vectors_by_ids")?;
    ensure_vector(v.get("chunk-dup"), &last.vector, "duplicated id's vector")?;
    ensure_eq!(v.len(), 2, "both ids stored once");
    Ok(())
}

async fn upsert_with_a_wrong_dimension_last_record_writes_nothing(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Chunks, DIM, DistanceMetric::Cosine).await?;
    let res = s
        .upsert(vec![
            chunk("chunk-ok-1", &[1.0, 0.0, 0.0, 0.0]),
            chunk("chunk-ok-2", &[0.0, 1.0, 0.0, 0.0]),
            chunk("chunk-bad", &[1.0, 0.0, 0.0, 0.0, 0.0]),
        ])
        .await;
    match &res {
        Err(Error::DimensionMismatch { id: Some(id), expected: DIM, got: 5 }) if id == "chunk-bad" => {}
        other => {
            return Err(Failed::from(format!(
                "expected DimensionMismatch {{ id: Some(\"chunk-bad\"), expected: {DIM}, got: 5 }}, got {other:?}"
            )));
        }
    }
    let got = s.get_by_ids(&strings(&["chunk-ok-1", "chunk-ok-2", "chunk-bad"])).await.ctx("get_by_ids")?;
    ensure_eq!(got, vec![None, None, None], "nothing of the refused batch is stored");
    ensure!(search(&s, &[1.0, 0.0, 0.0, 0.0], 5, -1.5).await?.is_empty(), "no refused vector is searchable");
    Ok(())
}

async fn upsert_refuses_nan_infinite_and_empty_vectors(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Chunks, DIM, DistanceMetric::Cosine).await?;
    let good = chunk("chunk-good", &[1.0, 0.0, 0.0, 0.0]);
    for (id, v) in [
        ("chunk-nan", vec![1.0, f32::NAN, 0.0, 0.0]),
        ("chunk-inf", vec![f32::INFINITY, 0.0, 0.0, 0.0]),
        ("chunk-neg-inf", vec![0.0, 0.0, 0.0, f32::NEG_INFINITY]),
    ] {
        expect_invalid(s.upsert(vec![good.clone(), chunk(id, &v)]).await, id, &format!("{id}: {v:?}"))?;
    }
    let empty = s.upsert(vec![good.clone(), chunk("chunk-empty", &[])]).await;
    let names_it = match &empty {
        Err(Error::InvalidInput { input, .. }) => input.contains("chunk-empty"),
        Err(Error::DimensionMismatch { id: Some(id), got: 0, .. }) => id == "chunk-empty",
        _ => false,
    };
    ensure!(names_it, "an empty vector should be refused naming \"chunk-empty\", got {empty:?}");
    let nul = s.upsert(vec![good.clone(), chunk("chunk\0nul", &[1.0, 0.0, 0.0, 0.0])]).await;
    expect_invalid(nul, "chunk\0nul", "NUL in the id")?;
    let long = "c".repeat(256);
    expect_invalid(s.upsert(vec![good, chunk(&long, &[1.0, 0.0, 0.0, 0.0])]).await, &long, "256-character id")?;
    let got = s.get_by_id("chunk-good").await.ctx("get_by_id")?;
    ensure_eq!(got, None, "the valid record of every refused batch is not stored");
    Ok(())
}

async fn upsert_of_empty_input_is_a_no_op(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Relationships, DIM, DistanceMetric::Cosine).await?;
    s.upsert(Vec::new()).await.ctx("upsert(vec![])")?;
    let rec = relation("A", "B", &[1.0, 0.0, 0.0, 0.0]);
    s.upsert(vec![rec.clone()]).await.ctx("upsert")?;
    s.upsert(Vec::new()).await.ctx("upsert(vec![]) again")?;
    ensure_payload(&s.get_by_id(&rec.id).await.ctx("get_by_id")?, &rec, "after an empty upsert")
}

async fn get_by_id_returns_none_for_a_missing_id(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Entities, DIM, DistanceMetric::Cosine).await?;
    ensure_eq!(s.get_by_id("ent-missing").await.ctx("get_by_id on empty")?, None, "missing id on an empty store");
    s.upsert(vec![entity("Present", &[1.0, 0.0, 0.0, 0.0])]).await.ctx("upsert")?;
    ensure_eq!(s.get_by_id("ent-missing").await.ctx("get_by_id")?, None, "missing id beside a stored one");
    Ok(())
}

async fn get_by_ids_answers_in_request_order_with_none_for_missing(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Chunks, DIM, DistanceMetric::Cosine).await?;
    let recs: Vec<VectorRecord> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(i, t)| chunk(&format!("chunk-{t}"), &[1.0, i as f32, 0.0, 0.0]))
        .collect();
    s.upsert(recs.clone()).await.ctx("upsert")?;
    let ask = strings(&["chunk-c", "chunk-x", "chunk-a", "chunk-c", "chunk-b"]);
    let got = s.get_by_ids(&ask).await.ctx("get_by_ids")?;
    ensure_eq!(got.len(), ask.len(), "one slot per requested id");
    ensure_payload(&got[0], &recs[2], "slot 0")?;
    ensure_eq!(got[1], None, "slot 1 (missing)");
    ensure_payload(&got[2], &recs[0], "slot 2")?;
    ensure_payload(&got[3], &recs[2], "slot 3 (duplicate)")?;
    ensure_payload(&got[4], &recs[1], "slot 4")?;
    ensure!(s.get_by_ids(&[]).await.ctx("get_by_ids(&[])")?.is_empty(), "empty request");
    Ok(())
}

async fn filter_keys_returns_the_ids_not_stored(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Chunks, DIM, DistanceMetric::Cosine).await?;
    s.upsert(vec![chunk("chunk-k1", &[1.0, 0.0, 0.0, 0.0]), chunk("chunk-k2", &[0.0, 1.0, 0.0, 0.0])])
        .await
        .ctx("upsert")?;
    let missing =
        s.filter_keys(&strings(&["chunk-k2", "chunk-none", "chunk-k1", "chunk-none"])).await.ctx("filter_keys")?;
    ensure_eq!(missing, HashSet::from(["chunk-none".to_owned()]), "only the id not stored");
    ensure!(s.filter_keys(&[]).await.ctx("filter_keys(&[])")?.is_empty(), "empty request");
    Ok(())
}

async fn get_vectors_by_ids_returns_exact_vectors_of_found_ids_only(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Chunks, 8, DistanceMetric::Cosine).await?;
    let recs = vec![
        chunk("chunk-v1", &[0.125, -0.5, 1.0, 2.0, -3.75, 0.0, 0.0625, 1024.0]),
        chunk("chunk-v2", &[-1.0, 0.25, 0.5, -0.125, 8.0, 0.375, -0.0625, 0.5]),
    ];
    s.upsert(recs.clone()).await.ctx("upsert")?;
    let got = s
        .get_vectors_by_ids(&strings(&["chunk-v2", "chunk-none", "chunk-v1", "chunk-v2"]))
        .await
        .ctx("get_vectors_by_ids")?;
    let mut keys: Vec<&String> = got.keys().collect();
    keys.sort();
    ensure_eq!(keys, vec!["chunk-v1", "chunk-v2"], "only found ids appear");
    for rec in &recs {
        ensure_vector(got.get(&rec.id), &rec.vector, &rec.id)?;
    }
    ensure_eq!(s.get_vectors_by_ids(&[]).await.ctx("get_vectors_by_ids(&[])")?, HashMap::new(), "empty request");
    Ok(())
}

async fn delete_removes_ids_and_ignores_missing_ones(env: Arc<VecEnv>) -> Outcome {
    let m = DistanceMetric::Cosine;
    let s = env.open(VectorNamespace::Chunks, DIM, m).await?;
    let recs: Vec<VectorRecord> =
        (0..4).map(|i| chunk(&format!("chunk-{i}"), &[1.0, i as f32 * 0.25, 0.0, 0.0])).collect();
    s.upsert(recs.clone()).await.ctx("upsert")?;
    s.delete(&strings(&["chunk-1", "chunk-missing", "chunk-3", "chunk-1"])).await.ctx("delete")?;
    s.delete(&[]).await.ctx("delete(&[])")?;
    let present: Vec<bool> = s
        .get_by_ids(&strings(&["chunk-0", "chunk-1", "chunk-2", "chunk-3"]))
        .await
        .ctx("get_by_ids")?
        .iter()
        .map(Option::is_some)
        .collect();
    ensure_eq!(present, vec![true, false, true, false], "which records survive the delete");
    let q = [1.0, 0.0, 0.0, 0.0];
    ensure_hits(&search(&s, &q, 10, -1.5).await?, &[&recs[0], &recs[2]], &q, m, "search after delete")?;
    let v = s.get_vectors_by_ids(&strings(&["chunk-1", "chunk-3"])).await.ctx("get_vectors_by_ids")?;
    ensure!(v.is_empty(), "deleted vectors are gone, got {:?}", v.keys().collect::<Vec<_>>());
    Ok(())
}

async fn delete_entity_removes_only_that_entitys_vector(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Entities, DIM, DistanceMetric::Cosine).await?;
    let recs = vec![
        entity("Alice", &[1.0, 0.0, 0.0, 0.0]),
        entity("Alice Smith", &[0.0, 1.0, 0.0, 0.0]),
        entity("alice", &[0.0, 0.0, 1.0, 0.0]),
        entity("Bob", &[0.0, 0.0, 0.0, 1.0]),
    ];
    s.upsert(recs.clone()).await.ctx("upsert")?;
    s.delete_entity("Alice").await.ctx("delete_entity(Alice)")?;
    s.delete_entity("Nobody").await.ctx("delete_entity of an unknown entity")?;
    let ask: Vec<String> = recs.iter().map(|r| r.id.clone()).collect();
    let present: Vec<bool> = s.get_by_ids(&ask).await.ctx("get_by_ids")?.iter().map(Option::is_some).collect();
    ensure_eq!(
        present,
        vec![false, true, true, true],
        "only the exact entity name is deleted (Alice, Alice Smith, alice, Bob)"
    );
    Ok(())
}

async fn delete_entity_relation_removes_relations_on_either_side(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Relationships, DIM, DistanceMetric::Cosine).await?;
    let recs = vec![
        relation("Alice", "Bob", &[1.0, 0.0, 0.0, 0.0]),
        relation("Carol", "Alice", &[0.0, 1.0, 0.0, 0.0]),
        relation("Bob", "Carol", &[0.0, 0.0, 1.0, 0.0]),
        relation("Alice Smith", "Bob", &[0.0, 0.0, 0.0, 1.0]),
    ];
    s.upsert(recs.clone()).await.ctx("upsert")?;
    s.delete_entity_relation("Alice").await.ctx("delete_entity_relation(Alice)")?;
    s.delete_entity_relation("Nobody").await.ctx("delete_entity_relation of an unknown entity")?;
    let ask: Vec<String> = recs.iter().map(|r| r.id.clone()).collect();
    let present: Vec<bool> = s.get_by_ids(&ask).await.ctx("get_by_ids")?.iter().map(Option::is_some).collect();
    ensure_eq!(
        present,
        vec![false, false, true, true],
        "relations with Alice as source or target are deleted (Alice-Bob, Carol-Alice, Bob-Carol, Alice Smith-Bob)"
    );
    let hits = search(&s, &[1.0, 1.0, 0.0, 0.0], 10, 0.2).await?;
    ensure!(hits.is_empty(), "deleted relations are not searchable, got {:?}", hit_ids(&hits));
    Ok(())
}

async fn drop_all_leaves_other_workspaces_intact(env: Arc<VecEnv>) -> Outcome {
    let other_ws = env.other_workspace();
    let mine = env.open(VectorNamespace::Chunks, DIM, DistanceMetric::Cosine).await?;
    let other = env.open_in(VectorNamespace::Chunks, &other_ws, DIM, DistanceMetric::Cosine).await?;
    let rec = chunk("chunk-iso", &[1.0, 0.0, 0.0, 0.0]);
    mine.upsert(vec![rec.clone(), chunk("chunk-2", &[0.0, 1.0, 0.0, 0.0])]).await.ctx("upsert mine")?;
    other.upsert(vec![rec.clone()]).await.ctx("upsert other")?;
    mine.drop_all().await.ctx("drop_all")?;
    ensure_eq!(mine.get_by_id("chunk-iso").await.ctx("get_by_id")?, None, "dropped record");
    ensure!(search(&mine, &rec.vector, 5, -1.5).await?.is_empty(), "a dropped store has no hits");
    ensure_payload(&other.get_by_id("chunk-iso").await.ctx("get_by_id other")?, &rec, "other workspace")?;
    ensure_eq!(
        hit_ids(&search(&other, &rec.vector, 5, 0.5).await?),
        vec!["chunk-iso"],
        "other workspace is searchable"
    );
    mine.upsert(vec![rec.clone()]).await.ctx("upsert after drop_all")?;
    ensure!(mine.get_by_id("chunk-iso").await.ctx("get_by_id")?.is_some(), "the storage is usable after drop_all");
    Ok(())
}

async fn workspaces_keep_separate_vectors_under_one_id(env: Arc<VecEnv>) -> Outcome {
    let other_ws = env.other_workspace();
    let a = env.open(VectorNamespace::Entities, DIM, DistanceMetric::Cosine).await?;
    let b = env.open_in(VectorNamespace::Entities, &other_ws, DIM, DistanceMetric::Cosine).await?;
    let ra = entity("Shared", &[1.0, 0.0, 0.0, 0.0]);
    let mut rb = entity("Shared", &[0.0, 1.0, 0.0, 0.0]);
    rb.payload.insert("content".into(), json!("Shared\nWorkspace B's description."));
    a.upsert(vec![ra.clone()]).await.ctx("upsert A")?;
    ensure!(search(&b, &ra.vector, 5, -1.5).await?.is_empty(), "B's search does not see A's vector");
    b.upsert(vec![rb.clone()]).await.ctx("upsert B")?;
    ensure_payload(&a.get_by_id(&ra.id).await.ctx("get_by_id A")?, &ra, "workspace A")?;
    ensure_payload(&b.get_by_id(&rb.id).await.ctx("get_by_id B")?, &rb, "workspace B")?;
    b.delete_entity("Shared").await.ctx("delete_entity in B")?;
    ensure!(a.get_by_id(&ra.id).await.ctx("get_by_id A")?.is_some(), "delete_entity in B leaves A's vector");
    Ok(())
}

async fn ids_and_payloads_with_cjk_emoji_and_quotes_round_trip(env: Arc<VecEnv>) -> Outcome {
    let chunks = env.open(VectorNamespace::Chunks, DIM, DistanceMetric::Cosine).await?;
    let recs: Vec<VectorRecord> = TRICKY
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut r = chunk(id, &[1.0, i as f32 * 0.125, 0.0, 0.0]);
            r.payload.insert("content".into(), json!(format!("{id} — {}", TRICKY.join(" "))));
            r.payload.insert("file_path".into(), json!(format!("目录/{id}.txt")));
            r
        })
        .collect();
    chunks.upsert(recs.clone()).await.ctx("upsert tricky chunk ids")?;
    for rec in &recs {
        ensure_payload(&chunks.get_by_id(&rec.id).await.ctx("get_by_id")?, rec, "tricky chunk")?;
    }
    let ids: Vec<String> = recs.iter().map(|r| r.id.clone()).collect();
    ensure_eq!(
        chunks.get_vectors_by_ids(&ids).await.ctx("get_vectors_by_ids")?.len(),
        ids.len(),
        "every tricky id has its vector"
    );
    let ents = env.open(VectorNamespace::Entities, DIM, DistanceMetric::Cosine).await?;
    let rels = env.open(VectorNamespace::Relationships, DIM, DistanceMetric::Cosine).await?;
    let e: Vec<VectorRecord> = TRICKY.iter().map(|n| entity(n, &[0.0, 1.0, 0.0, 0.0])).collect();
    let r: Vec<VectorRecord> = TRICKY.windows(2).map(|w| relation(w[0], w[1], &[0.0, 0.0, 1.0, 0.0])).collect();
    ents.upsert(e.clone()).await.ctx("upsert tricky entities")?;
    rels.upsert(r.clone()).await.ctx("upsert tricky relations")?;
    for rec in e.iter().chain(&r) {
        let store = if rec.id.starts_with("ent-") { &ents } else { &rels };
        ensure_payload(&store.get_by_id(&rec.id).await.ctx("get_by_id")?, rec, "tricky entity/relation")?;
    }
    ents.delete_entity(TRICKY[3]).await.ctx("delete_entity of a tricky name")?;
    ensure_eq!(ents.get_by_id(&e[3].id).await.ctx("get_by_id")?, None, "tricky entity deleted by name");
    rels.delete_entity_relation(TRICKY[4]).await.ctx("delete_entity_relation of a tricky name")?;
    let present: Vec<bool> = rels
        .get_by_ids(&r.iter().map(|x| x.id.clone()).collect::<Vec<_>>())
        .await
        .ctx("get_by_ids")?
        .iter()
        .map(Option::is_some)
        .collect();
    ensure_eq!(present, vec![true, true, true, false, false, true, true], "relations touching TRICKY[4] are deleted");
    Ok(())
}

async fn one_megabyte_content_round_trips(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Chunks, DIM, DistanceMetric::Cosine).await?;
    let mut rec = chunk("chunk-big", &[1.0, 0.0, 0.0, 0.0]);
    rec.payload.insert("content".into(), json!(big_text(ONE_MB)));
    s.upsert(vec![rec.clone()]).await.ctx("upsert a 1 MB chunk")?;
    ensure_payload(&s.get_by_id("chunk-big").await.ctx("get_by_id")?, &rec, "1 MB chunk")?;
    let hits = search(&s, &[1.0, 0.0, 0.0, 0.0], 1, 0.2).await?;
    ensure_eq!(hit_ids(&hits), vec!["chunk-big"], "the 1 MB chunk is searchable");
    ensure_eq!(hits[0].metadata.get("content"), rec.payload.get("content"), "hit content");
    Ok(())
}

async fn concurrent_upserts_all_land_and_stay_searchable(env: Arc<VecEnv>) -> Outcome {
    let s = env.open(VectorNamespace::Chunks, DIM, DistanceMetric::L2).await?;
    let mut tasks = Vec::new();
    for t in 0..6 {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let rec = chunk(&format!("chunk-{t}-{i}"), &[t as f32, i as f32, 0.0, 0.0]);
                s.upsert(vec![rec]).await?;
                s.query(&VectorQuery::by_vector(vec![t as f32, 0.0, 0.0, 0.0], 3)).await?;
            }
            crate::Result::Ok(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| Failed::from(format!("task panicked: {e}")))?.ctx("concurrent upsert/query")?;
    }
    let ids: Vec<String> = (0..6).flat_map(|t| (0..10).map(move |i| format!("chunk-{t}-{i}"))).collect();
    let vectors = s.get_vectors_by_ids(&ids).await.ctx("get_vectors_by_ids")?;
    ensure_eq!(vectors.len(), 60, "every concurrent record is stored");
    let hits = search(&s, &[5.0, 9.0, 0.0, 0.0], 1, 0.0).await?;
    ensure_eq!(hit_ids(&hits), vec!["chunk-5-9"], "exact match among the concurrent records");
    Ok(())
}
