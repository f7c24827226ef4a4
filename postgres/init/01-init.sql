-- Extensions for LightRAG's storages (idempotent). Run by 01-init-db.sh in the
-- application database with the psql variables app_user and (optional)
-- app_role, or by hand where shell scripts are not allowed:
--
--   psql -X -v ON_ERROR_STOP=1 -d lightrag -v app_user=postgres [-v app_role=lightrag_app] -f 01-init.sql
--
-- auto_explain is a loadable module, not an extension: it is configured through
-- shared_preload_libraries and its GUCs in postgresql.conf.
\if :{?app_user} \else \set app_user postgres \endif
\if :{?app_role} \else \set app_role '' \endif
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS age;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;

-- AGE's catalog is usable by the database owner, who creates the graphs (a
-- no-op for a superuser): create_graph/create_vlabel write ag_graph and ag_label.
GRANT USAGE ON SCHEMA ag_catalog TO :"app_user";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ag_catalog TO :"app_user";

-- The least-privileged application role: the administrator (app_user) runs
-- `lightrag-pg init` and owns every table and AGE graph; app_role may only read
-- and write rows (and create temporary tables: 00-custom-db-setup.sql). Default
-- privileges cover tables, sequences and graph schemas that app_user creates
-- later. No CREATE anywhere, no CREATE EXTENSION.
SELECT :'app_role' <> '' AS has_app_role \gset
\if :has_app_role
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app_role";
GRANT USAGE ON SCHEMA ag_catalog TO :"app_role";
GRANT SELECT ON ALL TABLES IN SCHEMA ag_catalog TO :"app_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app_role";
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO :"app_role";
-- Existing AGE graph schemas (one per workspace) and their label tables.
SELECT format('GRANT USAGE ON SCHEMA %I TO %I', g.name, :'app_role'),
       format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', g.name, :'app_role'),
       format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I', g.name, :'app_role')
FROM ag_catalog.ag_graph g \gexec
ALTER DEFAULT PRIVILEGES FOR ROLE :"app_user" GRANT USAGE ON SCHEMAS TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"app_user" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"app_user" GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO :"app_role";
\endif
