//! Python LightRAG 1.5.7 interop at the SQL level (spec §7.3–7.5): rows written
//! with Python's exact statements read back equal through this crate, and rows
//! this crate writes look exactly like Python's to Python's own queries.
//!
//! asyncpg sends a vector it does not know as text (`'[1,2,3]'`); [`AsText`]
//! does the same here.

mod common;

use std::error::Error as StdError;

use bytes::BytesMut;
use common::*;
use lightrag_pg_core::{DistanceMetric, Storage as _, VectorNamespace, VectorQuery, VectorRecord, VectorStorage};
use lightrag_pg_pool::PgPool;
use postgres_types::{Format, IsNull, ToSql, Type, to_sql_checked};
use serde_json::json;

/// A parameter in PostgreSQL's text format, as asyncpg binds unknown types.
#[derive(Debug)]
struct AsText(String);

impl ToSql for AsText {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.extend_from_slice(self.0.as_bytes());
        Ok(IsNull::No)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    fn encode_format(&self, _: &Type) -> Format {
        Format::Text
    }
    to_sql_checked!();
}

fn text_vector(v: &[f32]) -> AsText {
    AsText(format!("[{}]", v.iter().map(f32::to_string).collect::<Vec<_>>().join(",")))
}

fn utc_now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// Python's entity upsert (spec §7.3), verbatim apart from the table name.
fn python_entity_upsert(table: &str) -> String {
    format!(
        "INSERT INTO {table} (workspace, id, entity_name, content, content_vector, chunk_ids, file_path, create_time, update_time) \
         VALUES ($1, $2, $3, $4, $5, $6::varchar[], $7, $8, $9) \
         ON CONFLICT (workspace, id) DO UPDATE SET entity_name = EXCLUDED.entity_name, content = EXCLUDED.content, \
         content_vector = EXCLUDED.content_vector, chunk_ids = EXCLUDED.chunk_ids, file_path = EXCLUDED.file_path, \
         update_time = EXCLUDED.update_time"
    )
}

async fn python_conn(pool: &PgPool) -> lightrag_pg_pool::PgConn {
    pool.get().await.unwrap()
}

#[tokio::test]
async fn entities_written_by_pythons_sql_read_back_equal() {
    let pool = pool().await;
    let s = open(&pool, config(VectorNamespace::Entities, 3, "t_interop_py", HNSW, DistanceMetric::Cosine)).await;
    let table = s.table_name().to_lowercase();
    let ws = s.workspace().as_str().to_owned();
    let conn = python_conn(&pool).await;
    let created = utc_now();
    let chunk_ids = vec!["chunk-1".to_owned(), "chunk-2".to_owned()];
    conn.execute(
        &python_entity_upsert(&table),
        &[
            &ws,
            &"ent-py",
            &"Ada Lovelace",
            &"Ada Lovelace\nMathematician.",
            &text_vector(&[0.25, -1.5, 3.0]),
            &chunk_ids,
            &"a.txt<SEP>b.txt",
            &created,
            &created,
        ],
    )
    .await
    .unwrap();
    let got = s.get_by_id("ent-py").await.unwrap().expect("row visible");
    assert_eq!(got["entity_name"], "Ada Lovelace");
    assert_eq!(got["content"], "Ada Lovelace\nMathematician.");
    assert_eq!(got["source_id"], "chunk-1<SEP>chunk-2", "chunk_ids join back into LightRAG's source_id");
    assert_eq!(got["file_path"], "a.txt<SEP>b.txt");
    assert_eq!(got["id"], "ent-py");
    let epoch = got["created_at"].as_i64().expect("created_at is epoch seconds");
    assert!((epoch - created.and_utc().timestamp()).abs() <= 1, "TIMESTAMP(0) rounds to the second");
    let v = s.get_vectors_by_ids(&["ent-py".to_owned()]).await.unwrap();
    assert_eq!(v["ent-py"], vec![0.25, -1.5, 3.0]);
    let hits = s.query(&VectorQuery::by_vector(vec![0.25, -1.5, 3.0], 5)).await.unwrap();
    assert_eq!(hits[0].id, "ent-py");
    assert_eq!(hits[0].metadata["entity_name"], "Ada Lovelace");
    s.delete_entity("Ada Lovelace").await.unwrap();
    assert!(s.get_by_id("ent-py").await.unwrap().is_none());
    cleanup(&[&s]).await;
}

