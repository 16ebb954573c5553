"""Drive POST /v1/chat/completions with Locust, step by step, and write what each step measured as JSON.

Run by load_test.py and the drills in a process of its own, because Locust patches the standard library
for gevent when imported:

    python bench/load_generator.py --host http://127.0.0.1:8000 --keys keys.txt --steps 8:60,16:60 \
        --output result.json --answered answered.txt
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import gevent
import psutil
from locust import FastHttpUser, constant, events, task
from locust.env import Environment

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_tenant import question_pool

QUESTIONS = question_pool()
REQUEST_TIMEOUT_SECONDS = 60.0


class Outcomes:
    """Answered correlation ids and error counts, shared by every simulated user."""

    def __init__(self) -> None:
        self.answered: list[str] = []
        self.errors: Counter[str] = Counter()
        self.retry_after_seen = 0
        self.error_samples: list[str] = []
        self.id_mismatches = 0

    def error(self, kind: str, sample: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < 20:
            self.error_samples.append(f"{kind}: {sample[:300]}")


OUTCOMES = Outcomes()
API_KEYS: itertools.cycle[str] = itertools.cycle([""])


class Employee(FastHttpUser):
    """Asks one question after another, without pause: a closed loop whose concurrency is the user count."""

    wait_time = constant(0)
    network_timeout = REQUEST_TIMEOUT_SECONDS
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.api_key = next(API_KEYS)

    @task
    def ask(self) -> None:
        body = {"model": "lantern", "messages": [{"role": "user", "content": random.choice(QUESTIONS)}]}
        with self.client.post(
            "/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {self.api_key}"},
            name="chat.completions",
            catch_response=True,
        ) as response:
            request_id = response.headers.get("X-Request-ID", "") if response.headers else ""
            if response.status_code == 200:
                try:
                    completion = response.json()
                    content = completion["choices"][0]["message"]["content"]
                    completion_id = completion["id"]
                except (ValueError, KeyError, IndexError, TypeError) as error:
                    OUTCOMES.error("bad_body", f"{error!r} {response.text!r}")
                    response.failure("body is not a chat completion")
                    return
                if not content:
                    OUTCOMES.error("empty_answer", response.text or "")
                    response.failure("empty answer")
                    return
                correlation_id = str(uuid.UUID(completion_id.removeprefix("chatcmpl-")))
                if request_id and request_id != correlation_id:
                    OUTCOMES.id_mismatches += 1
                OUTCOMES.answered.append(correlation_id)
                response.success()
                return
            if response.headers and response.headers.get("Retry-After"):
                OUTCOMES.retry_after_seen += 1
            status = response.status_code or 0
            OUTCOMES.error(f"http_{status}" if status else "connection", str(response.error or response.text))
            response.failure(f"status {status}")


def _cpu_seconds() -> dict[str, dict[tuple, float]]:
    """CPU seconds used so far by the machine, this load generator, and each PostgreSQL, gunicorn and Celery
    process, keyed by (pid, start time) so that a process that ends between two samples is not subtracted."""
    machine = psutil.cpu_times()
    totals: dict[str, dict[tuple, float]] = {
        "machine_busy": {(): machine.user + machine.system + machine.nice + getattr(machine, "irq", 0.0)},
        "load_generator": {(): sum(psutil.Process().cpu_times()[:2])},
        "postgres": {},
        "gunicorn": {},
        "celery": {},
    }
    for process in psutil.process_iter(["name", "cmdline", "cpu_times", "create_time"]):
        try:
            command = " ".join(process.info["cmdline"] or [])
            used = process.info["cpu_times"].user + process.info["cpu_times"].system
        except (psutil.Error, TypeError, AttributeError):
            continue
        key = (process.pid, process.info["create_time"])
        if process.info["name"] == "postgres" or command.startswith("postgres:"):
            totals["postgres"][key] = used
        elif "gunicorn" in command:
            totals["gunicorn"][key] = used
        elif "celery" in command and "worker" in command:
            totals["celery"][key] = used
    return totals


def _cpu_used(before: dict[tuple, float], after: dict[tuple, float]) -> float:
    """CPU seconds spent between two samples by the processes alive at the second one."""
    return sum(used - before.get(key, 0.0) for key, used in after.items())


def run_steps(*, host: str, steps: list[tuple[int, float]], warmup_seconds: float) -> list[dict]:
    """Run each (users, seconds) step after a warm-up at that concurrency; return one result per step."""
    # Users finish the question under way when a step ends, so every answer the server stored is seen.
    environment = Environment(user_classes=[Employee], host=host, events=events, stop_timeout=REQUEST_TIMEOUT_SECONDS)
    runner = environment.create_local_runner()
    results = []
    try:
        for users, seconds in steps:
            runner.start(users, spawn_rate=max(users, 1))
            gevent.sleep(warmup_seconds)
            environment.stats.reset_all()
            errors_before = Counter(OUTCOMES.errors)
            cpu_before = _cpu_seconds()
            started = time.monotonic()
            gevent.sleep(seconds)
            elapsed = time.monotonic() - started
            cpu_after = _cpu_seconds()
            cores = psutil.cpu_count()
            total = environment.stats.total
            results.append(
                {
                    "users": users,
                    "seconds": round(elapsed, 1),
                    "requests": total.num_requests,
                    "failures": total.num_failures,
                    "rps": round(total.num_requests / elapsed, 1),
                    "p50_ms": total.get_response_time_percentile(0.5),
                    "p90_ms": total.get_response_time_percentile(0.9),
                    "p99_ms": total.get_response_time_percentile(0.99),
                    "max_ms": round(total.max_response_time or 0),
                    "error_rate": round(total.num_failures / total.num_requests, 4) if total.num_requests else 0.0,
                    "errors": dict(Counter(OUTCOMES.errors) - errors_before),
                    "cpu_percent_of_two_cores": {
                        name: round(100 * _cpu_used(cpu_before[name], cpu_after[name]) / elapsed / cores, 1)
                        for name in cpu_after
                    },
                }
            )
            print(json.dumps(results[-1]), flush=True)
    finally:
        runner.stop()
        runner.quit()
    return results


def _steps(text: str) -> list[tuple[int, float]]:
    steps = []
    for item in text.split(","):
        users, seconds = item.split(":")
        steps.append((int(users), float(seconds)))
    return steps


def main() -> int:
    global API_KEYS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", required=True, help="base URL of Lantern, e.g. http://127.0.0.1:8000")
    parser.add_argument("--keys", required=True, type=Path, help="file with one API key a line")
    parser.add_argument("--steps", required=True, type=_steps, help="users:seconds,users:seconds,...")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds at each step before measuring")
    parser.add_argument("--output", required=True, type=Path, help="where the JSON results go")
    parser.add_argument("--answered", required=True, type=Path, help="where answered correlation ids go")
    arguments = parser.parse_args()
    keys = [line.strip() for line in arguments.keys.read_text().splitlines() if line.strip()]
    API_KEYS = itertools.cycle(keys)
    steps = run_steps(host=arguments.host, steps=arguments.steps, warmup_seconds=arguments.warmup)
    arguments.answered.write_text("".join(f"{correlation_id}\n" for correlation_id in OUTCOMES.answered))
    arguments.output.write_text(
        json.dumps(
            {
                "steps": steps,
                "answered": len(OUTCOMES.answered),
                "errors": dict(OUTCOMES.errors),
                "error_samples": OUTCOMES.error_samples,
                "retry_after_seen": OUTCOMES.retry_after_seen,
                "request_id_mismatches": OUTCOMES.id_mismatches,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
