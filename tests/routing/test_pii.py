"""routing.pii: what a scan finds, how sensitive it is, redaction and restoring, failing closed."""

from __future__ import annotations

import logging
import socket
import time

import pytest
import spacy

from routing import pii
from routing.recognizers import SpecialCategoryRecognizer

ACME = pii.TenantVocabulary(
    person_names=("王小明", "陳美玲", "Alice Chen", "Bob Lin"),
    confidential_terms=("Project Falcon", "鳳凰計畫", "layoff", "merger", "裁員"),
    employee_id_pattern=r"E\d{6}",
)


def kinds(text: str, vocabulary: pii.TenantVocabulary = ACME) -> list[tuple[str, str]]:
    """(kind, value) for every finding in text."""
    return [(f.entity_type, text[f.start : f.end]) for f in pii.scan(text, vocabulary=vocabulary).findings]


@pytest.mark.parametrize(
    "question",
    [
        "請問年假有幾天？",
        "How do I apply for sick leave?",
        "When is payday?",
        "薪水什麼時候發？",
        "病假需要附診斷證明嗎？",
        "我想請問病假怎麼請？",
        "How many vacation days do I get after 3 years?",
        "My account is locked after too many attempts.",
        "pip install fails behind the proxy, what should I do?",
    ],
)
def test_ordinary_faq_questions_have_no_findings(question):
    result = pii.scan(question, vocabulary=ACME)
    assert result.findings == ()
    assert result.sensitivity == pii.Sensitivity.NONE
    assert not result.failed


@pytest.mark.parametrize(
    ("disclosure", "entity_type", "term"),
    [
        ("我得了憂鬱症，可以申請留職停薪嗎？", "HEALTH", "憂鬱症"),
        ("懷孕了，產檢假要怎麼請？", "HEALTH", "懷孕"),
        ("下週要開刀，可以請幾天病假？", "HEALTH", "開刀"),
        ("我太太罹癌，我可以請家庭照顧假嗎？", "HEALTH", "罹癌"),
        ("I was diagnosed with depression, can I take unpaid leave?", "HEALTH", "depression"),
        ("I'm pregnant, how long is maternity leave?", "HEALTH", "pregnant"),
        ("My wife has cancer; can I work from home?", "HEALTH", "cancer"),
        ("I am HIV positive, is that in my medical record?", "HEALTH", "HIV"),
        ("我被記過了，會影響年終嗎？", "DISCIPLINARY", "記過"),
        ("主管給我一封警告信，我可以申訴嗎？", "DISCIPLINARY", "警告信"),
        ("公司要資遣我，這合法嗎", "DISCIPLINARY", "資遣"),
        ("I'm on a PIP, what happens next?", "DISCIPLINARY", "PIP"),
        ("I got fired yesterday, when is my last paycheck?", "DISCIPLINARY", "got fired"),
        ("I got a written warning from my manager.", "DISCIPLINARY", "written warning"),
        ("我被主管性騷擾，要找誰申訴？", "HARASSMENT", "性騷擾"),
        ("My manager keeps bullying me.", "HARASSMENT", "bullying"),
        ("我是穆斯林，公司有祈禱室嗎？", "RELIGION", "穆斯林"),
    ],
)
def test_special_categories_disclosed_about_someone_are_high(disclosure, entity_type, term):
    result = pii.scan(disclosure)
    assert (entity_type, term) in [(f.entity_type, disclosure[f.start : f.end]) for f in result.findings]
    assert result.sensitivity == pii.Sensitivity.HIGH


