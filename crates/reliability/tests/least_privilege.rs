//! The least-privileged application role that the project's own
//! `postgres/init` scripts create (`LIGHTRAG_APP_USER`), on a fresh database
//! those scripts set up, run as the image runs them
//! (`lightrag_pg_test_support::init_scripts`; the test grants nothing of its
//! own). After the administrator's `init` — the facade's
//! `StoragesBuilder::build` and each storage's `initialize`, which create the
//! tables and AGE graphs — the role does the real work, every trial named
//! `[least_privilege] …`:
//!
//! - it migrates a real LightRAG working directory (hundreds of vectors per
//!   store, so vector batches stage through a temporary table);
//! - it bulk-loads vectors;
//! - it passes the KV, vector, doc-status, table-graph and AGE-graph behaviour
//!   suites;
//! - it cannot create extensions, tables or schemas, cannot `LOAD` libraries,
//!   and cannot connect to another application database.
//!
//! The role runs with `POSTGRES_AGE_SESSION_INIT=never` (AGE is preloaded with
//! `shared_preload_libraries`; `LOAD 'age'` is for superusers only).

#![allow(clippy::print_stdout)] // the tests print what they measured

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use libtest_mimic::{Arguments, Failed, Trial};
use lightrag_pg::{GraphEngine, StoragesBuilder};
use lightrag_pg_core::testkit::{self, DocStatusFactory, GraphFactory, KvFactory, VectorFactory};
use lightrag_pg_core::{
    DistanceMetric, DocStatusStorage, Error, GraphStorage, KvNamespace, KvStorage, Properties, Result, Storage,
    VectorNamespace, VectorQuery, VectorRecord, VectorStorage, Workspace,
};
use lightrag_pg_docstatus::PgDocStatusStorage;
use lightrag_pg_files::{FnVectorOpener, MigrateOptions, Target};
use lightrag_pg_graph::{AgeGraphStorage, TableGraphStorage};
use lightrag_pg_kv::PgKvStorage;
use lightrag_pg_pool::{PgPool, db_error, schema};
use lightrag_pg_test_support::init_scripts::AppRoleDb;
use lightrag_pg_test_support::{dataset, obj, unique_workspace};
use lightrag_pg_vector::{BulkLoadOptions, BulkLoadReport, BulkMethod, PgVectorConfig, PgVectorStorage};

/// The administrator's and the application role's pools on one database. Every
/// factory opens (and so initialises) a storage as the administrator first —
/// the administrator's `init` — and then hands out the application role's.
struct Factory {
    admin: PgPool,
    app: PgPool,
}

