"""Load test of the OpenAI-compatible chat API under gunicorn, with a Celery worker and Redis.

Seeds a bench tenant (slug bench-load) with the demo FAQ entries and one API key per simulated employee in a
database of its own, lifts the rate limits, then asks questions at increasing concurrency with Locust —
once with the extractive answerer and once with the fake OpenAI-compatible server of tests/llm_server.py
as the local model — and prints requests/s, p50/p99 latency and errors per step. Afterwards every answered
question must have exactly one audit event and one usage record, and the tenant's audit chain must verify.

    .venv/bin/python bench/load_test.py --quick         # a couple of minutes
    .venv/bin/python bench/load_test.py                 # steps of a minute, then 5 minutes sustained
    .venv/bin/python bench/load_test.py --attach http://127.0.0.1:8000   # a server already running,
                                                        # on the database DATABASE_URL names
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmark_database import setup_django
from load_tenant import RecordCheck
from service_stack import (
    PYTHON,
    REPOSITORY,
    celery_worker_process,
    free_port,
    gunicorn_process,
    served_environment,
    services,
    wait_for_http,
)

GOAL_REQUESTS_PER_SECOND = 50.0
LOAD_DATABASE = "lantern_load"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
# Two cores: one process per core keeps the GIL-bound work (PII scan, retrieval, hashing) on both; a few
# threads each overlap the waits on PostgreSQL and Redis without piling up runnable threads.
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4


@dataclass(frozen=True)
class Plan:
    """What to run: the steps (users, seconds) before the sustained run, and the sustained run itself."""

    steps: list[tuple[int, float]]
    sustained: tuple[int, float] | None
    warmup_seconds: float


def plan_for(arguments: argparse.Namespace) -> Plan:
    """The quick or the full plan, with the command line's overrides."""
    if arguments.quick:
        steps, sustained, warmup = [(2, 15), (4, 15), (8, 15), (16, 15)], (8, 30), 3.0
    else:
        steps, sustained, warmup = [(2, 60), (4, 60), (8, 60), (16, 60), (32, 60)], (8, 300), 10.0
    if arguments.steps:
        steps = [(int(users), float(seconds)) for users, seconds in (item.split(":") for item in arguments.steps)]
    if arguments.sustained:
        users, seconds = arguments.sustained.split(":")
        sustained = (int(users), float(seconds))
    if arguments.no_sustained:
        sustained = None
    return Plan(steps=steps, sustained=sustained, warmup_seconds=warmup)


def run_generator(*, host: str, keys_file: Path, steps: list[tuple[int, float]], warmup: float, work: Path) -> dict:
    """Run bench/load_generator.py (Locust) as a child process; return its JSON result with the answered ids."""
    import subprocess

    output, answered = work / "result.json", work / "answered.txt"
    step_text = ",".join(f"{users}:{seconds:g}" for users, seconds in steps)
    command = [
        PYTHON,
        str(REPOSITORY / "bench" / "load_generator.py"),
        f"--host={host}",
        f"--keys={keys_file}",
        f"--steps={step_text}",
        f"--warmup={warmup:g}",
        f"--output={output}",
        f"--answered={answered}",
    ]
    completed = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    result = json.loads(output.read_text())
    result["answered_ids"] = answered.read_text().split()
    return result


def print_steps(title: str, steps: list[dict]) -> None:
    """One line per step: concurrency, throughput, latency, errors and where the CPU went."""
    print(f"\n{title}")
    print(
        f"{'users':>5} {'secs':>5} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} "
        f"{'max ms':>7} {'errors':>6}  cpu% of 2 cores (machine / gunicorn / postgres / locust / celery)"
    )
    for step in steps:
        cpu = step["cpu_percent_of_two_cores"]
        print(
            f"{step['users']:>5} {step['seconds']:>5.0f} {step['requests']:>8} {step['rps']:>7.1f} "
            f"{step['p50_ms'] or 0:>7.0f} {step['p90_ms'] or 0:>7.0f} {step['p99_ms'] or 0:>7.0f} "
            f"{step['max_ms']:>7} {step['failures']:>6}  {cpu['machine_busy']:.0f} / {cpu['gunicorn']:.0f} / "
            f"{cpu['postgres']:.0f} / {cpu['load_generator']:.0f} / {cpu['celery']:.0f}"
            + (f"  {step['errors']}" if step["errors"] else "")
        )


def flush_redis(url: str) -> None:
    """Empty the spare Redis database the load test uses (never another one)."""
    import redis

    redis.Redis.from_url(url).flushdb()


