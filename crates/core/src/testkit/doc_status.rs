//! The doc-status suite: [`doc_status_trials`].

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use libtest_mimic::{Failed, Trial};
use serde_json::json;
use tokio::runtime::Runtime;

use super::DocStatusFactory;
use super::support::{
    Ctx, Env, ONE_MB, Outcome, TRICKY, at, big_text, cases, ensure, ensure_eq, expect_invalid, strings,
};
use crate::{
    DocProcessingStatus, DocStatus, DocStatusCursor, DocStatusStorage, JsonObject, Namespace, PageRequest,
    SortDirection, SortField, Workspace,
};

type DocEnv = Env<dyn DocStatusFactory>;

impl Env<dyn DocStatusFactory> {
    /// Opens the doc-status storage of the trial's workspace.
    async fn open(&self) -> Result<Arc<dyn DocStatusStorage>, Failed> {
        let ws = self.ws.clone();
        self.open_in(&ws).await
    }

    /// Opens the doc-status storage of `ws` (dropped after the case).
    async fn open_in(&self, ws: &Workspace) -> Result<Arc<dyn DocStatusStorage>, Failed> {
        let s = self.factory.open(ws).await.ctx(format_args!("open doc status in {ws}"))?;
        self.track(s.clone());
        Ok(s)
    }
}

/// Every doc-status case, each in its own workspace: full-record round trips,
/// request order and missing ids, `created_at` immutability, write-once
/// `content_hash`, all-or-nothing validation, status counts after transitions,
/// listings by status and track id, paginated listings (every sort, ties, bounds,
/// filters), keyset sweeps (full walks, cursors, bounds), look-ups by path,
/// basename and content hash, tricky and large values, isolation and concurrency.
pub fn doc_status_trials(factory: Arc<dyn DocStatusFactory>, rt: Arc<Runtime>) -> Vec<Trial> {
    cases!("doc_status", &rt, &factory;
        record_round_trips_every_field,
        get_by_id_returns_none_for_a_missing_id,
        get_by_ids_answers_in_request_order_with_none_for_missing,
        filter_keys_returns_only_the_unstored_keys,
        upsert_keeps_the_created_at_of_an_existing_document,
        upsert_overwrites_every_other_field,
        empty_content_hash_never_clears_a_stored_one,
        upsert_with_duplicate_ids_keeps_the_last,
        upsert_with_an_invalid_last_record_writes_nothing,
        upsert_refuses_nul_bytes_and_overlong_ids_and_summaries,
        upsert_of_empty_input_is_a_no_op,
        status_counts_follow_status_transitions,
        get_docs_by_statuses_returns_the_matching_docs_sorted_by_id,
        count_docs_by_statuses_counts_any_of_the_statuses_and_empty_is_zero,
        get_docs_by_track_id_returns_that_batch_sorted_by_id,
        paginated_listing_sorts_by_every_field_in_both_directions,
        paginated_listing_breaks_ties_by_id_so_pages_never_overlap,
        paginated_listing_clamps_the_page_and_the_page_size,
        paginated_listing_filters_by_status_and_reports_the_total,
        keyset_sweep_visits_every_doc_exactly_once_in_created_at_then_id_order,
        keyset_sweep_merges_several_statuses_and_skips_the_others,
        keyset_sweep_resumes_from_a_cursor_built_by_the_caller,
        keyset_sweep_refuses_a_zero_limit_and_a_malformed_cursor,
        keyset_sweep_of_no_statuses_or_the_end_cursor_is_an_empty_final_page,
        get_doc_by_file_path_returns_the_earliest_exact_match,
        get_doc_by_file_basename_skips_duplicates_and_placeholder_names,
        get_doc_by_content_hash_skips_the_excluded_doc_and_its_duplicates,
        delete_removes_ids_ignores_missing_ones_and_is_empty_follows,
        drop_all_leaves_other_workspaces_intact,
        ids_and_texts_with_cjk_emoji_and_quotes_round_trip,
        one_megabyte_error_message_and_large_metadata_round_trip,
        lifecycle_calls_succeed_and_are_idempotent,
        concurrent_upserts_all_land,
    )
}

/// A complete record (every optional field set, so backends that default absent
/// values still read back exactly what was written).
fn doc(status: DocStatus, created_at: Option<DateTime<Utc>>, file_path: &str) -> DocProcessingStatus {
    DocProcessingStatus {
        content_summary: format!("Summary of {file_path}"),
        content_length: 1234,
        file_path: file_path.to_owned(),
        status,
        created_at,
        updated_at: created_at.or(Some(at(0, 0))),
        track_id: Some("insert_20250102_030405_abcd".to_owned()),
        chunks_count: Some(2),
        chunks_list: strings(&["chunk-1", "chunk-2"]),
        error_msg: None,
        metadata: JsonObject::new(),
        content_hash: None,
    }
}

fn with_meta(mut d: DocProcessingStatus, meta: serde_json::Value) -> DocProcessingStatus {
    d.metadata = meta.as_object().cloned().unwrap_or_default();
    d
}

fn ids_of(docs: &[(String, DocProcessingStatus)]) -> Vec<&str> {
    docs.iter().map(|(id, _)| id.as_str()).collect()
}

fn id_n(i: usize) -> String {
    format!("doc-{i:03}")
}

/// Ids sorted by `key`, ties by id.
fn order_by<K: Ord>(docs: &[(String, DocProcessingStatus)], key: impl Fn(&DocProcessingStatus) -> K) -> Vec<String> {
    let mut v: Vec<&(String, DocProcessingStatus)> = docs.iter().collect();
    v.sort_by(|a, b| key(&a.1).cmp(&key(&b.1)).then_with(|| a.0.cmp(&b.0)));
    v.into_iter().map(|(id, _)| id.clone()).collect()
}

async fn paginate_all(
    s: &Arc<dyn DocStatusStorage>,
    base: &PageRequest,
    what: &str,
) -> Result<(Vec<String>, u64), Failed> {
    let mut ids = Vec::new();
    let mut total = 0;
    for page in 1..=100 {
        let r = s
            .get_docs_paginated(&PageRequest { page, ..base.clone() })
            .await
            .ctx(format_args!("{what}: page {page}"))?;
        total = r.total;
        if r.docs.is_empty() {
            break;
        }
        ensure!(r.docs.len() <= base.page_size as usize, "{what}: page {page} has {} docs", r.docs.len());
        ids.extend(r.docs.into_iter().map(|(id, _)| id));
    }
    Ok((ids, total))
}

