//! The key-value suite: [`kv_trials`].

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::{Failed, Trial};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use super::KvFactory;
use super::support::{
    Ctx, Env, ONE_MB, Outcome, TRICKY, big_text, cases, ensure, ensure_eq, expect_invalid, now_epoch, strings, trial,
};
use crate::{JsonObject, KvNamespace, KvStorage, Namespace, Workspace, ids};

type KvEnv = Env<dyn KvFactory>;

impl Env<dyn KvFactory> {
    /// Opens `ns` in the trial's workspace.
    async fn open(&self, ns: KvNamespace) -> Result<Arc<dyn KvStorage>, Failed> {
        let ws = self.ws.clone();
        self.open_in(ns, &ws).await
    }

    /// Opens `ns` in `ws` (dropped after the case).
    async fn open_in(&self, ns: KvNamespace, ws: &Workspace) -> Result<Arc<dyn KvStorage>, Failed> {
        let s = self.factory.open(ns, ws).await.ctx(format_args!("open {ns} in {ws}"))?;
        self.track(s.clone());
        Ok(s)
    }
}

/// Every key-value case, each in its own workspace: round trips of all seven
/// namespaces, request order, missing and duplicated ids, empty input,
/// all-or-nothing validation, timestamps, tricky and 1 MB values, workspace and
/// namespace isolation, concurrency and the lifecycle.
pub fn kv_trials(factory: Arc<dyn KvFactory>, rt: Arc<Runtime>) -> Vec<Trial> {
    let mut trials: Vec<Trial> = KvNamespace::ALL
        .into_iter()
        .map(|ns| {
            let name = format!("{}_record_round_trips_every_field", ns.as_str());
            trial("kv", &name, &rt, &factory, move |env| round_trip(env, ns))
        })
        .collect();
    trials.extend(cases!("kv", &rt, &factory;
        get_by_id_returns_none_for_a_missing_id,
        get_by_id_adds_id_and_epoch_second_timestamps,
        update_replaces_fields_and_keeps_create_time,
        get_by_ids_answers_in_request_order_with_none_for_missing,
        get_by_ids_answers_a_duplicated_id_in_each_slot,
        get_by_ids_of_empty_input_is_empty,
        filter_keys_returns_only_the_unstored_keys,
        filter_keys_of_empty_input_is_empty,
        upsert_of_empty_input_is_a_no_op,
        upsert_with_duplicate_ids_keeps_the_last_record,
        upsert_with_an_invalid_last_record_writes_nothing,
        upsert_refuses_empty_ids_nul_bytes_and_overlong_ids,
        upsert_refuses_a_field_of_the_wrong_shape,
        chunk_index_namespaces_accept_ids_up_to_512_characters,
        delete_removes_listed_ids_and_ignores_missing_ones,
        delete_of_empty_input_is_a_no_op,
        is_empty_follows_inserts_and_deletes,
        drop_all_leaves_other_workspaces_intact,
        drop_all_leaves_other_namespaces_intact,
        workspaces_keep_separate_records_under_one_id,
        ids_with_cjk_emoji_and_quotes_round_trip,
        values_with_cjk_emoji_quotes_and_nesting_round_trip,
        one_megabyte_value_round_trips,
        two_instances_of_one_namespace_share_records,
        lifecycle_calls_succeed_and_are_idempotent,
        concurrent_upserts_from_many_tasks_all_land,
    ));
    trials
}

