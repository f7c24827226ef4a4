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

/// SQLSTATE codes after which the same statement may succeed when retried.
const RETRYABLE_SQLSTATES: &[&str] = &[
    "40001", // serialization_failure
    "40P01", // deadlock_detected
    "55P03", // lock_not_available
    "57P01", // admin_shutdown
    "57P02", // crash_shutdown
    "57P03", // cannot_connect_now
    "53300", // too_many_connections
];

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
    /// server shutdowns, serialization failures, deadlocks and time-outs.
    ///
    /// Callers must still only retry idempotent operations.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Connection { retryable, .. } => *retryable,
            Self::Timeout { .. } => true,
            Self::Database { sqlstate: Some(code), .. } => {
                RETRYABLE_SQLSTATES.contains(&code.as_str()) || code.starts_with("08")
            }
            _ => false,
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
    fn long_inputs_are_shortened_in_messages() {
        let e = Error::invalid("a".repeat(10_000), "too long");
        assert!(e.to_string().len() < 200);
    }
}
