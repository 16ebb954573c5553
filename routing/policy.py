"""What the router needs to know about a tenant: its policy, its vocabulary, its backends and their health.

Policies are versioned: every save adds a RoutingPolicy row and an audit event in one transaction, and the
highest version is the one in force. A tenant that never saved one follows `Policy(mode=tenant.mode)`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import regex
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

import audit
from routing import breaker, credentials, pii
from routing.backends import BackendConfig, ChatTurn, config_from_settings
from routing.models import BackendOverride, EntityAction, RoutingPolicy
from routing.pii import TenantVocabulary
from routing.router import BackendHealth, Decision, Policy, decide
from tenancy.models import Membership, Mode, Tenant

logger = logging.getLogger(__name__)

VOCABULARY_CACHE_SECONDS = 60
POLICY_CACHE_SECONDS = 300
BACKENDS_CACHE_SECONDS = 60
MAX_CONFIDENTIAL_TERMS = 500
MAX_API_KEY_CHARS = 500


@dataclass(frozen=True)
class PolicySettings:
    """Everything a tenant admin sets in one routing policy version."""

    mode: str = Mode.HYBRID
    length_threshold: int = 300
    faq_confidence_threshold: float = 0.5
    allow_redacted_cloud: bool = False
    entity_actions: tuple[tuple[str, str], ...] = ()  # (entity type, EntityAction) pairs
    department_modes: tuple[tuple[str, str], ...] = ()  # (department code, mode) pairs
    confidential_terms: tuple[str, ...] = ()
    employee_id_pattern: str = ""


@dataclass(frozen=True)
class ConversationScan(pii.ScanResult):
    """A question's scan (findings are spans in the question) with each earlier turn's scan, in order."""

    history: tuple[pii.ScanResult, ...] = ()
    vocabulary: TenantVocabulary = pii.NO_VOCABULARY

    @property
    def sensitive_entity_types(self) -> tuple[str, ...]:
        """The personal or confidential kinds found in the question, each once, sorted."""
        return _high_entity_types(self.findings)

    @property
    def history_entity_types(self) -> tuple[str, ...]:
        """The personal or confidential kinds found in earlier turns, each once, sorted."""
        return _high_entity_types(finding for turn in self.history for finding in turn.findings)

    @property
    def history_failed(self) -> bool:
        """Whether detection failed on any earlier turn."""
        return any(turn.failed for turn in self.history)


def current_policy_version(*, tenant_id: int) -> RoutingPolicy | None:
    """The tenant's policy version in force, or None when it never saved one."""
    return RoutingPolicy.unscoped.filter(tenant_id=tenant_id).order_by("-version").first()


def policy_settings_for(*, tenant: Tenant) -> PolicySettings:
    """What the tenant's policy in force sets, or the defaults for its mode."""
    version = current_policy_version(tenant_id=tenant.pk)
    if version is None:
        return PolicySettings(mode=tenant.mode)
    return _settings_of(version)


def policy_for(tenant: Tenant) -> Policy:
    """The tenant's routing policy in force, as the router reads it (cached; a save invalidates it)."""
    key = _policy_key(tenant.pk)
    policy = cache.get(key)
    if policy is None:
        version = current_policy_version(tenant_id=tenant.pk)
        policy = Policy(mode=tenant.mode, version=0) if version is None else _policy_of(version)
        cache.set(key, policy, POLICY_CACHE_SECONDS)
    return policy


