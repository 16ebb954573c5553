"""One question travels the whole way: scan, search, decide, generate, meter, record."""

import json

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from chatbot.models import Message
from chatbot.pipeline import QuestionError, answer
from costing.models import UsageRecord
from tenancy.context import tenant_context


def ask(membership, question, **kwargs):
    with tenant_context(membership.tenant_id):
        return answer(membership=membership, question=question, **kwargs)


def test_employee_gets_their_tenants_best_faq_answer_with_the_source(bob, acme_faqs, globex_faqs):
    reply = ask(bob, "how can I connect to the vpn from home")
    assert "GlobalProtect" in reply.text
    assert "FortiClient" not in reply.text
    assert reply.sources[0].id == acme_faqs["vpn"].pk
    assert reply.sources[0].external_id == "IT-VPN-1"
    assert reply.route in {"local", "extractive"}


def test_question_leaves_one_audit_and_one_usage_record_tied_together(bob, acme_faqs):
    reply = ask(bob, "How do I reset my password?")
    with tenant_context(bob.tenant_id):
        event = AuditEvent.objects.get(kind="question")
        usage = UsageRecord.objects.get()
        message = Message.objects.get(role="assistant")
    assert event.pk == reply.audit_id
    assert event.correlation_id == usage.correlation_id == message.correlation_id == reply.correlation_id
    assert usage.department_id == bob.department_id
    assert event.department_code == "IT"
    assert event.actor_username == "bob"
    assert event.payload["route"] == reply.route
    assert event.payload["sources"][0]["external_id"] == "IT-PW-1"


def test_a_question_with_no_good_match_gets_an_honest_i_dont_know(bob, acme_faqs):
    reply = ask(bob, "What is the airspeed velocity of an unladen swallow?")
    assert reply.sources == ()
    assert "HR" in reply.text or "IT" in reply.text
    assert "GlobalProtect" not in reply.text


def test_chinese_question_finds_the_chinese_entry(bob, acme_faqs):
    reply = ask(bob, "請問特休假有幾天")
    assert reply.sources and reply.sources[0].id == acme_faqs["leave"].pk


def test_the_other_tenants_entries_are_never_retrieved(carol, acme_faqs):
    reply = ask(carol, "How do I reset my password?")
    assert all(hit.external_id != "IT-PW-1" for hit in reply.sources)
    assert "sso.acme.example" not in reply.text


@pytest.mark.parametrize("question", ["", "   ", "x" * 5000, "hello\x00world"])
def test_unaskable_questions_are_refused_with_a_clear_error_and_nothing_is_stored(bob, acme_faqs, question):
    with pytest.raises(QuestionError):
        ask(bob, question)
    with tenant_context(bob.tenant_id):
        assert not AuditEvent.objects.filter(kind="question").exists()
        assert not UsageRecord.objects.exists()
        assert not Message.objects.exists()


def test_ask_command_prints_the_pipeline_result_as_json(bob, acme_faqs, capsys):
    call_command("ask", "--tenant", "acme", "--user", "bob", "--json", "How do I reset my password?")
    result = json.loads(capsys.readouterr().out)
    assert {"answer", "route", "reasons", "confidence", "sources", "audit_id"} <= set(result)
    assert result["sources"][0]["external_id"] == "IT-PW-1"
    assert result["sources"][0]["id"] == acme_faqs["password"].pk
    with tenant_context(bob.tenant_id):
        assert AuditEvent.objects.get(kind="question").pk == result["audit_id"]
        assert AuditEvent.objects.get(kind="question").channel == "cli"


def test_ask_command_refuses_a_user_of_another_tenant(bob, carol, acme_faqs):
    with pytest.raises(CommandError, match="not a member"):
        call_command("ask", "--tenant", "acme", "--user", "carol", "VPN?")
