"""Ask a question from the command line, through exactly the pipeline the web chat runs."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from chatbot.pipeline import QuestionError, answer
from tenancy.context import tenant_context
from tenancy.models import Membership
from tenancy.provisioning import ProvisioningError, get_tenant


class Command(BaseCommand):
    help = "Ask a question as a member of a tenant; the question is audited and metered like any other."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--user", required=True, help="username of a member of the tenant")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("question")

    def handle(self, *args, tenant: str, user: str, question: str, **options) -> None:
        try:
            tenant_obj = get_tenant(tenant)
        except ProvisioningError as error:
            raise CommandError(str(error)) from error
        user_obj = get_user_model().objects.filter(username=user).first()
        if user_obj is None:
            raise CommandError(f"No user {user!r}.")
        with tenant_context(tenant_obj.pk):
            membership = Membership.objects.select_related("tenant", "department", "user").filter(user=user_obj).first()
            if membership is None:
                raise CommandError(f"User {user!r} is not a member of tenant {tenant!r}.")
            try:
                reply = answer(membership=membership, question=question, channel="cli")
            except QuestionError as error:
                raise CommandError(str(error)) from error
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "answer": reply.text,
                        "route": reply.route,
                        "reasons": list(reply.reasons),
                        "confidence": reply.confidence,
                        "sources": [
                            {
                                "id": hit.id,
                                "external_id": hit.external_id,
                                "title": hit.title,
                                "score": hit.score,
                            }
                            for hit in reply.sources
                        ],
                        "audit_id": reply.audit_id,
                        "correlation_id": str(reply.correlation_id),
                        "backend": reply.backend,
                        "model": reply.model,
                        "sensitive": reply.sensitive,
                    },
                    ensure_ascii=False,
                )
            )
            return
        self.stdout.write(reply.text)
        self.stdout.write(f"\n[route: {reply.route}; reasons: {', '.join(reply.reasons) or '-'}]")
        for index, hit in enumerate(reply.sources, start=1):
            self.stdout.write(f"[{index}] {hit.title} (score {hit.score:.2f})")