/// Walks a keyset sweep to its end, checking every page's size and cursor.
async fn sweep(
    s: &Arc<dyn DocStatusStorage>,
    statuses: &[DocStatus],
    limit: usize,
    start: DocStatusCursor,
) -> Result<Vec<String>, Failed> {
    let mut pos = start;
    let mut seen = Vec::new();
    for round in 0..1000 {
        let page = s
            .get_docs_by_statuses_page(statuses, limit, &pos)
            .await
            .ctx(format_args!("sweep page {round} from {pos:?}"))?;
        ensure!(page.docs.len() <= limit, "page {round} has {} docs, limit {limit}", page.docs.len());
        match &page.next {
            DocStatusCursor::End => {
                ensure!(page.docs.len() < limit, "page {round} is full ({limit}) yet ends the sweep");
                seen.extend(page.docs.into_iter().map(|(id, _)| id));
                return Ok(seen);
            }
            DocStatusCursor::After(text) => {
                ensure_eq!(page.docs.len(), limit, "page {round} continues the sweep, so it is full");
                let (c, i) = DocStatusCursor::decode(text).ctx(format_args!("decode cursor {text:?}"))?;
                let (last_id, last) = page.docs.last().ok_or("a full page has a last row")?;
                ensure_eq!((c, i.as_str()), (last.created_at, last_id.as_str()), "cursor encodes the last row");
                seen.extend(page.docs.into_iter().map(|(id, _)| id));
                pos = DocStatusCursor::After(text.clone());
            }
            DocStatusCursor::Start => {
                return Err(Failed::from(format!("page {round} returned Start as its next position")));
            }
        }
    }
    Err(Failed::from("the sweep did not end after 1000 pages"))
}

async fn record_round_trips_every_field(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let record = DocProcessingStatus {
        content_summary: "The first 255 characters of the document…".to_owned(),
        content_length: 98_765,
        file_path: "report-2025.pdf".to_owned(),
        status: DocStatus::Failed,
        created_at: Some(at(0, 123_456)),
        updated_at: Some(at(3600, 654_321)),
        track_id: Some("insert_20250102_030405_abcd".to_owned()),
        chunks_count: Some(3),
        chunks_list: strings(&["chunk-a", "chunk-b", "chunk-c"]),
        error_msg: Some("LLM timeout after 3 retries".to_owned()),
        metadata: json!({"is_duplicate": false, "parse": {"engine": "mineru", "pages": [1, 2]}, "ratio": 0.5})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        content_hash: Some("5d41402abc4b2a76b9719d911017c592".to_owned()),
    };
    s.upsert(vec![("doc-full".into(), record.clone())]).await.ctx("upsert")?;
    ensure_eq!(s.get_by_id("doc-full").await.ctx("get_by_id")?, Some(record.clone()), "get_by_id");
    ensure_eq!(
        s.get_by_ids(&strings(&["doc-full"])).await.ctx("get_by_ids")?,
        vec![Some(record.clone())],
        "get_by_ids"
    );
    for status in DocStatus::ALL {
        let d = DocProcessingStatus { status, ..record.clone() };
        s.upsert(vec![("doc-status".into(), d)]).await.ctx(format_args!("upsert status {status}"))?;
        let got = s.get_by_id("doc-status").await.ctx("get_by_id")?.map(|d| d.status);
        ensure_eq!(got, Some(status), "status {status} round trips");
    }
    Ok(())
}

async fn get_by_id_returns_none_for_a_missing_id(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    ensure_eq!(s.get_by_id("doc-missing").await.ctx("get_by_id on empty")?, None, "missing id on an empty store");
    s.upsert(vec![("doc-present".into(), doc(DocStatus::Pending, Some(at(0, 0)), "a.txt"))]).await.ctx("upsert")?;
    ensure_eq!(s.get_by_id("doc-missing").await.ctx("get_by_id")?, None, "missing id beside a stored one");
    Ok(())
}

async fn get_by_ids_answers_in_request_order_with_none_for_missing(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let none = s.get_by_ids(&strings(&["doc-x", "doc-y"])).await.ctx("get_by_ids on an empty store")?;
    ensure_eq!(none, vec![None, None], "one None per id even when nothing exists");
    let docs: Vec<(String, DocProcessingStatus)> =
        (0..3).map(|i| (id_n(i), doc(DocStatus::Pending, Some(at(i as i64, 0)), &format!("f{i}.txt")))).collect();
    s.upsert(docs.clone()).await.ctx("upsert")?;
    let got = s.get_by_ids(&strings(&["doc-002", "doc-x", "doc-000", "doc-002", "doc-001"])).await.ctx("get_by_ids")?;
    let want =
        vec![Some(docs[2].1.clone()), None, Some(docs[0].1.clone()), Some(docs[2].1.clone()), Some(docs[1].1.clone())];
    ensure_eq!(got, want, "request order, None for missing, duplicates per slot");
    ensure!(s.get_by_ids(&[]).await.ctx("get_by_ids(&[])")?.is_empty(), "empty request");
    Ok(())
}

async fn filter_keys_returns_only_the_unstored_keys(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert(vec![
        ("doc-a".into(), doc(DocStatus::Pending, Some(at(0, 0)), "a.txt")),
        ("doc-b".into(), doc(DocStatus::Processed, Some(at(1, 0)), "b.txt")),
    ])
    .await
    .ctx("upsert")?;
    let missing = s.filter_keys(&strings(&["doc-a", "doc-c", "doc-b", "doc-d", "doc-c"])).await.ctx("filter_keys")?;
    ensure_eq!(missing, HashSet::from(["doc-c".to_owned(), "doc-d".to_owned()]), "unstored keys");
    ensure!(s.filter_keys(&[]).await.ctx("filter_keys(&[])")?.is_empty(), "empty input");
    Ok(())
}

async fn upsert_keeps_the_created_at_of_an_existing_document(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let created = at(0, 111_111);
    s.upsert(vec![("doc-1".into(), doc(DocStatus::Pending, Some(created), "a.txt"))]).await.ctx("insert")?;
    for (step, status) in [(1, DocStatus::Processing), (2, DocStatus::Processed)] {
        let mut next = doc(status, Some(at(500 * step, 222_222)), "a.txt");
        next.updated_at = Some(at(600 * step, 333_333));
        s.upsert(vec![("doc-1".into(), next.clone())]).await.ctx(format_args!("upsert step {step}"))?;
        let got = s.get_by_id("doc-1").await.ctx("get_by_id")?.ok_or("doc-1 missing")?;
        ensure_eq!(got.created_at, Some(created), "created_at keeps its first value after step {step}");
        ensure_eq!(got.status, status, "status after step {step}");
        ensure_eq!(got.updated_at, next.updated_at, "updated_at is overwritten at step {step}");
    }
    Ok(())
}

