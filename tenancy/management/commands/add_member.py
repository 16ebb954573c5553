from django.core.management.base import BaseCommand, CommandError

from tenancy.models import Role
from tenancy.provisioning import ProvisioningError, add_member, get_tenant


class Command(BaseCommand):
    help = "Add a user to a tenant with a role and department (creating the department when new). Idempotent."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--department", required=True, help="department code, e.g. HR or IT")
        parser.add_argument("--full-name", default="")
        parser.add_argument("--password", default=None)
        parser.add_argument("--email", default="")

    def handle(self, *args, **options) -> None:
        try:
            membership = add_member(
                tenant=get_tenant(options["tenant"]),
                username=options["username"],
                role=options["role"],
                department_code=options["department"],
                full_name=options["full_name"],
                password=options["password"],
                email=options["email"],
            )
        except ProvisioningError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{membership.user.username} is {membership.role} in {membership.department.code} "
            f"of {membership.tenant.slug}."
        )
