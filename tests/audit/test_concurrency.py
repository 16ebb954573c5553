"""Eight writers appending at once leave one gap-free chain that verifies."""

from __future__ import annotations

import threading

from django.db import connections

import audit
from audit.models import AuditEvent
from audit.verification import verify_tenant_chain
from tenancy.context import tenant_context
from tenancy.provisioning import create_tenant

WRITERS = 8
EVENTS_PER_WRITER = 500


def test_eight_parallel_writers_leave_a_gap_free_verifying_chain(committed_db):
    acme, _ = create_tenant(slug="acme", name="Acme")
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            for number in range(EVENTS_PER_WRITER):
                with tenant_context(acme.pk):
                    audit.record(
                        tenant_id=acme.pk,
                        kind="question",
                        payload={"writer": writer, "number": number, "route": "local"},
                    )
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with tenant_context(acme.pk):
        seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
        result = verify_tenant_chain(tenant=acme)
    assert seqs == list(range(1, WRITERS * EVENTS_PER_WRITER + 1))
    assert result.ok, result.first_break
    assert result.events_checked == WRITERS * EVENTS_PER_WRITER
