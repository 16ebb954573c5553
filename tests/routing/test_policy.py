"""Routing policies: versions with audit events, the cached policy in force, department overrides, the
tenant's vocabulary, backend overrides whose keys are never shown back, and reasons in plain words."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from routing import explain, pii
from routing.explanations import summary
from routing.models import BackendOverride, RoutingPolicy
from routing.policy import (
    PolicySettings,
    backend_config_for,
    backend_health,
    decide_for,
    policy_for,
    policy_settings_for,
    save_backend_override,
    save_policy,
    scan_question,
    vocabulary_for,
)
from routing.router import Target


def test_a_tenant_that_never_saved_a_policy_follows_its_mode_with_the_classic_thresholds(acme):
    policy = policy_for(acme)
    assert (policy.mode, policy.version, policy.length_threshold) == ("hybrid", 0, 300)
    assert not policy.allow_redacted_cloud


def test_every_save_is_a_new_version_with_an_audit_event_naming_what_changed(acme, alice, in_tenant):
    with in_tenant(acme):
        first = save_policy(
            tenant=acme,
            policy_settings=PolicySettings(mode="cloud_only", allow_redacted_cloud=True),
            actor_user_id=alice.user_id,
            actor_username="alice",
        )
        second = save_policy(
            tenant=acme,
            policy_settings=PolicySettings(mode="cloud_only", allow_redacted_cloud=True, length_threshold=500),
            actor_user_id=alice.user_id,
            actor_username="alice",
        )
        events = list(AuditEvent.objects.filter(kind="policy_changed").order_by("seq"))
        versions = list(RoutingPolicy.objects.order_by("version").values_list("version", "mode", "length_threshold"))
    assert (first.version, second.version) == (1, 2)
    assert versions == [(1, "cloud_only", 300), (2, "cloud_only", 500)]
    assert [event.payload["version"] for event in events] == [1, 2]
    assert events[0].payload["changes"]["mode"] == {"from": "hybrid", "to": "cloud_only"}
    assert events[1].payload["changes"] == {"length_threshold": {"from": 300, "to": 500}}
    assert events[1].actor_username == "alice"


def test_the_policy_in_force_is_cached_and_a_save_replaces_it_at_once(acme, in_tenant, django_assert_num_queries):
    with in_tenant(acme):
        save_policy(tenant=acme, policy_settings=PolicySettings(mode="local_only"))
        assert policy_for(acme).version == 1
        with django_assert_num_queries(0):
            assert policy_for(acme).mode == "local_only"
        save_policy(tenant=acme, policy_settings=PolicySettings(mode="hybrid", faq_confidence_threshold=0.8))
        policy = policy_for(acme)
    assert (policy.version, policy.mode, policy.faq_confidence_threshold) == (2, "hybrid", 0.8)


def test_invalid_settings_are_refused_without_a_new_version(acme, in_tenant):
    with in_tenant(acme):
        with pytest.raises(ValidationError) as raised:
            save_policy(
                tenant=acme,
                policy_settings=PolicySettings(
                    mode="sometimes", employee_id_pattern="E[0-9", faq_confidence_threshold=2
                ),
            )
        assert not RoutingPolicy.objects.exists()
    assert {"mode", "employee_id_pattern", "faq_confidence_threshold"} <= set(raised.value.message_dict)


def test_a_tenants_policy_is_its_own(acme, globex, in_tenant):
    with in_tenant(acme):
        save_policy(tenant=acme, policy_settings=PolicySettings(mode="local_only"))
    with in_tenant(globex):
        assert policy_for(globex).mode == "hybrid"
        assert not RoutingPolicy.objects.exists()


def test_department_override_keeps_legal_local_while_others_use_the_cloud(acme, settings, in_tenant):
    settings.LANTERN_CLOUD_BASE_URL = "http://127.0.0.1:9/v1"
    facts = {"scan": pii.ScanResult((), pii.Sensitivity.NONE), "confidence": 0.1, "length": 400, "over_budget": False}
    with in_tenant(acme):
        save_policy(tenant=acme, policy_settings=PolicySettings(department_modes=(("legal", "local_only"),)))
        legal = decide_for(tenant=acme, department_code="LEGAL", **facts)
        engineering = decide_for(tenant=acme, department_code="ENG", **facts)
    assert Target.CLOUD not in legal.chain
    assert "department:LEGAL" in legal.reasons
    assert engineering.target == Target.CLOUD


def test_department_override_can_send_a_department_to_the_cloud_only_mode(acme, settings, in_tenant):
    settings.LANTERN_CLOUD_BASE_URL = "http://127.0.0.1:9/v1"
    with in_tenant(acme):
        save_policy(tenant=acme, policy_settings=PolicySettings(department_modes=(("MKT", "cloud_only"),)))
        decision = decide_for(
            tenant=acme,
            department_code="MKT",
            scan=pii.ScanResult((), pii.Sensitivity.NONE),
            confidence=0.95,
            length=20,
            over_budget=False,
        )
    assert decision.target == Target.CLOUD
    assert "department:MKT" in decision.reasons


def test_per_entity_actions_refuse_or_keep_local_what_the_admin_chose(acme, alice, settings, in_tenant):
    settings.LANTERN_CLOUD_BASE_URL = "http://127.0.0.1:9/v1"
    with in_tenant(acme):
        save_policy(
            tenant=acme,
            policy_settings=PolicySettings(
                mode="cloud_only",
                allow_redacted_cloud=True,
                entity_actions=(("HEALTH", "refuse"), ("TW_NATIONAL_ID", "keep_local")),
            ),
        )

        def decision_for(question):
            scan = scan_question(tenant_id=acme.pk, question=question)
            return decide_for(
                tenant=acme, department_code="HR", scan=scan, confidence=0.1, length=len(question), over_budget=False
            )

        health = decision_for("我最近得了憂鬱症，可以請長假嗎？")
        national_id = decision_for("My national ID is A123456789, can HR update it?")
        phone = decision_for("Please call me at 0912-345-678 about my laptop.")
    assert health.target == Target.REFUSE and "policy:refuse" in health.reasons
    assert Target.CLOUD not in national_id.chain and "policy:no_cloud_for_sensitive" in national_id.reasons
    assert (phone.target, phone.redact) == (Target.CLOUD, True)


def test_sensitive_history_keeps_a_harmless_question_away_from_the_cloud(acme, alice, settings, in_tenant):
    from routing.backends import ChatTurn

    settings.LANTERN_CLOUD_BASE_URL = "http://127.0.0.1:9/v1"
    question = "And how long does the whole approval process usually take from start to finish? " * 5
    with in_tenant(acme):
        scan = scan_question(
            tenant_id=acme.pk, question=question, history=(ChatTurn("user", "王愛麗的身分證是 A123456789"),)
        )
        decision = decide_for(
            tenant=acme, department_code="HR", scan=scan, confidence=0.1, length=len(question), over_budget=False
        )
    assert scan.findings == ()
    assert scan.history_entity_types == ("PERSON", "TW_NATIONAL_ID")
    assert decision.sensitive and Target.CLOUD not in decision.chain
    assert "history_pii:TW_NATIONAL_ID" in decision.reasons


def test_vocabulary_has_member_names_confidential_terms_and_the_employee_id_pattern(acme, alice, bob, in_tenant):
    with in_tenant(acme):
        save_policy(
            tenant=acme,
            policy_settings=PolicySettings(
                confidential_terms=("Project Falcon", " 獵鷹計畫 ", ""), employee_id_pattern="E[0-9]{5}"
            ),
        )
        vocabulary = vocabulary_for(acme.pk)
        scan = scan_question(tenant_id=acme.pk, question="Bob Chen 的 獵鷹計畫 工號 E12345 和 Project Falcon")
    assert {"王愛麗", "Bob Chen"} <= set(vocabulary.person_names)
    assert vocabulary.confidential_terms == ("Project Falcon", "獵鷹計畫")
    assert vocabulary.employee_id_pattern == "E[0-9]{5}"
    assert scan.entity_types == ("CONFIDENTIAL_TERM", "EMPLOYEE_ID", "PERSON")


def test_a_tenants_backend_override_replaces_the_installation_default_and_its_key_is_never_shown(
    acme, globex, alice, settings, in_tenant
):
    settings.LANTERN_CLOUD_BASE_URL = "https://api.example.com/v1"
    settings.LANTERN_CLOUD_API_KEY = "sk-installation"
    with in_tenant(acme):
        override = save_backend_override(
            tenant_id=acme.pk,
            name="cloud",
            base_url="https://gateway.acme.example/v1",
            model="acme-gpt",
            api_key="sk-acme-secret-1234",
            actor_user_id=alice.user_id,
            actor_username="alice",
        )
        config = backend_config_for(tenant_id=acme.pk, name="cloud")
        save_backend_override(
            tenant_id=acme.pk,
            name="cloud",
            base_url="https://gateway.acme.example/v1",
            model="acme-gpt-2",
            api_key=None,
        )
        kept = backend_config_for(tenant_id=acme.pk, name="cloud")
        events = list(AuditEvent.objects.filter(kind="policy_changed").order_by("seq"))
    with in_tenant(globex):
        other = backend_config_for(tenant_id=globex.pk, name="cloud")
    assert (config.base_url, config.model, config.api_key) == (
        "https://gateway.acme.example/v1",
        "acme-gpt",
        "sk-acme-secret-1234",
    )
    assert (kept.model, kept.api_key) == ("acme-gpt-2", "sk-acme-secret-1234")
    assert (other.base_url, other.api_key) == ("https://api.example.com/v1", "sk-installation")
    assert override.has_api_key and override.api_key_is_readable
    assert "sk-acme-secret" not in override.encrypted_api_key
    assert events[0].payload["changes"]["backend:cloud"]["api_key"] == "changed"
    assert "sk-acme-secret" not in str([event.payload for event in events])


def test_a_tenant_without_a_cloud_has_no_cloud_in_its_health(acme, settings, in_tenant):
    settings.LANTERN_CLOUD_BASE_URL = ""
    with in_tenant(acme):
        assert not backend_health(acme.pk).cloud_available
        save_backend_override(tenant_id=acme.pk, name="cloud", base_url="http://127.0.0.1:9/v1", model="m", api_key="k")
        assert backend_health(acme.pk).cloud_available
        assert BackendOverride.objects.count() == 1


def test_policy_settings_round_trip_through_a_version(acme, in_tenant):
    chosen = PolicySettings(
        mode="cloud_only",
        length_threshold=120,
        faq_confidence_threshold=0.7,
        allow_redacted_cloud=True,
        entity_actions=(("HEALTH", "refuse"), ("PERSON", "redact")),
        department_modes=(("LEGAL", "local_only"),),
        confidential_terms=("merger",),
        employee_id_pattern="E[0-9]{5}",
    )
    with in_tenant(acme):
        save_policy(tenant=acme, policy_settings=chosen)
        assert policy_settings_for(tenant=acme) == chosen


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "your question contains an ID number"),
        ("zh-hant", "您的問題含有身分證字號"),
    ],
)
def test_reasons_in_plain_words_in_both_languages(language, expected):
    sentences = explain(["pii:TW_NATIONAL_ID", "mode:local_only", "no-such-code"], language)
    assert sentences[0] == expected
    assert len(sentences) == 2


def test_every_reason_the_router_gives_has_plain_words():
    codes = [
        "pii:PERSON",
        "history_pii:HEALTH",
        "pii_check_failed",
        "policy:refuse",
        "policy:no_cloud_for_sensitive",
        "mode:local_only",
        "mode:cloud_only",
        "department:LEGAL",
        "faq_match:0.91",
        "length<=300",
        "length>300",
        "budget_exceeded",
        "cloud_unavailable",
        "local_unhealthy",
        "fallback:local",
    ]
    for language in ("en", "zh-hant"):
        assert len(explain(codes, language)) == len(codes)


def test_summary_says_where_and_why():
    assert (
        summary("local", ["pii:TW_NATIONAL_ID"], "en")
        == "Answered on our own servers because your question contains an ID number."
    )
    assert summary("local", ["pii:TW_NATIONAL_ID"], "zh-hant") == "由公司自己的伺服器回答，因為您的問題含有身分證字號。"
