"""The cost model: cloud prices, GPU profiles, allocation, strategy comparison, budgets and forecasts.

Pure: no Django, no database, Decimal throughout (a float is refused wherever money or tokens go in).

Rounding rule. Every monthly line of a GPU profile (hardware, power, staff, other) is computed exactly,
then stated in whole currency units, ROUND_HALF_UP, in the currency it is incurred in: hardware, rental,
staff and other costs in the profile's currency, power in the electricity currency. The line's figure in
the other currency is that stated figure converted at the profile's exchange rate and again rounded to
whole units. Each total is the sum of the stated lines in its currency, so a breakdown always adds up as
printed. (The NTD total can therefore differ from the USD total times the rate by the rounding of the
converted lines; with the reference figures it does not.) Per-question cloud costs are exact and never
rounded; period figures in strategy comparisons and forecasts are in cents; allocations are in the
caller's quantum, cents by default.
"""

from __future__ import annotations

import calendar
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

USD = "USD"
NTD = "NTD"
CURRENCIES = (USD, NTD)
ROUTE_LOCAL = "local"
ROUTE_CLOUD = "cloud"

ONE_MILLION = Decimal(1_000_000)
WHOLE_UNIT = Decimal(1)
CENT = Decimal("0.01")
SECONDS_PER_HOUR = Decimal(3600)
WATTS_PER_KILOWATT = Decimal(1000)

Key = TypeVar("Key", bound=Hashable)


def as_decimal(value: Decimal | int | str) -> Decimal:
    """Return value as a Decimal; floats are refused because they cannot hold prices exactly."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"use Decimal, int or str for money and quantities, not {type(value).__name__}")
    return value if isinstance(value, Decimal) else Decimal(value)


def _state(amount: Decimal, quantum: Decimal) -> Decimal:
    """Round an amount to the quantum it is stated in, half up."""
    return amount.quantize(quantum, rounding=ROUND_HALF_UP)


def _check_currency(currency: str) -> None:
    if currency not in CURRENCIES:
        raise ValueError(f"unsupported currency {currency!r}; the model states money in {CURRENCIES}")


def _set_decimal(instance: object, *names: str) -> None:
    """Coerce the named fields of a frozen dataclass to Decimal."""
    for name in names:
        value = getattr(instance, name)
        if value is not None:
            object.__setattr__(instance, name, as_decimal(value))


# Money and exchange rates


@dataclass(frozen=True)
class Money:
    """One amount stated in both reporting currencies."""

    usd: Decimal
    ntd: Decimal

    def __add__(self, other: Money) -> Money:
        return Money(usd=self.usd + other.usd, ntd=self.ntd + other.ntd)


@dataclass(frozen=True)
class ExchangeRate:
    """New Taiwan dollars per US dollar, as published on a given day."""

    ntd_per_usd: Decimal
    on: date

    def __post_init__(self) -> None:
        _set_decimal(self, "ntd_per_usd")
        if self.ntd_per_usd <= 0:
            raise ValueError("an exchange rate must be positive")

    def convert(self, amount: Decimal, *, from_currency: str, to_currency: str) -> Decimal:
        """Convert an amount between USD and NTD, exactly (no rounding)."""
        _check_currency(from_currency)
        _check_currency(to_currency)
        if from_currency == to_currency:
            return amount
        if from_currency == USD:
            return amount * self.ntd_per_usd
        return amount / self.ntd_per_usd

    def state(self, amount: Decimal, currency: str, *, quantum: Decimal) -> Money:
        """State an amount in its own currency, then derive the other currency from the stated figure."""
        _check_currency(currency)
        stated = _state(amount, quantum)
        other_currency = NTD if currency == USD else USD
        converted = _state(self.convert(stated, from_currency=currency, to_currency=other_currency), quantum)
        return Money(usd=stated, ntd=converted) if currency == USD else Money(usd=converted, ntd=stated)


# Cloud prices


@dataclass(frozen=True)
class Price:
    """A list price per million tokens for one provider's model, in effect from a date."""

    provider: str
    model: str
    input_per_million: Decimal
    output_per_million: Decimal
    cached_input_per_million: Decimal | None = None
    currency: str = USD
    effective_from: date = date.min
    source: str = ""

    def __post_init__(self) -> None:
        _set_decimal(self, "input_per_million", "output_per_million", "cached_input_per_million")
        _check_currency(self.currency)
        amounts = (self.input_per_million, self.output_per_million, self.cached_input_per_million)
        if any(amount is not None and amount < 0 for amount in amounts):
            raise ValueError("a price cannot be negative")


