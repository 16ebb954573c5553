"""Drill: the Celery worker importing a document is killed mid-way; the document must still end ready, once.

Starts a throwaway redis-server and a Celery worker (prefork, one pool process) on a database of its own,
and uploads a generated Markdown handbook of a few hundred sections through knowledge.uploads, as the
document page does; reading, chunking and embedding it takes several seconds. Once the worker's transaction
has held the document for a while, the drill kills with SIGKILL, in turn:

- child: the pool process running the task. The worker sees it lost and, with CELERY_TASK_ACKS_LATE and
  CELERY_TASK_REJECT_ON_WORKER_LOST, puts the task back on the queue at once.
- whole: the worker and its pool process together, then starts a new worker. Nobody is left to reject the
  task: Redis hands it out again once LANTERN_CELERY_VISIBILITY_TIMEOUT has passed, set low here.

Each time, the document must end ready with exactly the chunks a clean run of the chunker gives, none twice,
processed to the end once, after its task was delivered and started at least twice; and nothing may be left
queued or unacknowledged in Redis.

    .venv/bin/python bench/drill_worker_kill.py [--sections 400] [--variants child,whole] [--visibility-timeout 15]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark_database import setup_django
from service_stack import (
    LOG_DIR,
    ManagedProcess,
    Services,
    celery_worker_process,
    child_pids,
    free_port,
    redis_server_process,
    services,
    wait_for_port,
)

DRILL_DATABASE = "lantern_drill_worker_kill"
VARIANTS = ("child", "whole")
TASK_NAME = "knowledge.tasks.process_uploaded_document"
WORKER_START_SECONDS = 120.0
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the drill compares it: where it sits in the document and what it says."""

    position: int
    heading: str
    anchor: str
    text: str


@dataclass
class VariantResult:
    """What one kill did to one import, and whether the import came through it whole."""

    variant: str
    document_id: int
    timeline: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(ok for _, ok in self.checks)

    def check(self, description: str, ok: bool) -> None:
        """Note one verified fact."""
        self.checks.append((description, ok))


def handbook(*, sections: int, label: str) -> bytes:
    """A Markdown handbook with one short policy per section, different for each label."""
    parts = [f"# Travel handbook ({label})\n"]
    for number in range(sections):
        parts.append(
            f"## Rule {number}: trips of kind {number}\n\n"
            f"Employees on a trip of kind {number} book through the travel portal at least {number % 14 + 1} "
            f"days ahead. The hotel allowance is {(number * 37) % 400 + 80} dollars a night, and receipts are "
            f"filed within {number % 30 + 1} days of coming back.\n\n"
            f"When the portal refuses a booking of kind {number}, ask the office manager on floor {number % 12 + 1}; "
            f"the {label} copy of this rule was last reviewed in week {number % 52 + 1}.\n"
        )
    return "\n".join(parts).encode()


def chunks_of_a_clean_run(*, filename: str, content: bytes) -> list[StoredChunk]:
    """The chunks processing the file once, undisturbed, gives: the chunker run directly on it."""
    from knowledge.documents import chunk_sections, parse_document

    return [
        StoredChunk(piece.position, piece.heading, piece.anchor, piece.text)
        for piece in chunk_sections(parse_document(filename, content).sections)
    ]


def owner_query(sql: str, parameters: list | tuple = ()) -> list[tuple]:
    """Rows of a query on the drill database as the owner, who sees every tenant and every session."""
    from django.db import connections

    with connections["owner"].cursor() as cursor:
        cursor.execute(sql, parameters)
        return cursor.fetchall()


def document_state(document_id: int) -> tuple[str, int]:
    """The document's committed state and number of chunks, as another session sees them."""
    rows = owner_query(
        "SELECT state, (SELECT count(*) FROM knowledge_chunk WHERE document_id = %s) FROM knowledge_document "
        "WHERE id = %s",
        [document_id, document_id],
    )
    return rows[0][0], rows[0][1]


def stored_chunks(document_id: int) -> list[tuple[int, StoredChunk]]:
    """The document's committed chunks with their ids, in order."""
    rows = owner_query(
        "SELECT id, position, heading, anchor, text FROM knowledge_chunk WHERE document_id = %s ORDER BY position, id",
        [document_id],
    )
    return [(row[0], StoredChunk(*row[1:])) for row in rows]


