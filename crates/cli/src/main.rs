//! The `lightrag-pg` command.
#![forbid(unsafe_code)]

fn main() {}