#[tokio::test]
async fn chunks_and_relations_written_by_pythons_sql_read_back_equal() {
    let pool = pool().await;
    let chunks = open(&pool, config(VectorNamespace::Chunks, 3, "t_interop_py", HNSW, DistanceMetric::Cosine)).await;
    let ws = chunks.workspace().clone();
    let rels = open_in(
        &pool,
        ws.clone(),
        config(VectorNamespace::Relationships, 3, "t_interop_py", HNSW, DistanceMetric::Cosine),
    )
    .await;
    let conn = python_conn(&pool).await;
    let now = utc_now();
    conn.execute(
        &format!(
            "INSERT INTO {} (workspace, id, tokens, chunk_order_index, full_doc_id, content, content_vector, file_path, create_time, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (workspace,id) DO UPDATE SET tokens=EXCLUDED.tokens, \
             chunk_order_index=EXCLUDED.chunk_order_index, full_doc_id=EXCLUDED.full_doc_id, content = EXCLUDED.content, \
             content_vector=EXCLUDED.content_vector, file_path=EXCLUDED.file_path, update_time = EXCLUDED.update_time",
            chunks.table_name().to_lowercase()
        ),
        &[&ws.as_str(), &"chunk-py", &120_i32, &3_i32, &"doc-py", &"Chunk text.", &text_vector(&[1.0, 0.0, 0.5]), &"doc.pdf", &now, &now],
    )
    .await
    .unwrap();
    conn.execute(
        &format!(
            "INSERT INTO {} (workspace, id, source_id, target_id, content, content_vector, chunk_ids, file_path, create_time, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7::varchar[], $8, $9, $10) ON CONFLICT (workspace,id) DO UPDATE SET \
             source_id=EXCLUDED.source_id, target_id=EXCLUDED.target_id, content=EXCLUDED.content, \
             content_vector=EXCLUDED.content_vector, chunk_ids=EXCLUDED.chunk_ids, file_path=EXCLUDED.file_path, update_time = EXCLUDED.update_time",
            rels.table_name().to_lowercase()
        ),
        &[&ws.as_str(), &"rel-py", &"Alice", &"Bob", &"Alice\tBob\nknows", &text_vector(&[0.0, 1.0, 0.0]), &vec!["chunk-py".to_owned()], &"doc.pdf", &now, &now],
    )
    .await
    .unwrap();
    let c = chunks.get_by_id("chunk-py").await.unwrap().unwrap();
    for (k, v) in [
        ("tokens", json!(120)),
        ("chunk_order_index", json!(3)),
        ("full_doc_id", json!("doc-py")),
        ("content", json!("Chunk text.")),
        ("file_path", json!("doc.pdf")),
    ] {
        assert_eq!(c[k], v, "chunk field {k}");
    }
    let r = rels.get_by_id("rel-py").await.unwrap().unwrap();
    for (k, v) in [
        ("src_id", "Alice"),
        ("tgt_id", "Bob"),
        ("source_id", "chunk-py"),
        ("content", "Alice\tBob\nknows"),
        ("file_path", "doc.pdf"),
    ] {
        assert_eq!(r[k], v, "relation field {k}");
    }
    rels.delete_entity_relation("Bob").await.unwrap();
    assert!(rels.get_by_id("rel-py").await.unwrap().is_none());
    cleanup(&[&chunks, &rels]).await;
}

