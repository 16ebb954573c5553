"""The bench tenant of a load test or drill: its own database, seeded members and FAQ entries, and the
consistency checks run on the records the load left behind."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from benchmark_database import REPOSITORY, benchmark_database

DEMO_FAQS = REPOSITORY / "tenancy" / "demo" / "acme.json"
BENCH_TENANT_SLUG = "bench-load"
BENCH_DEPARTMENTS = ("HR", "IT", "ENG", "OPS")

UNMATCHED_QUESTIONS = (
    "公司附近有推薦的午餐嗎？",
    "What is the airspeed velocity of an unladen swallow?",
    "尾牙抽獎的獎品有哪些？",
    "Can I bring my dog to the office on Fridays?",
)
# Personal data a sensitive question carries; a load test asks these too, and no cloud may ever see them.
SENSITIVE_QUESTIONS = (
    "我的身分證字號是 A123456789，薪資帳戶要怎麼變更？",
    "My national ID is A123456789, how do I update my payroll bank account?",
    "請假單上的手機 0912345678 要怎麼改？",
)


def database_urls(*, database_name: str) -> dict[str, str]:
    """DATABASE_URL and DATABASE_OWNER_URL of `database_name` on the server Django is connected to."""
    from django.db import connections

    urls = {}
    for variable, alias in (("DATABASE_URL", "default"), ("DATABASE_OWNER_URL", "owner")):
        settings_dict = connections[alias].settings_dict
        host = settings_dict["HOST"] or settings_dict.get("OPTIONS", {}).get("host", "")
        credentials = quote(settings_dict["USER"], safe="")
        if settings_dict["PASSWORD"]:
            credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
        if host.startswith("/"):
            urls[variable] = f"postgres://{credentials}@/{database_name}?host={host}"
        else:
            port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
            urls[variable] = f"postgres://{credentials}@{host}{port}/{database_name}"
    return urls


@contextmanager
def dedicated_database(name: str) -> Iterator[dict[str, str]]:
    """A freshly migrated database of its own, dropped afterwards; yields the URLs child processes use."""
    with benchmark_database(name):
        yield database_urls(database_name=name)


@dataclass(frozen=True)
class BenchTenant:
    """The seeded tenant and one API key per member."""

    tenant_id: int
    slug: str
    api_keys: tuple[str, ...]


def seed_bench_tenant(*, slug: str = BENCH_TENANT_SLUG, users: int, mode: str = "hybrid") -> BenchTenant:
    """Create the tenant, its departments, `users` employees with an API key each, and the demo FAQ entries."""
    from chatbot.api_keys import create_api_key
    from tenancy.context import tenant_context
    from tenancy.management.commands.seed_demo import publish_faqs
    from tenancy.provisioning import add_member, create_tenant, ensure_department

    tenant, _ = create_tenant(slug=slug, name="Bench load tenant", mode=mode)
    departments = {code: ensure_department(tenant=tenant, code=code) for code in BENCH_DEPARTMENTS}
    api_keys = []
    for index in range(users):
        membership = add_member(
            tenant=tenant,
            username=f"{slug}-user-{index:03d}",
            role="employee",
            department_code=BENCH_DEPARTMENTS[index % len(BENCH_DEPARTMENTS)],
        )
        with tenant_context(tenant.pk):
            api_keys.append(create_api_key(membership=membership, name="load test").secret)
    with tenant_context(tenant.pk):
        publish_faqs(tenant_id=tenant.pk, faqs=demo_faqs(), departments=departments)
    return BenchTenant(tenant_id=tenant.pk, slug=slug, api_keys=tuple(api_keys))


def demo_faqs() -> list[dict]:
    """The demo company's FAQ entries, the bench tenant's knowledge base."""
    return json.loads(DEMO_FAQS.read_text(encoding="utf-8"))["faqs"]


def question_pool() -> list[str]:
    """What the simulated employees ask: FAQ questions and their alternatives, some unmatched and some
    carrying personal data, roughly in the proportions a help desk sees."""
    matched = [text for faq in demo_faqs() for text in (faq["question"], *faq.get("alternatives", []))]
    return matched * 4 + list(UNMATCHED_QUESTIONS) * 3 + list(SENSITIVE_QUESTIONS) * 2


@dataclass(frozen=True)
class RecordCheck:
    """How the stored records of a load match the questions that were answered."""

    answered: int
    audit_events: int
    usage_records: int
    user_messages: int
    answered_without_audit: int
    answered_without_usage: int
    duplicated_audit: int
    duplicated_usage: int
    audit_not_answered: int
    usage_not_answered: int
    incomplete_message_pairs: int
    chain_ok: bool
    chain_events_checked: int
    chain_problem: str

    @property
    def ok(self) -> bool:
        return self.chain_ok and not (
            self.answered_without_audit
            or self.answered_without_usage
            or self.duplicated_audit
            or self.duplicated_usage
            or self.incomplete_message_pairs
        )

    def lines(self) -> list[str]:
        """The check as printable lines."""
        return [
            f"answered questions (2xx with an id): {self.answered}",
            f"question audit events: {self.audit_events}, usage records: {self.usage_records}, "
            f"user messages: {self.user_messages}",
            f"answered without audit event: {self.answered_without_audit}, without usage record: "
            f"{self.answered_without_usage}",
            f"correlation ids with >1 audit event: {self.duplicated_audit}, with >1 usage record: "
            f"{self.duplicated_usage}",
            f"audit events / usage records of requests the client saw fail: {self.audit_not_answered} / "
            f"{self.usage_not_answered}",
            f"correlation ids without exactly one user and one assistant message: {self.incomplete_message_pairs}",
            f"audit chain: {'verifies' if self.chain_ok else 'BROKEN'} ({self.chain_events_checked} events)"
            + (f": {self.chain_problem}" if self.chain_problem else ""),
        ]


def check_records(*, tenant_id: int, answered_ids: Iterable[str]) -> RecordCheck:
    """Compare the tenant's question audit events, usage records and messages with the answered ids, and
    verify the tenant's audit chain."""
    from django.db.models import Count

    from audit.models import AuditEvent
    from audit.verification import verify_tenant_chain
    from chatbot.models import Message
    from costing.models import UsageRecord
    from tenancy.context import tenant_context
    from tenancy.models import Tenant

    answered = {str(correlation_id) for correlation_id in answered_ids}
    with tenant_context(tenant_id):
        audit_counts = _counts(
            AuditEvent.unscoped.filter(tenant_id=tenant_id, kind="question")
            .values("correlation_id")
            .annotate(number=Count("id"))
        )
        usage_counts = _counts(
            UsageRecord.unscoped.filter(tenant_id=tenant_id).values("correlation_id").annotate(number=Count("id"))
        )
        message_counts = Counter()
        for correlation_id, role, number in (
            Message.unscoped.filter(tenant_id=tenant_id)
            .values("correlation_id", "role")
            .annotate(number=Count("id"))
            .values_list("correlation_id", "role", "number")
        ):
            message_counts[(str(correlation_id), role)] = number
        tenant = Tenant.objects.get(pk=tenant_id)
        verification = verify_tenant_chain(tenant=tenant)
    message_ids = {correlation_id for correlation_id, _ in message_counts}
    incomplete_pairs = sum(
        1
        for correlation_id in message_ids | answered
        if message_counts[(correlation_id, "user")] != 1 or message_counts[(correlation_id, "assistant")] != 1
    )
    return RecordCheck(
        answered=len(answered),
        audit_events=sum(audit_counts.values()),
        usage_records=sum(usage_counts.values()),
        user_messages=sum(number for (_, role), number in message_counts.items() if role == "user"),
        answered_without_audit=len(answered - audit_counts.keys()),
        answered_without_usage=len(answered - usage_counts.keys()),
        duplicated_audit=sum(1 for number in audit_counts.values() if number > 1),
        duplicated_usage=sum(1 for number in usage_counts.values() if number > 1),
        audit_not_answered=len(audit_counts.keys() - answered),
        usage_not_answered=len(usage_counts.keys() - answered),
        incomplete_message_pairs=incomplete_pairs,
        chain_ok=verification.ok,
        chain_events_checked=verification.events_checked,
        chain_problem=verification.first_break.message if verification.first_break else "",
    )


def _counts(rows: Iterable[dict]) -> dict[str, int]:
    return {str(row["correlation_id"]): row["number"] for row in rows}


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """Write one item a line."""
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
