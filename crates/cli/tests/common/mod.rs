//! The `lightrag-pg` binary, pointed at a test database and a workspace.

use std::process::Command;

use lightrag_pg::pool::PgConfig;

/// `lightrag-pg --workspace WS` with `config`'s connection settings and no
/// inherited workspace variables.
pub(crate) fn cli(config: &PgConfig, ws: &str) -> Command {
    let (host, port) = config.hosts[0].clone();
    let mut c = Command::new(env!("CARGO_BIN_EXE_lightrag-pg"));
    c.env("POSTGRES_HOST", host)
        .env("POSTGRES_PORT", port.to_string())
        .env("POSTGRES_USER", &config.user)
        .env("POSTGRES_PASSWORD", config.password.clone().unwrap_or_default())
        .env("POSTGRES_DATABASE", &config.database)
        .env_remove("POSTGRES_WORKSPACE")
        .env_remove("WORKSPACE")
        .args(["--workspace", ws]);
    c
}