#[tokio::test]
async fn rows_we_write_are_what_python_writes_and_pythons_queries_find_them() {
    let pool = pool().await;
    let s = open(&pool, config(VectorNamespace::Entities, 3, "t_interop_rs", HNSW, DistanceMetric::Cosine)).await;
    let table = s.table_name().to_lowercase();
    let ws = s.workspace().as_str().to_owned();
    let before = utc_now().and_utc().timestamp();
    let rec = VectorRecord {
        id: "ent-rs".into(),
        vector: vec![0.5, 0.25, -2.0],
        payload: obj(
            json!({"entity_name": "Grace", "content": "Grace\nAdmiral.", "source_id": "chunk-a<SEP>chunk-b", "file_path": "g.txt"}),
        ),
    };
    s.upsert(vec![rec.clone()]).await.unwrap();
    let after = utc_now().and_utc().timestamp();
    let conn = python_conn(&pool).await;
    let row = conn
        .query_one(
            &format!(
                "SELECT entity_name, content, content_vector::text, chunk_ids, file_path, \
                 EXTRACT(EPOCH FROM create_time)::BIGINT, EXTRACT(EPOCH FROM update_time)::BIGINT, \
                 pg_typeof(chunk_ids)::text FROM {table} WHERE workspace = $1 AND id = $2"
            ),
            &[&ws, &"ent-rs"],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "Grace");
    assert_eq!(row.get::<_, String>(1), "Grace\nAdmiral.");
    assert_eq!(row.get::<_, String>(2), "[0.5,0.25,-2]");
    assert_eq!(row.get::<_, Vec<String>>(3), ["chunk-a", "chunk-b"]);
    assert_eq!(row.get::<_, String>(4), "g.txt");
    let (created, updated): (i64, i64) = (row.get(5), row.get(6));
    assert!(
        (before - 1..=after + 1).contains(&created),
        "create_time is UTC now: {created} not in [{before}, {after}]"
    );
    assert_eq!(created, updated, "a new row has update_time = create_time, as Python writes it");
    assert_eq!(row.get::<_, String>(7), "character varying[]");

    // Python's query (spec §7.4), verbatim, with the vector bound as text.
    let hits = conn
        .query(
            &format!(
                "SELECT entity_name, EXTRACT(EPOCH FROM create_time)::BIGINT AS created_at FROM {table} \
                 WHERE workspace = $1 AND content_vector <=> $4::vector < $2 ORDER BY content_vector <=> $4::vector LIMIT $3"
            ),
            &[&ws, &(1.0 - 0.2_f64), &5_i64, &text_vector(&[0.5, 0.25, -2.0])],
        )
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].get::<_, String>(0), "Grace");

    // Python's update of our row keeps create_time; we read its values.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let later = utc_now();
    conn.execute(
        &python_entity_upsert(&table),
        &[
            &ws,
            &"ent-rs",
            &"Grace",
            &"Grace\nRear admiral.",
            &text_vector(&[0.0, 1.0, 0.0]),
            &vec!["chunk-c".to_owned()],
            &"g2.txt",
            &later,
            &later,
        ],
    )
    .await
    .unwrap();
    let got = s.get_by_id("ent-rs").await.unwrap().unwrap();
    assert_eq!(got["content"], "Grace\nRear admiral.");
    assert_eq!(got["source_id"], "chunk-c");
    assert_eq!(got["created_at"], created);

    // Our update of the row keeps create_time and moves update_time, like Python.
    s.upsert(vec![rec]).await.unwrap();
    let row = conn
        .query_one(
            &format!(
                "SELECT EXTRACT(EPOCH FROM create_time)::BIGINT, EXTRACT(EPOCH FROM update_time)::BIGINT \
                 FROM {table} WHERE workspace = $1 AND id = $2"
            ),
            &[&ws, &"ent-rs"],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), created);
    assert!(row.get::<_, i64>(1) > created);
    cleanup(&[&s]).await;
}