class PriceNotFound(LookupError):
    """No price for that provider and model was in effect on that day."""


def cloud_cost(
    price: Price, tokens_in: int | Decimal, tokens_out: int | Decimal, cached_tokens_in: int | Decimal = 0
) -> Decimal:
    """Cost of one request (or a sum of requests) at a price, exact, in the price's currency.

    cached_tokens_in is the part of tokens_in served from the provider's prompt cache (as OpenAI
    reports it: prompt tokens include the cached ones); without a cached price it costs the input price.
    """
    tokens_in, tokens_out, cached_tokens_in = (as_decimal(count) for count in (tokens_in, tokens_out, cached_tokens_in))
    if min(tokens_in, tokens_out, cached_tokens_in) < 0:
        raise ValueError("token counts cannot be negative")
    if cached_tokens_in > tokens_in:
        raise ValueError("cached input tokens are part of the input tokens and cannot exceed them")
    cached_price = price.input_per_million if price.cached_input_per_million is None else price.cached_input_per_million
    fresh_tokens_in = tokens_in - cached_tokens_in
    total = (
        fresh_tokens_in * price.input_per_million
        + cached_tokens_in * cached_price
        + tokens_out * price.output_per_million
    )
    return total / ONE_MILLION


def price_in_effect(prices: Iterable[Price], *, provider: str, model: str, on: date) -> Price:
    """The price of a provider's model on a day: the latest one whose effective date is not after it.

    Adding a later price never changes what an earlier day resolves to, so history is never rewritten.
    """
    candidates = [
        price for price in prices if price.provider == provider and price.model == model and price.effective_from <= on
    ]
    if not candidates:
        raise PriceNotFound(f"no price for {provider}/{model} in effect on {on.isoformat()}")
    latest = max(price.effective_from for price in candidates)
    in_effect = [price for price in candidates if price.effective_from == latest]
    if len(in_effect) > 1:
        raise ValueError(f"{provider}/{model} has {len(in_effect)} prices effective from {latest.isoformat()}")
    return in_effect[0]


# GPU profiles and their monthly cost


@dataclass(frozen=True)
class Purchase:
    """GPU hardware bought outright and written off in equal monthly parts."""

    hardware_cost: Decimal
    amortization_months: int

    def __post_init__(self) -> None:
        _set_decimal(self, "hardware_cost")
        if self.hardware_cost < 0 or self.amortization_months <= 0:
            raise ValueError("a purchase needs a non-negative cost and at least one amortization month")


@dataclass(frozen=True)
class Rental:
    """A GPU rented by the hour, for the profile's hours per day."""

    hourly_rate: Decimal

    def __post_init__(self) -> None:
        _set_decimal(self, "hourly_rate")
        if self.hourly_rate < 0:
            raise ValueError("an hourly rate cannot be negative")


@dataclass(frozen=True)
class GpuProfile:
    """What one self-hosted GPU costs to own or rent and run, and how many tokens it serves.

    Hardware or rental, staff and other costs are in `currency`; electricity is priced per kWh in
    `electricity_currency`. Power draw is per GPU; for a cloud rental that includes power, use 0 W.
    Staff and other costs belong to the deployment and do not grow with the number of GPUs.
    """

    name: str
    acquisition: Purchase | Rental
    power_watts: Decimal
    electricity_price_per_kwh: Decimal
    exchange_rate: ExchangeRate
    throughput_tokens_per_second: Decimal
    hours_per_day: Decimal = Decimal(24)
    days_per_month: int = 30
    staff_fte: Decimal = Decimal(0)
    staff_monthly_cost_per_fte: Decimal = Decimal(0)
    other_monthly_cost: Decimal = Decimal(0)
    currency: str = USD
    electricity_currency: str = NTD

    def __post_init__(self) -> None:
        _set_decimal(
            self,
            "power_watts",
            "electricity_price_per_kwh",
            "throughput_tokens_per_second",
            "hours_per_day",
            "staff_fte",
            "staff_monthly_cost_per_fte",
            "other_monthly_cost",
        )
        _check_currency(self.currency)
        _check_currency(self.electricity_currency)
        if not 0 < self.hours_per_day <= 24:
            raise ValueError("hours per day must be more than 0 and at most 24")
        if self.days_per_month <= 0:
            raise ValueError("days per month must be positive")
        if self.throughput_tokens_per_second <= 0:
            raise ValueError("a GPU profile needs a positive throughput in tokens per second")
        amounts = (
            self.power_watts,
            self.electricity_price_per_kwh,
            self.staff_fte,
            self.staff_monthly_cost_per_fte,
            self.other_monthly_cost,
        )
        if any(amount < 0 for amount in amounts):
            raise ValueError("costs, power and staff cannot be negative")


