//! Integration tests of both graph engines against the real server: AGE layout,
//! interop with Python's statements, hostile names, concurrency, conversion.

mod age_layout;
mod concurrency;
mod convert;
mod hostile;
mod interop;
mod semantics;
mod support;
