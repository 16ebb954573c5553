"""Fixtures shared by every test: the database set up as in production, and the people of our stories.

acme and globex are two tenants; alice is acme's tenant admin, bob an acme employee in IT, and carol works
at globex: the outsider who must never see anything of acme.
"""

from __future__ import annotations

import socket
from urllib.parse import urlparse

import pytest
from django.db import connections

from tenancy.context import tenant_context
from tenancy.provisioning import add_member, create_tenant

NOT_TRUNCATED = {"django_migrations", "django_content_type", "auth_permission"}


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    """Create and migrate the test database as the owner role; tests then connect as the application role."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        old_config = setup_databases(verbosity=0, interactive=False, aliases={"owner"}, serialized_aliases=set())
        application = connections["default"]
        application.close()
        application.settings_dict["NAME"] = connections["owner"].settings_dict["NAME"]
    yield
    with django_db_blocker.unblock():
        for connection in connections.all():
            connection.close()
        teardown_databases(old_config, verbosity=0)


def empty_every_table() -> None:
    """Empty every table as the owner, which the application role may not do, after real commits."""
    for connection in connections.all():
        connection.close()
    owner = connections["owner"]
    with owner.cursor() as cursor:
        tables = [name for name in owner.introspection.table_names(cursor) if name not in NOT_TRUNCATED]
        cursor.execute("TRUNCATE " + ", ".join(owner.ops.quote_name(name) for name in tables) + " CASCADE")
    owner.close()


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    """Real commits, for tests with several connections or threads; every table is emptied afterwards."""
    with django_db_blocker.unblock():
        yield
        empty_every_table()


@pytest.fixture
def acme(db):
    tenant, _ = create_tenant(slug="acme", name="Acme 科技", mode="hybrid")
    return tenant


@pytest.fixture
def globex(db):
    tenant, _ = create_tenant(slug="globex", name="Globex 醫療", mode="hybrid")
    return tenant


@pytest.fixture
def alice(acme):
    return add_member(
        tenant=acme,
        username="alice",
        role="tenant_admin",
        department_code="HR",
        full_name="王愛麗",
        password="pw-alice-1",
    )


@pytest.fixture
def bob(acme):
    return add_member(
        tenant=acme,
        username="bob",
        role="employee",
        department_code="IT",
        full_name="Bob Chen",
        password="pw-bob-1",
    )


@pytest.fixture
def carol(globex):
    return add_member(
        tenant=globex,
        username="carol",
        role="employee",
        department_code="OPS",
        full_name="林卡蘿",
        password="pw-carol-1",
    )


@pytest.fixture
def in_tenant():
    """Run a block as a tenant: `with in_tenant(acme): ...`."""

    def enter(tenant):
        return tenant_context(tenant.pk)

    return enter


def _redis_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A reachable Redis, or the test is skipped saying why."""
    import os

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    if not _redis_reachable(url):
        pytest.skip(f"needs a Redis server: none reachable at {url} (set REDIS_URL or start redis-server)")
    return url
