//! Interoperability with Python LightRAG 1.5.7 at the SQL/Cypher level: data
//! written with the exact statements Python runs (spec §9.4, §10.3) reads back
//! through this crate, and data this crate writes reads back through Python's
//! queries.
//!
//! The Python statements below inline property maps into Cypher text exactly
//! as LightRAG does; they are fixed test literals, not the crate's code path.

use lightrag_pg_core::Properties;
use lightrag_pg_graph::{Agtype, GraphEngine};
use lightrag_pg_pool::PgConn;
use serde_json::{Value, json};

use crate::support::{Opened, open};

/// LightRAG's `_format_properties`: `{`k`: <json>, ...}`.
fn python_props(p: &Properties) -> String {
    let parts: Vec<String> = p
        .iter()
        .filter(|(k, _)| k.as_str() != "entity_id")
        .map(|(k, v)| format!("`{}`: {}", k.replace('`', "``"), v))
        .collect();
    format!("{{{}}}", parts.join(", "))
}

/// Runs Cypher the way LightRAG's `_query` does: dollar-quoted graph and text,
/// one agtype parameter map.
async fn python_cypher(
    conn: &PgConn,
    graph: &str,
    cypher: &str,
    columns: &str,
    params: Value,
) -> Vec<tokio_postgres::Row> {
    let sql = format!(
        "SELECT * FROM ag_catalog.cypher($AGE1${graph}$AGE1$::name, $AGE1${cypher}$AGE1$::cstring, $1::ag_catalog.agtype) AS ({columns})"
    );
    conn.query(&sql, &[&Agtype(params.to_string())]).await.unwrap_or_else(|e| panic!("{cypher}: {e}"))
}

async fn age_conn(o: &Opened) -> PgConn {
    let conn = o.pool.get().await.unwrap();
    conn.ensure_age().await.unwrap();
    conn
}

/// LightRAG's `upsert_node`.
async fn python_upsert_node(conn: &PgConn, graph: &str, id: &str, p: &Properties) {
    let cypher = format!("MERGE (n:base {{entity_id: $entity_id}}) SET n += {} RETURN n", python_props(p));
    python_cypher(conn, graph, &cypher, "n ag_catalog.agtype", json!({ "entity_id": id })).await;
}

/// LightRAG's `upsert_edge`: the two advisory locks, then delete-and-create.
async fn python_upsert_edge(conn: &mut PgConn, graph: &str, a: &str, b: &str, p: &Properties) {
    let tx = conn.transaction().await.unwrap();
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1::text || E'\\x01' || LEAST($2::text, $3::text) || E'\\x01' || GREATEST($2::text, $3::text), 0))",
        &[&graph, &a, &b],
    )
    .await
    .unwrap();
    tx.execute("SELECT pg_advisory_xact_lock_shared(hashtextextended($1::text, 0))", &[&graph]).await.unwrap();
    let cypher = format!(
        "MATCH (source:base {{entity_id: $src_id}}) WITH source MATCH (target:base {{entity_id: $tgt_id}}) \
         WITH source, target OPTIONAL MATCH (source)-[old:DIRECTED]-(target) DELETE old \
         WITH source, target CREATE (source)-[r:DIRECTED {}]->(target) RETURN r",
        python_props(p)
    );
    let sql = format!(
        "SELECT r FROM ag_catalog.cypher($AGE1${graph}$AGE1$::name, $AGE1${cypher}$AGE1$::cstring, $1::ag_catalog.agtype) AS (r ag_catalog.agtype)"
    );
    let rows = tx.query(&sql, &[&Agtype(json!({"src_id": a, "tgt_id": b}).to_string())]).await.unwrap();
    assert_eq!(rows.len(), 1, "the edge write returned its row");
    tx.commit().await.unwrap();
}

fn person(desc: &str) -> Properties {
    Properties::new()
        .with("entity_type", "person")
        .with("description", desc)
        .with("source_id", "chunk-1<SEP>chunk-2")
        .with("file_path", "docs/a.md")
        .with("created_at", 1_700_000_000)
}

fn relation(w: f64) -> Properties {
    Properties::new()
        .with("weight", w)
        .with("description", "works with")
        .with("keywords", "team,project")
        .with("source_id", "chunk-1")
        .with("file_path", "docs/a.md")
        .with("created_at", 1_700_000_001)
}

fn with_id(mut p: Properties, id: &str) -> Properties {
    p.insert("entity_id".into(), json!(id));
    p
}