async fn upsert_overwrites_every_other_field(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let mut first = doc(DocStatus::Processing, Some(at(0, 5)), "first.txt");
    first.error_msg = Some("old error".into());
    first.metadata = json!({"old": true}).as_object().cloned().unwrap_or_default();
    s.upsert(vec![("doc-1".into(), first.clone())]).await.ctx("insert")?;
    let second = DocProcessingStatus {
        content_summary: "Another summary".into(),
        content_length: 42,
        file_path: "second.txt".into(),
        status: DocStatus::Failed,
        created_at: Some(at(999, 0)),
        updated_at: Some(at(1000, 7)),
        track_id: Some("track-2".into()),
        chunks_count: Some(5),
        chunks_list: strings(&["c1", "c2", "c3", "c4", "c5"]),
        error_msg: Some("new error".into()),
        metadata: json!({"new": [1, 2]}).as_object().cloned().unwrap_or_default(),
        content_hash: Some("hash-2".into()),
    };
    s.upsert(vec![("doc-1".into(), second.clone())]).await.ctx("update")?;
    let want = DocProcessingStatus { created_at: first.created_at, ..second };
    ensure_eq!(s.get_by_id("doc-1").await.ctx("get_by_id")?, Some(want), "every field but created_at is replaced");
    Ok(())
}

async fn empty_content_hash_never_clears_a_stored_one(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let base = doc(DocStatus::Pending, Some(at(0, 0)), "a.txt");
    let hash_of = |s: &Option<DocProcessingStatus>| s.as_ref().and_then(|d| d.content_hash.clone());
    s.upsert(vec![("doc-h".into(), base.clone())]).await.ctx("insert without hash")?;
    ensure_eq!(hash_of(&s.get_by_id("doc-h").await.ctx("get_by_id")?), None, "no hash yet");
    let set = DocProcessingStatus { content_hash: Some("h1".into()), ..base.clone() };
    s.upsert(vec![("doc-h".into(), set)]).await.ctx("set the hash")?;
    ensure_eq!(hash_of(&s.get_by_id("doc-h").await.ctx("get_by_id")?), Some("h1".to_owned()), "hash set later");
    for (what, hash) in [("None", None), ("\"\"", Some(String::new()))] {
        let next = DocProcessingStatus { content_hash: hash, status: DocStatus::Processing, ..base.clone() };
        s.upsert(vec![("doc-h".into(), next)]).await.ctx(format_args!("upsert with hash {what}"))?;
        let got = s.get_by_id("doc-h").await.ctx("get_by_id")?;
        ensure_eq!(hash_of(&got), Some("h1".to_owned()), "a {what} hash keeps the stored one");
        ensure_eq!(got.map(|d| d.status), Some(DocStatus::Processing), "the other fields are still written");
    }
    let change = DocProcessingStatus { content_hash: Some("h2".into()), ..base };
    s.upsert(vec![("doc-h".into(), change)]).await.ctx("upsert with another hash")?;
    ensure_eq!(
        hash_of(&s.get_by_id("doc-h").await.ctx("get_by_id")?),
        Some("h2".to_owned()),
        "a non-empty hash replaces"
    );
    Ok(())
}

async fn upsert_with_duplicate_ids_keeps_the_last(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let created = Some(at(10, 0));
    let last = DocProcessingStatus { content_summary: "last".into(), ..doc(DocStatus::Processed, created, "b.txt") };
    s.upsert(vec![
        ("doc-d".into(), doc(DocStatus::Pending, created, "a.txt")),
        ("doc-other".into(), doc(DocStatus::Pending, created, "c.txt")),
        ("doc-d".into(), last.clone()),
    ])
    .await
    .ctx("upsert")?;
    ensure_eq!(s.get_by_id("doc-d").await.ctx("get_by_id")?, Some(last), "the last duplicate wins");
    ensure_eq!(s.status_counts().await.ctx("status_counts")?.total, 2, "two documents");
    Ok(())
}

async fn upsert_with_an_invalid_last_record_writes_nothing(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let bad =
        DocProcessingStatus { content_summary: "s".repeat(256), ..doc(DocStatus::Pending, Some(at(0, 0)), "x.txt") };
    let res = s
        .upsert(vec![
            ("doc-ok-1".into(), doc(DocStatus::Pending, Some(at(0, 0)), "a.txt")),
            ("doc-ok-2".into(), doc(DocStatus::Pending, Some(at(0, 0)), "b.txt")),
            ("doc-bad".into(), bad),
        ])
        .await;
    expect_invalid(res, "doc-bad", "a 256-character content_summary")?;
    ensure!(s.is_empty().await.ctx("is_empty")?, "nothing of the refused batch is stored");
    ensure_eq!(
        s.get_by_ids(&strings(&["doc-ok-1", "doc-ok-2"])).await.ctx("get_by_ids")?,
        vec![None, None],
        "valid records"
    );
    Ok(())
}

async fn upsert_refuses_nul_bytes_and_overlong_ids_and_summaries(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let ok = || doc(DocStatus::Pending, Some(at(0, 0)), "a.txt");
    expect_invalid(s.upsert(vec![("doc\0nul".into(), ok())]).await, "doc\0nul", "NUL in the id")?;
    expect_invalid(s.upsert(vec![(String::new(), ok())]).await, "", "empty id")?;
    let long = "d".repeat(256);
    expect_invalid(s.upsert(vec![(long.clone(), ok())]).await, &long, "256-character id")?;
    let nul_error = DocProcessingStatus { error_msg: Some("bad\0".into()), ..ok() };
    expect_invalid(s.upsert(vec![("doc-nul-error".into(), nul_error)]).await, "doc-nul-error", "NUL in error_msg")?;
    let nul_meta = with_meta(ok(), json!({"note": "x\u{0}y"}));
    expect_invalid(s.upsert(vec![("doc-nul-meta".into(), nul_meta)]).await, "doc-nul-meta", "NUL in metadata")?;
    let long_cjk = DocProcessingStatus { content_summary: "摘".repeat(256), ..ok() };
    expect_invalid(
        s.upsert(vec![("doc-long-summary".into(), long_cjk)]).await,
        "doc-long-summary",
        "256-character summary",
    )?;
    ensure!(s.is_empty().await.ctx("is_empty")?, "nothing refused is stored");
    // Limits count characters, not bytes: 255 three-byte characters fit.
    let fits = DocProcessingStatus { content_summary: "摘".repeat(255), ..ok() };
    let id255 = "文".repeat(255);
    s.upsert(vec![(id255.clone(), fits.clone())]).await.ctx("upsert a 255-character id and summary")?;
    ensure_eq!(s.get_by_id(&id255).await.ctx("get_by_id")?, Some(fits), "255-character id and summary");
    Ok(())
}

async fn upsert_of_empty_input_is_a_no_op(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert(Vec::new()).await.ctx("upsert(vec![])")?;
    ensure!(s.is_empty().await.ctx("is_empty")?, "still empty");
    ensure_eq!(s.status_counts().await.ctx("status_counts")?.total, 0, "no documents");
    Ok(())
}

