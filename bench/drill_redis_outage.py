"""Drill: Redis stops in the middle of a load and comes back; the chat must keep answering without errors.

Starts a throwaway redis-server of its own, gunicorn and a Celery worker pointed at it, and Locust asking
through /v1/chat/completions at a steady concurrency. A third of the way in, Redis is killed; at two
thirds it is started again on the same port. Every question asked meanwhile also meters usage, which can
cross a department's budget and queue an alert: with the broker away the request runs that task itself.
Afterwards every answered question must have one audit event and one usage record, and the chain verifies.

    .venv/bin/python bench/drill_redis_outage.py [--users 8] [--seconds 90]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark_database import setup_django
from drills import load_with_fault, print_report
from service_stack import (
    celery_worker_process,
    free_port,
    gunicorn_process,
    redis_server_process,
    served_environment,
    services,
    wait_for_http,
    wait_for_port,
)

DRILL_DATABASE = "lantern_drill_redis"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=8, help="concurrent simulated employees")
    parser.add_argument("--seconds", type=float, default=90.0, help="length of the load")
    arguments = parser.parse_args()

    setup_django()
    from load_tenant import dedicated_database, seed_bench_tenant, write_lines

    with (
        dedicated_database(DRILL_DATABASE) as urls,
        services() as started,
        tempfile.TemporaryDirectory(prefix="lantern-drill-") as work,
    ):
        tenant = seed_bench_tenant(slug="drill-redis", users=arguments.users)
        keys_file = Path(work) / "keys.txt"
        write_lines(keys_file, tenant.api_keys)
        redis_port = free_port()
        redis = started.start(redis_server_process(port=redis_port))
        wait_for_port(redis_port)
        environment = served_environment(urls, redis_url=f"redis://127.0.0.1:{redis_port}/0")
        port = free_port()
        host = f"http://127.0.0.1:{port}"
        started.start(gunicorn_process(port=port, workers=2, threads=4, environment=environment, log_name="drill-web"))
        started.start(celery_worker_process(environment=environment, log_name="drill-celery"))
        wait_for_http(f"{host}/readyz", timeout_seconds=180)

        timeline: list[str] = []
        began = time.monotonic()

        def outage() -> None:
            time.sleep(arguments.seconds / 3)
            redis.stop(grace_seconds=0)
            timeline.append(f"{time.monotonic() - began:5.1f} s  redis-server killed")
            time.sleep(arguments.seconds / 3)
            started.start(redis_server_process(port=redis_port))
            wait_for_port(redis_port)
            timeline.append(f"{time.monotonic() - began:5.1f} s  redis-server back")

        step, check = load_with_fault(
            host=host,
            keys_file=keys_file,
            tenant_id=tenant.tenant_id,
            users=arguments.users,
            seconds=arguments.seconds,
            work=Path(work),
            fault=outage,
        )

    print_report(f"Redis outage drill: {arguments.users} users for {arguments.seconds:.0f} s", timeline, step, check)
    passed = check.ok and step["failures"] == 0
    print(f"\n{'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