/// A record valid for `ns`, with every field the namespace stores; `tag` makes
/// its values distinct.
pub(crate) fn sample(ns: KvNamespace, tag: &str) -> JsonObject {
    let v = match ns {
        KvNamespace::FullDocs => json!({
            "content": format!("Document {tag}: the full text."),
            "file_path": format!("{tag}.txt"),
            "chunk_options": {"chunk_token_size": 1200, "split_by_character": "\n\n"},
        }),
        KvNamespace::TextChunks => json!({
            "tokens": 42,
            "chunk_order_index": 3,
            "full_doc_id": format!("doc-{tag}"),
            "content": format!("Chunk {tag} of the document."),
            "file_path": format!("{tag}.md"),
            "llm_cache_list": [format!("default:extract:{tag}")],
            "heading": {"level": 2, "text": format!("Heading {tag}")},
            "sidecar": {"page": 7, "source": "pdf"},
        }),
        KvNamespace::LlmResponseCache => json!({
            "original_prompt": format!("Prompt {tag}?"),
            "return": format!("Answer {tag}."),
            "cache_type": "extract",
            "chunk_id": format!("chunk-{tag}"),
            "queryparam": {"mode": "local", "top_k": 40},
        }),
        KvNamespace::FullEntities => json!({"entity_names": [format!("Alice {tag}"), "Bob"], "count": 2}),
        KvNamespace::FullRelations => json!({"relation_pairs": [[format!("Alice {tag}"), "Bob"]], "count": 1}),
        KvNamespace::EntityChunks | KvNamespace::RelationChunks => {
            json!({"chunk_ids": [format!("chunk-a{tag}"), format!("chunk-b{tag}")], "count": 2})
        }
    };
    v.as_object().cloned().unwrap_or_default()
}

/// An id in the namespace's LightRAG key format.
fn sample_id(ns: KvNamespace, tag: &str) -> String {
    match ns {
        KvNamespace::FullDocs | KvNamespace::FullEntities | KvNamespace::FullRelations => ids::mdhash_id(tag, "doc-"),
        KvNamespace::TextChunks => ids::mdhash_id(tag, "chunk-"),
        KvNamespace::LlmResponseCache => ids::llm_cache_key("default", "extract", &ids::args_hash(&[tag])),
        KvNamespace::EntityChunks => format!("Entity {tag}"),
        KvNamespace::RelationChunks => ids::relation_chunks_key(&format!("Alpha {tag}"), &format!("Beta {tag}")),
    }
}

fn obj(v: Value) -> JsonObject {
    v.as_object().cloned().unwrap_or_default()
}

/// Every field of `expected` reads back equal in `got`, and `got.id == id`
/// (extra fields such as `create_time` may appear).
fn ensure_record(got: &Option<JsonObject>, id: &str, expected: &JsonObject, what: &str) -> Outcome {
    let Some(got) = got else {
        return Err(Failed::from(format!("{what}: record {id:?} is missing")));
    };
    ensure_eq!(got.get("id"), Some(&Value::String(id.to_owned())), "{what}: field \"id\"");
    for (k, v) in expected {
        ensure_eq!(got.get(k), Some(v), "{what}: field {k:?} of {id:?}");
    }
    Ok(())
}

async fn round_trip(env: Arc<KvEnv>, ns: KvNamespace) -> Outcome {
    let s = env.open(ns).await?;
    let (id, rec) = (sample_id(ns, "rt"), sample(ns, "rt"));
    s.upsert(vec![(id.clone(), rec.clone())]).await.ctx("upsert")?;
    ensure_record(&s.get_by_id(&id).await.ctx("get_by_id")?, &id, &rec, "get_by_id")?;
    let many = s.get_by_ids(std::slice::from_ref(&id)).await.ctx("get_by_ids")?;
    ensure_eq!(many.len(), 1, "get_by_ids slot count");
    ensure_record(&many[0], &id, &rec, "get_by_ids")
}

async fn get_by_id_returns_none_for_a_missing_id(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::FullDocs).await?;
    ensure_eq!(s.get_by_id("doc-missing").await.ctx("get_by_id on empty")?, None, "missing id on an empty store");
    s.upsert(vec![("doc-present".into(), sample(KvNamespace::FullDocs, "p"))]).await.ctx("upsert")?;
    ensure_eq!(s.get_by_id("doc-missing").await.ctx("get_by_id")?, None, "missing id beside a stored one");
    ensure_eq!(s.get_by_id("DOC-PRESENT").await.ctx("get_by_id")?, None, "ids are case-sensitive");
    Ok(())
}

