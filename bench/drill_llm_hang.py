"""Drill: the local model hangs under load while the cloud one answers with errors, then garbage.

Serves Lantern under gunicorn, with Redis (which shares the circuit breakers between the workers) and a Celery
worker, from a database of its own, with the bench tenant's own local and cloud servers
(routing.policy.save_backend_override) set to two fake OpenAI-compatible servers of tests/llm_server.py, and a
policy that keeps personal data and confident FAQ matches local and sends the rest to the cloud. Locust asks
through /v1/chat/completions at a steady concurrency while:

- the cloud server fails every call with HTTP 500 from the start, and answers 200 with a body that is not
  JSON from 40% of the way in;
- the local server answers normally, hangs (accepts calls and never answers) from 20% of the way in, and
  answers normally again from 55%.

Every question must be answered, within LANTERN_ANSWER_TIME_BUDGET_SECONDS (lowered here) plus a little for
the extractive answer and the records; the local circuit breaker must open while the server hangs and close
again once it answers; no question carrying personal data may reach the cloud server (its recorded requests
are searched for the test values); and afterwards every answered question has its audit event, usage record
and both messages, and the chain verifies.

    .venv/bin/python bench/drill_llm_hang.py [--users 8] [--seconds 90] [--budget 4] [--cool-down 5]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark_database import setup_django
from drills import load_with_fault, print_report
from load_tenant import RecordCheck
from service_stack import (
    REPOSITORY,
    celery_worker_process,
    free_port,
    gunicorn_process,
    redis_server_process,
    served_environment,
    services,
    wait_for_http,
    wait_for_port,
)

DRILL_DATABASE = "lantern_drill_llm_hang"
# The personal data in load_tenant.SENSITIVE_QUESTIONS; the cloud server must never receive any of it.
PERSONAL_VALUES = ("A123456789", "0912345678")
# Past the budget an answer may still take the extractive answerer's turn and the writing of its records.
BUDGET_TOLERANCE_SECONDS = 0.5
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 4
_BREAKER_LINE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(?P<milliseconds>\d{3}) \w+ routing\.breaker \[[^\]]*\] "
    r"circuit of the (?P<backend>\w+) backend (?P<change>opened|half-open|closed)",
    re.MULTILINE,
)
_CIRCUIT_METRIC = re.compile(r'^lantern_backend_circuit_open\{backend="(\w+)"\} (\S+)$', re.MULTILINE)


@dataclass(frozen=True)
class BreakerChange:
    """A circuit breaker opening, letting a trial call through, or closing, as a gunicorn worker logged it."""

    seconds: float  # since the load began
    backend: str
    change: str  # "opened", "half-open" or "closed"


@dataclass(frozen=True)
class AnsweredQuestion:
    """What the audit log says about one answered question."""

    seconds: float  # since the load began
    backend: str
    reasons: tuple[str, ...]
    fallbacks: tuple[str, ...]
    sensitive: bool
    latency_ms: float


def breaker_changes(log_path: Path, *, offset: int, began_wall: float) -> list[BreakerChange]:
    """The circuit-breaker changes gunicorn's workers logged after `offset`, oldest first. The log's times are
    local times of the TIME_ZONE that Django set for this process too."""
    with log_path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode(errors="replace")
    changes = []
    for match in _BREAKER_LINE.finditer(text):
        logged = time.mktime(time.strptime(match["time"], "%Y-%m-%d %H:%M:%S")) + int(match["milliseconds"]) / 1000
        changes.append(BreakerChange(logged - began_wall, match["backend"], match["change"]))
    return sorted(changes, key=lambda change: change.seconds)


class CircuitScraper:
    """Reads /metrics twice a second while the load runs: which backends' circuits the answering worker has
    open (each gunicorn worker keeps its own breakers, and a scrape reaches one of them)."""

    def __init__(self, host: str, *, began: float) -> None:
        self.host = host
        self.began = began
        self.samples: list[tuple[float, dict[str, bool]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._scrape, daemon=True)

    def start(self) -> None:
        """Scrape from now on, in a thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop scraping."""
        self._stop.set()
        self._thread.join()

    def _scrape(self) -> None:
        while not self._stop.wait(0.5):
            try:
                with urllib.request.urlopen(f"{self.host}/metrics", timeout=2) as response:  # noqa: S310 - loopback
                    text = response.read().decode()
            except OSError:
                continue
            states = {backend: float(value) >= 1 for backend, value in _CIRCUIT_METRIC.findall(text)}
            self.samples.append((time.monotonic() - self.began, states))

    def open_span(self, backend: str) -> tuple[int, float | None, float | None]:
        """How many scrapes saw the backend's circuit open, and the first and last time one did."""
        seen = [seconds for seconds, states in self.samples if states.get(backend)]
        return len(seen), (seen[0] if seen else None), (seen[-1] if seen else None)


