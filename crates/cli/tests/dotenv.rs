//! Pointed at a LightRAG deployment as an operator has it: a folder holding only
//! the LightRAG server's `.env` (or `config.ini`), and no `POSTGRES_*` in the
//! environment. Every command reads the same configuration LightRAG reads, and
//! writes the tables LightRAG's server reads with that `.env`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lightrag_pg::pool::{PgConfig, PgPool};
use serde_json::Value;

const MODEL: &str = "BAAI/bge-m3";
/// `_generate_collection_suffix`: non-alphanumerics to `_`, lower case, `_<dim>d`.
const SUFFIXED_CHUNKS: &str = "lightrag_vdb_chunks_baai_bge_m3_64d";

fn demo_kb() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/demo-kb")
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").subsec_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// A folder with `file` holding `body`, like a LightRAG server's directory.
fn folder_with(file: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique("lightrag-pg-env"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join(file), body).expect("write config");
    dir
}

/// A LightRAG server `.env` for `config`'s server and `ws`.
fn server_dotenv(config: &PgConfig, ws: &str) -> String {
    let (host, port) = &config.hosts[0];
    format!(
        "### LightRAG server configuration\n\
         LLM_BINDING=openai\nEMBEDDING_BINDING=ollama\n\
         EMBEDDING_MODEL={MODEL}\nEMBEDDING_DIM=64\n\
         LIGHTRAG_KV_STORAGE=PGKVStorage\nLIGHTRAG_VECTOR_STORAGE=PGVectorStorage\n\
         LIGHTRAG_GRAPH_STORAGE=PGTableGraphStorage\nLIGHTRAG_DOC_STATUS_STORAGE=PGDocStatusStorage\n\
         WORKSPACE={ws}\n\
         POSTGRES_HOST={host}\nPOSTGRES_PORT={port}\nPOSTGRES_USER={}\nPOSTGRES_PASSWORD='{}'\nPOSTGRES_DATABASE={}\n",
        config.user,
        config.password.clone().unwrap_or_default(),
        config.database
    )
}

/// `lightrag-pg ARGS` run in `dir`, with none of LightRAG's variables in the
/// environment.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lightrag-pg"));
    c.current_dir(dir).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("POSTGRES_")
            || k.starts_with("LIGHTRAG_")
            || k.starts_with("EMBEDDING_")
            || ["DATABASE_URL", "WORKSPACE", "MAX_GRAPH_NODES", "PGHOST", "PGPORT"].contains(&k.as_str())
        {
            c.env_remove(k);
        }
    }
    c.output().expect("run lightrag-pg")
}

fn json_of(out: &Output, what: &str) -> Value {
    assert!(out.status.success(), "{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: not JSON ({e})"))
}

async fn count(pool: &PgPool, table: &str, ws: &str) -> i64 {
    let conn = pool.get().await.expect("connection");
    let exists: bool = conn.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table]).await.unwrap().get(0);
    if !exists {
        return -1;
    }
    conn.query_one(&format!("SELECT count(*) FROM {table} WHERE workspace = $1"), &[&ws]).await.unwrap().get(0)
}

#[tokio::test]
async fn migrate_from_a_folder_with_only_dotenv_writes_the_tables_lightrag_reads() {
    let db = lightrag_pg_test_support::test_database().await;
    let ws = unique("cli_dotenv");
    let dir = folder_with(".env", &server_dotenv(&db.config(), &ws));

    let report = json_of(&run_in(&dir, &["migrate", "--from", demo_kb(), "--json"]), "migrate");
    assert_eq!(report["workspace"], ws.as_str(), "WORKSPACE from .env");

    let pool = PgPool::connect(db.config()).await.expect("pool");
    assert_eq!(
        count(&pool, SUFFIXED_CHUNKS, &ws).await,
        4,
        "EMBEDDING_MODEL + EMBEDDING_DIM choose the suffixed table"
    );
    assert!(count(&pool, "lightrag_vdb_chunks", &ws).await <= 0, "nothing went to the unsuffixed table");
    assert!(count(&pool, "lightrag_graph_nodes", &ws).await > 0, "LIGHTRAG_GRAPH_STORAGE chose the table engine");
    let conn = pool.get().await.unwrap();
    let age_graph: bool = conn
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
            &[&format!("{ws}_chunk_entity_relation")],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!age_graph, "no AGE graph for a PGTableGraphStorage deployment");
}