async fn get_by_id_adds_id_and_epoch_second_timestamps(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::TextChunks).await?;
    let before = now_epoch();
    s.upsert(vec![("chunk-ts".into(), sample(KvNamespace::TextChunks, "ts"))]).await.ctx("upsert")?;
    let after = now_epoch();
    let got = s.get_by_id("chunk-ts").await.ctx("get_by_id")?.ok_or("record missing")?;
    ensure_eq!(got.get("id"), Some(&json!("chunk-ts")), "id field");
    for field in ["create_time", "update_time"] {
        let t = got.get(field).and_then(Value::as_i64);
        ensure!(t.is_some(), "{field} should be an integer (epoch seconds), got {:?}", got.get(field));
        let t = t.unwrap_or_default();
        ensure!((before - 1..=after + 1).contains(&t), "{field} = {t} is not within [{before}, {after}] ± 1 s");
    }
    Ok(())
}

async fn update_replaces_fields_and_keeps_create_time(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::TextChunks).await?;
    let first = sample(KvNamespace::TextChunks, "v1");
    s.upsert(vec![("chunk-up".into(), first)]).await.ctx("first upsert")?;
    let created = s.get_by_id("chunk-up").await.ctx("get_by_id")?.ok_or("record missing")?;
    let create_time = created.get("create_time").and_then(Value::as_i64).ok_or("create_time missing")?;
    // Timestamps have whole-second precision: let the clock move on.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut second = sample(KvNamespace::TextChunks, "v2");
    second.insert("tokens".into(), json!(7));
    s.upsert(vec![("chunk-up".into(), second.clone())]).await.ctx("second upsert")?;
    let got = s.get_by_id("chunk-up").await.ctx("get_by_id after update")?;
    ensure_record(&got, "chunk-up", &second, "after update")?;
    let got = got.unwrap_or_default();
    ensure_eq!(got.get("create_time").and_then(Value::as_i64), Some(create_time), "create_time survives an update");
    let update_time = got.get("update_time").and_then(Value::as_i64).ok_or("update_time missing")?;
    ensure!(update_time > create_time, "update_time {update_time} should be later than create_time {create_time}");
    Ok(())
}

async fn get_by_ids_answers_in_request_order_with_none_for_missing(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::FullEntities).await?;
    let recs: Vec<(String, JsonObject)> =
        ["a", "b", "c"].iter().map(|t| (format!("doc-{t}"), sample(KvNamespace::FullEntities, t))).collect();
    s.upsert(recs.clone()).await.ctx("upsert")?;
    let ask = strings(&["doc-c", "doc-x", "doc-a", "doc-b", "doc-y"]);
    let got = s.get_by_ids(&ask).await.ctx("get_by_ids")?;
    ensure_eq!(got.len(), ask.len(), "one slot per requested id");
    ensure_record(&got[0], "doc-c", &recs[2].1, "slot 0")?;
    ensure_eq!(got[1], None, "slot 1 (missing)");
    ensure_record(&got[2], "doc-a", &recs[0].1, "slot 2")?;
    ensure_record(&got[3], "doc-b", &recs[1].1, "slot 3")?;
    ensure_eq!(got[4], None, "slot 4 (missing)");
    let none = s.get_by_ids(&strings(&["doc-x", "doc-y"])).await.ctx("get_by_ids of missing ids")?;
    ensure_eq!(none, vec![None, None], "only missing ids");
    Ok(())
}

async fn get_by_ids_answers_a_duplicated_id_in_each_slot(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::EntityChunks).await?;
    let rec = sample(KvNamespace::EntityChunks, "dup");
    s.upsert(vec![("Alice".into(), rec.clone())]).await.ctx("upsert")?;
    let got = s.get_by_ids(&strings(&["Alice", "Nobody", "Alice", "Alice"])).await.ctx("get_by_ids")?;
    ensure_eq!(got.len(), 4, "one slot per requested id, duplicates included");
    for i in [0, 2, 3] {
        ensure_record(&got[i], "Alice", &rec, &format!("slot {i}"))?;
    }
    ensure_eq!(got[1], None, "slot 1 (missing)");
    Ok(())
}

