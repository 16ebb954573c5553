"""manage.py rotate_audit_keys: re-encrypt stored raw questions with the newest key."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from audit.keys import rotate_raw_question_keys


class Command(BaseCommand):
    help = "Re-encrypt every stored raw question with the first key of LANTERN_AUDIT_ENCRYPTION_KEYS."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"re-encrypted {rotate_raw_question_keys()} raw questions")
