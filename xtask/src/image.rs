//! `cargo xtask image`: the local Docker image `lightrag-pg/postgres:17`, made
//! from the sandbox root with `tar | docker import` (no registry, no base image
//! to pull). Its entrypoint is `docker/lightrag-pg-entrypoint.sh`. The image
//! carries a label with a hash of everything it was made from, so an unchanged
//! root is not imported again.

use std::process::{Command, Stdio};
use std::time::Instant;

use crate::cmd::{self, output, succeeds};
use crate::sandbox::{self, ENTRYPOINT, Sandbox};
use crate::{Context, Result, bail};

/// The image's name.
pub(crate) const IMAGE: &str = "lightrag-pg/postgres:17";
const LABEL: &str = "org.lightrag-pg.rootfs";

/// Instructions given to `docker import`.
fn changes(key: &str) -> Vec<String> {
    vec![
        "ENV PATH=/usr/lib/postgresql/17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        "ENV PGDATA=/var/lib/lightrag-pg/data".into(),
        "ENV LANG=C.UTF-8".into(),
        "USER postgres".into(),
        "WORKDIR /var/lib/lightrag-pg".into(),
        "EXPOSE 5432".into(),
        format!("ENTRYPOINT [\"{ENTRYPOINT}\"]"),
        "CMD [\"postgres\"]".into(),
        format!("LABEL {LABEL}={key}"),
    ]
}

/// Parts of the root left out of the image: mounts, the sandbox's own cluster
/// and state, Debian's unused cluster, caches.
const EXCLUDES: [&str; 10] = [
    "./proc/*",
    "./dev/*",
    "./var/lib/lightrag-pg/*",
    "./run/postgresql/*",
    "./tmp/*",
    "./var/cache/apt/*",
    "./var/lib/apt/lists/*",
    "./var/lib/postgresql/17/main",
    "./etc/postgresql/17/main",
    "./usr/sbin/policy-rc.d",
];

/// Whether a Docker engine answers.
pub(crate) fn docker_answers() -> bool {
    cmd::which("docker").is_some() && succeeds(Command::new("docker").arg("info"))
}

/// Whether the image exists locally.
pub(crate) fn exists() -> bool {
    succeeds(Command::new("docker").args(["image", "inspect", IMAGE]))
}

fn current_label() -> Option<String> {
    let mut c = Command::new("docker");
    c.args(["image", "inspect", "-f", &format!("{{{{ index .Config.Labels \"{LABEL}\" }}}}"), IMAGE]);
    output(&mut c).ok().map(|s| s.trim().to_owned())
}

/// Builds the image unless it is up to date; returns whether it was built.
pub(crate) fn build() -> Result<bool> {
    if !docker_answers() {
        bail!("no Docker engine answers (`docker info` failed)");
    }
    let sandbox = Sandbox::locate()?;
    if let Some(why) = sandbox::why_not_buildable() {
        bail!("the image is made from the sandbox root, which cannot be built here: {why}");
    }
    sandbox.ensure_root()?;
    sandbox.provision()?;
    if sandbox.running().is_none() {
        // Building the root mounted /dev and /proc; nothing needs them now.
        sandbox.unmount()?;
    }
    let marker = sandbox.marker().unwrap_or_default();
    let mut parts: Vec<&str> = vec![&marker, sandbox::ENTRYPOINT_SCRIPT, sandbox::CONFIG];
    parts.extend(sandbox::INIT_FILES.iter().map(|(_, c)| *c));
    let changes_text = changes("").join("\n");
    parts.push(&changes_text);
    parts.extend(EXCLUDES);
    let key = format!("{:016x}", sandbox::fnv1a(&parts));
    if current_label().as_deref() == Some(key.as_str()) {
        println!("{IMAGE} is up to date");
        return Ok(false);
    }

    let started = Instant::now();
    println!("building {IMAGE} from {} ...", sandbox.root().display());
    let mut tar = Command::new("tar");
    tar.arg("-C").arg(sandbox.root()).arg("--one-file-system");
    for e in EXCLUDES {
        tar.arg(format!("--exclude={e}"));
    }
    tar.args(["-c", "."]).stdout(Stdio::piped()).stdin(Stdio::null());
    let mut tar = tar.spawn().context(|| "cannot run tar".to_owned())?;
    let stream = tar.stdout.take().expect("piped");
    let mut import = Command::new("docker");
    import.arg("import");
    for change in changes(&key) {
        import.args(["--change", &change]);
    }
    import.args(["-", IMAGE]).stdin(Stdio::from(stream)).stdout(Stdio::null());
    let imported = import.status();
    // `import` holds the pipe's read end: close it, so that tar cannot block on a
    // reader that is gone.
    drop(import);
    let imported = match imported {
        Ok(status) => status,
        Err(e) => {
            let _ = tar.kill();
            let _ = tar.wait();
            bail!("cannot run docker import: {e}");
        }
    };
    let tarred = tar.wait()?;
    if !imported.success() {
        bail!("docker import failed ({imported})");
    }
    // tar exits with 1 when a file changed while it was read (logs, say).
    if !(tarred.success() || tarred.code() == Some(1)) {
        bail!("tar of {} failed ({tarred})", sandbox.root().display());
    }
    println!("built {IMAGE} in {:.1} s", started.elapsed().as_secs_f64());
    Ok(true)
}

/// Makes the image available for the testcontainers tests: built from the
/// sandbox root where one can be built, else an existing image is used.
pub(crate) fn ensure_for_tests() -> Result<()> {
    if sandbox::why_not_buildable().is_none() {
        build().map(|_| ())
    } else if exists() {
        println!("using the existing image {IMAGE}");
        Ok(())
    } else {
        bail!(
            "{IMAGE} does not exist and cannot be built here; build it with \
             `docker build -t {IMAGE} -f docker/Dockerfile .`"
        )
    }
}

/// Removes the containers the tests started (the test-support crate labels them
/// with the test process id and keeps them for the whole test binary).
pub(crate) fn remove_test_containers() {
    let mut c = Command::new("docker");
    c.args(["ps", "-aq", "--filter", "label=org.lightrag-pg.test-pid"]);
    let ids = output(&mut c).unwrap_or_default();
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        let mut rm = Command::new("docker");
        rm.args(["rm", "-f"]).args(&ids);
        if succeeds(&mut rm) {
            println!("removed {} test container(s)", ids.len());
        }
    }
}