@dataclass(frozen=True)
class CostBreakdown:
    """A GPU deployment's monthly cost, line by line, stated in whole USD and NTD."""

    profile_name: str
    gpus: int
    energy_kwh: Decimal
    hardware: Money
    power: Money
    staff: Money
    other: Money
    total: Money
    exchange_rate: ExchangeRate


def energy_per_month_kwh(profile: GpuProfile, *, gpus: int = 1) -> Decimal:
    """Electricity a deployment draws in a month: watts × hours per day × days per month, in kWh."""
    watts = profile.power_watts * gpus
    return watts * profile.hours_per_day * profile.days_per_month / WATTS_PER_KILOWATT


def _hardware_per_month(profile: GpuProfile, gpus: int) -> Decimal:
    acquisition = profile.acquisition
    if isinstance(acquisition, Purchase):
        return acquisition.hardware_cost * gpus / acquisition.amortization_months
    return acquisition.hourly_rate * profile.hours_per_day * profile.days_per_month * gpus


def monthly_cost(profile: GpuProfile, *, gpus: int = 1) -> CostBreakdown:
    """A deployment's monthly cost: hardware (amortized or rented), power, staff and other, with total."""
    if gpus < 1:
        raise ValueError("a deployment has at least one GPU")
    rate = profile.exchange_rate
    energy = energy_per_month_kwh(profile, gpus=gpus)
    hardware = rate.state(_hardware_per_month(profile, gpus), profile.currency, quantum=WHOLE_UNIT)
    power = rate.state(energy * profile.electricity_price_per_kwh, profile.electricity_currency, quantum=WHOLE_UNIT)
    staff = rate.state(profile.staff_fte * profile.staff_monthly_cost_per_fte, profile.currency, quantum=WHOLE_UNIT)
    other = rate.state(profile.other_monthly_cost, profile.currency, quantum=WHOLE_UNIT)
    return CostBreakdown(
        profile_name=profile.name,
        gpus=gpus,
        energy_kwh=energy,
        hardware=hardware,
        power=power,
        staff=staff,
        other=other,
        total=hardware + power + staff + other,
        exchange_rate=rate,
    )


def capacity_tokens_per_month(profile: GpuProfile, *, gpus: int = 1) -> Decimal:
    """Tokens (in plus out) the deployment can serve in a month at its throughput and running hours."""
    seconds_per_month = SECONDS_PER_HOUR * profile.hours_per_day * profile.days_per_month
    return profile.throughput_tokens_per_second * seconds_per_month * gpus


# Allocation


def _sorted_keys_or_insertion_order(keys: list[Key]) -> list[Key]:
    try:
        return sorted(keys)  # type: ignore[type-var]
    except TypeError:
        return keys


