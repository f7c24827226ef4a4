//! Shared set-up for the criterion benches in this folder.
#![forbid(unsafe_code)]
