-- Extensions for LightRAG's storages (idempotent). Run by 01-init-db.sh in the
-- application database with the psql variable app_user.
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS age;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;

-- AGE's catalog is usable by the application role (a no-op for a superuser).
GRANT USAGE ON SCHEMA ag_catalog TO :"app_user";
