"""Department budgets on metered (cloud) spend: soft limits alert, hard limits take the cloud away.

Every metered question adds its cost to the department's month (one upsert that also reads the budget). A
limit reached for the first time at a value in a month inserts one BudgetAlert row; its unique key is what
makes each crossing alert once, however many questions or workers race past it. The alert row, its audit
event and the usage record commit together; the e-mail and webhook go out after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction

import audit
from config.celery import enqueue_after_commit
from config.metrics import BUDGET_ALERTS
from costing import model as cost_model
from costing.models import Budget, BudgetAlert, BudgetLevel, BudgetSpend, Currency
from costing.periods import first_of_month, month_period, today
from costing.pricebook import default_exchange_rate, exchange_rate_on
from tenancy.context import current_tenant_id, tenant_context
from tenancy.models import Department

_SPEND_AND_BUDGET_SQL = """
WITH spend AS (
    INSERT INTO costing_budgetspend (tenant_id, department_id, month, spent)
    VALUES (%(tenant)s, %(department)s, %(month)s, %(amount)s)
    ON CONFLICT (tenant_id, department_id, month)
    DO UPDATE SET spent = costing_budgetspend.spent + EXCLUDED.spent
    RETURNING spent
)
SELECT spend.spent, budget.soft_limit, budget.hard_limit, budget.currency, {rate}
FROM spend LEFT JOIN costing_budget budget
    ON budget.tenant_id = %(tenant)s AND budget.department_id = %(department)s
"""

_HARD_LIMIT_SQL = """
SELECT budget.hard_limit, budget.currency, COALESCE(spend.spent, 0), {rate}
FROM costing_budget budget
LEFT JOIN costing_budgetspend spend
    ON spend.tenant_id = budget.tenant_id AND spend.department_id = budget.department_id
    AND spend.month = %(month)s
WHERE budget.tenant_id = %(tenant)s AND budget.department_id = %(department)s AND budget.hard_limit IS NOT NULL
"""

_RATE_SQL = """(
    SELECT rate.ntd_per_usd FROM costing_exchangerate rate
    WHERE rate.tenant_id = %(tenant)s
    ORDER BY rate.effective_on <= %(day)s DESC,
        CASE WHEN rate.effective_on <= %(day)s THEN rate.effective_on END DESC,
        rate.effective_on
    LIMIT 1
)"""

_INSERT_ALERT_SQL = """
INSERT INTO costing_budgetalert
    (tenant_id, department_id, month, level, "limit", currency, spent_usd, created_at, email_recipients,
     webhook_error)
VALUES (%(tenant)s, %(department)s, %(month)s, %(level)s, %(limit)s, %(currency)s, %(spent)s, now(), '', '')
ON CONFLICT (tenant_id, department_id, month, level, "limit", currency) DO NOTHING
RETURNING id
"""


@dataclass(frozen=True)
class BudgetStatus:
    """A department's month against its budget, in the budget's currency."""

    department_id: int
    month: date
    currency: str
    state: cost_model.BudgetState

    @property
    def over_hard_limit(self) -> bool:
        """Whether the router must keep this department's questions off the cloud."""
        return self.state.hard_limit_reached


def _in_budget_currency(spent_usd: Decimal, currency: str | None, ntd_per_usd: Decimal | None) -> Decimal:
    if currency == Currency.NTD:
        return spent_usd * (ntd_per_usd or default_exchange_rate())
    return spent_usd


def department_over_hard_budget(*, tenant_id: int, department_id: int) -> bool:
    """Whether the department has reached this month's hard limit: one small indexed query per question."""
    if current_tenant_id() != tenant_id:
        with tenant_context(tenant_id):
            return department_over_hard_budget(tenant_id=tenant_id, department_id=department_id)
    day = today()
    with connection.cursor() as cursor:
        cursor.execute(
            _HARD_LIMIT_SQL.format(rate=_RATE_SQL),
            {"tenant": tenant_id, "department": department_id, "month": first_of_month(day), "day": day},
        )
        row = cursor.fetchone()
    if row is None:
        return False
    hard_limit, currency, spent_usd, ntd_per_usd = row
    return _in_budget_currency(spent_usd, currency, ntd_per_usd) >= hard_limit


def add_spend(*, tenant_id: int, department_id: int, amount_usd: Decimal, day: date) -> tuple[int, ...]:
    """Add metered spend to the department's month; raise an alert for each limit it crosses (ids returned)."""
    month = first_of_month(day)
    with connection.cursor() as cursor:
        cursor.execute(
            _SPEND_AND_BUDGET_SQL.format(rate=_RATE_SQL),
            {"tenant": tenant_id, "department": department_id, "month": month, "amount": amount_usd, "day": day},
        )
        after_usd, soft_limit, hard_limit, currency, ntd_per_usd = cursor.fetchone()
    if soft_limit is None and hard_limit is None:
        return ()
    before = _in_budget_currency(after_usd - amount_usd, currency, ntd_per_usd)
    after = _in_budget_currency(after_usd, currency, ntd_per_usd)
    crossed = cost_model.thresholds_crossed(before=before, after=after, soft_limit=soft_limit, hard_limit=hard_limit)
    limits = {cost_model.BudgetLevel.SOFT_EXCEEDED: soft_limit, cost_model.BudgetLevel.HARD_EXCEEDED: hard_limit}
    alert_ids = []
    for level in crossed:
        alert_id = raise_budget_alert(
            tenant_id=tenant_id,
            department_id=department_id,
            month=month,
            level=level,
            limit=limits[level],
            currency=currency,
            spent_usd=after_usd,
        )
        if alert_id is not None:
            alert_ids.append(alert_id)
    return tuple(alert_ids)