@pytest.mark.parametrize(
    "policy_question",
    [
        "懷孕員工可以請幾天產檢假？",
        "如果懷孕的話，可以請幾天產假？",
        "如果我懷孕了，產假有幾天？",
        "萬一我被記過，年終會被扣嗎？",
        "If I'm diagnosed with cancer, does insurance pay for chemo?",
        "In case I get fired, what happens to my stock options?",
        "員工如果確診，需要在家隔離幾天？",
        "請問公司有提供癌症篩檢嗎？",
        "我想請問憂鬱症可以請病假嗎？",
        "記過的規定是什麼？",
        "資遣費怎麼計算？",
        "職場霸凌要向哪個單位申訴？",
        "How many days of maternity leave do pregnant employees get?",
        "If I get pregnant, how long is maternity leave?",
        "Does the health insurance cover cancer treatment?",
        "Does my insurance cover cancer?",
        "Can you tell me about the pregnancy leave policy?",
        "What is the disciplinary process?",
        "What is a PIP?",
        "What's the process to report harassment?",
        "The alert fired twice overnight; is monitoring broken?",
        "My account was disabled, how do I get it back?",
    ],
)
def test_policy_questions_about_special_categories_are_not_flagged(policy_question):
    assert pii.scan(policy_question).sensitivity == pii.Sensitivity.NONE


def test_a_special_category_term_next_to_a_directory_name_is_a_disclosure():
    assert kinds("Alice Chen is pregnant, who covers her shifts?") == [
        ("PERSON", "Alice Chen"),
        ("HEALTH", "pregnant"),
    ]
    assert kinds("員工E778899的懲處紀錄可以刪除嗎？") == [("EMPLOYEE_ID", "E778899"), ("DISCIPLINARY", "懲處")]


@pytest.mark.parametrize(
    ("question", "amount"),
    [
        ("月薪 50000 要繳多少稅？", "50000"),
        ("年薪120萬要繳多少所得稅？", "120萬"),
        ("我的月薪是52,000，勞保級距要怎麼算？", "52,000"),
        ("My salary is NT$60,000 a month; how much tax do I pay?", "NT$60,000"),
        ("I earn 45k a month, am I eligible for the subsidy?", "45k"),
        ("薪水五萬塊扣完勞健保剩多少", "五萬"),
    ],
)
def test_a_salary_word_with_an_amount_is_salary_data(question, amount):
    assert kinds(question) == [("SALARY", amount)]


@pytest.mark.parametrize(
    "question",
    [
        "薪水什麼時候發？",
        "年終獎金怎麼計算？",
        "今年調薪幅度是多少？",
        "去年 2023 年的年終發了嗎？",
        "年終是發 2 個月嗎？",
        "What is the salary range for a senior engineer?",
        "My salary is paid in USD, how do I set up the tax form?",
        "員工旅遊的預算每人 5000 元嗎？",
    ],
)
def test_salary_policy_questions_years_and_other_amounts_are_not_salary_data(question):
    assert pii.scan(question).findings == ()


def test_my_salary_is_discloses_without_an_amount():
    assert kinds("My salary is lower than my colleagues'.") == [("SALARY", "My salary is")]


def test_directory_names_match_whole_names_in_any_letter_case():
    assert kinds("Can alice chen approve my leave?") == [("PERSON", "alice chen")]
    assert kinds("Please ask BOB   LIN about the VPN.") == [("PERSON", "BOB   LIN")]
    assert kinds("我想幫陳美玲申請門禁卡") == [("PERSON", "陳美玲")]
    assert kinds("Alice Chenoweth is on leave") == []
    assert kinds("Alice is on leave") == []


def test_confidential_terms_match_in_any_case_and_plural_but_not_inside_words():
    assert kinds("Is PROJECT FALCON still on track?") == [("CONFIDENTIAL_TERM", "PROJECT FALCON")]
    assert kinds("Are there going to be layoffs?") == [("CONFIDENTIAL_TERM", "layoffs")]
    assert kinds("聽說公司要裁員，是真的嗎？") == [("CONFIDENTIAL_TERM", "裁員")]
    assert kinds("The emergency mergers-and-acquisitions FAQ") == [("CONFIDENTIAL_TERM", "mergers")]
    assert kinds("Submerger is not a word we use") == []


def test_employee_ids_follow_the_tenant_pattern_as_whole_words():
    assert kinds("工號E123456和e654321") == [("EMPLOYEE_ID", "E123456"), ("EMPLOYEE_ID", "e654321")]
    assert kinds("serial XE123456 and E1234567") == []