def save_policy(
    *, tenant: Tenant, policy_settings: PolicySettings, actor_user_id: int | None = None, actor_username: str = ""
) -> RoutingPolicy:
    """Store the settings as the tenant's next policy version, with a policy_changed audit event."""
    cleaned = clean_policy_settings(policy_settings)
    with transaction.atomic():
        # Locks the tenant's row so two admins saving at once get consecutive versions.
        Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
        previous = current_policy_version(tenant_id=tenant.pk)
        before = PolicySettings(mode=tenant.mode) if previous is None else _settings_of(previous)
        version = RoutingPolicy.objects.create(
            tenant_id=tenant.pk,
            version=(previous.version if previous else 0) + 1,
            mode=cleaned.mode,
            length_threshold=cleaned.length_threshold,
            faq_confidence_threshold=cleaned.faq_confidence_threshold,
            allow_redacted_cloud=cleaned.allow_redacted_cloud,
            entity_actions=dict(cleaned.entity_actions),
            department_modes=dict(cleaned.department_modes),
            confidential_terms=list(cleaned.confidential_terms),
            employee_id_pattern=cleaned.employee_id_pattern,
            created_by_id=actor_user_id,
        )
        audit.record(
            tenant_id=tenant.pk,
            kind="policy_changed",
            actor_user_id=actor_user_id,
            actor_username=actor_username,
            payload={"version": version.version, "changes": policy_changes(before, cleaned)},
        )
        transaction.on_commit(lambda: forget_cached_policy(tenant_id=tenant.pk))
    forget_cached_policy(tenant_id=tenant.pk)
    return version


def clean_policy_settings(policy_settings: PolicySettings) -> PolicySettings:
    """The settings normalised, or ValidationError naming what is wrong."""
    errors: dict[str, str] = {}
    if policy_settings.mode not in Mode.values:
        errors["mode"] = f"Unknown mode {policy_settings.mode!r}."
    if policy_settings.length_threshold < 1:
        errors["length_threshold"] = "The length threshold must be at least 1 character."
    if not 0.0 <= policy_settings.faq_confidence_threshold <= 1.0:
        errors["faq_confidence_threshold"] = "The FAQ-confidence threshold must be between 0 and 1."
    for entity_type, action in policy_settings.entity_actions:
        if action not in EntityAction.values:
            errors["entity_actions"] = f"Unknown action {action!r} for {entity_type}."
    for department_code, mode in policy_settings.department_modes:
        if mode not in Mode.values:
            errors["department_modes"] = f"Unknown mode {mode!r} for department {department_code}."
    terms = tuple(dict.fromkeys(term.strip() for term in policy_settings.confidential_terms if term.strip()))
    if len(terms) > MAX_CONFIDENTIAL_TERMS:
        errors["confidential_terms"] = f"At most {MAX_CONFIDENTIAL_TERMS} confidential terms."
    pattern = policy_settings.employee_id_pattern.strip()
    if pattern:
        try:
            regex.compile(pattern)
        except regex.error as error:
            errors["employee_id_pattern"] = f"Not a valid pattern: {error}."
    if errors:
        raise ValidationError(errors)
    return replace(
        policy_settings,
        entity_actions=tuple(
            sorted((entity.strip().upper(), action) for entity, action in policy_settings.entity_actions)
        ),
        department_modes=tuple(sorted((code.strip().upper(), mode) for code, mode in policy_settings.department_modes)),
        confidential_terms=terms,
        employee_id_pattern=pattern,
    )


def policy_changes(before: PolicySettings, after: PolicySettings) -> dict[str, dict[str, Any]]:
    """Each setting that differs, with its old and new value (lists for pairs)."""
    changes = {}
    for field in fields(PolicySettings):
        old, new = getattr(before, field.name), getattr(after, field.name)
        if old != new:
            changes[field.name] = {"from": _plain(old), "to": _plain(new)}
    return changes


def forget_cached_policy(*, tenant_id: int) -> None:
    """Drop the tenant's cached policy and vocabulary, so the next question reads the version in force."""
    cache.delete_many([_policy_key(tenant_id), _vocabulary_key(tenant_id)])