def raise_budget_alert(
    *,
    tenant_id: int,
    department_id: int,
    month: date,
    level: str,
    limit: Decimal,
    currency: str,
    spent_usd: Decimal,
) -> int | None:
    """Record a limit crossing once, audit it and queue its e-mail and webhook; None if already raised."""
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT_ALERT_SQL,
            {
                "tenant": tenant_id,
                "department": department_id,
                "month": month,
                "level": str(level),
                "limit": limit,
                "currency": currency,
                "spent": spent_usd,
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    alert_id = row[0]
    department = Department.objects.get(pk=department_id)
    audit.record(
        tenant_id=tenant_id,
        kind="budget_exceeded",
        department_code=department.code,
        payload={
            "alert_id": alert_id,
            "department": department.code,
            "month": month.strftime("%Y-%m"),
            "level": str(level),
            "limit": str(limit),
            "currency": currency,
            "spent_usd": str(spent_usd),
        },
    )
    from costing.tasks import deliver_budget_alert

    enqueue_after_commit(deliver_budget_alert, tenant_id, alert_id)
    transaction.on_commit(lambda: BUDGET_ALERTS.labels(level=str(level)).inc())
    return alert_id


def budget_status(*, department_id: int, month: date | None = None) -> BudgetStatus | None:
    """A department's spend against its budget in a month (this month by default); None without a budget."""
    budget = Budget.objects.filter(department_id=department_id).first()
    if budget is None:
        return None
    month = first_of_month(month or today())
    spend = BudgetSpend.objects.filter(department_id=department_id, month=month).first()
    spent_usd = spend.spent if spend else Decimal(0)
    rate = exchange_rate_on(on=min(today(), month_period(month).last_day))
    spent = spent_usd * rate.ntd_per_usd if budget.currency == Currency.NTD else spent_usd
    return BudgetStatus(
        department_id=department_id,
        month=month,
        currency=budget.currency,
        state=cost_model.budget_state(spent, budget.soft_limit, budget.hard_limit),
    )


@transaction.atomic
def set_budget(
    *,
    tenant_id: int,
    department_id: int,
    soft_limit: Decimal | None,
    hard_limit: Decimal | None,
    currency: str = Currency.USD,
) -> Budget:
    """Set a department's monthly limits; a limit this month's spend already reaches alerts now, once."""
    cost_model.budget_state(0, soft_limit, hard_limit)  # the model's check: soft not above hard
    if currency not in Currency.values:
        raise ValueError(f"unsupported currency {currency!r}")
    Department.objects.get(pk=department_id)
    budget, _ = Budget.objects.update_or_create(
        tenant_id=tenant_id,
        department_id=department_id,
        defaults={"soft_limit": soft_limit, "hard_limit": hard_limit, "currency": currency},
    )
    status = budget_status(department_id=department_id)
    if status is not None:
        spend = BudgetSpend.objects.filter(department_id=department_id, month=status.month).first()
        spent_usd = spend.spent if spend else Decimal(0)
        reached = [
            (BudgetLevel.SOFT_EXCEEDED, soft_limit),
            (BudgetLevel.HARD_EXCEEDED, hard_limit),
        ]
        for level, limit in reached:
            if limit is not None and status.state.spent >= limit:
                raise_budget_alert(
                    tenant_id=tenant_id,
                    department_id=department_id,
                    month=status.month,
                    level=level,
                    limit=limit,
                    currency=currency,
                    spent_usd=spent_usd,
                )
    return budget


@transaction.atomic
def remove_budget(*, department_id: int) -> None:
    """Take a department's limits away: nothing alerts and the cloud stays open to it."""
    Budget.objects.filter(department_id=department_id).delete()


def alerts(*, month: date | None = None) -> list[BudgetAlert]:
    """The current tenant's budget alerts, newest first, for one month when given."""
    rows = BudgetAlert.objects.select_related("department")
    if month is not None:
        rows = rows.filter(month=first_of_month(month))
    return list(rows)


def budget_statuses(*, month: date, exchange_rate: cost_model.ExchangeRate) -> dict[int, BudgetStatus]:
    """Every budgeted department's status in a month, in two queries (for reports)."""
    month = first_of_month(month)
    spent = dict(BudgetSpend.objects.filter(month=month).values_list("department_id", "spent"))
    statuses = {}
    for budget in Budget.objects.all():
        spent_usd = spent.get(budget.department_id, Decimal(0))
        in_currency = spent_usd * exchange_rate.ntd_per_usd if budget.currency == Currency.NTD else spent_usd
        statuses[budget.department_id] = BudgetStatus(
            department_id=budget.department_id,
            month=month,
            currency=budget.currency,
            state=cost_model.budget_state(in_currency, budget.soft_limit, budget.hard_limit),
        )
    return statuses
