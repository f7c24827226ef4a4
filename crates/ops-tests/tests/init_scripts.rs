//! `postgres/init/*` on a fresh cluster: run twice, they leave the database, the
//! roles, the extensions and the grants LightRAG needs, and the second run
//! changes nothing. The SQL-only variant (`psql -f`) does the same.

mod common;

use common::{PgServer, start_cluster};

const ADMIN: &str = "lightrag_admin";
const APP: &str = "lightrag_app";
const DB: &str = "kb";

/// What the scripts are responsible for, as text to compare between runs.
fn state(c: &PgServer, admin: &str, app: &str, db: &str) -> String {
    let cluster = c.psql_in(
        "postgres",
        &format!(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolcanlogin, rolpassword IS NOT NULL \
             FROM pg_authid WHERE rolname IN ('{admin}', '{app}') ORDER BY 1; \
             SELECT datname, pg_get_userbyid(datdba), datacl FROM pg_database WHERE datname = '{db}';"
        ),
    );
    let in_db = c.psql_in(
        db,
        "SELECT extname FROM pg_extension ORDER BY 1; \
         SELECT nspname, nspacl FROM pg_namespace WHERE nspname IN ('public', 'ag_catalog') ORDER BY 1; \
         SELECT pg_get_userbyid(defaclrole), defaclnamespace, defaclobjtype, defaclacl FROM pg_default_acl ORDER BY 1, 2, 3;",
    );
    format!("{cluster}\n{in_db}")
}