def allocate(
    total: Decimal, usage_by_key: Mapping[Key, Decimal | int], *, quantum: Decimal = CENT
) -> dict[Key, Decimal]:
    """Spread a total over keys in proportion to their usage, in whole quanta that add up to the total.

    Largest remainder: each key first gets the whole quanta of its exact share; the quanta left over go
    one each to the keys with the largest remainders, ties broken by larger usage, then by key order
    (sorted keys, or the mapping's order when keys cannot be sorted). Keys with zero usage get zero.
    When no key has any usage nothing is allocated: every key gets zero and the whole total is left for
    the caller to book as unallocated.
    """
    total, quantum = as_decimal(total), as_decimal(quantum)
    if quantum <= 0:
        raise ValueError("the quantum must be positive")
    if total < 0:
        raise ValueError("only a non-negative total can be allocated")
    units, leftover = divmod(total, quantum)
    if leftover != 0:
        raise ValueError(f"the total {total} is not a whole number of quanta of {quantum}")
    usage = {key: Fraction(as_decimal(amount)) for key, amount in usage_by_key.items()}
    if any(amount < 0 for amount in usage.values()):
        raise ValueError("usage cannot be negative")
    total_usage = sum(usage.values(), Fraction(0))
    if total_usage == 0:
        return {key: Decimal(0) * quantum for key in usage}

    whole_units: dict[Key, int] = {}
    remainders: dict[Key, Fraction] = {}
    for key, amount in usage.items():
        exact_share = int(units) * amount / total_usage
        whole_units[key] = exact_share.numerator // exact_share.denominator
        remainders[key] = exact_share - whole_units[key]
    units_left = int(units) - sum(whole_units.values())
    key_order = {key: position for position, key in enumerate(_sorted_keys_or_insertion_order(list(usage)))}
    by_claim = sorted(usage, key=lambda key: (-remainders[key], -usage[key], key_order[key]))
    for key in by_claim[:units_left]:
        whole_units[key] += 1
    return {key: whole_units[key] * quantum for key in usage}


# Strategy comparison


@dataclass(frozen=True)
class QuestionUsage:
    """What one answered question used: tokens, the route taken and GPU time on the local model."""

    tokens_in: int
    tokens_out: int
    route: str
    gpu_seconds: Decimal = Decimal(0)
    cached_tokens_in: int = 0

    def __post_init__(self) -> None:
        _set_decimal(self, "gpu_seconds")


@dataclass(frozen=True)
class RouteUsage:
    """Questions and tokens on one route over a period."""

    questions: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cached_tokens_in: int = 0
    gpu_seconds: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        _set_decimal(self, "gpu_seconds")

    def __add__(self, other: RouteUsage) -> RouteUsage:
        return RouteUsage(
            questions=self.questions + other.questions,
            tokens_in=self.tokens_in + other.tokens_in,
            tokens_out=self.tokens_out + other.tokens_out,
            cached_tokens_in=self.cached_tokens_in + other.cached_tokens_in,
            gpu_seconds=self.gpu_seconds + other.gpu_seconds,
        )

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.tokens_in + self.tokens_out


@dataclass(frozen=True)
class UsageSummary:
    """A period's traffic by route; questions answered without a model carry no model cost."""

    local: RouteUsage = field(default_factory=RouteUsage)
    cloud: RouteUsage = field(default_factory=RouteUsage)
    without_model_questions: int = 0

    @property
    def model(self) -> RouteUsage:
        """All traffic answered by a model, local or cloud."""
        return self.local + self.cloud


def summarize_usage(questions: Iterable[QuestionUsage]) -> UsageSummary:
    """Add up questions by route (local, cloud, or answered without a model)."""
    local, cloud, without_model = RouteUsage(), RouteUsage(), 0
    for question in questions:
        usage = RouteUsage(
            questions=1,
            tokens_in=question.tokens_in,
            tokens_out=question.tokens_out,
            cached_tokens_in=question.cached_tokens_in,
            gpu_seconds=question.gpu_seconds,
        )
        if question.route == ROUTE_LOCAL:
            local += usage
        elif question.route == ROUTE_CLOUD:
            cloud += usage
        else:
            without_model += 1
    return UsageSummary(local=local, cloud=cloud, without_model_questions=without_model)


@dataclass(frozen=True)
class LocalEstimate:
    """What a GPU profile costs to carry some traffic over a period, and how many GPUs that takes."""

    profile_name: str
    gpus_needed: int
    tokens_needed: Decimal
    capacity_tokens_per_gpu_per_month: Decimal
    utilization: Decimal
    cost: Money

    @property
    def needs_more_than_one_gpu(self) -> bool:
        """Whether the traffic exceeds what one GPU of this profile can serve."""
        return self.gpus_needed > 1