async fn status_counts_follow_status_transitions(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let counts = s.status_counts().await.ctx("status_counts on an empty store")?;
    ensure!(counts.counts.is_empty() && counts.total == 0, "empty store counts nothing: {counts:?}");
    let put = |id: &str, status| (id.to_owned(), doc(status, Some(at(0, 0)), &format!("{id}.txt")));
    s.upsert(vec![put("d1", DocStatus::Pending), put("d2", DocStatus::Pending), put("d3", DocStatus::Pending)])
        .await
        .ctx("insert three pending")?;
    let c = s.status_counts().await.ctx("status_counts")?;
    ensure_eq!((c.count(DocStatus::Pending), c.total), (3, 3), "three pending");
    s.upsert(vec![put("d1", DocStatus::Processing), put("d2", DocStatus::Processed)]).await.ctx("transitions")?;
    let c = s.status_counts().await.ctx("status_counts")?;
    let got: Vec<u64> = DocStatus::ALL.iter().map(|st| c.count(*st)).collect();
    ensure_eq!(got, vec![1, 0, 0, 1, 0, 1, 0], "counts per status (pipeline order)");
    ensure_eq!(c.total, 3, "total");
    ensure!(c.counts.values().all(|n| *n > 0), "statuses without documents are absent: {:?}", c.counts);
    s.upsert(vec![put("d1", DocStatus::Failed), put("d3", DocStatus::Processed), put("d4", DocStatus::Parsing)])
        .await
        .ctx("more transitions")?;
    let c = s.status_counts().await.ctx("status_counts")?;
    let got: Vec<u64> = DocStatus::ALL.iter().map(|st| c.count(*st)).collect();
    ensure_eq!(got, vec![0, 1, 0, 0, 0, 2, 1], "counts after more transitions");
    ensure_eq!(c.total, 4, "total");
    ensure_eq!(
        c.counts.keys().copied().collect::<Vec<_>>(),
        vec![DocStatus::Parsing, DocStatus::Processed, DocStatus::Failed],
        "present statuses"
    );
    s.delete(&strings(&["d4"])).await.ctx("delete")?;
    let c = s.status_counts().await.ctx("status_counts")?;
    ensure_eq!((c.count(DocStatus::Parsing), c.total), (0, 3), "after a delete");
    Ok(())
}

async fn get_docs_by_statuses_returns_the_matching_docs_sorted_by_id(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let statuses =
        [DocStatus::Processed, DocStatus::Pending, DocStatus::Failed, DocStatus::Processed, DocStatus::Pending];
    let docs: Vec<(String, DocProcessingStatus)> = statuses
        .iter()
        .enumerate()
        .map(|(i, st)| (format!("doc-{}", ["e", "c", "a", "d", "b"][i]), doc(*st, Some(at(i as i64, 0)), "f.txt")))
        .collect();
    s.upsert(docs.clone()).await.ctx("upsert")?;
    let got = s.get_docs_by_statuses(&[DocStatus::Processed]).await.ctx("get_docs_by_statuses(processed)")?;
    ensure_eq!(ids_of(&got), vec!["doc-d", "doc-e"], "processed docs sorted by id");
    let by_id = |id: &str| docs.iter().find(|(i, _)| i == id).map(|(_, d)| d.clone());
    ensure_eq!(Some(got[0].1.clone()), by_id("doc-d"), "the record comes back whole");
    let got = s.get_docs_by_statuses(&[DocStatus::Pending, DocStatus::Failed]).await.ctx("pending or failed")?;
    ensure_eq!(ids_of(&got), vec!["doc-a", "doc-b", "doc-c"], "pending or failed, sorted by id");
    ensure!(s.get_docs_by_statuses(&[DocStatus::Parsing]).await.ctx("parsing")?.is_empty(), "no parsing docs");
    ensure!(s.get_docs_by_statuses(&[]).await.ctx("no statuses")?.is_empty(), "an empty status list matches nothing");
    Ok(())
}

async fn count_docs_by_statuses_counts_any_of_the_statuses_and_empty_is_zero(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let sts = [DocStatus::Pending, DocStatus::Pending, DocStatus::Processing, DocStatus::Processed, DocStatus::Failed];
    let docs: Vec<(String, DocProcessingStatus)> =
        sts.iter().enumerate().map(|(i, st)| (id_n(i), doc(*st, Some(at(0, 0)), "f.txt"))).collect();
    s.upsert(docs).await.ctx("upsert")?;
    for (ask, want) in [
        (vec![DocStatus::Pending], 2),
        (vec![DocStatus::Pending, DocStatus::Failed], 3),
        (vec![DocStatus::Pending, DocStatus::Pending], 2),
        (DocStatus::ALL.to_vec(), 5),
        (vec![DocStatus::Parsing], 0),
        (vec![], 0),
    ] {
        ensure_eq!(s.count_docs_by_statuses(&ask).await.ctx("count_docs_by_statuses")?, want, "count of {ask:?}");
    }
    Ok(())
}

async fn get_docs_by_track_id_returns_that_batch_sorted_by_id(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let put = |id: &str, track: Option<&str>| {
        (
            id.to_owned(),
            DocProcessingStatus {
                track_id: track.map(str::to_owned),
                ..doc(DocStatus::Pending, Some(at(0, 0)), "f.txt")
            },
        )
    };
    s.upsert(vec![put("doc-c", Some("t-1")), put("doc-a", Some("t-1")), put("doc-b", Some("t-2")), put("doc-d", None)])
        .await
        .ctx("upsert")?;
    ensure_eq!(
        ids_of(&s.get_docs_by_track_id("t-1").await.ctx("t-1")?),
        vec!["doc-a", "doc-c"],
        "track t-1 sorted by id"
    );
    ensure_eq!(ids_of(&s.get_docs_by_track_id("t-2").await.ctx("t-2")?), vec!["doc-b"], "track t-2");
    ensure!(s.get_docs_by_track_id("t-unknown").await.ctx("unknown")?.is_empty(), "unknown track");
    Ok(())
}

/// Twelve documents whose created, updated and file orders all differ.
fn twelve() -> Vec<(String, DocProcessingStatus)> {
    (0..12)
        .map(|i| {
            let mut d = doc(
                DocStatus::Processed,
                Some(at(((i * 5) % 12) as i64 * 60, 10)),
                &format!("file-{:02}.txt", (i * 11) % 12),
            );
            d.updated_at = Some(at(((i * 7) % 12) as i64 * 60, 20));
            (id_n(i), d)
        })
        .collect()
}