def processing_session(*, database: str) -> tuple[int, float] | None:
    """The database session processing a document, which holds document rows for update in an open
    transaction: its pid and how many seconds the transaction has been open; None when there is none."""
    rows = owner_query(
        "SELECT activity.pid, extract(epoch FROM now() - activity.xact_start)::float8 "
        "FROM pg_locks AS held JOIN pg_stat_activity AS activity ON activity.pid = held.pid "
        "WHERE held.relation = 'knowledge_document'::regclass AND held.mode = 'RowShareLock' AND held.granted "
        "AND activity.datname = %s AND activity.pid <> pg_backend_pid() ORDER BY activity.xact_start LIMIT 1",
        [database],
    )
    return (rows[0][0], rows[0][1]) if rows else None


def broker_is_idle(redis_url: str) -> bool:
    """Whether Redis holds no queued and no unacknowledged task."""
    import redis

    client = redis.Redis.from_url(redis_url)
    return client.llen("celery") == 0 and client.hlen("unacked") == 0


def wait_until(condition: Callable[[], bool], *, timeout_seconds: float) -> bool:
    """Poll until the condition holds; False when it never did within the timeout."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(POLL_SECONDS)
    return condition()


class LogReader:
    """What worker logs say from a point on: deliveries of the task and starts and ends of processing."""

    def __init__(self, paths: list[Path]) -> None:
        self.offsets = {path: path.stat().st_size if path.exists() else 0 for path in paths}

    def add(self, path: Path) -> None:
        """Also read a log that starts now (a replacement worker's)."""
        self.offsets[path] = path.stat().st_size if path.exists() else 0

    def text(self) -> str:
        """Everything written to the logs since the reader was made."""
        parts = []
        for path, offset in self.offsets.items():
            if path.exists():
                with path.open("rb") as log:
                    log.seek(offset)
                    parts.append(log.read().decode(errors="replace"))
        return "\n".join(parts)

    def counts(self, document_id: int) -> Counter[str]:
        """How often the task was received, processing started, the document became ready, and the worker
        saw its pool process killed."""
        text = self.text()
        return Counter(
            {
                "received": len(re.findall(rf"Task {re.escape(TASK_NAME)}\[[0-9a-f-]+\] received", text)),
                "started": len(re.findall(rf"Processing document {document_id} \(", text)),
                "ready": len(re.findall(rf"Document {document_id} is ready", text)),
                "pool_killed": text.count("exited with 'signal 9 (SIGKILL)'"),
            }
        )


def start_worker(started: Services, *, environment: dict[str, str], log_name: str) -> ManagedProcess:
    """A Celery worker with one pool process, once it says it is ready."""
    worker = celery_worker_process(environment=environment, log_name=log_name, name=log_name)
    offset = worker.log_path.stat().st_size if worker.log_path.exists() else 0
    started.start(worker)

    def ready() -> bool:
        if not worker.running():
            raise RuntimeError(f"the Celery worker exited:\n{worker.tail()}")
        with worker.log_path.open("rb") as log:
            log.seek(offset)
            return b" ready." in log.read()

    if not wait_until(ready, timeout_seconds=WORKER_START_SECONDS):
        raise TimeoutError(f"the Celery worker was not ready after {WORKER_START_SECONDS:.0f} s:\n{worker.tail()}")
    return worker


def upload(*, tenant_id: int, filename: str, content: bytes) -> int:
    """Upload the file as a curator does; its processing is queued when the upload commits."""
    from knowledge.uploads import upload_document
    from tenancy.context import tenant_context

    with tenant_context(tenant_id):
        document, created = upload_document(tenant_id=tenant_id, filename=filename, content=content)
    if not created:
        raise RuntimeError(f"{filename} was uploaded before: the drill needs a fresh document")
    return document.pk


def wait_for_ready(document_id: int, *, timeout_seconds: float) -> str:
    """Wait for the document to leave the processing state; returns the state it ended in."""
    wait_until(lambda: document_state(document_id)[0] != "processing", timeout_seconds=timeout_seconds)
    return document_state(document_id)[0]


def run_variant(
    variant: str,
    *,
    started: Services,
    worker: ManagedProcess,
    environment: dict[str, str],
    tenant_id: int,
    sections: int,
    kill_after: float,
    visibility_timeout: int,
    redis_url: str,
) -> tuple[VariantResult, ManagedProcess]:
    """Upload a handbook, kill the worker processing it as the variant says, and check how the import ended;
    returns the result and the worker running afterwards."""
    filename = f"handbook-{variant}.md"
    content = handbook(sections=sections, label=f"{variant} kill drill")
    expected = chunks_of_a_clean_run(filename=filename, content=content)
    logs = LogReader([worker.log_path])
    began = time.monotonic()

    def at(event: str) -> str:
        return f"{time.monotonic() - began:6.1f} s  {event}"

    document_id = upload(tenant_id=tenant_id, filename=filename, content=content)
    result = VariantResult(variant=variant, document_id=document_id)
    result.timeline.append(at(f"uploaded {filename}: {len(content) / 1024:.0f} KiB, {sections} sections"))

    session = None

    def held_long_enough() -> bool:
        nonlocal session
        session = processing_session(database=DRILL_DATABASE)
        return session is not None and session[1] >= kill_after

    if not wait_until(held_long_enough, timeout_seconds=120):
        result.check("the worker started processing the document", False)
        return result, worker
    state_at_kill, chunks_at_kill = document_state(document_id)
    first_pid, held_seconds = session
    if variant == "child":
        pool = child_pids(worker.pid)
        for pid in pool:
            os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        result.timeline.append(
            at(
                f"SIGKILL to pool process {', '.join(map(str, pool))}, {held_seconds:.1f} s into processing "
                f"(document {state_at_kill}, {chunks_at_kill} chunks committed)"
            )
        )
    else:
        worker.signal_group(signal.SIGKILL)
        worker.process.wait(timeout=30)
        killed_at = time.monotonic()
        result.timeline.append(
            at(
                f"SIGKILL to worker {worker.pid} and its pool, {held_seconds:.1f} s into processing "
                f"(document {state_at_kill}, {chunks_at_kill} chunks committed)"
            )
        )
        replacement = f"drill-worker-kill-{variant}-replacement"
        logs.add(LOG_DIR / f"{replacement}.log")
        worker = start_worker(started, environment=environment, log_name=replacement)
        result.timeline.append(at(f"new worker {worker.pid} ready"))

    def taken_up_again() -> bool:
        again = processing_session(database=DRILL_DATABASE)
        return (again is not None and again[0] != first_pid) or document_state(document_id)[0] != "processing"

    redelivery_wait = visibility_timeout + 150 if variant == "whole" else 120
    if wait_until(taken_up_again, timeout_seconds=redelivery_wait):
        result.timeline.append(at(f"processing started again, {time.monotonic() - killed_at:.1f} s after the kill"))
    final_state = wait_for_ready(document_id, timeout_seconds=redelivery_wait)
    result.timeline.append(at(f"document {final_state}, {time.monotonic() - killed_at:.1f} s after the kill"))
    stored = stored_chunks(document_id)
    idle = wait_until(lambda: broker_is_idle(redis_url), timeout_seconds=15)
    counts = logs.counts(document_id)
    result.timeline.append(
        at(
            f"worker logs: task received {counts['received']}x ({counts['received'] - counts['started']} of them "
            f"found it processed already and did nothing), processing started {counts['started']}x, ready "
            f"{counts['ready']}x, pool process lost {counts['pool_killed']}x"
        )
    )

    positions = Counter(chunk.position for _, chunk in stored)
    contents = Counter((chunk.heading, chunk.anchor, chunk.text) for _, chunk in stored)
    result.check(
        f"the kill hit mid-processing: the worker had held the document for {held_seconds:.1f} s, "
        f"still {state_at_kill} with {chunks_at_kill} chunks committed",
        state_at_kill == "processing" and chunks_at_kill == 0,
    )
    if variant == "child":
        result.check(f"the worker saw its pool process killed ({counts['pool_killed']}x)", counts["pool_killed"] == 1)
    result.check(f"the task was delivered again ({counts['received']} deliveries)", counts["received"] >= 2)
    result.check(f"processing started again ({counts['started']} starts)", counts["started"] >= 2)
    result.check(f"the document ended ready ({final_state})", final_state == "ready")
    result.check(f"it became ready once (logged {counts['ready']}x)", counts["ready"] == 1)
    result.check(
        f"{len(stored)} chunks stored, {len(expected)} from a clean run of the chunker", len(stored) == len(expected)
    )
    result.check(
        f"no position twice ({sum(1 for number in positions.values() if number > 1)} duplicated)",
        all(number == 1 for number in positions.values()),
    )
    result.check(
        f"no chunk text twice ({sum(1 for number in contents.values() if number > 1)} duplicated)",
        all(number == 1 for number in contents.values()),
    )
    result.check("the chunks are those of a clean run, in order", [chunk for _, chunk in stored] == expected)
    result.check("nothing left queued or unacknowledged in Redis", idle)
    result.check(
        "the chunks were not rewritten after the document became ready",
        [chunk_id for chunk_id, _ in stored_chunks(document_id)] == [chunk_id for chunk_id, _ in stored],
    )
    return result, worker


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", type=int, default=400, help="sections of the generated handbook")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="child, whole, or both, in that order")
    parser.add_argument("--kill-after", type=float, default=3.0, help="seconds into processing the kill comes")
    parser.add_argument(
        "--visibility-timeout", type=int, default=15, help="LANTERN_CELERY_VISIBILITY_TIMEOUT of the workers"
    )
    arguments = parser.parse_args()
    variants = [name.strip() for name in arguments.variants.split(",") if name.strip()]
    if not variants or set(variants) - set(VARIANTS):
        parser.error(f"variants are {', '.join(VARIANTS)}")

    redis_port = free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    # The drill queues the import the way the web app does: through this Redis, to the worker.
    os.environ["REDIS_URL"] = redis_url
    setup_django()
    from load_tenant import dedicated_database, seed_bench_tenant

    drill_began = time.monotonic()
    results: list[VariantResult] = []
    with dedicated_database(DRILL_DATABASE) as urls, services() as started:
        started.start(redis_server_process(port=redis_port))
        wait_for_port(redis_port)
        tenant = seed_bench_tenant(slug="drill-worker-kill", users=1)
        environment = {
            **urls,
            "REDIS_URL": redis_url,
            "LANTERN_CELERY_VISIBILITY_TIMEOUT": str(arguments.visibility_timeout),
            "LANTERN_LOG_LEVEL": "INFO",
        }
        worker = start_worker(started, environment=environment, log_name="drill-worker-kill")
        # The pool process loads the embedding model on its first document; the drill kills it while it embeds.
        warm_up = upload(
            tenant_id=tenant.tenant_id, filename="warm-up.md", content=handbook(sections=2, label="warm-up")
        )
        if wait_for_ready(warm_up, timeout_seconds=120) != "ready":
            raise RuntimeError(f"the warm-up document was not processed:\n{worker.tail()}")
        for variant in variants:
            result, worker = run_variant(
                variant,
                started=started,
                worker=worker,
                environment=environment,
                tenant_id=tenant.tenant_id,
                sections=arguments.sections,
                kill_after=arguments.kill_after,
                visibility_timeout=arguments.visibility_timeout,
                redis_url=redis_url,
            )
            results.append(result)

    print(
        f"\nWorker kill drill: a {arguments.sections}-section handbook, killed {arguments.kill_after:g} s into "
        f"processing; visibility timeout {arguments.visibility_timeout} s"
    )
    for result in results:
        print(f"\n  {result.variant}: document {result.document_id}")
        for line in result.timeline:
            print(f"    {line}")
        for description, ok in result.checks:
            print(f"    [{'ok' if ok else 'FAILED'}] {description}")
    passed = all(result.passed for result in results)
    print(f"\n{'PASS' if passed else 'FAIL'} ({time.monotonic() - drill_began:.0f} s in all)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