async fn get_by_ids_of_empty_input_is_empty(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::FullDocs).await?;
    s.upsert(vec![("doc-1".into(), sample(KvNamespace::FullDocs, "1"))]).await.ctx("upsert")?;
    ensure_eq!(s.get_by_ids(&[]).await.ctx("get_by_ids(&[])")?, Vec::<Option<JsonObject>>::new(), "empty request");
    Ok(())
}

async fn filter_keys_returns_only_the_unstored_keys(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::TextChunks).await?;
    s.upsert(vec![
        ("chunk-1".into(), sample(KvNamespace::TextChunks, "1")),
        ("chunk-2".into(), sample(KvNamespace::TextChunks, "2")),
    ])
    .await
    .ctx("upsert")?;
    let keys = strings(&["chunk-1", "chunk-3", "chunk-2", "chunk-4", "chunk-3"]);
    let missing = s.filter_keys(&keys).await.ctx("filter_keys")?;
    ensure_eq!(missing, HashSet::from(["chunk-3".to_owned(), "chunk-4".to_owned()]), "unstored keys");
    let all_there = s.filter_keys(&strings(&["chunk-1", "chunk-2"])).await.ctx("filter_keys of stored keys")?;
    ensure!(all_there.is_empty(), "every key is stored, yet filter_keys returned {all_there:?}");
    Ok(())
}

async fn filter_keys_of_empty_input_is_empty(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::FullDocs).await?;
    ensure!(s.filter_keys(&[]).await.ctx("filter_keys(&[])")?.is_empty(), "empty input gives an empty set");
    Ok(())
}

async fn upsert_of_empty_input_is_a_no_op(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::FullDocs).await?;
    s.upsert(Vec::new()).await.ctx("upsert(vec![]) on an empty store")?;
    ensure!(s.is_empty().await.ctx("is_empty")?, "store should still be empty");
    s.upsert(vec![("doc-1".into(), sample(KvNamespace::FullDocs, "1"))]).await.ctx("upsert")?;
    s.upsert(Vec::new()).await.ctx("upsert(vec![])")?;
    ensure_record(
        &s.get_by_id("doc-1").await.ctx("get_by_id")?,
        "doc-1",
        &sample(KvNamespace::FullDocs, "1"),
        "after no-op",
    )
}

async fn upsert_with_duplicate_ids_keeps_the_last_record(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::TextChunks).await?;
    let (first, last) = (sample(KvNamespace::TextChunks, "first"), sample(KvNamespace::TextChunks, "last"));
    s.upsert(vec![
        ("chunk-d".into(), first),
        ("chunk-other".into(), sample(KvNamespace::TextChunks, "other")),
        ("chunk-d".into(), last.clone()),
    ])
    .await
    .ctx("upsert with a duplicated id")?;
    ensure_record(&s.get_by_id("chunk-d").await.ctx("get_by_id")?, "chunk-d", &last, "duplicated id")?;
    ensure!(s.get_by_id("chunk-other").await.ctx("get_by_id")?.is_some(), "the other record is stored");
    Ok(())
}

async fn upsert_with_an_invalid_last_record_writes_nothing(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::FullDocs).await?;
    let bad = obj(json!({"file_path": "no-content.txt"}));
    let res = s
        .upsert(vec![
            ("doc-ok-1".into(), sample(KvNamespace::FullDocs, "1")),
            ("doc-ok-2".into(), sample(KvNamespace::FullDocs, "2")),
            ("doc-bad".into(), bad),
        ])
        .await;
    expect_invalid(res, "doc-bad", "a record without 'content'")?;
    let got = s.get_by_ids(&strings(&["doc-ok-1", "doc-ok-2", "doc-bad"])).await.ctx("get_by_ids")?;
    ensure_eq!(got, vec![None, None, None], "nothing of the refused batch is stored");
    ensure!(s.is_empty().await.ctx("is_empty")?, "store should be empty after a refused batch");
    Ok(())
}