async fn paginated_listing_sorts_by_every_field_in_both_directions(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let docs = twelve();
    s.upsert(docs.clone()).await.ctx("upsert")?;
    for field in [SortField::CreatedAt, SortField::UpdatedAt, SortField::Id, SortField::FilePath] {
        let asc = match field {
            SortField::CreatedAt => order_by(&docs, |d| d.created_at),
            SortField::UpdatedAt => order_by(&docs, |d| d.updated_at),
            SortField::Id => order_by(&docs, |_| ()),
            SortField::FilePath => order_by(&docs, |d| d.file_path.clone()),
        };
        for dir in [SortDirection::Asc, SortDirection::Desc] {
            let want: Vec<String> =
                if dir == SortDirection::Asc { asc.clone() } else { asc.iter().rev().cloned().collect() };
            let base =
                PageRequest { status_filter: vec![], page: 1, page_size: 10, sort_field: field, sort_direction: dir };
            let first = s.get_docs_paginated(&base).await.ctx(format_args!("{field:?} {dir:?} page 1"))?;
            ensure_eq!(first.docs.len(), 10, "{field:?} {dir:?}: page 1 is full");
            ensure_eq!(first.total, 12, "{field:?} {dir:?}: total");
            let (ids, total) = paginate_all(&s, &base, &format!("{field:?} {dir:?}")).await?;
            ensure_eq!(ids, want, "{field:?} {dir:?}: order across pages");
            ensure_eq!(total, 12, "{field:?} {dir:?}: total on every page");
        }
    }
    Ok(())
}

async fn paginated_listing_breaks_ties_by_id_so_pages_never_overlap(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let same = at(100, 0);
    let docs: Vec<(String, DocProcessingStatus)> =
        [17, 3, 24, 8, 11, 0, 21, 5, 14, 2, 19, 6, 23, 9, 12, 1, 16, 4, 22, 7, 13, 10, 18, 15, 20]
            .iter()
            .map(|i| (id_n(*i), doc(DocStatus::Pending, Some(same), "same.txt")))
            .collect();
    s.upsert(docs).await.ctx("upsert 25 docs with equal timestamps and paths")?;
    let asc: Vec<String> = (0..25).map(id_n).collect();
    let desc: Vec<String> = asc.iter().rev().cloned().collect();
    for field in [SortField::UpdatedAt, SortField::CreatedAt, SortField::FilePath] {
        for (dir, want) in [(SortDirection::Desc, &desc), (SortDirection::Asc, &asc)] {
            let base =
                PageRequest { status_filter: vec![], page: 1, page_size: 10, sort_field: field, sort_direction: dir };
            let (ids, total) = paginate_all(&s, &base, &format!("{field:?} {dir:?}")).await?;
            ensure_eq!(total, 25, "total");
            let distinct: BTreeSet<&String> = ids.iter().collect();
            ensure_eq!(
                distinct.len(),
                25,
                "{field:?} {dir:?}: pages overlap or skip ({} distinct of {})",
                distinct.len(),
                ids.len()
            );
            ensure_eq!(&ids, want, "{field:?} {dir:?}: ties broken by id in the same direction");
        }
    }
    Ok(())
}

async fn paginated_listing_clamps_the_page_and_the_page_size(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let docs: Vec<(String, DocProcessingStatus)> =
        (0..205).map(|i| (id_n(i), doc(DocStatus::Pending, Some(at(i as i64, 0)), "f.txt"))).collect();
    s.upsert(docs).await.ctx("upsert 205 docs")?;
    let by_id = |page, page_size| PageRequest {
        status_filter: vec![],
        page,
        page_size,
        sort_field: SortField::Id,
        sort_direction: SortDirection::Asc,
    };
    let r = s.get_docs_paginated(&by_id(0, 10)).await.ctx("page 0")?;
    ensure_eq!(ids_of(&r.docs).first().copied(), Some("doc-000"), "page 0 means page 1");
    ensure_eq!(r.docs.len(), 10, "page 0 size");
    let r = s.get_docs_paginated(&by_id(2, 5)).await.ctx("page size 5")?;
    ensure_eq!(r.docs.len(), 10, "a page size below 10 is raised to 10");
    ensure_eq!(ids_of(&r.docs).first().copied(), Some("doc-010"), "page 2 of 10 starts at the 11th doc");
    let r = s.get_docs_paginated(&by_id(1, 1000)).await.ctx("page size 1000")?;
    ensure_eq!(r.docs.len(), 200, "a page size above 200 is lowered to 200");
    let r = s.get_docs_paginated(&by_id(2, 1000)).await.ctx("page 2 of 200")?;
    ensure_eq!(ids_of(&r.docs), vec!["doc-200", "doc-201", "doc-202", "doc-203", "doc-204"], "the last, partial page");
    let r = s.get_docs_paginated(&by_id(50, 10)).await.ctx("page past the end")?;
    ensure!(r.docs.is_empty(), "a page past the end is empty");
    ensure_eq!(r.total, 205, "the total is still reported past the end");
    Ok(())
}

async fn paginated_listing_filters_by_status_and_reports_the_total(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let sts = [DocStatus::Pending; 5].into_iter().chain([DocStatus::Processed; 3]).chain([DocStatus::Failed; 2]);
    let docs: Vec<(String, DocProcessingStatus)> =
        sts.enumerate().map(|(i, st)| (id_n(i), doc(st, Some(at(i as i64, 0)), "f.txt"))).collect();
    s.upsert(docs).await.ctx("upsert")?;
    let req = |filter: Vec<DocStatus>| PageRequest {
        status_filter: filter,
        page: 1,
        page_size: 10,
        sort_field: SortField::Id,
        sort_direction: SortDirection::Asc,
    };
    let r = s.get_docs_paginated(&req(vec![DocStatus::Processed])).await.ctx("processed")?;
    ensure_eq!((ids_of(&r.docs), r.total), (vec!["doc-005", "doc-006", "doc-007"], 3), "processed only");
    ensure!(r.docs.iter().all(|(_, d)| d.status == DocStatus::Processed), "only processed docs");
    let r =
        s.get_docs_paginated(&req(vec![DocStatus::Failed, DocStatus::Processed])).await.ctx("failed or processed")?;
    ensure_eq!(r.total, 5, "failed or processed total");
    ensure_eq!(r.docs.len(), 5, "failed or processed docs");
    let r = s.get_docs_paginated(&req(vec![])).await.ctx("no filter")?;
    ensure_eq!((r.docs.len(), r.total), (10, 10), "an empty filter lists everything");
    let r = s.get_docs_paginated(&req(vec![DocStatus::Parsing])).await.ctx("parsing")?;
    ensure_eq!((r.docs.len(), r.total), (0, 0), "no parsing docs");
    Ok(())
}

/// 23 documents over three statuses, with missing and repeated `created_at`s and
/// ids that are not in creation order.
fn sweep_docs() -> Vec<(String, DocProcessingStatus)> {
    let statuses = [DocStatus::Pending, DocStatus::Processing, DocStatus::Processed];
    (0..23)
        .map(|i| {
            let created = (i % 4 != 0).then(|| at((i % 5) as i64, 250 + (i % 2) as u32));
            (id_n((i * 7) % 23), doc(statuses[i % 3], created, "f.txt"))
        })
        .collect()
}

