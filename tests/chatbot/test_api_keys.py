"""A member creates a personal API key, sees it once, and revokes it; only its hash is stored."""

import hashlib
from datetime import timedelta

from django.urls import reverse

from chatbot.api_keys import create_api_key, membership_for_api_key
from chatbot.models import ApiKey
from tenancy.context import tenant_context


def test_key_is_shown_once_and_stored_hashed(client, bob):
    client.force_login(bob.user)
    page = client.post(reverse("chatbot:api_keys"), {"name": "Open WebUI"}).content.decode()
    with tenant_context(bob.tenant_id):
        key = ApiKey.objects.get()
    secret = page.split('id="new-key">', 1)[1].split("<", 1)[0]
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in client.get(reverse("chatbot:api_keys")).content.decode()
    assert membership_for_api_key(secret).user_id == bob.user_id


def test_revoked_or_forged_keys_open_nothing(client, bob, carol):
    with tenant_context(bob.tenant_id):
        new = create_api_key(membership=bob, name="cli")
    client.force_login(bob.user)
    client.post(reverse("chatbot:api_keys"), {"revoke": new.api_key.pk})
    assert membership_for_api_key(new.secret) is None
    forged = new.secret.replace(f"-{bob.user_id}-", f"-{carol.user_id}-")
    assert membership_for_api_key(forged) is None
    assert membership_for_api_key("sk-not-ours") is None


def test_last_used_is_written_at_most_once_a_minute(bob):
    with tenant_context(bob.tenant_id):
        new = create_api_key(membership=bob, name="cli")

    def last_used():
        with tenant_context(bob.tenant_id):
            return ApiKey.objects.get(pk=new.api_key.pk).last_used_at

    membership_for_api_key(new.secret)
    first = last_used()
    membership_for_api_key(new.secret)
    assert first is not None
    assert last_used() == first

    with tenant_context(bob.tenant_id):
        ApiKey.objects.filter(pk=new.api_key.pk).update(last_used_at=first - timedelta(minutes=2))
    membership_for_api_key(new.secret)
    assert last_used() > first - timedelta(minutes=2)
