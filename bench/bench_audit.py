"""Audit log benchmarks: append throughput (1 and 8 writers), verification speed, filtered search p50.

Run: .venv/bin/python bench/bench_audit.py [--search-events 1000000] [--verify-events 100000] [--quick]
Goals: append >= 1,000 events/s with 8 writers; verify >= 50,000 events/s; a one-day, one-department
search <= 100 ms p50 on 1,000,000 events. Uses the configured database with throwaway tenants it removes
afterwards. The search data is generated with one bulk SQL statement and carries placeholder hashes: the
search does not look at hashes, so only the append and verification runs use real chains.
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.synchronize
import os
import statistics
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connections  # noqa: E402
from django.utils import timezone  # noqa: E402

import audit  # noqa: E402
from audit.chain import GENESIS_HASH, canonical_json, link_hash  # noqa: E402
from audit.search import AuditFilter, search_events  # noqa: E402
from audit.verification import verify_tenant_chain  # noqa: E402
from tenancy.context import tenant_context  # noqa: E402
from tenancy.models import Tenant  # noqa: E402
from tenancy.provisioning import create_tenant  # noqa: E402

DEPARTMENTS = 20
DAYS = 365
SEARCH_START = date(2025, 1, 1)


def payload(number: int) -> dict:
    """A question payload shaped like the chat pipeline's."""
    return {
        "question_redacted": f"How many leave days do I have left? ({number})",
        "entities": [{"type": "TW_NATIONAL_ID", "start": 3, "end": 13}] if number % 7 == 0 else [],
        "route": ("local", "cloud", "extractive", "refused")[number % 4],
        "reasons": ["short"],
        "fallbacks": [],
        "sources": [{"kind": "faq", "id": 3, "title": "Leave", "score": 0.91, "version": 2}],
        "backend": "extractive",
        "tokens_in": 20,
        "tokens_out": 60,
        "latency_ms": 12,
        "cost": "0.00015",
        "answer": "You have 7 days left this year.",
    }


def new_tenant(label: str) -> Tenant:
    tenant, _ = create_tenant(slug=f"bench-{label}-{uuid.uuid4().hex[:6]}", name=f"Bench {label}")
    return tenant


def append(tenant: Tenant, *, writers: int, per_writer: int) -> float:
    """Events per second appended by `writers` processes, one transaction per event as the pipeline does.

    Processes, as gunicorn's workers are: threads of one process would measure Python's lock, not the chain's."""
    connections.close_all()  # a forked child must open its own connection
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(writers + 1)
    processes = [
        context.Process(target=_write, args=(tenant.pk, writer, per_writer, ready)) for writer in range(writers)
    ]
    for process in processes:
        process.start()
    ready.wait()
    started = time.perf_counter()
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    failed = [process.exitcode for process in processes if process.exitcode]
    if failed:
        raise RuntimeError(f"{len(failed)} of {writers} writers failed")
    return writers * per_writer / elapsed


def _write(tenant_id: int, writer: int, events: int, ready: multiprocessing.synchronize.Barrier) -> None:
    with tenant_context(tenant_id):  # the first transaction opens the connection, before the clock starts
        pass
    ready.wait()
    try:
        for number in range(events):
            with tenant_context(tenant_id):
                audit.record(
                    tenant_id=tenant_id,
                    kind="question",
                    payload=payload(number),
                    actor_username=f"writer{writer}",
                    department_code="IT",
                    raw_question="My ID is A123456789",
                )
    finally:
        connections.close_all()


def load_valid_chain(tenant: Tenant, events: int) -> None:
    """A correctly hashed chain of `events` question events, copied in with owner rights."""
    owner = connections["owner"]
    prev_hash = GENESIS_HASH
    start = timezone.now() - timedelta(days=30)
    with (
        owner.cursor() as cursor,
        cursor.cursor.copy(
            "COPY audit_auditevent (tenant_id, seq, prev_hash, hash, occurred_at, kind, correlation_id, actor_user_id,"
            " actor_username, department_code, channel, payload, raw_question_encrypted) FROM STDIN"
        ) as copy,
    ):
        for seq in range(1, events + 1):
            fields = {
                "tenant_id": tenant.pk,
                "seq": seq,
                "prev_hash": prev_hash,
                "occurred_at": start + timedelta(seconds=seq),
                "kind": "question",
                "correlation_id": uuid.uuid4(),
                "actor_user_id": None,
                "actor_username": "bench",
                "department_code": "IT",
                "channel": "web",
                "payload": payload(seq),
            }
            event_hash = link_hash(fields, prev_hash)
            copy.write_row(
                [
                    tenant.pk, seq, prev_hash, event_hash, fields["occurred_at"], "question",
                    fields["correlation_id"], None, "bench", "IT", "web",
                    canonical_json(fields["payload"]).decode("utf-8"), "",
                ]
            )  # fmt: skip
            prev_hash = event_hash
    with owner.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_chainhead (tenant_id, seq, hash) VALUES (%s, %s, %s)", [tenant.pk, events, prev_hash]
        )