#[async_trait]
impl KvFactory for Factory {
    async fn open(&self, ns: KvNamespace, ws: &Workspace) -> Result<Arc<dyn KvStorage>> {
        PgKvStorage::new(self.admin.clone(), ns, ws.clone())?.initialize().await?;
        let s = PgKvStorage::new(self.app.clone(), ns, ws.clone())?;
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}

#[async_trait]
impl VectorFactory for Factory {
    async fn open(
        &self,
        ns: VectorNamespace,
        ws: &Workspace,
        dimension: usize,
        metric: DistanceMetric,
    ) -> Result<Arc<dyn VectorStorage>> {
        let config =
            PgVectorConfig::new(ns, dimension).with_model_name(format!("lp_{}", metric.as_str())).with_metric(metric);
        PgVectorStorage::new(self.admin.clone(), ws.clone(), config.clone())?.initialize().await?;
        let s = PgVectorStorage::new(self.app.clone(), ws.clone(), config)?;
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}

#[async_trait]
impl DocStatusFactory for Factory {
    async fn open(&self, ws: &Workspace) -> Result<Arc<dyn DocStatusStorage>> {
        PgDocStatusStorage::new(self.admin.clone(), ws.clone())?.initialize().await?;
        let s = PgDocStatusStorage::new(self.app.clone(), ws.clone())?;
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}

struct TableFactory(Arc<Factory>);

#[async_trait]
impl GraphFactory for TableFactory {
    async fn open(&self, ws: &Workspace) -> Result<Arc<dyn GraphStorage>> {
        TableGraphStorage::new(self.0.admin.clone(), ws.clone()).initialize().await?;
        let s = TableGraphStorage::new(self.0.app.clone(), ws.clone());
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}

struct AgeFactory(Arc<Factory>);

#[async_trait]
impl GraphFactory for AgeFactory {
    async fn open(&self, ws: &Workspace) -> Result<Arc<dyn GraphStorage>> {
        AgeGraphStorage::new(self.0.admin.clone(), ws.clone())?.initialize().await?;
        let s = AgeGraphStorage::new(self.0.app.clone(), ws.clone())?;
        s.initialize().await?;
        Ok(Arc::new(s))
    }
}

fn failed(e: impl std::fmt::Display) -> Failed {
    Failed::from(e.to_string())
}

/// A statement the role must not be allowed to run: refused with 42501.
async fn refused(pool: &PgPool, sql: &str) -> std::result::Result<(), Failed> {
    let conn = pool.get().await.map_err(failed)?;
    match conn.batch_execute(sql).await.map_err(db_error) {
        Err(e) if e.sqlstate() == Some("42501") => Ok(()),
        other => Err(format!("`{sql}` was not refused for lack of privilege: {other:?}").into()),
    }
}

fn trial<F>(name: &str, rt: &Arc<tokio::runtime::Runtime>, f: F) -> Trial
where
    F: std::future::Future<Output = std::result::Result<(), Failed>> + Send + 'static,
{
    let rt = rt.clone();
    Trial::test(format!("least_privilege::{name}"), move || rt.block_on(f))
}

/// The real working directory the role migrates: RAG-Anything's output on an
/// Indonesian regulation, 384 dimensions, 91 chunk, 524 entity and 874
/// relation vectors (every vector store over the 128 rows that stage through a
/// temporary table), 403 graph nodes.
const DATASET: &str = "yogyakarta-trafficking-perda-id";
const DATASET_DIM: usize = 384;

/// The migration target of a workspace's storages, as the facade opened them.
fn target_of(s: &lightrag_pg::Storages) -> Result<Target> {
    let kv = KvNamespace::ALL.into_iter().map(|ns| Ok((ns, s.kv(ns)?))).collect::<Result<HashMap<_, _>>>()?;
    let vectors =
        VectorNamespace::ALL.into_iter().map(|ns| Ok((ns, s.vector(ns)?))).collect::<Result<HashMap<_, _>>>()?;
    let opener = FnVectorOpener(move |ns: VectorNamespace, _dim: usize| {
        let v = vectors[&ns].clone();
        Box::pin(std::future::ready(Ok(v))) as futures::future::BoxFuture<'static, Result<Arc<dyn VectorStorage>>>
    });
    Ok(Target { kv, vectors: Arc::new(opener), graph: s.graph()?, doc_status: s.doc_status()? })
}

/// `n` chunk records of `dim` random components.
fn chunk_records(n: usize, dim: usize) -> Vec<VectorRecord> {
    (0..n)
        .map(|i| VectorRecord {
            id: format!("chunk-lp-{i:05}"),
            vector: (0..dim).map(|_| rand::random::<f32>() - 0.5).collect(),
            payload: obj(serde_json::json!({
                "full_doc_id": "doc-lp",
                "content": format!("text {i}"),
                "file_path": "lp.txt",
                "tokens": 3,
                "chunk_order_index": i,
            })),
        })
        .collect()
}

/// The administrator's `init` creates a chunk vector table, and the role writes
/// a few rows of one workspace into it. Then the role bulk-loads 3,000 records
/// (binary COPY through a temporary staging table) into another workspace, and
/// finds one of them first.
async fn role_bulk_load_into_a_shared_table(admin: PgPool, app: PgPool) -> std::result::Result<BulkLoadReport, Failed> {
    let config = PgVectorConfig::new(VectorNamespace::Chunks, 16).with_model_name("lp_bulk");
    let open = |pool: PgPool, ws: Workspace| async {
        let s = PgVectorStorage::new(pool, ws, config.clone()).map_err(failed)?;
        s.initialize().await.map_err(failed)?;
        Ok::<_, Failed>(s)
    };
    open(admin, unique_workspace("lp_bulk")).await?;
    let records = chunk_records(3000, 16);
    open(app.clone(), unique_workspace("lp_bulk_other")).await?.upsert(records[..10].to_vec()).await.map_err(failed)?;
    let s = open(app, unique_workspace("lp_bulk")).await?;
    let report = s.bulk_load_records(&records, &BulkLoadOptions::default()).await.map_err(failed)?;
    println!("bulk load as the role: {report}");
    if (report.records, report.rows) != (3000, 3000) {
        return Err(format!("records/rows: {report}").into());
    }
    let hits = s.query(&VectorQuery::by_vector(records[1234].vector.clone(), 1)).await.map_err(failed)?;
    match hits.first() {
        Some(h) if h.id == records[1234].id => Ok(report),
        other => Err(format!("the loaded record is not found first: {other:?}").into()),
    }
}

fn main() {
    // Parsed first: a bad argument exits here, before anything is created.
    let args = Arguments::from_args();
    let rt = testkit::runtime();
    // The database and the role, from the init scripts; and another application
    // database that the same scripts set up for another role.
    let (target, other) = rt.block_on(async { (AppRoleDb::create("lp").await, AppRoleDb::create("lp_other").await) });
    let admin = rt.block_on(target.db.pool(8));
    let app = rt.block_on(target.app_pool(8));
    let factory = Arc::new(Factory { admin: admin.clone(), app: app.clone() });

    let mut trials = Vec::new();
    let p = app.clone();
    trials.push(trial("the_role_is_no_superuser_and_creates_no_database_or_role", &rt, async move {
        let conn = p.get().await.map_err(failed)?;
        let row = conn
            .query_one(
                "SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = current_user",
                &[],
            )
            .await
            .map_err(|e| failed(db_error(e)))?;
        let flags: (bool, bool, bool, bool) = (row.get(0), row.get(1), row.get(2), row.get(3));
        if flags != (false, false, false, false) {
            return Err(format!("attributes (super, createdb, createrole, bypassrls) = {flags:?}").into());
        }
        Ok(())
    }));
    let p = app.clone();
    trials.push(trial("the_role_cannot_create_extensions", &rt, async move {
        refused(&p, "CREATE EXTENSION IF NOT EXISTS pgcrypto").await?;
        refused(&p, "CREATE EXTENSION IF NOT EXISTS pg_trgm").await?;
        match schema::ensure_extension(&p, "pg_trgm").await {
            Err(Error::Config { key, message }) if key.contains("pg_trgm") && message.contains("cannot create") => {
                Ok(())
            }
            other => Err(format!("ensure_extension as the role: {other:?}").into()),
        }
    }));
    let (a, p) = (admin.clone(), app.clone());
    trials.push(trial(
        "the_role_cannot_create_tables_or_schemas_drop_alter_truncate_or_load_libraries",
        &rt,
        async move {
            let ws = Workspace::new("lp_ddl").map_err(failed)?;
            PgKvStorage::new(a, KvNamespace::FullDocs, ws).map_err(failed)?.initialize().await.map_err(failed)?;
            refused(&p, "CREATE TABLE lp_evil (id int)").await?;
            refused(&p, "CREATE SCHEMA lp_evil").await?;
            refused(&p, "DROP TABLE lightrag_doc_full").await?;
            refused(&p, "ALTER TABLE lightrag_doc_full ADD COLUMN evil int").await?;
            refused(&p, "TRUNCATE lightrag_doc_full").await?;
            refused(&p, "CREATE INDEX lp_evil ON lightrag_doc_full (content)").await?;
            refused(&p, "LOAD 'age'").await?;
            refused(&p, "SELECT ag_catalog.create_graph('lp_evil_graph')").await
        },
    ));
    let elsewhere = |database: &str| {
        let mut c = target.app_config(2);
        c.database = database.to_owned();
        c.retry.attempts = 2;
        c
    };
    let (c, r) = (elsewhere(&other.db.name), elsewhere("postgres"));
    trials.push(trial("the_role_cannot_connect_to_another_database", &rt, async move {
        for config in [c, r] {
            let name = config.database.clone();
            match PgPool::connect(config).await {
                Err(e) if e.sqlstate() == Some("42501") => {}
                Err(e) => return Err(format!("{name}: refused, but not for lack of CONNECT: {e:?}").into()),
                Ok(_) if name == "postgres" => {
                    // The shared server's maintenance database keeps PUBLIC's
                    // CONNECT; only pg_hba.conf or a REVOKE there can close it.
                    println!("note: database 'postgres' of the shared server grants CONNECT to PUBLIC");
                }
                Ok(_) => return Err(format!("the role connected to {name}").into()),
            }
        }
        Ok(())
    }));
    let (a, p) = (admin.clone(), app.clone());
    trials.push(trial("the_facade_opens_every_storage_as_the_role_after_the_administrators_init", &rt, async move {
        let ws = "lp_facade";
        for graph in [GraphEngine::Age, GraphEngine::Table] {
            StoragesBuilder::new()
                .pool(a.clone())
                .workspace(ws)
                .graph(graph)
                .embedding_dim(8)
                .build()
                .await
                .map_err(failed)?;
            let s = StoragesBuilder::new()
                .pool(p.clone())
                .workspace(ws)
                .graph(graph)
                .embedding_dim(8)
                .build()
                .await
                .map_err(failed)?;
            let g = s.graph().map_err(failed)?;
            g.upsert_edge("a", "b", Properties::new().with("weight", 1.0)).await.map_err(failed)?;
            if !g.has_edge("b", "a").await.map_err(failed)? {
                return Err("the role's edge is missing".into());
            }
            s.drop_workspace().await.map_err(failed)?;
        }
        Ok(())
    }));

    let (a, p) = (admin.clone(), app.clone());
    trials.push(trial("the_role_migrates_a_real_working_directory_after_the_administrators_init", &rt, async move {
        let ws = unique_workspace("lp_migrate");
        let open = |pool: PgPool| {
            StoragesBuilder::new()
                .pool(pool)
                .workspace(ws.as_str())
                .embedding_dim(DATASET_DIM)
                .model_name("lp_migrate")
                .build()
        };
        open(a).await.map_err(failed)?;
        let s = open(p).await.map_err(failed)?;
        let report =
            lightrag_pg_files::migrate(&dataset(DATASET), &target_of(&s).map_err(failed)?, MigrateOptions::default())
                .await
                .map_err(failed)?;
        let v = &report.vectors;
        println!(
            "migrated as the role: {} chunk, {} entity, {} relation vectors, {} nodes, {} edges",
            v.chunks, v.entities, v.relationships, report.graph.nodes, report.graph.edges
        );
        if v.entities < 500 || v.relationships < 800 || report.graph.nodes < 400 {
            return Err(format!("too little was migrated: {v:?}, {:?}", report.graph).into());
        }
        // The verification asks every store, by id, for what was written.
        if !report.verification.performed || !report.verification.ok {
            return Err(format!("verification: {:?}", report.verification).into());
        }
        Ok(())
    }));
    let (a, p) = (admin.clone(), app.clone());
    trials.push(trial("the_role_bulk_loads_vectors_into_a_table_shared_with_another_workspace", &rt, async move {
        let report = role_bulk_load_into_a_shared_table(a, p).await?;
        match report.method {
            BulkMethod::Incremental { .. } => Ok(()),
            other => Err(format!("another workspace's index must be kept: {other:?}").into()),
        }
    }));

    trials.extend(testkit::kv_trials(factory.clone(), rt.clone()));
    trials.extend(testkit::vector_trials(factory.clone(), rt.clone()));
    trials.extend(testkit::doc_status_trials(factory.clone(), rt.clone()));
    trials.extend(testkit::graph_trials(Arc::new(TableFactory(factory.clone())), rt.clone()));
    trials.extend(
        testkit::graph_trials(Arc::new(AgeFactory(factory.clone())), rt.clone())
            .into_iter()
            .map(|t| t.with_kind("least_privilege age")),
    );
    let trials =
        trials.into_iter().map(|t| if t.kind().is_empty() { t.with_kind("least_privilege") } else { t }).collect();

    let conclusion = libtest_mimic::run(&args, trials);
    drop((factory, admin, app));
    drop((target, other));
    conclusion.exit()
}
