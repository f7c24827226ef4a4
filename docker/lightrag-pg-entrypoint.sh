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

refuse() {
    echo "lightrag-pg-entrypoint: $*; refusing to start" >&2
    exit 1
}
value_of() { eval "printf '%s' \"\${$1:-}\""; }

# Docker secrets: VAR_FILE names a file holding VAR (POSTGRES_PASSWORD_FILE,
# LIGHTRAG_APP_PASSWORD_FILE, POSTGRES_REPLICATION_PASSWORD_FILE). Setting both
# VAR and VAR_FILE is an error, and so is a missing, unreadable or empty file:
# a password given as a secret never falls back to a default.
for var in POSTGRES_PASSWORD LIGHTRAG_APP_PASSWORD POSTGRES_REPLICATION_PASSWORD; do
    file=$(value_of "${var}_FILE")
    if [ -n "$file" ]; then
        [ -z "$(value_of "$var")" ] || refuse "both $var and ${var}_FILE are set"
        [ -f "$file" ] && [ -r "$file" ] || refuse "${var}_FILE=$file is missing or unreadable (is the secret provided?)"
        value=$(cat "$file")
        [ -n "$(printf '%s' "$value" | tr -d '[:space:]')" ] || refuse "${var}_FILE=$file is empty"
        eval "$var=\$value"
        export "$var"
        unset "${var}_FILE"
    fi
done

# The replication variables of the seed's HA example (the Bitnami image's
# names) are accepted: POSTGRES_REPLICATION_MODE=master|slave,
# POSTGRES_MASTER_HOST and POSTGRES_MASTER_PORT_NUMBER stand for
# POSTGRES_PRIMARY_HOST and POSTGRES_PRIMARY_PORT (POSTGRES_REPLICATION_USER and
# POSTGRES_REPLICATION_PASSWORD have the same names). Those this image does not
# read make it refuse to start, naming what replaces them.
alias_var() { # seed name, our name
    seed=$(value_of "$1")
    [ -n "$seed" ] || return 0
    ours=$(value_of "$2")
    [ -z "$ours" ] || [ "$ours" = "$seed" ] || refuse "$1=$seed and $2=$ours disagree (set only $2)"
    eval "$2=\$seed"
    export "$2"
}
alias_var POSTGRES_MASTER_HOST POSTGRES_PRIMARY_HOST
alias_var POSTGRES_MASTER_PORT_NUMBER POSTGRES_PRIMARY_PORT
case "${POSTGRES_REPLICATION_MODE:-}" in
    '') ;;
    master | primary)
        [ -z "${POSTGRES_PRIMARY_HOST:-}" ] ||
            refuse "POSTGRES_REPLICATION_MODE=${POSTGRES_REPLICATION_MODE} but POSTGRES_PRIMARY_HOST (POSTGRES_MASTER_HOST) is set: a primary follows no one"
        [ -n "${POSTGRES_REPLICATION_USER:-}" ] ||
            refuse "POSTGRES_REPLICATION_MODE=${POSTGRES_REPLICATION_MODE} needs POSTGRES_REPLICATION_USER (the role replicas connect as)"
        ;;
    slave | replica | standby)
        [ -n "${POSTGRES_PRIMARY_HOST:-}" ] ||
            refuse "POSTGRES_REPLICATION_MODE=${POSTGRES_REPLICATION_MODE} needs the primary's host: POSTGRES_PRIMARY_HOST (or POSTGRES_MASTER_HOST)"
        ;;
    *)
        refuse "POSTGRES_REPLICATION_MODE=${POSTGRES_REPLICATION_MODE} is neither master nor slave; this image needs no mode: set POSTGRES_PRIMARY_HOST (and POSTGRES_PRIMARY_PORT) on a replica, POSTGRES_REPLICATION_USER on the primary"
        ;;
esac
for pair in \
    "POSTGRES_NUM_SYNCHRONOUS_REPLICAS:the primary's command argument -c synchronous_standby_names='FIRST n (*)'" \
    "POSTGRES_SYNCHRONOUS_COMMIT_MODE:the primary's command argument -c synchronous_commit=<mode>" \
    "POSTGRES_CLUSTER_APP_NAME:the replica's container hostname (its application_name)" \
    "POSTGRES_MASTER_PASSWORD:POSTGRES_REPLICATION_PASSWORD (replicas connect as POSTGRES_REPLICATION_USER)"; do
    name=${pair%%:*}
    [ -z "$(value_of "$name")" ] || refuse "$name is not read by this image; use ${pair#*:} instead"
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
# (writes standby.signal and primary_conninfo; with POSTGRES_REPLICATION_SLOT
# also primary_slot_name: the slot the primary created), then run as a hot
# standby.
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
        # The replication role and, with POSTGRES_REPLICATION_SLOT, the physical
        # slot the replica streams from (it keeps WAL until the replica has it).
        PGHOST=/var/run/postgresql PGUSER="$POSTGRES_USER" PGPASSWORD="$POSTGRES_PASSWORD" \
            psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d postgres -v r="$POSTGRES_REPLICATION_USER" \
            -v p="${POSTGRES_REPLICATION_PASSWORD:-}" -v slot="${POSTGRES_REPLICATION_SLOT:-}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN REPLICATION PASSWORD %L', :'r', :'p')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'r') \gexec
SELECT pg_create_physical_replication_slot(:'slot')
WHERE :'slot' <> '' AND NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = :'slot');
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
