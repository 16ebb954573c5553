"""Costing tables: usage records, the price book, GPU profiles, budgets, roll-ups and local cost allocations.

Money in usage records, roll-ups and budget spend is in US dollars, exact to twelve decimal places (a question
can cost a fraction of a micro-dollar); the pure cost model in costing/model.py does the arithmetic.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from costing import model as cost_model
from tenancy.models import Department, TenantOwnedModel

MONEY_PLACES = 12


class Currency(models.TextChoices):
    USD = cost_model.USD, "USD"
    NTD = cost_model.NTD, "NTD"


class CostKind(models.TextChoices):
    METERED = "metered", _("Metered at the cloud price")
    UNPRICED = "unpriced", _("Cloud, no price in the price book")
    LOCAL_SHARE = "local_share", _("Share of the GPU deployment")
    APP_SERVER_SHARE = "app_server_share", _("Share of the app servers")
    NO_COST = "no_cost", _("No model ran")


class UsageRecord(TenantOwnedModel):
    """One question: who asked, where it was answered, the tokens it took and what it cost."""

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    occurred_at = models.DateTimeField()
    route = models.CharField(max_length=20)
    backend = models.CharField(max_length=20)
    provider = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=100, blank=True)
    tokens_in = models.PositiveIntegerField(default=0)
    cached_tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    tokens_estimated = models.BooleanField(default=False)
    latency_ms = models.PositiveIntegerField(default=0)
    gpu_seconds = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    cost = models.DecimalField(max_digits=26, decimal_places=MONEY_PLACES, default=Decimal(0))
    currency = models.CharField(max_length=3, default=cost_model.USD)
    cost_kind = models.CharField(max_length=20, choices=CostKind.choices, default=CostKind.NO_COST)
    cost_basis = models.CharField(max_length=300, blank=True)
    price = models.ForeignKey("Price", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    correlation_id = models.UUIDField(default=uuid.uuid4)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["tenant", "department", "occurred_at"], name="usage_department_time"),
            models.Index(fields=["tenant", "occurred_at"], name="usage_tenant_time"),
            models.Index(fields=["correlation_id"], name="usage_correlation"),
        ]

    def __str__(self) -> str:
        return f"{self.route} {self.tokens_in}+{self.tokens_out} tokens"


class Price(TenantOwnedModel):
    """A cloud model's list price per million tokens, in effect from a date until a later row replaces it."""

    provider = models.CharField(max_length=50)
    model = models.CharField(max_length=100)
    input_per_million = models.DecimalField(max_digits=12, decimal_places=6)
    cached_input_per_million = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    output_per_million = models.DecimalField(max_digits=12, decimal_places=6)
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.USD)
    effective_from = models.DateField()
    source = models.TextField(blank=True)

    class Meta:
        ordering = ["provider", "model", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "provider", "model", "effective_from"], name="price_unique_per_day"
            )
        ]
        indexes = [models.Index(fields=["tenant", "model", "effective_from"], name="price_model_day")]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model} from {self.effective_from.isoformat()}"

    def as_price(self) -> cost_model.Price:
        """The row as the cost model's Price."""
        return cost_model.Price(
            provider=self.provider,
            model=self.model,
            input_per_million=self.input_per_million,
            output_per_million=self.output_per_million,
            cached_input_per_million=self.cached_input_per_million,
            currency=self.currency,
            effective_from=self.effective_from,
            source=self.source,
        )


