//! `lightrag-pg serve`: the binary answers LightRAG server's routes on
//! `--host`/`--port` over a migrated workspace, and stops cleanly (exit 0)
//! on SIGTERM. The routes themselves are tested in crates/serve.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use lightrag_pg::pool::PgConfig;
use lightrag_pg_core::testkit::unique_workspace;
use lightrag_pg_test_support::server::free_port;
use lightrag_pg_test_support::{dataset, embedding_endpoint, test_database};

const MODEL: &str = "cli-serve";

fn migrated(config: &PgConfig) -> String {
    let ws = unique_workspace("clis").as_str().to_owned();
    let out = common::cli(config, &ws)
        .args(["migrate", "--from"])
        .arg(dataset("lightrag-1.5.7-format-sample"))
        .args(["--graph", "table", "--model-name", MODEL])
        .output()
        .expect("run lightrag-pg migrate");
    assert!(out.status.success(), "migrate: {}", String::from_utf8_lossy(&out.stderr));
    ws
}

/// One HTTP/1.1 exchange; the status line and the body.
fn http(port: u16, request: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn get(port: u16, path: &str) -> Option<String> {
    http(port, &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
}

fn start(config: &PgConfig, ws: &str, port: u16) -> Child {
    common::cli(config, ws)
        .env("EMBEDDING_BINDING", "openai")
        .env("EMBEDDING_BINDING_HOST", embedding_endpoint(64, Duration::ZERO))
        .env("EMBEDDING_MODEL", MODEL)
        .env("EMBEDDING_DIM", "64")
        .env("COSINE_THRESHOLD", "-1")
        .env_remove("LIGHTRAG_API_KEY")
        .args(["serve", "--graph", "table", "--host", "127.0.0.1", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lightrag-pg serve")
}

#[tokio::test]
async fn serve_answers_on_its_port_and_stops_on_sigterm() {
    let config = test_database().await.config();
    let ws = migrated(&config);
    let port = free_port();
    let mut child = start(&config, &ws, port);
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        if let Some(r) = get(port, "/health") {
            break r;
        }
        assert!(Instant::now() < deadline, "no answer on port {port}");
        assert!(child.try_wait().expect("wait").is_none(), "serve exited early");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("\"status\":\"healthy\""), "{health}");
    let body = r#"{"query": "What is studied here?", "mode": "naive", "chunk_top_k": 2}"#;
    let data = http(
        port,
        &format!(
            "POST /query/data HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .expect("an answer");
    assert!(data.starts_with("HTTP/1.1 200") && data.contains("\"query_mode\":\"naive\""), "{data}");
    let kill = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(kill.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "serve did not exit cleanly on SIGTERM");
    let out = common::cli(&config, &ws).args(["workspace", "drop", &ws, "--yes"]).output().expect("drop");
    assert!(out.status.success(), "workspace drop: {}", String::from_utf8_lossy(&out.stderr));
}
