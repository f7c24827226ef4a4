//! `cargo xtask image`: the local Docker image `lightrag-pg/postgres:17`, made
//! from the sandbox root with `tar | docker import` (no registry, no base image
//! to pull). Its entrypoint is `docker/lightrag-pg-entrypoint.sh`.
//! `cargo xtask image --serve`: the image of `lightrag-pg serve`,
//! `lightrag-pg/lightrag-pg:dev` (docker/docker-compose.yml's profile "serve"),
//! made the same way from the same root without PostgreSQL, plus the release
//! `lightrag-pg` binary. Each image carries a label with a hash of everything
//! it was made from, so an unchanged one is not imported again.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::cmd::{self, cargo, output, succeeds};
use crate::sandbox::{self, ENTRYPOINT, Sandbox};
use crate::{Context, Result, bail, target_dir};

/// The image's name.
pub(crate) const IMAGE: &str = "lightrag-pg/postgres:17";
/// The image of `lightrag-pg serve` (docker/docker-compose.yml's `lightrag-pg-serve`).
pub(crate) const SERVE_IMAGE: &str = "lightrag-pg/lightrag-pg:dev";
const LABEL: &str = "org.lightrag-pg.rootfs";
/// Where the binary is in the serve image.
const SERVE_BIN: &str = "usr/local/bin/lightrag-pg";

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

/// Instructions given to `docker import` for the serve image: those of
/// docker/Dockerfile.lightrag-pg (LightRAG's `.env` is read from `/app`, as
/// lightrag-server reads it from its working directory; nobody's uid).
fn serve_changes(key: &str) -> Vec<String> {
    vec![
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        "ENV LANG=C.UTF-8".into(),
        "WORKDIR /app".into(),
        "USER 65534:65534".into(),
        "EXPOSE 9621".into(),
        "ENTRYPOINT [\"lightrag-pg\"]".into(),
        "CMD [\"serve\"]".into(),
        format!("LABEL {LABEL}={key}"),
    ]
}

/// What the serve image leaves out besides [`EXCLUDES`]: PostgreSQL, AGE,
/// pgvector, their files and the libraries only they load (LLVM for the JIT,
/// ICU, Z3), Perl, locales' sources, documentation. `lightrag-pg` needs libc,
/// libm and libgcc_s (and bash for the compose health check).
const SERVE_EXCLUDES: [&str; 14] = [
    "./usr/lib/postgresql",
    "./usr/share/postgresql",
    "./usr/share/postgresql-common",
    "./var/lib/postgresql",
    "./etc/postgresql",
    "./usr/lib/x86_64-linux-gnu/libLLVM*",
    "./usr/lib/x86_64-linux-gnu/libz3*",
    "./usr/lib/x86_64-linux-gnu/libicu*",
    "./usr/lib/x86_64-linux-gnu/perl",
    "./usr/share/perl",
    "./usr/share/i18n",
    "./usr/share/doc/*",
    "./usr/share/man/*",
    "./usr/share/locale/*",
];

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
    exists_image(IMAGE)
}

fn exists_image(image: &str) -> bool {
    succeeds(Command::new("docker").args(["image", "inspect", image]))
}

fn current_label(image: &str) -> Option<String> {
    let mut c = Command::new("docker");
    c.args(["image", "inspect", "-f", &format!("{{{{ index .Config.Labels \"{LABEL}\" }}}}"), image]);
    output(&mut c).ok().map(|s| s.trim().to_owned())
}

/// The sandbox root, ready to be imported.
fn ready_root() -> Result<Sandbox> {
    if !docker_answers() {
        bail!("no Docker engine answers (`docker info` failed)");
    }
    let sandbox = Sandbox::locate()?;
    if let Some(why) = sandbox::why_not_buildable() {
        bail!("the images are made from the sandbox root, which cannot be built here: {why}");
    }
    sandbox.ensure_root()?;
    sandbox.provision()?;
    if sandbox.running().is_none() {
        // Building the root mounted /dev and /proc; nothing needs them now.
        sandbox.unmount()?;
    }
    Ok(sandbox)
}

/// Builds the image unless it is up to date; returns whether it was built.
pub(crate) fn build() -> Result<bool> {
    let sandbox = ready_root()?;
    let marker = sandbox.marker().unwrap_or_default();
    let mut parts: Vec<&str> = vec![&marker, sandbox::ENTRYPOINT_SCRIPT, sandbox::CONFIG];
    parts.extend(sandbox::INIT_FILES.iter().map(|(_, c)| *c));
    let changes_text = changes("").join("\n");
    parts.push(&changes_text);
    parts.extend(EXCLUDES);
    let key = format!("{:016x}", sandbox::fnv1a(&parts));
    import(IMAGE, sandbox.root(), &EXCLUDES, None, &changes(&key), &key)
}

