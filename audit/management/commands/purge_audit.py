"""manage.py purge_audit [--tenant SLUG]: remove events past each tenant's retention, behind a checkpoint."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.retention import PurgeRefusedError, purge_expired_events, retention_cutoff
from tenancy.models import Tenant
from tenancy.provisioning import ProvisioningError, get_tenant


class Command(BaseCommand):
    help = "Purge audit events older than each tenant's retention period, after a covering signed checkpoint."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="slug of one tenant (default: every tenant)")

    def handle(self, *args, tenant: str | None = None, **options) -> None:
        try:
            tenants = [get_tenant(tenant)] if tenant else list(Tenant.objects.order_by("slug"))
        except ProvisioningError as error:
            raise CommandError(str(error)) from None
        for each in tenants:
            cutoff = retention_cutoff(tenant=each)
            if cutoff is None:
                self.stdout.write(f"{each.slug}: kept for ever, nothing purged")
                continue
            try:
                outcome = purge_expired_events(tenant=each, before=cutoff)
            except PurgeRefusedError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(f"{each.slug}: purged {outcome.events_deleted} events through seq {outcome.through_seq}")
