//! Printing results: JSON for scripts, short text for people, and exit codes.

use lightrag_pg::Error;
use serde::Serialize;

/// Prints one JSON document.
pub(crate) fn json<T: Serialize>(value: &T) -> lightrag_pg::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::invalid("output", e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// The process exit code for an error: 2 configuration, 3 connection, 4 bad
/// input, 5 not found, 1 anything else.
pub(crate) fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Config { .. } | Error::Tls { .. } => 2,
        Error::Connection { .. } | Error::Timeout { .. } => 3,
        Error::InvalidInput { .. } | Error::DimensionMismatch { .. } => 4,
        Error::NotFound { .. } => 5,
        _ => 1,
    }
}
