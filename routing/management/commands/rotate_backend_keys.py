"""Re-encrypt every stored backend API key under the newest key of LANTERN_CREDENTIAL_ENCRYPTION_KEYS."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from routing import credentials


class Command(BaseCommand):
    help = (
        "Re-encrypt the backend API keys tenants stored under the first key of "
        "LANTERN_CREDENTIAL_ENCRYPTION_KEYS. Put the new key first, run this, then remove the old key."
    )

    def handle(self, *args, **options) -> None:
        rewritten, unreadable = credentials.rotate_backend_keys()
        self.stdout.write(f"{rewritten} re-encrypted, {unreadable} unreadable.")
        if unreadable:
            raise CommandError(
                f"{unreadable} stored key(s) could not be decrypted with any configured key: "
                "their tenant admins must enter them again on the routing policy page."
            )