/// Ids in `(created_at ASC NULLS FIRST, id ASC)` order.
fn sweep_order(docs: &[(String, DocProcessingStatus)], statuses: &[DocStatus]) -> Vec<String> {
    let kept: Vec<(String, DocProcessingStatus)> =
        docs.iter().filter(|(_, d)| statuses.contains(&d.status)).cloned().collect();
    order_by(&kept, |d| d.created_at)
}

async fn keyset_sweep_visits_every_doc_exactly_once_in_created_at_then_id_order(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let docs = sweep_docs();
    s.upsert(docs.clone()).await.ctx("upsert")?;
    let all = [DocStatus::Pending, DocStatus::Processing, DocStatus::Processed];
    let want = sweep_order(&docs, &all);
    ensure_eq!(want.len(), 23, "test data");
    for limit in [1, 4, 7, 23, 50] {
        let got = sweep(&s, &all, limit, DocStatusCursor::Start).await?;
        ensure_eq!(got, want, "sweep with limit {limit}: every doc once, in (created_at NULLS FIRST, id) order");
    }
    let first = s.get_docs_by_statuses_page(&all, 4, &DocStatusCursor::Start).await.ctx("first page")?;
    let by_id = |id: &str| docs.iter().find(|(i, _)| i == id).map(|(_, d)| d.clone());
    for (id, d) in &first.docs {
        ensure_eq!(Some(d.status), by_id(id).map(|x| x.status), "status of {id} in the page");
        ensure_eq!(Some(d.created_at), by_id(id).map(|x| x.created_at), "created_at of {id} in the page");
    }
    Ok(())
}

async fn keyset_sweep_merges_several_statuses_and_skips_the_others(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let docs = sweep_docs();
    s.upsert(docs.clone()).await.ctx("upsert")?;
    for statuses in [
        vec![DocStatus::Pending],
        vec![DocStatus::Processed, DocStatus::Pending],
        vec![DocStatus::Processing, DocStatus::Failed],
        vec![DocStatus::Failed],
    ] {
        let want = sweep_order(&docs, &statuses);
        let got = sweep(&s, &statuses, 3, DocStatusCursor::Start).await?;
        ensure_eq!(got, want, "sweep over {statuses:?}");
    }
    Ok(())
}

async fn keyset_sweep_resumes_from_a_cursor_built_by_the_caller(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let docs = sweep_docs();
    s.upsert(docs.clone()).await.ctx("upsert")?;
    let all = [DocStatus::Pending, DocStatus::Processing, DocStatus::Processed];
    let want = sweep_order(&docs, &all);
    let by_id = |id: &str| {
        docs.iter().find(|(i, _)| i == id).map(|(_, d)| d.clone()).unwrap_or_else(|| doc(DocStatus::Pending, None, ""))
    };
    // After a row with a null created_at, after one with a timestamp, and after
    // a position that is not a stored row.
    let null_row = want.iter().position(|id| by_id(id).created_at.is_none()).ok_or("test data has null created_at")?;
    let dated_row = want.iter().position(|id| by_id(id).created_at.is_some()).ok_or("test data has created_at")? + 2;
    for k in [null_row, dated_row] {
        let id = &want[k];
        let cursor = DocStatusCursor::after(by_id(id).created_at, id);
        let got = sweep(&s, &all, 5, cursor).await?;
        ensure_eq!(got, want[k + 1..].to_vec(), "sweep resumed after {id} ({:?})", by_id(id).created_at);
    }
    let between = DocStatusCursor::after(Some(at(2, 250)), "doc-0115");
    let rank = |id: &String| (by_id(id).created_at, id.clone());
    let cut = (Some(at(2, 250)), "doc-0115".to_owned());
    let expected: Vec<String> = want.iter().filter(|id| rank(id) > cut).cloned().collect();
    ensure_eq!(sweep(&s, &all, 4, between).await?, expected, "sweep after a position that is not a row");
    let past = DocStatusCursor::after(Some(at(100_000, 0)), "zzz");
    ensure!(sweep(&s, &all, 4, past).await?.is_empty(), "a cursor past the last row gives nothing");
    Ok(())
}

async fn keyset_sweep_refuses_a_zero_limit_and_a_malformed_cursor(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert(vec![("doc-1".into(), doc(DocStatus::Pending, Some(at(0, 0)), "a.txt"))]).await.ctx("upsert")?;
    let zero = s.get_docs_by_statuses_page(&[DocStatus::Pending], 0, &DocStatusCursor::Start).await;
    ensure!(matches!(zero, Err(crate::Error::InvalidInput { .. })), "limit 0 should be InvalidInput, got {zero:?}");
    for bad in ["garbage", "[1, 2]", r#"["not a time", "doc-1"]"#, "{}"] {
        let res = s.get_docs_by_statuses_page(&[DocStatus::Pending], 5, &DocStatusCursor::After(bad.into())).await;
        ensure!(
            matches!(res, Err(crate::Error::InvalidInput { .. })),
            "cursor {bad:?} should be InvalidInput, got {res:?}"
        );
    }
    Ok(())
}

async fn keyset_sweep_of_no_statuses_or_the_end_cursor_is_an_empty_final_page(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert(vec![("doc-1".into(), doc(DocStatus::Pending, Some(at(0, 0)), "a.txt"))]).await.ctx("upsert")?;
    let page = s.get_docs_by_statuses_page(&[], 5, &DocStatusCursor::Start).await.ctx("no statuses")?;
    ensure!(page.docs.is_empty() && page.next == DocStatusCursor::End, "no statuses: empty final page, got {page:?}");
    let page = s.get_docs_by_statuses_page(&[DocStatus::Pending], 5, &DocStatusCursor::End).await.ctx("End cursor")?;
    ensure!(page.docs.is_empty() && page.next == DocStatusCursor::End, "End cursor: empty final page, got {page:?}");
    let page = s.get_docs_by_statuses_page(&[DocStatus::Failed], 5, &DocStatusCursor::Start).await.ctx("no match")?;
    ensure!(
        page.docs.is_empty() && page.next == DocStatusCursor::End,
        "no matching doc: empty final page, got {page:?}"
    );
    let page = s.get_docs_by_statuses_page(&[DocStatus::Pending], 1, &DocStatusCursor::Start).await.ctx("limit 1")?;
    ensure_eq!(ids_of(&page.docs), vec!["doc-1"], "limit 1");
    ensure!(matches!(page.next, DocStatusCursor::After(_)), "a full page continues, got {:?}", page.next);
    let page = s.get_docs_by_statuses_page(&[DocStatus::Pending], 1, &page.next).await.ctx("after the only doc")?;
    ensure!(
        page.docs.is_empty() && page.next == DocStatusCursor::End,
        "after the only doc: empty final page, got {page:?}"
    );
    Ok(())
}

