"""Load the demo: two tenants, their departments, a user for every role and real-looking FAQ entries."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from knowledge.faqs import save_faq_entry
from tenancy.context import tenant_context
from tenancy.provisioning import add_member, create_tenant, ensure_department

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
DEMO_PASSWORD = "lantern-demo"  # noqa: S105 - printed for the demo; never used outside it

TENANTS = [
    {
        "slug": "acme",
        "name": "Acme 科技股份有限公司",
        "mode": "hybrid",
        "departments": [
            ("HR", "人力資源部", "CC-100"),
            ("IT", "資訊部", "CC-200"),
            ("ENG", "研發部", "CC-300"),
            ("FIN", "財務部", "CC-400"),
            ("LEGAL", "法務部", "CC-500"),
        ],
        "members": [
            ("acme-employee", "employee", "ENG", "陳小明"),
            ("acme-curator", "curator", "HR", "林美玲"),
            ("acme-auditor", "auditor", "LEGAL", "張志豪"),
            ("acme-finance", "finance", "FIN", "黃淑芬"),
            ("acme-admin", "tenant_admin", "IT", "Alice Wang"),
        ],
    },
    {
        "slug": "globex",
        "name": "Globex 醫療器材股份有限公司",
        "mode": "local_only",
        "departments": [
            ("HR", "人資處", "G-10"),
            ("IT", "資訊處", "G-20"),
            ("OPS", "營運處", "G-30"),
            ("FIN", "財會處", "G-40"),
        ],
        "members": [
            ("globex-employee", "employee", "OPS", "李大同"),
            ("globex-curator", "curator", "HR", "吳佩珊"),
            ("globex-auditor", "auditor", "FIN", "Kevin Liu"),
            ("globex-finance", "finance", "FIN", "蔡宜君"),
            ("globex-admin", "tenant_admin", "IT", "周建宏"),
        ],
    },
]


def publish_faqs(*, tenant_id: int, faqs: list[dict], departments: dict) -> int:
    """Publish demo FAQ records (as in tenancy/demo/*.json) in the current tenant; returns how many are new."""
    created = 0
    for faq in faqs:
        owner = departments.get(faq.get("department", ""))
        _, was_created = save_faq_entry(
            tenant_id=tenant_id,
            external_id=faq["external_id"],
            question=faq["question"],
            answer=faq["answer"],
            category=faq.get("category", ""),
            language=faq.get("language", "zh-hant"),
            tags=faq.get("tags", []),
            status="published",
            owner_department_id=owner.pk if owner else None,
            alternatives=faq.get("alternatives", []),
        )
        created += was_created
    return created


class Command(BaseCommand):
    help = "Load the demo tenants, users and FAQ entries. Running it again updates them without duplicates."

    def handle(self, *args, **options) -> None:
        for spec in TENANTS:
            tenant, _ = create_tenant(slug=spec["slug"], name=spec["name"], mode=spec["mode"])
            departments = {
                code: ensure_department(tenant=tenant, code=code, name=name, cost_centre=cost_centre)
                for code, name, cost_centre in spec["departments"]
            }
            for username, role, department, full_name in spec["members"]:
                add_member(
                    tenant=tenant,
                    username=username,
                    role=role,
                    department_code=department,
                    full_name=full_name,
                    password=DEMO_PASSWORD,
                )
            faqs = json.loads((DEMO_DIR / f"{tenant.slug}.json").read_text(encoding="utf-8"))["faqs"]
            with tenant_context(tenant.pk):
                created = publish_faqs(tenant_id=tenant.pk, faqs=faqs, departments=departments)
            self.stdout.write(f"{tenant.slug}: {len(faqs)} FAQ entries ({created} new), {len(spec['members'])} users")
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for spec in TENANTS:
            for username, role, department, _ in spec["members"]:
                self.stdout.write(f"  {username:<18} {role:<13} {spec['slug']}/{department}")