fn run_shell_scripts(c: &PgServer) {
    let env = format!(
        "POSTGRES_USER={ADMIN} POSTGRES_PASSWORD=admin-pw POSTGRES_DATABASE={DB} \
         LIGHTRAG_APP_USER={APP} LIGHTRAG_APP_PASSWORD=app-pw"
    );
    for script in ["00-create-custom-db.sh", "01-init-db.sh"] {
        let out = c.sh(&env, &format!("sh {}/init/{script}", c.scratch()));
        assert!(
            out.status.success(),
            "{script} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn run_sql_files(c: &PgServer) {
    let dir = c.scratch();
    for (db, file, vars) in [
        (
            "postgres",
            "00-custom-db-setup.sql",
            format!(
                "-v app_user={ADMIN} -v app_password=admin-pw -v app_db={DB} -v app_role={APP} -v app_role_password=app-pw"
            ),
        ),
        (DB, "01-init.sql", format!("-v app_user={ADMIN} -v app_role={APP}")),
    ] {
        let out = c.sh("", &format!("psql -X -q -v ON_ERROR_STOP=1 -d {db} {vars} -f {dir}/init/{file}"));
        assert!(out.status.success(), "psql -f {file} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// The checks shared by both variants, after the scripts ran twice.
fn assert_expected(c: &PgServer) {
    let q = |db: &str, sql: &str| c.psql_in(db, sql).trim().to_owned();
    assert_eq!(
        q("postgres", &format!("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{DB}'")),
        ADMIN
    );
    assert_eq!(
        q(DB, "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension"),
        "age,pg_stat_statements,plpgsql,vector"
    );
    assert_eq!(
        q(
            "postgres",
            &format!("SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = '{APP}'")
        ),
        "f|f|f|t",
        "the application role logs in and has no attribute beyond LOGIN"
    );
    assert_eq!(
        q(
            DB,
            &format!(
                "SELECT has_database_privilege('{APP}', '{DB}', 'CONNECT'), has_database_privilege('{APP}', '{DB}', 'TEMPORARY'), \
                        has_database_privilege('{APP}', '{DB}', 'CREATE'), has_database_privilege('public', '{DB}', 'CONNECT'), \
                        has_database_privilege('public', '{DB}', 'TEMPORARY')"
            )
        ),
        "t|t|f|f|f",
        "the application role may connect and create temporary tables (vector upserts stage in one), not schemas; \
         PUBLIC may do neither"
    );
    assert_eq!(
        q(
            DB,
            &format!(
                "SELECT has_schema_privilege('{APP}', 'public', 'USAGE'), has_schema_privilege('{APP}', 'public', 'CREATE'), \
                        has_schema_privilege('{APP}', 'ag_catalog', 'USAGE'), has_schema_privilege('{ADMIN}', 'ag_catalog', 'USAGE')"
            )
        ),
        "t|f|t|t"
    );
    // The administrator's `lightrag-pg init` later: a table, a sequence and an AGE
    // graph it owns are open to the application role for DML only.
    c.psql_in(
        DB,
        &format!(
            "SET ROLE {ADMIN}; CREATE TABLE IF NOT EXISTS lightrag_probe (id serial PRIMARY KEY, workspace text); \
             SELECT ag_catalog.create_graph('probe_graph') WHERE NOT EXISTS (SELECT 1 FROM ag_catalog.ag_graph WHERE name = 'probe_graph'); \
             SELECT ag_catalog.create_vlabel('probe_graph', 'base') WHERE NOT EXISTS (SELECT 1 FROM ag_catalog.ag_label WHERE name = 'base');"
        ),
    );
    assert_eq!(
        q(
            DB,
            &format!(
                "SELECT has_table_privilege('{APP}', 'lightrag_probe', 'SELECT,INSERT,UPDATE,DELETE'), \
                        has_table_privilege('{APP}', 'lightrag_probe', 'TRUNCATE'), \
                        has_sequence_privilege('{APP}', 'lightrag_probe_id_seq', 'USAGE')"
            )
        ),
        "t|f|t"
    );
    assert_eq!(
        q(
            DB,
            &format!(
                "SELECT has_schema_privilege('{APP}', 'probe_graph', 'USAGE'), has_schema_privilege('{APP}', 'probe_graph', 'CREATE'), \
                        has_table_privilege('{APP}', 'probe_graph.base', 'SELECT,INSERT,UPDATE,DELETE')"
            )
        ),
        "t|f|t"
    );
    // Over TCP with its password: rows yes, DDL and extensions no.
    let as_app = |sql: &str| {
        c.sh(
            "",
            &format!(
                "PGUSER={APP} PGPASSWORD=app-pw psql -X -q -t -A -v ON_ERROR_STOP=1 -h 127.0.0.1 -d {DB} -c \"{sql}\""
            ),
        )
    };
    let ok = as_app("INSERT INTO lightrag_probe (workspace) VALUES ('w'); DELETE FROM lightrag_probe");
    assert!(ok.status.success(), "app DML: {}", String::from_utf8_lossy(&ok.stderr));
    let temp = as_app("CREATE TEMP TABLE lightrag_stage (x int) ON COMMIT DROP");
    assert!(temp.status.success(), "app temporary table: {}", String::from_utf8_lossy(&temp.stderr));
    let ddl = as_app("CREATE TABLE lightrag_evil (x int)");
    assert!(!ddl.status.success(), "the application role must not create tables");
    let ext = as_app("CREATE EXTENSION IF NOT EXISTS hstore");
    assert!(!ext.status.success(), "the application role must not create extensions");
    c.psql_in(DB, "DROP TABLE lightrag_probe; SELECT ag_catalog.drop_graph('probe_graph', true);");
}

#[test]
fn shell_init_scripts_run_twice_on_a_fresh_cluster_leave_roles_database_extensions_and_grants() {
    let c = start_cluster("init-sh");
    run_shell_scripts(&c);
    let first = state(&c, ADMIN, APP, DB);
    run_shell_scripts(&c);
    let second = state(&c, ADMIN, APP, DB);
    assert_eq!(first, second, "the second run changed something");
    assert_expected(&c);
    assert!(!c.log().contains("FATAL:  could not access file"), "a preload library is missing:\n{}", c.log());
}

#[test]
fn sql_only_init_variant_run_twice_with_psql_f_gives_the_same_result() {
    let c = start_cluster("init-sql");
    run_sql_files(&c);
    let first = state(&c, ADMIN, APP, DB);
    run_sql_files(&c);
    assert_eq!(first, state(&c, ADMIN, APP, DB), "the second run changed something");
    assert_expected(&c);
}

#[test]
fn project_postgresql_conf_preloads_age_pg_stat_statements_and_auto_explain() {
    let c = start_cluster("conf");
    let libs = c.psql_in("postgres", "SHOW shared_preload_libraries");
    for lib in ["age", "pg_stat_statements", "auto_explain"] {
        assert!(libs.contains(lib), "{lib} not preloaded: {libs}");
    }
    assert_eq!(c.psql_in("postgres", "SHOW auto_explain.log_min_duration").trim(), "2s");
}

#[test]
fn backup_script_pg_dump_restores_into_a_new_database_with_graph_and_vectors() {
    let c = start_cluster("dump");
    run_shell_scripts(&c);
    c.psql_in(
        DB,
        "CREATE TABLE lightrag_vdb_probe (id text PRIMARY KEY, v vector(3)); \
         INSERT INTO lightrag_vdb_probe VALUES ('a', '[1,2,3]'); \
         SELECT ag_catalog.create_graph('g_probe');",
    );
    let env = format!("POSTGRES_DATABASE={DB} KEEP=2");
    let out = c.sh(&env, &format!("sh {0}/backup.sh {0}/dumps", c.scratch()));
    assert!(out.status.success(), "backup.sh: {}", String::from_utf8_lossy(&out.stderr));
    let restored = c.sh(
        "",
        &format!("createdb -T template0 kb_restored && pg_restore -d kb_restored {}/dumps/{DB}-*.dump", c.scratch()),
    );
    assert!(restored.status.success(), "pg_restore: {}", String::from_utf8_lossy(&restored.stderr));
    assert_eq!(c.psql_in("kb_restored", "SELECT v::text FROM lightrag_vdb_probe WHERE id = 'a'").trim(), "[1,2,3]");
    assert_eq!(c.psql_in("kb_restored", "SELECT count(*) FROM ag_catalog.ag_graph WHERE name = 'g_probe'").trim(), "1");
}
