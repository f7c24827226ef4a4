#!/bin/sh
# Whole-database backup of the LightRAG database with pg_dump (custom format:
# compressed, restorable in parallel and selectively with pg_restore).
#
#   postgres/scripts/backup.sh [DIR]          # default DIR: ./backups
#
# Connection: libpq's PG* variables, or LightRAG's POSTGRES_HOST, POSTGRES_PORT,
# POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DATABASE (used when PG* are unset).
# Keeps the newest $KEEP dumps (default 7). Writes DIR/<db>-<UTC time>.dump and
# DIR/globals-<UTC time>.sql (roles, without passwords unless run as superuser).
#
# Restore into a new, empty database (extensions are in the dump; the server
# must have pgvector and AGE installed and AGE preloaded or LOADable):
#
#   createdb -T template0 lightrag_restored
#   pg_restore --no-owner --role=<owner> -j 4 -d lightrag_restored DIR/<file>.dump
#
# AGE graphs are ordinary schemas and tables plus rows in ag_catalog.ag_graph /
# ag_label; pg_dump carries them, but pg_restore must run with ag_catalog
# created by CREATE EXTENSION age first (the dump does that) and as a role
# allowed to write ag_catalog. For one workspace instead of the whole database
# use `lightrag-pg backup --workspace WS --to FILE` (a consistent snapshot of
# the four stores) and `lightrag-pg restore --from FILE`.
#
# For point-in-time recovery (WAL archiving + base backups) see pitr.md here.
set -eu

dir=${1:-./backups}
keep=${KEEP:-7}
: "${PGHOST:=${POSTGRES_HOST:-127.0.0.1}}"
: "${PGPORT:=${POSTGRES_PORT:-5432}}"
: "${PGUSER:=${POSTGRES_USER:-postgres}}"
: "${PGDATABASE:=${POSTGRES_DATABASE:-lightrag}}"
if [ -z "${PGPASSWORD:-}" ] && [ -n "${POSTGRES_PASSWORD:-}" ]; then
    PGPASSWORD=$POSTGRES_PASSWORD
fi
export PGHOST PGPORT PGUSER PGDATABASE
[ -n "${PGPASSWORD:-}" ] && export PGPASSWORD

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$dir"
umask 077
out="$dir/$PGDATABASE-$stamp.dump"
pg_dump --format=custom --compress=6 --no-sync --file="$out.partial" "$PGDATABASE"
mv "$out.partial" "$out"
pg_dumpall --globals-only --no-role-passwords > "$dir/globals-$stamp.sql" 2>/dev/null || true
# A quick integrity check: the archive's table of contents can be read.
pg_restore --list "$out" > /dev/null
echo "backup: $out ($(du -h "$out" | cut -f1))"

# Retention.
ls -1t "$dir"/"$PGDATABASE"-*.dump 2>/dev/null | tail -n +"$((keep + 1))" | while read -r old; do
    rm -f -- "$old"
done
