#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod batch;
pub mod config;
pub mod ddl;
pub mod doctor;
pub mod error;
pub mod ident;
pub mod pool;
pub mod retry;
pub mod rls;
pub mod routing;
pub mod schema;
pub mod settings;
pub mod sources;
pub mod tls;
pub mod upgrade;
pub mod workspace;

pub use config::{
    AgeSessionInit, PgConfig, PgConfigBuilder, RetryPolicy, SslConfig, SslMode, TargetSessionAttrs, VectorIndexSettings,
};
pub use doctor::{DoctorReport, doctor};
pub use error::db_error;
pub use pool::{PgConn, PgPool};
pub use retry::Replay;
pub use routing::{Pools, ReadStats, Route};
pub use settings::{GraphEngine, LightRagSettings, StoreSelection};
pub use sources::{Origin, Setting, Sources};

/// Re-exported so users need no direct dependency on the driver.
pub use tokio_postgres;
