//! The testcontainers fallback: one container of the local image
//! `lightrag-pg/postgres:17` per test binary, shared by all its tests.
//!
//! Tests write `test_database().await.pool().await` and drop the
//! [`TestDatabase`] at once, so the container must outlive every holder: a
//! static keeps it for the whole process. Statics are never dropped, so
//! testcontainers never removes it; instead each container carries the label
//! [`PID_LABEL`] with its process id, the first start in a later process
//! removes containers whose process is gone, and `cargo xtask test` removes
//! them all when the tests end.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use lightrag_pg_pool::PgConfig;
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};
use tokio::sync::OnceCell;

use crate::{IMAGE_NAME, IMAGE_TAG, NoDatabase, READY_LINE, Source, TestDatabase};

/// A running container of the local image.
pub(crate) type Container = ContainerAsync<GenericImage>;

const PASSWORD: &str = "lightrag";
const DATABASE: &str = "lightrag";

/// The label that names the test process owning a container.
pub const PID_LABEL: &str = "org.lightrag-pg.test-pid";

static SHARED: OnceCell<Arc<Container>> = OnceCell::const_new();

/// Removes the containers of test processes that are gone (best effort, with
/// the `docker` command when there is one).
fn remove_orphans() {
    let Ok(out) = Command::new("docker")
        .args(["ps", "-a", "--filter", &format!("label={PID_LABEL}")])
        .args(["--format", &format!("{{{{.ID}}}} {{{{.Label \"{PID_LABEL}\"}}}}")])
        .stderr(Stdio::null())
        .output()
    else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut f = line.split_whitespace();
        let (Some(id), Some(pid)) = (f.next(), f.next()) else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("docker").args(["rm", "-f", id]).stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
    }
}

async fn start() -> Result<Container, String> {
    remove_orphans();
    GenericImage::new(IMAGE_NAME, IMAGE_TAG)
        .with_exposed_port(5432.tcp())
        .with_wait_for(WaitFor::message_on_stderr(READY_LINE))
        .with_env_var("POSTGRES_PASSWORD", PASSWORD)
        .with_env_var("POSTGRES_DATABASE", DATABASE)
        .with_label(PID_LABEL, std::process::id().to_string())
        .with_startup_timeout(Duration::from_secs(120))
        .start()
        .await
        .map_err(|e| explain(&e.to_string()))
}

/// Adds what to do to testcontainers' error.
fn explain(error: &str) -> String {
    let hint = if error.contains("No such image") || error.contains("pull") || error.contains("not found") {
        "the local image is missing: `cargo xtask image` builds it (no registry is needed)"
    } else {
        "is a Docker engine running? `docker info` tells; `cargo xtask test` needs none (it uses `cargo xtask pg up`)"
    };
    format!("cannot start {IMAGE_NAME}:{IMAGE_TAG} with testcontainers: {error} ({hint})")
}

async fn config_for(container: &Container) -> Result<PgConfig, String> {
    let host = container.get_host().await.map_err(|e| explain(&e.to_string()))?;
    let port = container.get_host_port_ipv4(5432).await.map_err(|e| explain(&e.to_string()))?;
    Ok(PgConfig::builder()
        .host(host.to_string())
        .port(port)
        .user("postgres")
        .password(PASSWORD)
        .database(DATABASE)
        .build())
}

/// A database in a container of the local image, whatever `POSTGRES_*` say:
/// the one container of this test binary, started on first use.
///
/// # Errors
/// [`NoDatabase`] when the container cannot be started; the message says why
/// and what to do.
pub async fn container_database() -> Result<TestDatabase, NoDatabase> {
    let container =
        SHARED.get_or_try_init(|| async { start().await.map(Arc::new) }).await.map_err(NoDatabase::new)?.clone();
    let config = config_for(&container).await.map_err(NoDatabase::new)?;
    Ok(TestDatabase { config, source: Source::Container, _container: Some(container) })
}
