"""Snapshots of a large tenant's BM25 statistics, so a search looks its terms up instead of counting them.

A tenant with many sources would otherwise count, for every question, how many of its chunks hold each
term: hundreds of milliseconds at 100,000 chunks. ``refresh_lexical_snapshots`` counts every term once
(sources and chunks) and keeps the collection's size and average length; a search reads them with one
indexed query. Terms added since the last refresh count as unseen until the next one. Small tenants keep
no snapshot: counting live is cheap there, and exact.
"""

from __future__ import annotations

from django.db import connections, transaction
from django.utils import timezone

from knowledge.retrieval import LARGE_TENANT_SOURCES

_TENANT_SIZES = """
SELECT tenant_id, count(DISTINCT coalesce(faq_entry_id, -id)), coalesce(sum(length(lexical)), 0)
FROM knowledge_chunk
GROUP BY tenant_id
"""

_COUNT_TERMS = """
INSERT INTO knowledge_termfrequency (tenant_id, term, sources, chunks)
SELECT %(tenant)s, u.lexeme, count(DISTINCT coalesce(c.faq_entry_id, -c.id)), count(*)
FROM knowledge_chunk c
CROSS JOIN LATERAL unnest(c.lexical) AS u
WHERE c.tenant_id = %(tenant)s
GROUP BY u.lexeme
"""

_SAVE_SNAPSHOT = """
INSERT INTO knowledge_lexicalsnapshot (tenant_id, sources, average_length, refreshed_at)
VALUES (%(tenant)s, %(sources)s, %(average)s, %(now)s)
ON CONFLICT (tenant_id) DO UPDATE
SET sources = excluded.sources, average_length = excluded.average_length, refreshed_at = excluded.refreshed_at
"""


def refresh_lexical_snapshots(*, min_sources: int = LARGE_TENANT_SOURCES, database: str = "owner") -> dict[str, list]:
    """Recount the terms of every tenant with at least `min_sources` sources; drop smaller tenants' snapshots.

    Runs as the table owner, across tenants, one transaction per tenant: a search sees the old snapshot or
    the new one, never half of each. Returns the tenant ids refreshed and dropped."""
    refreshed: list[int] = []
    dropped: list[int] = []
    with connections[database].cursor() as cursor:
        cursor.execute(_TENANT_SIZES)
        sizes = {tenant_id: (int(sources), int(length)) for tenant_id, sources, length in cursor.fetchall()}
        cursor.execute("SELECT tenant_id FROM knowledge_lexicalsnapshot")
        existing = {row[0] for row in cursor.fetchall()}
    for tenant_id, (sources, total_length) in sorted(sizes.items()):
        if sources < min_sources:
            continue
        with transaction.atomic(using=database), connections[database].cursor() as cursor:
            cursor.execute("DELETE FROM knowledge_termfrequency WHERE tenant_id = %s", [tenant_id])
            cursor.execute(_COUNT_TERMS, {"tenant": tenant_id})
            cursor.execute(
                _SAVE_SNAPSHOT,
                {"tenant": tenant_id, "sources": sources, "average": total_length / sources, "now": timezone.now()},
            )
        refreshed.append(tenant_id)
    for tenant_id in sorted(existing - set(refreshed)):
        with transaction.atomic(using=database), connections[database].cursor() as cursor:
            cursor.execute("DELETE FROM knowledge_termfrequency WHERE tenant_id = %s", [tenant_id])
            cursor.execute("DELETE FROM knowledge_lexicalsnapshot WHERE tenant_id = %s", [tenant_id])
        dropped.append(tenant_id)
    return {"refreshed": refreshed, "dropped": dropped}