class ExchangeRate(TenantOwnedModel):
    """New Taiwan dollars per US dollar from a date on; the latest row not after a day applies to it."""

    ntd_per_usd = models.DecimalField(max_digits=10, decimal_places=4)
    effective_on = models.DateField()

    class Meta:
        ordering = ["-effective_on"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "effective_on"], name="exchange_rate_unique_per_day"),
            models.CheckConstraint(condition=Q(ntd_per_usd__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.ntd_per_usd} NTD/USD from {self.effective_on.isoformat()}"

    def as_exchange_rate(self) -> cost_model.ExchangeRate:
        """The row as the cost model's ExchangeRate."""
        return cost_model.ExchangeRate(ntd_per_usd=self.ntd_per_usd, on=self.effective_on)


class Acquisition(models.TextChoices):
    PURCHASE = "purchase", _("Bought")
    RENTAL = "rental", _("Rented")


class AllocationBasis(models.TextChoices):
    TOKENS = "tokens", _("Tokens")
    GPU_SECONDS = "gpu_seconds", _("GPU-seconds")


class GpuProfile(TenantOwnedModel):
    """A self-hosted deployment's full cost of ownership and how its cost is shared among departments."""

    name = models.CharField(max_length=100)
    acquisition = models.CharField(max_length=10, choices=Acquisition.choices, default=Acquisition.PURCHASE)
    gpus = models.PositiveSmallIntegerField(default=1)
    hardware_cost = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    amortization_months = models.PositiveIntegerField(default=36)
    hourly_rate = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal(0))
    hours_per_day = models.DecimalField(max_digits=4, decimal_places=2, default=Decimal(24))
    days_per_month = models.PositiveSmallIntegerField(default=30)
    power_watts = models.DecimalField(max_digits=8, decimal_places=1, default=Decimal(0))
    electricity_price_per_kwh = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal(0))
    electricity_currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.NTD)
    staff_fte = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal(0))
    staff_monthly_cost_per_fte = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))
    other_monthly_cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.USD)
    throughput_tokens_per_second = models.DecimalField(max_digits=10, decimal_places=1, default=Decimal(1000))
    allocation_basis = models.CharField(max_length=20, choices=AllocationBasis.choices, default=AllocationBasis.TOKENS)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="gpu_profile_name_unique_per_tenant"),
            models.CheckConstraint(condition=Q(gpus__gte=1), name="gpu_profile_at_least_one_gpu"),
            models.CheckConstraint(condition=Q(amortization_months__gte=1), name="gpu_profile_amortized"),
        ]

    def __str__(self) -> str:
        return self.name

    def as_gpu_profile(self, *, exchange_rate: cost_model.ExchangeRate) -> cost_model.GpuProfile:
        """The row as the cost model's GpuProfile, at an exchange rate."""
        acquisition: cost_model.Purchase | cost_model.Rental
        if self.acquisition == Acquisition.RENTAL:
            acquisition = cost_model.Rental(hourly_rate=self.hourly_rate)
        else:
            acquisition = cost_model.Purchase(
                hardware_cost=self.hardware_cost, amortization_months=self.amortization_months
            )
        return cost_model.GpuProfile(
            name=self.name,
            acquisition=acquisition,
            power_watts=self.power_watts,
            electricity_price_per_kwh=self.electricity_price_per_kwh,
            exchange_rate=exchange_rate,
            throughput_tokens_per_second=self.throughput_tokens_per_second,
            hours_per_day=self.hours_per_day,
            days_per_month=self.days_per_month,
            staff_fte=self.staff_fte,
            staff_monthly_cost_per_fte=self.staff_monthly_cost_per_fte,
            other_monthly_cost=self.other_monthly_cost,
            currency=self.currency,
            electricity_currency=self.electricity_currency,
        )


class CostingSettings(TenantOwnedModel):
    """A tenant's costing choices: the deployment in use, app-server cost and where budget alerts go."""

    deployed_profile = models.ForeignKey(GpuProfile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    app_server_monthly_cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))
    app_server_currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.USD)
    alert_emails = models.TextField(blank=True)
    alert_webhook_url = models.URLField(blank=True)

    class Meta:
        verbose_name_plural = "costing settings"
        constraints = [models.UniqueConstraint(fields=["tenant"], name="costing_settings_one_per_tenant")]

    def __str__(self) -> str:
        return f"costing settings of tenant {self.tenant_id}"

    @property
    def alert_email_list(self) -> list[str]:
        """The extra alert addresses, one per line or comma-separated."""
        return [address.strip() for address in self.alert_emails.replace(",", "\n").split() if address.strip()]


