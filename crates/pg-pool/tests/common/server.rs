//! This crate's throwaway servers: `lightrag_pg_test_support::server::PgServer`
//! (own data directory and port in the sandbox root, deleted on drop; without
//! the root the tests FAIL) with the pool tests' settings: plain
//! `host … scram-sha-256`, or TLS with only `hostssl` lines and
//! [`CLIENT_USER`] logging in by client certificate.

use std::time::Duration;

use lightrag_pg_pool::{PgConfig, RetryPolicy, SslConfig, SslMode};
pub use lightrag_pg_test_support::server::{PgServer, ServerTls};

use super::certs::CLIENT_USER;

const CONF: &str = "listen_addresses = 'localhost'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
                    shared_buffers = 16MB\nmax_connections = 60\n";

const PLAIN_HBA: &str =
    "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n";

/// Starts a server. `tls: None` gives a plain server (`host … scram-sha-256`);
/// with TLS the server takes only `hostssl` connections, and [`CLIENT_USER`]
/// logs in by client certificate.
pub fn start_server(prefix: &str, tls: Option<ServerTls>) -> PgServer {
    let builder = PgServer::builder(prefix).conf(CONF);
    let Some(tls) = tls else {
        return builder.hba(PLAIN_HBA).start();
    };
    let server = builder
        .tls(tls)
        .hba(&format!(
            "local all all trust\n\
             hostssl all {CLIENT_USER} 127.0.0.1/32 cert\nhostssl all {CLIENT_USER} ::1/128 cert\n\
             hostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n"
        ))
        .start();
    server.psql(&format!("CREATE ROLE {CLIENT_USER} LOGIN"));
    server
}

/// Settings for user postgres on `host` (`localhost` or `127.0.0.1`), with a
/// quick retry policy and short time-outs.
pub fn pool_config(server: &PgServer, host: &str, ssl: SslConfig) -> PgConfig {
    let mut c = server.config();
    c.hosts = vec![(host.to_owned(), server.port())];
    c.ssl = ssl;
    c.max_connections = 4;
    c.connect_timeout = Duration::from_secs(5);
    c.pool_timeout = Duration::from_secs(10);
    c.retry = RetryPolicy { attempts: 2, backoff: Duration::from_millis(100), backoff_max: Duration::from_millis(200) };
    c
}

/// An [`SslConfig`] for `mode`, nothing else set.
pub fn ssl(mode: SslMode) -> SslConfig {
    SslConfig { mode, ..SslConfig::default() }
}
