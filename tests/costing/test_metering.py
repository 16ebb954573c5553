"""Each question leaves one usage record, charged at the price in effect on the day it was asked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from costing.metering import EXTRACTIVE_COST_BASIS, LOCAL_COST_BASIS
from costing.models import CostKind, DailyUsage, Price, UsageRecord
from costing.pricebook import PriceInUse, save_price
from costing.rollups import roll_up
from tenancy.context import tenant_context
from tests.costing.conftest import metered, taipei


def record(metered_question) -> UsageRecord:
    return UsageRecord.unscoped.get(pk=metered_question.usage_record_id)


def test_a_cloud_answer_is_charged_at_the_list_price_exactly(dave):
    question = metered(dave, at=taipei(2025, 3, 10), tokens_in=4_000, tokens_out=1_500)

    with tenant_context(dave.tenant_id):
        usage = record(question)
        assert usage.cost == Decimal("0.0015")  # 4,000 × $0.15 + 1,500 × $0.60 per million
        assert usage.cost_kind == CostKind.METERED
        assert usage.price.model == "gpt-4o-mini"
        assert "0.150000 in" in usage.cost_basis and "0.600000 out" in usage.cost_basis
        assert usage.department.code == "ENG"
    assert question.cost == Decimal("0.0015")
    assert question.latency_ms == 850


def test_cached_input_tokens_are_charged_at_the_cached_price(dave):
    question = metered(dave, at=taipei(2025, 3, 10), tokens_in=4_000, cached_tokens_in=3_000, tokens_out=1_500)

    assert question.cost == Decimal("0.001275")  # 1,000 × 0.15 + 3,000 × 0.075 + 1,500 × 0.60 per million


def test_a_fraction_of_a_micro_dollar_is_kept_exactly(dave):
    question = metered(dave, at=taipei(2025, 3, 10), tokens_in=1, cached_tokens_in=1, tokens_out=0)

    with tenant_context(dave.tenant_id):
        assert record(question).cost == Decimal("0.000000075")


def test_a_dated_snapshot_name_is_priced_as_its_listed_model_not_a_shorter_one(dave):
    question = metered(dave, at=taipei(2025, 3, 10), model="gpt-4o-mini-2024-07-18")

    with tenant_context(dave.tenant_id):
        assert record(question).price.model == "gpt-4o-mini"
    assert question.cost == Decimal("0.0015")


def test_a_provider_prefixed_name_is_priced_with_that_provider(dave):
    question = metered(dave, at=taipei(2025, 3, 10), model="openai/gpt-4o", tokens_in=1_000_000, tokens_out=0)

    assert question.cost == Decimal("2.50")


def test_a_cloud_model_missing_from_the_price_book_is_marked_unpriced_not_free(dave):
    question = metered(dave, at=taipei(2025, 3, 10), model="mystery-model-9")

    with tenant_context(dave.tenant_id):
        usage = record(question)
        roll_up(tenant_id=dave.tenant_id, through=date(2025, 3, 10))
        daily = DailyUsage.objects.get()
    assert usage.cost_kind == CostKind.UNPRICED
    assert "mystery-model-9" in usage.cost_basis
    assert usage.price is None
    assert daily.unpriced_questions == 1


def test_local_and_extractive_answers_state_that_they_carry_an_allocated_share(bob):
    local = metered(bob, at=taipei(2025, 3, 10), backend="local", latency_ms=1_250.0)
    extractive = metered(bob, at=taipei(2025, 3, 10), backend="extractive")
    refused = metered(bob, at=taipei(2025, 3, 10), backend="none", tokens_in=0, tokens_out=0)

    with tenant_context(bob.tenant_id):
        local_record = record(local)
        assert local_record.cost == 0
        assert local_record.cost_basis == LOCAL_COST_BASIS
        assert local_record.gpu_seconds == Decimal("1.250")
        assert record(extractive).cost_basis == EXTRACTIVE_COST_BASIS
        assert record(refused).cost_kind == CostKind.NO_COST
    assert (local.cost_kind, extractive.cost_kind) == (CostKind.LOCAL_SHARE, CostKind.APP_SERVER_SHARE)


def test_estimated_token_counts_stay_marked_as_estimated_through_the_roll_up(dave):
    metered(dave, at=taipei(2025, 3, 10), tokens_estimated=True)
    metered(dave, at=taipei(2025, 3, 10))

    with tenant_context(dave.tenant_id):
        assert UsageRecord.objects.filter(tokens_estimated=True).count() == 1
        roll_up(tenant_id=dave.tenant_id, through=date(2025, 3, 10))
        assert DailyUsage.objects.get().estimated_questions == 1


def test_a_new_price_applies_from_its_date_and_never_rewrites_earlier_questions(dave, fiona):
    before = metered(dave, at=taipei(2025, 3, 10))
    with tenant_context(dave.tenant_id):
        save_price(
            tenant_id=dave.tenant_id,
            fields={
                "provider": "openai",
                "model": "gpt-4o-mini",
                "input_per_million": Decimal("0.30"),
                "output_per_million": Decimal("1.20"),
                "currency": "USD",
                "effective_from": date(2025, 3, 15),
            },
        )
    on_the_eve = metered(dave, at=taipei(2025, 3, 14, hour=23))
    after = metered(dave, at=taipei(2025, 3, 20))

    with tenant_context(dave.tenant_id):
        assert record(before).cost == Decimal("0.0015")
        assert record(on_the_eve).cost == Decimal("0.0015")
        assert record(after).cost == Decimal("0.0030")
        assert record(before).price_id != record(after).price_id


def test_a_price_questions_were_charged_at_cannot_be_changed(dave):
    question = metered(dave, at=taipei(2025, 3, 10))

    with tenant_context(dave.tenant_id), pytest.raises(PriceInUse):
        save_price(tenant_id=dave.tenant_id, fields={"input_per_million": Decimal("9.99")}, price_id=question.price_id)
    with tenant_context(dave.tenant_id):
        assert Price.objects.get(pk=question.price_id).input_per_million == Decimal("0.15")


def test_an_ntd_price_is_converted_to_usd_at_the_rate_of_the_day(dave):
    with tenant_context(dave.tenant_id):
        save_price(
            tenant_id=dave.tenant_id,
            fields={
                "provider": "local-telecom",
                "model": "tw-llm",
                "input_per_million": Decimal(32),
                "output_per_million": Decimal(64),
                "currency": "NTD",
                "effective_from": date(2025, 1, 1),
            },
        )
    question = metered(dave, at=taipei(2025, 3, 10), model="tw-llm", tokens_in=1_000_000, tokens_out=1_000_000)

    assert question.cost == Decimal(3)  # NT$96 at 32 NTD per USD


def test_a_model_is_never_priced_as_another_model_that_shares_its_prefix(dave):
    with tenant_context(dave.tenant_id):
        Price.objects.filter(model="gpt-4o-mini").delete()

    question = metered(dave, at=taipei(2025, 3, 10), model="gpt-4o-mini")

    assert question.cost_kind == CostKind.UNPRICED


def test_an_anthropic_dated_snapshot_is_priced_as_its_model(dave):
    question = metered(
        dave, at=taipei(2025, 12, 1), model="claude-sonnet-4-5-20250929", tokens_in=1_000_000, tokens_out=0
    )

    assert question.cost == Decimal(3)