class Budget(TenantOwnedModel):
    """A department's monthly limits on metered (cloud) spend: soft alerts, hard stops the cloud."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    soft_limit = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    hard_limit = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.USD)

    class Meta:
        ordering = ["department__code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "department"], name="budget_one_per_department"),
            models.CheckConstraint(
                condition=Q(soft_limit__isnull=True) | Q(hard_limit__isnull=True) | Q(soft_limit__lte=F("hard_limit")),
                name="budget_soft_not_above_hard",
            ),
        ]

    def __str__(self) -> str:
        return f"budget of department {self.department_id}"


class BudgetSpend(TenantOwnedModel):
    """A department's metered spend in a month, kept current by every metered question."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    spent = models.DecimalField(max_digits=26, decimal_places=MONEY_PLACES, default=Decimal(0))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "department", "month"], name="budget_spend_one_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.spent} USD in {self.month:%Y-%m}"


class BudgetLevel(models.TextChoices):
    SOFT_EXCEEDED = cost_model.BudgetLevel.SOFT_EXCEEDED.value, _("Soft limit reached")
    HARD_EXCEEDED = cost_model.BudgetLevel.HARD_EXCEEDED.value, _("Hard limit reached")


class BudgetAlert(TenantOwnedModel):
    """One crossing of a budget limit in a month; the unique key is what makes each alert go out once."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    level = models.CharField(max_length=20, choices=BudgetLevel.choices)
    limit = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    spent_usd = models.DecimalField(max_digits=26, decimal_places=MONEY_PLACES)
    created_at = models.DateTimeField(auto_now_add=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_recipients = models.TextField(blank=True)
    webhook_sent_at = models.DateTimeField(null=True, blank=True)
    webhook_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "department", "month", "level", "limit", "currency"],
                name="budget_alert_once_per_crossing",
            )
        ]

    def __str__(self) -> str:
        return f"{self.level} {self.limit} {self.currency} in {self.month:%Y-%m}"


class UsageTotals(models.Model):
    """Sums over usage records, shared by the daily and monthly roll-ups."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    route = models.CharField(max_length=20)
    backend = models.CharField(max_length=20)
    questions = models.PositiveIntegerField(default=0)
    tokens_in = models.BigIntegerField(default=0)
    cached_tokens_in = models.BigIntegerField(default=0)
    tokens_out = models.BigIntegerField(default=0)
    gpu_seconds = models.DecimalField(max_digits=18, decimal_places=3, default=Decimal(0))
    cost = models.DecimalField(max_digits=26, decimal_places=MONEY_PLACES, default=Decimal(0))
    estimated_questions = models.PositiveIntegerField(default=0)
    unpriced_questions = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class DailyUsage(TenantOwnedModel, UsageTotals):
    """A day's usage per department, route and backend (days in the tenant's time zone)."""

    day = models.DateField()

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "department", "route", "backend"], name="daily_usage_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.route}/{self.backend}: {self.questions} questions"


class MonthlyUsage(TenantOwnedModel, UsageTotals):
    """A month's usage per department, route and backend, summed from the daily roll-up."""

    month = models.DateField()

    class Meta:
        ordering = ["month"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "month", "department", "route", "backend"], name="monthly_usage_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.route}/{self.backend}: {self.questions} questions"


class AllocationKind(models.TextChoices):
    GPU = "gpu", _("GPU deployment")
    APP_SERVERS = "app_servers", _("App servers")


class LocalCostAllocation(TenantOwnedModel):
    """A department's share of a month's fixed local cost; no department means nobody used it that month."""

    month = models.DateField()
    kind = models.CharField(max_length=20, choices=AllocationKind.choices)
    department = models.ForeignKey(Department, null=True, on_delete=models.CASCADE, related_name="+")
    source_name = models.CharField(max_length=100)
    basis = models.CharField(max_length=20)
    usage = models.DecimalField(max_digits=20, decimal_places=3, default=Decimal(0))
    amount_usd = models.DecimalField(max_digits=14, decimal_places=2)
    amount_ntd = models.DecimalField(max_digits=14, decimal_places=2)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["month", "kind"]
        indexes = [models.Index(fields=["tenant", "month"], name="allocation_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.kind}: {self.amount_usd} USD"


class RollupProgress(TenantOwnedModel):
    """The last complete day whose usage is in the daily roll-up; later days are read from the records."""

    daily_through = models.DateField(null=True)

    class Meta:
        verbose_name_plural = "roll-up progress"
        constraints = [models.UniqueConstraint(fields=["tenant"], name="rollup_progress_one_per_tenant")]

    def __str__(self) -> str:
        return f"rolled up through {self.daily_through}"
