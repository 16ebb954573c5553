"""Time to first token and total time of a question, through the web chat and through /v1/chat/completions.

Serves Lantern under gunicorn (the extractive answerer, so every millisecond measured is Lantern's own
overhead: PII scan, retrieval, routing, audit, metering, streaming) from a database of its own, and asks
streamed questions from 1 and from 20 concurrent employees, each one after the other without pause.

    .venv/bin/python bench/bench_chat.py [--quick] [--requests-per-user 10]

Goal: overhead p50 <= 30 ms and p99 <= 100 ms at 20 concurrent users on a 2-core machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark_database import setup_django
from service_stack import free_port, gunicorn_process, served_environment, services, wait_for_http

GOAL_P50_MS = 30.0
GOAL_P99_MS = 100.0
CHAT_DATABASE = "lantern_chat_bench"
PASSWORD = "bench-chat-password-1"
DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4


@dataclass
class Timings:
    """Per-request milliseconds to the first text and to the end of the stream, and the failures."""

    first_token: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, first_token: float, total: float) -> None:
        with self.lock:
            self.first_token.append(first_token)
            self.total.append(total)

    def fail(self, reason: str) -> None:
        with self.lock:
            self.errors.append(reason)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def web_asker(host: str, username: str) -> Callable[[str, Timings], None]:
    """A signed-in browser session that asks through POST /ask/stream/ (server-sent events)."""
    client = httpx.Client(base_url=host, timeout=60.0)
    client.get("/login/")
    response = client.post(
        "/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
    )
    if response.status_code != 302:
        raise RuntimeError(f"{username} could not sign in: HTTP {response.status_code}")

    def ask(question: str, timings: Timings) -> None:
        started = time.perf_counter()
        first = None
        with client.stream(
            "POST", "/ask/stream/", data={"question": question}, headers={"X-CSRFToken": client.cookies["csrftoken"]}
        ) as stream:
            if stream.status_code != 200:
                timings.fail(f"http_{stream.status_code}")
                return
            for line in stream.iter_lines():
                if first is None and line == "event: delta":
                    first = time.perf_counter()
                if line in ("event: done", "event: failed"):
                    break
        end = time.perf_counter()
        if first is None:
            timings.fail("no_text")
            return
        timings.add((first - started) * 1000, (end - started) * 1000)

    return ask


def api_asker(host: str, api_key: str) -> Callable[[str, Timings], None]:
    """An API client that asks through POST /v1/chat/completions with stream=true."""
    client = httpx.Client(base_url=host, timeout=60.0, headers={"Authorization": f"Bearer {api_key}"})

    def ask(question: str, timings: Timings) -> None:
        body = {"model": "lantern", "stream": True, "messages": [{"role": "user", "content": question}]}
        started = time.perf_counter()
        first = None
        with client.stream("POST", "/v1/chat/completions", json=body) as stream:
            if stream.status_code != 200:
                timings.fail(f"http_{stream.status_code}")
                return
            for line in stream.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                delta = json.loads(line.removeprefix("data: "))["choices"][0]["delta"]
                if first is None and delta.get("content"):
                    first = time.perf_counter()
        end = time.perf_counter()
        if first is None:
            timings.fail("no_text")
            return
        timings.add((first - started) * 1000, (end - started) * 1000)

    return ask


def run(askers: list[Callable[[str, Timings], None]], questions: list[str], per_user: int) -> Timings:
    """Every asker asks `per_user` questions in a row, all askers at once."""
    timings = Timings()

    def employee(ask: Callable[[str, Timings], None], seed: int) -> None:
        chooser = random.Random(seed)
        for _ in range(per_user):
            try:
                ask(chooser.choice(questions), timings)
            except httpx.HTTPError as error:
                timings.fail(type(error).__name__)

    threads = [threading.Thread(target=employee, args=(ask, seed)) for seed, ask in enumerate(askers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few requests per user, to check the script runs")
    parser.add_argument("--requests-per-user", type=int, default=0, help="questions each user asks per run")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="threads per gunicorn worker")
    arguments = parser.parse_args()
    per_user = {1: 60, 20: 10}
    if arguments.quick:
        per_user = {1: 10, 20: 2}
    if arguments.requests_per_user:
        per_user = dict.fromkeys(per_user, arguments.requests_per_user)

    setup_django()
    from django.contrib.auth import get_user_model
    from load_tenant import dedicated_database, question_pool, seed_bench_tenant

    users = max(per_user)
    with dedicated_database(CHAT_DATABASE) as urls, services() as started:
        tenant = seed_bench_tenant(slug="bench-chat", users=users)
        members = get_user_model().objects.filter(username__startswith="bench-chat-user-").order_by("username")
        usernames = []
        for user in members:
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
            usernames.append(user.username)
        port = free_port()
        host = f"http://127.0.0.1:{port}"
        environment = served_environment(urls)
        started.start(
            gunicorn_process(
                port=port,
                workers=arguments.workers,
                threads=arguments.threads,
                environment=environment,
                log_name="chat",
            )
        )
        wait_for_http(f"{host}/readyz", timeout_seconds=180)
        questions = question_pool()
        print(
            f"gunicorn {arguments.workers} workers x {arguments.threads} threads, extractive answerer; "
            f"tenant {tenant.slug} with {len(questions)} distinct questions"
        )
        api_keys = itertools.cycle(tenant.api_keys)
        run([api_asker(host, next(api_keys)) for _ in range(2)], questions, 5)  # warm both workers up
        header = f"{'endpoint':<22} {'users':>5} {'asked':>6} {'TTFT p50':>9} {'p99':>7} {'total p50':>10} {'p99':>7}"
        print(f"\n{header} errors")
        verdicts = []
        for label, make in (
            ("web /ask/stream/", lambda index: web_asker(host, usernames[index])),
            ("/v1/chat/completions", lambda index: api_asker(host, tenant.api_keys[index])),
        ):
            for concurrency, count in per_user.items():
                timings = run([make(index) for index in range(concurrency)], questions, count)
                p50, p99 = percentile(timings.total, 0.5), percentile(timings.total, 0.99)
                print(
                    f"{label:<22} {concurrency:>5} {len(timings.total):>6} "
                    f"{percentile(timings.first_token, 0.5):>9.1f} {percentile(timings.first_token, 0.99):>7.1f} "
                    f"{p50:>10.1f} {p99:>7.1f} {len(timings.errors)}"
                    + (f" {sorted(set(timings.errors))}" if timings.errors else "")
                )
                if concurrency == max(per_user):
                    verdicts.append(p50 <= GOAL_P50_MS and p99 <= GOAL_P99_MS and not timings.errors)
    print(
        f"\ngoal at {max(per_user)} users: total (all overhead) p50 <= {GOAL_P50_MS:.0f} ms, "
        f"p99 <= {GOAL_P99_MS:.0f} ms: {'met' if all(verdicts) else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