async fn upsert_refuses_empty_ids_nul_bytes_and_overlong_ids(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::FullDocs).await?;
    let ok = || sample(KvNamespace::FullDocs, "x");
    expect_invalid(s.upsert(vec![(String::new(), ok())]).await, "", "empty id")?;
    expect_invalid(s.upsert(vec![("doc\0nul".into(), ok())]).await, "doc\0nul", "NUL in the id")?;
    let nul_value = obj(json!({"content": "before\u{0}after"}));
    expect_invalid(s.upsert(vec![("doc-nul-value".into(), nul_value)]).await, "doc-nul-value", "NUL in a value")?;
    let long = "d".repeat(256);
    expect_invalid(s.upsert(vec![(long.clone(), ok())]).await, &long, "256-character id")?;
    ensure!(s.is_empty().await.ctx("is_empty")?, "refused records must not be stored");
    Ok(())
}

async fn upsert_refuses_a_field_of_the_wrong_shape(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::EntityChunks).await?;
    let bad = obj(json!({"chunk_ids": "chunk-1<SEP>chunk-2", "count": 2}));
    let res = s.upsert(vec![("Alice".into(), sample(KvNamespace::EntityChunks, "a")), ("Bob".into(), bad)]).await;
    expect_invalid(res, "Bob", "chunk_ids given as a string")?;
    let t = env.open(KvNamespace::TextChunks).await?;
    let mut bad_tokens = sample(KvNamespace::TextChunks, "t");
    bad_tokens.insert("tokens".into(), json!("many"));
    expect_invalid(t.upsert(vec![("chunk-t".into(), bad_tokens)]).await, "chunk-t", "tokens given as a string")?;
    ensure!(s.is_empty().await.ctx("is_empty")? && t.is_empty().await.ctx("is_empty")?, "nothing stored");
    Ok(())
}

async fn chunk_index_namespaces_accept_ids_up_to_512_characters(env: Arc<KvEnv>) -> Outcome {
    // Characters, not bytes: three-byte CJK characters.
    let id512 = "实".repeat(512);
    for ns in [KvNamespace::EntityChunks, KvNamespace::RelationChunks] {
        let s = env.open(ns).await?;
        let rec = sample(ns, "long");
        s.upsert(vec![(id512.clone(), rec.clone())]).await.ctx(format_args!("{ns}: upsert a 512-character id"))?;
        ensure_record(&s.get_by_id(&id512).await.ctx("get_by_id")?, &id512, &rec, &format!("{ns} 512-character id"))?;
        let id513 = "实".repeat(513);
        expect_invalid(s.upsert(vec![(id513.clone(), rec)]).await, &id513, &format!("{ns}: 513-character id"))?;
    }
    let docs = env.open(KvNamespace::FullDocs).await?;
    let id255 = "文".repeat(255);
    let rec = sample(KvNamespace::FullDocs, "long");
    docs.upsert(vec![(id255.clone(), rec.clone())]).await.ctx("full_docs: upsert a 255-character id")?;
    ensure_record(&docs.get_by_id(&id255).await.ctx("get_by_id")?, &id255, &rec, "full_docs 255-character id")
}

