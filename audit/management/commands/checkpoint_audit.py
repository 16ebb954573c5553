"""manage.py checkpoint_audit [--tenant SLUG]: sign the chain heads now."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.checkpoints import checkpoint_head
from tenancy.context import tenant_context
from tenancy.models import Tenant
from tenancy.provisioning import ProvisioningError, get_tenant


class Command(BaseCommand):
    help = "Write a signed checkpoint of each tenant's audit chain head."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="slug of one tenant (default: every tenant)")

    def handle(self, *args, tenant: str | None = None, **options) -> None:
        try:
            tenants = [get_tenant(tenant)] if tenant else list(Tenant.objects.order_by("slug"))
        except ProvisioningError as error:
            raise CommandError(str(error)) from None
        for each in tenants:
            with tenant_context(each.pk):
                checkpoint = checkpoint_head(tenant=each)
            self.stdout.write(
                f"{each.slug}: signed seq {checkpoint.seq}" if checkpoint else f"{each.slug}: empty chain"
            )
