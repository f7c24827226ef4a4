//! Turning driver errors into the workspace's typed [`Error`], in one place.

use lightrag_pg_core::Error;

/// Classifies a tokio-postgres error: a server error keeps its SQLSTATE
/// ([`Error::Database`]); a broken or refused connection becomes a retryable
/// [`Error::Connection`]; anything else (a value the driver could not encode, a
/// protocol surprise) becomes [`Error::Database`] without a code.
pub fn db_error(e: tokio_postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let mut message = db.message().to_owned();
        if let Some(detail) = db.detail() {
            message.push_str(" (");
            message.push_str(detail);
            message.push(')');
        }
        return Error::Database { sqlstate: Some(db.code().code().to_owned()), message, source: Some(Box::new(e)) };
    }
    let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        return Error::Connection { message: e.to_string(), retryable: true, source: Some(Box::new(e)) };
    }
    Error::Database { sqlstate: None, message: e.to_string(), source: Some(Box::new(e)) }
}

/// Maps a pool checkout failure.
pub(crate) fn pool_error(e: bb8::RunError<tokio_postgres::Error>, timeout: std::time::Duration) -> Error {
    match e {
        bb8::RunError::User(e) => db_error(e),
        bb8::RunError::TimedOut => Error::Timeout {
            what: "waiting for a pooled PostgreSQL connection (is the server up, or the pool exhausted?)".into(),
            after: timeout,
        },
    }
}