def run_backend(
    *,
    label: str,
    arguments: argparse.Namespace,
    database_urls: dict[str, str],
    keys_file: Path,
    plan: Plan,
    extra_environment: dict[str, str],
    sustained: bool,
) -> dict:
    """Start gunicorn and a worker with one backend configuration, run the steps, and stop them."""
    environment = served_environment(
        database_urls,
        redis_url=arguments.redis_url,
        DATABASE_CONN_MAX_AGE=str(arguments.conn_max_age),
        **extra_environment,
    )
    steps = list(plan.steps) + ([plan.sustained] if sustained and plan.sustained else [])
    with services() as started, tempfile.TemporaryDirectory(prefix="lantern-load-") as work:
        if arguments.attach:
            host = arguments.attach.rstrip("/")
        else:
            port = free_port()
            host = f"http://127.0.0.1:{port}"
            gunicorn = started.start(
                gunicorn_process(
                    port=port,
                    workers=arguments.workers,
                    threads=arguments.threads,
                    environment=environment,
                    log_name=f"load-gunicorn-{label}",
                )
            )
            started.start(celery_worker_process(environment=environment, log_name=f"load-celery-{label}"))
            try:
                wait_for_http(f"{host}/readyz", timeout_seconds=180)
            except TimeoutError:
                print(gunicorn.tail(), file=sys.stderr)
                raise
        print(f"\n[{label}] {host}: gunicorn {arguments.workers} workers x {arguments.threads} threads", flush=True)
        return run_generator(host=host, keys_file=keys_file, steps=steps, warmup=plan.warmup_seconds, work=Path(work))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short steps, 30 s sustained")
    parser.add_argument("--attach", default="", help="URL of a running Lantern instead of starting one")
    parser.add_argument("--backends", default="extractive,fake-llm", help="extractive, fake-llm, or both")
    parser.add_argument("--users", type=int, default=32, help="employees seeded, one API key each")
    parser.add_argument("--steps", nargs="*", help="users:seconds for each step, overriding the plan")
    parser.add_argument("--sustained", default="", help="users:seconds of the sustained run (extractive only)")
    parser.add_argument("--no-sustained", action="store_true", help="skip the sustained run")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="threads per gunicorn worker")
    parser.add_argument("--conn-max-age", type=int, default=60, help="DATABASE_CONN_MAX_AGE of the app")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="a spare Redis database, emptied first")
    parser.add_argument("--fake-llm-delay", type=float, default=0.05, help="seconds the fake model waits")
    arguments = parser.parse_args()
    plan = plan_for(arguments)

    setup_django()
    from load_tenant import check_records, dedicated_database, seed_bench_tenant, write_lines

    backends = [name.strip() for name in arguments.backends.split(",") if name.strip()]
    results: dict[str, dict] = {}
    started = time.monotonic()
    if arguments.attach:
        from django.db import connections
        from load_tenant import database_urls

        database_context = contextlib.nullcontext(
            database_urls(database_name=connections["default"].settings_dict["NAME"])
        )
    else:
        database_context = dedicated_database(LOAD_DATABASE)
    with database_context as urls, tempfile.TemporaryDirectory(prefix="lantern-load-keys-") as key_dir:
        flush_redis(arguments.redis_url)
        tenant = seed_bench_tenant(users=arguments.users)
        keys_file = Path(key_dir) / "keys.txt"
        write_lines(keys_file, tenant.api_keys)
        print(f"seeded tenant {tenant.slug} (id {tenant.tenant_id}) with {len(tenant.api_keys)} API keys", flush=True)
        for backend in backends:
            if backend == "extractive":
                results[backend] = run_backend(
                    label=backend,
                    arguments=arguments,
                    database_urls=urls,
                    keys_file=keys_file,
                    plan=plan,
                    extra_environment={},
                    sustained=True,
                )
            elif backend == "fake-llm":
                sys.path.insert(0, str(REPOSITORY))
                from tests.llm_server import FakeLLMServer

                with FakeLLMServer() as fake_llm:
                    fake_llm.slow(delay_seconds=arguments.fake_llm_delay)
                    results[backend] = run_backend(
                        label=backend,
                        arguments=arguments,
                        database_urls=urls,
                        keys_file=keys_file,
                        plan=plan,
                        extra_environment={
                            "LANTERN_LOCAL_BASE_URL": fake_llm.base_url,
                            "LANTERN_LOCAL_MODEL": "fake-model",
                        },
                        sustained=False,
                    )
                    results[backend]["fake_llm_requests"] = len(fake_llm.requests)
            else:
                parser.error(f"unknown backend {backend!r}")
        answered_ids = [correlation_id for result in results.values() for correlation_id in result["answered_ids"]]
        check = check_records(tenant_id=tenant.tenant_id, answered_ids=answered_ids)
        flush_redis(arguments.redis_url)
    return report(results=results, check=check, plan=plan, arguments=arguments, elapsed=time.monotonic() - started)


def report(
    *, results: dict[str, dict], check: RecordCheck, plan: Plan, arguments: argparse.Namespace, elapsed: float
) -> int:
    """Print every step, the record check and the verdict against the goal; 0 when the goal is met."""
    for backend, result in results.items():
        print_steps(f"{backend}: per step (closed loop, no think time)", result["steps"])
        if result.get("error_samples"):
            print("  error samples:", *result["error_samples"][:5], sep="\n    ")
        if result.get("request_id_mismatches"):
            print(f"  X-Request-ID differing from the completion id: {result['request_id_mismatches']}")
        if "fake_llm_requests" in result:
            print(f"  fake local model received {result['fake_llm_requests']} requests")
    print("\nrecords check:")
    for line in check.lines():
        print(f"  {line}")
    verdict_ok = check.ok
    if "extractive" in results and plan.sustained and not arguments.no_sustained:
        sustained = results["extractive"]["steps"][-1]
        met = (
            sustained["rps"] >= GOAL_REQUESTS_PER_SECOND
            and sustained["failures"] == 0
            and sustained["seconds"] >= plan.sustained[1] * 0.95
        )
        print(
            f"\nsustained extractive run: {sustained['users']} users for {sustained['seconds']:.0f} s: "
            f"{sustained['rps']:.1f} req/s, {sustained['failures']} errors "
            f"(goal: >= {GOAL_REQUESTS_PER_SECOND:.0f} req/s, 0 errors, {plan.sustained[1]:.0f} s): "
            f"{'MET' if met else 'NOT MET'}"
        )
        verdict_ok = verdict_ok and met
    errors = sum(sum(result["errors"].values()) for result in results.values())
    verdict_ok = verdict_ok and errors == 0
    print(f"\n{'PASS' if verdict_ok else 'FAIL'} ({elapsed:.0f} s in all)")
    return 0 if verdict_ok else 1


if __name__ == "__main__":
    sys.exit(main())