async fn delete_removes_listed_ids_and_ignores_missing_ones(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::FullRelations).await?;
    let recs: Vec<(String, JsonObject)> =
        (0..4).map(|i| (format!("doc-{i}"), sample(KvNamespace::FullRelations, &i.to_string()))).collect();
    s.upsert(recs).await.ctx("upsert")?;
    s.delete(&strings(&["doc-1", "doc-missing", "doc-3", "doc-1"])).await.ctx("delete")?;
    let got = s.get_by_ids(&strings(&["doc-0", "doc-1", "doc-2", "doc-3"])).await.ctx("get_by_ids")?;
    let present: Vec<bool> = got.iter().map(Option::is_some).collect();
    ensure_eq!(present, vec![true, false, true, false], "which records survive the delete");
    s.delete(&strings(&["doc-never"])).await.ctx("delete of only missing ids")?;
    ensure_eq!(s.filter_keys(&strings(&["doc-0", "doc-2"])).await.ctx("filter_keys")?, HashSet::new(), "survivors");
    Ok(())
}

async fn delete_of_empty_input_is_a_no_op(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::FullDocs).await?;
    s.upsert(vec![("doc-1".into(), sample(KvNamespace::FullDocs, "1"))]).await.ctx("upsert")?;
    s.delete(&[]).await.ctx("delete(&[])")?;
    ensure!(s.get_by_id("doc-1").await.ctx("get_by_id")?.is_some(), "record survives an empty delete");
    Ok(())
}

async fn is_empty_follows_inserts_and_deletes(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::LlmResponseCache).await?;
    ensure!(s.is_empty().await.ctx("is_empty")?, "a fresh workspace is empty");
    let id = sample_id(KvNamespace::LlmResponseCache, "e");
    s.upsert(vec![(id.clone(), sample(KvNamespace::LlmResponseCache, "e"))]).await.ctx("upsert")?;
    ensure!(!s.is_empty().await.ctx("is_empty")?, "not empty after an insert");
    s.delete(std::slice::from_ref(&id)).await.ctx("delete")?;
    ensure!(s.is_empty().await.ctx("is_empty")?, "empty again after deleting the only record");
    Ok(())
}

async fn drop_all_leaves_other_workspaces_intact(env: Arc<KvEnv>) -> Outcome {
    let other_ws = env.other_workspace();
    let mine = env.open(KvNamespace::TextChunks).await?;
    let other = env.open_in(KvNamespace::TextChunks, &other_ws).await?;
    let rec = sample(KvNamespace::TextChunks, "iso");
    mine.upsert(vec![("chunk-1".into(), rec.clone()), ("chunk-2".into(), rec.clone())]).await.ctx("upsert mine")?;
    other.upsert(vec![("chunk-1".into(), rec.clone())]).await.ctx("upsert other")?;
    mine.drop_all().await.ctx("drop_all")?;
    ensure!(mine.is_empty().await.ctx("is_empty")?, "dropped workspace is empty");
    ensure_eq!(mine.get_by_id("chunk-1").await.ctx("get_by_id")?, None, "dropped record");
    ensure_record(&other.get_by_id("chunk-1").await.ctx("get_by_id other")?, "chunk-1", &rec, "other workspace")?;
    mine.upsert(vec![("chunk-3".into(), rec)]).await.ctx("upsert after drop_all")?;
    ensure!(mine.get_by_id("chunk-3").await.ctx("get_by_id")?.is_some(), "the storage is usable after drop_all");
    Ok(())
}

async fn drop_all_leaves_other_namespaces_intact(env: Arc<KvEnv>) -> Outcome {
    let docs = env.open(KvNamespace::FullDocs).await?;
    let ents = env.open(KvNamespace::FullEntities).await?;
    docs.upsert(vec![("doc-1".into(), sample(KvNamespace::FullDocs, "1"))]).await.ctx("upsert docs")?;
    ents.upsert(vec![("doc-1".into(), sample(KvNamespace::FullEntities, "1"))]).await.ctx("upsert entities")?;
    docs.drop_all().await.ctx("drop_all full_docs")?;
    ensure!(docs.is_empty().await.ctx("is_empty")?, "full_docs dropped");
    ensure!(!ents.is_empty().await.ctx("is_empty")?, "full_entities of the same workspace survives");
    Ok(())
}

