"""Strategy comparison: the tenant's real traffic over a period priced as cloud only, local only and hybrid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from costing import model as cost_model
from costing.models import Price, UsageRecord
from costing.periods import Period
from costing.pricebook import exchange_rate_on, price_book
from costing.profiles import gpu_profiles
from costing.usage import UsageSums, start_of_day, usage_sums

DEFAULT_CLOUD_MODEL = "gpt-4o-mini"
STRATEGY_LABELS = {"cloud only": _("Cloud only"), "local only": _("Local only"), "hybrid": _("Hybrid")}


@dataclass(frozen=True)
class StrategyReport:
    """A comparison and what it was computed from."""

    period: Period
    multiplier: Decimal
    exchange_rate: cost_model.ExchangeRate
    price: Price | None
    prices: tuple[Price, ...]
    usage: cost_model.UsageSummary
    comparison: cost_model.StrategyComparison | None

    @property
    def has_model_traffic(self) -> bool:
        """Whether any question in the period was answered by a model (local or cloud)."""
        return self.usage.model.questions > 0

    @property
    def cheapest_label(self) -> str:
        """The cheapest strategy in the reader's language, with its GPU profile."""
        if self.comparison is None:
            return ""
        strategy, _separator, profile = self.comparison.cheapest.partition(": ")
        label = str(STRATEGY_LABELS.get(strategy, strategy))
        return f"{label}: {profile}" if profile else label

    @property
    def model_questions_per_month(self) -> int:
        """Model-answered questions a 30-day month at this period's rate, times the multiplier."""
        per_day = Decimal(self.usage.model.questions) * self.multiplier / self.period.days
        return int((per_day * 30).to_integral_value())


def usage_summary(*, period: Period) -> cost_model.UsageSummary:
    """A period's traffic by where it was answered: the self-hosted model, the cloud, or no model."""
    sums = usage_sums(period=period, by=("backend",))
    local = sums.get(("local",), UsageSums()).as_route_usage()
    cloud = sums.get(("cloud",), UsageSums()).as_route_usage()
    without_model = sum(value.questions for (backend,), value in sums.items() if backend not in ("local", "cloud"))
    return cost_model.UsageSummary(local=local, cloud=cloud, without_model_questions=without_model)


def default_cloud_price(*, period: Period, prices: list[Price]) -> Price | None:
    """The cloud price to compare with: the model last charged in the period, else the configured cloud model."""
    last_charged = (
        UsageRecord.objects.filter(
            backend="cloud",
            price__isnull=False,
            occurred_at__gte=start_of_day(period.first_day),
            occurred_at__lt=start_of_day(period.last_day + timedelta(days=1)),
        )
        .order_by("-occurred_at")
        .values_list("price__provider", "price__model")
        .first()
    )
    configured = getattr(settings, "LANTERN_CLOUD_MODEL", "") or DEFAULT_CLOUD_MODEL
    for wanted in (last_charged, configured):
        for price in prices:
            if wanted in ((price.provider, price.model), price.model):
                return price
    return prices[0] if prices else None


def compare_period(*, period: Period, multiplier: Decimal = Decimal(1), price_id: int | None = None) -> StrategyReport:
    """Price the current tenant's traffic in a period (times a multiplier) under every strategy."""
    if multiplier < 0:
        raise ValueError("the multiplier cannot be negative")
    prices = price_book(on=period.last_day)
    price = next((row for row in prices if row.pk == price_id), None) if price_id else None
    price = price or default_cloud_price(period=period, prices=prices)
    rate = exchange_rate_on(on=period.last_day)
    usage = usage_summary(period=period)
    comparison = None
    if price is not None:
        comparison = cost_model.compare_strategies(
            usage=usage,
            cloud_price=price.as_price(),
            profiles=[profile for _, profile in gpu_profiles(on=period.last_day)],
            period_days=period.days,
            exchange_rate=rate,
            multiplier=multiplier,
        )
    return StrategyReport(
        period=period,
        multiplier=multiplier,
        exchange_rate=rate,
        price=price,
        prices=tuple(prices),
        usage=usage,
        comparison=comparison,
    )


def default_period(*, until: date) -> Period:
    """The 30 days that end on a day."""
    return Period(date.fromordinal(until.toordinal() - 29), until)