async fn get_doc_by_file_path_returns_the_earliest_exact_match(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    s.upsert(vec![
        ("doc-1".into(), doc(DocStatus::Processed, Some(at(20, 0)), "same.pdf")),
        ("doc-3".into(), doc(DocStatus::Processed, Some(at(10, 5)), "same.pdf")),
        ("doc-2".into(), doc(DocStatus::Processed, Some(at(10, 5)), "same.pdf")),
        ("doc-0".into(), doc(DocStatus::Processed, Some(at(0, 0)), "other.pdf")),
        ("doc-9".into(), doc(DocStatus::Processed, Some(at(0, 0)), "SAME.pdf")),
    ])
    .await
    .ctx("upsert")?;
    let got = s.get_doc_by_file_path("same.pdf").await.ctx("get_doc_by_file_path")?;
    ensure_eq!(got.as_ref().map(|(id, _)| id.as_str()), Some("doc-2"), "earliest created_at, ties by id");
    ensure_eq!(got.map(|(_, d)| d.file_path), Some("same.pdf".to_owned()), "the record");
    ensure_eq!(s.get_doc_by_file_path("missing.pdf").await.ctx("missing path")?, None, "unknown path");
    ensure_eq!(s.get_doc_by_file_path("same").await.ctx("prefix")?, None, "a prefix is not a match");
    Ok(())
}

async fn get_doc_by_file_basename_skips_duplicates_and_placeholder_names(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let dup = json!({"is_duplicate": true, "duplicate_kind": "content", "original_doc_id": "doc-c"});
    s.upsert(vec![
        ("doc-a".into(), doc(DocStatus::Processed, Some(at(30, 0)), "report.pdf")),
        ("doc-b".into(), with_meta(doc(DocStatus::Processed, Some(at(10, 0)), "report.pdf"), dup)),
        (
            "doc-c".into(),
            with_meta(doc(DocStatus::Processed, Some(at(20, 0)), "report.pdf"), json!({"is_duplicate": false})),
        ),
        ("doc-u".into(), doc(DocStatus::Processed, Some(at(0, 0)), "unknown_source")),
        ("doc-e".into(), doc(DocStatus::Processed, Some(at(0, 0)), "")),
    ])
    .await
    .ctx("upsert")?;
    let got = s.get_doc_by_file_basename("report.pdf").await.ctx("get_doc_by_file_basename")?;
    ensure_eq!(got.map(|(id, _)| id), Some("doc-c".to_owned()), "earliest primary row (the duplicate is skipped)");
    ensure_eq!(s.get_doc_by_file_basename("unknown_source").await.ctx("unknown_source")?, None, "unknown_source");
    ensure_eq!(s.get_doc_by_file_basename("").await.ctx("empty name")?, None, "empty name");
    ensure_eq!(s.get_doc_by_file_basename("nothing.pdf").await.ctx("unknown name")?, None, "unknown name");
    let got = s.get_doc_by_file_path("report.pdf").await.ctx("get_doc_by_file_path")?;
    ensure_eq!(got.map(|(id, _)| id), Some("doc-b".to_owned()), "get_doc_by_file_path does not skip duplicates");
    Ok(())
}

async fn get_doc_by_content_hash_skips_the_excluded_doc_and_its_duplicates(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let hashed = |created, hash: &str| DocProcessingStatus {
        content_hash: Some(hash.to_owned()),
        ..doc(DocStatus::Processed, Some(created), "f.txt")
    };
    let dup_of = |id: &str| json!({"is_duplicate": true, "duplicate_kind": "content", "original_doc_id": id});
    s.upsert(vec![
        ("doc-orig".into(), hashed(at(10, 0), "h")),
        ("doc-dup".into(), with_meta(hashed(at(5, 0), "h"), dup_of("doc-orig"))),
        ("doc-late".into(), hashed(at(30, 0), "h")),
        ("doc-other".into(), hashed(at(0, 0), "other-hash")),
    ])
    .await
    .ctx("upsert")?;
    let find = |hash: &'static str, exclude: Option<&'static str>| {
        let s = Arc::clone(&s);
        async move { s.get_doc_by_content_hash(hash, exclude).await.map(|o| o.map(|(id, _)| id)) }
    };
    ensure_eq!(find("h", None).await.ctx("no exclusion")?, Some("doc-dup".to_owned()), "earliest with the hash");
    ensure_eq!(
        find("h", Some("doc-orig")).await.ctx("exclude doc-orig")?,
        Some("doc-late".to_owned()),
        "skips doc-orig and its duplicate"
    );
    ensure_eq!(
        find("h", Some("doc-late")).await.ctx("exclude doc-late")?,
        Some("doc-dup".to_owned()),
        "skips only doc-late"
    );
    ensure_eq!(
        find("h", Some("doc-dup")).await.ctx("exclude doc-dup")?,
        Some("doc-orig".to_owned()),
        "skips only doc-dup"
    );
    ensure_eq!(find("other-hash", None).await.ctx("other hash")?, Some("doc-other".to_owned()), "other hash");
    ensure_eq!(find("missing", None).await.ctx("unknown hash")?, None, "unknown hash");
    ensure_eq!(find("", None).await.ctx("empty hash")?, None, "empty hash");
    Ok(())
}

async fn delete_removes_ids_ignores_missing_ones_and_is_empty_follows(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    ensure!(s.is_empty().await.ctx("is_empty")?, "a fresh workspace is empty");
    let docs: Vec<(String, DocProcessingStatus)> =
        (0..3).map(|i| (id_n(i), doc(DocStatus::Pending, Some(at(0, 0)), "f.txt"))).collect();
    s.upsert(docs).await.ctx("upsert")?;
    ensure!(!s.is_empty().await.ctx("is_empty")?, "not empty after inserts");
    s.delete(&strings(&["doc-001", "doc-missing", "doc-001"])).await.ctx("delete")?;
    s.delete(&[]).await.ctx("delete(&[])")?;
    let present: Vec<bool> = s
        .get_by_ids(&strings(&["doc-000", "doc-001", "doc-002"]))
        .await
        .ctx("get_by_ids")?
        .iter()
        .map(Option::is_some)
        .collect();
    ensure_eq!(present, vec![true, false, true], "which docs survive");
    ensure_eq!(s.status_counts().await.ctx("status_counts")?.total, 2, "counts follow the delete");
    s.delete(&strings(&["doc-000", "doc-002"])).await.ctx("delete the rest")?;
    ensure!(s.is_empty().await.ctx("is_empty")?, "empty after deleting everything");
    Ok(())
}

