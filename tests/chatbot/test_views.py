"""The chat page: ask, see the answer with its source, and nothing of another tenant."""

from django.urls import reverse

from chatbot.models import Conversation, Feedback
from chatbot.pipeline import answer
from tenancy.context import tenant_context


def test_employee_asks_in_the_browser_and_sees_answer_and_source(client, bob, acme_faqs):
    client.force_login(bob.user)
    response = client.post(reverse("chatbot:ask"), {"question": "How do I reset my password?"}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert "sso.acme.example/reset" in page
    assert "How do I reset my password?" in page
    assert "[1]" in page


def test_asking_is_post_only(client, bob):
    client.force_login(bob.user)
    assert client.get(reverse("chatbot:ask"), {"question": "VPN?"}).status_code == 405


def test_another_tenants_conversation_answers_404_and_leaks_nothing(client, bob, carol, acme_faqs):
    with tenant_context(bob.tenant_id):
        secret = Conversation.objects.create(tenant_id=bob.tenant_id, user=bob.user, title="bob's secret")
    client.force_login(carol.user)
    response = client.get(reverse("chatbot:conversation", args=[secret.pk]))
    assert response.status_code == 404
    assert "secret" not in response.content.decode()
    response = client.post(reverse("chatbot:ask"), {"question": "VPN?", "conversation": str(secret.pk)})
    assert response.status_code == 404


def test_a_colleagues_conversation_is_not_mine_either(client, alice, bob):
    with tenant_context(bob.tenant_id):
        theirs = Conversation.objects.create(tenant_id=bob.tenant_id, user=bob.user, title="bob's")
    client.force_login(alice.user)
    assert client.get(reverse("chatbot:conversation", args=[theirs.pk])).status_code == 404


def test_empty_question_shows_a_message_instead_of_an_error(client, bob):
    client.force_login(bob.user)
    response = client.post(reverse("chatbot:ask"), {"question": "   "}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Please type a question." in response.content.decode()


def test_a_rating_that_says_neither_helpful_nor_not_is_refused_and_not_stored(client, bob, acme_faqs):
    with tenant_context(bob.tenant_id):
        message_id = answer(membership=bob, question="How do I reset my password?").message_id
    client.force_login(bob.user)
    url = reverse("chatbot:feedback", args=[message_id])
    by_script = client.post(url, {"comment": "?"}, HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="en")
    by_page = client.post(url, {}, HTTP_ACCEPT_LANGUAGE="en")
    assert by_script.status_code == by_page.status_code == 400
    assert "This field is required." in by_script.json()["error"]["message"]
    with tenant_context(bob.tenant_id):
        assert not Feedback.objects.exists()