#[tokio::test]
async fn an_age_graph_written_by_python_cypher_reads_back_through_the_api() {
    let o = open(GraphEngine::Age, "gpyw").await;
    let graph = o.age().graph_name().to_owned();
    let mut conn = age_conn(&o).await;
    let names = ["Alice", "Bob \"the builder\"", "Ünïcødé 实体", "std::vector"];
    for (i, n) in names.iter().enumerate() {
        python_upsert_node(&conn, &graph, n, &person(&format!("person {i}"))).await;
    }
    // A second MERGE merges (keeps entity_type, overwrites description).
    python_upsert_node(&conn, &graph, "Alice", &Properties::new().with("description", "updated")).await;
    python_upsert_edge(&mut conn, &graph, names[0], names[1], &relation(1.0)).await;
    python_upsert_edge(&mut conn, &graph, names[2], names[0], &relation(2.5)).await;
    python_upsert_edge(&mut conn, &graph, names[3], names[0], &relation(0.5)).await;
    // Rewritten in the other direction: still one edge, new properties.
    python_upsert_edge(&mut conn, &graph, names[1], names[0], &relation(3.0)).await;
    drop(conn);

    let g = o.storage();
    let mut alice = with_id(person("person 0"), "Alice");
    alice.insert("description".into(), json!("updated"));
    assert_eq!(g.get_node("Alice").await.unwrap(), Some(alice));
    assert_eq!(g.get_node(names[3]).await.unwrap(), Some(with_id(person("person 3"), names[3])));
    assert_eq!(g.get_edge(names[0], names[1]).await.unwrap(), Some(relation(3.0)));
    assert_eq!(g.get_edge(names[0], names[2]).await.unwrap(), Some(relation(2.5)));
    assert_eq!(g.node_degree("Alice").await.unwrap(), 3);
    assert_eq!(
        g.get_node_edges("Alice").await.unwrap().unwrap(),
        vec![
            ("Alice".to_owned(), names[1].to_owned()),
            ("Alice".to_owned(), names[3].to_owned()),
            ("Alice".to_owned(), names[2].to_owned()),
        ]
    );
    let mut labels = names.map(str::to_owned).to_vec();
    labels.sort();
    assert_eq!(g.get_all_labels().await.unwrap(), labels);
    assert_eq!(g.get_all_edges().await.unwrap().len(), 3);
    let kg = g.get_knowledge_graph("Alice", 1, 10).await.unwrap();
    assert_eq!((kg.nodes.len(), kg.edges.len(), kg.is_truncated), (4, 3, false));
    o.cleanup().await;
}

