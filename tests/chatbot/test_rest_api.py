"""The REST API: conversations, questions and feedback by session or API key, errors in one shape, a schema."""

from django.urls import reverse

from chatbot.api_keys import create_api_key
from tenancy.context import tenant_context


def bearer(membership) -> dict:
    with tenant_context(membership.tenant_id):
        secret = create_api_key(membership=membership, name="script").secret
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_a_script_asks_lists_renames_and_rates_with_an_api_key(client, bob, acme_faqs):
    headers = bearer(bob)
    asked = client.post(
        reverse("api:questions"),
        {"question": "How do I reset my password?"},
        content_type="application/json",
        **headers,
    )
    assert asked.status_code == 201
    body = asked.json()
    assert body["sources"][0]["external_id"] == "IT-PW-1"
    conversations = client.get(reverse("api:conversations"), **headers).json()
    assert [item["id"] for item in conversations] == [body["conversation_id"]]
    renamed = client.patch(
        reverse("api:conversation", args=[body["conversation_id"]]),
        {"title": "Password"},
        content_type="application/json",
        **headers,
    )
    assert renamed.json()["title"] == "Password"
    rated = client.post(
        reverse("api:feedback", args=[body["message_id"]]),
        {"helpful": False, "comment": "old link"},
        content_type="application/json",
        **headers,
    )
    assert rated.status_code == 201


def test_errors_share_one_shape(client, bob, carol, acme_faqs):
    assert client.get(reverse("api:conversations")).json()["error"]["code"] == "not_authenticated"
    headers = bearer(bob)
    empty = client.post(reverse("api:questions"), {"question": " "}, content_type="application/json", **headers)
    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == "invalid_question"
    client.force_login(carol.user)
    assert client.get(reverse("api:conversation", args=[999999])).json()["error"]["code"] == "not_found"


def test_schema_and_docs_are_served(client, bob):
    client.force_login(bob.user)
    schema = client.get(reverse("schema"))
    assert schema.status_code == 200
    assert b"/api/questions/" in schema.content
    docs = client.get(reverse("api_docs")).content.decode()
    assert "swagger" in docs.lower()
    assert "cdn" not in docs.lower()


def test_the_schema_documents_each_error_in_the_one_error_shape(client):
    schema = client.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operations = {
        (method, path): operation for path, item in schema["paths"].items() for method, operation in item.items()
    }
    error = {"$ref": "#/components/schemas/Error"}
    for operation in operations.values():
        for status in ("401", "403"):
            assert operation["responses"][status]["content"]["application/json"]["schema"] == error
    asking = operations["post", "/api/questions/"]["responses"]
    assert {"400", "404", "413", "415", "429"} <= set(asking)
    assert "404" in operations["get", "/api/conversations/{conversation_id}/"]["responses"]
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]


def test_a_url_the_api_does_not_have_answers_in_the_error_shape(client, bob):
    response = client.get("/api/conversations/not-a-number/", **bearer(bob))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
