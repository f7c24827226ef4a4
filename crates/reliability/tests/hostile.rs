//! Hostile and broken input for every store, on the shared server: quotes,
//! `$$`, backslashes, NUL, SQL and Cypher keywords and comment markers in ids,
//! names, workspace names, labels and properties; ids of 10,000 characters;
//! text that came from invalid UTF-8 (the file readers' `String::from_utf8`
//! fails, so what reaches a store is U+FFFD-replaced text) and unusual code
//! points; NaN and infinite vectors; wrong dimensions; JSON nested 1,000 deep.
//!
//! Each input gets a typed error naming it, or is stored and read back exactly.
//! A canary table with one row, named by every injection payload, must survive
//! with its one row. Property tests (proptest) run at least 10,000 generated
//! hostile records per store in batches of 1,000, each batch first written with
//! one invalid record at a random position (which must write nothing), plus
//! single-call cases; the number run per store is printed.

#![allow(clippy::print_stdout)] // the tests print what they measured

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use common::data;
use lightrag_pg_core::testkit::unique_workspace;
use lightrag_pg_core::{
    DocStatus, DocStatusCursor, DocStatusStorage, Error, GraphStorage, JsonObject, KvNamespace, KvStorage, Properties,
    Storage, VectorNamespace, VectorQuery, VectorRecord, VectorStorage, Workspace,
};
use lightrag_pg_docstatus::PgDocStatusStorage;
use lightrag_pg_graph::{AgeGraphStorage, TableGraphStorage};
use lightrag_pg_kv::PgKvStorage;
use lightrag_pg_pool::PgPool;
use lightrag_pg_vector::{PgVectorConfig, PgVectorStorage};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;

/// Records per generated batch, and batches per store.
const BATCH: usize = 1_000;
const BATCHES: u32 = 10;
/// Single-call property cases per store.
const SINGLE_CASES: u32 = 64;
const DIM: usize = 4;

// ------------------------------------------------------------------ canary

/// A table with one row that every injection payload names.
#[derive(Debug, Clone)]
struct Canary {
    name: String,
}

impl Canary {
    async fn create(pool: &PgPool) -> Canary {
        let name = format!("lightrag_canary_{}", common::suffix());
        let conn = pool.get().await.expect("connection");
        conn.batch_execute(&format!("CREATE TABLE {name} (id int); INSERT INTO {name} VALUES (1)"))
            .await
            .expect("canary");
        Canary { name }
    }

    async fn rows(&self, pool: &PgPool) -> Result<i64, String> {
        let conn = pool.get().await.map_err(|e| e.to_string())?;
        let exists: bool = conn
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&self.name])
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        if !exists {
            return Err(format!("canary table {} was dropped", self.name));
        }
        conn.query_one(&format!("SELECT count(*) FROM {}", self.name), &[])
            .await
            .map(|r| r.get(0))
            .map_err(|e| e.to_string())
    }

    async fn assert_intact(&self, pool: &PgPool) {
        assert_eq!(self.rows(pool).await, Ok(1), "an injected statement touched the canary");
    }

    async fn remove(self, pool: &PgPool) {
        self.assert_intact(pool).await;
        pool.get().await.expect("connection").batch_execute(&format!("DROP TABLE {}", self.name)).await.expect("drop");
    }
}

// ------------------------------------------------------------ hostile text

/// Injection-shaped fragments naming the canary.
fn fragments(canary: &str) -> Vec<String> {
    let mut v: Vec<String> = [
        "'",
        "''",
        "\"",
        "\\",
        "\\'",
        "\\\\",
        "$$",
        "$q$",
        "$1",
        "?",
        "%s",
        "%",
        "_",
        "`",
        ";",
        "--",
        "/*",
        "*/",
        "#",
        "//",
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        ":",
        "::vertex",
        "::edge",
        "::numeric",
        "<SEP>",
        "E'\\x41'",
        "\\x00",
        "\\u0000",
        "NULL",
        "null",
        "NaN",
        "Infinity",
        "true",
        "SELECT",
        "DROP",
        "DELETE",
        "TRUNCATE",
        "UNION",
        "OR 1=1",
        "MATCH",
        "MERGE",
        "DETACH",
        "RETURN",
        "CREATE",
        "SET",
        "cypher",
        "ag_catalog",
        "pg_catalog",
        "\t",
        "\r\n",
        "\u{1}",
        "\u{1b}[31m",
        "\u{7f}",
        "\u{FFFD}",
        "\u{200B}",
        "\u{202E}",
        "\u{FEFF}",
        "\u{FFFE}",
        "\u{10FFFF}",
        "e\u{301}",
        "🙂",
        "👩‍👩‍👧",
        "实体",
        "𝔘𝔫𝔦",
        " ",
        "  ",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    v.extend([
        format!("'; DROP TABLE {canary}; --"),
        format!("\"; DELETE FROM {canary}; --"),
        format!("$$; TRUNCATE {canary}; $$"),
        format!("') ; DROP TABLE {canary} CASCADE; /*"),
        format!("x' OR '1'='1'; UPDATE {canary} SET id = 2; --"),
        format!("\\'; DROP TABLE {canary}; --"),
        "') MATCH (n) DETACH DELETE n //".to_owned(),
        "\"}) MATCH (n) DETACH DELETE n RETURN n //".to_owned(),
        format!("$$) AS (a agtype); DROP TABLE {canary}; --"),
        "n.entity_id}) SET n.hacked = true //".to_owned(),
        "{\"entity_id\": \"x\"}".to_owned(),
        "[std::vector]".to_owned(),
    ]);
    v
}

/// Text as a file reader hands it over after invalid UTF-8: lossily decoded.
fn from_invalid_utf8() -> Vec<String> {
    let bytes: [&[u8]; 4] = [b"abc\xff\xfe def", b"\xc3\x28 broken", b"\xed\xa0\x80 surrogate", b"tail \xf0\x9f\x98"];
    for b in bytes {
        assert!(String::from_utf8(b.to_vec()).is_err(), "{b:?} is valid UTF-8");
    }
    bytes.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect()
}

/// The fixed hostile texts: every fragment alone and wrapped, a few mixes, and
/// lossily decoded invalid UTF-8.
fn fixed_texts(canary: &str) -> Vec<String> {
    let f = fragments(canary);
    let mut out: Vec<String> = f.clone();
    out.extend(f.iter().map(|s| format!("x{s}y")));
    out.push(f.concat().chars().take(250).collect());
    out.push(f.iter().rev().cloned().collect::<String>().chars().take(250).collect());
    out.extend(from_invalid_utf8());
    let mut seen = HashSet::new();
    out.retain(|s| seen.insert(s.clone()));
    out
}

/// A generated hostile string: fragments, printable and arbitrary non-NUL
/// characters, up to `max` characters.
fn hostile(frags: Vec<String>, max: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        5 => proptest::sample::select(frags),
        2 => "\\PC{1,6}",
        1 => any::<char>().prop_filter("no NUL", |c| *c != '\0').prop_map(String::from),
    ];
    proptest::collection::vec(piece, 1..5).prop_map(move |v| v.concat().chars().take(max).collect())
}

/// A batch of `BATCH` records: unique ids, a text each, and where to put the
/// one invalid record.
fn batch(frags: Vec<String>, max: usize) -> impl Strategy<Value = (Vec<(String, String)>, Index)> {
    (proptest::collection::vec((hostile(frags.clone(), max), hostile(frags, 200)), BATCH), any::<Index>()).prop_map(
        |(mut pairs, at)| {
            let mut seen = HashSet::new();
            for (i, (id, _)) in pairs.iter_mut().enumerate() {
                if !seen.insert(id.clone()) {
                    *id = format!("{id}#{i}");
                    seen.insert(id.clone());
                }
            }
            (pairs, at)
        },
    )
}

/// A long id no column takes: 10,000 mixed characters (incompressible, so no
/// index can hold it either).
fn long_id() -> String {
    (0..10_000u32).map(|i| char::from_u32(0x4E00 + (i * 7919) % 0x5000).unwrap_or('x')).collect()
}

