//! Turning driver errors into the workspace's typed [`Error`], in one place.
//!
//! The classification decides what [`crate::PgPool::retry`] replays, and how
//! ([`Error::retry_class`]):
//!
//! | driver error | becomes | retryable |
//! |---|---|---|
//! | server error with a SQLSTATE | [`Error::Database`] with the code | per the one SQLSTATE table, [`lightrag_pg_core::error::RETRYABLE_SQLSTATES`] (lock conflicts, lock time-outs; server shutdowns and `08…`: connection loss) |
//! | certificate or TLS protocol failure (rustls) | [`Error::Tls`] | no |
//! | server without TLS when TLS is required | [`Error::Tls`] | no |
//! | refused, reset or closed connection, I/O error, connect timeout | [`Error::Connection`] | yes: connection loss |
//! | anything else (a value the driver could not encode, …) | [`Error::Database`] without a code | no |

use std::sync::Arc;

use lightrag_pg_core::Error;
use lightrag_pg_core::error::BoxError;

/// What a driver error is, before it is wrapped with its cause.
enum Class {
    Database { sqlstate: String, message: String },
    Tls(String),
    Connection(String),
    Other(String),
}

/// The error and its causes as one line (`error connecting to server: Connection
/// refused (os error 111)`).
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    // An `io::Error` wrapping a custom error shows that error in its `Display`
    // but skips it in `source()`; nothing more to add then.
    out
}

/// The rustls error somewhere in the cause chain, if any (tokio-rustls wraps it in
/// an `io::Error`).
fn rustls_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(r) = io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

fn has_io_cause(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = e.source();
    while let Some(err) = cur {
        if err.is::<std::io::Error>() {
            return true;
        }
        cur = err.source();
    }
    false
}

fn classify(e: &tokio_postgres::Error) -> Class {
    if let Some(db) = e.as_db_error() {
        let mut message = db.message().to_owned();
        if let Some(detail) = db.detail() {
            message.push_str(" (");
            message.push_str(detail);
            message.push(')');
        }
        return Class::Database { sqlstate: db.code().code().to_owned(), message };
    }
    let text = describe(e);
    if let Some(tls) = rustls_cause(e) {
        return Class::Tls(format!("TLS handshake failed: {tls}"));
    }
    // tokio-postgres has no public error kind; its `Display` names the kind.
    let tls_kind = e.to_string() == "error performing TLS handshake";
    if tls_kind && !has_io_cause(e) {
        // "server does not support TLS" and the like: a setting, not a blip.
        return Class::Tls(text);
    }
    if e.is_closed() || has_io_cause(e) || e.to_string() == "timeout waiting for server" {
        return Class::Connection(text);
    }
    Class::Other(text)
}

fn build(class: Class, source: BoxError) -> Error {
    match class {
        Class::Database { sqlstate, message } => {
            Error::Database { sqlstate: Some(sqlstate), message, source: Some(source) }
        }
        Class::Tls(message) => Error::Tls { message, source: Some(source) },
        Class::Connection(message) => Error::Connection { message, retryable: true, source: Some(source) },
        Class::Other(message) => Error::Database { sqlstate: None, message, source: Some(source) },
    }
}

/// Classifies a tokio-postgres error: a server error keeps its SQLSTATE
/// ([`Error::Database`]); a certificate or TLS set-up failure becomes a
/// non-retryable [`Error::Tls`]; a broken or refused connection becomes a
/// retryable [`Error::Connection`]; anything else (a value the driver could not
/// encode, a protocol surprise) becomes [`Error::Database`] without a code. The
/// driver error is kept as the `source`.
pub fn db_error(e: tokio_postgres::Error) -> Error {
    let class = classify(&e);
    build(class, Box::new(e))
}

/// A driver error shared by everyone waiting on the pool when a connection
/// attempt failed.
#[derive(Debug, Clone)]
pub(crate) struct SharedError(pub(crate) Arc<tokio_postgres::Error>);

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// [`db_error`] for a shared driver error.
pub(crate) fn shared_db_error(e: &Arc<tokio_postgres::Error>) -> Error {
    build(classify(e), Box::new(SharedError(e.clone())))
}

/// Maps a pool checkout failure.
pub(crate) fn pool_error(e: bb8::RunError<tokio_postgres::Error>, timeout: std::time::Duration) -> Error {
    match e {
        bb8::RunError::User(e) => db_error(e),
        bb8::RunError::TimedOut => Error::Timeout {
            what: "waiting for a pooled PostgreSQL connection (the pool is exhausted: every connection is in use)"
                .into(),
            after: timeout,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rustls_error_inside_an_io_error_is_found() {
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let found = rustls_cause(&io).expect("rustls cause");
        assert!(matches!(found, rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)));
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert!(rustls_cause(&plain).is_none());
    }

    #[test]
    fn the_connect_timeout_is_a_retryable_connection_error() {
        let e = db_error(tokio_postgres::Error::__private_api_timeout());
        assert!(matches!(e, Error::Connection { retryable: true, .. }), "{e:?}");
        assert!(e.is_retryable());
    }

    #[test]
    fn server_errors_take_their_retry_class_from_the_sqlstate_table() {
        use lightrag_pg_core::error::RetryClass;
        let cause = || -> BoxError { Box::new(std::io::Error::other("cause")) };
        let server = |code: &str| build(Class::Database { sqlstate: code.into(), message: String::new() }, cause());
        assert_eq!(server("40P01").retry_class(), Some(RetryClass::LockConflict));
        assert_eq!(server("55P03").retry_class(), Some(RetryClass::LockTimeout));
        assert_eq!(server("57P01").retry_class(), Some(RetryClass::ConnectionLoss));
        assert_eq!(server("08006").retry_class(), Some(RetryClass::ConnectionLoss));
        assert_eq!(server("57014").retry_class(), None);
        assert_eq!(build(Class::Connection("reset".into()), cause()).retry_class(), Some(RetryClass::ConnectionLoss));
        assert_eq!(build(Class::Tls("bad certificate".into()), cause()).retry_class(), None);
        assert_eq!(build(Class::Other("encode".into()), cause()).retry_class(), None);
    }

    #[test]
    fn descriptions_include_the_causes() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        assert_eq!(describe(&io), "Connection refused");
    }
}
