"""Local cost allocation: a month's fixed self-hosting cost spread over the departments that used it.

The deployed GPU profile's monthly cost goes to departments in proportion to their self-hosted model usage
(tokens or GPU-seconds, as the profile says); the app servers' monthly cost goes to departments in
proportion to the questions the extractive answerer served. Both are allocated in cents with the cost
model's largest-remainder rule, so the shares add up exactly to the monthly cost in USD and in NTD. A month
with no such usage books the whole cost as unallocated (no department).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction

from costing import model as cost_model
from costing.models import AllocationBasis, AllocationKind, LocalCostAllocation
from costing.periods import first_of_month, month_period, today
from costing.pricebook import exchange_rate_on
from costing.profiles import costing_settings, deployment_cost
from costing.usage import UsageSums, usage_sums

ZERO = cost_model.Money(usd=Decimal(0), ntd=Decimal(0))


@dataclass(frozen=True)
class AllocatedCost:
    """One fixed monthly cost and its shares per department (None: nobody used it)."""

    kind: str
    source_name: str
    basis: str
    total: cost_model.Money
    usage_by_department: Mapping[int, Decimal]
    shares: Mapping[int | None, cost_model.Money]


@dataclass(frozen=True)
class MonthAllocation:
    """A month's local costs allocated to departments."""

    month: date
    exchange_rate: cost_model.ExchangeRate
    deployment: cost_model.CostBreakdown | None
    costs: tuple[AllocatedCost, ...] = field(default_factory=tuple)

    @property
    def total(self) -> cost_model.Money:
        """All local fixed costs of the month."""
        return sum((cost.total for cost in self.costs), ZERO)

    def share_of(self, department_id: int | None) -> cost_model.Money:
        """What one department (None: unallocated) carries of the month's local costs."""
        return sum((cost.shares.get(department_id, ZERO) for cost in self.costs), ZERO)


def spread(
    *, kind: str, source_name: str, basis: str, total: cost_model.Money, usage_by_department: Mapping[int, Decimal]
) -> AllocatedCost:
    """Allocate a monthly cost in cents over departments' usage, separately (and exactly) in USD and NTD."""
    usage = {department: amount for department, amount in usage_by_department.items() if amount > 0}
    if not usage:
        shares: dict[int | None, cost_model.Money] = {None: total} if total != ZERO else {}
    else:
        usd = cost_model.allocate(total.usd, usage)
        ntd = cost_model.allocate(total.ntd, usage)
        shares = {department: cost_model.Money(usd=usd[department], ntd=ntd[department]) for department in usage}
    return AllocatedCost(
        kind=kind, source_name=source_name, basis=basis, total=total, usage_by_department=usage, shares=shares
    )


def _to_cents(money: cost_model.Money) -> cost_model.Money:
    return cost_model.Money(usd=money.usd.quantize(cost_model.CENT), ntd=money.ntd.quantize(cost_model.CENT))


def compute_allocation(
    *,
    tenant_id: int,
    month: date,
    usage_by_department_and_backend: Mapping[tuple[int, str], UsageSums],
    exchange_rate: cost_model.ExchangeRate | None = None,
) -> MonthAllocation:
    """A month's allocation from its usage per (department, backend), at the current settings and profile.

    The exchange rate is the one in effect on the month's last day, or today while the month runs.
    """
    month = first_of_month(month)
    rate_day = min(month_period(month).last_day, max(today(), month))
    rate = exchange_rate or exchange_rate_on(on=rate_day)
    settings_row = costing_settings(tenant_id=tenant_id)
    costs = []
    deployment = None
    profile = settings_row.deployed_profile
    if profile is not None:
        deployment = deployment_cost(profile=profile, on=rate_day, exchange_rate=rate)
        by_gpu_seconds = profile.allocation_basis == AllocationBasis.GPU_SECONDS
        usage = {
            department: (sums.gpu_seconds if by_gpu_seconds else Decimal(sums.tokens))
            for (department, backend), sums in usage_by_department_and_backend.items()
            if backend == "local"
        }
        costs.append(
            spread(
                kind=AllocationKind.GPU,
                source_name=profile.name,
                basis=profile.allocation_basis,
                total=_to_cents(deployment.total),
                usage_by_department=usage,
            )
        )
    if settings_row.app_server_monthly_cost > 0:
        app_servers = rate.state(
            settings_row.app_server_monthly_cost, settings_row.app_server_currency, quantum=cost_model.CENT
        )
        questions = {
            department: Decimal(sums.questions)
            for (department, backend), sums in usage_by_department_and_backend.items()
            if backend == "extractive"
        }
        costs.append(
            spread(
                kind=AllocationKind.APP_SERVERS,
                source_name="app servers",
                basis="questions",
                total=app_servers,
                usage_by_department=questions,
            )
        )
    return MonthAllocation(month=month, exchange_rate=rate, deployment=deployment, costs=tuple(costs))


def allocate_month(*, tenant_id: int, month: date) -> MonthAllocation:
    """Allocate a month's local costs from its usage so far (provisional until the month is over)."""
    period = month_period(month)
    sums = usage_sums(period=period, by=("department", "backend"))
    return compute_allocation(tenant_id=tenant_id, month=period.first_day, usage_by_department_and_backend=sums)


@transaction.atomic
def store_allocation(*, tenant_id: int, allocation: MonthAllocation) -> int:
    """Replace a month's stored allocation rows with these; returns how many rows were written."""
    LocalCostAllocation.objects.filter(month=allocation.month).delete()
    rows = [
        LocalCostAllocation(
            tenant_id=tenant_id,
            month=allocation.month,
            kind=cost.kind,
            department_id=department_id,
            source_name=cost.source_name,
            basis=cost.basis,
            usage=cost.usage_by_department.get(department_id, Decimal(0)) if department_id else Decimal(0),
            amount_usd=share.usd,
            amount_ntd=share.ntd,
        )
        for cost in allocation.costs
        for department_id, share in cost.shares.items()
    ]
    LocalCostAllocation.objects.bulk_create(rows)
    return len(rows)


def stored_allocation(*, month: date) -> MonthAllocation | None:
    """A month's allocation as it was stored, or None when the month was never allocated."""
    month = first_of_month(month)
    rows = list(LocalCostAllocation.objects.filter(month=month).order_by("kind", "department_id"))
    if not rows:
        return None
    grouped: dict[tuple[str, str, str], list[LocalCostAllocation]] = {}
    for row in rows:
        grouped.setdefault((row.kind, row.source_name, row.basis), []).append(row)
    costs = []
    for (kind, source_name, basis), group in grouped.items():
        shares = {row.department_id: cost_model.Money(usd=row.amount_usd, ntd=row.amount_ntd) for row in group}
        costs.append(
            AllocatedCost(
                kind=kind,
                source_name=source_name,
                basis=basis,
                total=sum(shares.values(), ZERO),
                usage_by_department={row.department_id: row.usage for row in group if row.department_id},
                shares=shares,
            )
        )
    rate = exchange_rate_on(on=month_period(month).last_day)
    return MonthAllocation(month=month, exchange_rate=rate, deployment=None, costs=tuple(costs))