def load_search_events(tenant: Tenant, events: int) -> None:
    """`events` question events over a year and 20 departments, in one INSERT ... SELECT (placeholder hashes)."""
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audit_auditevent (tenant_id, seq, prev_hash, hash, occurred_at, kind, correlation_id,
                actor_user_id, actor_username, department_code, channel, payload, raw_question_encrypted)
            SELECT %(tenant)s, g, md5(g::text) || md5(g::text), md5((g + 1)::text) || md5((g + 1)::text),
                %(start)s::timestamptz + (g::double precision / %(events)s) * interval '365 days',
                'question', md5(g::text)::uuid, g %% 5000, 'employee' || (g %% 5000),
                'D' || (g %% %(departments)s), 'web',
                jsonb_build_object(
                    'question_redacted', 'How many leave days do I have left? (' || g || ')',
                    'entities', CASE WHEN g %% 7 = 0
                        THEN '[{"type": "TW_NATIONAL_ID", "start": 3, "end": 13}]'::jsonb ELSE '[]'::jsonb END,
                    'route', (ARRAY['local', 'cloud', 'extractive', 'refused'])[1 + g %% 4],
                    'backend', (ARRAY['extractive', 'local', 'cloud'])[1 + g %% 3],
                    'fallbacks', '[]'::jsonb, 'cost', (g %% 100) / 10000.0,
                    'answer', 'You have 7 days left this year.'),
                ''
            FROM generate_series(1, %(events)s) AS g
            """,
            {"tenant": tenant.pk, "start": SEARCH_START.isoformat(), "events": events, "departments": DEPARTMENTS},
        )
        cursor.execute("ANALYZE audit_auditevent")


def search_p50(tenant: Tenant, runs: int) -> tuple[float, float, int]:
    """p50 and p95 in ms of a one-day, one-department search page, over different days and departments."""
    timings = []
    found = 0
    for run in range(runs):
        day = SEARCH_START + timedelta(days=(run * 37) % DAYS)
        criteria = AuditFilter(date_from=day, date_to=day, department_code=f"D{run % DEPARTMENTS}")
        with tenant_context(tenant.pk):
            started = time.perf_counter()
            page = search_events(tenant_id=tenant.pk, criteria=criteria, page_size=50)
            timings.append((time.perf_counter() - started) * 1000)
        found += len(page.events)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], found // runs


def remove(tenants: list[Tenant]) -> None:
    """Delete the bench tenants and their rows with owner rights (the append-only trigger set aside)."""
    with connections["owner"].cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        for table in ("audit_auditevent", "audit_chainhead", "audit_verificationrun", "tenancy_department"):
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = ANY(%s)", [[t.pk for t in tenants]])  # noqa: S608
        cursor.execute("DELETE FROM tenancy_tenant WHERE id = ANY(%s)", [[t.pk for t in tenants]])
        cursor.execute("SET session_replication_role = DEFAULT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search-events", type=int, default=1_000_000)
    parser.add_argument("--verify-events", type=int, default=100_000)
    parser.add_argument("--append-events", type=int, default=4000)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script runs")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.search_events, arguments.verify_events, arguments.append_events = 20_000, 5_000, 400
    tenants: list[Tenant] = []
    try:
        tenants.append(single := new_tenant("append1"))
        rate = append(single, writers=1, per_writer=arguments.append_events // 4)
        print(f"append, 1 writer:   {rate:9,.0f} events/s")
        tenants.append(parallel := new_tenant("append8"))
        rate = append(parallel, writers=8, per_writer=arguments.append_events // 8)
        print(f"append, 8 writers:  {rate:9,.0f} events/s  (goal >= 1,000)")

        tenants.append(chain := new_tenant("verify"))
        load_valid_chain(chain, arguments.verify_events)
        with tenant_context(chain.pk):
            started = time.perf_counter()
            result = verify_tenant_chain(tenant=chain)
            elapsed = time.perf_counter() - started
        assert result.ok, result.first_break
        print(
            f"verify from the database: {result.events_checked / elapsed:9,.0f} events/s "
            f"({result.events_checked:,} events in {elapsed:.2f} s; goal >= 50,000)"
        )

        tenants.append(searched := new_tenant("search"))
        started = time.perf_counter()
        load_search_events(searched, arguments.search_events)
        print(f"generated {arguments.search_events:,} search events in {time.perf_counter() - started:.1f} s")
        p50, p95, per_page = search_p50(searched, runs=60)
        print(
            f"search one day x one department: p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
            f"{per_page} events on the first page (goal p50 <= 100 ms)"
        )
    finally:
        remove(tenants)


if __name__ == "__main__":
    main()
