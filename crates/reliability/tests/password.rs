//! No password in logs, error messages or `Debug` output: every tracing event
//! of this binary (TRACE level, all targets) is captured into a buffer, failed
//! connections are provoked (wrong password, nothing listening), and the
//! secret is looked for everywhere it could leak.

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use common::capture::Captured;
use lightrag_pg::StoragesBuilder;
use lightrag_pg_core::Error;
use lightrag_pg_pool::{PgConfig, PgPool, RetryPolicy};

fn capture() -> &'static Captured {
    static CAPTURE: OnceLock<Captured> = OnceLock::new();
    CAPTURE.get_or_init(common::capture::install_global)
}

fn secret() -> String {
    format!("S3cret-Pa55-{}", common::suffix())
}

/// The error's `Display`, `Debug` and every cause's `Display`.
fn error_texts(e: &Error) -> Vec<String> {
    let mut out = vec![e.to_string(), format!("{e:?}")];
    let mut cur: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = cur {
        out.push(s.to_string());
        out.push(format!("{s:?}"));
        cur = s.source();
    }
    out
}

fn assert_absent(secret: &str, what: &str, text: &str) {
    assert!(!text.contains(secret), "the password appears in {what}:\n{text}");
}

fn quick(mut c: PgConfig) -> PgConfig {
    c.retry = RetryPolicy { attempts: 3, backoff: Duration::from_millis(20), backoff_max: Duration::from_millis(50) };
    c.connect_timeout = Duration::from_secs(2);
    c.pool_timeout = Duration::from_secs(2);
    c
}

#[tokio::test]
async fn password_never_appears_when_authentication_fails() {
    let log = capture();
    let secret = secret();
    let mut config = quick(common::shared_config().await);
    config.password = Some(secret.clone());

    let err = PgPool::connect(config.clone()).await.expect_err("a wrong password is refused");
    assert_eq!(err.sqlstate(), Some("28P01"), "{err:?}");
    for t in error_texts(&err) {
        assert_absent(&secret, "the connect error", &t);
    }
    let lazy = PgPool::connect_lazy(config.clone()).expect("lazy pool");
    let err = lazy.get().await.expect_err("refused again");
    for t in error_texts(&err) {
        assert_absent(&secret, "the checkout error", &t);
    }
    assert_absent(&secret, "the pool's Debug", &format!("{lazy:?}"));
    let err = StoragesBuilder::new().pg_config(config.clone()).workspace("pw").build().await.expect_err("refused");
    for t in error_texts(&err) {
        assert_absent(&secret, "the facade's error", &t);
    }

    let text = log.text();
    assert!(text.contains("opening a pooled connection failed"), "the failure was not logged:\n{text}");
    assert_absent(&secret, "the tracing output", &text);
}

#[tokio::test]
async fn password_never_appears_when_the_host_is_unreachable() {
    let log = capture();
    let secret = secret();
    let mut config = quick(common::shared_config().await);
    config.hosts = vec![("127.0.0.1".to_owned(), common::free_port())];
    config.password = Some(secret.clone());

    let err = PgPool::connect(config.clone()).await.expect_err("nothing listens there");
    assert!(matches!(err, Error::Connection { .. }), "{err:?}");
    for t in error_texts(&err) {
        assert_absent(&secret, "the connect error", &t);
    }
    let text = log.text();
    assert!(text.contains("refused"), "the failure was not logged:\n{text}");
    assert_absent(&secret, "the tracing output", &text);
}

#[tokio::test]
async fn password_is_redacted_in_debug_output_urls_and_configuration_errors() {
    let secret = secret();
    let config = PgConfig::builder().host("db.internal").password(secret.clone()).build();
    assert_absent(&secret, "PgConfig's Debug", &format!("{config:?}"));
    assert_absent(&secret, "PgConfig's pretty Debug", &format!("{config:#?}"));
    assert_absent(&secret, "the redacted URL", &config.url(false));
    assert!(config.url(true).contains(&secret), "the unredacted URL is for the caller who asks");
    assert_absent(&secret, "the builder's Debug", &format!("{:?}", StoragesBuilder::new().pg_config(config.clone())));
    let pool = PgPool::connect_lazy(config).expect("lazy pool");
    assert_absent(&secret, "the pool's Debug", &format!("{pool:?}"));

    for bad in [
        format!("postgres://u:{secret}@h:notaport/db"),
        format!("postgres://u:{secret}@h/db?sslmode=sometimes"),
        format!("postgres://u:{secret}@h/db?unknown=1"),
        format!("mysql://u:{secret}@h/db"),
    ] {
        let err = PgConfig::from_url(&bad).expect_err("a malformed URL");
        for t in error_texts(&err) {
            assert_absent(&secret, "a URL parse error", &t);
        }
    }
}
