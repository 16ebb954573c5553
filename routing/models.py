"""A tenant's routing policy, one row per version, and its own backend servers."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from routing import credentials
from tenancy.models import Mode, TenantOwnedModel


class EntityAction(models.TextChoices):
    KEEP_LOCAL = "keep_local", "Keep local"
    REDACT = "redact", "Redact before the cloud"
    REFUSE = "refuse", "Refuse"


class RoutingPolicy(TenantOwnedModel):
    """One version of a tenant's routing policy; every save adds a version, the highest is in force."""

    version = models.PositiveIntegerField()
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.HYBRID)
    length_threshold = models.PositiveIntegerField(default=300)
    faq_confidence_threshold = models.FloatField(default=0.5)
    allow_redacted_cloud = models.BooleanField(default=False)
    # {"HEALTH": "refuse", "PERSON": "redact", ...}; kinds not listed follow allow_redacted_cloud.
    entity_actions = models.JSONField(default=dict, blank=True)
    # {"LEGAL": "local_only", ...}: a department's mode instead of the tenant's.
    department_modes = models.JSONField(default=dict, blank=True)
    confidential_terms = models.JSONField(default=list, blank=True)
    employee_id_pattern = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "version"], name="routing_policy_version_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return f"routing policy v{self.version}"


class BackendOverride(TenantOwnedModel):
    """A tenant's own local or cloud server, used instead of the installation's LANTERN_* settings."""

    class Name(models.TextChoices):
        LOCAL = "local", "Local"
        CLOUD = "cloud", "Cloud"

    name = models.CharField(max_length=10, choices=Name.choices)
    base_url = models.URLField(max_length=500, blank=True)
    model = models.CharField(max_length=200, blank=True)
    # A Fernet token (routing.credentials); the key itself is never stored or shown.
    encrypted_api_key = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="routing_backend_unique_per_tenant")]

    def __str__(self) -> str:
        return f"{self.name} backend override"

    @property
    def has_api_key(self) -> bool:
        """Whether a key is stored."""
        return bool(self.encrypted_api_key)

    @property
    def api_key(self) -> str:
        """The stored key in clear, for the call to the backend only; raises UnreadableCredentialError."""
        return credentials.decrypt(self.encrypted_api_key)

    @api_key.setter
    def api_key(self, value: str) -> None:
        self.encrypted_api_key = credentials.encrypt(value)

    @property
    def api_key_is_readable(self) -> bool:
        """Whether the stored key decrypts with the keys in force (False also when none is stored)."""
        try:
            return bool(self.api_key)
        except credentials.UnreadableCredentialError:
            return False
