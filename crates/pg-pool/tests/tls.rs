//! TLS against a real server with `ssl = on` and only `hostssl` lines in
//! `pg_hba.conf`, started for this test binary from the sandbox root, with
//! certificates made at run time (rcgen). One behaviour per trial.

mod common;

use std::sync::Arc;

use common::certs::{CLIENT_USER, Pki};
use common::server::{PgServer, ServerTls, pool_config, start_server};
use libtest_mimic::{Arguments, Failed, Trial};
use lightrag_pg_core::Error;
use lightrag_pg_pool::{PgConfig, PgPool, SslConfig, SslMode, doctor};

struct Ctx {
    pki: Pki,
    server: PgServer,
}

impl Ctx {
    fn ssl(&self, mode: SslMode) -> SslConfig {
        SslConfig { mode, ..SslConfig::default() }
    }

    fn with_ca(&self, mode: SslMode, ca_pem: &str, name: &str) -> SslConfig {
        SslConfig { root_cert: Some(self.server.client_file(name, ca_pem)), ..self.ssl(mode) }
    }
}

/// What `pg_stat_ssl` says about the pool's own backend.
#[derive(Debug)]
struct SslRow {
    ssl: bool,
    version: Option<String>,
    cipher: Option<String>,
    client_dn: Option<String>,
}

async fn ssl_row(pool: &PgPool) -> SslRow {
    let conn = pool.get().await.expect("a pooled connection");
    let row = conn
        .query_one("SELECT ssl, version, cipher, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
        .await
        .expect("pg_stat_ssl");
    SslRow { ssl: row.get(0), version: row.get(1), cipher: row.get(2), client_dn: row.get(3) }
}

fn assert_tls13(row: &SslRow) {
    assert!(row.ssl, "{row:?}");
    assert_eq!(row.version.as_deref(), Some("TLSv1.3"), "{row:?}");
    let cipher = row.cipher.as_deref().unwrap_or_default();
    assert!(cipher.starts_with("TLS_AES_") || cipher.starts_with("TLS_CHACHA20_"), "a TLS 1.3 suite: {row:?}");
}

async fn connect(config: PgConfig) -> Result<PgPool, Error> {
    PgPool::connect(config).await
}

fn block_on<F: std::future::Future<Output = ()>>(f: F) -> Result<(), Failed> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f);
    Ok(())
}

fn verify_full_succeeds_with_the_right_ca_and_host_name(ctx: &Ctx) {
    block_on(async {
        let pool =
            connect(pool_config(&ctx.server, "localhost", ctx.with_ca(SslMode::VerifyFull, &ctx.pki.ca_pem, "ca.pem")))
                .await
                .expect("verify-full with the right CA and host name");
        assert_tls13(&ssl_row(&pool).await);
    })
    .unwrap();
}

fn verify_full_fails_with_a_wrong_ca(ctx: &Ctx) {
    block_on(async {
        let cfg =
            pool_config(&ctx.server, "localhost", ctx.with_ca(SslMode::VerifyFull, &ctx.pki.other_ca_pem, "other.pem"));
        let err = connect(cfg).await.expect_err("an unrelated CA must not be accepted");
        assert!(matches!(err, Error::Tls { .. }), "{err:?}");
        assert!(!err.is_retryable(), "a certificate failure is not retried");
        let msg = err.to_string();
        assert!(msg.contains("UnknownIssuer") && msg.contains("sslmode=verify-full"), "{msg}");
    })
    .unwrap();
}

