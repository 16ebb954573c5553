"""What the fault drills share: a steady load with something broken in the middle, and the report."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from load_tenant import RecordCheck, check_records
from load_test import run_generator


def load_with_fault(
    *, host: str, keys_file: Path, tenant_id: int, users: int, seconds: float, work: Path, fault: Callable[[], None]
) -> tuple[dict, RecordCheck]:
    """Ask at `users` concurrency for `seconds` while `fault` runs in a thread; the step and the records check."""
    saboteur = threading.Thread(target=fault, daemon=True)
    saboteur.start()
    result = run_generator(host=host, keys_file=keys_file, steps=[(users, seconds)], warmup=0.0, work=work)
    saboteur.join()
    return result["steps"][0], check_records(tenant_id=tenant_id, answered_ids=result["answered_ids"])


def print_report(title: str, timeline: list[str], step: dict, check: RecordCheck) -> None:
    """The drill's timeline, the load it carried with its failures by kind, and the records check."""
    print(f"\n{title}")
    for line in timeline:
        print(f"  {line}")
    print(
        f"  {step['requests']} requests, {step['rps']:.1f} req/s, p50 {step['p50_ms']} ms, p99 {step['p99_ms']} ms; "
        f"failures by kind: {step['errors'] or 'none'}"
    )
    for line in check.lines():
        print(f"  {line}")