async fn workspaces_keep_separate_records_under_one_id(env: Arc<KvEnv>) -> Outcome {
    let other_ws = env.other_workspace();
    let a = env.open(KvNamespace::FullDocs).await?;
    let b = env.open_in(KvNamespace::FullDocs, &other_ws).await?;
    let (ra, rb) = (sample(KvNamespace::FullDocs, "A"), sample(KvNamespace::FullDocs, "B"));
    a.upsert(vec![("doc-same".into(), ra.clone())]).await.ctx("upsert A")?;
    ensure_eq!(b.get_by_id("doc-same").await.ctx("get_by_id B")?, None, "B does not see A's record");
    ensure!(b.is_empty().await.ctx("is_empty B")?, "B is still empty");
    b.upsert(vec![("doc-same".into(), rb.clone())]).await.ctx("upsert B")?;
    ensure_record(&a.get_by_id("doc-same").await.ctx("get_by_id A")?, "doc-same", &ra, "workspace A")?;
    ensure_record(&b.get_by_id("doc-same").await.ctx("get_by_id B")?, "doc-same", &rb, "workspace B")?;
    b.delete(&strings(&["doc-same"])).await.ctx("delete in B")?;
    ensure!(a.get_by_id("doc-same").await.ctx("get_by_id A")?.is_some(), "a delete in B leaves A's record");
    Ok(())
}

async fn ids_with_cjk_emoji_and_quotes_round_trip(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::EntityChunks).await?;
    let recs: Vec<(String, JsonObject)> = TRICKY
        .iter()
        .enumerate()
        .map(|(i, id)| ((*id).to_owned(), sample(KvNamespace::EntityChunks, &i.to_string())))
        .collect();
    s.upsert(recs.clone()).await.ctx("upsert tricky ids")?;
    let ask: Vec<String> = recs.iter().map(|(id, _)| id.clone()).collect();
    let got = s.get_by_ids(&ask).await.ctx("get_by_ids tricky ids")?;
    for ((id, rec), slot) in recs.iter().zip(&got) {
        ensure_record(slot, id, rec, "get_by_ids")?;
        ensure_record(&s.get_by_id(id).await.ctx("get_by_id")?, id, rec, "get_by_id")?;
    }
    ensure!(s.filter_keys(&ask).await.ctx("filter_keys")?.is_empty(), "filter_keys finds every tricky id");
    s.delete(&ask[..2]).await.ctx("delete tricky ids")?;
    let missing = s.filter_keys(&ask).await.ctx("filter_keys")?;
    ensure_eq!(missing, ask[..2].iter().cloned().collect::<HashSet<_>>(), "deleted tricky ids");
    Ok(())
}

async fn values_with_cjk_emoji_quotes_and_nesting_round_trip(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::TextChunks).await?;
    let mut rec = sample(KvNamespace::TextChunks, "tricky");
    rec.insert("content".into(), json!(TRICKY.join(" | ")));
    rec.insert("file_path".into(), json!("目录/文件 'a' \"b\" $$c$$ \\d}.md"));
    rec.insert("llm_cache_list".into(), json!(TRICKY));
    rec.insert(
        "heading".into(),
        json!({"text": "标题 🙂 \"quoted\" 'single' $$", "path": ["a\\b", "c}d"], "nested": {"键": [1, 2, {"x": null}]}}),
    );
    s.upsert(vec![("chunk-tricky".into(), rec.clone())]).await.ctx("upsert")?;
    ensure_record(&s.get_by_id("chunk-tricky").await.ctx("get_by_id")?, "chunk-tricky", &rec, "tricky values")
}

async fn one_megabyte_value_round_trips(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::FullDocs).await?;
    let mut rec = sample(KvNamespace::FullDocs, "big");
    let text = big_text(ONE_MB);
    rec.insert("content".into(), json!(text));
    s.upsert(vec![("doc-big".into(), rec.clone())]).await.ctx("upsert a 1 MB document")?;
    let got = s.get_by_id("doc-big").await.ctx("get_by_id")?;
    let content = got.as_ref().and_then(|g| g.get("content")).and_then(Value::as_str).unwrap_or_default();
    ensure_eq!(content.len(), text.len(), "content length in bytes");
    ensure!(content == text, "the 1 MB content reads back unchanged");
    ensure_record(&got, "doc-big", &rec, "1 MB record")
}

