#!/bin/sh
# Installs the extensions LightRAG's PostgreSQL storages use into
# POSTGRES_DATABASE (idempotent): vector (pgvector), age (Apache AGE) and
# pg_stat_statements, and gives LIGHTRAG_APP_USER (when set) row access only.
# Same variables and connection as 00-create-custom-db.sh.
set -eu
dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
psql -X -q -v ON_ERROR_STOP=1 \
  --dbname="${POSTGRES_DATABASE:-${POSTGRES_DB:-lightrag}}" \
  -v app_user="${POSTGRES_USER:-postgres}" \
  -v app_role="${LIGHTRAG_APP_USER:-}" \
  -f "$dir/01-init.sql"
