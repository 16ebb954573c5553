"""Give large tenants their own vector index and a fresh lexical snapshot now, rather than at the next hour."""

from django.core.management.base import BaseCommand

from knowledge.lexicon import refresh_lexical_snapshots
from knowledge.retrieval import refresh_vector_indexes


class Command(BaseCommand):
    help = (
        "Create a partial HNSW index for each tenant with many chunks and recount the terms of each tenant with "
        "many sources (Celery beat does this hourly); run it after a large import to have fast search at once."
    )

    def handle(self, *args, **options) -> None:
        self.stdout.write("Vector indexes (may take a minute per 100,000 chunks)…")
        indexes = refresh_vector_indexes()
        self.stdout.write(
            f"  created for tenants {indexes['created'] or 'none'}, dropped for {indexes['dropped'] or 'none'}"
        )
        snapshots = refresh_lexical_snapshots()
        self.stdout.write(
            f"Lexical snapshots: refreshed for tenants {snapshots['refreshed'] or 'none'}, "
            f"dropped for {snapshots['dropped'] or 'none'}"
        )
