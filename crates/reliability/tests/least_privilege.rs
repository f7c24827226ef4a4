//! An application role with the least privileges LightRAG needs, after an
//! administrator ran `init` (extensions, tables, AGE graphs), runs every
//! storage operation: the KV, vector, doc-status and table-graph behaviour
//! suites (and the AGE graph suite) run once as that role, every trial named
//! `[least_privilege] …`. The role cannot create extensions, tables or schemas,
//! cannot `LOAD` libraries, and cannot connect to another database.
//!
//! `postgres/init` does not create such a role (it makes the application role
//! the database owner, and `POSTGRES_USER` defaults to the superuser), so this
//! test creates it, on a fresh database of the shared server, with the grants
//! below; the report proposes them for `postgres/init`:
//!
//! ```sql
//! CREATE ROLE app LOGIN PASSWORD '…' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
//! REVOKE ALL ON DATABASE db FROM PUBLIC;
//! GRANT CONNECT, TEMPORARY ON DATABASE db TO app;           -- TEMP: the vector upsert stages in a temp table
//! -- in db, as the administrator:
//! CREATE EXTENSION vector; CREATE EXTENSION age;
//! REVOKE CREATE ON SCHEMA public FROM PUBLIC;
//! GRANT USAGE ON SCHEMA public, ag_catalog TO app;
//! GRANT SELECT ON ALL TABLES IN SCHEMA ag_catalog TO app;  -- ag_graph, ag_label: graph and label lookups
//! ALTER DEFAULT PRIVILEGES FOR ROLE admin GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO app;
//! ALTER DEFAULT PRIVILEGES FOR ROLE admin GRANT USAGE, SELECT ON SEQUENCES TO app;
//! ALTER DEFAULT PRIVILEGES FOR ROLE admin GRANT USAGE ON SCHEMAS TO app;  -- each AGE graph is a schema
//! ```
//!
//! and `POSTGRES_AGE_SESSION_INIT=never` for the role (AGE is preloaded with
//! `shared_preload_libraries`; `LOAD 'age'` is for superusers only).

#![allow(clippy::print_stdout)] // the tests print what they measured

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use libtest_mimic::{Arguments, Failed, Trial};
use lightrag_pg::{GraphEngine, StoragesBuilder};
use lightrag_pg_core::testkit::{self, DocStatusFactory, GraphFactory, KvFactory, VectorFactory};
use lightrag_pg_core::{
    DistanceMetric, DocStatusStorage, Error, GraphStorage, KvNamespace, KvStorage, Properties, Result, Storage,
    VectorNamespace, VectorStorage, Workspace,
};
use lightrag_pg_docstatus::PgDocStatusStorage;
use lightrag_pg_graph::{AgeGraphStorage, TableGraphStorage};
use lightrag_pg_kv::PgKvStorage;
use lightrag_pg_pool::{AgeSessionInit, PgConfig, PgPool, db_error, schema};
use lightrag_pg_test_support::fresh::{FreshDb, TempRole};
use lightrag_pg_vector::{PgVectorConfig, PgVectorStorage};

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

/// What the administrator runs once per database.
async fn grant(db: &FreshDb, other: &FreshDb, role: &TempRole) {
    let admin = db.admin_user().to_owned();
    let app = &role.name;
    let shared =
        lightrag_pg_test_support::fresh::admin_client_in(&db.config(), &common::shared_config().await.database).await;
    shared
        .batch_execute(&format!(
            "REVOKE ALL ON DATABASE {db} FROM PUBLIC; GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {app}; \
             REVOKE ALL ON DATABASE {other} FROM PUBLIC;",
            db = db.name,
            other = other.name
        ))
        .await
        .expect("database grants");
    db.admin_client()
        .await
        .batch_execute(&format!(
            "CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS age; \
             REVOKE CREATE ON SCHEMA public FROM PUBLIC; \
             GRANT USAGE ON SCHEMA public, ag_catalog TO {app}; \
             GRANT SELECT ON ALL TABLES IN SCHEMA ag_catalog TO {app}; \
             ALTER DEFAULT PRIVILEGES FOR ROLE {admin} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}; \
             ALTER DEFAULT PRIVILEGES FOR ROLE {admin} GRANT USAGE, SELECT ON SEQUENCES TO {app}; \
             ALTER DEFAULT PRIVILEGES FOR ROLE {admin} GRANT USAGE ON SCHEMAS TO {app};"
        ))
        .await
        .expect("schema grants");
}

fn app_config(db: &FreshDb, role: &TempRole, database: &str) -> PgConfig {
    let mut c = db.config();
    c.user = role.name.clone();
    c.password = Some(role.password.clone());
    c.database = database.to_owned();
    c.max_connections = 8;
    c.age_session_init = AgeSessionInit::Never;
    c.retry.attempts = 2;
    c
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

fn main() {
    let rt = testkit::runtime();
    let role = TempRole::create("lp_app");
    let (db, other) = rt.block_on(async { (FreshDb::create("lp").await, FreshDb::create("lp_other").await) });
    rt.block_on(grant(&db, &other, &role));
    let admin = rt.block_on(db.pool(8));
    let app = rt
        .block_on(PgPool::connect(app_config(&db, &role, &db.name)))
        .unwrap_or_else(|e| panic!("the application role cannot connect: {e}"));
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
    let (c, r) = (app_config(&db, &role, &other.name), app_config(&db, &role, "postgres"));
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

    let conclusion = libtest_mimic::run(&Arguments::from_args(), trials);
    drop((factory, admin, app));
    drop((db, other));
    drop(role);
    conclusion.exit()
}
