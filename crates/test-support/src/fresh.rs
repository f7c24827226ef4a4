//! Fresh databases and roles on the shared test server ([`test_database`]),
//! dropped afterwards even when the test fails: for tests that need an empty
//! database (migrations, the doctor, least privilege) or a role of their own.
//!
//! ```no_run
//! # async fn example() {
//! use lightrag_pg_test_support::fresh::{FreshDb, TempRole};
//!
//! let role = TempRole::create("app"); // dropped after the database
//! let db = FreshDb::create("mig").await;
//! let pool = db.pool(4).await; // declared after `db`: dropped first
//! # let _ = (role, pool);
//! # }
//! ```

use lightrag_pg_pool::{PgConfig, PgPool, tokio_postgres};

use crate::test_database;

/// A plain (unpooled, no TLS) client with `admin`'s host, user and password,
/// in database `db`; its connection task runs on the current runtime.
///
/// # Panics
/// When the server cannot be reached.
pub async fn admin_client_in(admin: &PgConfig, db: &str) -> tokio_postgres::Client {
    let (host, port) = admin.hosts[0].clone();
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&host).port(port).user(&admin.user).dbname(db);
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

/// Runs `sql` as the shared server's admin in database `db` (default: the
/// configured one) from a separate thread with its own runtime: usable in
/// `Drop`, inside a runtime or outside any.
///
/// # Errors
/// The server's error message, or that the thread panicked (no database, not
/// reachable).
pub fn admin_sql_blocking(db: Option<String>, sql: String) -> Result<(), String> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let admin = test_database().await.config();
            let db = db.unwrap_or_else(|| admin.database.clone());
            admin_client_in(&admin, &db).await.batch_execute(&sql).await.map_err(|e| e.to_string())
        })
    })
    .join()
    .map_err(|_| "admin thread panicked".to_owned())?
}

/// A database created for one test (`CREATE DATABASE … TEMPLATE template0`,
/// empty: no extension) and dropped `WITH (FORCE)` when this value is dropped,
/// even if the test fails. Declare pools on it after it, so that they are
/// dropped (and their sessions closed) first: the drop blocks the current
/// thread.
#[derive(Debug)]
pub struct FreshDb {
    /// `lightrag_<prefix>_<random>`.
    pub name: String,
    admin: PgConfig,
}

impl FreshDb {
    /// Creates `lightrag_<prefix>_<random>` on the shared test server.
    ///
    /// # Panics
    /// When there is no test database or `CREATE DATABASE` fails.
    pub async fn create(prefix: &str) -> FreshDb {
        let admin = test_database().await.config();
        let name = format!("lightrag_{prefix}_{}", crate::suffix());
        admin_client_in(&admin, &admin.database)
            .await
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
        FreshDb { name, admin }
    }

    /// The admin settings for this database.
    pub fn config(&self) -> PgConfig {
        let mut c = self.admin.clone();
        c.database = self.name.clone();
        c
    }

    /// The admin role's name.
    pub fn admin_user(&self) -> &str {
        &self.admin.user
    }

    /// A plain admin client in this database.
    ///
    /// # Panics
    /// When the server cannot be reached.
    pub async fn admin_client(&self) -> tokio_postgres::Client {
        admin_client_in(&self.admin, &self.name).await
    }

    /// An admin pool on it with at most `max` connections.
    ///
    /// # Panics
    /// When the pool cannot connect.
    pub async fn pool(&self, max: u32) -> PgPool {
        let mut c = self.config();
        c.max_connections = max;
        PgPool::connect(c).await.unwrap_or_else(|e| panic!("pool on {}: {e}", self.name))
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        let r = admin_sql_blocking(None, format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        if r.is_err() && !std::thread::panicking() {
            panic!("could not drop test database {}: {r:?}", self.name);
        }
    }
}

/// A login role on the shared server without any other attribute, dropped with
/// this value (declare it before the databases it has privileges in, so that
/// they are dropped first).
#[derive(Debug)]
pub struct TempRole {
    /// `lightrag_<prefix>_<random>`.
    pub name: String,
    /// Its password.
    pub password: String,
}

impl TempRole {
    /// A name `lightrag_<prefix>_<random>` and a password for a role that
    /// something else creates (the `postgres/init` scripts, see
    /// [`crate::init_scripts`]); dropped like any [`TempRole`], if it exists.
    pub fn reserve(prefix: &str) -> TempRole {
        TempRole { name: format!("lightrag_{prefix}_{}", crate::suffix()), password: format!("pw-{}", crate::suffix()) }
    }

    /// `CREATE ROLE lightrag_<prefix>_<random> LOGIN PASSWORD …` with every
    /// other attribute off.
    ///
    /// # Panics
    /// When `CREATE ROLE` fails.
    pub fn create(prefix: &str) -> TempRole {
        let role = TempRole::reserve(prefix);
        admin_sql_blocking(
            None,
            format!(
                "CREATE ROLE {} LOGIN PASSWORD '{}' NOSUPERUSER NOCREATEDB NOCREATEROLE \
                 NOREPLICATION NOBYPASSRLS INHERIT",
                role.name, role.password
            ),
        )
        .expect("CREATE ROLE");
        role
    }
}

impl Drop for TempRole {
    fn drop(&mut self) {
        let r = admin_sql_blocking(None, format!("DROP ROLE IF EXISTS {}", self.name));
        if r.is_err() && !std::thread::panicking() {
            panic!("could not drop role {}: {r:?}", self.name);
        }
    }
}
