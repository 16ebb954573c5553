"""`manage.py scan_pii`: the same scan as a question's, from the command line."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from routing.policy import PolicySettings, save_policy


def scan_pii(*arguments: str) -> str:
    output = StringIO()
    call_command("scan_pii", *arguments, stdout=output)
    return output.getvalue()


def test_json_lists_type_offsets_and_score_of_each_finding(acme, bob):
    text = "Bob Chen 的手機 0912-345-678"
    findings = json.loads(scan_pii("--tenant", "acme", "--json", text))
    assert [(finding["type"], text[finding["start"] : finding["end"]]) for finding in findings] == [
        ("PERSON", "Bob Chen"),
        ("PHONE_NUMBER", "0912-345-678"),
    ]
    assert all(0 < finding["score"] <= 1 for finding in findings)


def test_tenant_terms_and_employee_id_pattern_are_found(acme, in_tenant):
    with in_tenant(acme):
        save_policy(
            tenant=acme,
            policy_settings=PolicySettings(confidential_terms=("獵鷹計畫",), employee_id_pattern="E[0-9]{5}"),
        )
    findings = json.loads(scan_pii("--tenant", "acme", "--json", "獵鷹計畫 E12345"))
    assert [(finding["type"], finding["start"], finding["end"]) for finding in findings] == [
        ("CONFIDENTIAL_TERM", 0, 4),
        ("EMPLOYEE_ID", 5, 11),
    ]


def test_plain_output_names_kinds_and_offsets_but_not_values(acme):
    output = scan_pii("--tenant", "acme", "My national ID is A123456789")
    assert "TW_NATIONAL_ID\t18-28" in output
    assert "A123456789" not in output
    assert "1 findings; sensitivity high." in output


def test_an_unknown_tenant_is_an_error(db):
    with pytest.raises(CommandError):
        scan_pii("--tenant", "nobody", "text")
