"""Conversations, their messages, feedback on answers, and the API keys that open the chat APIs."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from tenancy.models import TenantOwnedModel


class Conversation(TenantOwnedModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200, blank=True)
    hidden = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"


class Message(TenantOwnedModel):
    class Role(models.TextChoices):
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"

    class Status(models.TextChoices):
        COMPLETE = "complete", "Complete"
        INTERRUPTED = "interrupted", "Interrupted"  # the reader left or stopped it mid-stream
        # A backend broke off mid-stream with no fallback left; today the chain always ends in one, but
        # messages stored so remain readable.
        FAILED = "failed", "Failed"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=Role.choices)
    text = models.TextField()
    route = models.CharField(max_length=20, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    sources = models.JSONField(default=list, blank=True)
    confidence = models.FloatField(null=True)
    sensitive = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.COMPLETE)
    correlation_id = models.UUIDField(default=uuid.uuid4)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:60]}"


class Feedback(TenantOwnedModel):
    """One person's rating of one answer; rating again replaces it."""

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    helpful = models.BooleanField()
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now=True)


class ApiKey(TenantOwnedModel):
    """A personal key for the OpenAI-compatible and REST APIs; only its SHA-256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=24)
    secret_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
