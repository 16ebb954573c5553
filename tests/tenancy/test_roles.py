"""Pages resolve the tenant from the logged-in user and check roles."""

import pytest
from django.core.checks import run_checks
from django.urls import reverse


def test_visitor_is_sent_to_login(client, db):
    response = client.get(reverse("chatbot:chat"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_member_sees_their_tenant_on_the_chat_page(client, bob):
    client.force_login(bob.user)
    response = client.get(reverse("chatbot:chat"))
    assert response.status_code == 200
    assert response.context["membership"].tenant.slug == "acme"
    assert "Acme" in response.content.decode()


def test_user_without_membership_is_forbidden(client, django_user_model, db):
    stranger = django_user_model.objects.create_user("stranger", password="x-pass-123")
    client.force_login(stranger)
    assert client.get(reverse("chatbot:chat")).status_code == 403


def test_login_with_password(client, bob):
    response = client.post(reverse("login"), {"username": "bob", "password": "pw-bob-1"})
    assert response.status_code == 302
    assert client.get(reverse("chatbot:chat")).status_code == 200


@pytest.mark.django_db
def test_application_role_cannot_bypass_row_level_security():
    errors = [error for error in run_checks(databases=["default"]) if error.id.startswith("tenancy.")]
    assert errors == []


@pytest.mark.django_db(databases=["default", "owner"])
def test_the_check_flags_a_role_that_can_bypass_row_level_security():
    from django.db import connections

    from tenancy.checks import role_bypass_errors

    assert {error.id for error in role_bypass_errors(connections["owner"])} >= {"tenancy.E001"}
