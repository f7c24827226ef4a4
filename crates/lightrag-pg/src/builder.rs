//! Opening the four storages of one workspace over one pool, with the backends
//! chosen at run time from configuration.

use std::collections::BTreeMap;
use std::sync::Arc;

use lightrag_pg_core::{
    DistanceMetric, DocStatusStorage, Error, GraphStorage, KvNamespace, KvStorage, Result, VectorNamespace,
    VectorStorage, Workspace,
};

/// Where the storages live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL (features `kv`, `vector`, `graph-*`, `docstatus`).
    Postgres,
    /// In process memory (feature `memory`).
    Memory,
}

/// The four storages of one workspace.
#[derive(Debug, Clone)]
pub struct Storages {
    workspace: Workspace,
    kv: BTreeMap<KvNamespace, Arc<dyn KvStorage>>,
    vectors: BTreeMap<VectorNamespace, Arc<dyn VectorStorage>>,
    graph: Option<Arc<dyn GraphStorage>>,
    doc_status: Option<Arc<dyn DocStatusStorage>>,
    #[cfg(feature = "pool")]
    pool: Option<lightrag_pg_pool::PgPool>,
    #[cfg(feature = "pool")]
    stores: lightrag_pg_pool::StoreSelection,
}

fn missing(what: &str, feature: &str) -> Error {
    Error::Unsupported { what: format!("{what}: this build lacks the `{feature}` feature of lightrag-pg") }
}

/// The error for a store that the configuration keeps outside PostgreSQL.
#[cfg(feature = "pool")]
fn elsewhere(what: &str, selector: &str) -> Error {
    Error::Unsupported { what: format!("{what}: not in PostgreSQL ({selector} selects another backend)") }
}

impl Storages {
    /// The effective workspace.
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The key-value storage of a namespace.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when this build has no key-value backend.
    pub fn kv(&self, ns: KvNamespace) -> Result<Arc<dyn KvStorage>> {
        #[cfg(feature = "pool")]
        if !self.stores.kv {
            return Err(elsewhere("key-value storage", "LIGHTRAG_KV_STORAGE"));
        }
        self.kv.get(&ns).cloned().ok_or_else(|| missing("key-value storage", "kv"))
    }

    /// The vector storage of a namespace.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when this build has no vector backend.
    pub fn vector(&self, ns: VectorNamespace) -> Result<Arc<dyn VectorStorage>> {
        #[cfg(feature = "pool")]
        if !self.stores.vector {
            return Err(elsewhere("vector storage", "LIGHTRAG_VECTOR_STORAGE"));
        }
        self.vectors.get(&ns).cloned().ok_or_else(|| missing("vector storage", "vector"))
    }

    /// The graph storage.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when this build has no graph backend.
    pub fn graph(&self) -> Result<Arc<dyn GraphStorage>> {
        #[cfg(feature = "pool")]
        if self.stores.graph.is_none() {
            return Err(elsewhere("graph storage", "LIGHTRAG_GRAPH_STORAGE"));
        }
        self.graph.clone().ok_or_else(|| missing("graph storage", "graph-age or graph-table"))
    }

    /// The doc-status storage.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when this build has no doc-status backend.
    pub fn doc_status(&self) -> Result<Arc<dyn DocStatusStorage>> {
        #[cfg(feature = "pool")]
        if !self.stores.doc_status {
            return Err(elsewhere("doc-status storage", "LIGHTRAG_DOC_STATUS_STORAGE"));
        }
        self.doc_status.clone().ok_or_else(|| missing("doc-status storage", "docstatus"))
    }

    /// The shared pool, for PostgreSQL backends.
    #[cfg(feature = "pool")]
    pub fn pool(&self) -> Option<&lightrag_pg_pool::PgPool> {
        self.pool.as_ref()
    }

    /// Which stores were opened in PostgreSQL (the `LIGHTRAG_*_STORAGE`
    /// selection) and the graph engine.
    #[cfg(feature = "pool")]
    pub fn stores(&self) -> lightrag_pg_pool::StoreSelection {
        self.stores
    }

