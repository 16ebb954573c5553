"""Sending a budget alert: an e-mail to the tenant's finance people and, when configured, a webhook.

Delivery is idempotent: each channel is marked when it succeeds and is not sent again, so running the task
twice (a retry, a redelivered message) sends nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from costing.models import BudgetAlert, BudgetLevel
from costing.profiles import costing_settings
from tenancy.models import Membership, Role

logger = logging.getLogger(__name__)

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class AlertDelivery:
    """What delivering one alert did."""

    alert_id: int
    emailed_to: tuple[str, ...]
    webhook_status: int | None
    webhook_error: str


def alert_recipients(*, tenant_id: int) -> list[str]:
    """The configured alert addresses, then every finance member's and tenant admin's e-mail address."""
    configured = costing_settings(tenant_id=tenant_id).alert_email_list
    members = (
        Membership.objects.filter(role__in=[Role.FINANCE, Role.TENANT_ADMIN])
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    return list(dict.fromkeys([*configured, *members]))


def webhook_payload(alert: BudgetAlert) -> dict[str, Any]:
    """The JSON body posted to the tenant's webhook for an alert."""
    return {
        "event": "budget_exceeded",
        "tenant": alert.tenant.slug,
        "department": alert.department.code,
        "month": alert.month.strftime("%Y-%m"),
        "level": alert.level,
        "limit": str(alert.limit),
        "currency": alert.currency,
        "spent_usd": str(alert.spent_usd.quantize(_CENT)),
        "alert_id": alert.pk,
    }


def _email_text(alert: BudgetAlert) -> tuple[str, str]:
    with translation.override(settings.LANGUAGE_CODE):
        level = _("hard limit reached") if alert.level == BudgetLevel.HARD_EXCEEDED else _("soft limit reached")
        subject = _("Lantern budget alert: %(department)s, %(level)s") % {
            "department": alert.department.code,
            "level": level,
        }
        lines = [
            _("Department: %(department)s") % {"department": f"{alert.department.code} {alert.department.name}"},
            _("Month: %(month)s") % {"month": alert.month.strftime("%Y-%m")},
            _("Limit: %(limit)s %(currency)s") % {"limit": alert.limit, "currency": alert.currency},
            _("Metered spend: %(spent)s USD") % {"spent": alert.spent_usd.quantize(_CENT)},
        ]
        if alert.level == BudgetLevel.HARD_EXCEEDED:
            lines.append(_("Cloud answers are stopped for this department until next month or a higher limit."))
    return str(subject), "\n".join(str(line) for line in lines)


def deliver_budget_alert(*, alert_id: int) -> AlertDelivery:
    """Send an alert's e-mail and webhook, each at most once."""
    with transaction.atomic():
        alert = BudgetAlert.objects.select_for_update().select_related("department", "tenant").get(pk=alert_id)
        if alert.emailed_at is None:
            recipients = alert_recipients(tenant_id=alert.tenant_id)
            if recipients:
                subject, body = _email_text(alert)
                try:
                    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
                except OSError:
                    logger.exception("budget alert %s: e-mail failed", alert.pk)
                else:
                    alert.emailed_at = timezone.now()
                    alert.email_recipients = ", ".join(recipients)
        webhook_status = None
        url = costing_settings(tenant_id=alert.tenant_id).alert_webhook_url
        if url and alert.webhook_sent_at is None:
            webhook_status, alert.webhook_error = _post_webhook(url, webhook_payload(alert))
            if not alert.webhook_error:
                alert.webhook_sent_at = timezone.now()
        alert.save(update_fields=["emailed_at", "email_recipients", "webhook_sent_at", "webhook_error"])
    emailed = tuple(alert.email_recipients.split(", ")) if alert.email_recipients else ()
    return AlertDelivery(
        alert_id=alert.pk, emailed_to=emailed, webhook_status=webhook_status, webhook_error=alert.webhook_error
    )


def _post_webhook(url: str, payload: dict[str, Any]) -> tuple[int | None, str]:
    timeout = float(getattr(settings, "LANTERN_WEBHOOK_TIMEOUT_SECONDS", 5.0))
    try:
        response = httpx.post(url, json=payload, timeout=timeout, follow_redirects=False)
    except httpx.HTTPError as error:
        logger.warning("budget alert webhook failed: %s", type(error).__name__)
        return None, f"{type(error).__name__}"[:300]
    if response.is_success:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}"
