//! A primary and its streaming standby ([`streaming_pair`]), both
//! [`PgServer`]s of the sandbox root, for the read-routing tests.

use std::time::{Duration, Instant};

use crate::server::PgServer;

/// Settings of both servers: loopback only, replication on, hot standby, and
/// `synchronous_commit = on` so a commit is in the flushed WAL the standby
/// streams as soon as it returns.
pub const CONF: &str = "listen_addresses = '127.0.0.1'\nfsync = off\nsynchronous_commit = on\n\
                        full_page_writes = off\nshared_buffers = 16MB\nmax_connections = 60\nwal_level = replica\n\
                        max_wal_senders = 4\nhot_standby = on\nlog_min_messages = warning\n";

/// `pg_hba.conf`: trust over the socket (replication included, for
/// `pg_basebackup` and the standby's stream), passwords over TCP.
pub const HBA: &str = "local all all trust\nlocal replication all trust\n\
                       host all all 127.0.0.1/32 scram-sha-256\nhost replication all 127.0.0.1/32 scram-sha-256\n";

/// Starts a primary (`<prefix>-p`), runs `load` on it, then makes and starts
/// its standby (`<prefix>-s`, `pg_basebackup -R`) and waits until the standby
/// has replayed everything.
///
/// # Panics
/// When a server cannot be made or the standby does not catch up in 60 s.
pub async fn streaming_pair<F: std::future::Future<Output = ()>>(
    prefix: &str,
    load: impl FnOnce(&PgServer) -> F,
) -> (PgServer, PgServer) {
    let primary = PgServer::builder(&format!("{prefix}-p")).conf(CONF).hba(HBA).start();
    load(&primary).await;
    let standby = PgServer::builder(&format!("{prefix}-s")).standby_of(&primary).conf(CONF).start();
    until_replayed(&primary, &standby).await;
    (primary, standby)
}

/// Waits until `standby` has replayed the WAL `primary` has flushed so far.
///
/// # Panics
/// When it has not within 60 s.
pub async fn until_replayed(primary: &PgServer, standby: &PgServer) {
    let p = primary.client().await.expect("primary");
    let s = standby.client().await.expect("standby");
    let lsn: String = p.query_one("SELECT pg_current_wal_flush_lsn()::text", &[]).await.expect("lsn").get(0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !s
        .query_one("SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", &[&lsn])
        .await
        .expect("replay position")
        .get::<_, bool>(0)
    {
        assert!(Instant::now() < deadline, "standby {} did not catch up within 60 s", standby.name());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
