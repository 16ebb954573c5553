"""A database of its own for a benchmark: created and migrated on entry, dropped on exit; demo data untouched."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
# Two benchmarks running at once each need their own: LANTERN_BENCH_DATABASE names it.
BENCHMARK_DATABASE = os.environ.get("LANTERN_BENCH_DATABASE", "lantern_bench")


def setup_django() -> None:
    """Import the project's settings, quietly, with this repository on the path."""
    if str(REPOSITORY) not in sys.path:
        sys.path.insert(0, str(REPOSITORY))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import django

    django.setup()


@contextmanager
def benchmark_database(name: str = BENCHMARK_DATABASE) -> Iterator[None]:
    """Run the block against a freshly migrated database `name`, as the application role, then drop it."""
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    for alias in ("default", "owner"):
        connections[alias].settings_dict["TEST"]["NAME"] = name
    old_config = setup_databases(verbosity=0, interactive=False, aliases={"owner"}, serialized_aliases=set())
    application = connections["default"]
    application.close()
    application.settings_dict["NAME"] = connections["owner"].settings_dict["NAME"]
    try:
        yield
    finally:
        for connection in connections.all():
            connection.close()
        teardown_databases(old_config, verbosity=0)