    fn all(&self) -> Vec<&dyn lightrag_pg_core::Storage> {
        let mut v: Vec<&dyn lightrag_pg_core::Storage> = Vec::new();
        v.extend(self.kv.values().map(|s| s.as_ref() as &dyn lightrag_pg_core::Storage));
        v.extend(self.vectors.values().map(|s| s.as_ref() as &dyn lightrag_pg_core::Storage));
        if let Some(g) = &self.graph {
            v.push(g.as_ref());
        }
        if let Some(d) = &self.doc_status {
            v.push(d.as_ref());
        }
        v
    }

    /// Runs `finalize` on every storage (LightRAG's `finalize_storages`).
    ///
    /// # Errors
    /// The first failure.
    pub async fn finalize(&self) -> Result<()> {
        futures::future::try_join_all(self.all().into_iter().map(|s| s.finalize())).await?;
        Ok(())
    }

    /// Drops every record of this workspace from every storage; other workspaces
    /// are untouched.
    ///
    /// # Errors
    /// The first failure.
    pub async fn drop_workspace(&self) -> Result<()> {
        futures::future::try_join_all(self.all().into_iter().map(|s| s.drop_all())).await?;
        Ok(())
    }
}

/// Configures and opens [`Storages`].
#[derive(Debug, Clone)]
pub struct StoragesBuilder {
    backend: Backend,
    workspace: Option<String>,
    embedding_dim: usize,
    model_name: Option<String>,
    metric: DistanceMetric,
    threshold: f64,
    #[cfg(feature = "pool")]
    stores: lightrag_pg_pool::StoreSelection,
    #[cfg(feature = "pool")]
    pg: Option<lightrag_pg_pool::PgConfig>,
    #[cfg(feature = "pool")]
    pool: Option<lightrag_pg_pool::PgPool>,
}

impl Default for StoragesBuilder {
    fn default() -> Self {
        Self {
            backend: if cfg!(feature = "pool") { Backend::Postgres } else { Backend::Memory },
            workspace: None,
            embedding_dim: 1024,
            model_name: None,
            metric: DistanceMetric::Cosine,
            threshold: 0.2,
            #[cfg(feature = "pool")]
            stores: lightrag_pg_pool::StoreSelection::default(),
            #[cfg(feature = "pool")]
            pg: None,
            #[cfg(feature = "pool")]
            pool: None,
        }
    }
}

impl StoragesBuilder {
    /// Defaults: PostgreSQL when built with it (else memory), AGE graph, 1,024
    /// dimensions, cosine, threshold 0.2, workspace `default`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads LightRAG's configuration as LightRAG does
    /// ([`lightrag_pg_pool::Sources::discover`]: the environment, then `.env` and
    /// `config.ini` in the working directory): `POSTGRES_*` for the server, and
    /// `WORKSPACE`, `LIGHTRAG_*_STORAGE`, `EMBEDDING_DIM`, `EMBEDDING_MODEL`,
    /// `COSINE_THRESHOLD`.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first bad variable or unreadable file.
    #[cfg(feature = "pool")]
    pub fn from_env() -> Result<Self> {
        Self::from_sources(&lightrag_pg_pool::Sources::discover()?)
    }

    /// The same from given [`lightrag_pg_pool::Sources`] (the CLI adds its flags
    /// to them).
    ///
    /// # Errors
    /// [`Error::Config`] naming the first bad variable.
    #[cfg(feature = "pool")]
    pub fn from_sources(sources: &lightrag_pg_pool::Sources) -> Result<Self> {
        let settings = lightrag_pg_pool::LightRagSettings::from_sources(sources)?;
        let mut b = Self::new();
        b.pg = Some(lightrag_pg_pool::PgConfig::from_sources(sources)?);
        b.workspace = settings.workspace;
        b.stores = settings.stores;
        if let Some(d) = settings.embedding_dim {
            b.embedding_dim = d;
        }
        b.model_name = settings.embedding_model;
        if let Some(t) = settings.cosine_threshold {
            b.threshold = t;
        }
        Ok(b)
    }