def test_vocabulary_given_as_lists_still_works_and_recognizers_are_reused():
    listed = pii.TenantVocabulary(person_names=["Alice Chen"], confidential_terms=["merger"])  # type: ignore[arg-type]
    assert kinds("Alice Chen asked about the merger", listed) == [
        ("PERSON", "Alice Chen"),
        ("CONFIDENTIAL_TERM", "merger"),
    ]
    same = pii.TenantVocabulary(person_names=("Alice Chen",), confidential_terms=("merger",))
    assert pii._tenant_recognizers(listed) is pii._tenant_recognizers(same)


def test_sensitivity_is_low_for_technical_values_and_high_for_personal_ones():
    assert pii.scan("The form is at https://intranet.acme.com.tw/forms/leave").sensitivity == pii.Sensitivity.LOW
    assert pii.scan("My IP is 192.168.10.25").sensitivity == pii.Sensitivity.LOW
    assert pii.scan("Mail me at bob.lin@acme.com").sensitivity == pii.Sensitivity.HIGH
    mixed = pii.scan("See https://acme.com or call 0912-345-678")
    assert mixed.entity_types == ("PHONE_NUMBER", "URL")
    assert mixed.sensitivity == pii.Sensitivity.HIGH


def test_overlapping_findings_keep_the_more_sensitive_and_specific_one():
    text = "Mail alice.chen@acme.com or visit https://hr.acme.com/faq"
    assert kinds(text, pii.TenantVocabulary(person_names=("chen",))) == [
        ("EMAIL_ADDRESS", "alice.chen@acme.com"),
        ("URL", "https://hr.acme.com/faq"),
    ]
    assert kinds("https://hr.acme.com/lookup/0912345678") == [("PHONE_NUMBER", "0912345678")]
    assert kinds("帳號 0912345678") == [("BANK_ACCOUNT", "0912345678")]


def test_without_overlaps_prefers_high_then_score_then_length():
    url = pii.Finding("URL", 0, 30, 0.6)
    phone = pii.Finding("PHONE_NUMBER", 20, 30, 0.4)
    person = pii.Finding("PERSON", 40, 50, 0.85)
    term = pii.Finding("CONFIDENTIAL_TERM", 40, 45, 0.9)
    assert pii.without_overlaps([url, phone, person, term]) == (phone, term)


def test_redaction_round_trip_through_a_model_answer():
    text = "我是王小明，身分證A123456789，手機0912-345-678。王小明的加班費 Alice Chen 核准了嗎？"
    result = pii.scan(text, vocabulary=ACME)
    redaction = pii.redact(text, result.findings)

    assert redaction.text == (
        "我是<PERSON_1>，身分證<TW_NATIONAL_ID_1>，手機<PHONE_NUMBER_1>。<PERSON_1>的加班費 <PERSON_2> 核准了嗎？"
    )
    assert redaction.placeholders == {
        "<PERSON_1>": "王小明",
        "<TW_NATIONAL_ID_1>": "A123456789",
        "<PHONE_NUMBER_1>": "0912-345-678",
        "<PERSON_2>": "Alice Chen",
    }
    for value in redaction.placeholders.values():
        assert value not in redaction.text

    answer = "<PERSON_1> 您好：加班費需由 [PERSON_2] 核准，我們會致電 &lt;PHONE_NUMBER_1&gt;。"
    assert pii.restore(answer, redaction.placeholders) == (
        "王小明 您好：加班費需由 Alice Chen 核准，我們會致電 0912-345-678。"
    )


def test_restore_does_not_confuse_placeholder_numbers():
    placeholders = {f"<PERSON_{number}>": f"name {number}" for number in range(1, 12)}
    assert pii.restore("<PERSON_1>, <PERSON_11> and PERSON_10", placeholders) == "name 1, name 11 and name 10"


