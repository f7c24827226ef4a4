#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod error;
pub mod request;

pub use app::{Server, shutdown_signal};
pub use config::ServeConfig;
pub use error::{ApiError, ServeError};
pub use request::QueryRequest;
