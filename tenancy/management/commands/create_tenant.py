from django.core.management.base import BaseCommand, CommandError

from tenancy.models import Mode
from tenancy.provisioning import ProvisioningError, create_tenant


class Command(BaseCommand):
    help = "Create a tenant (or update its name and mode). Idempotent."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--mode", default=Mode.HYBRID, choices=Mode.values)

    def handle(self, *args, slug: str, name: str, mode: str, **options) -> None:
        try:
            tenant, created = create_tenant(slug=slug, name=name, mode=mode)
        except ProvisioningError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{'Created' if created else 'Updated'} tenant {tenant.slug} ({tenant.name}, {tenant.mode}).")
