"""Export a tenant's FAQ entries, alternatives included, as a CSV or Excel file that imports back unchanged."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from knowledge.imports import export_faq_entries
from knowledge.models import FaqEntry
from tenancy.context import tenant_context
from tenancy.provisioning import ProvisioningError, get_tenant


class Command(BaseCommand):
    help = "Write a tenant's FAQ entries to a .csv or .xlsx file (the format follows the file name)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True, help="the tenant's slug")
        parser.add_argument("file", type=Path)

    def handle(self, *args, tenant: str, file: Path, **options) -> None:
        file_format = file.suffix.lower().lstrip(".")
        if file_format not in ("csv", "xlsx"):
            raise CommandError(f"Name the file .csv or .xlsx, not {file.name}.")
        try:
            tenant_id = get_tenant(tenant).pk
        except ProvisioningError as error:
            raise CommandError(str(error)) from error
        with tenant_context(tenant_id):
            entries = FaqEntry.objects.all()
            count = entries.count()
            content = export_faq_entries(entries=entries, format=file_format)
        file.write_bytes(content)
        self.stdout.write(f"{count} FAQ entries written to {file}.")