#[tokio::test]
async fn pythons_drop_and_delete_statements_see_our_rows() {
    let pool = pool().await;
    let s = open(&pool, config(VectorNamespace::Chunks, 3, "t_interop_rs", HNSW, DistanceMetric::Cosine)).await;
    let table = s.table_name().to_lowercase();
    let ws = s.workspace().as_str().to_owned();
    s.upsert((0..100).map(|i| chunk(&format!("chunk-{i}"), vec![1.0, i as f32, 0.0])).collect()).await.unwrap();
    let conn = python_conn(&pool).await;
    let n = conn
        .execute(
            &format!("DELETE FROM {table} WHERE workspace=$1 AND id = ANY($2)"),
            &[&ws, &vec!["chunk-1".to_owned(), "chunk-2".to_owned()]],
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    let n = conn.execute(&format!("DELETE FROM {table} WHERE workspace=$1"), &[&ws]).await.unwrap();
    assert_eq!(n, 98, "the COPY path's rows carry the workspace Python filters on");
}

/// LightRAG's legacy-table migration (spec §7.2): rows of this workspace in the
/// un-suffixed table are copied into the model-suffixed one at `initialize`, and
/// `drop_all` clears both so a later start does not bring them back.
#[tokio::test]
async fn rows_in_lightrags_legacy_table_move_to_the_suffixed_table_at_initialize() {
    let pool = pool().await;
    let conn = python_conn(&pool).await;
    let legacy = "lightrag_vdb_relation";
    let existed: bool = conn.query_one("SELECT to_regclass($1) IS NOT NULL", &[&legacy]).await.unwrap().get(0);
    let dim: usize = if existed {
        let typmod: i32 = conn
            .query_one(
                "SELECT atttypmod FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'content_vector'",
                &[&legacy],
            )
            .await
            .unwrap()
            .get(0);
        usize::try_from(typmod).expect("legacy table has a dimension")
    } else {
        for stmt in lightrag_pg_pool::ddl::vector_table(
            VectorNamespace::Relationships,
            "LIGHTRAG_VDB_RELATION",
            lightrag_pg_vector::VectorColumn::Vector,
            3,
        )
        .unwrap()
        {
            conn.batch_execute(&stmt).await.unwrap();
        }
        3
    };
    let ws = lightrag_pg_core::testkit::unique_workspace("vt_legacy");
    let now = utc_now();
    let v: Vec<f32> = (0..dim).map(|i| i as f32 + 1.0).collect();
    conn.execute(
        "INSERT INTO lightrag_vdb_relation (workspace, id, source_id, target_id, content, content_vector, chunk_ids, file_path, create_time, update_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7::varchar[], $8, $9, $10)",
        &[&ws.as_str(), &"rel-old", &"A", &"B", &"A\tB", &text_vector(&v), &vec!["chunk-old".to_owned()], &"old.txt", &now, &now],
    )
    .await
    .unwrap();
    let s = open_in(
        &pool,
        ws.clone(),
        config(
            VectorNamespace::Relationships,
            dim,
            &format!("t_legacy_{:08x}", rand::random::<u32>()),
            HNSW,
            DistanceMetric::Cosine,
        ),
    )
    .await;
    let got = s.get_by_id("rel-old").await.unwrap().expect("migrated");
    assert_eq!(
        (got["src_id"].as_str(), got["tgt_id"].as_str(), got["source_id"].as_str()),
        (Some("A"), Some("B"), Some("chunk-old"))
    );
    assert_eq!(s.get_vectors_by_ids(&["rel-old".to_owned()]).await.unwrap()["rel-old"], v);
    s.drop_all().await.unwrap();
    let left: i64 = conn
        .query_one("SELECT count(*) FROM lightrag_vdb_relation WHERE workspace = $1", &[&ws.as_str()])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "drop_all clears the legacy rows too");
    conn.batch_execute(&format!("DROP TABLE {}", s.table_name().to_lowercase())).await.unwrap();
    if !existed {
        conn.batch_execute("DROP TABLE IF EXISTS lightrag_vdb_relation").await.unwrap();
    }
}

/// Python's chunk upsert (spec §7.3), verbatim apart from the table name.
fn python_chunk_upsert(table: &str) -> String {
    format!(
        "INSERT INTO {table} (workspace, id, tokens, chunk_order_index, full_doc_id, content, content_vector, file_path, create_time, update_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (workspace,id) DO UPDATE SET tokens=EXCLUDED.tokens, \
         chunk_order_index=EXCLUDED.chunk_order_index, full_doc_id=EXCLUDED.full_doc_id, content = EXCLUDED.content, \
         content_vector=EXCLUDED.content_vector, file_path=EXCLUDED.file_path, update_time = EXCLUDED.update_time"
    )
}

/// Which partition holds a row (`tableoid`).
async fn holder(conn: &lightrag_pg_pool::PgConn, table: &str, ws: &str, id: &str) -> String {
    conn.query_one(
        &format!("SELECT tableoid::regclass::text FROM {table} WHERE workspace = $1 AND id = $2"),
        &[&ws, &id],
    )
    .await
    .unwrap()
    .get(0)
}

