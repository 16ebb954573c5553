"""Drill: PostgreSQL goes away in the middle of a load, as in a restart, and comes back.

Serves Lantern under gunicorn from a database of its own and asks through /v1/chat/completions at a steady
concurrency. A third of the way in, every connection to that database is terminated and new ones are refused
for a few seconds (ALLOW_CONNECTIONS false), which is what the app sees of a restart; then the database is
open again. Questions in flight must fail with a retryable 503, never another error, and afterwards every
answered question has its audit event, usage record and both messages, no failed one left half of them, and
the chain verifies. Needs the owner role to be a superuser, as on the embedded server.

    .venv/bin/python bench/drill_postgres_outage.py [--users 8] [--seconds 60] [--outage 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark_database import setup_django
from drills import load_with_fault, print_report
from service_stack import free_port, gunicorn_process, served_environment, services, wait_for_http

DRILL_DATABASE = "lantern_drill_postgres"


def outage(conninfo: dict, *, database: str, seconds: float, timeline: list[str], began: float) -> None:
    """Refuse new connections to the database and end every open one, for `seconds`, then reopen it."""
    with psycopg.connect(**conninfo, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s", [database]
        ).fetchone()[0]
        timeline.append(f"{time.monotonic() - began:5.1f} s  database closed, {ended} connections ended")
        time.sleep(seconds)
        admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        timeline.append(f"{time.monotonic() - began:5.1f} s  database open again")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=8, help="concurrent simulated employees")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds the database stays closed")
    arguments = parser.parse_args()

    setup_django()
    from django.db import connections
    from load_tenant import dedicated_database, seed_bench_tenant, write_lines

    with (
        dedicated_database(DRILL_DATABASE) as urls,
        services() as started,
        tempfile.TemporaryDirectory(prefix="lantern-drill-") as work,
    ):
        owner = connections["owner"].settings_dict
        conninfo = {"host": owner["HOST"], "user": owner["USER"], "password": owner["PASSWORD"] or None}
        if owner["PORT"]:
            conninfo["port"] = owner["PORT"]
        tenant = seed_bench_tenant(slug="drill-postgres", users=arguments.users)
        keys_file = Path(work) / "keys.txt"
        write_lines(keys_file, tenant.api_keys)
        environment = served_environment(urls, DATABASE_CONN_MAX_AGE="60")
        port = free_port()
        host = f"http://127.0.0.1:{port}"
        started.start(gunicorn_process(port=port, workers=2, threads=4, environment=environment, log_name="drill-pg"))
        wait_for_http(f"{host}/readyz", timeout_seconds=180)
        connections.close_all()

        timeline: list[str] = []
        began = time.monotonic()

        def saboteur() -> None:
            time.sleep(arguments.seconds / 3)
            outage(conninfo, database=DRILL_DATABASE, seconds=arguments.outage, timeline=timeline, began=began)

        step, check = load_with_fault(
            host=host,
            keys_file=keys_file,
            tenant_id=tenant.tenant_id,
            users=arguments.users,
            seconds=arguments.seconds,
            work=Path(work),
            fault=saboteur,
        )

    title = f"PostgreSQL outage drill: {arguments.users} users for {arguments.seconds:.0f} s"
    print_report(title, timeline, step, check)
    only_retryable = set(step["errors"]) <= {"http_503"}
    passed = check.ok and only_retryable
    print(f"\n{'PASS' if passed else 'FAIL'}: failures were {'only' if only_retryable else 'NOT only'} retryable 503s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