/// Builds the serve image unless it is up to date (after `cargo build
/// --release -p lightrag-pg-cli`); returns whether it was built.
pub(crate) fn build_serve() -> Result<bool> {
    let sandbox = ready_root()?;
    let mut build = cargo();
    build.args(["build", "--release", "-p", "lightrag-pg-cli", "--bin", "lightrag-pg"]);
    println!("$ {}", cmd::describe(&build));
    cmd::run(&mut build)?;
    let bin = target_dir().join("release").join("lightrag-pg");
    let meta = std::fs::metadata(&bin).context(|| format!("cannot read {}", bin.display()))?;
    let modified = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).unwrap_or_default();
    let stamp = format!("{} {}", meta.len(), modified.as_nanos());
    let marker = sandbox.marker().unwrap_or_default();
    let changes_text = serve_changes("").join("\n");
    let mut parts: Vec<&str> = vec![&marker, &stamp, &changes_text, SERVE_BIN];
    parts.extend(EXCLUDES);
    parts.extend(SERVE_EXCLUDES);
    let key = format!("{:016x}", sandbox::fnv1a(&parts));
    let excludes: Vec<&str> = EXCLUDES.iter().chain(&SERVE_EXCLUDES).copied().collect();
    import(SERVE_IMAGE, sandbox.root(), &excludes, Some(&bin), &serve_changes(&key), &key)
}

/// `tar` of `root` (without `excludes`, with `bin` as [`SERVE_BIN`]) into
/// `docker import` as `image` with `changes`, unless `image` already carries
/// `key`; whether it was built.
fn import(
    image: &str,
    root: &Path,
    excludes: &[&str],
    bin: Option<&Path>,
    changes: &[String],
    key: &str,
) -> Result<bool> {
    if current_label(image).as_deref() == Some(key) {
        println!("{image} is up to date");
        return Ok(false);
    }
    let previous = image_id(image);
    let started = Instant::now();
    println!("building {image} from {} ...", root.display());
    let mut tar = Command::new("tar");
    tar.arg("-C").arg(root).arg("--one-file-system");
    for e in excludes {
        tar.arg(format!("--exclude={e}"));
    }
    tar.args(["-c", "."]);
    if let Some(bin) = bin {
        let (dir, name) = (bin.parent().unwrap_or(Path::new(".")), bin.file_name().unwrap_or_default());
        // The binary, renamed into the root's /usr/local/bin (only this member is named like it).
        let name = name.to_string_lossy();
        tar.arg(format!("--transform=s,^{name}$,{SERVE_BIN},")).arg("-C").arg(dir).arg(name.as_ref());
    }
    tar.stdout(Stdio::piped()).stdin(Stdio::null());
    let mut tar = tar.spawn().context(|| "cannot run tar".to_owned())?;
    let stream = tar.stdout.take().expect("piped");
    let mut import = Command::new("docker");
    import.arg("import");
    for change in changes {
        import.args(["--change", change]);
    }
    import.args(["-", image]).stdin(Stdio::from(stream)).stdout(Stdio::null());
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
        bail!("tar of {} failed ({tarred})", root.display());
    }
    println!("built {image} in {:.1} s", started.elapsed().as_secs_f64());
    // The replaced image, now untagged, would stay on disk; a container still
    // using it keeps it (and the removal fails quietly).
    if let Some(old) = previous.filter(|old| image_id(image).as_ref() != Some(old)) {
        let _ = succeeds(Command::new("docker").args(["image", "rm", &old]));
    }
    Ok(true)
}

/// The id of `image`, when it exists.
fn image_id(image: &str) -> Option<String> {
    let mut c = Command::new("docker");
    c.args(["image", "inspect", "-f", "{{.Id}}", image]);
    output(&mut c).ok().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Makes the images available for the Docker tests (the testcontainers tests,
/// the compose tests): built from the sandbox root where one can be built,
/// else existing images are used.
pub(crate) fn ensure_for_tests() -> Result<()> {
    if sandbox::why_not_buildable().is_none() {
        build()?;
        build_serve().map(|_| ())
    } else if exists() && exists_image(SERVE_IMAGE) {
        println!("using the existing images {IMAGE} and {SERVE_IMAGE}");
        Ok(())
    } else {
        bail!(
            "{IMAGE} or {SERVE_IMAGE} does not exist and cannot be built here; build them with \
             `docker build -t {IMAGE} -f docker/Dockerfile .` and \
             `docker build -t {SERVE_IMAGE} -f docker/Dockerfile.lightrag-pg .`"
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
