//! A throwaway PostgreSQL 17 cluster run from the sandbox root
//! (`lightrag_pg_test_support::server::PgServer`: its own data directory and
//! port, stopped and deleted on drop; without the root the tests FAIL) that
//! runs with the project's `postgres/config/postgresql.conf`, and has the
//! project's init scripts and backup script in its scratch directory.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

pub use lightrag_pg_test_support::server::PgServer;

/// The workspace root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// initdb, `postgres/config/postgresql.conf` included (memory scaled down
/// after it), start. The scratch directory holds `postgresql.conf`,
/// `backup.sh` and `init/` from the repository.
pub fn start_cluster(prefix: &str) -> PgServer {
    let builder = PgServer::builder(&format!("ops-{prefix}"));
    let scratch = builder.scratch();
    let server = builder
        .conf(&format!(
            "include '{scratch}/postgresql.conf'\n# test overrides\nlisten_addresses = 'localhost'\n\
             fsync = off\nshared_buffers = 16MB\nmax_connections = 30\n\
             effective_cache_size = 128MB\nmaintenance_work_mem = 64MB\nmax_wal_size = 256MB\nmin_wal_size = 64MB\n"
        ))
        .init();
    // The project's configuration file and scripts, copied into the root.
    let host = server.host_scratch();
    std::fs::copy(repo().join("postgres/config/postgresql.conf"), host.join("postgresql.conf")).unwrap();
    std::fs::copy(repo().join("postgres/scripts/backup.sh"), host.join("backup.sh")).unwrap();
    std::fs::create_dir_all(host.join("init")).unwrap();
    for e in std::fs::read_dir(repo().join("postgres/init")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), host.join("init").join(e.file_name())).unwrap();
    }
    server.start();
    server
}
