"""The routing policy page: tenant admins only; every save a new version; keys never shown back in full."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from routing.models import BackendOverride, RoutingPolicy


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def policy_form(**changes):
    values = {
        "form": "policy",
        "mode": "hybrid",
        "length_threshold": "300",
        "faq_confidence_threshold": "0.5",
        "confidential_terms": "Project Falcon\n獵鷹計畫",
        "employee_id_pattern": "E[0-9]{5}",
        "entity_HEALTH": "refuse",
        "department_HR": "local_only",
    }
    values.update(changes)
    return values


def test_an_employee_cannot_open_the_page(client, bob):
    client.force_login(bob.user)
    assert client.get("/routing/policy/").status_code == 403


def test_the_admin_saves_versions_each_audited(client, alice, in_tenant):
    client.force_login(alice.user)
    assert client.get("/routing/policy/").status_code == 200
    assert client.post("/routing/policy/", policy_form()).status_code == 302
    assert client.post("/routing/policy/", policy_form(mode="local_only")).status_code == 302
    with in_tenant(alice.tenant):
        versions = list(RoutingPolicy.objects.order_by("version"))
        events = AuditEvent.objects.filter(kind="policy_changed").count()
    assert [(version.version, version.mode) for version in versions] == [(1, "hybrid"), (2, "local_only")]
    assert versions[0].entity_actions == {"HEALTH": "refuse"}
    assert versions[0].department_modes == {"HR": "local_only"}
    assert versions[0].confidential_terms == ["Project Falcon", "獵鷹計畫"]
    assert events == 2
    page = client.get("/routing/policy/").content.decode()
    assert "v2" in page


def test_an_invalid_pattern_is_shown_and_nothing_is_saved(client, alice, in_tenant):
    client.force_login(alice.user)
    response = client.post("/routing/policy/", policy_form(employee_id_pattern="E[0-9"))
    assert response.status_code == 400
    assert "Not a valid pattern" in response.content.decode()
    with in_tenant(alice.tenant):
        assert not RoutingPolicy.objects.exists()


def test_a_backend_key_is_stored_encrypted_and_never_shown_again(client, alice, in_tenant):
    client.force_login(alice.user)
    response = client.post(
        "/routing/policy/",
        {
            "form": "cloud",
            "cloud-name": "cloud",
            "cloud-base_url": "https://gateway.acme.example/v1",
            "cloud-model": "acme-gpt",
            "cloud-api_key": "sk-acme-very-secret-9876",
        },
    )
    assert response.status_code == 302
    page = client.get("/routing/policy/").content.decode()
    assert "sk-acme-very-secret" not in page and "9876" not in page
    assert "API key:" in page or "API 金鑰" in page
    with in_tenant(alice.tenant):
        override = BackendOverride.objects.get(name="cloud")
    assert override.api_key == "sk-acme-very-secret-9876"
    assert "9876" not in override.encrypted_api_key