fn verify_full_fails_on_a_host_name_mismatch(ctx: &Ctx) {
    block_on(async {
        // The certificate names only `localhost`; we connect to 127.0.0.1.
        let cfg = pool_config(&ctx.server, "127.0.0.1", ctx.with_ca(SslMode::VerifyFull, &ctx.pki.ca_pem, "ca.pem"));
        let err = connect(cfg).await.expect_err("a certificate for another name must not be accepted");
        assert!(matches!(err, Error::Tls { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("not valid for name") && msg.contains("127.0.0.1"), "{msg}");
    })
    .unwrap();
}

fn verify_ca_passes_despite_a_host_name_mismatch(ctx: &Ctx) {
    block_on(async {
        let cfg = pool_config(&ctx.server, "127.0.0.1", ctx.with_ca(SslMode::VerifyCa, &ctx.pki.ca_pem, "ca.pem"));
        let pool = connect(cfg).await.expect("verify-ca does not check the host name");
        assert_tls13(&ssl_row(&pool).await);
    })
    .unwrap();
}

fn verify_ca_fails_with_a_wrong_ca(ctx: &Ctx) {
    block_on(async {
        let cfg =
            pool_config(&ctx.server, "127.0.0.1", ctx.with_ca(SslMode::VerifyCa, &ctx.pki.other_ca_pem, "other.pem"));
        let err = connect(cfg).await.expect_err("verify-ca checks the chain");
        assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    })
    .unwrap();
}

fn a_revoked_server_certificate_fails_when_the_crl_is_given(ctx: &Ctx) {
    let revoked = start_server(
        "pgpool-tls-revoked",
        Some(ServerTls {
            cert_pem: ctx.pki.revoked_server.cert_pem.clone(),
            key_pem: ctx.pki.revoked_server.key_pem.clone(),
            client_ca_pem: ctx.pki.ca_pem.clone(),
        }),
    );
    block_on(async {
        let ca = revoked.client_file("ca.pem", &ctx.pki.ca_pem);
        let crl = revoked.client_file("crl.pem", &ctx.pki.crl_pem);
        let without_crl = SslConfig { root_cert: Some(ca.clone()), ..ctx.ssl(SslMode::VerifyFull) };
        let pool = connect(pool_config(&revoked, "127.0.0.1", without_crl)).await.expect("valid when no CRL is given");
        assert_tls13(&ssl_row(&pool).await);
        let with_crl = SslConfig { root_cert: Some(ca), crl: Some(crl), ..ctx.ssl(SslMode::VerifyFull) };
        let err = connect(pool_config(&revoked, "127.0.0.1", with_crl)).await.expect_err("the CRL revokes it");
        assert!(matches!(err, Error::Tls { .. }), "{err:?}");
        assert!(err.to_string().contains("Revoked"), "{err}");
    })
    .unwrap();
}

fn a_certificate_not_on_the_crl_passes_with_the_crl_given(ctx: &Ctx) {
    block_on(async {
        let ssl = SslConfig {
            root_cert: Some(ctx.server.client_file("ca.pem", &ctx.pki.ca_pem)),
            crl: Some(ctx.server.client_file("crl.pem", &ctx.pki.crl_pem)),
            ..ctx.ssl(SslMode::VerifyFull)
        };
        let pool = connect(pool_config(&ctx.server, "localhost", ssl)).await.expect("not revoked");
        assert!(ssl_row(&pool).await.ssl);
    })
    .unwrap();
}

fn require_connects_without_a_ca(ctx: &Ctx) {
    block_on(async {
        let pool = connect(pool_config(&ctx.server, "127.0.0.1", ctx.ssl(SslMode::Require)))
            .await
            .expect("require without a CA");
        assert_tls13(&ssl_row(&pool).await);
    })
    .unwrap();
}

fn prefer_uses_tls_when_the_server_offers_it(ctx: &Ctx) {
    block_on(async {
        let pool = connect(pool_config(&ctx.server, "127.0.0.1", ctx.ssl(SslMode::Prefer))).await.expect("prefer");
        assert_tls13(&ssl_row(&pool).await);
    })
    .unwrap();
}

fn allow_switches_to_tls_when_the_server_refuses_plain(ctx: &Ctx) {
    block_on(async {
        let pool = connect(pool_config(&ctx.server, "127.0.0.1", ctx.ssl(SslMode::Allow))).await.expect("allow");
        assert_tls13(&ssl_row(&pool).await);
    })
    .unwrap();
}

fn disable_against_a_hostssl_only_server_fails_with_a_clear_error(ctx: &Ctx) {
    block_on(async {
        let err = connect(pool_config(&ctx.server, "127.0.0.1", ctx.ssl(SslMode::Disable)))
            .await
            .expect_err("plain is refused");
        assert_eq!(err.sqlstate(), Some("28000"), "{err:?}");
        assert!(!err.is_retryable());
        let msg = err.to_string();
        assert!(msg.contains("no encryption") && msg.contains("POSTGRES_SSL_MODE"), "{msg}");
    })
    .unwrap();
}

fn client_certificate_authentication_works(ctx: &Ctx) {
    block_on(async {
        let ssl = SslConfig {
            root_cert: Some(ctx.server.client_file("ca.pem", &ctx.pki.ca_pem)),
            cert: Some(ctx.server.client_file("client.crt", &ctx.pki.client.cert_pem)),
            key: Some(ctx.server.client_file("client.key", &ctx.pki.client.key_pem)),
            ..ctx.ssl(SslMode::VerifyFull)
        };
        let mut cfg = pool_config(&ctx.server, "localhost", ssl);
        cfg.user = CLIENT_USER.to_owned();
        cfg.password = None;
        let pool = connect(cfg).await.expect("cert authentication");
        let conn = pool.get().await.unwrap();
        let user: String = conn.query_one("SELECT current_user::text", &[]).await.unwrap().get(0);
        assert_eq!(user, CLIENT_USER);
        drop(conn);
        let row = ssl_row(&pool).await;
        assert_tls13(&row);
        assert_eq!(row.client_dn.as_deref(), Some(format!("/CN={CLIENT_USER}").as_str()));
    })
    .unwrap();
}

fn cert_authentication_without_a_client_certificate_is_refused(ctx: &Ctx) {
    block_on(async {
        let mut cfg =
            pool_config(&ctx.server, "localhost", ctx.with_ca(SslMode::VerifyFull, &ctx.pki.ca_pem, "ca.pem"));
        cfg.user = CLIENT_USER.to_owned();
        cfg.password = None;
        let err = connect(cfg).await.expect_err("cert auth needs a certificate");
        assert_eq!(err.sqlstate(), Some("28000"), "{err:?}");
    })
    .unwrap();
}

fn the_doctor_reports_the_tls_protocol_and_cipher(ctx: &Ctx) {
    block_on(async {
        let pool =
            connect(pool_config(&ctx.server, "localhost", ctx.with_ca(SslMode::VerifyFull, &ctx.pki.ca_pem, "ca.pem")))
                .await
                .unwrap();
        let report = doctor(&pool).await;
        let tls = report.tls.expect("TLS info");
        assert!(tls.ssl);
        assert_eq!(tls.version.as_deref(), Some("TLSv1.3"));
        assert!(tls.cipher.is_some_and(|c| c.starts_with("TLS_")));
        assert!(tls.bits.is_some_and(|b| b >= 128));
    })
    .unwrap();
}

fn main() {
    let args = Arguments::from_args();
    let pki = Pki::generate();
    let server = start_server(
        "pgpool-tls",
        Some(ServerTls {
            cert_pem: pki.server.cert_pem.clone(),
            key_pem: pki.server.key_pem.clone(),
            client_ca_pem: pki.ca_pem.clone(),
        }),
    );
    let ctx = Arc::new(Ctx { pki, server });
    type Case = fn(&Ctx);
    let cases: Vec<(&str, Case)> = vec![
        ("verify_full_succeeds_with_the_right_ca_and_host_name", verify_full_succeeds_with_the_right_ca_and_host_name),
        ("verify_full_fails_with_a_wrong_ca", verify_full_fails_with_a_wrong_ca),
        ("verify_full_fails_on_a_host_name_mismatch", verify_full_fails_on_a_host_name_mismatch),
        ("verify_ca_passes_despite_a_host_name_mismatch", verify_ca_passes_despite_a_host_name_mismatch),
        ("verify_ca_fails_with_a_wrong_ca", verify_ca_fails_with_a_wrong_ca),
        (
            "a_revoked_server_certificate_fails_when_the_crl_is_given",
            a_revoked_server_certificate_fails_when_the_crl_is_given,
        ),
        (
            "a_certificate_not_on_the_crl_passes_with_the_crl_given",
            a_certificate_not_on_the_crl_passes_with_the_crl_given,
        ),
        ("require_connects_without_a_ca", require_connects_without_a_ca),
        ("prefer_uses_tls_when_the_server_offers_it", prefer_uses_tls_when_the_server_offers_it),
        ("allow_switches_to_tls_when_the_server_refuses_plain", allow_switches_to_tls_when_the_server_refuses_plain),
        (
            "disable_against_a_hostssl_only_server_fails_with_a_clear_error",
            disable_against_a_hostssl_only_server_fails_with_a_clear_error,
        ),
        ("client_certificate_authentication_works", client_certificate_authentication_works),
        (
            "cert_authentication_without_a_client_certificate_is_refused",
            cert_authentication_without_a_client_certificate_is_refused,
        ),
        ("the_doctor_reports_the_tls_protocol_and_cipher", the_doctor_reports_the_tls_protocol_and_cipher),
    ];
    let trials = cases
        .into_iter()
        .map(|(name, case)| {
            let ctx = ctx.clone();
            Trial::test(name, move || {
                case(&ctx);
                Ok(())
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(ctx); // stops and deletes the server before the process exits
    conclusion.exit();
}
