#!/bin/sh
# Creates the application role and database, if missing (idempotent).
#
#   POSTGRES_USER      the role LightRAG connects as (default postgres)
#   POSTGRES_PASSWORD  its password, used only when the role is created
#   POSTGRES_DATABASE  the database (default lightrag; POSTGRES_DB is accepted too)
#   LIGHTRAG_APP_USER, LIGHTRAG_APP_PASSWORD  optional: a least-privileged login
#                      for the application (CONNECT and TEMPORARY here, DML from
#                      01-init-db.sh)
#   *_FILE             POSTGRES_PASSWORD_FILE / LIGHTRAG_APP_PASSWORD_FILE: read
#                      the password from a file (Docker secrets)
#
# Connects as an administrator through libpq's PG* variables (PGHOST, PGPORT,
# PGUSER, PGPASSWORD) to the maintenance database `postgres`. Run by
# `cargo xtask pg up`, by the image's entrypoint on first start, or by hand.
set -eu
dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
[ -n "${POSTGRES_PASSWORD_FILE:-}" ] && POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
[ -n "${LIGHTRAG_APP_PASSWORD_FILE:-}" ] && LIGHTRAG_APP_PASSWORD=$(cat "$LIGHTRAG_APP_PASSWORD_FILE")
psql -X -q -v ON_ERROR_STOP=1 --dbname=postgres \
  -v app_user="${POSTGRES_USER:-postgres}" \
  -v app_password="${POSTGRES_PASSWORD:-}" \
  -v app_db="${POSTGRES_DATABASE:-${POSTGRES_DB:-lightrag}}" \
  -v app_role="${LIGHTRAG_APP_USER:-}" \
  -v app_role_password="${LIGHTRAG_APP_PASSWORD:-}" \
  -f "$dir/00-custom-db-setup.sql"
