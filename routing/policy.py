"""What the router needs to know about a tenant: its policy, its vocabulary, the health of its backends."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from routing import breaker, pii
from routing.pii import TenantVocabulary
from routing.router import BackendHealth, Decision, Policy, decide
from tenancy.models import Membership, Tenant

VOCABULARY_CACHE_SECONDS = 60


def policy_for(tenant: Tenant) -> Policy:
    """The tenant's routing policy."""
    return Policy(mode=tenant.mode)


def vocabulary_for(tenant_id: int) -> TenantVocabulary:
    """The tenant's own sensitive words: its members' names."""
    key = f"pii-vocabulary:{tenant_id}"
    vocabulary = cache.get(key)
    if vocabulary is None:
        names = set()
        for full_name, first_name, last_name in Membership.objects.values_list(
            "full_name", "user__first_name", "user__last_name"
        ):
            names.update(
                name.strip() for name in (full_name, f"{first_name} {last_name}") if len(name.strip()) >= 2
            )
        vocabulary = TenantVocabulary(person_names=tuple(sorted(names)))
        cache.set(key, vocabulary, VOCABULARY_CACHE_SECONDS)
    return vocabulary


def backend_health() -> BackendHealth:
    """Which backends can take a question now: configured, and not cut off by their circuit breaker."""
    circuits = breaker.backend_health()
    return BackendHealth(
        local_available=circuits.is_available("local"),
        cloud_available=bool(settings.LANTERN_CLOUD_BASE_URL) and circuits.is_available("cloud"),
    )


def scan_question(*, tenant_id: int, question: str) -> pii.ScanResult:
    """The question scanned with the tenant's own vocabulary."""
    return pii.scan(question, vocabulary=vocabulary_for(tenant_id))


def decide_for(
    *,
    tenant: Tenant,
    department_code: str,
    scan: pii.ScanResult,
    confidence: float,
    length: int,
    over_budget: bool,
) -> Decision:
    """The router's decision for a question, with the tenant's policy and the backends' health."""
    return decide(
        policy=policy_for(tenant),
        entity_types=[
            finding.entity_type for finding in scan.findings if finding.sensitivity == pii.Sensitivity.HIGH
        ],
        detection_failed=scan.failed,
        confidence=confidence,
        length=length,
        department_code=department_code,
        over_budget=over_budget,
        health=backend_health(),
    )
