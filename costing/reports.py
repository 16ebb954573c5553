"""The finance numbers for a month: cost and questions per department and route, budgets, trend and forecast.

One function builds the report; the dashboard, the CSV export and `manage.py cost_report` all show it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from costing import model as cost_model
from costing.allocation import ZERO, MonthAllocation, compute_allocation, stored_allocation
from costing.budgets import BudgetStatus, budget_statuses
from costing.models import LocalCostAllocation
from costing.periods import Period, first_of_month, month_period, months_between, previous_month, today
from costing.pricebook import exchange_rate_on
from costing.profiles import costing_settings, deployment_cost
from costing.usage import UsageSums, monthly_sums, usage_sums
from tenancy.models import Department

ROUTES = ("local", "cloud", "extractive", "refused")
TREND_MONTHS = 12
# Metered cost is stated to a hundredth of a cent: a department's few cloud questions are visible, not "0.00".
METERED_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True)
class DepartmentCost:
    """One department's month: questions by route, metered cost, local share and budget."""

    department_id: int | None
    code: str
    name: str
    usage: UsageSums
    questions_by_route: Mapping[str, int]
    metered: cost_model.Money
    local_share: cost_model.Money
    budget: BudgetStatus | None

    @property
    def total(self) -> cost_model.Money:
        """Metered cost plus the share of local costs."""
        return self.metered + self.local_share


@dataclass(frozen=True)
class RouteCost:
    """One route's month: questions, tokens and metered cost."""

    route: str
    usage: UsageSums
    metered: cost_model.Money


@dataclass(frozen=True)
class DayCost:
    """One day: questions by route, metered cost and the day's part of the month's local cost, in USD."""

    day: date
    questions_by_route: Mapping[str, int]
    metered_usd: Decimal
    local_usd: Decimal


@dataclass(frozen=True)
class MonthCost:
    """One month of the trend: questions, metered cost and allocated local cost."""

    month: date
    questions: int
    metered: cost_model.Money
    local: cost_model.Money

    @property
    def total(self) -> cost_model.Money:
        """Metered plus local cost."""
        return self.metered + self.local


@dataclass(frozen=True)
class MonthReport:
    """Everything the finance dashboard shows for a month."""

    month: date
    as_of: date
    in_progress: bool
    exchange_rate: cost_model.ExchangeRate
    departments: tuple[DepartmentCost, ...]
    routes: tuple[RouteCost, ...]
    days: tuple[DayCost, ...]
    months: tuple[MonthCost, ...]
    allocation: MonthAllocation
    deployment: cost_model.CostBreakdown | None
    forecast: cost_model.Forecast | None
    usage: UsageSums

    @property
    def metered(self) -> cost_model.Money:
        """The month's metered (cloud) cost, the sum of the departments' stated figures."""
        return sum((line.metered for line in self.departments), ZERO)

    @property
    def local(self) -> cost_model.Money:
        """The month's local fixed costs, allocated or not."""
        return self.allocation.total

    @property
    def total(self) -> cost_model.Money:
        """Metered plus local cost."""
        return self.metered + self.local

    @property
    def unallocated(self) -> cost_model.Money:
        """Local cost no department used this month."""
        return self.allocation.share_of(None)

    @property
    def forecast_total(self) -> cost_model.Money | None:
        """The month-end cost: metered spend so far, the daily rate for each day after today, and local costs.

        The daily rate is the cost model's average over the completed days; today counts as spent, not
        projected, so the forecast never falls below what the month has already cost.
        """
        if self.forecast is None:
            return None
        days_after_today = self.forecast.days_in_month - len(self.days)
        projected = self.usage.cost + self.forecast.daily_rate * days_after_today
        return self.exchange_rate.state(projected, cost_model.USD, quantum=cost_model.CENT) + self.local

    @property
    def questions(self) -> int:
        """Questions asked in the month so far."""
        return self.usage.questions


def _metered(amount_usd: Decimal, rate: cost_model.ExchangeRate) -> cost_model.Money:
    return rate.state(amount_usd, cost_model.USD, quantum=METERED_QUANTUM)


def _regroup(sums: Mapping[tuple, UsageSums], *positions: int) -> dict[tuple, UsageSums]:
    """Sums keyed by (day, department, route, backend) added up again by some of those keys."""
    totals: dict[tuple, UsageSums] = {}
    for key, value in sums.items():
        short_key = tuple(key[position] for position in positions)
        totals[short_key] = totals[short_key] + value if short_key in totals else value
    return totals


DAY, DEPARTMENT, ROUTE, BACKEND = range(4)
NOTHING = UsageSums()


def _department_lines(
    *,
    by_department: Mapping[tuple, UsageSums],
    by_department_route: Mapping[tuple, UsageSums],
    allocation: MonthAllocation,
    budgets: Mapping[int, BudgetStatus],
    rate: cost_model.ExchangeRate,
) -> tuple[DepartmentCost, ...]:
    lines = []
    for department in Department.objects.all():
        usage = by_department.get((department.pk,), NOTHING)
        lines.append(
            DepartmentCost(
                department_id=department.pk,
                code=department.code,
                name=department.name,
                usage=usage,
                questions_by_route={
                    route: by_department_route.get((department.pk, route), NOTHING).questions for route in ROUTES
                },
                metered=_metered(usage.cost, rate),
                local_share=allocation.share_of(department.pk),
                budget=budgets.get(department.pk),
            )
        )
    return tuple(lines)


