//! The one gate of every test that needs Docker (the testcontainers smoke
//! test, the compose tests): such a test fails where Docker or the local image
//! is missing, like every integration test without its server. Only an explicit
//! `LIGHTRAG_TEST_NO_DOCKER=1` opts a machine without Docker out, and CI may not
//! set it.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::{IMAGE_NAME, IMAGE_TAG};

/// The variable that opts a machine without Docker out of the Docker tests
/// (`1`; unset, empty or `0` do not). Honoured outside CI only: with `CI` set,
/// it makes the Docker tests fail instead.
pub const NO_DOCKER_ENV: &str = "LIGHTRAG_TEST_NO_DOCKER";

fn set(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// Whether a Docker engine answers `docker info` and has the local image
/// `lightrag-pg/postgres:17`; `Err` says what is missing and what to do.
fn docker_ready() -> Result<(), String> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            let succeeds = |args: &[&str]| {
                Command::new("docker")
                    .args(args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !succeeds(&["info"]) {
                return Err("a Docker engine, and none answers `docker info`".to_owned());
            }
            let image = format!("{IMAGE_NAME}:{IMAGE_TAG}");
            if !succeeds(&["image", "inspect", &image]) {
                return Err(format!(
                    "the local image {image}, which is missing (`cargo xtask image` builds it; `cargo xtask test` does so itself)"
                ));
            }
            Ok(())
        })
        .clone()
}

/// Call first in a test that needs a Docker engine and the local image:
/// `true` when both are there; `false` (saying so through `tracing`) only when
/// [`NO_DOCKER_ENV`]`=1` opts this machine out, and the test then returns
/// without its Docker part.
///
/// # Panics
/// When Docker or the image is missing and the machine is not opted out, and
/// when CI (`CI` set) sets [`NO_DOCKER_ENV`]: Docker tests fail, they never
/// pass silently.
pub fn require_docker(test: &str) -> bool {
    if set(NO_DOCKER_ENV) {
        assert!(!set("CI"), "{test}: {NO_DOCKER_ENV} is set in CI, where the Docker tests must run; unset it");
        tracing::warn!("{test}: its Docker part is not run: {NO_DOCKER_ENV}=1 opts this machine out");
        return false;
    }
    if let Err(missing) = docker_ready() {
        panic!(
            "{test} needs {missing}. On a machine without Docker, set {NO_DOCKER_ENV}=1 to opt out of the Docker tests \
             (CI never does)"
        );
    }
    true
}
