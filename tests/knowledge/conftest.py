"""People and files for the curator's stories: dora curates acme's HR FAQ; bob and carol only read."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.test import Client

from tenancy.provisioning import add_member

HEADER = ["external_id", "question", "answer", "alternatives", "category", "tags", "language", "status"]


@pytest.fixture
def dora(acme):
    return add_member(
        tenant=acme, username="dora", role="curator", department_code="HR", full_name="陳朵拉", password="pw-dora-1"
    )


@pytest.fixture
def client() -> Client:
    """A browser that asks for English pages, so the stories read the same whatever catalogs are installed."""
    return Client(headers={"Accept-Language": "en"})


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run what a view queues after commit (Celery runs eagerly in tests): `with run_on_commit(): ...`."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


def make_csv(rows: list[list[str]]) -> bytes:
    output = io.StringIO(newline="")
    csv.writer(output).writerows(rows)
    return output.getvalue().encode("utf-8")


def make_xlsx(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


HR_ROWS = [
    HEADER,
    [
        "HR-LEAVE-1",
        "特休假有幾天？",
        "依勞基法第38條，年資滿一年有7天特休。",
        "年假有幾天\n特休怎麼算",
        "請假",
        "特休, 年假",
        "zh-hant",
        "published",
    ],
    [
        "HR-PAY-1",
        "When is payday?",
        "Salaries are paid on the 5th of each month.",
        "salary date",
        "Payroll",
        "",
        "en",
        "draft",
    ],
    ["HR-SICK-1", "病假要附證明嗎？", "超過三天的病假需附醫師證明。", "", "請假", "", "zh-hant", "published"],
]


@pytest.fixture
def hr_rows() -> list[list[str]]:
    """acme's HR FAQ as HR keeps it: a header and three entries, two of them published."""
    return [list(row) for row in HR_ROWS]


@pytest.fixture
def hr_csv(hr_rows) -> bytes:
    return make_csv(hr_rows)


@pytest.fixture
def spreadsheet():
    """Builders of CSV and .xlsx files from rows: `spreadsheet.csv(rows)`, `spreadsheet.xlsx(rows)`."""

    class Spreadsheet:
        header = HEADER
        csv = staticmethod(make_csv)
        xlsx = staticmethod(make_xlsx)

    return Spreadsheet