fn invalid_names(err: &Error, input: &str) -> bool {
    match err {
        Error::InvalidInput { input: named, .. } => {
            let stem = named.strip_suffix("...").unwrap_or(named);
            !stem.is_empty() && input.starts_with(stem) || named == input
        }
        Error::DimensionMismatch { id: Some(id), .. } => id == input,
        _ => false,
    }
}

fn assert_refused<T: std::fmt::Debug>(what: &str, res: lightrag_pg_core::Result<T>, input: &str) {
    match res {
        Err(e) if invalid_names(&e, input) => {}
        other => panic!("{what}: expected a typed error naming {:?}, got {other:?}", short(input)),
    }
}

fn short(s: &str) -> String {
    let c: String = s.chars().take(60).collect();
    if c.len() < s.len() { format!("{c}…") } else { c }
}

/// Runs `cases` property cases of `strategy` on `rt`; returns how many ran.
fn property<S: Strategy>(
    rt: &tokio::runtime::Runtime,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> futures::future::BoxFuture<'static, Result<(), String>>,
) -> u32 {
    let mut runner =
        TestRunner::new(Config { cases, max_shrink_iters: 16, failure_persistence: None, ..Config::default() });
    let ran = std::sync::atomic::AtomicU32::new(0);
    runner
        .run(&strategy, |v| {
            ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            rt.block_on(test(v)).map_err(TestCaseError::fail)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    ran.load(std::sync::atomic::Ordering::Relaxed)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// Hostile workspace names (valid ones: no `/`, `\` or control character).
fn hostile_workspaces(canary: &str) -> Vec<String> {
    let tag = common::suffix();
    vec![
        format!("ws'; DROP TABLE {canary}; --{tag}"),
        format!("ws\"$$ MATCH (n) DETACH DELETE n {tag}"),
        format!("Ws-{tag} -- OR 1=1 # ;"),
        format!("ws_{tag}_实体🙂"),
        format!("'\"$$;--{tag}"),
    ]
}

fn report(store: &str, fixed: usize, batched: u32, single: u32) {
    println!(
        "hostile cases for {store}: {} generated records in {batched} batches of {BATCH} (each also with one invalid \
         record), {single} single-call cases, {fixed} fixed inputs",
        batched as usize * BATCH
    );
}

/// `Err(message)` unless `cond`.
fn check(cond: bool, msg: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(msg()) }
}

/// Where the invalid record goes and what it is: a NUL inside an id, or a
/// 10,000-character id.
fn bad_id(template: &str, at: &Index) -> String {
    if at.index(2) == 0 { format!("{}\0nul", short(template)) } else { long_id() }
}

// --------------------------------------------------------------- key-value

async fn kv_store(pool: &PgPool, ns: KvNamespace, ws: Workspace) -> Arc<PgKvStorage> {
    let kv = PgKvStorage::new(pool.clone(), ns, ws).expect("kv");
    kv.initialize().await.expect("initialize");
    Arc::new(kv)
}

fn same_chunk(got: &JsonObject, want: &JsonObject) -> bool {
    ["content", "file_path", "full_doc_id", "heading", "tokens", "chunk_order_index", "llm_cache_list"]
        .iter()
        .all(|k| got.get(*k) == want.get(*k))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_kv_ids_texts_and_workspaces_are_refused_by_name_or_round_trip_exactly() {
    let pool = common::shared_pool(4).await;
    let canary = Canary::create(&pool).await;
    let texts = fixed_texts(&canary.name);
    let kv = kv_store(&pool, KvNamespace::TextChunks, unique_workspace("rel_hostile_kv")).await;

    let recs: Vec<(String, JsonObject)> =
        texts.iter().enumerate().map(|(i, t)| (t.clone(), data::chunk(i, t))).collect();
    kv.upsert(recs.clone()).await.expect("hostile ids and texts are stored");
    let got = kv.get_by_ids(&texts).await.expect("read back");
    for ((id, want), got) in recs.iter().zip(&got) {
        let got = got.as_ref().unwrap_or_else(|| panic!("{:?} was not stored", short(id)));
        assert!(same_chunk(got, want), "{:?} read back differently: {got:?}", short(id));
    }
    for (id, want) in recs.iter().take(40) {
        assert!(same_chunk(&kv.get_by_id(id).await.expect("get").expect("present"), want), "{:?}", short(id));
    }
    assert!(kv.filter_keys(&texts).await.expect("filter").is_empty());
    let half: Vec<String> = texts.iter().step_by(2).cloned().collect();
    kv.delete(&half).await.expect("delete");
    assert_eq!(kv.filter_keys(&texts).await.expect("filter"), half.iter().cloned().collect::<HashSet<_>>());

    // JSON up to serde's nesting limit, unusual code points in keys.
    let mut deep = data::chunk(1, "deep");
    deep.insert("heading".into(), json!({"deep": data::nested(100, json!("leaf \u{FFFD}")), "k'\"$$\\": "v"}));
    kv.upsert(vec![("deep-100".into(), deep.clone())]).await.expect("100 levels are stored");
    assert!(same_chunk(&kv.get_by_id("deep-100").await.expect("read").expect("present"), &deep));

    // Refused by name, and nothing of the batch written.
    let valid = ("valid-1".to_owned(), data::chunk(1, "valid"));
    for bad in [long_id(), "a\0b".to_owned()] {
        let res = kv.upsert(vec![valid.clone(), (bad.clone(), data::chunk(2, "x"))]).await;
        assert_refused("kv upsert of a bad id", res, &bad);
        assert!(kv.get_by_id("valid-1").await.expect("read").is_none(), "a refused batch wrote its valid record");
        assert!(kv.get_by_id(&bad).await.expect("a bad id is simply absent").is_none());
        kv.delete(std::slice::from_ref(&bad)).await.expect("deleting a bad id is a no-op");
    }
    let res = kv.upsert(vec![valid.clone(), ("nul-content".into(), data::chunk(3, "a\0b"))]).await;
    assert_refused("kv upsert of a NUL in a text", res, "nul-content");

    // Hostile workspace names.
    for name in hostile_workspaces(&canary.name) {
        let ws = Workspace::new(name.clone()).unwrap_or_else(|e| panic!("{name:?} is a valid workspace: {e}"));
        let s = kv_store(&pool, KvNamespace::FullDocs, ws).await;
        s.upsert(vec![(name.clone(), data::full_doc(&name))]).await.expect("write in a hostile workspace");
        assert_eq!(s.get_by_id(&name).await.expect("read").expect("present")["content"], json!(name));
        s.drop_all().await.expect("cleanup");
    }
    for bad in ["a/b", "back\\slash", "nul\0", "..", ""] {
        assert_refused("a bad workspace name", Workspace::new(bad), bad);
    }
    kv.drop_all().await.expect("cleanup");
    canary.remove(&pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_kv_json_nested_1000_deep_is_refused_by_name_or_read_back_exactly() {
    let pool = common::shared_pool(2).await;
    let kv = kv_store(&pool, KvNamespace::TextChunks, unique_workspace("rel_hostile_kv_deep")).await;
    let mut deep = data::chunk(1, "deep");
    deep.insert("heading".into(), json!({"deep": data::nested(1_000, json!("leaf"))}));
    let written = kv.upsert(vec![("deep-1000".into(), deep.clone()), ("plain".into(), data::chunk(2, "plain"))]).await;
    let outcome = match written {
        Err(e) => {
            assert!(invalid_names(&e, "deep-1000"), "refused without naming the record: {e:?}");
            "refused"
        }
        Ok(()) => {
            let back = kv.get_by_id("deep-1000").await;
            let plain = kv.get_by_ids(&["plain".into(), "deep-1000".into()]).await;
            kv.drop_all().await.expect("cleanup");
            let back = back.expect("a stored record must be readable");
            assert!(same_chunk(&back.expect("present"), &deep), "read back differently");
            plain.expect("a batch read that includes it must work");
            "stored and read back"
        }
    };
    kv.drop_all().await.expect("cleanup");
    assert!(!outcome.is_empty());
}

#[test]
fn hostile_kv_property_10000_generated_records_round_trip_and_invalid_batches_write_nothing() {
    let rt = runtime();
    let (pool, canary, kv) = rt.block_on(async {
        let pool = common::shared_pool(4).await;
        let canary = Canary::create(&pool).await;
        let kv = kv_store(&pool, KvNamespace::TextChunks, unique_workspace("rel_hostile_kv_prop")).await;
        (pool, canary, kv)
    });
    let frags = fragments(&canary.name);
    let (p, c, s) = (pool.clone(), canary.clone(), kv.clone());
    let batched = property(&rt, BATCHES, batch(frags.clone(), 200), move |(pairs, at)| {
        let (pool, canary, kv) = (p.clone(), c.clone(), s.clone());
        Box::pin(async move {
            let recs: Vec<(String, JsonObject)> =
                pairs.iter().enumerate().map(|(i, (id, t))| (id.clone(), data::chunk(i, t))).collect();
            let ids: Vec<String> = recs.iter().map(|(id, _)| id.clone()).collect();
            let bad = bad_id(&ids[0], &at);
            let mut with_bad = recs.clone();
            with_bad.insert(at.index(with_bad.len() + 1), (bad.clone(), data::chunk(0, "bad")));
            match kv.upsert(with_bad).await {
                Err(e) if invalid_names(&e, &bad) => {}
                other => return Err(format!("a batch with the invalid id {:?} gave {other:?}", short(&bad))),
            }
            let missing = kv.filter_keys(&ids).await.map_err(|e| e.to_string())?;
            check(missing.len() == ids.len(), || {
                format!("a refused batch wrote {} records", ids.len() - missing.len())
            })?;
            kv.upsert(recs.clone()).await.map_err(|e| format!("valid hostile batch refused: {e:?}"))?;
            let got = kv.get_by_ids(&ids).await.map_err(|e| e.to_string())?;
            for ((id, want), got) in recs.iter().zip(&got) {
                let got = got.as_ref().ok_or_else(|| format!("{:?} missing", short(id)))?;
                check(same_chunk(got, want), || format!("{:?} read back as {got:?}", short(id)))?;
            }
            check(canary.rows(&pool).await == Ok(1), || "the canary was touched".into())?;
            kv.delete(&ids).await.map_err(|e| e.to_string())
        })
    });
    let (p, s) = (pool.clone(), kv.clone());
    let c = canary.clone();
    let single = property(&rt, SINGLE_CASES, (hostile(frags.clone(), 200), hostile(frags, 200)), move |(id, text)| {
        let (pool, canary, kv) = (p.clone(), c.clone(), s.clone());
        Box::pin(async move {
            let rec = data::chunk(7, &text);
            kv.upsert(vec![(id.clone(), rec.clone())]).await.map_err(|e| format!("{e:?}"))?;
            let got = kv.get_by_id(&id).await.map_err(|e| e.to_string())?.ok_or("missing")?;
            check(same_chunk(&got, &rec), || format!("{:?} read back as {got:?}", short(&id)))?;
            check(kv.filter_keys(std::slice::from_ref(&id)).await.map_err(|e| e.to_string())?.is_empty(), || {
                "filter".into()
            })?;
            kv.delete(std::slice::from_ref(&id)).await.map_err(|e| e.to_string())?;
            check(kv.get_by_id(&id).await.map_err(|e| e.to_string())?.is_none(), || "not deleted".into())?;
            check(canary.rows(&pool).await == Ok(1), || "the canary was touched".into())
        })
    });
    rt.block_on(async {
        kv.drop_all().await.expect("cleanup");
        canary.remove(&pool).await;
    });
    report("kv", fixed_texts("c").len(), batched, single);
}

// ------------------------------------------------------------------ vectors

async fn vec_store(pool: &PgPool, ns: VectorNamespace, ws: Workspace) -> Arc<PgVectorStorage> {
    let s = PgVectorStorage::new(pool.clone(), ws, PgVectorConfig::new(ns, DIM).with_model_name("rel_hostile"))
        .expect("vector storage");
    s.initialize().await.expect("initialize");
    Arc::new(s)
}

fn vrec(id: &str, text: &str, i: usize) -> VectorRecord {
    let mut r = data::entity_vector(id, i, DIM, text);
    r.payload.insert("entity_name".into(), json!(text));
    r.payload.insert("content".into(), json!(text));
    r.payload.insert("file_path".into(), json!(text));
    r
}

fn same_payload(got: &JsonObject, want: &VectorRecord) -> bool {
    ["entity_name", "content", "file_path", "source_id"].iter().all(|k| got.get(*k) == want.payload.get(*k))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_vector_ids_payloads_and_bad_vectors_are_refused_by_name_or_round_trip_exactly() {
    let pool = common::shared_pool(4).await;
    let canary = Canary::create(&pool).await;
    let texts = fixed_texts(&canary.name);
    let vs = vec_store(&pool, VectorNamespace::Entities, unique_workspace("rel_hostile_vec")).await;

    let recs: Vec<VectorRecord> = texts.iter().enumerate().map(|(i, t)| vrec(t, t, i)).collect();
    vs.upsert(recs.clone()).await.expect("hostile ids and payloads are stored");
    let got = vs.get_by_ids(&texts).await.expect("read back");
    for (want, got) in recs.iter().zip(&got) {
        let got = got.as_ref().unwrap_or_else(|| panic!("{:?} was not stored", short(&want.id)));
        assert!(same_payload(got, want), "{:?} read back as {got:?}", short(&want.id));
        assert_eq!(got["id"], json!(want.id));
    }
    let vectors = vs.get_vectors_by_ids(&texts).await.expect("vectors");
    for want in &recs {
        assert_eq!(vectors.get(&want.id), Some(&want.vector), "{:?}", short(&want.id));
    }
    let hits = vs.query(&VectorQuery::by_vector(data::vector(3, DIM), 5).with_threshold(-10.0)).await.expect("query");
    assert_eq!(hits.len(), 5);
    for t in texts.iter().take(20) {
        vs.delete_entity(t).await.expect("delete_entity with a hostile name");
        assert!(vs.get_by_id(t).await.expect("read").is_none(), "delete_entity({:?})", short(t));
    }
    let rels = vec_store(&pool, VectorNamespace::Relationships, unique_workspace("rel_hostile_rel")).await;
    let rel = |i: usize, t: &str| {
        let mut r = vrec(&format!("rel-{i}"), t, i);
        r.payload.insert("src_id".into(), json!(t));
        r.payload.insert("tgt_id".into(), json!("other"));
        r
    };
    rels.upsert(texts.iter().enumerate().map(|(i, t)| rel(i, t)).collect()).await.expect("relations");
    for (i, t) in texts.iter().enumerate().take(20) {
        rels.delete_entity_relation(t).await.expect("delete_entity_relation with a hostile name");
        assert!(rels.get_by_id(&format!("rel-{i}")).await.expect("read").is_none(), "{:?}", short(t));
    }
    rels.drop_all().await.expect("cleanup");

    // Bad vectors and ids: refused by name; the valid record of the batch is not written.
    let valid = vrec("valid-1", "valid", 1);
    let mut bads: Vec<VectorRecord> = Vec::new();
    for (n, x) in [("nan", f32::NAN), ("inf", f32::INFINITY), ("minus-inf", f32::NEG_INFINITY)] {
        let mut r = vrec(&format!("bad-{n}"), n, 2);
        r.vector[1] = x;
        bads.push(r);
    }
    let mut short_vec = vrec("bad-dimension", "dim", 3);
    short_vec.vector.pop();
    bads.push(short_vec);
    let mut long_vec = vrec("bad-long-dimension", "dim", 3);
    long_vec.vector.push(0.5);
    bads.push(long_vec);
    let mut empty = vrec("bad-empty", "empty", 3);
    empty.vector.clear();
    bads.push(empty);
    bads.push(vrec(&long_id(), "long", 4));
    bads.push(vrec("nul\0id", "nul", 5));
    bads.push(vrec("nul-content", "a\0b", 6));
    for bad in bads {
        let id = bad.id.clone();
        let res = vs.upsert(vec![valid.clone(), bad]).await;
        assert_refused("vector upsert", res, &id);
        assert!(vs.get_by_id("valid-1").await.expect("read").is_none(), "a refused batch wrote its valid record");
    }
    match vs
        .upsert(vec![{
            let mut r = vrec("bad-dimension", "dim", 3);
            r.vector.pop();
            r
        }])
        .await
    {
        Err(Error::DimensionMismatch { id: Some(id), expected: DIM, got }) => {
            assert_eq!((id.as_str(), got), ("bad-dimension", DIM - 1))
        }
        other => panic!("a wrong dimension: {other:?}"),
    }
    // Bad query vectors: typed errors, never a database error.
    for (what, v) in [
        ("NaN query", vec![f32::NAN, 0.0, 0.0, 1.0]),
        ("infinite query", vec![f32::INFINITY, 0.0, 0.0, 1.0]),
        ("short query", vec![1.0, 0.0]),
        ("empty query", vec![]),
    ] {
        match vs.query(&VectorQuery::by_vector(v, 5)).await {
            Err(Error::InvalidInput { .. } | Error::DimensionMismatch { .. }) => {}
            other => panic!("{what}: expected a typed input error, got {other:?}"),
        }
    }

    for name in hostile_workspaces(&canary.name) {
        let s = vec_store(&pool, VectorNamespace::Entities, Workspace::new(name.clone()).expect("workspace")).await;
        s.upsert(vec![vrec(&name, &name, 1)]).await.expect("write in a hostile workspace");
        assert!(same_payload(&s.get_by_id(&name).await.expect("read").expect("present"), &vrec(&name, &name, 1)));
        s.drop_all().await.expect("cleanup");
    }
    vs.drop_all().await.expect("cleanup");
    canary.remove(&pool).await;
}

#[test]
fn hostile_vector_property_10000_generated_records_round_trip_and_invalid_batches_write_nothing() {
    let rt = runtime();
    let (pool, canary, vs) = rt.block_on(async {
        let pool = common::shared_pool(4).await;
        let canary = Canary::create(&pool).await;
        let vs = vec_store(&pool, VectorNamespace::Entities, unique_workspace("rel_hostile_vec_prop")).await;
        (pool, canary, vs)
    });
    let frags = fragments(&canary.name);
    let (p, c, s) = (pool.clone(), canary.clone(), vs.clone());
    let batched = property(&rt, BATCHES, batch(frags.clone(), 200), move |(pairs, at)| {
        let (pool, canary, vs) = (p.clone(), c.clone(), s.clone());
        Box::pin(async move {
            let recs: Vec<VectorRecord> = pairs.iter().enumerate().map(|(i, (id, t))| vrec(id, t, i)).collect();
            let ids: Vec<String> = recs.iter().map(|r| r.id.clone()).collect();
            let mut bad = vrec(&format!("{}-bad", short(&ids[0])), "bad", 0);
            match at.index(3) {
                0 => bad.vector[at.index(DIM)] = f32::NAN,
                1 => bad.vector.push(1.0),
                _ => bad.id = bad_id(&ids[0], &at),
            }
            let bad_name = bad.id.clone();
            let mut with_bad = recs.clone();
            with_bad.insert(at.index(with_bad.len() + 1), bad);
            match vs.upsert(with_bad).await {
                Err(e) if invalid_names(&e, &bad_name) => {}
                other => return Err(format!("a batch with the invalid record {:?} gave {other:?}", short(&bad_name))),
            }
            let written = vs.get_vectors_by_ids(&ids).await.map_err(|e| e.to_string())?;
            check(written.is_empty(), || format!("a refused batch wrote {} records", written.len()))?;
            vs.upsert(recs.clone()).await.map_err(|e| format!("valid hostile batch refused: {e:?}"))?;
            let got = vs.get_by_ids(&ids).await.map_err(|e| e.to_string())?;
            let vectors = vs.get_vectors_by_ids(&ids).await.map_err(|e| e.to_string())?;
            for (want, got) in recs.iter().zip(&got) {
                let got = got.as_ref().ok_or_else(|| format!("{:?} missing", short(&want.id)))?;
                check(same_payload(got, want), || format!("{:?} read back as {got:?}", short(&want.id)))?;
                check(vectors.get(&want.id) == Some(&want.vector), || {
                    format!("{:?}: vector differs", short(&want.id))
                })?;
            }
            check(canary.rows(&pool).await == Ok(1), || "the canary was touched".into())?;
            vs.delete(&ids).await.map_err(|e| e.to_string())
        })
    });
    let (p, c, s) = (pool.clone(), canary.clone(), vs.clone());
    let single = property(&rt, SINGLE_CASES, (hostile(frags.clone(), 200), hostile(frags, 200)), move |(id, text)| {
        let (pool, canary, vs) = (p.clone(), c.clone(), s.clone());
        Box::pin(async move {
            let rec = vrec(&id, &text, 9);
            vs.upsert(vec![rec.clone()]).await.map_err(|e| format!("{e:?}"))?;
            let got = vs.get_by_id(&id).await.map_err(|e| e.to_string())?.ok_or("missing")?;
            check(same_payload(&got, &rec), || format!("{:?} read back as {got:?}", short(&id)))?;
            vs.delete_entity(&text).await.map_err(|e| e.to_string())?;
            check(vs.get_by_id(&id).await.map_err(|e| e.to_string())?.is_none(), || "delete_entity".into())?;
            check(canary.rows(&pool).await == Ok(1), || "the canary was touched".into())
        })
    });
    rt.block_on(async {
        vs.drop_all().await.expect("cleanup");
        canary.remove(&pool).await;
    });
    report("vector", fixed_texts("c").len(), batched, single);
}

// -------------------------------------------------------------------- graph

/// Node properties whose values, `entity_type` (LightRAG's label) and one key
/// carry `text`.
fn hostile_node(text: &str) -> Properties {
    data::node(text).with("weight", 0.5).with("count", 7)
}

/// The properties as stored: with `entity_id`.
fn stored(id: &str, p: &Properties) -> Properties {
    p.clone().with("entity_id", id)
}

async fn graph_fixed(engine: &str, g: Arc<dyn GraphStorage>, pool: &PgPool, canary: &Canary) {
    let texts = fixed_texts(&canary.name);
    let nodes: Vec<(String, Properties)> = texts.iter().map(|t| (t.clone(), hostile_node(t))).collect();
    g.upsert_nodes_batch(nodes.clone()).await.unwrap_or_else(|e| panic!("{engine}: hostile nodes refused: {e:?}"));
    let got = g.get_nodes_batch(&texts).await.expect("nodes batch");
    for (id, p) in &nodes {
        assert_eq!(got.get(id), Some(&stored(id, p)), "{engine}: node {:?} read back differently", short(id));
    }
    for (id, p) in nodes.iter().take(30) {
        g.upsert_node(id, p.clone().with("again", id.as_str())).await.expect("single upsert");
        assert_eq!(g.get_node(id).await.expect("get_node"), Some(stored(id, p).with("again", id.as_str())));
        assert!(g.has_node(id).await.expect("has_node"));
    }
    let edges: Vec<(String, String, Properties)> =
        texts.windows(2).map(|w| (w[0].clone(), w[1].clone(), data::edge(&w[1]))).collect();
    g.upsert_edges_batch(edges.clone()).await.unwrap_or_else(|e| panic!("{engine}: hostile edges refused: {e:?}"));
    let pairs: Vec<(String, String)> = edges.iter().map(|(a, b, _)| (b.clone(), a.clone())).collect();
    let got = g.get_edges_batch(&pairs).await.expect("edges batch");
    for ((a, b, p), pair) in edges.iter().zip(&pairs) {
        assert_eq!(got.get(pair), Some(p), "{engine}: edge {:?}-{:?} read back differently", short(a), short(b));
    }
    let labels = g.get_all_labels().await.expect("labels");
    assert_eq!(labels.len(), texts.len(), "{engine}: labels");
    let mut sorted = texts.clone();
    sorted.sort();
    assert_eq!(labels, sorted, "{engine}: labels in code-point order");
    for f in fragments(&canary.name) {
        g.search_labels(&f, 5).await.unwrap_or_else(|e| panic!("{engine}: search_labels({:?}): {e}", short(&f)));
    }
    for t in texts.iter().take(30) {
        let kg = g.get_knowledge_graph(t, 2, 20).await.expect("knowledge graph");
        assert!(kg.nodes.iter().any(|n| &n.id == t), "{engine}: subgraph of {:?}", short(t));
        assert!(g.get_node_edges(t).await.expect("node edges").is_some());
        assert!(g.node_degree(t).await.expect("degree") >= 1);
    }
    g.get_knowledge_graph("*", 2, 50).await.expect("knowledge graph *");
    g.get_popular_labels(10).await.expect("popular");
    assert_eq!(g.get_all_edges().await.expect("edges").len(), edges.len());
    g.remove_edges(&pairs[..10]).await.expect("remove_edges");
    assert!(!g.has_edge(&pairs[0].0, &pairs[0].1).await.expect("has_edge"));
    g.delete_node(&texts[20]).await.expect("delete_node");
    g.remove_nodes(&texts[21..30]).await.expect("remove_nodes");
    assert!(g.get_nodes_batch(&texts[20..30]).await.expect("nodes").is_empty());

    // Refused by name; the batch writes nothing.
    let valid = ("valid-1".to_owned(), hostile_node("valid"));
    let bad_nodes = vec![
        ("nul\0id".to_owned(), Properties::new()),
        ("nul-value".to_owned(), Properties::new().with("description", "a\0b")),
        ("nul-key".to_owned(), Properties::new().with("k\0", "v")),
        ("empty-key".to_owned(), Properties::new().with("", "v")),
        (String::new(), Properties::new()),
    ];
    for (id, p) in bad_nodes {
        let res = g.upsert_nodes_batch(vec![valid.clone(), (id.clone(), p.clone())]).await;
        assert!(matches!(&res, Err(Error::InvalidInput { .. })), "{engine}: node {id:?} {p:?} gave {res:?}");
        if !id.is_empty() {
            assert_refused(engine, res, &id);
        }
        assert!(!g.has_node("valid-1").await.expect("has_node"), "{engine}: a refused batch wrote its valid node");
    }
    let res = g
        .upsert_edges_batch(vec![
            ("valid-1".into(), "valid-2".into(), Properties::new()),
            ("a\0".into(), "b".into(), Properties::new()),
        ])
        .await;
    assert!(matches!(res, Err(Error::InvalidInput { .. })), "{engine}: {res:?}");
    assert!(!g.has_node("valid-1").await.expect("has_node"), "{engine}: a refused edge batch wrote");
    assert_eq!(canary.rows(pool).await, Ok(1));
}

/// Every hostile workspace name: usable, or (AGE: a graph name longer than 63
/// bytes) refused with a configuration error that names it.
async fn graph_workspaces(
    engine: &str,
    pool: &PgPool,
    canary: &Canary,
    open: impl Fn(Workspace) -> lightrag_pg_core::Result<Arc<dyn GraphStorage>>,
) {
    let mut used = 0;
    for name in hostile_workspaces(&canary.name) {
        let g = match open(Workspace::new(name.clone()).expect("workspace")) {
            Ok(g) => g,
            Err(e) => {
                assert!(
                    matches!(e, Error::Config { .. }) && e.to_string().contains(&name),
                    "{engine}: workspace {name:?} refused without naming it: {e:?}"
                );
                continue;
            }
        };
        g.initialize().await.unwrap_or_else(|e| panic!("{engine}: workspace {name:?}: {e}"));
        g.upsert_edge(&name, "other", data::edge(&name)).await.expect("write in a hostile workspace");
        assert_eq!(g.get_edge("other", &name).await.expect("read"), Some(data::edge(&name)));
        g.drop_all().await.expect("cleanup");
        used += 1;
    }
    assert!(used >= 2, "{engine}: only {used} hostile workspaces were usable");
    assert_eq!(canary.rows(pool).await, Ok(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_age_graph_ids_labels_properties_and_workspaces_are_refused_by_name_or_round_trip_exactly() {
    let pool = common::shared_pool(4).await;
    let canary = Canary::create(&pool).await;
    let age = AgeGraphStorage::new(pool.clone(), unique_workspace("rel_hostile_age")).expect("age");
    age.initialize().await.expect("initialize");
    graph_fixed("age", Arc::new(age.clone()), &pool, &canary).await;
    let graphs = Arc::new(Mutex::new(Vec::new()));
    let opened = graphs.clone();
    let p = pool.clone();
    graph_workspaces("age", &pool, &canary, move |ws| {
        let s = AgeGraphStorage::new(p.clone(), ws)?;
        opened.lock().expect("graphs").push(s.clone());
        Ok(Arc::new(s))
    })
    .await;
    let opened: Vec<AgeGraphStorage> = std::mem::take(&mut *graphs.lock().expect("graphs"));
    for g in opened {
        g.drop_graph().await.expect("cleanup");
    }
    age.drop_graph().await.expect("cleanup");
    canary.remove(&pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_table_graph_ids_labels_properties_and_workspaces_are_refused_by_name_or_round_trip_exactly() {
    let pool = common::shared_pool(4).await;
    let canary = Canary::create(&pool).await;
    let table = TableGraphStorage::new(pool.clone(), unique_workspace("rel_hostile_table"));
    table.initialize().await.expect("initialize");
    graph_fixed("table", Arc::new(table.clone()), &pool, &canary).await;
    let p = pool.clone();
    graph_workspaces("table", &pool, &canary, move |ws| Ok(Arc::new(TableGraphStorage::new(p.clone(), ws)))).await;
    table.drop_all().await.expect("cleanup");
    canary.remove(&pool).await;
}

/// A 10,000-character entity id: stored and read back exactly, or refused by
/// name (it cannot fit a btree index entry, which holds about 2,700 bytes).
async fn graph_long_id(engine: &str, g: Arc<dyn GraphStorage>) {
    let id = long_id();
    let res = g.upsert_node(&id, Properties::new().with("description", "long")).await;
    match res {
        Ok(()) => {
            let back = g.get_node(&id).await.expect("read");
            assert_eq!(back, Some(Properties::new().with("description", "long").with("entity_id", id.as_str())));
        }
        Err(e) => assert!(invalid_names(&e, &id), "{engine}: a 10,000-character id gave an error not naming it: {e:?}"),
    }
    let res = g.upsert_edge(&id, "short", Properties::new()).await;
    assert!(
        res.is_ok() || res.as_ref().is_err_and(|e| invalid_names(e, &id)),
        "{engine}: edge with a long id: {res:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_age_graph_a_10000_character_id_is_refused_by_name_or_round_trips() {
    let pool = common::shared_pool(2).await;
    let age = AgeGraphStorage::new(pool.clone(), unique_workspace("rel_hostile_age_long")).expect("age");
    age.initialize().await.expect("initialize");
    common::with_cleanup(graph_long_id("age", Arc::new(age.clone())), async {
        age.drop_graph().await.expect("cleanup");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_table_graph_a_10000_character_id_is_refused_by_name_or_round_trips() {
    let pool = common::shared_pool(2).await;
    let table = TableGraphStorage::new(pool.clone(), unique_workspace("rel_hostile_table_long"));
    table.initialize().await.expect("initialize");
    common::with_cleanup(graph_long_id("table", Arc::new(table.clone())), async {
        table.drop_all().await.expect("cleanup");
    })
    .await;
}

/// A property nested 1,000 deep: refused by name, or read back exactly — and
/// never a panic (the call runs in its own task so a panic is caught here).
async fn graph_deep_json(engine: &str, g: Arc<dyn GraphStorage>) {
    let props = Properties::new().with("deep", data::nested(1_000, json!("leaf")));
    let writer = g.clone();
    let p = props.clone();
    let written = tokio::spawn(async move { writer.upsert_node("deep", p).await }).await.expect("no panic on write");
    match written {
        Err(e) => assert!(invalid_names(&e, "deep"), "{engine}: refused without naming the node: {e:?}"),
        Ok(()) => {
            let reader = g.clone();
            let back = tokio::spawn(async move { reader.get_node("deep").await })
                .await
                .unwrap_or_else(|_| panic!("{engine}: reading the stored node panicked"));
            let back = back.unwrap_or_else(|e| panic!("{engine}: the stored node cannot be read: {e:?}"));
            assert_eq!(back, Some(props.with("entity_id", "deep")), "{engine}: read back differently");
            let reader = g.clone();
            tokio::spawn(async move { reader.get_all_nodes().await })
                .await
                .unwrap_or_else(|_| panic!("{engine}: get_all_nodes panicked"))
                .unwrap_or_else(|e| panic!("{engine}: get_all_nodes fails: {e:?}"));
        }
    }
    let shallow = Properties::new().with("deep", data::nested(100, json!("leaf")));
    g.upsert_node("shallow", shallow.clone()).await.expect("100 levels");
    assert_eq!(g.get_node("shallow").await.expect("read"), Some(shallow.with("entity_id", "shallow")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_age_graph_json_nested_1000_deep_is_refused_by_name_or_read_back_exactly() {
    let pool = common::shared_pool(2).await;
    let age = AgeGraphStorage::new(pool.clone(), unique_workspace("rel_hostile_age_deep")).expect("age");
    age.initialize().await.expect("initialize");
    common::with_cleanup(graph_deep_json("age", Arc::new(age.clone())), async {
        age.drop_graph().await.expect("cleanup");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_table_graph_json_nested_1000_deep_is_refused_by_name_or_read_back_exactly() {
    let pool = common::shared_pool(2).await;
    let table = TableGraphStorage::new(pool.clone(), unique_workspace("rel_hostile_table_deep"));
    table.initialize().await.expect("initialize");
    common::with_cleanup(graph_deep_json("table", Arc::new(table.clone())), async {
        table.drop_all().await.expect("cleanup");
    })
    .await;
}

fn graph_property(engine: &'static str, open: impl Fn(&PgPool) -> (Arc<dyn GraphStorage>, Option<AgeGraphStorage>)) {
    let rt = runtime();
    let (pool, canary, g, age) = rt.block_on(async {
        let pool = common::shared_pool(4).await;
        let canary = Canary::create(&pool).await;
        let (g, age) = open(&pool);
        g.initialize().await.expect("initialize");
        (pool, canary, g, age)
    });
    let frags = fragments(&canary.name);
    let (p, c, s) = (pool.clone(), canary.clone(), g.clone());
    let batched = property(&rt, BATCHES, batch(frags.clone(), 200), move |(pairs, at)| {
        let (pool, canary, g) = (p.clone(), c.clone(), s.clone());
        Box::pin(async move {
            let nodes: Vec<(String, Properties)> = pairs
                .iter()
                .map(|(id, t)| {
                    (
                        id.clone(),
                        Properties::new()
                            .with("description", t.as_str())
                            .with("entity_type", t.as_str())
                            .with(&format!("k {t}"), id.as_str()),
                    )
                })
                .collect();
            let ids: Vec<String> = nodes.iter().map(|(id, _)| id.clone()).collect();
            let (bad_owner, bad) = if at.index(2) == 0 {
                let id = format!("{}\0", short(&ids[0]));
                (id.clone(), (id, Properties::new()))
            } else {
                (format!("{}-bad", ids[0]), (format!("{}-bad", ids[0]), Properties::new().with("v", "a\0b")))
            };
            let mut with_bad = nodes.clone();
            with_bad.insert(at.index(with_bad.len() + 1), bad);
            match g.upsert_nodes_batch(with_bad).await {
                Err(e) if invalid_names(&e, &bad_owner) => {}
                other => {
                    return Err(format!(
                        "{engine}: a batch with an invalid node {:?} gave {other:?}",
                        short(&bad_owner)
                    ));
                }
            }
            let written = g.get_nodes_batch(&ids).await.map_err(|e| e.to_string())?;
            check(written.is_empty(), || format!("{engine}: a refused batch wrote {} nodes", written.len()))?;
            g.upsert_nodes_batch(nodes.clone())
                .await
                .map_err(|e| format!("{engine}: valid hostile batch refused: {e:?}"))?;
            let got = g.get_nodes_batch(&ids).await.map_err(|e| e.to_string())?;
            for (id, p) in &nodes {
                check(got.get(id) == Some(&stored(id, p)), || {
                    format!("{engine}: {:?} read back as {:?}", short(id), got.get(id))
                })?;
            }
            let edges: Vec<(String, String, Properties)> = ids
                .windows(2)
                .step_by(2)
                .map(|w| (w[0].clone(), w[1].clone(), Properties::new().with("description", w[1].as_str())))
                .collect();
            g.upsert_edges_batch(edges.clone()).await.map_err(|e| format!("{engine}: hostile edges refused: {e:?}"))?;
            let pairs: Vec<(String, String)> = edges.iter().map(|(a, b, _)| (a.clone(), b.clone())).collect();
            let got = g.get_edges_batch(&pairs).await.map_err(|e| e.to_string())?;
            for ((a, b, p), pair) in edges.iter().zip(&pairs) {
                check(got.get(pair) == Some(p), || format!("{engine}: edge {:?}-{:?} differs", short(a), short(b)))?;
            }
            check(canary.rows(&pool).await == Ok(1), || "the canary was touched".into())?;
            g.drop_all().await.map_err(|e| e.to_string())
        })
    });
    let (p, c, s) = (pool.clone(), canary.clone(), g.clone());
    let single = property(&rt, SINGLE_CASES, (hostile(frags.clone(), 200), hostile(frags, 200)), move |(id, text)| {
        let (pool, canary, g) = (p.clone(), c.clone(), s.clone());
        Box::pin(async move {
            let props = Properties::new().with("description", text.as_str()).with(&format!("k {text}"), 1);
            g.upsert_edge(&id, &text, props.clone()).await.map_err(|e| format!("{e:?}"))?;
            check(g.get_edge(&text, &id).await.map_err(|e| e.to_string())? == Some(props), || "edge differs".into())?;
            g.search_labels(&text, 3).await.map_err(|e| e.to_string())?;
            g.get_knowledge_graph(&id, 1, 10).await.map_err(|e| e.to_string())?;
            g.delete_node(&id).await.map_err(|e| e.to_string())?;
            check(!g.has_node(&id).await.map_err(|e| e.to_string())?, || "not deleted".into())?;
            check(canary.rows(&pool).await == Ok(1), || "the canary was touched".into())
        })
    });
    rt.block_on(async {
        g.drop_all().await.expect("cleanup");
        if let Some(age) = age {
            age.drop_graph().await.expect("cleanup");
        }
        canary.remove(&pool).await;
    });
    report(&format!("{engine} graph"), fixed_texts("c").len(), batched, single);
}

#[test]
fn hostile_age_graph_property_10000_generated_nodes_round_trip_and_invalid_batches_write_nothing() {
    graph_property("age", |pool| {
        let age = AgeGraphStorage::new(pool.clone(), unique_workspace("rel_hostile_age_prop")).expect("age");
        (Arc::new(age.clone()), Some(age))
    });
}

#[test]
fn hostile_table_graph_property_10000_generated_nodes_round_trip_and_invalid_batches_write_nothing() {
    graph_property("table", |pool| {
        (Arc::new(TableGraphStorage::new(pool.clone(), unique_workspace("rel_hostile_table_prop"))), None)
    });
}

// ------------------------------------------------- reads with a NUL in an id

/// What reads answer for an id or name with a NUL byte (which no record can
/// have): "absent", or a typed error naming the input. Returns the methods that
/// did neither.
#[derive(Default)]
struct NulReads {
    input: String,
    wrong: Vec<String>,
}

impl NulReads {
    fn new() -> Self {
        Self { input: "nul\0id".to_owned(), wrong: Vec::new() }
    }

    fn check<T: std::fmt::Debug>(
        &mut self,
        method: &str,
        res: lightrag_pg_core::Result<T>,
        absent: impl Fn(&T) -> bool,
    ) {
        match res {
            Ok(v) if absent(&v) => {}
            Err(e) if invalid_names(&e, &self.input) => {}
            Ok(v) => self.wrong.push(format!("{method}: Ok({v:?})")),
            Err(e) => self.wrong.push(format!("{method}: {e}")),
        }
    }

    fn assert_none_wrong(self, store: &str) {
        assert!(
            self.wrong.is_empty(),
            "{store}: reads with a NUL id neither answer 'absent' nor name it:\n{}",
            self.wrong.join("\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_kv_reads_and_deletes_with_a_nul_id_answer_absent() {
    let pool = common::shared_pool(2).await;
    let kv = kv_store(&pool, KvNamespace::FullDocs, unique_workspace("rel_hostile_kv_nul")).await;
    let mut r = NulReads::new();
    let id = r.input.clone();
    let ids = vec![id.clone(), "other".to_owned()];
    r.check("get_by_id", kv.get_by_id(&id).await, Option::is_none);
    r.check("get_by_ids", kv.get_by_ids(&ids).await, |v| v.iter().all(Option::is_none));
    r.check("filter_keys", kv.filter_keys(&ids).await, |v| v.len() == 2);
    r.check("delete", kv.delete(&ids).await, |_| true);
    r.assert_none_wrong("kv");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_vector_reads_and_deletes_with_a_nul_id_answer_absent() {
    let pool = common::shared_pool(2).await;
    let vs = vec_store(&pool, VectorNamespace::Relationships, unique_workspace("rel_hostile_vec_nul")).await;
    let mut r = NulReads::new();
    let id = r.input.clone();
    let ids = vec![id.clone(), "other".to_owned()];
    r.check("get_by_id", vs.get_by_id(&id).await, Option::is_none);
    r.check("get_by_ids", vs.get_by_ids(&ids).await, |v| v.iter().all(Option::is_none));
    r.check("get_vectors_by_ids", vs.get_vectors_by_ids(&ids).await, |v| v.is_empty());
    r.check("delete", vs.delete(&ids).await, |_| true);
    r.check("delete_entity", vs.delete_entity(&id).await, |_| true);
    r.check("delete_entity_relation", vs.delete_entity_relation(&id).await, |_| true);
    vs.drop_all().await.expect("cleanup");
    r.assert_none_wrong("vector");
}

async fn graph_nul_reads(engine: &str, g: &dyn GraphStorage) {
    let mut r = NulReads::new();
    let id = r.input.clone();
    let ids = vec![id.clone(), "other".to_owned()];
    let pairs = vec![(id.clone(), "other".to_owned())];
    r.check("has_node", g.has_node(&id).await, |v| !*v);
    r.check("get_node", g.get_node(&id).await, Option::is_none);
    r.check("node_degree", g.node_degree(&id).await, |v| *v == 0);
    r.check("has_edge", g.has_edge(&id, "other").await, |v| !*v);
    r.check("get_edge", g.get_edge(&id, "other").await, Option::is_none);
    r.check("get_node_edges", g.get_node_edges(&id).await, Option::is_none);
    r.check("get_knowledge_graph", g.get_knowledge_graph(&id, 2, 10).await, |k| k.nodes.is_empty());
    r.check("search_labels", g.search_labels(&id, 5).await, Vec::is_empty);
    r.check("get_nodes_batch", g.get_nodes_batch(&ids).await, |v| v.is_empty());
    r.check("has_nodes_batch", g.has_nodes_batch(&ids).await, |v| v.is_empty());
    r.check("node_degrees_batch", g.node_degrees_batch(&ids).await, |v| v.values().all(|d| *d == 0));
    r.check("get_edges_batch", g.get_edges_batch(&pairs).await, |v| v.is_empty());
    r.check("get_nodes_edges_batch", g.get_nodes_edges_batch(&ids).await, |v| v.values().all(Vec::is_empty));
    r.check("delete_node", g.delete_node(&id).await, |_| true);
    r.check("remove_nodes", g.remove_nodes(&ids).await, |_| true);
    r.check("remove_edges", g.remove_edges(&pairs).await, |_| true);
    r.assert_none_wrong(engine);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_age_graph_reads_and_deletes_with_a_nul_id_answer_absent() {
    let pool = common::shared_pool(2).await;
    let age = AgeGraphStorage::new(pool.clone(), unique_workspace("rel_hostile_age_nul")).expect("age");
    age.initialize().await.expect("initialize");
    common::with_cleanup(graph_nul_reads("age", &age), async {
        age.drop_graph().await.expect("cleanup");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_table_graph_reads_and_deletes_with_a_nul_id_answer_absent() {
    let pool = common::shared_pool(2).await;
    let table = TableGraphStorage::new(pool.clone(), unique_workspace("rel_hostile_table_nul"));
    table.initialize().await.expect("initialize");
    graph_nul_reads("table", &table).await;
}

// --------------------------------------------------------------- doc status

async fn ds_store(pool: &PgPool, ws: Workspace) -> Arc<PgDocStatusStorage> {
    let s = PgDocStatusStorage::new(pool.clone(), ws).expect("doc status");
    s.initialize().await.expect("initialize");
    Arc::new(s)
}

/// A doc-status record whose every text field carries `text`, with `i` making
/// its file path, track id and content hash unique.
fn hostile_doc(i: usize, text: &str) -> lightrag_pg_core::DocProcessingStatus {
    let mut d = data::doc_status(i, text, DocStatus::ALL[i % DocStatus::ALL.len()]);
    d.file_path = format!("{i}/{text}");
    d.track_id = Some(format!("{i}:{}", text.chars().take(200).collect::<String>()));
    d.content_hash = Some(format!("{i}{text}"));
    d.metadata.insert(text.to_owned(), json!({"k": text, "n": i}));
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_doc_status_ids_texts_and_workspaces_are_refused_by_name_or_round_trip_exactly() {
    let pool = common::shared_pool(4).await;
    let canary = Canary::create(&pool).await;
    let texts = fixed_texts(&canary.name);
    let ds = ds_store(&pool, unique_workspace("rel_hostile_ds")).await;

    let recs: Vec<(String, lightrag_pg_core::DocProcessingStatus)> =
        texts.iter().enumerate().map(|(i, t)| (t.clone(), hostile_doc(i, t))).collect();
    ds.upsert(recs.clone()).await.expect("hostile ids and texts are stored");
    let got = ds.get_by_ids(&texts).await.expect("read back");
    for ((id, want), got) in recs.iter().zip(&got) {
        assert_eq!(got.as_ref(), Some(want), "{:?} read back differently", short(id));
    }
    for (id, want) in recs.iter().take(40) {
        assert_eq!(ds.get_by_id(id).await.expect("get").as_ref(), Some(want));
        let by_track = ds.get_docs_by_track_id(want.track_id.as_deref().expect("track")).await.expect("by track");
        assert_eq!(by_track, vec![(id.clone(), want.clone())], "by track id {:?}", short(id));
        let by_path = ds.get_doc_by_file_path(&want.file_path).await.expect("by path");
        assert_eq!(by_path, Some((id.clone(), want.clone())), "by path {:?}", short(id));
        ds.get_doc_by_file_basename(&want.file_path).await.expect("by basename");
        let by_hash =
            ds.get_doc_by_content_hash(want.content_hash.as_deref().expect("hash"), None).await.expect("by hash");
        assert_eq!(by_hash, Some((id.clone(), want.clone())), "by hash {:?}", short(id));
    }
    assert!(ds.filter_keys(&texts).await.expect("filter").is_empty());
    assert_eq!(ds.status_counts().await.expect("counts").total, texts.len() as u64);
    let mut seen = 0;
    let mut cursor = DocStatusCursor::Start;
    while cursor != DocStatusCursor::End {
        let page = ds.get_docs_by_statuses_page(&DocStatus::ALL, 50, &cursor).await.expect("sweep");
        seen += page.docs.len();
        cursor = page.next;
    }
    assert_eq!(seen, texts.len());
    for t in fragments(&canary.name) {
        let cursor = DocStatusCursor::After(t.clone());
        assert_refused("a hostile cursor", ds.get_docs_by_statuses_page(&DocStatus::ALL, 5, &cursor).await, &t);
    }

    let valid = ("valid-1".to_owned(), hostile_doc(1, "valid"));
    let too_long_summary = {
        let mut d = hostile_doc(2, "x");
        d.content_summary = "s".repeat(256);
        d
    };
    let nul_text = {
        let mut d = hostile_doc(3, "x");
        d.error_msg = Some("a\0b".into());
        d
    };
    let nul_meta = {
        let mut d = hostile_doc(4, "x");
        d.metadata.insert("k".into(), json!(["a\0b"]));
        d
    };
    for (id, d) in [
        (long_id(), hostile_doc(5, "long")),
        ("nul\0id".to_owned(), hostile_doc(6, "nul")),
        ("long-summary".to_owned(), too_long_summary),
        ("nul-text".to_owned(), nul_text),
        ("nul-meta".to_owned(), nul_meta),
    ] {
        let res = ds.upsert(vec![valid.clone(), (id.clone(), d)]).await;
        assert_refused("doc status upsert", res, &id);
        assert!(ds.get_by_id("valid-1").await.expect("read").is_none(), "a refused batch wrote its valid record");
    }

    for name in hostile_workspaces(&canary.name) {
        let s = ds_store(&pool, Workspace::new(name.clone()).expect("workspace")).await;
        s.upsert(vec![(name.clone(), hostile_doc(1, &name))]).await.expect("write in a hostile workspace");
        assert_eq!(s.get_by_id(&name).await.expect("read"), Some(hostile_doc(1, &name)));
        s.drop_all().await.expect("cleanup");
    }
    ds.drop_all().await.expect("cleanup");
    canary.remove(&pool).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_doc_status_json_nested_1000_deep_is_refused_by_name_or_read_back_exactly() {
    let pool = common::shared_pool(2).await;
    let ds = ds_store(&pool, unique_workspace("rel_hostile_ds_deep")).await;
    let mut d = hostile_doc(1, "deep");
    d.metadata.insert("deep".into(), data::nested(1_000, json!("leaf")));
    let written = ds.upsert(vec![("deep-1000".into(), d.clone())]).await;
    let back = ds.get_by_id("deep-1000").await;
    let listed = ds.get_docs_by_statuses(&DocStatus::ALL).await;
    ds.drop_all().await.expect("cleanup");
    match written {
        Err(e) => assert!(invalid_names(&e, "deep-1000"), "refused without naming the record: {e:?}"),
        Ok(()) => {
            assert_eq!(back.expect("a stored record must be readable"), Some(d));
            listed.expect("a listing that includes it must work");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_doc_status_reads_and_deletes_with_a_nul_id_answer_absent() {
    let pool = common::shared_pool(2).await;
    let ds = ds_store(&pool, unique_workspace("rel_hostile_ds_nul")).await;
    let mut r = NulReads::new();
    let id = r.input.clone();
    let ids = vec![id.clone(), "other".to_owned()];
    r.check("get_by_id", ds.get_by_id(&id).await, Option::is_none);
    r.check("get_by_ids", ds.get_by_ids(&ids).await, |v| v.iter().all(Option::is_none));
    r.check("filter_keys", ds.filter_keys(&ids).await, |v| v.len() == 2);
    r.check("delete", ds.delete(&ids).await, |_| true);
    r.check("get_docs_by_track_id", ds.get_docs_by_track_id(&id).await, Vec::is_empty);
    r.check("get_doc_by_file_path", ds.get_doc_by_file_path(&id).await, Option::is_none);
    r.check("get_doc_by_file_basename", ds.get_doc_by_file_basename(&id).await, Option::is_none);
    r.check("get_doc_by_content_hash", ds.get_doc_by_content_hash(&id, Some(&id)).await, Option::is_none);
    r.assert_none_wrong("doc_status");
}

#[test]
fn hostile_doc_status_property_10000_generated_records_round_trip_and_invalid_batches_write_nothing() {
    let rt = runtime();
    let (pool, canary, ds) = rt.block_on(async {
        let pool = common::shared_pool(4).await;
        let canary = Canary::create(&pool).await;
        let ds = ds_store(&pool, unique_workspace("rel_hostile_ds_prop")).await;
        (pool, canary, ds)
    });
    let frags = fragments(&canary.name);
    let (p, c, s) = (pool.clone(), canary.clone(), ds.clone());
    let batched = property(&rt, BATCHES, batch(frags.clone(), 200), move |(pairs, at)| {
        let (pool, canary, ds) = (p.clone(), c.clone(), s.clone());
        Box::pin(async move {
            let recs: Vec<(String, lightrag_pg_core::DocProcessingStatus)> =
                pairs.iter().enumerate().map(|(i, (id, t))| (id.clone(), hostile_doc(i, t))).collect();
            let ids: Vec<String> = recs.iter().map(|(id, _)| id.clone()).collect();
            let bad = bad_id(&ids[0], &at);
            let mut with_bad = recs.clone();
            with_bad.insert(at.index(with_bad.len() + 1), (bad.clone(), hostile_doc(0, "bad")));
            match ds.upsert(with_bad).await {
                Err(e) if invalid_names(&e, &bad) => {}
                other => return Err(format!("a batch with the invalid id {:?} gave {other:?}", short(&bad))),
            }
            let missing = ds.filter_keys(&ids).await.map_err(|e| e.to_string())?;
            check(missing.len() == ids.len(), || {
                format!("a refused batch wrote {} records", ids.len() - missing.len())
            })?;
            ds.upsert(recs.clone()).await.map_err(|e| format!("valid hostile batch refused: {e:?}"))?;
            let got = ds.get_by_ids(&ids).await.map_err(|e| e.to_string())?;
            for ((id, want), got) in recs.iter().zip(&got) {
                check(got.as_ref() == Some(want), || format!("{:?} read back as {got:?}", short(id)))?;
            }
            check(canary.rows(&pool).await == Ok(1), || "the canary was touched".into())?;
            ds.delete(&ids).await.map_err(|e| e.to_string())
        })
    });
    let (p, c, s) = (pool.clone(), canary.clone(), ds.clone());
    let single = property(&rt, SINGLE_CASES, (hostile(frags.clone(), 200), hostile(frags, 200)), move |(id, text)| {
        let (pool, canary, ds) = (p.clone(), c.clone(), s.clone());
        Box::pin(async move {
            let doc = hostile_doc(3, &text);
            ds.upsert(vec![(id.clone(), doc.clone())]).await.map_err(|e| format!("{e:?}"))?;
            check(ds.get_by_id(&id).await.map_err(|e| e.to_string())? == Some(doc.clone()), || "differs".into())?;
            let tracked = ds
                .get_docs_by_track_id(doc.track_id.as_deref().unwrap_or_default())
                .await
                .map_err(|e| e.to_string())?;
            check(tracked.iter().any(|(i, _)| i == &id), || "by track id".into())?;
            let by_path = ds.get_doc_by_file_path(&doc.file_path).await.map_err(|e| e.to_string())?;
            check(by_path.is_some_and(|(i, _)| i == id), || "by file path".into())?;
            ds.delete(std::slice::from_ref(&id)).await.map_err(|e| e.to_string())?;
            check(canary.rows(&pool).await == Ok(1), || "the canary was touched".into())
        })
    });
    rt.block_on(async {
        ds.drop_all().await.expect("cleanup");
        canary.remove(&pool).await;
    });
    report("doc_status", fixed_texts("c").len(), batched, single);
}