def vocabulary_for(tenant_id: int) -> TenantVocabulary:
    """The tenant's own sensitive words: members' names, confidential terms and the employee-id pattern."""
    key = _vocabulary_key(tenant_id)
    vocabulary = cache.get(key)
    if vocabulary is None:
        names = set()
        for full_name, first_name, last_name in Membership.unscoped.filter(tenant_id=tenant_id).values_list(
            "full_name", "user__first_name", "user__last_name"
        ):
            names.update(name.strip() for name in (full_name, f"{first_name} {last_name}") if len(name.strip()) >= 2)
        version = current_policy_version(tenant_id=tenant_id)
        vocabulary = TenantVocabulary(
            person_names=tuple(sorted(names)),
            confidential_terms=tuple(version.confidential_terms) if version else (),
            employee_id_pattern=version.employee_id_pattern if version else "",
        )
        cache.set(key, vocabulary, VOCABULARY_CACHE_SECONDS)
    return vocabulary


def backend_config_for(*, tenant_id: int | None, name: str) -> BackendConfig:
    """The "local" or "cloud" backend's configuration: the tenant's override where it sets one, else settings."""
    config = config_from_settings(name)
    if tenant_id is None or name not in BackendOverride.Name.values:
        return config
    key = _backends_key(tenant_id)
    overrides = cache.get(key)
    if overrides is None:
        # The cache holds the keys encrypted: it may be a Redis server other processes read.
        overrides = {
            override_name: (base_url, model, encrypted_api_key)
            for override_name, base_url, model, encrypted_api_key in BackendOverride.unscoped.filter(
                tenant_id=tenant_id
            ).values_list("name", "base_url", "model", "encrypted_api_key")
            if base_url
        }
        cache.set(key, overrides, BACKENDS_CACHE_SECONDS)
    if name not in overrides:
        return config
    base_url, model, encrypted_api_key = overrides[name]
    try:
        api_key = credentials.decrypt(encrypted_api_key)
    except credentials.UnreadableCredentialError as error:
        # Without its key the tenant's server refuses the call and the decision's chain falls back.
        logger.error("tenant %s, %s backend: %s", tenant_id, name, error)
        api_key = ""
    # A tenant's own server never receives the installation's key.
    return replace(config, base_url=base_url, model=model, api_key=api_key)


def save_backend_override(
    *,
    tenant_id: int,
    name: str,
    base_url: str,
    model: str,
    api_key: str | None,
    actor_user_id: int | None = None,
    actor_username: str = "",
) -> BackendOverride:
    """Set the tenant's own local or cloud server (api_key None keeps the stored key), with an audit event."""
    if name not in BackendOverride.Name.values:
        raise ValidationError({"name": f"Unknown backend {name!r}."})
    if api_key is not None and len(api_key) > MAX_API_KEY_CHARS:
        raise ValidationError({"api_key": f"An API key has at most {MAX_API_KEY_CHARS} characters."})
    with transaction.atomic():
        override = BackendOverride.unscoped.select_for_update().filter(tenant_id=tenant_id, name=name).first()
        if override is None:
            override = BackendOverride(tenant_id=tenant_id, name=name)
        changes: dict[str, Any] = {}
        for field_name, value in (("base_url", base_url.strip()), ("model", model.strip())):
            if getattr(override, field_name) != value:
                changes[field_name] = {"from": getattr(override, field_name), "to": value}
                setattr(override, field_name, value)
        if api_key is not None and not _is_stored_key(override, api_key):
            # The key itself never enters the audit log.
            changes["api_key"] = "changed" if api_key else "removed"
            override.api_key = api_key
        override.full_clean(exclude=["tenant"])
        override.save()
        version = current_policy_version(tenant_id=tenant_id)
        audit.record(
            tenant_id=tenant_id,
            kind="policy_changed",
            actor_user_id=actor_user_id,
            actor_username=actor_username,
            payload={"version": version.version if version else 0, "changes": {f"backend:{name}": changes}},
        )
        transaction.on_commit(lambda: cache.delete(_backends_key(tenant_id)))
    cache.delete(_backends_key(tenant_id))
    return override


def _is_stored_key(override: BackendOverride, api_key: str) -> bool:
    try:
        return override.api_key == api_key
    except credentials.UnreadableCredentialError:
        return False


