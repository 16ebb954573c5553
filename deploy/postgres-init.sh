#!/bin/sh
# Runs once when the database volume is created: the application role owns nothing and cannot bypass
# row-level security; the owner role (POSTGRES_USER) runs the migrations.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v app_password="$LANTERN_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE lantern_app LOGIN PASSWORD :'app_password' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
GRANT CONNECT ON DATABASE lantern TO lantern_app;
SQL
