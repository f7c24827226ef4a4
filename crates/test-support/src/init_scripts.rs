//! The project's own `postgres/init` scripts applied to a fresh database of the
//! shared test server, the way the image's entrypoint and `cargo xtask pg up`
//! apply them: `sh 00-create-custom-db.sh`, then `sh 01-init-db.sh`, with
//! libpq's `PG*` variables naming the server's administrator and
//! `POSTGRES_USER`, `POSTGRES_DATABASE`, `LIGHTRAG_APP_USER` and
//! `LIGHTRAG_APP_PASSWORD` naming what to set up. The scripts run the host's
//! `psql` (any version ≥ 10); without it the tests fail, they never skip.
//!
//! ```no_run
//! # async fn example() {
//! use lightrag_pg_test_support::init_scripts::AppRoleDb;
//!
//! let target = AppRoleDb::create("lp").await; // database + role, from the scripts
//! let app = target.app_pool(8).await;         // the least-privileged role's pool
//! # let _ = app;
//! # }
//! ```

use std::path::PathBuf;
use std::process::Command;

use lightrag_pg_pool::{AgeSessionInit, PgConfig, PgPool};

use crate::fresh::{FreshDb, TempRole};

/// `postgres/init` of this workspace.
pub fn init_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../postgres/init")
}

/// A fresh database set up by the `postgres/init` scripts with a
/// least-privileged application role (`LIGHTRAG_APP_USER`) that the scripts
/// created. The database's owner, who runs `lightrag-pg init`, is the shared
/// server's administrator (`POSTGRES_USER` of the scripts). Dropped with this
/// value: the database first, then the role.
#[derive(Debug)]
pub struct AppRoleDb {
    /// The database (owner: the administrator; extensions from `01-init-db.sh`).
    pub db: FreshDb,
    /// The application role the scripts created.
    pub role: TempRole,
}

impl AppRoleDb {
    /// Creates `lightrag_<prefix>_<random>` and runs the init scripts on it
    /// with `LIGHTRAG_APP_USER=lightrag_<prefix>_app_<random>`.
    ///
    /// # Panics
    /// When the database cannot be created, `sh` or `psql` cannot be run, or a
    /// script fails (the message carries its output).
    pub async fn create(prefix: &str) -> AppRoleDb {
        let role = TempRole::reserve(&format!("{prefix}_app"));
        let db = FreshDb::create(prefix).await;
        let admin = db.config();
        let (host, port) = admin.hosts[0].clone();
        for script in ["00-create-custom-db.sh", "01-init-db.sh"] {
            let path = init_dir().join(script);
            // Only what the scripts are documented to read: no POSTGRES_DB,
            // *_FILE or PG* variable of the test's own environment.
            let out = Command::new("sh")
                .arg(&path)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("PGHOST", &host)
                .env("PGPORT", port.to_string())
                .env("PGUSER", &admin.user)
                .env("PGPASSWORD", admin.password.as_deref().unwrap_or_default())
                .env("PGCONNECT_TIMEOUT", "10")
                .env("POSTGRES_USER", &admin.user)
                .env("POSTGRES_PASSWORD", admin.password.as_deref().unwrap_or_default())
                .env("POSTGRES_DATABASE", &db.name)
                .env("LIGHTRAG_APP_USER", &role.name)
                .env("LIGHTRAG_APP_PASSWORD", &role.password)
                .output()
                .unwrap_or_else(|e| panic!("cannot run `sh {}`: {e}", path.display()));
            assert!(
                out.status.success(),
                "postgres/init/{script} failed on {} (it needs `psql` on PATH):\n{}\n{}",
                db.name,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        AppRoleDb { db, role }
    }

    /// The application role's settings for this database: its name and
    /// password, `POSTGRES_AGE_SESSION_INIT=never` (`LOAD 'age'` is for
    /// superusers; AGE is preloaded), at most `max` connections.
    pub fn app_config(&self, max: u32) -> PgConfig {
        let mut c = self.db.config();
        c.user = self.role.name.clone();
        c.password = Some(self.role.password.clone());
        c.max_connections = max;
        c.age_session_init = AgeSessionInit::Never;
        c
    }

    /// A pool of the application role on this database.
    ///
    /// # Panics
    /// When the role cannot connect.
    pub async fn app_pool(&self, max: u32) -> PgPool {
        PgPool::connect(self.app_config(max))
            .await
            .unwrap_or_else(|e| panic!("the application role cannot connect to {}: {e}", self.db.name))
    }
}
