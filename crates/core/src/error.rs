//! The one error type every storage call returns.
//!
//! Callers branch on the variant: a [`Error::DimensionMismatch`] is a caller bug, a
//! [`Error::Connection`] may be retried ([`Error::is_retryable`]), a
//! [`Error::Database`] carries the SQLSTATE. Causes are kept as `#[source]`, never
//! flattened into strings.

use std::time::Duration;

/// A boxed error cause.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a storage call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A vector has the wrong number of dimensions for its table.
    #[error("{}dimension mismatch: expected {expected}, got {got}", id_prefix(.id))]
    DimensionMismatch {
        /// The record id, when the vector belongs to one.
        id: Option<String>,
        /// The table's dimension.
        expected: usize,
        /// The vector's dimension.
        got: usize,
    },
    /// The caller passed something the contract refuses; `input` names it (an id, a
    /// field, a workspace).
    #[error("invalid input {input:?}: {reason}")]
    InvalidInput {
        /// The offending id, field or value (possibly shortened).
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// A record that must exist does not.
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for.
        what: String,
    },
    /// A write lost a race or violated a constraint.
    #[error("conflict: {what}")]
    Conflict {
        /// What conflicted.
        what: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The server could not be reached, or the connection broke.
    #[error("connection error: {message}")]
    Connection {
        /// What happened.
        message: String,
        /// Whether retrying the same call can succeed.
        retryable: bool,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The server refused a statement.
    #[error("database error{}: {message}", sqlstate_suffix(.sqlstate))]
    Database {
        /// The SQLSTATE code, e.g. `23505`.
        sqlstate: Option<String>,
        /// The server's message.
        message: String,
        /// The underlying driver error.
        #[source]
        source: Option<BoxError>,
    },
    /// A configuration value is missing or malformed; `key` names it
    /// (for example `POSTGRES_PORT`).
    #[error("{key}: {message}")]
    Config {
        /// The setting's name.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// TLS could not be set up or the handshake failed.
    #[error("TLS error: {message}")]
    Tls {
        /// What happened.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// A graph-specific failure (AGE missing, bad graph name, lost edge write).
    #[error("graph error: {message}")]
    Graph {
        /// What happened.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// An operation did not finish within its time budget.
    #[error("timed out after {after:?}: {what}")]
    Timeout {
        /// What timed out.
        what: String,
        /// The budget.
        after: Duration,
    },
    /// A read on a streaming standby failed because the standby is gone
    /// (refused, reset, shutting down) or no longer fit to read from: the read
    /// is replayed at once on the primary ([`RetryClass::Reroute`]).
    #[error("standby {host} unavailable for reads: {message}")]
    StandbyUnavailable {
        /// The standby (`host:port`), or the read hosts as configured.
        host: String,
        /// What happened.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The backend does not support this operation.
    #[error("unsupported: {what}")]
    Unsupported {
        /// The operation.
        what: String,
    },
}

fn id_prefix(id: &Option<String>) -> String {
    match id {
        Some(id) => format!("record {id:?}: "),
        None => String::new(),
    }
}

fn sqlstate_suffix(code: &Option<String>) -> String {
    match code {
        Some(code) => format!(" [{code}]"),
        None => String::new(),
    }
}

/// How a failed call may be retried; each class has its own back-off (see
/// `lightrag_pg_pool::PgPool::retry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryClass {
    /// The connection broke or was refused, the server is shutting down or not
    /// accepting connections yet, or no pooled connection freed up: wait for the
    /// server (seconds: `POSTGRES_CONNECTION_RETRY_BACKOFF…`).
    ConnectionLoss,
    /// The transaction lost a race with another one (deadlock, serialization
    /// failure) and was rolled back: replay the whole transaction soon
    /// (milliseconds).
    LockConflict,
    /// A lock was not granted within `lock_timeout` (or `NOWAIT`): replay the
    /// statement, or the transaction, soon (milliseconds; the server has
    /// already waited).
    LockTimeout,
    /// A read on a standby failed ([`Error::StandbyUnavailable`]): replay it at
    /// once, on the primary.
    Reroute,
}

/// The one table of SQLSTATE codes after which the same statement may succeed
/// when retried, with their class. Every other code is final, except class `08`
/// (connection exception), which is [`RetryClass::ConnectionLoss`] as a whole.
pub const RETRYABLE_SQLSTATES: &[(&str, RetryClass)] = &[
    ("40001", RetryClass::LockConflict),   // serialization_failure
    ("40P01", RetryClass::LockConflict),   // deadlock_detected
    ("55P03", RetryClass::LockTimeout),    // lock_not_available
    ("57P01", RetryClass::ConnectionLoss), // admin_shutdown
    ("57P02", RetryClass::ConnectionLoss), // crash_shutdown
    ("57P03", RetryClass::ConnectionLoss), // cannot_connect_now
    ("53300", RetryClass::ConnectionLoss), // too_many_connections
];

/// The retry class of a SQLSTATE code, per [`RETRYABLE_SQLSTATES`]; `None` when
/// retrying cannot help.
pub fn sqlstate_retry_class(code: &str) -> Option<RetryClass> {
    if code.starts_with("08") {
        return Some(RetryClass::ConnectionLoss);
    }
    RETRYABLE_SQLSTATES.iter().find(|(c, _)| *c == code).map(|(_, class)| *class)
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(input: impl Into<String>, reason: impl Into<String>) -> Self {
        let mut input: String = input.into();
        if input.chars().count() > 120 {
            input = input.chars().take(117).collect::<String>() + "...";
        }
        Self::InvalidInput { input, reason: reason.into() }
    }

    /// Shorthand for [`Error::Config`].
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config { key: key.into(), message: message.into() }
    }

    /// Shorthand for [`Error::Graph`] without a cause.
    pub fn graph(message: impl Into<String>) -> Self {
        Self::Graph { message: message.into(), source: None }
    }

    /// Whether retrying the failed call may succeed: broken or refused connections,
    /// server shutdowns, serialization failures, deadlocks and time-outs
    /// ([`Error::retry_class`] is `Some`).
    ///
    /// Callers must still only retry idempotent operations.
    pub fn is_retryable(&self) -> bool {
        self.retry_class().is_some()
    }

    /// How the failed call may be retried: a retryable [`Error::Connection`] and
    /// an [`Error::Timeout`] are [`RetryClass::ConnectionLoss`]; an
    /// [`Error::Database`] is classified by its SQLSTATE
    /// ([`RETRYABLE_SQLSTATES`]); an [`Error::StandbyUnavailable`] is
    /// [`RetryClass::Reroute`]; everything else is `None` (final).
    pub fn retry_class(&self) -> Option<RetryClass> {
        match self {
            Self::Connection { retryable: true, .. } | Self::Timeout { .. } => Some(RetryClass::ConnectionLoss),
            Self::Database { sqlstate: Some(code), .. } => sqlstate_retry_class(code),
            Self::StandbyUnavailable { .. } => Some(RetryClass::Reroute),
            _ => None,
        }
    }

    /// The SQLSTATE code, for [`Error::Database`].
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Self::Database { sqlstate, .. } => sqlstate.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimension_mismatch_names_the_record() {
        let e = Error::DimensionMismatch { id: Some("ent-1".into()), expected: 3, got: 2 };
        assert_eq!(e.to_string(), "record \"ent-1\": dimension mismatch: expected 3, got 2");
    }

    #[test]
    fn deadlock_and_shutdown_are_retryable_but_unique_violation_is_not() {
        let db = |code: &str| Error::Database { sqlstate: Some(code.into()), message: String::new(), source: None };
        assert!(db("40P01").is_retryable());
        assert!(db("57P01").is_retryable());
        assert!(db("08006").is_retryable());
        assert!(!db("23505").is_retryable());
        assert!(!Error::invalid("x", "y").is_retryable());
    }

    #[test]
    fn the_sqlstate_table_classes_lock_conflicts_lock_timeouts_and_connection_loss_apart() {
        for code in ["40001", "40P01"] {
            assert_eq!(sqlstate_retry_class(code), Some(RetryClass::LockConflict), "{code}");
        }
        assert_eq!(sqlstate_retry_class("55P03"), Some(RetryClass::LockTimeout));
        for code in ["57P01", "57P02", "57P03", "53300", "08000", "08006", "08P01"] {
            assert_eq!(sqlstate_retry_class(code), Some(RetryClass::ConnectionLoss), "{code}");
        }
        // A statement time-out would time out again; constraint violations,
        // bad passwords and missing databases never heal by themselves.
        for code in ["57014", "23505", "23514", "28P01", "28000", "3D000", "42P01", "40000"] {
            assert_eq!(sqlstate_retry_class(code), None, "{code}");
        }
        assert!(RETRYABLE_SQLSTATES.iter().all(|(code, _)| code.len() == 5 && !code.starts_with("08")));
    }

    #[test]
    fn connection_errors_and_time_outs_are_connection_loss_and_other_variants_are_final() {
        let broken = Error::Connection { message: String::new(), retryable: true, source: None };
        assert_eq!(broken.retry_class(), Some(RetryClass::ConnectionLoss));
        let refused_for_good = Error::Connection { message: String::new(), retryable: false, source: None };
        assert_eq!(refused_for_good.retry_class(), None);
        let timeout = Error::Timeout { what: "pool".into(), after: Duration::from_secs(1) };
        assert_eq!(timeout.retry_class(), Some(RetryClass::ConnectionLoss));
        let deadlock = Error::Database { sqlstate: Some("40P01".into()), message: String::new(), source: None };
        assert_eq!(deadlock.retry_class(), Some(RetryClass::LockConflict));
        let no_code = Error::Database { sqlstate: None, message: String::new(), source: None };
        assert_eq!(no_code.retry_class(), None);
        assert_eq!(Error::Conflict { what: String::new(), source: None }.retry_class(), None);
        assert_eq!(Error::graph("x").retry_class(), None);
    }

    #[test]
    fn an_unavailable_standby_is_rerouted_to_the_primary() {
        let e = Error::StandbyUnavailable { host: "replica:5432".into(), message: "refused".into(), source: None };
        assert_eq!(e.retry_class(), Some(RetryClass::Reroute));
        assert!(e.is_retryable());
        assert_eq!(e.to_string(), "standby replica:5432 unavailable for reads: refused");
    }

    #[test]
    fn long_inputs_are_shortened_in_messages() {
        let e = Error::invalid("a".repeat(10_000), "too long");
        assert!(e.to_string().len() < 200);
    }
}
