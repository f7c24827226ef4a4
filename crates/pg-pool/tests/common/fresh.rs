//! A fresh, empty database on the shared test server, dropped afterwards.

use lightrag_pg_pool::{PgConfig, PgPool, tokio_postgres};

/// A database created for one test (`CREATE DATABASE … TEMPLATE template0`) and
/// dropped (`WITH (FORCE)`) when this value is dropped, even if the test fails.
/// Declare pools on it after it, so that they are dropped (and their sessions
/// closed) first: the drop blocks the current thread.
#[derive(Debug)]
pub struct FreshDb {
    pub name: String,
    admin: PgConfig,
}

async fn admin_client(admin: &PgConfig) -> tokio_postgres::Client {
    let (host, port) = admin.hosts[0].clone();
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&host).port(port).user(&admin.user).dbname(&admin.database);
    if let Some(p) = &admin.password {
        cfg.password(p);
    }
    let (client, conn) = cfg
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the shared test server at {}: {e}", admin.primary_host()));
    tokio::spawn(conn);
    client
}

impl FreshDb {
    /// Creates `lightrag_<prefix>_<random>`.
    pub async fn create(prefix: &str) -> FreshDb {
        let admin = lightrag_pg_test_support::test_database().await.config();
        let name = format!("lightrag_{prefix}_{}", super::suffix());
        let client = admin_client(&admin).await;
        client
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        FreshDb { name, admin }
    }

    /// The settings for this database.
    pub fn config(&self) -> PgConfig {
        let mut c = self.admin.clone();
        c.database = self.name.clone();
        c
    }

    /// A pool on it with at most `max` connections.
    pub async fn pool(&self, max: u32) -> PgPool {
        let mut c = self.config();
        c.max_connections = max;
        PgPool::connect(c).await.unwrap_or_else(|e| panic!("pool on {}: {e}", self.name))
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // A thread with its own runtime: this may run inside or outside one.
        let done = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                let client = admin_client(&admin).await;
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await
            })
        })
        .join();
        if !matches!(done, Ok(Ok(()))) && !std::thread::panicking() {
            panic!("could not drop test database {}: {done:?}", self.name);
        }
    }
}

/// Runs one admin statement on the shared server from a separate thread (usable
/// in `Drop`).
pub fn admin_sql_blocking(sql: String) -> Result<(), String> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let admin = lightrag_pg_test_support::test_database().await.config();
            admin_client(&admin).await.batch_execute(&sql).await.map_err(|e| e.to_string())
        })
    })
    .join()
    .map_err(|_| "admin thread panicked".to_owned())?
}

/// A login role on the shared server, dropped with this value.
#[derive(Debug)]
pub struct TempRole {
    pub name: String,
    pub password: String,
}

impl TempRole {
    /// `CREATE ROLE lightrag_<prefix>_<random> LOGIN PASSWORD …` (no other privilege).
    pub fn create(prefix: &str) -> TempRole {
        let name = format!("lightrag_{prefix}_{}", super::suffix());
        let password = format!("pw-{}", super::suffix());
        admin_sql_blocking(format!("CREATE ROLE {name} LOGIN PASSWORD '{password}'")).expect("CREATE ROLE");
        TempRole { name, password }
    }
}

impl Drop for TempRole {
    fn drop(&mut self) {
        let r = admin_sql_blocking(format!("DROP ROLE IF EXISTS {}", self.name));
        if r.is_err() && !std::thread::panicking() {
            panic!("could not drop role {}: {r:?}", self.name);
        }
    }
}
