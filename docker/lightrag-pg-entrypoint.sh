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

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -A scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    printf "\n# lightrag-pg\ninclude_if_exists = '%s'\n" "$conf" >> "$PGDATA/postgresql.conf"
    printf '\n# lightrag-pg: password connections from anywhere\nhost all all all scram-sha-256\n' \
        >> "$PGDATA/pg_hba.conf"

    pg_ctl -D "$PGDATA" -w -t 120 -l "$PGDATA/init-server.log" \
        -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" start >/dev/null
    for script in "$initdir"/*.sh; do
        [ -e "$script" ] || continue
        echo "lightrag-pg-entrypoint: running $script" >&2
        PGHOST=/var/run/postgresql PGUSER="$POSTGRES_USER" PGPASSWORD="$POSTGRES_PASSWORD" sh "$script"
    done
    pg_ctl -D "$PGDATA" -m fast -w -t 120 stop >/dev/null
    echo "lightrag-pg-entrypoint: initialised $PGDATA" >&2
fi

exec postgres -D "$PGDATA" -c listen_addresses='*' -c port=5432 "$@"