def _route_lines(by_route: Mapping[tuple, UsageSums], rate: cost_model.ExchangeRate) -> tuple[RouteCost, ...]:
    others = sorted(route for (route,) in by_route if route not in ROUTES)
    return tuple(
        RouteCost(
            route=route,
            usage=by_route.get((route,), NOTHING),
            metered=_metered(by_route.get((route,), NOTHING).cost, rate),
        )
        for route in (*ROUTES, *others)
    )


def _day_lines(
    *, period: Period | None, whole_month: Period, by_day_route: Mapping[tuple, UsageSums], local_total_usd: Decimal
) -> tuple[DayCost, ...]:
    if period is None:
        return ()
    # The month's local cost spread evenly over its days, in cents that add up to the month exactly.
    local_by_day = cost_model.allocate(local_total_usd, dict.fromkeys(whole_month.each_day(), 1))
    return tuple(
        DayCost(
            day=day,
            questions_by_route={route: by_day_route.get((day, route), NOTHING).questions for route in ROUTES},
            metered_usd=sum((by_day_route.get((day, route), NOTHING).cost for route in ROUTES), Decimal(0)),
            local_usd=local_by_day[day],
        )
        for day in period.each_day()
    )


def month_report(*, tenant_id: int, month: date) -> MonthReport:
    """The current tenant's costs for a month: per department, route and day, with budgets and forecast."""
    whole_month = month_period(month)
    as_of = today()
    in_progress = whole_month.first_day <= as_of <= whole_month.last_day
    data_last_day = min(whole_month.last_day, as_of)
    so_far = Period(whole_month.first_day, data_last_day) if data_last_day >= whole_month.first_day else None
    rate = exchange_rate_on(on=max(whole_month.first_day, data_last_day))
    sums = usage_sums(period=so_far, by=("day", "department", "route", "backend")) if so_far else {}

    allocation = None if in_progress else stored_allocation(month=whole_month.first_day)
    if allocation is None:
        allocation = compute_allocation(
            tenant_id=tenant_id,
            month=whole_month.first_day,
            usage_by_department_and_backend=_regroup(sums, DEPARTMENT, BACKEND),
            exchange_rate=rate,
        )
    deployment = allocation.deployment
    profile = costing_settings(tenant_id=tenant_id).deployed_profile
    if deployment is None and profile is not None:
        deployment = deployment_cost(profile=profile, on=rate.on, exchange_rate=rate)

    days = _day_lines(
        period=so_far,
        whole_month=whole_month,
        by_day_route=_regroup(sums, DAY, ROUTE),
        local_total_usd=allocation.total.usd,
    )
    forecast = None
    if in_progress:
        completed = [line.metered_usd for line in days if line.day < as_of]
        forecast = cost_model.forecast_month_end(completed, days_in_month=whole_month.days)
    usage = sum(sums.values(), UsageSums())
    return MonthReport(
        month=whole_month.first_day,
        as_of=as_of,
        in_progress=in_progress,
        exchange_rate=rate,
        departments=_department_lines(
            by_department=_regroup(sums, DEPARTMENT),
            by_department_route=_regroup(sums, DEPARTMENT, ROUTE),
            allocation=allocation,
            budgets=budget_statuses(month=whole_month.first_day, exchange_rate=rate),
            rate=rate,
        ),
        routes=_route_lines(_regroup(sums, ROUTE), rate),
        days=days,
        months=_month_trend(last_month=whole_month.first_day, current=(usage, allocation), rate=rate),
        allocation=allocation,
        deployment=deployment,
        forecast=forecast,
        usage=usage,
    )


def _month_trend(
    *, last_month: date, current: tuple[UsageSums, MonthAllocation], rate: cost_model.ExchangeRate
) -> tuple[MonthCost, ...]:
    """The months up to the report's, from the monthly roll-up and the stored allocations."""
    first_month = first_of_month(last_month - timedelta(days=31 * (TREND_MONTHS - 1)))
    months = months_between(first_month, previous_month(last_month))
    rolled = monthly_sums(first_month=first_month, last_month=previous_month(last_month), by=())
    local: dict[date, cost_model.Money] = {}
    for month, usd, ntd in LocalCostAllocation.objects.filter(month__range=(first_month, last_month)).values_list(
        "month", "amount_usd", "amount_ntd"
    ):
        local[month] = local.get(month, ZERO) + cost_model.Money(usd=usd, ntd=ntd)
    trend = []
    for month in months:
        usage = rolled.get((month,), UsageSums())
        if not usage.questions and month not in local:
            continue
        trend.append(
            MonthCost(
                month=month, questions=usage.questions, metered=_metered(usage.cost, rate), local=local.get(month, ZERO)
            )
        )
    usage, allocation = current
    trend.append(
        MonthCost(
            month=last_month, questions=usage.questions, metered=_metered(usage.cost, rate), local=allocation.total
        )
    )
    return tuple(trend)