async fn two_instances_of_one_namespace_share_records(env: Arc<KvEnv>) -> Outcome {
    let a = env.open(KvNamespace::FullDocs).await?;
    let b = env.open(KvNamespace::FullDocs).await?;
    let rec = sample(KvNamespace::FullDocs, "shared");
    a.upsert(vec![("doc-shared".into(), rec.clone())]).await.ctx("upsert through A")?;
    ensure_record(&b.get_by_id("doc-shared").await.ctx("get_by_id through B")?, "doc-shared", &rec, "seen through B")?;
    b.delete(&strings(&["doc-shared"])).await.ctx("delete through B")?;
    ensure_eq!(a.get_by_id("doc-shared").await.ctx("get_by_id through A")?, None, "deleted through B");
    Ok(())
}

async fn lifecycle_calls_succeed_and_are_idempotent(env: Arc<KvEnv>) -> Outcome {
    let ns = KvNamespace::TextChunks;
    // Opened without cleanup tracking: this case finalizes the storage itself.
    let s = env.factory.open(ns, &env.ws).await.ctx("open")?;
    ensure_eq!(s.namespace(), Namespace::Kv(ns), "namespace()");
    ensure_eq!(s.workspace(), &env.ws, "workspace()");
    s.initialize().await.ctx("second initialize")?;
    s.index_done_callback().await.ctx("index_done_callback on an empty store")?;
    s.upsert(vec![("chunk-life".into(), sample(ns, "life"))]).await.ctx("upsert")?;
    s.index_done_callback().await.ctx("index_done_callback")?;
    ensure!(s.get_by_id("chunk-life").await.ctx("get_by_id")?.is_some(), "record stored");
    s.drop_all().await.ctx("drop_all")?;
    s.drop_all().await.ctx("drop_all twice")?;
    ensure!(s.is_empty().await.ctx("is_empty")?, "empty after drop_all");
    s.finalize().await.ctx("finalize")?;
    s.finalize().await.ctx("finalize twice")?;
    Ok(())
}

async fn concurrent_upserts_from_many_tasks_all_land(env: Arc<KvEnv>) -> Outcome {
    let s = env.open(KvNamespace::TextChunks).await?;
    let mut tasks = Vec::new();
    for t in 0..8 {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let id = format!("chunk-{t}-{i:02}");
                s.upsert(vec![(id, sample(KvNamespace::TextChunks, &format!("{t}-{i}")))]).await?;
                let mut same = sample(KvNamespace::TextChunks, "contended");
                same.insert("chunk_order_index".into(), json!(t));
                s.upsert(vec![("chunk-contended".to_owned(), same)]).await?;
            }
            crate::Result::Ok(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| Failed::from(format!("task panicked: {e}")))?.ctx("concurrent upsert")?;
    }
    let ids: Vec<String> = (0..8).flat_map(|t| (0..25).map(move |i| format!("chunk-{t}-{i:02}"))).collect();
    let missing = s.filter_keys(&ids).await.ctx("filter_keys")?;
    ensure!(
        missing.is_empty(),
        "{} of 200 concurrent records are missing, e.g. {:?}",
        missing.len(),
        missing.iter().next()
    );
    let got = s.get_by_ids(&ids).await.ctx("get_by_ids")?;
    ensure!(got.iter().all(Option::is_some), "every concurrent record reads back");
    let contended = s.get_by_id("chunk-contended").await.ctx("get_by_id")?.ok_or("contended record missing")?;
    let order = contended.get("chunk_order_index").and_then(Value::as_i64).unwrap_or(-1);
    ensure!((0..8).contains(&order), "the contended record is one of the written versions, got index {order}");
    Ok(())
}
