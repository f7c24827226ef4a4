#!/bin/sh
# Creates the application role and database, if missing (idempotent).
#
#   POSTGRES_USER      the role LightRAG connects as (default postgres)
#   POSTGRES_PASSWORD  its password, used only when the role is created
#   POSTGRES_DATABASE  the database (default lightrag; POSTGRES_DB is accepted too)
#
# Connects as an administrator through libpq's PG* variables (PGHOST, PGPORT,
# PGUSER, PGPASSWORD) to the maintenance database `postgres`. Run by
# `cargo xtask pg up`, by the image's entrypoint on first start, or by hand.
set -eu
dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
psql -X -q -v ON_ERROR_STOP=1 --dbname=postgres \
  -v app_user="${POSTGRES_USER:-postgres}" \
  -v app_password="${POSTGRES_PASSWORD:-}" \
  -v app_db="${POSTGRES_DATABASE:-${POSTGRES_DB:-lightrag}}" \
  -f "$dir/00-custom-db-setup.sql"
