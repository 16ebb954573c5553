"""The privacy-aware router: where a question is answered, and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Target(StrEnum):
    LOCAL = "local"
    CLOUD = "cloud"
    EXTRACTIVE = "extractive"
    REFUSE = "refused"


@dataclass(frozen=True)
class Policy:
    """A tenant's routing policy, as the router reads it."""

    mode: str = "hybrid"
    version: int = 1
    length_threshold: int = 300
    faq_confidence_threshold: float = 0.5
    allow_redacted_cloud: bool = False
    refuse_entities: frozenset[str] = frozenset()
    local_only_departments: frozenset[str] = frozenset()


@dataclass(frozen=True)
class BackendHealth:
    """Which backends are configured and not cut off by their circuit breaker."""

    local_available: bool = True
    cloud_available: bool = False


@dataclass(frozen=True)
class Decision:
    target: Target
    fallbacks: tuple[Target, ...]
    reasons: tuple[str, ...]
    redact: bool = False
    sensitive: bool = False
    chain: tuple[Target, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "chain", (self.target, *self.fallbacks))


def decide(
    *,
    policy: Policy,
    entity_types: Sequence[str],
    detection_failed: bool,
    confidence: float,
    length: int,
    department_code: str,
    over_budget: bool,
    health: BackendHealth,
) -> Decision:
    """Choose where a question is answered. Pure: same facts, same decision. Sensitive text never goes to the cloud
    unless the policy allows redacted text and the caller redacts it."""
    reasons: list[str] = [f"pii:{entity}" for entity in sorted(set(entity_types))]
    if detection_failed:
        reasons.append("pii_check_failed")
    sensitive = bool(entity_types) or detection_failed
    local_chain = _local_chain(health, reasons)

    refused = sorted(set(entity_types) & policy.refuse_entities)
    if refused:
        return Decision(Target.REFUSE, (), (*reasons, "policy:refuse"), sensitive=True)

    if policy.mode == "local_only":
        return _local(local_chain, (*reasons, "mode:local_only"), sensitive)
    if department_code in policy.local_only_departments:
        return _local(local_chain, (*reasons, f"department:{department_code}"), sensitive)

    can_use_cloud = health.cloud_available and not over_budget
    if not health.cloud_available:
        cloud_block = "cloud_unavailable"
    else:
        cloud_block = "budget_exceeded" if over_budget else ""

    if policy.mode == "cloud_only":
        if sensitive and not (policy.allow_redacted_cloud and not detection_failed):
            return Decision(
                Target.EXTRACTIVE,
                (Target.REFUSE,),
                (*reasons, "policy:no_cloud_for_sensitive"),
                sensitive=True,
            )
        if not can_use_cloud:
            return Decision(Target.EXTRACTIVE, (Target.REFUSE,), (*reasons, cloud_block), sensitive=sensitive)
        return Decision(
            Target.CLOUD,
            (Target.EXTRACTIVE,),
            (*reasons, "mode:cloud_only"),
            redact=sensitive,
            sensitive=sensitive,
        )

    # hybrid
    if sensitive:
        return _local(local_chain, reasons, True)
    if confidence >= policy.faq_confidence_threshold:
        return _local(local_chain, (*reasons, f"faq_match:{confidence:.2f}"), False)
    if length <= policy.length_threshold:
        return _local(local_chain, (*reasons, f"length<={policy.length_threshold}"), False)
    if not can_use_cloud:
        return _local(local_chain, (*reasons, cloud_block), False)
    return Decision(Target.CLOUD, local_chain, (*reasons, f"length>{policy.length_threshold}"))


def _local_chain(health: BackendHealth, reasons: list[str]) -> tuple[Target, ...]:
    if health.local_available:
        return (Target.LOCAL, Target.EXTRACTIVE)
    reasons.append("local_unhealthy")
    return (Target.EXTRACTIVE,)


def _local(chain: tuple[Target, ...], reasons: Sequence[str], sensitive: bool) -> Decision:
    return Decision(chain[0], (*chain[1:], Target.REFUSE), tuple(reasons), sensitive=sensitive)
