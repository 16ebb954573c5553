"""The finance pages: only finance people and tenant admins see them, and each sees only their own tenant."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from costing.models import Budget, CostingSettings, ExchangeRate, GpuProfile, Price
from costing.periods import first_of_month, today
from tenancy.context import tenant_context
from tenancy.models import Department
from tests.costing.conftest import metered, taipei

PAGES = [
    ("costing:dashboard", ()),
    ("costing:strategies", ()),
    ("costing:prices", ()),
    ("costing:profiles", ()),
    ("costing:budgets", ()),
    ("costing:settings", ()),
    ("costing:export_month_table", ("departments",)),
    ("costing:export_strategy_table", ("strategies",)),
]


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.fixture
def acme_usage(dave, bob):
    """A March of acme questions: cloud from ENG, local from IT."""
    for day in (3, 4, 5):
        metered(dave, at=taipei(2025, 3, day))
        metered(bob, at=taipei(2025, 3, day), backend="local")


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_a_visitor_is_sent_to_log_in(client, acme_costing, name, args):
    response = client.get(reverse(name, args=args))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_an_employee_is_forbidden(client, bob, name, args):
    client.force_login(bob.user)

    assert client.get(reverse(name, args=args)).status_code == 403


@pytest.mark.parametrize(("name", "args"), PAGES)
@pytest.mark.parametrize("who", ["fiona", "alice"])
def test_finance_and_tenant_admins_open_every_page(client, request, acme_costing, name, args, who):
    member = request.getfixturevalue(who)
    client.force_login(member.user)

    assert client.get(reverse(name, args=args)).status_code == 200


def test_the_dashboard_shows_a_past_month_per_department_with_the_reference_local_cost(client, fiona, acme_usage):
    client.force_login(fiona.user)

    response = client.get(reverse("costing:dashboard"), {"month": "2025-03"})

    report = response.context["report"]
    by_code = {line.code: line for line in report.departments}
    assert by_code["ENG"].metered.usd == Decimal("0.0045")
    assert by_code["IT"].local_share.usd == Decimal("1469.00")
    assert report.local.ntd == Decimal("47008.00")
    page = response.content.decode()
    assert "US$1,469.00" in page
    assert "NT$47,008.00" in page
    assert "vendor/chartjs/chart.umd.min.js" in page
    assert 'id="costing-series"' in page


def test_this_months_dashboard_has_a_forecast_to_month_end(client, fiona, dave):
    yesterday_or_today = today() if today().day == 1 else today().replace(day=today().day - 1)
    metered(dave, at=taipei(yesterday_or_today.year, yesterday_or_today.month, yesterday_or_today.day))
    client.force_login(fiona.user)

    report = client.get(reverse("costing:dashboard")).context["report"]

    assert report.month == first_of_month(today())
    assert report.in_progress
    assert report.forecast_total is not None
    assert report.forecast_total.usd >= report.total.usd.quantize(Decimal("0.01")) - Decimal("0.01")


def test_every_dashboard_table_exports_as_csv(client, fiona, acme_usage):
    client.force_login(fiona.user)
    tables = client.get(reverse("costing:dashboard"), {"month": "2025-03"}).context["tables"]

    for table in tables:
        response = client.get(reverse("costing:export_month_table", args=[table.slug]), {"month": "2025-03"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert f"lantern-{table.slug}-2025-03.csv" in response["Content-Disposition"]
    departments = csv_rows(
        client.get(reverse("costing:export_month_table", args=["departments"]), {"month": "2025-03"})
    )
    assert {row["Department"]: row["Metered USD"] for row in departments}["ENG"] == "0.0045"


def test_an_unknown_table_is_not_found(client, fiona):
    client.force_login(fiona.user)

    assert client.get(reverse("costing:export_month_table", args=["salaries"])).status_code == 404


def test_the_strategy_page_compares_the_period_with_a_multiplier(client, fiona, acme_usage):
    client.force_login(fiona.user)

    response = client.get(
        reverse("costing:strategies"), {"start": "2025-03-01", "end": "2025-03-30", "multiplier": "10"}
    )

    report = response.context["report"]
    assert report.period.days == 30
    assert report.multiplier == Decimal(10)
    assert report.comparison.cloud_only.usd == Decimal("0.09")  # 6 questions × $0.0015 × 10
    assert report.comparison.profiles[0].local_only.cost.usd == Decimal("1469.00")
    page = response.content.decode()
    assert "NT$" in page and "US$" in page
    exported = client.get(
        reverse("costing:export_strategy_table", args=["strategies"]),
        {"start": "2025-03-01", "end": "2025-03-30", "multiplier": "10"},
    )
    assert csv_rows(exported)[0]["USD"] == "0.09"


def test_a_backwards_period_is_refused_with_a_message(client, fiona):
    client.force_login(fiona.user)

    response = client.get(
        reverse("costing:strategies"), {"start": "2025-03-10", "end": "2025-03-01", "multiplier": "1"}
    )

    assert response.status_code == 200
    assert "The period ends before it starts." in response.content.decode()


def test_finance_adds_a_dated_price(client, fiona):
    client.force_login(fiona.user)

    response = client.post(
        reverse("costing:prices"),
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "input_per_million": "0.20",
            "output_per_million": "0.80",
            "currency": "USD",
            "effective_from": "2027-01-01",
        },
    )

    assert response.status_code == 302
    with tenant_context(fiona.tenant_id):
        assert Price.objects.filter(model="gpt-4o-mini", effective_from=date(2027, 1, 1)).exists()


def test_a_price_already_charged_cannot_be_edited(client, fiona, acme_usage):
    client.force_login(fiona.user)
    with tenant_context(fiona.tenant_id):
        price = Price.objects.get(model="gpt-4o-mini")

    response = client.post(
        reverse("costing:edit_price", args=[price.pk]),
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "input_per_million": "9",
            "output_per_million": "9",
            "currency": "USD",
            "effective_from": "2024-07-18",
        },
    )

    assert response.status_code == 400
    assert response.context["used"]
    with tenant_context(fiona.tenant_id):
        assert Price.objects.get(pk=price.pk).input_per_million == Decimal("0.15")


def test_finance_edits_a_gpu_profile(client, fiona):
    client.force_login(fiona.user)
    with tenant_context(fiona.tenant_id):
        profile = GpuProfile.objects.get()
    data = {
        "name": profile.name,
        "acquisition": "purchase",
        "gpus": 1,
        "hardware_cost": "12000",
        "amortization_months": 36,
        "hourly_rate": "0",
        "hours_per_day": "24",
        "days_per_month": 30,
        "power_watts": "600",
        "electricity_price_per_kwh": "4.0",
        "electricity_currency": "NTD",
        "staff_fte": "0.2",
        "staff_monthly_cost_per_fte": "5500",
        "other_monthly_cost": "0",
        "currency": "USD",
        "throughput_tokens_per_second": "1000",
        "allocation_basis": "tokens",
        "notes": "",
    }

    assert client.post(reverse("costing:edit_profile", args=[profile.pk]), data).status_code == 302

    page = client.get(reverse("costing:profiles")).content.decode()
    assert "1,728.00" in page  # NT$1,152 + NT$576 for the extra 200 W


def test_finance_sets_and_removes_a_budget(client, fiona):
    client.force_login(fiona.user)
    department = fiona.department
    prefix = f"department-{department.pk}"

    client.post(
        reverse("costing:set_budget", args=[department.pk]),
        {f"{prefix}-soft_limit": "100", f"{prefix}-hard_limit": "200", f"{prefix}-currency": "USD"},
    )
    with tenant_context(fiona.tenant_id):
        assert Budget.objects.get().hard_limit == Decimal(200)
    client.post(
        reverse("costing:set_budget", args=[department.pk]),
        {f"{prefix}-soft_limit": "", f"{prefix}-hard_limit": "", f"{prefix}-currency": "USD"},
    )
    with tenant_context(fiona.tenant_id):
        assert not Budget.objects.exists()


def test_a_soft_limit_above_the_hard_limit_is_refused(client, fiona):
    client.force_login(fiona.user)
    department = fiona.department
    prefix = f"department-{department.pk}"

    response = client.post(
        reverse("costing:set_budget", args=[department.pk]),
        {f"{prefix}-soft_limit": "300", f"{prefix}-hard_limit": "200", f"{prefix}-currency": "USD"},
        follow=True,
    )

    assert "The soft limit cannot be above the hard limit." in response.content.decode()
    with tenant_context(fiona.tenant_id):
        assert not Budget.objects.exists()


def test_finance_sets_the_alert_webhook_and_an_exchange_rate(client, fiona):
    client.force_login(fiona.user)

    client.post(
        reverse("costing:settings"),
        {
            "form": "settings",
            "app_server_monthly_cost": "50",
            "app_server_currency": "USD",
            "alert_emails": "cfo@acme.example",
            "alert_webhook_url": "https://hooks.acme.example/budget",
        },
    )
    client.post(reverse("costing:settings"), {"form": "rate", "ntd_per_usd": "31.5", "effective_on": "2027-01-01"})

    with tenant_context(fiona.tenant_id):
        settings_row = CostingSettings.objects.get()
        assert settings_row.alert_webhook_url == "https://hooks.acme.example/budget"
        assert settings_row.alert_email_list == ["cfo@acme.example"]
        assert ExchangeRate.objects.filter(ntd_per_usd=Decimal("31.5")).exists()


# Tenant isolation: gina is globex's finance officer.


def test_another_tenants_finance_sees_none_of_acmes_costs(client, gina, acme_usage):
    client.force_login(gina.user)

    response = client.get(reverse("costing:dashboard"), {"month": "2025-03"})

    report = response.context["report"]
    assert {line.code for line in report.departments} == {"FIN"}
    assert report.questions == 0
    assert report.metered.usd == 0
    exported = csv_rows(client.get(reverse("costing:export_month_table", args=["departments"]), {"month": "2025-03"}))
    assert {row["Department"] for row in exported} <= {"FIN", "—"}
    strategies = client.get(
        reverse("costing:strategies"), {"start": "2025-03-01", "end": "2025-03-31", "multiplier": 1}
    )
    assert strategies.context["report"].usage.model.questions == 0


def test_another_tenants_ids_are_not_found(client, gina, fiona):
    with tenant_context(fiona.tenant_id):
        price = Price.objects.first()
        profile = GpuProfile.objects.get()
        department = Department.objects.get(code="FIN")
    client.force_login(gina.user)

    assert client.get(reverse("costing:edit_price", args=[price.pk])).status_code == 404
    assert client.post(reverse("costing:edit_price", args=[price.pk]), {}).status_code == 404
    assert client.get(reverse("costing:edit_profile", args=[profile.pk])).status_code == 404
    response = client.post(
        reverse("costing:set_budget", args=[department.pk]),
        {f"department-{department.pk}-hard_limit": "1", f"department-{department.pk}-currency": "USD"},
    )
    assert response.status_code == 404
    with tenant_context(fiona.tenant_id):
        assert not Budget.objects.exists()


def test_another_tenants_price_book_and_profiles_are_not_listed(client, gina, fiona):
    with tenant_context(fiona.tenant_id):
        GpuProfile.objects.update(name="Acme secret cluster")
    client.force_login(gina.user)

    assert "Acme secret cluster" not in client.get(reverse("costing:profiles")).content.decode()
    with tenant_context(gina.tenant_id):
        own = Price.objects.count()
    assert len(client.get(reverse("costing:prices")).context["prices"]) == own
