#!/bin/sh
# lightrag-pg-entrypoint: PostgreSQL 17 with pgvector and Apache AGE in a
# container, run as user postgres. Used by the local image that
# `cargo xtask image` imports from the sandbox root, and by docker/Dockerfile.
#
# On first start (empty $PGDATA) it
#   - runs initdb, the superuser being POSTGRES_USER (default postgres) with
#     POSTGRES_PASSWORD (default lightrag), SCRAM authentication everywhere;
#   - includes /etc/lightrag-pg/postgresql.conf (preloads age,
#     pg_stat_statements, auto_explain) and accepts connections from anywhere;
#   - runs /docker-entrypoint-initdb.d/*.sh (creates POSTGRES_DATABASE, default
#     lightrag, and the extensions vector, age, pg_stat_statements) against a
#     private server that listens on no TCP port and logs to a file, so that
#     "database system is ready to accept connections" appears on stderr only
#     once, from the real server (testcontainers waits for that line).
# Then it runs the real server on 0.0.0.0:5432, with any extra arguments
# ("-c name=value") given after `postgres`.
set -eu

if [ "${1:-postgres}" != postgres ]; then
    exec "$@"
fi
[ $# -gt 0 ] && shift

# Docker secrets: VAR_FILE names a file holding VAR (POSTGRES_PASSWORD_FILE,
# LIGHTRAG_APP_PASSWORD_FILE, POSTGRES_REPLICATION_PASSWORD_FILE). Setting both
# VAR and VAR_FILE is an error.
for var in POSTGRES_PASSWORD LIGHTRAG_APP_PASSWORD POSTGRES_REPLICATION_PASSWORD; do
    file=$(eval "printf '%s' \"\${${var}_FILE:-}\"")
    if [ -n "$file" ]; then
        if [ -n "$(eval "printf '%s' \"\${$var:-}\"")" ]; then
            echo "lightrag-pg-entrypoint: both $var and ${var}_FILE are set" >&2
            exit 1
        fi
        value=$(cat "$file")
        eval "$var=\$value"
        export "$var"
        unset "${var}_FILE"
    fi
done

: "${PGDATA:=/var/lib/lightrag-pg/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_PASSWORD:=lightrag}"
: "${POSTGRES_DATABASE:=${POSTGRES_DB:-lightrag}}"
export PGDATA POSTGRES_USER POSTGRES_PASSWORD POSTGRES_DATABASE
export PATH="/usr/lib/postgresql/17/bin:$PATH"
conf=/etc/lightrag-pg/postgresql.conf
initdir=/docker-entrypoint-initdb.d

if [ "$(id -u)" = 0 ]; then
    echo "lightrag-pg-entrypoint: run me as user postgres (the image's default USER)" >&2
    exit 1
fi

# A streaming replica (docker-compose.ha.yml): with POSTGRES_PRIMARY_HOST set
# and an empty data directory, clone the primary with `pg_basebackup -R`
# (writes standby.signal and primary_conninfo), then run as a hot standby.
if [ -n "${POSTGRES_PRIMARY_HOST:-}" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    echo "lightrag-pg-entrypoint: cloning $POSTGRES_PRIMARY_HOST into $PGDATA" >&2
    until pg_isready -q -h "$POSTGRES_PRIMARY_HOST" -p "${POSTGRES_PRIMARY_PORT:-5432}"; do sleep 1; done
    PGPASSWORD="${POSTGRES_REPLICATION_PASSWORD:-}" pg_basebackup -h "$POSTGRES_PRIMARY_HOST" \
        -p "${POSTGRES_PRIMARY_PORT:-5432}" -U "${POSTGRES_REPLICATION_USER:-replicator}" \
        -D "$PGDATA" -R -X stream -c fast ${POSTGRES_REPLICATION_SLOT:+-S "$POSTGRES_REPLICATION_SLOT"}
    if [ -n "${POSTGRES_REPLICATION_PASSWORD:-}" ]; then
        umask 077
        printf '*:*:*:%s:%s\n' "${POSTGRES_REPLICATION_USER:-replicator}" "$POSTGRES_REPLICATION_PASSWORD" \
            > "$PGDATA/.pgpass-replication"
        printf "primary_conninfo = 'host=%s port=%s user=%s passfile=%s/.pgpass-replication application_name=%s'\n" \
            "$POSTGRES_PRIMARY_HOST" "${POSTGRES_PRIMARY_PORT:-5432}" "${POSTGRES_REPLICATION_USER:-replicator}" \
            "$PGDATA" "${HOSTNAME:-replica}" >> "$PGDATA/postgresql.auto.conf"
    fi
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -A scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    printf "\n# lightrag-pg\ninclude_if_exists = '%s'\n" "$conf" >> "$PGDATA/postgresql.conf"
    if [ "${POSTGRES_SSL_ONLY:-0}" = 1 ]; then
        # Production: TCP only over TLS (ssl = on comes from the command line),
        # initdb's loopback lines included; Unix-socket lines stay.
        sed -i 's/^host\([[:space:]]\)/hostssl\1/' "$PGDATA/pg_hba.conf"
        printf '\n# lightrag-pg: TLS password connections only\nhostssl all all all scram-sha-256\n' \
            >> "$PGDATA/pg_hba.conf"
        hosttype=hostssl
    else
        printf '\n# lightrag-pg: password connections from anywhere\nhost all all all scram-sha-256\n' \
            >> "$PGDATA/pg_hba.conf"
        hosttype=host
    fi
    if [ -n "${POSTGRES_REPLICATION_USER:-}" ]; then
        printf '%s replication %s all scram-sha-256\n' "$hosttype" "$POSTGRES_REPLICATION_USER" >> "$PGDATA/pg_hba.conf"
    fi

    pg_ctl -D "$PGDATA" -w -t 120 -l "$PGDATA/init-server.log" \
        -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" start >/dev/null
    if [ -n "${POSTGRES_REPLICATION_USER:-}" ]; then
        PGHOST=/var/run/postgresql PGUSER="$POSTGRES_USER" PGPASSWORD="$POSTGRES_PASSWORD" \
            psql -X -q -v ON_ERROR_STOP=1 -d postgres \
            -v r="$POSTGRES_REPLICATION_USER" -v p="${POSTGRES_REPLICATION_PASSWORD:-}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN REPLICATION PASSWORD %L', :'r', :'p')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'r') \gexec
SQL
    fi
    for script in "$initdir"/*.sh; do
        [ -e "$script" ] || continue
        echo "lightrag-pg-entrypoint: running $script" >&2
        PGHOST=/var/run/postgresql PGUSER="$POSTGRES_USER" PGPASSWORD="$POSTGRES_PASSWORD" sh "$script"
    done
    pg_ctl -D "$PGDATA" -m fast -w -t 120 stop >/dev/null
    echo "lightrag-pg-entrypoint: initialised $PGDATA" >&2
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' -c port=5432 "$@"