#[tokio::test]
async fn inspection_commands_work_from_a_folder_with_only_dotenv() {
    let db = lightrag_pg_test_support::test_database().await;
    let ws = unique("cli_dotenv_inspect");
    let dir = folder_with(".env", &server_dotenv(&db.config(), &ws));
    json_of(&run_in(&dir, &["migrate", "--from", demo_kb(), "--json"]), "migrate");

    let counts = json_of(&run_in(&dir, &["docs", "counts", "--json"]), "docs counts");
    assert!(counts.to_string().contains("processed"), "doc status counts: {counts}");

    let graph = json_of(&run_in(&dir, &["graph", "--label", "*", "--depth", "1"]), "graph");
    assert!(!graph["nodes"].as_array().expect("nodes").is_empty(), "graph read through the table engine: {graph}");

    let out = dir.join("exported");
    let export = json_of(&run_in(&dir, &["export", "--to", out.to_str().unwrap(), "--json"]), "export");
    assert_eq!(export["workspace"], ws.as_str());
    let chunks: Value =
        serde_json::from_slice(&std::fs::read(out.join("vdb_chunks.json")).expect("vdb_chunks.json")).unwrap();
    assert_eq!(chunks["embedding_dim"], 64, "export read the suffixed 64-d table");
    assert_eq!(chunks["data"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn doctor_names_where_each_setting_came_from_and_masks_the_password() {
    let db = lightrag_pg_test_support::test_database().await;
    let ws = unique("cli_dotenv_doctor");
    let dir = folder_with(".env", &server_dotenv(&db.config(), &ws));
    let out = run_in(&dir, &["doctor", "--json"]);
    let report = json_of(&out, "doctor");
    assert_eq!(report["reachable"], true, "the server from .env was reached: {report}");
    let settings = report["configuration"]["settings"].as_array().expect("settings");
    let find = |v: &str| settings.iter().find(|s| s["variable"] == v).unwrap_or_else(|| panic!("{v} missing"));
    assert_eq!(find("POSTGRES_HOST")["origin"]["kind"], "dot_env");
    assert_eq!(find("EMBEDDING_MODEL")["value"], MODEL);
    assert_eq!(find("POSTGRES_PASSWORD")["value"], "********");
    assert_eq!(report["configuration"]["stores"]["graph"], "table");
}

#[tokio::test]
async fn a_flag_overrides_dotenv() {
    let db = lightrag_pg_test_support::test_database().await;
    let ws = unique("cli_dotenv_flag");
    let dir = folder_with(".env", &server_dotenv(&db.config(), "not_this_one"));
    let report = json_of(&run_in(&dir, &["--workspace", &ws, "doctor", "--json"]), "doctor");
    assert_eq!(report["configuration"]["workspace"], ws.as_str());
    let settings = report["configuration"]["settings"].as_array().expect("settings");
    let flag = settings.iter().find(|s| s["variable"] == "POSTGRES_WORKSPACE").expect("POSTGRES_WORKSPACE");
    assert_eq!(flag["origin"]["kind"], "flag");
}

#[tokio::test]
async fn config_ini_postgres_section_is_read_when_nothing_else_is_set() {
    let db = lightrag_pg_test_support::test_database().await;
    let config = db.config();
    let (host, port) = &config.hosts[0];
    let ini = format!(
        "[postgres]\nhost = {host}\nport = {port}\nuser = {}\npassword = {}\ndatabase = {}\nworkspace = {}\n",
        config.user,
        config.password.clone().unwrap_or_default(),
        config.database,
        unique("cli_ini")
    );
    let dir = folder_with("config.ini", &ini);
    let counts = json_of(&run_in(&dir, &["docs", "counts", "--json"]), "docs counts");
    assert!(counts.is_object(), "docs counts answered from config.ini's server: {counts}");
}

#[tokio::test]
async fn without_any_configuration_the_error_says_where_settings_are_read() {
    let dir = folder_with("README", "nothing here");
    let out = run_in(&dir, &["docs", "counts"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".env") && err.contains("config.ini"), "{err}");
}

#[tokio::test]
async fn init_builds_the_index_postgres_vector_index_type_names() {
    let db = lightrag_pg_test_support::test_database().await;
    let ws = unique("cli_ivf");
    let model = unique("ivfmodel");
    let dotenv = format!(
        "{}POSTGRES_VECTOR_INDEX_TYPE=IVFFLAT\nEMBEDDING_MODEL={model}\nEMBEDDING_DIM=8\n",
        server_dotenv(&db.config(), &ws).replace("EMBEDDING_MODEL=", "#").replace("EMBEDDING_DIM=", "#")
    );
    let dir = folder_with(".env", &dotenv);
    let report = json_of(&run_in(&dir, &["init", "--json"]), "init");
    assert_eq!(report["vector_index"], "IVFFLAT");
    let pool = PgPool::connect(db.config()).await.expect("pool");
    let conn = pool.get().await.unwrap();
    let table = format!("lightrag_vdb_chunks_{model}_8d");
    let defs: Vec<String> = conn
        .query("SELECT indexdef FROM pg_indexes WHERE tablename = $1", &[&table])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    // IVFFlat is built once the table holds enough rows to train its lists; an
    // HNSW index (init's old default) would be built at once.
    assert!(defs.len() >= 2, "the table and its id indexes exist: {defs:?}");
    assert!(!defs.iter().any(|d| d.contains("USING hnsw")), "init replaced the configured index: {defs:?}");
}

#[tokio::test]
async fn a_deployment_keeping_vectors_and_graph_elsewhere_migrates_and_inspects_the_rest() {
    let db = lightrag_pg_test_support::test_database().await;
    let ws = unique("cli_elsewhere");
    let dotenv = server_dotenv(&db.config(), &ws)
        .replace("LIGHTRAG_VECTOR_STORAGE=PGVectorStorage", "LIGHTRAG_VECTOR_STORAGE=NanoVectorDBStorage")
        .replace("LIGHTRAG_GRAPH_STORAGE=PGTableGraphStorage", "LIGHTRAG_GRAPH_STORAGE=Neo4JStorage");
    let dir = folder_with(".env", &dotenv);

    let report = json_of(&run_in(&dir, &["migrate", "--from", demo_kb(), "--json"]), "migrate");
    assert_eq!(report["left_alone"]["vectors"], "LIGHTRAG_VECTOR_STORAGE=NanoVectorDBStorage");
    assert_eq!(report["left_alone"]["graph"], "LIGHTRAG_GRAPH_STORAGE=Neo4JStorage");
    assert_eq!(report["vectors"]["chunks"], 0, "no vector is counted as written");
    assert!(report["full_docs"].as_u64().unwrap_or(0) > 0, "the key-value stores were migrated: {report}");

    let pool = PgPool::connect(db.config()).await.expect("pool");
    assert!(count(&pool, SUFFIXED_CHUNKS, &ws).await <= 0, "no vector written");
    assert!(count(&pool, "lightrag_graph_nodes", &ws).await <= 0, "no graph written");
    assert!(count(&pool, "lightrag_doc_full", &ws).await > 0, "KV written");

    let counts = json_of(&run_in(&dir, &["docs", "counts", "--json"]), "docs counts");
    assert!(counts["all"].as_u64().unwrap_or(0) > 0, "doc status is inspected: {counts}");
    let graph = run_in(&dir, &["graph", "--label", "*"]);
    assert!(!graph.status.success());
    let err = String::from_utf8_lossy(&graph.stderr);
    assert!(err.contains("LIGHTRAG_GRAPH_STORAGE=Neo4JStorage"), "the error names the selector: {err}");
}

#[tokio::test]
async fn doctor_shows_the_read_hosts_from_dotenv_and_each_hosts_role() {
    let db = lightrag_pg_test_support::test_database().await;
    let ws = unique("cli_dotenv_read_hosts");
    // A read host nothing listens on: reads would stay on the primary.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let body = format!("{}POSTGRES_READ_HOSTS=127.0.0.1:{closed}\n", server_dotenv(&db.config(), &ws));
    let dir = folder_with(".env", &body);
    let report = json_of(&run_in(&dir, &["doctor", "--json"]), "doctor");
    let settings = report["configuration"]["settings"].as_array().expect("settings");
    let read_hosts = settings.iter().find(|s| s["variable"] == "POSTGRES_READ_HOSTS").expect("POSTGRES_READ_HOSTS");
    assert_eq!(read_hosts["origin"]["kind"], "dot_env", "{read_hosts}");
    let hosts: Vec<(String, Value)> =
        report["hosts"].as_array().expect("hosts").iter().map(|h| (h["pool"].to_string(), h["role"].clone())).collect();
    assert_eq!(hosts, [("\"write\"".to_owned(), Value::from("primary")), ("\"read\"".to_owned(), Value::Null)]);
    assert!(
        report["warnings"].as_array().expect("warnings").iter().any(|w| w["code"] == "read_host_unfit"),
        "{report}"
    );
}
