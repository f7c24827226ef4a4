//! This crate's throwaway servers: `lightrag_pg_test_support::server::PgServer`
//! (own data directory and loopback port in the sandbox root, deleted on drop;
//! without the root the tests FAIL) with AGE preloaded, pgvector and AGE
//! created, replication allowed, and commits durable across a server crash
//! (`synchronous_commit = on`; `fsync = off` only risks an operating-system
//! crash, which these tests do not cause).

use std::time::Duration;

use lightrag_pg_pool::{PgConfig, RetryPolicy};
pub use lightrag_pg_test_support::server::PgServer;

/// Settings every server of this crate gets.
const CONF: &str = "listen_addresses = '127.0.0.1'\nfsync = off\nsynchronous_commit = on\nfull_page_writes = off\n\
                    shared_buffers = 32MB\nmax_connections = 100\nshared_preload_libraries = 'age'\n\
                    wal_level = replica\nmax_wal_senders = 4\nwal_keep_size = 256MB\nlog_min_messages = warning\n";

const HBA: &str = "local all all trust\nlocal replication all trust\n\
                   host all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n";

/// Starts a server and creates the extensions `vector` and `age` in database
/// `postgres`.
pub fn start_server(prefix: &str) -> PgServer {
    let server = PgServer::builder(prefix).conf(CONF).hba(HBA).start();
    server.psql("CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS age;");
    server
}

/// A streaming standby of `primary`, started, with `cluster_name` as its
/// replication name (for `synchronous_standby_names`). Its own
/// `synchronous_standby_names` is empty, so that once promoted it does not
/// wait for a standby of its own.
pub fn start_standby(primary: &PgServer, prefix: &str, cluster_name: &str) -> PgServer {
    PgServer::builder(prefix)
        .standby_of(primary)
        .conf(CONF)
        .conf(&format!("cluster_name = '{cluster_name}'\nhot_standby = on\nsynchronous_standby_names = ''\n"))
        .start()
}

/// Settings for user postgres in database `postgres` on 127.0.0.1, with short
/// time-outs and a quick retry policy.
pub fn pool_config(server: &PgServer) -> PgConfig {
    let mut c = server.config();
    c.max_connections = 8;
    c.connect_timeout = Duration::from_secs(2);
    c.pool_timeout = Duration::from_secs(10);
    c.retry = RetryPolicy { attempts: 3, backoff: Duration::from_millis(100), backoff_max: Duration::from_millis(400) };
    c
}
