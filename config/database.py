"""Where the database is: a server named by DATABASE_URL, or an embedded PostgreSQL 16 with pgvector."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

logger = logging.getLogger(__name__)

EMBEDDED_DATABASE = "lantern"
EMBEDDED_APP_ROLE = "lantern_app"
EMBEDDED_APP_PASSWORD = "lantern_app"  # noqa: S105 - the embedded server listens on a private socket only


def start_embedded_server(data_dir: Path) -> Path:
    """Start (or find running) the embedded PostgreSQL under data_dir; return its socket directory."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    runtime_dir = data_dir.parent / "run"
    runtime_dir.mkdir(mode=0o700, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
    import pgserver

    server = pgserver.get_server(data_dir, cleanup_mode=None)
    socket_dir = Path(parse_qs(urlparse(server.get_uri()).query)["host"][0])
    marker = data_dir / ".lantern-bootstrapped"
    if not marker.exists():
        _bootstrap_embedded(socket_dir)
        marker.write_text("database and application role created\n")
    return socket_dir


def _bootstrap_embedded(socket_dir: Path) -> None:
    """Create the application database and a role that owns nothing and cannot bypass row-level security."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [EMBEDDED_APP_ROLE]).fetchone():
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE").format(
                    sql.Identifier(EMBEDDED_APP_ROLE), sql.Literal(EMBEDDED_APP_PASSWORD)
                )
            )
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [EMBEDDED_DATABASE]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(EMBEDDED_DATABASE)))
    logger.info("embedded PostgreSQL bootstrapped under %s", socket_dir)


def embedded_databases(data_dir: Path) -> tuple[dict, dict]:
    """Django database settings (application role, owner role) for the embedded server."""
    socket_dir = start_embedded_server(data_dir)
    common = {"ENGINE": "django.db.backends.postgresql", "NAME": EMBEDDED_DATABASE, "HOST": str(socket_dir)}
    app = {**common, "USER": EMBEDDED_APP_ROLE, "PASSWORD": EMBEDDED_APP_PASSWORD}
    owner = {**common, "USER": "postgres", "PASSWORD": ""}
    return app, owner