/// Python LightRAG 1.5.7's own statements (spec §7.1–7.5) against a table in the
/// partitioned layout: its start-up checks find the table and its index and
/// change nothing; its upsert of a workspace that has no partition lands in the
/// DEFAULT partition (and moves into the workspace's own partition when this
/// crate first writes there); its query, update, delete, delete-entity and drop
/// statements work unchanged on rows in either place.
#[tokio::test]
async fn pythons_sql_works_unchanged_on_a_partitioned_table() {
    let pool = pool().await;
    let model = format!("t_interop_part_{:08x}", rand::random::<u32>());
    let ours =
        open(&pool, config(VectorNamespace::Entities, 3, &model, HNSW, DistanceMetric::Cosine).with_partitioned(true))
            .await;
    let table = ours.table_name().to_lowercase();
    let conn = python_conn(&pool).await;

    // Start-up (spec §7.1-7.2): table exists, vector index found by name on the
    // table, so Python creates and alters nothing.
    let exists: bool = conn.query_one("SELECT to_regclass($1) IS NOT NULL AS exists", &[&table]).await.unwrap().get(0);
    assert!(exists);
    let index = ours.index_plan().index_name.clone().unwrap();
    let found = conn
        .query_opt(&format!("SELECT 1 FROM pg_indexes WHERE indexname = '{index}' AND tablename = '{table}'"), &[])
        .await
        .unwrap();
    assert!(found.is_some(), "Python's vector-index check finds {index}");
    for stmt in lightrag_pg_pool::ddl::vector_table(
        VectorNamespace::Entities,
        &table,
        lightrag_pg_vector::VectorColumn::Vector,
        3,
    )
    .unwrap()
    {
        conn.batch_execute(&stmt).await.unwrap(); // IF NOT EXISTS: no-ops
    }

    // A workspace only Python writes: its rows go to the DEFAULT partition.
    let py_ws = lightrag_pg_core::testkit::unique_workspace("vt_py_part");
    let now = utc_now();
    conn.execute(
        &python_entity_upsert(&table),
        &[
            &py_ws.as_str(),
            &"ent-py",
            &"Ada",
            &"Ada\nMathematician.",
            &text_vector(&[1.0, 0.0, 0.0]),
            &vec!["chunk-1".to_owned()],
            &"a.txt",
            &now,
            &now,
        ],
    )
    .await
    .unwrap();
    assert_eq!(holder(&conn, &table, py_ws.as_str(), "ent-py").await, format!("{table}_default"));
    let count: i64 = conn
        .query_one(&format!("SELECT COUNT(*) as count FROM {table} WHERE workspace = $1"), &[&py_ws.as_str()])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
    let py_query = format!(
        "SELECT entity_name, EXTRACT(EPOCH FROM create_time)::BIGINT AS created_at FROM {table} \
         WHERE workspace = $1 AND content_vector <=> $4::vector < $2 ORDER BY content_vector <=> $4::vector LIMIT $3"
    );
    let hits =
        conn.query(&py_query, &[&py_ws.as_str(), &0.8_f64, &5_i64, &text_vector(&[1.0, 0.0, 0.0])]).await.unwrap();
    assert_eq!(hits.len(), 1);

    // We read it in the DEFAULT partition, then our first write there moves the
    // workspace into its own partition; Python keeps finding its row.
    let ours_py = open_in(
        &pool,
        py_ws.clone(),
        config(VectorNamespace::Entities, 3, &model, HNSW, DistanceMetric::Cosine).with_partitioned(true),
    )
    .await;
    assert_eq!(ours_py.get_by_id("ent-py").await.unwrap().unwrap()["entity_name"], "Ada");
    ours_py
        .upsert(vec![VectorRecord {
            id: "ent-rs".into(),
            vector: vec![0.0, 1.0, 0.0],
            payload: obj(json!({"entity_name": "Grace", "content": "Grace", "source_id": "chunk-2"})),
        }])
        .await
        .unwrap();
    let partition = ours_py.partition_name().await.unwrap().expect("own partition");
    assert_eq!(holder(&conn, &table, py_ws.as_str(), "ent-py").await, partition);
    assert_eq!(holder(&conn, &table, py_ws.as_str(), "ent-rs").await, partition);
    let hits =
        conn.query(&py_query, &[&py_ws.as_str(), &0.8_f64, &5_i64, &text_vector(&[0.0, 1.0, 0.0])]).await.unwrap();
    assert_eq!(hits[0].get::<_, String>(0), "Grace", "Python's query finds our row");

    // Python's update of our row, in our partition.
    let later = utc_now();
    conn.execute(
        &python_entity_upsert(&table),
        &[
            &py_ws.as_str(),
            &"ent-rs",
            &"Grace",
            &"Grace\nAdmiral.",
            &text_vector(&[0.0, 1.0, 0.0]),
            &vec!["chunk-3".to_owned()],
            &"g.txt",
            &later,
            &later,
        ],
    )
    .await
    .unwrap();
    let got = ours_py.get_by_id("ent-rs").await.unwrap().unwrap();
    assert_eq!((got["content"].as_str(), got["source_id"].as_str()), (Some("Grace\nAdmiral."), Some("chunk-3")));

    // Python's delete, delete_entity and drop.
    let n = conn
        .execute(
            &format!("DELETE FROM {table} WHERE workspace=$1 AND id = ANY($2)"),
            &[&py_ws.as_str(), &vec!["ent-py".to_owned()]],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n = conn
        .execute(&format!("DELETE FROM {table} WHERE workspace=$1 AND entity_name=$2"), &[&py_ws.as_str(), &"Grace"])
        .await
        .unwrap();
    assert_eq!(n, 1);
    ours_py
        .upsert(vec![VectorRecord {
            id: "ent-x".into(),
            vector: vec![1.0, 1.0, 0.0],
            payload: obj(json!({"entity_name": "X"})),
        }])
        .await
        .unwrap();
    let n = conn.execute(&format!("DELETE FROM {table} WHERE workspace=$1"), &[&py_ws.as_str()]).await.unwrap();
    assert_eq!(n, 1, "Python's drop");
    assert!(ours_py.get_by_id("ent-x").await.unwrap().is_none());

    // Chunks and relations: Python's upserts into partitioned tables too.
    let chunks_t = open_in(
        &pool,
        py_ws.clone(),
        config(VectorNamespace::Chunks, 3, &model, HNSW, DistanceMetric::Cosine).with_partitioned(true),
    )
    .await;
    let ct = chunks_t.table_name().to_lowercase();
    conn.execute(
        &python_chunk_upsert(&ct),
        &[
            &py_ws.as_str(),
            &"chunk-py",
            &12_i32,
            &0_i32,
            &"doc-1",
            &"Text.",
            &text_vector(&[0.5, 0.5, 0.0]),
            &"d.txt",
            &now,
            &now,
        ],
    )
    .await
    .unwrap();
    assert_eq!(chunks_t.get_by_id("chunk-py").await.unwrap().unwrap()["tokens"], 12);
    let rels = open_in(
        &pool,
        py_ws.clone(),
        config(VectorNamespace::Relationships, 3, &model, HNSW, DistanceMetric::Cosine).with_partitioned(true),
    )
    .await;
    let rt = rels.table_name().to_lowercase();
    conn.execute(
        &format!(
            "INSERT INTO {rt} (workspace, id, source_id, target_id, content, content_vector, chunk_ids, file_path, create_time, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7::varchar[], $8, $9, $10) ON CONFLICT (workspace,id) DO UPDATE SET \
             source_id=EXCLUDED.source_id, target_id=EXCLUDED.target_id, content=EXCLUDED.content, \
             content_vector=EXCLUDED.content_vector, chunk_ids=EXCLUDED.chunk_ids, file_path=EXCLUDED.file_path, update_time = EXCLUDED.update_time"
        ),
        &[&py_ws.as_str(), &"rel-py", &"A", &"B", &"A B", &text_vector(&[0.0, 0.0, 1.0]), &vec!["chunk-py".to_owned()], &"d.txt", &now, &now],
    )
    .await
    .unwrap();
    rels.delete_entity_relation("B").await.unwrap();
    assert!(rels.get_by_id("rel-py").await.unwrap().is_none());
    for t in [&table, &ct, &rt] {
        conn.batch_execute(&format!("DROP TABLE {t} CASCADE")).await.unwrap();
    }
}
