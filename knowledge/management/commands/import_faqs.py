"""Import FAQ entries from a CSV or Excel file, through the same checks and import as the curator's page."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from knowledge import imports
from knowledge.models import ImportJob
from tenancy.context import tenant_context
from tenancy.models import Department
from tenancy.provisioning import ProvisioningError, get_tenant


class Command(BaseCommand):
    help = (
        "Import FAQ entries from a UTF-8 CSV file with a header row, or an .xlsx file. Prints what happened to "
        "each row; exits with status 1 when rows were rejected."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True, help="the tenant's slug")
        parser.add_argument("--dry-run", action="store_true", help="only report what would be imported")
        parser.add_argument("--department", default="", help="code of the department that owns new entries")
        parser.add_argument("file", type=Path)

    def handle(self, *args, tenant: str, dry_run: bool, department: str, file: Path, **options) -> None:
        try:
            tenant_id = get_tenant(tenant).pk
        except ProvisioningError as error:
            raise CommandError(str(error)) from error
        try:
            content = file.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        with tenant_context(tenant_id):
            department_id = None
            if department:
                department_id = Department.objects.filter(code=department).values_list("pk", flat=True).first()
                if department_id is None:
                    raise CommandError(f"Tenant {tenant!r} has no department {department!r}.")
            job = imports.create_import_job(
                tenant_id=tenant_id,
                filename=file.name,
                content=content,
                dry_run=dry_run,
                owner_department_id=department_id,
                run_in_background=False,
            )
        if not dry_run:
            job = imports.run_import_job(tenant_id=tenant_id, job_id=job.pk)
        report = imports.report_for_job(job)
        for result in report.results:
            self.stdout.write(row_line(result))
        if job.state == ImportJob.State.FAILED:
            raise CommandError(job.error)
        counts = report.counts
        if dry_run:
            names = {imports.CREATED: "to create", imports.UPDATED: "to update"}
        else:
            names = {}
        summary = ", ".join(f"{counts[outcome]} {names.get(outcome, outcome)}" for outcome in imports.OUTCOMES)
        self.stdout.write(f"{file.name}: {summary}.")
        if counts[imports.REJECTED]:
            raise CommandError(f"{counts[imports.REJECTED]} rows were rejected; fix them and import again.")


def row_line(result: imports.RowResult) -> str:
    """One row's result as a line of text: row number, outcome, key, question and why."""
    key = f" [{result.external_id}]" if result.external_id else ""
    line = f"row {result.row_number}: {result.outcome}{key}"
    if result.question:
        line += f" {result.question[:60]}"
    if result.changed_fields:
        line += f" (changed: {', '.join(result.changed_fields)})"
    if result.reasons:
        line += " — " + "; ".join(result.reasons)
    return line
