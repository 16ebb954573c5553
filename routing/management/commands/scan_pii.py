"""Scan a text for personal and confidential data the way a tenant's questions are scanned."""

import json as json_module

from django.core.management.base import BaseCommand, CommandError

from routing.policy import scan_question
from tenancy.context import tenant_context
from tenancy.provisioning import ProvisioningError, get_tenant


class Command(BaseCommand):
    help = "Print the findings in a text, with the tenant's names, confidential terms and employee-id pattern."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True, help="the tenant's slug")
        parser.add_argument("--json", action="store_true", help="print a JSON list of type, start, end, score")
        parser.add_argument("text")

    def handle(self, *args, tenant: str, json: bool, text: str, **options) -> None:
        try:
            tenant_id = get_tenant(tenant).pk
        except ProvisioningError as error:
            raise CommandError(str(error)) from error
        with tenant_context(tenant_id):
            scan = scan_question(tenant_id=tenant_id, question=text)
        if scan.failed:
            raise CommandError("Detection failed; a question like this would be treated as sensitive.")
        findings = [
            {"type": finding.entity_type, "start": finding.start, "end": finding.end, "score": finding.score}
            for finding in scan.findings
        ]
        if json:
            self.stdout.write(_dumps(findings))
            return
        # Offsets and kinds only: the values stay out of terminals and shell logs.
        for finding in findings:
            self.stdout.write(f"{finding['type']}\t{finding['start']}-{finding['end']}\t{finding['score']:.2f}")
        self.stdout.write(f"{len(findings)} findings; sensitivity {scan.sensitivity}.")


def _dumps(findings: list[dict]) -> str:
    return json_module.dumps(findings, ensure_ascii=False)