async fn drop_all_leaves_other_workspaces_intact(env: Arc<DocEnv>) -> Outcome {
    let other_ws = env.other_workspace();
    let mine = env.open().await?;
    let other = env.open_in(&other_ws).await?;
    let d = doc(DocStatus::Processed, Some(at(0, 0)), "a.txt");
    mine.upsert(vec![("doc-1".into(), d.clone()), ("doc-2".into(), d.clone())]).await.ctx("upsert mine")?;
    other.upsert(vec![("doc-1".into(), d.clone())]).await.ctx("upsert other")?;
    ensure_eq!(other.status_counts().await.ctx("status_counts other")?.total, 1, "workspaces count separately");
    mine.drop_all().await.ctx("drop_all")?;
    ensure!(mine.is_empty().await.ctx("is_empty")?, "dropped workspace is empty");
    ensure_eq!(mine.status_counts().await.ctx("status_counts")?.total, 0, "dropped workspace counts nothing");
    ensure_eq!(other.get_by_id("doc-1").await.ctx("get_by_id other")?, Some(d.clone()), "other workspace intact");
    ensure_eq!(
        other.count_docs_by_statuses(&[DocStatus::Processed]).await.ctx("count other")?,
        1,
        "other workspace count"
    );
    mine.upsert(vec![("doc-3".into(), d)]).await.ctx("upsert after drop_all")?;
    ensure!(!mine.is_empty().await.ctx("is_empty")?, "usable after drop_all");
    Ok(())
}

async fn ids_and_texts_with_cjk_emoji_and_quotes_round_trip(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let docs: Vec<(String, DocProcessingStatus)> = TRICKY
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut d = doc(DocStatus::Processed, Some(at(i as i64, 0)), &format!("{id}.pdf"));
            d.content_summary = format!("摘要 {id}");
            d.track_id = Some(format!("track {id}"));
            d.error_msg = Some(TRICKY.join(" "));
            d.chunks_list = strings(TRICKY);
            d.content_hash = Some(format!("hash {id}"));
            d.metadata = json!({"note": id, "键": TRICKY}).as_object().cloned().unwrap_or_default();
            ((*id).to_owned(), d)
        })
        .collect();
    s.upsert(docs.clone()).await.ctx("upsert tricky docs")?;
    for (id, d) in &docs {
        ensure_eq!(s.get_by_id(id).await.ctx("get_by_id")?, Some(d.clone()), "tricky doc {id:?}");
        let by_path = s.get_doc_by_file_path(&d.file_path).await.ctx("get_doc_by_file_path")?;
        ensure_eq!(by_path.map(|(i, _)| i), Some(id.clone()), "by tricky path");
        let by_hash =
            s.get_doc_by_content_hash(d.content_hash.as_deref().unwrap_or_default(), None).await.ctx("by hash")?;
        ensure_eq!(by_hash.map(|(i, _)| i), Some(id.clone()), "by tricky hash");
        let track = d.track_id.clone().unwrap_or_default();
        ensure_eq!(
            ids_of(&s.get_docs_by_track_id(&track).await.ctx("by track")?),
            vec![id.as_str()],
            "by tricky track id"
        );
    }
    let ids: Vec<String> = docs.iter().map(|(id, _)| id.clone()).collect();
    ensure!(s.filter_keys(&ids).await.ctx("filter_keys")?.is_empty(), "every tricky id is stored");
    Ok(())
}

async fn one_megabyte_error_message_and_large_metadata_round_trip(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let mut d = doc(DocStatus::Failed, Some(at(0, 0)), "big.pdf");
    d.error_msg = Some(big_text(ONE_MB));
    d.chunks_list = (0..5000).map(|i| format!("chunk-{i:032x}")).collect();
    d.metadata = json!({"pages": (0..2000).collect::<Vec<_>>(), "blob": big_text(64 * 1024)})
        .as_object()
        .cloned()
        .unwrap_or_default();
    s.upsert(vec![("doc-big".into(), d.clone())]).await.ctx("upsert a 1 MB error message")?;
    let got = s.get_by_id("doc-big").await.ctx("get_by_id")?.ok_or("doc-big missing")?;
    ensure_eq!(got.error_msg.as_ref().map(String::len), d.error_msg.as_ref().map(String::len), "error_msg length");
    ensure!(got == d, "the large record reads back unchanged");
    Ok(())
}

async fn lifecycle_calls_succeed_and_are_idempotent(env: Arc<DocEnv>) -> Outcome {
    // Opened without cleanup tracking: this case finalizes the storage itself.
    let s = env.factory.open(&env.ws).await.ctx("open")?;
    ensure_eq!(s.namespace(), Namespace::DocStatus, "namespace()");
    ensure_eq!(s.workspace(), &env.ws, "workspace()");
    s.initialize().await.ctx("second initialize")?;
    s.upsert(vec![("doc-1".into(), doc(DocStatus::Pending, Some(at(0, 0)), "a.txt"))]).await.ctx("upsert")?;
    s.index_done_callback().await.ctx("index_done_callback")?;
    ensure!(!s.is_empty().await.ctx("is_empty")?, "stored");
    s.drop_all().await.ctx("drop_all")?;
    s.drop_all().await.ctx("drop_all twice")?;
    ensure!(s.is_empty().await.ctx("is_empty")?, "empty after drop_all");
    s.finalize().await.ctx("finalize")?;
    s.finalize().await.ctx("finalize twice")?;
    Ok(())
}

async fn concurrent_upserts_all_land(env: Arc<DocEnv>) -> Outcome {
    let s = env.open().await?;
    let created = at(0, 42);
    let mut tasks = Vec::new();
    for t in 0..8_usize {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                let id = id_n(t * 20 + i);
                s.upsert(vec![(id.clone(), doc(DocStatus::Pending, Some(created), "f.txt"))]).await?;
                s.upsert(vec![(id, doc(DocStatus::Processed, Some(at(99, 0)), "f.txt"))]).await?;
                let shared = DocProcessingStatus {
                    chunks_count: Some(t as i64),
                    ..doc(DocStatus::Processing, Some(created), "shared.txt")
                };
                s.upsert(vec![("doc-shared".to_owned(), shared)]).await?;
            }
            crate::Result::Ok(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| Failed::from(format!("task panicked: {e}")))?.ctx("concurrent upsert")?;
    }
    let c = s.status_counts().await.ctx("status_counts")?;
    ensure_eq!((c.count(DocStatus::Processed), c.count(DocStatus::Processing), c.total), (160, 1, 161), "counts");
    let sample = s.get_by_id(&id_n(77)).await.ctx("get_by_id")?.ok_or("doc-077 missing")?;
    ensure_eq!(sample.created_at, Some(created), "created_at kept through concurrent updates");
    let shared = s.get_by_id("doc-shared").await.ctx("get_by_id")?.and_then(|d| d.chunks_count);
    ensure!(shared.is_some_and(|n| (0..8).contains(&n)), "the shared doc holds one writer's version: {shared:?}");
    Ok(())
}
