"""decide(): where a question is answered, and the reasons, for each mode and failure."""

import pytest

from routing.router import BackendHealth, Policy, Target, decide

HEALTHY = BackendHealth(local_available=True, cloud_available=True)


def facts(**overrides):
    values = {
        "policy": Policy(mode="hybrid"),
        "entity_types": (),
        "detection_failed": False,
        "confidence": 0.1,
        "length": 400,
        "department_code": "ENG",
        "over_budget": False,
        "health": HEALTHY,
    }
    values.update(overrides)
    return values


def test_long_unmatched_question_goes_to_the_cloud_with_local_fallbacks():
    decision = decide(**facts())
    assert decision.target == Target.CLOUD
    assert decision.fallbacks == (Target.LOCAL, Target.EXTRACTIVE)
    assert "length>300" in decision.reasons


def test_sensitive_question_stays_local_and_never_falls_back_to_the_cloud():
    decision = decide(**facts(entity_types=("TW_NATIONAL_ID",)))
    assert decision.target == Target.LOCAL
    assert Target.CLOUD not in decision.chain
    assert "pii:TW_NATIONAL_ID" in decision.reasons
    assert decision.sensitive


def test_failed_detection_counts_as_sensitive():
    decision = decide(**facts(detection_failed=True))
    assert Target.CLOUD not in decision.chain
    assert "pii_check_failed" in decision.reasons


def test_confident_faq_match_stays_local():
    decision = decide(**facts(confidence=0.91))
    assert decision.target == Target.LOCAL
    assert "faq_match:0.91" in decision.reasons


def test_short_question_stays_local():
    decision = decide(**facts(length=40))
    assert decision.target == Target.LOCAL
    assert "length<=300" in decision.reasons


def test_department_over_hard_budget_stays_local():
    decision = decide(**facts(over_budget=True))
    assert decision.target == Target.LOCAL
    assert "budget_exceeded" in decision.reasons


def test_local_only_never_uses_the_cloud_even_for_long_questions():
    decision = decide(**facts(policy=Policy(mode="local_only")))
    assert Target.CLOUD not in decision.chain
    assert "mode:local_only" in decision.reasons


def test_department_override_keeps_legal_local():
    decision = decide(**facts(policy=Policy(local_only_departments=frozenset({"LEGAL"})), department_code="LEGAL"))
    assert Target.CLOUD not in decision.chain
    assert "department:LEGAL" in decision.reasons


def test_unhealthy_local_backend_falls_back_to_extractive():
    decision = decide(**facts(length=40, health=BackendHealth(local_available=False, cloud_available=True)))
    assert decision.target == Target.EXTRACTIVE
    assert "local_unhealthy" in decision.reasons


@pytest.mark.parametrize("allow_redacted", [False, True])
def test_cloud_only_sends_sensitive_text_only_redacted_and_only_when_allowed(allow_redacted):
    decision = decide(
        **facts(
            policy=Policy(mode="cloud_only", allow_redacted_cloud=allow_redacted),
            entity_types=("PHONE_NUMBER",),
        )
    )
    if allow_redacted:
        assert (decision.target, decision.redact) == (Target.CLOUD, True)
    else:
        assert Target.CLOUD not in decision.chain


def test_refuse_entities_are_refused():
    decision = decide(**facts(policy=Policy(refuse_entities=frozenset({"HEALTH"})), entity_types=("HEALTH",)))
    assert decision.target == Target.REFUSE


def test_every_chain_ends_in_something_that_cannot_leak():
    for mode in ("hybrid", "local_only", "cloud_only"):
        for entity_types in ((), ("PERSON",)):
            decision = decide(**facts(policy=Policy(mode=mode), entity_types=entity_types))
            assert decision.chain[-1] in (Target.REFUSE, Target.EXTRACTIVE)