@dataclass(frozen=True)
class BreakEven:
    """The monthly volume from which a GPU profile costs no more than the cloud for the same traffic."""

    profile_name: str
    questions_per_month: int
    tokens_per_month: Decimal
    gpus: int
    monthly_cost: Money


@dataclass(frozen=True)
class ProfileComparison:
    """One GPU profile under the local-only and hybrid strategies, with its break-even volume."""

    profile_name: str
    local_only: LocalEstimate
    hybrid_cloud_part: Money
    hybrid_local_part: LocalEstimate
    hybrid: Money
    break_even: BreakEven | None


@dataclass(frozen=True)
class StrategyComparison:
    """A period's traffic priced as cloud only, local only and hybrid, per GPU profile."""

    period_days: int
    multiplier: Decimal
    usage: UsageSummary
    cloud_price: Price
    cloud_only: Money
    profiles: tuple[ProfileComparison, ...]
    cheapest: str


def _cloud_money(amount: Decimal, price: Price, rate: ExchangeRate) -> Money:
    return rate.state(amount, price.currency, quantum=CENT)


def _prorate(monthly: Money, *, period_days: int, days_per_month: int) -> Money:
    fraction = Decimal(period_days) / Decimal(days_per_month)
    return Money(usd=_state(monthly.usd * fraction, CENT), ntd=_state(monthly.ntd * fraction, CENT))


def _gpus_for(tokens: Decimal, capacity_per_gpu: Decimal) -> int:
    if tokens <= 0:
        return 1
    return max(1, int((tokens / capacity_per_gpu).to_integral_value(rounding=ROUND_CEILING)))


