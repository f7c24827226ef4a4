//! Printing results: JSON for scripts, short text for people, and exit codes.

use lightrag_pg::Error;
use serde::Serialize;

/// Writes one line to stdout; a closed pipe (`| head`) ends the process quietly
/// instead of panicking.
pub(crate) fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write output: {e}");
        std::process::exit(1);
    }
}

/// `println!` through [`write_line`].
macro_rules! outln {
    ($($arg:tt)*) => { $crate::output::write_line(format_args!($($arg)*)) };
}
pub(crate) use outln;

/// Prints one JSON document.
pub(crate) fn json<T: Serialize>(value: &T) -> lightrag_pg::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::invalid("output", e.to_string()))?;
    outln!("{text}");
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
