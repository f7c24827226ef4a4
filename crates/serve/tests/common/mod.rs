//! What the serve tests share: a workspace migrated from the sample dataset,
//! the connection settings as LightRAG's variables, a running server.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use futures::future::BoxFuture;
use lightrag_pg_core::{KvNamespace, KvStorage, Storage, VectorNamespace, VectorStorage, Workspace};
use lightrag_pg_files::{FnVectorOpener, MigrateOptions, Target};
use lightrag_pg_pool::{GraphEngine, PgConfig, PgPool, Sources};
use lightrag_pg_serve::Server;
use lightrag_pg_test_support::dataset;
use tokio::sync::oneshot;

/// The sample's embedding dimension.
pub const DIM: usize = 64;
/// The model name suffixing the vector tables.
pub const MODEL: &str = "serve-test";

/// LightRAG's `POSTGRES_*` variables for `config`.
pub fn pg_pairs(config: &PgConfig) -> Vec<(String, String)> {
    let (host, port) = config.hosts[0].clone();
    vec![
        ("POSTGRES_HOST".into(), host),
        ("POSTGRES_PORT".into(), port.to_string()),
        ("POSTGRES_USER".into(), config.user.clone()),
        ("POSTGRES_PASSWORD".into(), config.password.clone().unwrap_or_default()),
        ("POSTGRES_DATABASE".into(), config.database.clone()),
    ]
}

/// Loads the sample dataset into workspace `ws` (table graph, vector tables
/// of [`MODEL`]); migration upserts, so loading twice gives the same data.
pub async fn migrate(config: PgConfig, ws: &str) {
    migrate_into(config, ws, GraphEngine::Table).await;
}

/// [`migrate`] with the graph in `engine`.
pub async fn migrate_into(config: PgConfig, ws: &str, engine: GraphEngine) {
    let pool = PgPool::connect(config).await.expect("pool");
    let ws = Workspace::new(ws).expect("workspace");
    let mut target = Target::memory(ws.clone());
    for ns in KvNamespace::ALL {
        let s = lightrag_pg_kv::PgKvStorage::new(pool.clone(), ns, ws.clone()).expect("kv");
        s.initialize().await.expect("kv init");
        target.kv.insert(ns, Arc::new(s) as Arc<dyn KvStorage>);
    }
    target.graph = lightrag_pg_graph::open_graph(pool.clone(), ws.clone(), engine).await.expect("graph");
    let (p, w) = (pool.clone(), ws.clone());
    target.vectors = Arc::new(FnVectorOpener(move |ns: VectorNamespace, dim: usize| {
        let (pool, ws) = (p.clone(), w.clone());
        Box::pin(async move {
            let config = lightrag_pg_vector::PgVectorConfig::from_pool_config(ns, dim, Some(MODEL), pool.config())?;
            let s = lightrag_pg_vector::PgVectorStorage::new(pool, ws, config)?;
            s.initialize().await?;
            Ok(Arc::new(s) as Arc<dyn VectorStorage>)
        }) as BoxFuture<'static, lightrag_pg_core::Result<Arc<dyn VectorStorage>>>
    }));
    lightrag_pg_files::migrate(&dataset("lightrag-1.5.7-format-sample"), &target, MigrateOptions::default())
        .await
        .expect("migrate the sample");
}

/// The settings of a server on `ws` whose questions are embedded at `embedding_url`.
pub fn settings(config: &PgConfig, ws: &str, embedding_url: String) -> Vec<(String, String)> {
    let mut pairs = pg_pairs(config);
    for (k, v) in [
        ("WORKSPACE", ws),
        ("EMBEDDING_BINDING", "openai"),
        ("EMBEDDING_MODEL", MODEL),
        ("EMBEDDING_DIM", "64"),
        ("EMBEDDING_TIMEOUT", "30"),
        ("LIGHTRAG_GRAPH_STORAGE", "PGTableGraphStorage"),
        ("COSINE_THRESHOLD", "-1"),
    ] {
        pairs.push((k.into(), v.into()));
    }
    pairs.push(("EMBEDDING_BINDING_HOST".into(), embedding_url));
    pairs
}

/// A running server and a client for it.
pub struct Running {
    pub url: String,
    pub client: reqwest::Client,
    pub stop: Option<oneshot::Sender<()>>,
    pub done: tokio::task::JoinHandle<Result<(), lightrag_pg_serve::ServeError>>,
}

impl Running {
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{path}", self.url))
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(format!("{}{path}", self.url))
    }
}

/// Starts a server with `pairs` on 127.0.0.1 (a free port).
pub async fn serve(pairs: Vec<(String, String)>) -> Running {
    let server = Server::from_sources(&Sources::from_pairs(pairs)).await.expect("server");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(server.run(listener, async move {
        let _ = stopped.await;
    }));
    Running { url, client: reqwest::Client::new(), stop: Some(stop), done }
}