def backend_health(tenant_id: int | None = None) -> BackendHealth:
    """Which backends can take the tenant's question now: configured, and not cut off by their circuit breaker."""
    if tenant_id is None:
        circuits = breaker.backend_health()
        return BackendHealth(
            local_available=circuits.is_available("local"),
            cloud_available=bool(settings.LANTERN_CLOUD_BASE_URL) and circuits.is_available("cloud"),
        )
    local = backend_config_for(tenant_id=tenant_id, name="local")
    cloud = backend_config_for(tenant_id=tenant_id, name="cloud")
    return BackendHealth(
        local_available=breaker.breaker_for("local", local.base_url).allows_call() if local.base_url else True,
        cloud_available=bool(cloud.base_url) and breaker.breaker_for("cloud", cloud.base_url).allows_call(),
    )


def scan_question(*, tenant_id: int, question: str, history: Sequence[ChatTurn] = ()) -> ConversationScan:
    """The question and each earlier turn scanned with the tenant's vocabulary; `findings` are the question's."""
    vocabulary = vocabulary_for(tenant_id)
    question_scan = pii.scan(question, vocabulary=vocabulary)
    return ConversationScan(
        findings=question_scan.findings,
        sensitivity=question_scan.sensitivity,
        failed=question_scan.failed,
        history=tuple(pii.scan(turn.content, vocabulary=vocabulary) for turn in history),
        vocabulary=vocabulary,
    )


def decide_for(
    *,
    tenant: Tenant,
    department_code: str,
    scan: pii.ScanResult,
    confidence: float,
    length: int,
    over_budget: bool,
) -> Decision:
    """The router's decision for a question and its history, with the tenant's policy and backends' health."""
    history = scan.history if isinstance(scan, ConversationScan) else ()
    return decide(
        policy=policy_for(tenant),
        entity_types=_high_entity_types(scan.findings),
        history_entity_types=_high_entity_types(finding for turn in history for finding in turn.findings),
        detection_failed=scan.failed or any(turn.failed for turn in history),
        confidence=confidence,
        length=length,
        department_code=department_code,
        over_budget=over_budget,
        health=backend_health(tenant.pk),
    )


def _high_entity_types(findings: Any) -> tuple[str, ...]:
    return tuple(sorted({finding.entity_type for finding in findings if finding.sensitivity == pii.Sensitivity.HIGH}))


def _settings_of(version: RoutingPolicy) -> PolicySettings:
    return PolicySettings(
        mode=version.mode,
        length_threshold=version.length_threshold,
        faq_confidence_threshold=version.faq_confidence_threshold,
        allow_redacted_cloud=version.allow_redacted_cloud,
        entity_actions=tuple(sorted(version.entity_actions.items())),
        department_modes=tuple(sorted(version.department_modes.items())),
        confidential_terms=tuple(version.confidential_terms),
        employee_id_pattern=version.employee_id_pattern,
    )


def _policy_of(version: RoutingPolicy) -> Policy:
    actions: Mapping[str, str] = version.entity_actions
    return Policy(
        mode=version.mode,
        version=version.version,
        length_threshold=version.length_threshold,
        faq_confidence_threshold=version.faq_confidence_threshold,
        allow_redacted_cloud=version.allow_redacted_cloud,
        refuse_entities=frozenset(entity for entity, action in actions.items() if action == EntityAction.REFUSE),
        keep_local_entities=frozenset(
            entity for entity, action in actions.items() if action == EntityAction.KEEP_LOCAL
        ),
        department_modes=tuple(sorted(version.department_modes.items())),
    )


def _plain(value: Any) -> Any:
    return [list(item) if isinstance(item, tuple) else item for item in value] if isinstance(value, tuple) else value


def _policy_key(tenant_id: int) -> str:
    return f"routing-policy:{tenant_id}"


def _backends_key(tenant_id: int) -> str:
    return f"routing-backends:{tenant_id}"


def _vocabulary_key(tenant_id: int) -> str:
    return f"pii-vocabulary:{tenant_id}"