    /// The backend.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }
    /// The instance workspace (`POSTGRES_WORKSPACE` still wins, like LightRAG).
    pub fn workspace(mut self, workspace: impl Into<String>) -> Self {
        self.workspace = Some(workspace.into());
        self
    }
    /// The graph engine (and the graph in PostgreSQL).
    #[cfg(feature = "pool")]
    pub fn graph(mut self, engine: lightrag_pg_pool::GraphEngine) -> Self {
        self.stores.graph = Some(engine);
        self
    }
    /// Which stores to open in PostgreSQL, and the graph engine.
    #[cfg(feature = "pool")]
    pub fn stores(mut self, stores: lightrag_pg_pool::StoreSelection) -> Self {
        self.stores = stores;
        self
    }
    /// The embedding dimension of the vector tables.
    pub fn embedding_dim(mut self, dim: usize) -> Self {
        self.embedding_dim = dim;
        self
    }
    /// The embedding model's name (suffixes the vector tables like LightRAG).
    pub fn model_name(mut self, name: impl Into<String>) -> Self {
        self.model_name = Some(name.into());
        self
    }
    /// The distance metric.
    pub fn metric(mut self, metric: DistanceMetric) -> Self {
        self.metric = metric;
        self
    }
    /// The default similarity threshold (LightRAG's `cosine_better_than_threshold`).
    pub fn threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }
    /// The PostgreSQL configuration.
    #[cfg(feature = "pool")]
    pub fn pg_config(mut self, config: lightrag_pg_pool::PgConfig) -> Self {
        self.pg = Some(config);
        self
    }
    /// An existing pool to share.
    #[cfg(feature = "pool")]
    pub fn pool(mut self, pool: lightrag_pg_pool::PgPool) -> Self {
        self.pool = Some(pool);
        self
    }

    fn resolve_workspace(&self) -> Result<Workspace> {
        #[cfg(feature = "pool")]
        let forced = self
            .pool
            .as_ref()
            .map(|p| p.config().workspace.clone())
            .or_else(|| self.pg.as_ref().map(|c| c.workspace.clone()))
            .flatten();
        #[cfg(not(feature = "pool"))]
        let forced: Option<String> = None;
        Workspace::resolve(forced.as_deref(), self.workspace.as_deref())
    }

    /// Opens and initialises every storage (concurrently; schema set-up is
    /// serialised in the database, so many processes may do this at once).
    ///
    /// # Errors
    /// Configuration, connection or schema errors; [`Error::Unsupported`] for a
    /// backend this build lacks.
    pub async fn build(self) -> Result<Storages> {
        let ws = self.resolve_workspace()?;
        let storages = match self.backend {
            Backend::Memory => self.open_memory(ws)?,
            Backend::Postgres => self.open_postgres(ws).await?,
        };
        futures::future::try_join_all(storages.all().into_iter().map(|s| s.initialize())).await?;
        Ok(storages)
    }

    #[cfg(feature = "memory")]
    fn open_memory(&self, ws: Workspace) -> Result<Storages> {
        use lightrag_pg_core::memory::*;
        let kv = KvNamespace::ALL
            .into_iter()
            .map(|ns| (ns, Arc::new(MemoryKvStorage::new(ns, ws.clone())) as Arc<dyn KvStorage>))
            .collect();
        let vectors = VectorNamespace::ALL
            .into_iter()
            .map(|ns| {
                let s = MemoryVectorStorage::new(ns, ws.clone(), self.embedding_dim, self.metric)
                    .with_threshold(self.threshold);
                (ns, Arc::new(s) as Arc<dyn VectorStorage>)
            })
            .collect();
        Ok(Storages {
            workspace: ws.clone(),
            kv,
            vectors,
            graph: Some(Arc::new(MemoryGraphStorage::new(ws.clone()))),
            doc_status: Some(Arc::new(MemoryDocStatusStorage::new(ws))),
            #[cfg(feature = "pool")]
            pool: None,
            #[cfg(feature = "pool")]
            stores: lightrag_pg_pool::StoreSelection::default(),
        })
    }

    #[cfg(not(feature = "memory"))]
    fn open_memory(&self, _ws: Workspace) -> Result<Storages> {
        Err(missing("in-memory backends", "memory"))
    }

    #[cfg(not(feature = "pool"))]
    async fn open_postgres(&self, _ws: Workspace) -> Result<Storages> {
        Err(missing("PostgreSQL backends", "kv, vector, graph-age, graph-table or docstatus"))
    }

    #[cfg(feature = "pool")]
    async fn open_postgres(&self, ws: Workspace) -> Result<Storages> {
        let pool = match (&self.pool, &self.pg) {
            (Some(pool), _) => pool.clone(),
            (None, Some(cfg)) => lightrag_pg_pool::PgPool::connect(cfg.clone()).await?,
            (None, None) => lightrag_pg_pool::PgPool::connect(lightrag_pg_pool::PgConfig::from_env()?).await?,
        };
        #[allow(unused_mut)]
        let mut kv: BTreeMap<KvNamespace, Arc<dyn KvStorage>> = BTreeMap::new();
        #[cfg(feature = "kv")]
        for ns in KvNamespace::ALL.into_iter().filter(|_| self.stores.kv) {
            kv.insert(ns, Arc::new(lightrag_pg_kv::PgKvStorage::new(pool.clone(), ns, ws.clone())?));
        }
        #[allow(unused_mut)]
        let mut vectors: BTreeMap<VectorNamespace, Arc<dyn VectorStorage>> = BTreeMap::new();
        #[cfg(feature = "vector")]
        for ns in VectorNamespace::ALL.into_iter().filter(|_| self.stores.vector) {
            let config = lightrag_pg_vector::PgVectorConfig::from_pool_config(
                ns,
                self.embedding_dim,
                self.model_name.as_deref(),
                pool.config(),
            )?
            .with_metric(self.metric)
            .with_threshold(self.threshold);
            vectors.insert(ns, Arc::new(lightrag_pg_vector::PgVectorStorage::new(pool.clone(), ws.clone(), config)?));
        }
        let graph = self.open_graph(&pool, &ws)?;
        #[cfg(feature = "docstatus")]
        let doc_status: Option<Arc<dyn DocStatusStorage>> = match self.stores.doc_status {
            true => Some(Arc::new(lightrag_pg_docstatus::PgDocStatusStorage::new(pool.clone(), ws.clone())?)),
            false => None,
        };
        #[cfg(not(feature = "docstatus"))]
        let doc_status: Option<Arc<dyn DocStatusStorage>> = None;
        Ok(Storages { workspace: ws, kv, vectors, graph, doc_status, pool: Some(pool), stores: self.stores })
    }

    #[cfg(feature = "pool")]
    fn open_graph(&self, pool: &lightrag_pg_pool::PgPool, ws: &Workspace) -> Result<Option<Arc<dyn GraphStorage>>> {
        #[cfg(any(feature = "graph-age", feature = "graph-table"))]
        {
            use lightrag_pg_graph::GraphEngine;
            let engine = match self.stores.graph {
                None => return Ok(None),
                Some(GraphEngine::Age) if !cfg!(feature = "graph-age") => {
                    return Err(missing("the AGE graph engine", "graph-age"));
                }
                Some(GraphEngine::Table) if !cfg!(feature = "graph-table") => {
                    return Err(missing("the table graph engine", "graph-table"));
                }
                Some(engine) => engine,
            };
            Ok(Some(lightrag_pg_graph::PgGraphStorage::new(pool.clone(), ws.clone(), engine)?.into_dyn()))
        }
        #[cfg(not(any(feature = "graph-age", feature = "graph-table")))]
        {
            let _ = (pool, ws);
            Ok(None)
        }
    }
}
