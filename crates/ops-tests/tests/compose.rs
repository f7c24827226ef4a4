//! The docker compose files: each validates with `docker-compose config`, then
//! comes up from the local image and is checked and taken down. Without a
//! Docker engine or the image these tests fail
//! ([`lightrag_pg_test_support::require_docker`]); `LIGHTRAG_TEST_NO_DOCKER=1`
//! opts a machine without Docker out (they then validate only), and CI never
//! sets it.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use lightrag_pg_test_support::require_docker;
use lightrag_pg_test_support::server::free_port;

const IMAGE: &str = "lightrag-pg/postgres:17";

fn docker_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docker")
}

fn compose(args: &[&str]) -> Output {
    Command::new("docker-compose").current_dir(docker_dir()).args(args).output().unwrap_or_else(|e| {
        panic!("`docker-compose` cannot be run ({e}); install docker-compose (or the compose plugin as docker-compose) to validate docker/*.yml")
    })
}

fn assert_valid(file: &str) -> String {
    let out = compose(&["-f", file, "config"]);
    assert!(out.status.success(), "{file} does not validate: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn development_compose_file_validates_with_health_check_volume_and_read_only_init_scripts() {
    let cfg = assert_valid("docker-compose.yml");
    assert!(cfg.contains("pg_isready"), "health check with pg_isready:\n{cfg}");
    assert!(cfg.contains("pgdata"), "a persistent volume:\n{cfg}");
    assert!(cfg.contains("/docker-entrypoint-initdb.d:ro"), "init scripts mounted read-only:\n{cfg}");
    assert!(cfg.contains("shm_size"), "shared memory for parallel HNSW builds:\n{cfg}");
}

#[test]
fn development_compose_file_has_lightrag_pg_serve_behind_the_serve_profile() {
    let cfg = assert_valid("docker-compose.yml");
    assert!(cfg.contains("lightrag-pg-serve:"), "the serve service:\n{cfg}");
    assert!(cfg.contains("- serve"), "behind the profile 'serve', so a plain `up` starts only postgres:\n{cfg}");
    assert!(cfg.contains("/app/.env"), "LightRAG's .env mounted where serve reads it:\n{cfg}");
    assert!(cfg.contains("service_healthy"), "started once postgres is healthy:\n{cfg}");
}

#[test]
fn production_compose_file_validates_with_tls_secret_file_no_published_port_and_limits() {
    let cfg = assert_valid("docker-compose.production.yml");
    assert!(cfg.contains("ssl=on"), "TLS on:\n{cfg}");
    assert!(cfg.contains("POSTGRES_PASSWORD_FILE: /run/secrets/postgres_password"), "password from a secret:\n{cfg}");
    assert!(!cfg.contains("POSTGRES_PASSWORD: "), "no plain password:\n{cfg}");
    assert!(!cfg.contains("published") && !cfg.contains("ports:"), "no published port:\n{cfg}");
    assert!(cfg.contains("mem_limit") && cfg.contains("cpus") && cfg.contains("pids_limit"), "resource limits:\n{cfg}");
    assert!(cfg.contains("POSTGRES_SSL_ONLY: '1'") || cfg.contains("POSTGRES_SSL_ONLY: \"1\""), "hostssl only:\n{cfg}");
}

#[test]
fn ha_compose_file_validates_with_a_primary_and_a_streaming_replica() {
    let cfg = assert_valid("docker-compose.ha.yml");
    assert!(cfg.contains("primary:") && cfg.contains("replica:"), "two services:\n{cfg}");
    assert!(cfg.contains("POSTGRES_PRIMARY_HOST: primary"), "the replica clones the primary:\n{cfg}");
    assert!(cfg.contains("wal_level=replica"), "WAL for replication:\n{cfg}");
    let entry = std::fs::read_to_string(docker_dir().join("lightrag-pg-entrypoint.sh")).unwrap();
    let dockerfile = std::fs::read_to_string(docker_dir().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("\nUSER postgres"), "the image runs as a non-root user");
    assert!(entry.contains("pg_basebackup") && entry.contains(" -R "), "the entrypoint clones with pg_basebackup -R");
}

/// A compose project brought up for one test and taken down (with its volumes)
/// on drop.
struct Project {
    name: String,
    /// The compose file and any override files (`-f` each, in order).
    files: Vec<String>,
    env: Vec<(&'static str, String)>,
}

impl Project {
    /// `up -d --no-build`, or `None` when this machine opts out of the Docker
    /// tests ([`require_docker`]).
    fn up(file: &'static str, ports: &[&'static str], extra: Vec<(&'static str, String)>) -> Option<Project> {
        Project::up_files(&[file], ports, extra)
    }

    /// [`Project::up`] of `file` with override files after it.
    fn up_files(files: &[&str], ports: &[&'static str], extra: Vec<(&'static str, String)>) -> Option<Project> {
        let p = Project::create(files, ports, extra)?;
        let up = p.run(&["up", "-d", "--no-build"]);
        assert!(up.status.success(), "compose up {files:?}: {}", String::from_utf8_lossy(&up.stderr));
        Some(p)
    }

    /// The project, not started yet, or `None` when this machine opts out of
    /// the Docker tests; without Docker or the local image it panics
    /// ([`require_docker`]).
    fn create(files: &[&str], ports: &[&'static str], extra: Vec<(&'static str, String)>) -> Option<Project> {
        let file = files[0];
        assert_valid(file);
        if !require_docker(&format!("compose up of {file}")) {
            return None;
        }
        let mut env: Vec<(&'static str, String)> = Vec::new();
        for p in ports {
            let port = loop {
                let port = free_port().to_string();
                if !env.iter().any(|(_, v)| *v == port) {
                    break port;
                }
            };
            env.push((*p, port));
        }
        env.extend(extra);
        let files = files.iter().map(|f| (*f).to_owned()).collect();
        Some(Project { name: format!("lrops{:08x}", rand::random::<u32>()), files, env })
    }

    /// `docker-compose` on this project. The compose files substitute
    /// `POSTGRES_*` and `LIGHTRAG_*` variables, so the test's own (the shared
    /// test server's `POSTGRES_USER=postgres`, say) are removed: only what the
    /// test passes reaches the file.
    fn run(&self, args: &[&str]) -> Output {
        let inherited = std::env::vars_os()
            .map(|(k, _)| k)
            .filter(|k| k.to_str().is_some_and(|k| k.starts_with("POSTGRES_") || k.starts_with("LIGHTRAG_")));
        let mut command = Command::new("docker-compose");
        for k in inherited {
            command.env_remove(k);
        }
        command
            .current_dir(docker_dir())
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .args(["-p", &self.name])
            .args(self.files.iter().flat_map(|f| ["-f", f.as_str()]))
            .args(args)
            .output()
            .unwrap()
    }

    /// The container of `service`, once healthy.
    fn healthy(&self, service: &str) -> String {
        let id = String::from_utf8_lossy(&self.run(&["ps", "-q", service]).stdout).trim().to_owned();
        assert!(!id.is_empty(), "no container for {service}");
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut status = String::new();
        while Instant::now() < deadline {
            let o = Command::new("docker").args(["inspect", "-f", "{{.State.Health.Status}}", &id]).output().unwrap();
            status = String::from_utf8_lossy(&o.stdout).trim().to_owned();
            if status == "healthy" || status == "unhealthy" {
                break;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        let logs = self.run(&["logs", "--no-color", service]);
        assert_eq!(status, "healthy", "{service} health; logs:\n{}", String::from_utf8_lossy(&logs.stdout));
        id
    }

    /// The output of `service` so far.
    fn logs(&self, service: &str) -> String {
        let o = self.run(&["logs", "--no-color", service]);
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    }

    /// Waits (up to 120 s) until `service` has logged `needle`; its logs.
    fn wait_for_log(&self, service: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let logs = self.logs(service);
            if logs.contains(needle) {
                return logs;
            }
            assert!(Instant::now() < deadline, "{service} never logged {needle:?}; logs:\n{logs}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.run(&["down", "-v", "--remove-orphans"]);
    }
}

/// psql inside a container as postgres/lightrag.
fn psql_in(id: &str, sql: &str) -> String {
    let o = Command::new("docker")
        .args([
            "exec",
            "-e",
            "PGPASSWORD=lightrag",
            id,
            "psql",
            "-X",
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "lightrag",
            "-c",
            sql,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "psql `{sql}` in {id}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

#[test]
fn development_compose_comes_up_healthy_and_goes_down_where_docker_runs() {
    let Some(p) = Project::up("docker-compose.yml", &["POSTGRES_PORT"], Vec::new()) else { return };
    let id = p.healthy("postgres");
    assert_eq!(
        psql_in(&id, "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension"),
        "age,pg_stat_statements,plpgsql,vector"
    );
}

/// The image of `lightrag-pg serve` (`cargo xtask image --serve`).
const SERVE_IMAGE: &str = "lightrag-pg/lightrag-pg:dev";

/// `GET path` on 127.0.0.1:`port`: the status line and the body.
fn http_get(port: &str, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).expect("connect");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

#[test]
fn development_compose_serve_profile_answers_health_from_the_local_image_where_docker_runs() {
    // LightRAG's .env, as the compose file mounts it: a workspace that
    // `migrate` (run from the same image) fills before serve starts.
    let dir = std::env::temp_dir().join(format!("lightrag-ops-serve-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let env_file = dir.join(".env");
    std::fs::write(
        &env_file,
        "WORKSPACE=ops_serve\nLIGHTRAG_GRAPH_STORAGE=PGTableGraphStorage\nEMBEDDING_BINDING=openai\n\
         EMBEDDING_BINDING_HOST=http://127.0.0.1:9/v1\nEMBEDDING_MODEL=ops-serve\nEMBEDDING_DIM=64\n",
    )
    .unwrap();
    let extra = vec![("LIGHTRAG_ENV_FILE", env_file.display().to_string())];
    let Some(p) = Project::up("docker-compose.yml", &["POSTGRES_PORT", "LIGHTRAG_PG_SERVE_PORT"], extra) else {
        let _ = std::fs::remove_dir_all(&dir);
        return;
    };
    let inspect = Command::new("docker").args(["image", "inspect", SERVE_IMAGE]).output().unwrap();
    assert!(
        inspect.status.success(),
        "the local image {SERVE_IMAGE} is missing (`cargo xtask image --serve` builds it; `cargo xtask test` does so itself)"
    );
    p.healthy("postgres");
    let data = lightrag_pg_test_support::dataset("lightrag-1.5.7-format-sample");
    let migrate = Command::new("docker")
        .args(["run", "--rm", "--network", &format!("{}_default", p.name), "-v"])
        .arg(format!("{}:/data:ro", data.display()))
        .args(["-e", "POSTGRES_HOST=postgres", "-e", "POSTGRES_USER=postgres", "-e", "POSTGRES_PASSWORD=lightrag"])
        .args(["-e", "POSTGRES_DATABASE=lightrag", SERVE_IMAGE, "-w", "ops_serve", "migrate", "--from", "/data"])
        .args(["--graph", "table", "--model-name", "ops-serve"])
        .output()
        .unwrap();
    assert!(migrate.status.success(), "migrate in the image: {}", String::from_utf8_lossy(&migrate.stderr));
    let up = p.run(&["--profile", "serve", "up", "-d", "--no-build", "lightrag-pg-serve"]);
    assert!(up.status.success(), "compose up of the serve profile: {}", String::from_utf8_lossy(&up.stderr));
    p.healthy("lightrag-pg-serve");
    let port = p.env.iter().find(|(k, _)| *k == "LIGHTRAG_PG_SERVE_PORT").map(|(_, v)| v.clone()).unwrap();
    let (status, body) = http_get(&port, "/health");
    assert!(status.contains(" 200 "), "{status}: {body}");
    assert!(body.contains("\"healthy\""), "{body}");
    drop(p);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ha_compose_replica_clones_the_primary_and_streams_its_writes_through_the_slot_where_docker_runs() {
    let Some(p) = Project::up("docker-compose.ha.yml", &["POSTGRES_PORT", "POSTGRES_REPLICA_PORT"], Vec::new()) else {
        return;
    };
    assert_replica_streams_through_the_slot(&p);
}

#[test]
fn ha_compose_accepts_the_seeds_replication_mode_and_master_host_variables_where_docker_runs() {
    // The replica configured only with the seed's (Bitnami's) names; the
    // primary told it is the master.
    let dir = std::env::temp_dir().join(format!("lightrag-ops-seed-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = dir.join("seed.yml");
    std::fs::write(
        &seed,
        "services:\n  primary:\n    environment:\n      POSTGRES_REPLICATION_MODE: master\n  replica:\n    environment:\n      \
         POSTGRES_PRIMARY_HOST: \"\"\n      POSTGRES_PRIMARY_PORT: \"\"\n      POSTGRES_REPLICATION_MODE: slave\n      \
         POSTGRES_MASTER_HOST: primary\n      POSTGRES_MASTER_PORT_NUMBER: \"5432\"\n",
    )
    .unwrap();
    let files = ["docker-compose.ha.yml", seed.to_str().unwrap()];
    let cfg = compose(&["-f", files[0], "-f", files[1], "config"]);
    assert!(cfg.status.success(), "{}", String::from_utf8_lossy(&cfg.stderr));
    assert!(String::from_utf8_lossy(&cfg.stdout).contains("POSTGRES_MASTER_HOST: primary"));
    if let Some(p) = Project::up_files(&files, &["POSTGRES_PORT", "POSTGRES_REPLICA_PORT"], Vec::new()) {
        assert_replica_streams_through_the_slot(&p);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_image_refuses_seed_variables_it_does_not_read_and_names_their_replacement_where_docker_runs() {
    if !require_docker("the entrypoint's refusals") {
        return;
    }
    let entrypoint = docker_dir().join("lightrag-pg-entrypoint.sh");
    for (var, value, names) in [
        ("POSTGRES_NUM_SYNCHRONOUS_REPLICAS", "1", "synchronous_standby_names"),
        ("POSTGRES_REPLICATION_MODE", "bogus", "POSTGRES_PRIMARY_HOST"),
        ("POSTGRES_MASTER_PASSWORD", "x", "POSTGRES_REPLICATION_PASSWORD"),
    ] {
        let o = Command::new("docker")
            .args(["run", "--rm", "-e", &format!("{var}={value}"), "-v"])
            .arg(format!("{}:/usr/local/bin/lightrag-pg-entrypoint:ro", entrypoint.display()))
            .arg(IMAGE)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{var}={value} must stop the container; stderr:\n{err}");
        assert!(
            err.contains(var) && err.contains(names) && err.contains("refusing to start"),
            "{var}={value}: the refusal must name {var} and {names}:\n{err}"
        );
    }
}

/// The replica of an HA project: healthy, in recovery, streaming a write made
/// on the primary, through the replication slot the primary created.
fn assert_replica_streams_through_the_slot(p: &Project) {
    let primary = p.healthy("primary");
    let replica = p.healthy("replica");
    psql_in(&primary, "CREATE TABLE ha_probe (x int); INSERT INTO ha_probe VALUES (42)");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = Command::new("docker")
            .args([
                "exec",
                "-e",
                "PGPASSWORD=lightrag",
                &replica,
                "psql",
                "-X",
                "-At",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "lightrag",
                "-c",
                "SELECT pg_is_in_recovery()::text || '|' || (SELECT x FROM ha_probe)",
            ])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&seen.stdout).trim() == "true|42" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replica never saw the write: {}",
            String::from_utf8_lossy(&seen.stderr)
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(
        psql_in(&primary, "SELECT slot_name || '|' || active || '|' || slot_type FROM pg_replication_slots"),
        "lightrag_replica|true|physical",
        "the replica streams from the primary's slot"
    );
    assert_eq!(psql_in(&replica, "SHOW primary_slot_name"), "lightrag_replica");
}

/// Runs openssl on the host, panicking with its output on failure.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let o = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl on PATH");
    assert!(o.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn production_compose_comes_up_tls_only_with_secret_passwords_and_verify_full_where_docker_runs() {
    use std::os::unix::fs::PermissionsExt;
    if !require_docker("compose up of docker-compose.production.yml") {
        assert_valid("docker-compose.production.yml");
        return;
    }
    // A CA and a server certificate for the name "localhost" (SAN), and the
    // two password files, in a scratch directory.
    let dir = std::env::temp_dir().join(format!("lightrag-ops-prod-{:08x}", rand::random::<u32>()));
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls).unwrap();
    openssl(
        &tls,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=ops-test-ca",
        ],
    );
    openssl(
        &tls,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(tls.join("ext.cnf"), "subjectAltName=DNS:localhost\n").unwrap();
    openssl(
        &tls,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
    // The image's postgres user (uid 100 in the Debian root) must own the key, mode 0600.
    let uid = 100;
    for f in ["server.key", "server.crt", "ca.crt"] {
        std::os::unix::fs::chown(tls.join(f), Some(uid), Some(uid)).unwrap();
    }
    std::fs::set_permissions(tls.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(dir.join("admin_pw"), "admin-secret\n").unwrap();
    std::fs::write(dir.join("app_pw"), "app-secret").unwrap();
    let env = vec![
        ("LIGHTRAG_PG_TLS_DIR", tls.display().to_string()),
        ("POSTGRES_PASSWORD_SECRET", dir.join("admin_pw").display().to_string()),
        ("LIGHTRAG_APP_PASSWORD_SECRET", dir.join("app_pw").display().to_string()),
        ("POSTGRES_MEM_LIMIT", "1g".to_owned()),
        ("POSTGRES_MEM_RESERVATION", "256m".to_owned()),
        ("POSTGRES_CPUS", "1".to_owned()),
    ];
    let Some(p) = Project::up("docker-compose.production.yml", &[], env) else { return };
    let id = p.healthy("postgres");
    let psql = |user: &str, pw: &str, conninfo: &str, sql: &str| {
        Command::new("docker")
            .args([
                "exec",
                "-e",
                &format!("PGPASSWORD={pw}"),
                &id,
                "psql",
                "-X",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                &format!("{conninfo} user={user} dbname=lightrag"),
                "-c",
                sql,
            ])
            .output()
            .unwrap()
    };
    let full = "host=localhost sslmode=verify-full sslrootcert=/etc/lightrag-pg/tls/ca.crt";
    // Healthy means accepting connections; on a loaded machine give the first
    // login a few seconds.
    let deadline = Instant::now() + Duration::from_secs(120);
    let admin = loop {
        let o =
            psql("lightrag_admin", "admin-secret", full, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
        if o.status.success() || Instant::now() > deadline {
            break o;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(
        String::from_utf8_lossy(&admin.stdout).trim(),
        "t",
        "admin over verify-full: {}",
        String::from_utf8_lossy(&admin.stderr)
    );
    let app = psql("lightrag_app", "app-secret", full, "SELECT current_user");
    assert_eq!(
        String::from_utf8_lossy(&app.stdout).trim(),
        "lightrag_app",
        "app role: {}",
        String::from_utf8_lossy(&app.stderr)
    );
    let plain = psql("lightrag_admin", "admin-secret", "host=localhost sslmode=disable", "SELECT 1");
    assert!(!plain.status.success(), "a plain TCP connection must be refused");
    let ports = Command::new("docker").args(["port", &id]).output().unwrap();
    assert!(String::from_utf8_lossy(&ports.stdout).trim().is_empty(), "no published port");
    drop(p);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn production_compose_refuses_to_start_with_an_empty_or_missing_password_secret_where_docker_runs() {
    let dir = std::env::temp_dir().join(format!("lightrag-ops-nopw-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    std::fs::write(dir.join("empty_pw"), "\n").unwrap();
    std::fs::write(dir.join("app_pw"), "app-secret").unwrap();
    for (admin_secret, refusal) in [
        ("empty_pw", "POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password is empty; refusing to start"),
        ("absent_pw", "POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password is missing"),
    ] {
        let env = vec![
            ("LIGHTRAG_PG_TLS_DIR", dir.join("tls").display().to_string()),
            ("POSTGRES_PASSWORD_SECRET", dir.join(admin_secret).display().to_string()),
            ("LIGHTRAG_APP_PASSWORD_SECRET", dir.join("app_pw").display().to_string()),
            ("POSTGRES_MEM_LIMIT", "1g".to_owned()),
            ("POSTGRES_MEM_RESERVATION", "256m".to_owned()),
            ("POSTGRES_CPUS", "1".to_owned()),
        ];
        let Some(p) = Project::create(&["docker-compose.production.yml"], &[], env) else { break };
        let up = p.run(&["up", "-d", "--no-build"]);
        if up.status.success() {
            let logs = p.wait_for_log("postgres", refusal);
            assert!(!logs.contains("ready to accept connections"), "a server started:\n{logs}");
        } else {
            // Compose itself may refuse a secret file that does not exist.
            let err = String::from_utf8_lossy(&up.stderr);
            assert!(err.contains(admin_secret), "compose up failed without naming the secret file:\n{err}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
