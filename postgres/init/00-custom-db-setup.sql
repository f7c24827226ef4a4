-- The application role and database (idempotent). Run by 00-create-custom-db.sh
-- with the psql variables app_user, app_password and app_db.
-- An existing role is left as it is (its password is not changed).

SELECT format('CREATE ROLE %I LOGIN%s', :'app_user',
              CASE WHEN :'app_password' = '' THEN '' ELSE format(' PASSWORD %L', :'app_password') END)
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_user') \gexec

SELECT format('CREATE DATABASE %I OWNER %I', :'app_db', :'app_user')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'app_db') \gexec
