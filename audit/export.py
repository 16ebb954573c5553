"""Streamed exports of a filtered set of events, with the chain fields for independent verification."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict

from audit.chain import canonical_json, event_json_line
from audit.log import record
from audit.models import AuditEvent, EventKind
from audit.search import AuditFilter, filtered_events
from audit.verification import CHAIN_COLUMNS
from tenancy.context import tenant_context
from tenancy.models import Membership

EXPORT_FORMATS = ("csv", "jsonl")
EXPORT_CHUNK_SIZE = 2000


def record_export(*, exporter: Membership, criteria: AuditFilter, export_format: str) -> AuditEvent:
    """Audit that an export was made, with the filter it used."""
    filters = {key: str(value) for key, value in asdict(criteria).items() if value not in (None, "")}
    return record(
        tenant_id=exporter.tenant_id,
        kind=EventKind.EXPORT_MADE,
        payload={"format": export_format, "filters": filters},
        actor_user_id=exporter.user_id,
        actor_username=exporter.user.get_username(),
        department_code=exporter.department.code,
        channel="web",
    )


def _rows(*, tenant_id: int, criteria: AuditFilter) -> Iterator[dict]:
    """Matching events in chain order, through a server-side cursor inside the tenant's transaction."""
    with tenant_context(tenant_id):
        events = filtered_events(tenant_id=tenant_id, criteria=criteria).order_by("seq")
        yield from events.values(*CHAIN_COLUMNS).iterator(chunk_size=EXPORT_CHUNK_SIZE)


def json_lines(*, tenant_id: int, criteria: AuditFilter) -> Iterator[str]:
    """Matching events as canonical JSON Lines, each line checkable on its own (see audit.chain)."""
    for row in _rows(tenant_id=tenant_id, criteria=criteria):
        yield event_json_line(row)


def csv_lines(*, tenant_id: int, criteria: AuditFilter) -> Iterator[str]:
    """Matching events as CSV, the payload as canonical JSON in one column."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CHAIN_COLUMNS)
    yield buffer.getvalue()
    for row in _rows(tenant_id=tenant_id, criteria=criteria):
        buffer.seek(0)
        buffer.truncate()
        cells = [row[column] for column in CHAIN_COLUMNS]
        cells[CHAIN_COLUMNS.index("payload")] = canonical_json(row["payload"]).decode("utf-8")
        cells[CHAIN_COLUMNS.index("occurred_at")] = row["occurred_at"].isoformat()
        writer.writerow(cells)
        yield buffer.getvalue()