#[tokio::test]
async fn an_age_graph_written_through_the_api_reads_back_through_python_queries() {
    let o = open(GraphEngine::Age, "gpyr").await;
    let graph = o.age().graph_name().to_owned();
    let g = o.storage();
    let names = ["Alice", "it's \"quoted\" $$ \\ }", "[std::vector]"];
    for n in names {
        g.upsert_node(n, person(n)).await.unwrap();
    }
    g.upsert_edge(names[0], names[1], relation(1.5)).await.unwrap();
    g.upsert_edge(names[2], names[0], relation(0.5)).await.unwrap();
    let conn = age_conn(&o).await;

    // get_node_edges (Cypher, bound parameter).
    let rows = python_cypher(
        &conn,
        &graph,
        "MATCH (n:base {entity_id: $entity_id}) OPTIONAL MATCH (n)-[]-(connected:base) \
         RETURN n.entity_id AS source_id, connected.entity_id AS connected_id",
        "source_id text, connected_id text",
        json!({"entity_id": "Alice"}),
    )
    .await;
    let mut connected: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
    connected.sort();
    assert_eq!(connected, vec![names[2].to_owned(), names[1].to_owned()]);

    // get_nodes_batch (raw SQL on the label table).
    let gq = lightrag_pg_pool::ident::quote_ident(&graph).unwrap();
    let sql = format!(
        "WITH input(v, ord) AS (SELECT v, ord FROM unnest($1::text[]) WITH ORDINALITY AS t(v, ord)), \
         ids(node_id, ord) AS (SELECT (to_json(v)::text)::ag_catalog.agtype AS node_id, ord FROM input) \
         SELECT i.node_id::text AS node_id, ag_catalog.agtype_out(b.properties)::text FROM {gq}.base AS b JOIN ids i \
         ON ag_catalog.agtype_access_operator(VARIADIC ARRAY[b.properties, '\"entity_id\"'::ag_catalog.agtype]) = i.node_id \
         ORDER BY i.ord"
    );
    let ids: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let rows = conn.query(&sql, &[&ids]).await.unwrap();
    assert_eq!(rows.len(), 3);
    for (row, name) in rows.iter().zip(names) {
        let props: Value = serde_json::from_str(row.get::<_, &str>(1)).unwrap();
        assert_eq!(props, Value::Object(with_id(person(name), name).0));
    }

    // get_edges_batch (Cypher over a parameter list), both directions.
    let pairs = json!({"pairs": [{"src": names[0], "tgt": names[1]}, {"src": names[0], "tgt": names[2]}]});
    let mut found = Vec::new();
    for arrow in ["(a)-[r]->(b)", "(a)<-[r]-(b)"] {
        let cypher = format!(
            "UNWIND $pairs AS p WITH p.src AS src_eid, p.tgt AS tgt_eid MATCH (a:base {{entity_id: src_eid}}) \
             MATCH (b:base {{entity_id: tgt_eid}}) MATCH {arrow} RETURN src_eid AS source, tgt_eid AS target, \
             properties(r) AS edge_properties"
        );
        for r in python_cypher(
            &conn,
            &graph,
            &cypher,
            "source text, target text, edge_properties ag_catalog.agtype",
            pairs.clone(),
        )
        .await
        {
            found.push((r.get::<_, String>(1), r.get::<_, Agtype>(2).to_json().unwrap()));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        found,
        vec![
            (names[2].to_owned(), Value::Object(relation(0.5).0)),
            (names[1].to_owned(), Value::Object(relation(1.5).0)),
        ]
    );

    // MATCH ... RETURN n, as the WebUI path does.
    let rows = python_cypher(
        &conn,
        &graph,
        "MATCH (n:base {entity_id: $id}) RETURN n",
        "n ag_catalog.agtype",
        json!({"id": names[1]}),
    )
    .await;
    let vertex = rows[0].get::<_, Agtype>(0).to_json().unwrap();
    assert_eq!(vertex["label"], "base");
    assert_eq!(vertex["properties"]["entity_id"], names[1]);
    drop(conn);
    o.cleanup().await;
}

#[tokio::test]
async fn table_rows_written_by_python_sql_read_back_through_the_api() {
    let o = open(GraphEngine::Table, "gpyt").await;
    let ws = o.ws.as_str();
    let ns = "chunk_entity_relation";
    let conn = o.pool.get().await.unwrap();
    let upsert_node = "INSERT INTO lightrag_graph_nodes (workspace, namespace, id, properties, updated_at) \
         VALUES ($1, $2, $3, $4::text::jsonb, now()) ON CONFLICT (workspace, namespace, id) DO UPDATE \
         SET properties = lightrag_graph_nodes.properties || EXCLUDED.properties, updated_at = now()";
    for n in ["Alice", "Bob"] {
        let p = Value::Object(with_id(person(n), n).0).to_string();
        conn.execute(upsert_node, &[&ws, &ns, &n, &p]).await.unwrap();
    }
    let upsert_edge = "WITH ends AS (INSERT INTO lightrag_graph_nodes (workspace, namespace, id, properties) \
         SELECT $1, $2, v, jsonb_build_object('entity_id', v) FROM unnest(ARRAY[$3::text, $4::text]) AS v \
         ON CONFLICT DO NOTHING) \
         INSERT INTO lightrag_graph_edges (workspace, namespace, src_id, tgt_id, properties, updated_at) \
         VALUES ($1, $2, $3, $4, $5::text::jsonb, now()) ON CONFLICT (workspace, namespace, src_id, tgt_id) DO UPDATE \
         SET properties = EXCLUDED.properties, updated_at = now()";
    let rel = Value::Object(relation(2.0).0).to_string();
    // Python canonicalises with min/max by code point: "Alice" < "Bob" < "Carol".
    conn.execute(upsert_edge, &[&ws, &ns, &"Alice", &"Bob", &rel]).await.unwrap();
    conn.execute(upsert_edge, &[&ws, &ns, &"Bob", &"Carol", &rel]).await.unwrap();
    drop(conn);

    let g = o.storage();
    assert_eq!(g.get_node("Alice").await.unwrap(), Some(with_id(person("Alice"), "Alice")));
    assert_eq!(g.get_node("Carol").await.unwrap(), Some(Properties::new().with("entity_id", "Carol")));
    assert_eq!(g.get_edge("Bob", "Alice").await.unwrap(), Some(relation(2.0)));
    assert_eq!(g.node_degree("Bob").await.unwrap(), 2);
    assert_eq!(g.get_all_labels().await.unwrap(), ["Alice", "Bob", "Carol"]);
    o.cleanup().await;
}

#[tokio::test]
async fn table_rows_written_through_the_api_read_back_through_python_sql() {
    let o = open(GraphEngine::Table, "gpytr").await;
    let g = o.storage();
    g.upsert_node("Zed", person("z")).await.unwrap();
    // Written as (Zed, Amy): stored canonically as src=Amy, tgt=Zed.
    g.upsert_edge("Zed", "Amy", relation(1.0)).await.unwrap();
    let conn = o.pool.get().await.unwrap();
    let ws = o.ws.as_str();
    let ns = "chunk_entity_relation";
    let node: Value = conn
        .query_one(
            "SELECT properties FROM lightrag_graph_nodes WHERE workspace = $1 AND namespace = $2 AND id = $3",
            &[&ws, &ns, &"Zed"],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(node, Value::Object(with_id(person("z"), "Zed").0));
    let rows = conn
        .query(
            "SELECT src_id, tgt_id, properties FROM lightrag_graph_edges WHERE workspace = $1 AND namespace = $2",
            &[&ws, &ns],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].get::<_, String>(0), rows[0].get::<_, String>(1)), ("Amy".into(), "Zed".into()));
    assert_eq!(rows[0].get::<_, Value>(2), Value::Object(relation(1.0).0));
    let amy: Value = conn
        .query_one(
            "SELECT properties FROM lightrag_graph_nodes WHERE workspace = $1 AND namespace = $2 AND id = $3",
            &[&ws, &ns, &"Amy"],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(amy, json!({"entity_id": "Amy"}));
    drop(conn);
    o.cleanup().await;
}

#[tokio::test]
async fn legacy_non_canonical_table_edges_are_rewritten_canonically_at_initialize() {
    let o = open(GraphEngine::Table, "gpyleg").await;
    let ws = o.ws.as_str();
    let ns = "chunk_entity_relation";
    let g = o.storage();
    g.upsert_nodes_batch(vec![
        ("a".into(), Properties::new()),
        ("b".into(), Properties::new()),
        ("c".into(), Properties::new()),
    ])
    .await
    .unwrap();
    let conn = o.pool.get().await.unwrap();
    let insert = "INSERT INTO lightrag_graph_edges (workspace, namespace, src_id, tgt_id, properties, updated_at) \
         VALUES ($1, $2, $3, $4, $5::text::jsonb, now() - make_interval(secs => $6))";
    // (b, a) is newer than the canonical (a, b): it wins. (c, b) alone moves over.
    conn.execute(insert, &[&ws, &ns, &"a", &"b", &r#"{"v": "old"}"#, &60.0f64]).await.unwrap();
    conn.execute(insert, &[&ws, &ns, &"b", &"a", &r#"{"v": "new"}"#, &1.0f64]).await.unwrap();
    conn.execute(insert, &[&ws, &ns, &"c", &"b", &r#"{"v": "cb"}"#, &1.0f64]).await.unwrap();
    drop(conn);
    g.initialize().await.unwrap();
    let edges: Vec<(String, String, Value)> = g
        .get_all_edges()
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.source, e.target, Value::Object(e.properties.0)))
        .collect();
    assert_eq!(
        edges,
        vec![("a".into(), "b".into(), json!({"v": "new"})), ("b".into(), "c".into(), json!({"v": "cb"}))]
    );
    o.cleanup().await;
}

#[tokio::test]
async fn duplicate_vertices_left_by_concurrent_python_merges_read_as_one_node() {
    let o = open(GraphEngine::Age, "gpydup").await;
    let graph = o.age().graph_name().to_owned();
    let g = o.storage();
    g.upsert_node("Dup", person("first")).await.unwrap();
    g.upsert_edge("Dup", "Other", relation(1.0)).await.unwrap();
    // What two racing MERGEs can leave behind: a second vertex with the same id.
    let conn = age_conn(&o).await;
    python_cypher(
        &conn,
        &graph,
        "CREATE (n:base {entity_id: $id, description: 'second'}) RETURN n",
        "n ag_catalog.agtype",
        json!({"id": "Dup"}),
    )
    .await;
    drop(conn);
    assert_eq!(g.get_node("Dup").await.unwrap(), Some(with_id(person("first"), "Dup")));
    assert_eq!(g.get_all_labels().await.unwrap(), ["Dup", "Other"]);
    assert_eq!(g.get_all_nodes().await.unwrap().len(), 2);
    assert_eq!(g.node_degree("Dup").await.unwrap(), 1);
    // A later upsert merges into both, and an edge write still leaves one edge.
    g.upsert_node("Dup", Properties::new().with("description", "merged")).await.unwrap();
    assert_eq!(g.get_node("Dup").await.unwrap().unwrap().description(), Some("merged"));
    g.upsert_edge("Other", "Dup", relation(2.0)).await.unwrap();
    assert_eq!(g.get_all_edges().await.unwrap().len(), 1);
    o.cleanup().await;
}
