-- The application role and database (idempotent). Run by 00-create-custom-db.sh
-- with the psql variables app_user, app_password and app_db, or by hand where
-- shell scripts are not allowed:
--
--   psql -X -v ON_ERROR_STOP=1 -d postgres -v app_user=postgres -v app_password=secret \
--        -v app_db=lightrag [-v app_role=lightrag_app -v app_role_password=secret2] \
--        -f 00-custom-db-setup.sql
--
-- app_user owns the database and runs `lightrag-pg init` (DDL). The optional
-- app_role (LIGHTRAG_APP_USER) is a least-privileged login for the running
-- application: CONNECT and TEMPORARY on the database; 01-init.sql gives it DML.
-- TEMPORARY: vector upserts of more than 128 rows stage their rows in a
-- temporary table (binary COPY, dropped at commit), and REVOKE ALL … FROM
-- PUBLIC below takes away the TEMPORARY every role has by default.
-- An existing role is left as it is (its password is not changed).
\if :{?app_user} \else \set app_user postgres \endif
\if :{?app_password} \else \set app_password '' \endif
\if :{?app_db} \else \set app_db lightrag \endif
\if :{?app_role} \else \set app_role '' \endif
\if :{?app_role_password} \else \set app_role_password '' \endif
SET client_min_messages = warning;

SELECT format('CREATE ROLE %I LOGIN%s', :'app_user',
              CASE WHEN :'app_password' = '' THEN '' ELSE format(' PASSWORD %L', :'app_password') END)
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_user') \gexec

SELECT format('CREATE DATABASE %I OWNER %I', :'app_db', :'app_user')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'app_db') \gexec

SELECT :'app_role' <> '' AS has_app_role \gset
\if :has_app_role
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION%s', :'app_role',
              CASE WHEN :'app_role_password' = '' THEN '' ELSE format(' PASSWORD %L', :'app_role_password') END)
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role') \gexec
-- Only named roles may connect to the application database.
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'app_db') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'app_db', :'app_role') \gexec
\endif
