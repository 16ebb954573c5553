"""Dora imports HR's spreadsheet in the browser: she checks it first, then imports, and watches the progress."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from knowledge.models import FaqEntry, ImportJob


def test_check_then_import_from_the_browser(client, dora, hr_rows, spreadsheet, run_on_commit, in_tenant):
    hr_rows.append(["HR-BAD-1", "Where is the office?", "", "", "", "", "en", "draft"])
    client.force_login(dora.user)

    checked = client.post(
        reverse("knowledge:import_list"),
        {"file": SimpleUploadedFile("hr.xlsx", spreadsheet.xlsx(hr_rows)), "check": ""},
        follow=True,
    )

    page = checked.content.decode()
    assert "would be created" in page
    assert "Import now: 3 rows will be saved." in page
    assert "the answer is empty" in page
    with in_tenant(dora.tenant):
        assert FaqEntry.objects.count() == 0
        check = ImportJob.objects.get()

    with run_on_commit():
        response = client.post(reverse("knowledge:import_run", args=[check.pk]))
    imported = client.get(response.url)

    page = imported.content.decode()
    assert "Import of hr.xlsx" in page
    assert "data-progress-url" not in page
    with in_tenant(dora.tenant):
        job = ImportJob.objects.get(dry_run=False)
        assert (job.state, job.done, job.total) == ("done", 4, 4)
        assert set(FaqEntry.objects.values_list("owner_department__code", flat=True)) == {"HR"}
    progress = client.get(reverse("knowledge:import_progress", args=[job.pk])).json()
    assert progress == {
        "state": "done",
        "done": 4,
        "total": 4,
        "finished": True,
        "error": "",
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": 1,
    }


def test_a_running_import_page_polls_its_progress(client, dora, hr_csv, in_tenant, django_capture_on_commit_callbacks):
    client.force_login(dora.user)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            reverse("knowledge:import_list"), {"file": SimpleUploadedFile("hr.csv", hr_csv), "import_now": ""}
        )

    page = client.get(response.url).content.decode()

    assert "data-progress-url" in page
    assert "knowledge/knowledge.js" in page
    with in_tenant(dora.tenant):
        assert ImportJob.objects.get().state == "pending"


def test_a_spreadsheet_of_the_wrong_type_is_refused_on_the_form(client, dora):
    client.force_login(dora.user)

    response = client.post(reverse("knowledge:import_list"), {"file": SimpleUploadedFile("hr.xls", b"x")})

    assert "Lantern cannot read hr.xls: choose a .csv or .xlsx file." in response.content.decode()


def test_the_template_downloads_with_the_column_names(client, dora):
    client.force_login(dora.user)

    response = client.get(reverse("knowledge:import_template", args=["csv"]))

    assert response.content.decode("utf-8-sig").startswith("external_id,question,answer,alternatives")
