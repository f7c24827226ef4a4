//! PostgreSQL killed for 5 s under load: `lightrag-pg serve` answers 200 or
//! 503 (never 500; the pool's retries usually carry a request across the
//! outage), and only 200 from 5 s after its return, with no restart of the
//! server. A throwaway PostgreSQL of the
//! sandbox root (`LIGHTRAG_PG_SANDBOX_ROOT`): without it the test fails.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lightrag_pg_test_support::embedding_endpoint;
use lightrag_pg_test_support::server::{PgServer, StopMode};
use serde_json::json;

const CONF: &str = "listen_addresses = 'localhost'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
                    shared_buffers = 16MB\nmax_connections = 60\n";
const HBA: &str = "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)]
async fn after_postgresql_returns_the_server_answers_again_within_5_s_without_a_restart() {
    let pg = Arc::new(PgServer::builder("serve-restart").conf(CONF).hba(HBA).start());
    let config = pg.config();
    common::migrate(config.clone(), "serve_restart").await;
    let mut pairs = common::settings(&config, "serve_restart", embedding_endpoint(common::DIM, Duration::ZERO));
    pairs.push(("POSTGRES_CONNECT_TIMEOUT".into(), "2".into()));
    pairs.push(("POSTGRES_POOL_TIMEOUT".into(), "2".into()));
    let s = Arc::new(common::serve(pairs).await);

    // Four clients asking continuously; every answer logged with its time.
    let log: Arc<Mutex<Vec<(Instant, u16, Duration)>>> = Arc::default();
    let stop_at = Arc::new(Mutex::new(None::<Instant>));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (s, log, stop_at) = (s.clone(), log.clone(), stop_at.clone());
            tokio::spawn(async move {
                loop {
                    let sent = Instant::now();
                    if stop_at.lock().unwrap().is_some_and(|t| sent > t) {
                        break;
                    }
                    let r = s
                        .post("/query/data")
                        .json(&json!({"query": "What is studied here?", "mode": "naive", "chunk_top_k": 2}))
                        .timeout(Duration::from_secs(30))
                        .send()
                        .await;
                    let status = r.map_or(0, |r| r.status().as_u16());
                    log.lock().unwrap().push((sent, status, sent.elapsed()));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    let p = pg.clone();
    tokio::task::spawn_blocking(move || p.stop(StopMode::Immediate)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let p = pg.clone();
    tokio::task::spawn_blocking(move || p.start()).await.unwrap();
    let back = Instant::now();
    *stop_at.lock().unwrap() = Some(back + Duration::from_secs(8));
    for c in clients {
        c.await.unwrap();
    }

    let log = log.lock().unwrap().clone();
    let statuses: std::collections::BTreeSet<u16> = log.iter().map(|(_, s, _)| *s).collect();
    assert!(statuses.is_subset(&[200, 503].into()), "only 200 and 503 while PostgreSQL restarts: {statuses:?}");
    let late: Vec<u16> =
        log.iter().filter(|(t, _, _)| *t > back + Duration::from_secs(5)).map(|(_, s, _)| *s).collect();
    assert!(!late.is_empty() && late.iter().all(|s| *s == 200), "5 s after the return every answer is 200: {late:?}");
    let first_ok =
        log.iter().filter(|(t, s, _)| *t > back && *s == 200).map(|(t, _, _)| *t).min().expect("a 200 after");
    eprintln!(
        "first 200 {:?} after PostgreSQL returned; {} requests, {} refused with 503, slowest {:?}",
        first_ok.saturating_duration_since(back),
        log.len(),
        log.iter().filter(|(_, s, _)| *s == 503).count(),
        log.iter().map(|(_, _, d)| *d).max().unwrap_or_default()
    );
}
