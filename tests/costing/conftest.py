"""Costing stories: acme and globex with their price books seeded, finance people, and questions metered."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

import costing
from costing.defaults import seed_tenant
from tenancy.context import tenant_context
from tenancy.provisioning import add_member

TAIPEI = ZoneInfo("Asia/Taipei")


def taipei(year: int, month: int, day: int, hour: int = 10) -> datetime:
    """A moment in Taipei, where the tenants' days and months are counted."""
    return datetime(year, month, day, hour, tzinfo=TAIPEI)


def metered(membership, *, at: datetime, backend: str = "cloud", model: str = "gpt-4o-mini", **counts):
    """Meter one question of a member, as the pipeline does, inside the member's tenant."""
    route = {"none": "refused"}.get(backend, backend)
    arguments = {
        "tokens_in": 4_000,
        "tokens_out": 1_500,
        "tokens_estimated": False,
        "latency_ms": 850.0,
        **counts,
    }
    with tenant_context(membership.tenant_id):
        return costing.meter(
            tenant_id=membership.tenant_id,
            department_id=membership.department_id,
            user_id=membership.user_id,
            route=route,
            backend=backend,
            model=model if backend == "cloud" else "",
            correlation_id=uuid.uuid4(),
            occurred_at=at,
            **arguments,
        )


@pytest.fixture
def acme_costing(acme):
    seed_tenant(tenant_id=acme.pk)
    return acme


@pytest.fixture
def globex_costing(globex):
    seed_tenant(tenant_id=globex.pk)
    return globex


@pytest.fixture
def fiona(acme_costing):
    """Acme's finance officer."""
    return add_member(
        tenant=acme_costing,
        username="fiona",
        role="finance",
        department_code="FIN",
        full_name="Fiona Lee",
        password="pw-fiona-1",
        email="fiona@acme.example",
    )


@pytest.fixture
def gina(globex_costing):
    """Globex's finance officer: sees globex's costs and nothing of acme's."""
    return add_member(
        tenant=globex_costing,
        username="gina",
        role="finance",
        department_code="FIN",
        full_name="Gina Wu",
        password="pw-gina-1",
        email="gina@globex.example",
    )


@pytest.fixture
def dave(acme_costing):
    """An acme engineer whose questions go to the cloud."""
    return add_member(
        tenant=acme_costing, username="dave", role="employee", department_code="ENG", password="pw-dave-1"
    )


CENT = Decimal("0.01")


@pytest.fixture
def client(client):
    """A browser that asks for English pages, so the stories can quote what the page says."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client
