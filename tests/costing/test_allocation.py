"""A month's fixed local cost is shared among departments by their use, to the cent, in USD and NTD."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from costing import model as cost_model
from costing.allocation import ZERO, spread
from costing.models import AllocationBasis, GpuProfile, LocalCostAllocation
from costing.profiles import save_costing_settings
from costing.rollups import roll_up
from tenancy.context import tenant_context
from tenancy.provisioning import add_member
from tests.costing.conftest import metered, taipei

REFERENCE_MONTH = cost_model.Money(usd=Decimal(1_469), ntd=Decimal(47_008))


def stored_shares(tenant_id: int, month: date) -> dict[str | None, tuple[Decimal, Decimal]]:
    with tenant_context(tenant_id):
        return {
            (row.department.code if row.department else None): (row.amount_usd, row.amount_ntd)
            for row in LocalCostAllocation.objects.filter(month=month, kind="gpu").select_related("department")
        }


def test_three_equal_departments_share_1469_dollars_without_losing_a_cent(acme_costing, bob, dave, alice):
    for member in (bob, dave, alice):
        metered(member, at=taipei(2025, 3, 10), backend="local", tokens_in=100, tokens_out=0)

    with tenant_context(acme_costing.pk):
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 3, 31))
    shares = stored_shares(acme_costing.pk, date(2025, 3, 1))

    assert sum(usd for usd, _ in shares.values()) == Decimal("1469.00")
    assert sum(ntd for _, ntd in shares.values()) == Decimal("47008.00")
    assert sorted(usd for usd, _ in shares.values()) == [Decimal("489.66"), Decimal("489.67"), Decimal("489.67")]


def test_shares_follow_local_tokens_and_ignore_cloud_and_extractive_answers(acme_costing, bob, dave):
    metered(bob, at=taipei(2025, 3, 3), backend="local", tokens_in=3_000, tokens_out=0)
    metered(dave, at=taipei(2025, 3, 4), backend="local", tokens_in=1_000, tokens_out=0)
    metered(dave, at=taipei(2025, 3, 5), backend="cloud", tokens_in=50_000, tokens_out=0)
    metered(dave, at=taipei(2025, 3, 6), backend="extractive", tokens_in=50_000, tokens_out=0)

    with tenant_context(acme_costing.pk):
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 3, 31))

    assert stored_shares(acme_costing.pk, date(2025, 3, 1)) == {
        "IT": (Decimal("1101.75"), Decimal("35256.00")),
        "ENG": (Decimal("367.25"), Decimal("11752.00")),
    }


def test_a_profile_shared_by_gpu_seconds_follows_generation_time(acme_costing, bob, dave):
    with tenant_context(acme_costing.pk):
        GpuProfile.objects.update(allocation_basis=AllocationBasis.GPU_SECONDS)
    metered(bob, at=taipei(2025, 3, 3), backend="local", tokens_in=9_000, latency_ms=1_000.0)
    metered(dave, at=taipei(2025, 3, 4), backend="local", tokens_in=1_000, latency_ms=3_000.0)

    with tenant_context(acme_costing.pk):
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 3, 31))
    shares = stored_shares(acme_costing.pk, date(2025, 3, 1))

    assert shares["IT"][0] == Decimal("367.25")
    assert shares["ENG"][0] == Decimal("1101.75")


def test_a_month_nobody_used_the_gpu_books_its_whole_cost_as_unallocated(acme_costing, dave):
    metered(dave, at=taipei(2025, 3, 5), backend="cloud")

    with tenant_context(acme_costing.pk):
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 3, 31))

    assert stored_shares(acme_costing.pk, date(2025, 3, 1)) == {None: (Decimal("1469.00"), Decimal("47008.00"))}


def test_the_app_servers_are_shared_by_the_questions_the_extractive_answerer_served(acme_costing, bob, dave):
    with tenant_context(acme_costing.pk):
        save_costing_settings(
            tenant_id=acme_costing.pk, fields={"app_server_monthly_cost": Decimal(100), "app_server_currency": "USD"}
        )
    for _ in range(2):
        metered(bob, at=taipei(2025, 3, 5), backend="extractive")
    metered(dave, at=taipei(2025, 3, 5), backend="extractive")

    with tenant_context(acme_costing.pk):
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 3, 31))
        rows = {
            row.department.code: row.amount_usd
            for row in LocalCostAllocation.objects.filter(kind="app_servers").select_related("department")
        }

    assert rows == {"IT": Decimal("66.67"), "ENG": Decimal("33.33")}


def test_a_month_already_allocated_keeps_its_cost_when_the_profile_changes_later(acme_costing, bob):
    metered(bob, at=taipei(2025, 3, 5), backend="local")
    with tenant_context(acme_costing.pk):
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 4, 2))
        GpuProfile.objects.update(staff_fte=Decimal(1))
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 4, 3))

    assert stored_shares(acme_costing.pk, date(2025, 3, 1)) == {"IT": (Decimal("1469.00"), Decimal("47008.00"))}


@settings(max_examples=100, deadline=None, database=None)
@given(usage=st.dictionaries(st.integers(1, 40), st.integers(0, 10**7), max_size=30))
def test_any_usage_is_allocated_to_exactly_the_monthly_cost_in_both_currencies(usage):
    allocated = spread(kind="gpu", source_name="A100", basis="tokens", total=REFERENCE_MONTH, usage_by_department=usage)

    assert sum(allocated.shares.values(), ZERO) == REFERENCE_MONTH


def test_many_departments_with_awkward_shares_still_add_up(acme_costing):
    members = [
        add_member(tenant=acme_costing, username=f"user{index}", role="employee", department_code=f"D{index:02}")
        for index in range(7)
    ]
    for index, member in enumerate(members):
        metered(member, at=taipei(2025, 3, 5), backend="local", tokens_in=index * 37 + 11, tokens_out=0)

    with tenant_context(acme_costing.pk):
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 3, 31))
    shares = stored_shares(acme_costing.pk, date(2025, 3, 1))

    assert len(shares) == 7
    assert sum(usd for usd, _ in shares.values()) == Decimal("1469.00")
    assert sum(ntd for _, ntd in shares.values()) == Decimal("47008.00")
