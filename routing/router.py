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
    keep_local_entities: frozenset[str] = frozenset()  # never sent to the cloud, even redacted
    local_only_departments: frozenset[str] = frozenset()
    department_modes: tuple[tuple[str, str], ...] = ()  # (department code, mode) pairs

    def department_mode(self, department_code: str) -> str:
        """The mode a department's questions follow instead of the tenant's, or "" when none."""
        if department_code in self.local_only_departments:
            return "local_only"
        return dict(self.department_modes).get(department_code, "")

    def may_redact_for_cloud(self, entity_types: Sequence[str]) -> bool:
        """Whether text with these kinds of data may go to the cloud once they are replaced by placeholders."""
        return self.allow_redacted_cloud and not set(entity_types) & self.keep_local_entities


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
    history_entity_types: Sequence[str] = (),
) -> Decision:
    """Choose where a question is answered. Pure: same facts, same decision. Sensitive text, in the question or
    in earlier turns, never goes to the cloud unless the policy allows redacted text and the caller redacts it."""
    reasons: list[str] = [f"pii:{entity}" for entity in sorted(set(entity_types))]
    reasons += [f"history_pii:{entity}" for entity in sorted(set(history_entity_types))]
    if detection_failed:
        reasons.append("pii_check_failed")
    found = {*entity_types, *history_entity_types}
    sensitive = bool(found) or detection_failed
    local_chain = _local_chain(health, reasons)

    if found & policy.refuse_entities:
        return Decision(Target.REFUSE, (), (*reasons, "policy:refuse"), sensitive=True)

    if policy.mode == "local_only":
        return _local(local_chain, (*reasons, "mode:local_only"), sensitive)
    mode = policy.mode
    department_mode = policy.department_mode(department_code)
    if department_mode:
        reasons.append(f"department:{department_code}")
        mode = department_mode
    if mode == "local_only":
        return _local(local_chain, reasons, sensitive)

    can_use_cloud = health.cloud_available and not over_budget
    if not health.cloud_available:
        cloud_block = "cloud_unavailable"
    else:
        cloud_block = "budget_exceeded" if over_budget else ""

    if mode == "cloud_only":
        if sensitive and not (policy.may_redact_for_cloud(sorted(found)) and not detection_failed):
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
