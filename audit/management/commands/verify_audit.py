"""manage.py verify_audit [--tenant SLUG] [--since DATE]: walk each chain and name the first broken link."""

from __future__ import annotations

from datetime import date, datetime, time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit.verification import verify_tenant_chain
from tenancy.context import tenant_context
from tenancy.models import Tenant
from tenancy.provisioning import ProvisioningError, get_tenant


class Command(BaseCommand):
    help = "Verify the audit hash chains against their signed checkpoints; exits 1 at the first broken link."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="slug of one tenant (default: every tenant)")
        parser.add_argument("--since", help="YYYY-MM-DD: start from the last checkpoint before this day")

    def handle(self, *args, tenant: str | None = None, since: str | None = None, **options) -> None:
        try:
            tenants = [get_tenant(tenant)] if tenant else list(Tenant.objects.order_by("slug"))
        except ProvisioningError as error:
            raise CommandError(str(error)) from None
        try:
            since_moment = timezone.make_aware(datetime.combine(date.fromisoformat(since), time.min)) if since else None
        except ValueError:
            raise CommandError(f"--since must be a date like 2026-01-31, not {since!r}") from None
        broken = []
        for each in tenants:
            with tenant_context(each.pk):
                result = verify_tenant_chain(tenant=each, since=since_moment)
            if result.ok:
                self.stdout.write(
                    f"{each.slug}: ok, {result.events_checked} events through seq {result.last_seq}, "
                    f"{result.checkpoints_matched} checkpoints matched"
                )
            else:
                problem = result.first_break
                self.stdout.write(f"{each.slug}: BROKEN at seq {problem.seq} ({problem.kind}): {problem.message}")
                broken.append(each.slug)
        if broken:
            raise CommandError(f"audit chain broken for {', '.join(broken)}", returncode=1)