def estimate_local(profile: GpuProfile, *, tokens: Decimal | int, period_days: int) -> LocalEstimate:
    """Cost of serving a number of tokens over a period on a profile, with enough GPUs for them."""
    tokens = as_decimal(tokens)
    monthly_capacity = capacity_tokens_per_month(profile)
    period_capacity = monthly_capacity * period_days / profile.days_per_month
    gpus = _gpus_for(tokens, period_capacity)
    cost = _prorate(
        monthly_cost(profile, gpus=gpus).total, period_days=period_days, days_per_month=profile.days_per_month
    )
    utilization = (tokens / (period_capacity * gpus)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return LocalEstimate(
        profile_name=profile.name,
        gpus_needed=gpus,
        tokens_needed=tokens,
        capacity_tokens_per_gpu_per_month=monthly_capacity,
        utilization=utilization,
        cost=cost,
    )


def cloud_cost_at_volume(price: Price, *, questions: Decimal | int, mix: RouteUsage) -> Decimal:
    """Cloud cost of a number of questions at the average tokens per question of `mix`, exact."""
    if mix.questions == 0:
        raise ValueError("the token mix needs at least one question")
    cost = cloud_cost(price, mix.tokens_in, mix.tokens_out, mix.cached_tokens_in)
    return cost * as_decimal(questions) / mix.questions


def local_cost_at_volume(profile: GpuProfile, *, questions: Decimal | int, mix: RouteUsage) -> Money:
    """Monthly cost of a profile with enough GPUs for a number of questions with the mix's tokens each."""
    if mix.questions == 0:
        raise ValueError("the token mix needs at least one question")
    tokens = as_decimal(questions) * mix.tokens / mix.questions
    return monthly_cost(profile, gpus=_gpus_for(tokens, capacity_tokens_per_month(profile))).total


def break_even(profile: GpuProfile, price: Price, *, mix: RouteUsage) -> BreakEven | None:
    """The lowest monthly question volume at which the profile costs no more than the cloud, or None.

    Questions have the average tokens of `mix`; costs are compared in the price's currency. The local
    curve steps up with each GPU the volume needs, so just past a GPU boundary the cloud can briefly be
    cheaper again. None means self-hosting never wins: the mix costs nothing on the cloud, or one more
    GPU costs at least what the cloud charges for the questions that GPU can serve.
    """
    if mix.questions == 0 or mix.tokens == 0:
        return None
    cloud_per_question = cloud_cost_at_volume(price, questions=1, mix=mix)
    if cloud_per_question <= 0:
        return None
    tokens_per_question = Decimal(mix.tokens) / mix.questions
    questions_per_gpu = capacity_tokens_per_month(profile) / tokens_per_question

    def local_total(gpus: int) -> Decimal:
        total = monthly_cost(profile, gpus=gpus).total
        return total.usd if price.currency == USD else total.ntd

    # local(k) ≈ fixed + k × per_gpu and the cloud charges k × cloud_per_gpu for k full GPUs, so the
    # first k with local(k) <= cloud is about fixed / (cloud_per_gpu - per_gpu); the stated (rounded)
    # totals are then checked around that estimate.
    per_gpu = local_total(2) - local_total(1)
    fixed = local_total(1) - per_gpu
    cloud_per_gpu = cloud_per_question * questions_per_gpu
    estimate = 1
    if cloud_per_gpu > per_gpu:
        ratio = max(fixed, Decimal(0)) / (cloud_per_gpu - per_gpu)
        estimate = max(1, int(ratio.to_integral_value(rounding=ROUND_CEILING)))
    for gpus in range(max(1, estimate - 1), estimate + 3):
        volume = local_total(gpus) / cloud_per_question
        if volume <= questions_per_gpu * gpus:
            questions = int(volume.to_integral_value(rounding=ROUND_CEILING))
            return BreakEven(
                profile_name=profile.name,
                questions_per_month=questions,
                tokens_per_month=questions * tokens_per_question,
                gpus=gpus,
                monthly_cost=monthly_cost(profile, gpus=gpus).total,
            )
    return None


def compare_strategies(
    *,
    usage: UsageSummary,
    cloud_price: Price,
    profiles: Sequence[GpuProfile],
    period_days: int,
    exchange_rate: ExchangeRate,
    multiplier: Decimal | int = 1,
) -> StrategyComparison:
    """Price a period's model traffic (times a what-if multiplier) as cloud only, local only and hybrid.

    Cloud only sends every model-answered question to `cloud_price`; local only serves all of them on
    each profile; hybrid keeps the actual split, cloud-routed questions at `cloud_price` plus the
    profile's cost for the local part. Profiles are prorated to the period and given as many GPUs as the
    tokens need (at least one). Questions answered without a model cost nothing in every strategy.
    """
    multiplier = as_decimal(multiplier)
    if period_days <= 0:
        raise ValueError("a period has at least one day")
    if multiplier < 0:
        raise ValueError("the multiplier cannot be negative")
    model = usage.model
    cloud_only_exact = cloud_cost(cloud_price, model.tokens_in, model.tokens_out, model.cached_tokens_in) * multiplier
    cloud_only = _cloud_money(cloud_only_exact, cloud_price, exchange_rate)
    hybrid_cloud_exact = (
        cloud_cost(cloud_price, usage.cloud.tokens_in, usage.cloud.tokens_out, usage.cloud.cached_tokens_in)
        * multiplier
    )
    hybrid_cloud_part = _cloud_money(hybrid_cloud_exact, cloud_price, exchange_rate)

    comparisons = []
    for profile in profiles:
        local_only = estimate_local(profile, tokens=model.tokens * multiplier, period_days=period_days)
        hybrid_local = estimate_local(profile, tokens=usage.local.tokens * multiplier, period_days=period_days)
        comparisons.append(
            ProfileComparison(
                profile_name=profile.name,
                local_only=local_only,
                hybrid_cloud_part=hybrid_cloud_part,
                hybrid_local_part=hybrid_local,
                hybrid=hybrid_cloud_part + hybrid_local.cost,
                break_even=break_even(profile, cloud_price, mix=model),
            )
        )

    options = [("cloud only", cloud_only.usd)]
    for comparison in comparisons:
        options.append((f"local only: {comparison.profile_name}", comparison.local_only.cost.usd))
        options.append((f"hybrid: {comparison.profile_name}", comparison.hybrid.usd))
    cheapest = min(options, key=lambda option: option[1])[0]
    return StrategyComparison(
        period_days=period_days,
        multiplier=multiplier,
        usage=usage,
        cloud_price=cloud_price,
        cloud_only=cloud_only,
        profiles=tuple(comparisons),
        cheapest=cheapest,
    )


# Budgets


class BudgetLevel(StrEnum):
    OK = "ok"
    SOFT_EXCEEDED = "soft_exceeded"
    HARD_EXCEEDED = "hard_exceeded"


@dataclass(frozen=True)
class BudgetState:
    """Where spending stands against a soft (alert) and a hard (stop) limit; None means no limit."""

    level: BudgetLevel
    spent: Decimal
    soft_limit: Decimal | None
    hard_limit: Decimal | None

    @property
    def hard_limit_reached(self) -> bool:
        """Whether paid (cloud) answers must stop until the budget resets."""
        return self.level == BudgetLevel.HARD_EXCEEDED

    @property
    def remaining(self) -> Decimal | None:
        """What is left before the hard limit, never below zero; None without a hard limit."""
        return None if self.hard_limit is None else max(Decimal(0), self.hard_limit - self.spent)


def _check_limits(soft_limit: Decimal | None, hard_limit: Decimal | None) -> None:
    if soft_limit is not None and hard_limit is not None and soft_limit > hard_limit:
        raise ValueError("the soft limit cannot be above the hard limit")


def budget_state(
    spent: Decimal | int, soft_limit: Decimal | int | None, hard_limit: Decimal | int | None
) -> BudgetState:
    """Classify spending: a limit counts as exceeded once spending reaches it."""
    spent = as_decimal(spent)
    soft = None if soft_limit is None else as_decimal(soft_limit)
    hard = None if hard_limit is None else as_decimal(hard_limit)
    _check_limits(soft, hard)
    if hard is not None and spent >= hard:
        level = BudgetLevel.HARD_EXCEEDED
    elif soft is not None and spent >= soft:
        level = BudgetLevel.SOFT_EXCEEDED
    else:
        level = BudgetLevel.OK
    return BudgetState(level=level, spent=spent, soft_limit=soft, hard_limit=hard)


def thresholds_crossed(
    *,
    before: Decimal | int,
    after: Decimal | int,
    soft_limit: Decimal | int | None,
    hard_limit: Decimal | int | None,
) -> tuple[BudgetLevel, ...]:
    """The limits reached by going from `before` to `after`, soft first, so each alert is sent once."""
    before, after = as_decimal(before), as_decimal(after)
    limits = (
        (BudgetLevel.SOFT_EXCEEDED, None if soft_limit is None else as_decimal(soft_limit)),
        (BudgetLevel.HARD_EXCEEDED, None if hard_limit is None else as_decimal(hard_limit)),
    )
    _check_limits(limits[0][1], limits[1][1])
    return tuple(level for level, limit in limits if limit is not None and before < limit <= after)


# Forecast


class ForecastMethod(StrEnum):
    MONTH_AVERAGE = "month_average"
    TRAILING_7_DAYS = "trailing_7_days"


@dataclass(frozen=True)
class Forecast:
    """Month-end spending projected from the days so far."""

    method: ForecastMethod
    days_elapsed: int
    days_in_month: int
    spent_to_date: Decimal
    daily_rate: Decimal
    projected_total: Decimal


def month_length(day: date) -> int:
    """Number of days in the month of a day."""
    return calendar.monthrange(day.year, day.month)[1]


def forecast_month_end(
    daily_costs: Sequence[Decimal | int],
    *,
    days_in_month: int,
    method: ForecastMethod = ForecastMethod.MONTH_AVERAGE,
) -> Forecast:
    """Project month-end spending: spent so far plus a daily rate times the days left, in cents.

    `daily_costs` are the costs of the completed days of the month, first day first. The daily rate is
    the average of those days (MONTH_AVERAGE, which equals average × days in month) or of the last seven
    of them (TRAILING_7_DAYS, quicker to follow a change in traffic).
    """
    costs = [as_decimal(cost) for cost in daily_costs]
    if len(costs) > days_in_month:
        raise ValueError("more daily costs than days in the month")
    spent = sum(costs, Decimal(0))
    window = costs if method == ForecastMethod.MONTH_AVERAGE else costs[-7:]
    daily_rate = sum(window, Decimal(0)) / len(window) if window else Decimal(0)
    projected = spent + daily_rate * (days_in_month - len(costs))
    return Forecast(
        method=method,
        days_elapsed=len(costs),
        days_in_month=days_in_month,
        spent_to_date=spent,
        daily_rate=daily_rate,
        projected_total=_state(projected, CENT),
    )
