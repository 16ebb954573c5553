"""`manage.py import_faqs` and `export_faqs`: the same import as the curator's page, from a terminal."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from knowledge.models import FaqEntry, ImportJob


def run(*args: str) -> str:
    output = io.StringIO()
    call_command("import_faqs", *args, stdout=output)
    return output.getvalue()


def test_dry_run_prints_each_row_and_imports_nothing(acme, hr_csv, tmp_path, in_tenant):
    file = tmp_path / "hr.csv"
    file.write_bytes(hr_csv)

    output = run("--tenant", "acme", "--dry-run", str(file))

    assert "row 2: created [HR-LEAVE-1] 特休假有幾天？" in output
    assert "row 4: created [HR-SICK-1]" in output
    assert "hr.csv: 3 to create, 0 to update, 0 unchanged, 0 rejected." in output
    with in_tenant(acme):
        assert FaqEntry.objects.count() == 0


def test_import_then_import_again_reports_every_row_unchanged(acme, alice, hr_csv, tmp_path, in_tenant):
    file = tmp_path / "hr.csv"
    file.write_bytes(hr_csv)

    first = run("--tenant", "acme", "--department", "HR", str(file))
    second = run("--tenant", "acme", str(file))

    assert "3 created" in first
    assert "0 created, 0 updated, 3 unchanged, 0 rejected" in second
    with in_tenant(acme):
        assert FaqEntry.objects.count() == 3
        assert set(FaqEntry.objects.values_list("owner_department__code", flat=True)) == {"HR"}
        assert ImportJob.objects.filter(dry_run=False).count() == 2


def test_rejected_rows_are_printed_with_reasons_and_exit_non_zero(acme, hr_rows, spreadsheet, tmp_path, in_tenant):
    hr_rows.append(["HR-BAD-1", "Where is the office?", "", "", "", "", "en", "draft"])
    file = tmp_path / "hr.xlsx"
    file.write_bytes(spreadsheet.xlsx(hr_rows))
    output = io.StringIO()

    with pytest.raises(CommandError, match="1 rows were rejected"):
        call_command("import_faqs", "--tenant", "acme", str(file), stdout=output)

    assert "row 5: rejected [HR-BAD-1] Where is the office? — the answer is empty" in output.getvalue()
    with in_tenant(acme):
        assert FaqEntry.objects.count() == 3


def test_a_file_that_cannot_be_read_is_a_command_error(acme, tmp_path):
    file = tmp_path / "hr.csv"
    file.write_bytes(b"")

    with pytest.raises(CommandError, match=r"hr\.csv is empty"):
        run("--tenant", "acme", str(file))


def test_unknown_tenant_or_missing_file_is_a_command_error(acme, tmp_path):
    with pytest.raises(CommandError, match="No tenant 'initech'"):
        run("--tenant", "initech", str(tmp_path / "hr.csv"))
    with pytest.raises(CommandError, match="Cannot read"):
        run("--tenant", "acme", str(tmp_path / "missing.csv"))


def test_export_command_writes_a_file_that_imports_back_unchanged(acme, hr_csv, tmp_path):
    source = tmp_path / "hr.csv"
    source.write_bytes(hr_csv)
    run("--tenant", "acme", str(source))
    exported = tmp_path / "export.xlsx"

    call_command("export_faqs", "--tenant", "acme", str(exported), stdout=io.StringIO())

    assert "3 unchanged" in run("--tenant", "acme", "--dry-run", str(exported))