def point_tenant_at(*, tenant_id: int, local_url: str, cloud_url: str, model: str) -> None:
    """Give the tenant its own local and cloud servers, and a policy that sends the cloud what it may."""
    from routing.policy import PolicySettings, save_backend_override, save_policy
    from tenancy.context import tenant_context
    from tenancy.models import Tenant

    with tenant_context(tenant_id):
        for name, base_url in (("local", local_url), ("cloud", cloud_url)):
            save_backend_override(tenant_id=tenant_id, name=name, base_url=base_url, model=model, api_key=None)
        save_policy(
            tenant=Tenant.objects.get(pk=tenant_id),
            policy_settings=PolicySettings(mode="hybrid", length_threshold=10, faq_confidence_threshold=0.9),
        )


def warm_up(host: str, api_key: str, *, requests: int) -> None:
    """Ask a few questions at once so every gunicorn worker has loaded the embedding model."""

    def ask(number: int) -> None:
        body = json.dumps({"model": "lantern", "messages": [{"role": "user", "content": f"warm-up {number}"}]})
        request = urllib.request.Request(  # noqa: S310 - loopback URL we built
            f"{host}/v1/chat/completions",
            data=body.encode(),
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback URL we built
            response.read()

    with ThreadPoolExecutor(max_workers=requests) as pool:
        list(pool.map(ask, range(requests)))


def answered_questions(*, tenant_id: int, began_wall: float) -> list[AnsweredQuestion]:
    """The tenant's question audit events, oldest first."""
    from audit.models import AuditEvent
    from tenancy.context import tenant_context

    with tenant_context(tenant_id):
        events = list(
            AuditEvent.unscoped.filter(tenant_id=tenant_id, kind="question")
            .order_by("seq")
            .values_list("occurred_at", "payload")
        )
    return [
        AnsweredQuestion(
            seconds=occurred_at.timestamp() - began_wall,
            backend=payload.get("backend", ""),
            reasons=tuple(payload.get("reasons", ())),
            fallbacks=tuple(payload.get("fallbacks", ())),
            sensitive=bool(payload.get("entities")) or bool(payload.get("detection_failed")),
            latency_ms=float(payload.get("latency_ms") or 0.0),
        )
        for occurred_at, payload in events
    ]


def leaked_requests(requests: list[dict]) -> int:
    """Requests whose body carries any of the personal values."""
    return sum(
        1 for body in requests if any(value in json.dumps(body, ensure_ascii=False) for value in PERSONAL_VALUES)
    )


@dataclass(frozen=True)
class DrillRun:
    """What the drill saw: the load's step and records check, what it did when, and what the servers and the
    audit log recorded."""

    step: dict
    check: RecordCheck
    timeline: list[str]
    hang_at: float
    recover_at: float
    changes: list[BreakerChange]
    questions: list[AnsweredQuestion]
    cloud_requests: list[dict]
    local_request_count: int
    circuit_samples: int
    local_open_span: tuple[int, float | None, float | None]


def run_drill(arguments: argparse.Namespace) -> DrillRun:
    """Seed the tenant, serve it with its backends on the fakes, and run the load while the fakes misbehave."""
    from load_tenant import dedicated_database, seed_bench_tenant, write_lines

    if str(REPOSITORY) not in sys.path:
        sys.path.insert(0, str(REPOSITORY))
    from tests.llm_server import FakeLLMServer

    hang_at, garbage_at, recover_at = 0.2 * arguments.seconds, 0.4 * arguments.seconds, 0.55 * arguments.seconds
    with (
        dedicated_database(DRILL_DATABASE) as urls,
        services() as started,
        tempfile.TemporaryDirectory(prefix="lantern-drill-") as work,
        FakeLLMServer() as local,
        FakeLLMServer() as cloud,
    ):
        tenant = seed_bench_tenant(slug="drill-llm-hang", users=arguments.users)
        # A second tenant, answered by the extractive answerer, warms the workers up outside the records checked.
        bystander = seed_bench_tenant(slug="drill-llm-hang-warm-up", users=1)
        point_tenant_at(
            tenant_id=tenant.tenant_id, local_url=local.base_url, cloud_url=cloud.base_url, model=local.model
        )
        keys_file = Path(work) / "keys.txt"
        write_lines(keys_file, tenant.api_keys)
        # With Redis, as in production, the workers share their circuit breakers.
        redis_port = free_port()
        started.start(redis_server_process(port=redis_port))
        wait_for_port(redis_port)
        environment = served_environment(
            urls,
            redis_url=f"redis://127.0.0.1:{redis_port}/0",
            LANTERN_ANSWER_TIME_BUDGET_SECONDS=f"{arguments.budget:g}",
            LANTERN_BREAKER_COOL_DOWN_SECONDS=f"{arguments.cool_down:g}",
            LANTERN_LOG_LEVEL="INFO",  # the breaker logs its closing at INFO
        )
        port = free_port()
        host = f"http://127.0.0.1:{port}"
        gunicorn = gunicorn_process(
            port=port,
            workers=GUNICORN_WORKERS,
            threads=GUNICORN_THREADS,
            environment=environment,
            log_name="drill-llm-hang",
        )
        log_offset = gunicorn.log_path.stat().st_size if gunicorn.log_path.exists() else 0
        started.start(gunicorn)
        started.start(celery_worker_process(environment=environment, log_name="drill-llm-hang-celery"))
        wait_for_http(f"{host}/readyz", timeout_seconds=180)
        warm_up(host, bystander.api_keys[0], requests=2 * GUNICORN_THREADS * GUNICORN_WORKERS)

        local.slow(delay_seconds=0.05)
        cloud.garbage("not_json")
        cloud.fail(500)  # the error status comes first, the garbage once the failures end
        timeline = ["  0.0 s  local server answering, cloud server failing with HTTP 500"]
        local_request_count = 0
        began, began_wall = time.monotonic(), time.time()
        scraper = CircuitScraper(host, began=began)

        def at(seconds: float) -> None:
            time.sleep(max(0.0, seconds - (time.monotonic() - began)))

        def faults() -> None:
            nonlocal local_request_count
            at(hang_at)
            local.hang()
            timeline.append(f"{time.monotonic() - began:5.1f} s  local server hangs")
            at(garbage_at)
            cloud.fail(500, times=0)
            timeline.append(f"{time.monotonic() - began:5.1f} s  cloud server answers 200 with a body that is not JSON")
            at(recover_at)
            local_request_count += len(local.requests)
            local.reset()
            local.slow(delay_seconds=0.05)
            timeline.append(f"{time.monotonic() - began:5.1f} s  local server answers again")

        scraper.start()
        try:
            step, check = load_with_fault(
                host=host,
                keys_file=keys_file,
                tenant_id=tenant.tenant_id,
                users=arguments.users,
                seconds=arguments.seconds,
                work=Path(work),
                fault=faults,
            )
        finally:
            scraper.stop()
        return DrillRun(
            step=step,
            check=check,
            timeline=timeline,
            hang_at=hang_at,
            recover_at=recover_at,
            changes=breaker_changes(gunicorn.log_path, offset=log_offset, began_wall=began_wall),
            questions=answered_questions(tenant_id=tenant.tenant_id, began_wall=began_wall),
            cloud_requests=cloud.requests,
            local_request_count=local_request_count + len(local.requests),
            circuit_samples=len(scraper.samples),
            local_open_span=scraper.open_span("local"),
        )


def report(run: DrillRun, arguments: argparse.Namespace) -> bool:
    """Print the timeline, the load, the fallbacks, the circuits and the privacy check; True when it passed."""
    timeline = list(run.timeline)
    timeline += [
        f"{change.seconds:5.1f} s  a worker's local circuit {change.change}"
        for change in run.changes
        if change.backend == "local"
    ]
    timeline.sort(key=lambda line: float(line.split(" s ")[0]))
    cloud_changes = Counter(change.change for change in run.changes if change.backend == "cloud")
    cloud_opened = [change.seconds for change in run.changes if change.backend == "cloud" and change.change == "opened"]
    if cloud_opened:
        timeline.append(
            f"        the cloud circuits opened first at {cloud_opened[0]:.1f} s; {cloud_changes['half-open']} trial "
            f"calls, {cloud_changes['opened']} openings, {cloud_changes['closed']} closings in all"
        )
    title = (
        f"LLM hang drill: {arguments.users} users for {arguments.seconds:.0f} s, answer budget {arguments.budget:g} s, "
        f"breaker cool-down {arguments.cool_down:g} s"
    )
    print_report(title, timeline, run.step, run.check)

    questions = run.questions
    fallbacks = Counter(fallback for question in questions for fallback in question.fallbacks)
    breaker_reasons = Counter(
        reason
        for question in questions
        for reason in question.reasons
        if reason in ("local_unhealthy", "cloud_unavailable")
    )
    latencies = sorted(question.latency_ms for question in questions) or [0.0]
    over_budget = sum(1 for latency in latencies if latency > arguments.budget * 1000)
    sensitive = [question for question in questions if question.sensitive]
    leaks = leaked_requests(run.cloud_requests)
    local_opened = [
        change
        for change in run.changes
        if change.backend == "local" and change.change == "opened" and change.seconds >= run.hang_at
    ]
    local_closed = [
        change
        for change in run.changes
        if change.backend == "local" and change.change == "closed" and change.seconds >= run.recover_at
    ]
    settled = run.recover_at + arguments.cool_down + arguments.budget
    after_settled = [question for question in questions if question.seconds >= settled]
    passing_local_by = [
        question
        for question in after_settled
        if "fallback:local" in question.fallbacks or "local_unhealthy" in question.reasons
    ]
    scrapes, first_open, last_open = run.local_open_span

    print(f"  answered by: {dict(backends_of(questions).most_common())}")
    print(f"  fallbacks (backend tried and failed): {dict(fallbacks.most_common()) or 'none'}")
    print(f"  decided around an open breaker: {dict(breaker_reasons.most_common()) or 'none'}")
    print(
        f"  answer time (audit, from the decision to the stored answer): p50 {latencies[len(latencies) // 2]:.0f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)]:.0f} ms, max {latencies[-1]:.0f} ms; {over_budget} past the budget"
    )
    print(
        f"  local circuit: opened {len(local_opened)}x while the server hung, closed {len(local_closed)}x after it "
        f"recovered; /metrics saw it open in {scrapes} of {run.circuit_samples} scrapes"
        + (f", from {first_open:.1f} s to {last_open:.1f} s" if first_open is not None else "")
    )
    print(
        f"  after {settled:.0f} s: {len(after_settled)} questions, answered by {dict(backends_of(after_settled))}, "
        f"{len(passing_local_by)} still passing the local server by"
    )
    print(f"  fake servers: local {run.local_request_count} requests, cloud {len(run.cloud_requests)} requests")
    print(
        f"  personal data: {len(sensitive)} questions carried some, answered by {dict(backends_of(sensitive))}; "
        f"cloud requests carrying it: {leaks}"
    )

    verdicts = [
        ("every question answered", run.step["requests"] > 0 and run.step["failures"] == 0),
        (
            f"every answer within the {arguments.budget:g} s budget (+{BUDGET_TOLERANCE_SECONDS:g} s)",
            latencies[-1] <= (arguments.budget + BUDGET_TOLERANCE_SECONDS) * 1000,
        ),
        ("the cloud's failures fell back to another backend", fallbacks["fallback:cloud"] > 0),
        ("the local circuit opened while the server hung", bool(local_opened)),
        ("the local circuit closed after the server recovered", bool(local_closed)),
        (
            "once settled, local answers again and nothing passes it by",
            backends_of(after_settled)["local"] > 0 and not passing_local_by,
        ),
        ("questions with personal data were asked", bool(sensitive)),
        ("no personal data reached the cloud server", leaks == 0),
        ("the records check", run.check.ok),
    ]
    print()
    for description, ok in verdicts:
        print(f"  [{'ok' if ok else 'FAILED'}] {description}")
    return all(ok for _, ok in verdicts)


def backends_of(questions: list[AnsweredQuestion]) -> Counter[str]:
    """How many of the questions each backend answered."""
    return Counter(question.backend for question in questions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=8, help="concurrent simulated employees")
    parser.add_argument("--seconds", type=float, default=90.0, help="length of the load")
    parser.add_argument("--budget", type=float, default=4.0, help="LANTERN_ANSWER_TIME_BUDGET_SECONDS")
    parser.add_argument("--cool-down", type=float, default=5.0, help="LANTERN_BREAKER_COOL_DOWN_SECONDS")
    arguments = parser.parse_args()

    setup_django()
    from load_tenant import SENSITIVE_QUESTIONS

    missing = [value for value in PERSONAL_VALUES if not any(value in question for question in SENSITIVE_QUESTIONS)]
    if missing:
        parser.error(f"the bench's sensitive questions no longer carry {missing}: update PERSONAL_VALUES")
    passed = report(run_drill(arguments), arguments)
    print(f"\n{'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
