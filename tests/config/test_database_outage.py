"""While PostgreSQL is away, a request fails with a clear, retryable 503 in its part of the site's error shape."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError
from django.test import Client

from chatbot import openai_api, rest, views
from chatbot.api_keys import create_api_key
from tenancy.context import tenant_context


def database_gone(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")


@pytest.fixture
def client_seeing_errors(bob) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(bob.user)
    return client


def test_the_openai_api_answers_503_in_the_openai_error_shape(client_seeing_errors, bob, monkeypatch):
    monkeypatch.setattr(openai_api, "prepare_question", database_gone)
    with tenant_context(bob.tenant_id):
        key = create_api_key(membership=bob, name="sdk").secret
    response = client_seeing_errors.post(
        "/v1/chat/completions",
        data=json.dumps({"model": "lantern", "messages": [{"role": "user", "content": "vpn?"}]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    error = response.json()["error"]
    assert error["code"] == "database_unavailable" and "try again" in error["message"]


def test_the_rest_api_answers_503_in_its_error_shape(client_seeing_errors, monkeypatch):
    monkeypatch.setattr(rest, "answer", database_gone)
    response = client_seeing_errors.post("/api/questions/", {"question": "vpn?"}, content_type="application/json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"


def test_a_page_answers_503_in_plain_words(client_seeing_errors, monkeypatch):
    monkeypatch.setattr(views, "answer", database_gone)
    response = client_seeing_errors.post("/ask/", {"question": "vpn?"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 503
    assert "try again in a few seconds" in response.content.decode()


def test_other_failures_stay_a_500(client_seeing_errors, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(rest, "answer", broken)
    response = client_seeing_errors.post("/api/questions/", {"question": "vpn?"}, content_type="application/json")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