def test_redacting_nothing_changes_nothing():
    assert pii.redact("請問年假有幾天？", ()) == pii.Redaction(text="請問年假有幾天？", placeholders={})
    assert pii.restore("no placeholders here", {}) == "no placeholders here"


def test_redaction_keeps_adjacent_names_apart():
    text = "Alice Chen Bob Lin"
    redaction = pii.redact(text, pii.scan(text, vocabulary=ACME).findings)
    assert redaction.text == "<PERSON_1> <PERSON_2>"
    assert pii.restore(redaction.text, redaction.placeholders) == text


def test_a_catastrophic_employee_id_pattern_fails_closed_within_the_timeout(caplog):
    vocabulary = pii.TenantVocabulary(employee_id_pattern=r"(\d|\d\d)+$")
    text = "員工編號 " + "1" * 40 + "!"
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="routing.pii"):
        result = pii.scan(text, vocabulary=vocabulary, timeout_seconds=0.2)
    assert time.perf_counter() - started < 1.0
    assert result == pii.ScanResult(findings=(), sensitivity=pii.Sensitivity.HIGH, failed=True)
    assert "TimeoutError" in caplog.text
    assert "1111111111" not in caplog.text


def test_an_invalid_employee_id_pattern_fails_closed():
    result = pii.scan("工號 E123456", vocabulary=pii.TenantVocabulary(employee_id_pattern=r"E(\d{6}"))
    assert result.failed
    assert result.sensitivity == pii.Sensitivity.HIGH


def test_an_exception_inside_detection_fails_closed_without_logging_the_text(monkeypatch, caplog):
    def broken(*arguments, **keywords):
        raise RuntimeError("A123456789 leaked into an error message")

    monkeypatch.setattr(SpecialCategoryRecognizer, "analyze", broken)
    with caplog.at_level(logging.WARNING, logger="routing.pii"):
        result = pii.scan("我的身分證是A123456789")
    assert result.failed
    assert result.sensitivity == pii.Sensitivity.HIGH
    assert "RuntimeError" in caplog.text
    assert "A123456789" not in caplog.text


def test_a_scan_slower_than_its_timeout_fails_closed(monkeypatch):
    original = SpecialCategoryRecognizer.analyze

    def slow(self, *arguments, **keywords):
        time.sleep(0.2)
        return original(self, *arguments, **keywords)

    monkeypatch.setattr(SpecialCategoryRecognizer, "analyze", slow)
    assert pii.scan("請問年假有幾天？", timeout_seconds=0.1).failed
    assert not pii.scan("請問年假有幾天？", timeout_seconds=2.0).failed


def test_building_the_analyzer_loads_no_spacy_model_and_opens_no_connection(monkeypatch):
    attempts: list[str] = []

    def refuse(name: str):
        def record(*arguments, **keywords):
            attempts.append(name)
            raise OSError(f"{name} is not allowed here")

        return record

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(spacy, "load", refuse("spacy.load"))
    pii._analyzer.cache_clear()
    try:
        pii.warm_up()
        result = pii.scan("mail alice@acme.com.tw, web https://hr.acme.com.tw, 手機 0912-345-678")
    finally:
        pii._analyzer.cache_clear()
    assert result.entity_types == ("EMAIL_ADDRESS", "PHONE_NUMBER", "URL")
    assert attempts == []


def test_entity_types_lists_every_kind_a_scan_can_report():
    assert {"TW_NATIONAL_ID", "PHONE_NUMBER", "BANK_ACCOUNT", "PERSON", "HEALTH", "CONFIDENTIAL_TERM"} <= set(
        pii.entity_types()
    )


def test_a_three_hundred_character_question_scans_in_milliseconds():
    question = ("我的電話是 0912-345-678，請問育嬰留停要怎麼申請？我的主管說要先填表單，系統卻顯示錯誤。" * 8)[:300]
    pii.scan(question, vocabulary=ACME)
    durations = []
    for _ in range(30):
        started = time.perf_counter()
        pii.scan(question, vocabulary=ACME)
        durations.append(time.perf_counter() - started)
    assert sorted(durations)[15] < 0.05
