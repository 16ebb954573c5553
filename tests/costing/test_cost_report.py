"""`manage.py cost_report` prints the dashboard's numbers for a month, as text or JSON."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from costing.rollups import roll_up
from tenancy.context import tenant_context
from tests.costing.conftest import metered, taipei


@pytest.fixture
def march(acme_costing, dave, bob):
    for day in (3, 4, 5):
        metered(dave, at=taipei(2025, 3, day))
        metered(bob, at=taipei(2025, 3, day), backend="local")
    with tenant_context(acme_costing.pk):
        roll_up(tenant_id=acme_costing.pk, through=date(2025, 3, 31))


def test_the_text_report_shows_the_totals_and_every_table(march, capsys):
    with translation.override("en"):
        call_command("cost_report", "--tenant", "acme", "--month", "2025-03")

    out = capsys.readouterr().out
    assert "Lantern costs for acme, 2025-03 (complete; 32.0000 NTD per USD)" in out
    assert "Local (allocated): US$1,469.00  NT$47,008.00" in out
    assert "Cheapest: Cloud only (Cloud model: openai/gpt-4o-mini)" in out
    for title in ("Departments", "Routes", "Days", "Months", "Local costs", "Deployment per month", "Strategies"):
        assert f"\n{title}\n" in out


def test_the_json_report_has_the_same_numbers(march, capsys):
    call_command("cost_report", "--tenant", "acme", "--month", "2025-03", "--json")

    document = json.loads(capsys.readouterr().out)
    assert document["month"] == "2025-03"
    assert document["local"] == {"usd": "1469.00", "ntd": "47008.00"}
    assert document["metered"]["usd"] == "0.0045"
    assert document["questions"] == 6
    departments = {row["department"]: row for row in document["tables"]["departments"]}
    assert departments["IT"]["local_share_usd"] == "1469.00"
    assert departments["ENG"]["questions_cloud"] == 3
    deployment = {row["line"]: row for row in document["tables"]["deployment"]}
    assert deployment["total"] == {"line": "total", "usd": "1469", "ntd": "47008"}
    assert document["strategies"]["cloud_price"] == "openai/gpt-4o-mini"


def test_an_unknown_tenant_or_a_bad_month_is_a_clear_error(acme_costing):
    with pytest.raises(CommandError, match="No tenant 'initech'"):
        call_command("cost_report", "--tenant", "initech", "--month", "2025-03")
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("cost_report", "--tenant", "acme", "--month", "March")
