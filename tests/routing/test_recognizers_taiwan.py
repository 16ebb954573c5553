"""Taiwan identifiers, phone numbers and bank accounts, in Chinese and English sentences, with look-alikes."""

from __future__ import annotations

import pytest

from routing import pii
from routing.recognizers import taiwan_id_checksum_is_valid

NATIONAL_ID = "A123456789"
NATIONAL_ID_FEMALE = "F231104095"
OLD_RESIDENT_CERTIFICATE = "AC01234567"
NEW_RESIDENT_CERTIFICATE = "A800000014"
NEW_RESIDENT_CERTIFICATE_FEMALE = "E912345677"


def found(text: str, entity_type: str) -> list[str]:
    """The values of one kind that a scan of text reports."""
    return [text[f.start : f.end] for f in pii.scan(text).findings if f.entity_type == entity_type]


@pytest.mark.parametrize(
    "number",
    [NATIONAL_ID, NATIONAL_ID_FEMALE, OLD_RESIDENT_CERTIFICATE, NEW_RESIDENT_CERTIFICATE, "e912345677"],
)
def test_checksum_accepts_valid_numbers(number):
    assert taiwan_id_checksum_is_valid(number)


@pytest.mark.parametrize(
    "number",
    ["A123456788", "F231104094", "AC01234568", "A800000015", "A323456789", "AE01234567", "A12345678", "1234567890"],
)
def test_checksum_rejects_wrong_check_digits_and_shapes(number):
    assert not taiwan_id_checksum_is_valid(number)


@pytest.mark.parametrize(
    "sentence",
    [
        f"我的身分證字號是{NATIONAL_ID}，請幫我更新資料",
        f"身分證：{NATIONAL_ID}。",
        f"My national ID is {NATIONAL_ID}, please update my record.",
        f"ID ({NATIONAL_ID})",
    ],
)
def test_national_id_found_in_chinese_and_english(sentence):
    assert found(sentence, "TW_NATIONAL_ID") == [NATIONAL_ID]


def test_national_id_typed_in_lower_case_is_found():
    assert found("身分證 a123456789 的資料", "TW_NATIONAL_ID") == ["a123456789"]


def test_national_id_offsets_are_character_offsets_into_chinese_text():
    text = f"請幫我查一下身分證{NATIONAL_ID_FEMALE}的勞保紀錄"
    (finding,) = pii.scan(text).findings
    assert (finding.entity_type, finding.start, finding.end) == ("TW_NATIONAL_ID", 9, 19)


@pytest.mark.parametrize(
    "sentence",
    [
        "我的身分證字號是A123456788，請幫我更新資料",
        "My national ID is A123456788.",
        "ticket INC0012345678 is still open",
        "工單 XA123456789 處理中",
        "serial A1234567890 on the label",
        "型號 A123456789B 的筆電",
    ],
)
def test_national_id_look_alikes_are_not_found(sentence):
    assert found(sentence, "TW_NATIONAL_ID") == []


@pytest.mark.parametrize(
    ("sentence", "number"),
    [
        (f"新進同仁的居留證號碼是{OLD_RESIDENT_CERTIFICATE}，要怎麼辦健保？", OLD_RESIDENT_CERTIFICATE),
        (f"my old ARC number is {OLD_RESIDENT_CERTIFICATE}", OLD_RESIDENT_CERTIFICATE),
        (f"新式統一證號{NEW_RESIDENT_CERTIFICATE}要重新申請薪轉嗎", NEW_RESIDENT_CERTIFICATE),
        (f"Please update my ARC to {NEW_RESIDENT_CERTIFICATE_FEMALE}.", NEW_RESIDENT_CERTIFICATE_FEMALE),
    ],
)
def test_resident_certificates_old_and_new_style_are_found(sentence, number):
    assert found(sentence, "TW_RESIDENT_CERTIFICATE") == [number]
    assert found(sentence, "TW_NATIONAL_ID") == []


@pytest.mark.parametrize(
    "sentence",
    [
        "居留證號碼是AC01234568，系統說錯誤",
        "my new ARC number is A800000015",
        "發票號碼 AC01234567 要怎麼查詢？",
        "Where do I submit invoice AC01234567?",
    ],
)
def test_resident_certificate_wrong_checksums_and_invoice_numbers_are_not_found(sentence):
    assert found(sentence, "TW_RESIDENT_CERTIFICATE") == []


@pytest.mark.parametrize(
    ("sentence", "number"),
    [
        ("我的手機是0912-345-678，有問題請打給我", "0912-345-678"),
        ("請回電到0912345678謝謝", "0912345678"),
        ("手機 0912 345 678 找不到人請留言", "0912 345 678"),
        ("公司電話(02)2345-6789轉人資", "(02)2345-6789"),
        ("請改撥02-2345-6789", "02-2345-6789"),
        ("我人在國外，請打+886 912 345 678", "+886 912 345 678"),
        ("台北辦公室是+886-2-2345-6789嗎", "+886-2-2345-6789"),
        ("You can reach me at 0912-345-678 after 6pm.", "0912-345-678"),
        ("Call me on +886 912 345 678 please.", "+886 912 345 678"),
        ("The Taipei office is +886-2-2345-6789, right?", "+886-2-2345-6789"),
        ("Text me at 0912345678 when it is ready.", "0912345678"),
        ("手機號碼０９１２３４５６７８", "０９１２３４５６７８"),
    ],
)
def test_taiwan_mobile_and_landline_numbers_in_typed_forms(sentence, number):
    assert found(sentence, "PHONE_NUMBER") == [number]


@pytest.mark.parametrize(
    "sentence",
    [
        "我的 Windows 版本是 10.0.19045，要更新嗎？",
        "My laptop runs Windows 10.0.19045.3803.",
        "請假日期是 2024-03-15 到 2024-03-20",
        "Leave runs 2024/03/15 to 2024/03/22.",
        "工單編號 INC0012345678 處理進度？",
        "What's the status of ticket INC0012345678?",
        "Please call ext. 1234 for the helpdesk.",
        "請撥分機 1234",
        "訂單編號 20240315001 還沒出貨",
        "Order 2123456789 hasn't arrived.",
        "請問 0800-000-123 是客服專線嗎？",
        "The printer is at 192.168.100.200",
        "MAC: 01-23-45-67-89-AB",
    ],
)
def test_phone_look_alikes_are_not_found(sentence):
    assert found(sentence, "PHONE_NUMBER") == []


def test_bare_digits_need_a_phone_word_to_be_read_as_another_regions_number():
    assert found("Order 2123456789 hasn't arrived.", "PHONE_NUMBER") == []
    assert found("My US phone is 2123456789.", "PHONE_NUMBER") == ["2123456789"]


def test_a_phone_word_in_chinese_raises_the_score_by_character_window():
    with_word = pii.scan("我的手機0912345678").findings[0]
    without_word = pii.scan("0912345678").findings[0]
    assert with_word.score > without_word.score


@pytest.mark.parametrize(
    ("sentence", "account"),
    [
        ("我的薪轉帳號是012-3456789012，要改成別家銀行", "012-3456789012"),
        ("請把代墊款匯到我的戶頭 1234567890123", "1234567890123"),
        ("匯款帳戶：822-12345678901", "822-12345678901"),
        ("Please deposit the refund to account 123-4567-8901.", "123-4567-8901"),
        ("my acct # is 00123456789012", "00123456789012"),
    ],
)
def test_bank_account_found_next_to_an_account_word(sentence, account):
    assert found(sentence, "BANK_ACCOUNT") == [account]


@pytest.mark.parametrize(
    "sentence",
    [
        "訂單編號 1234567890123 還沒出貨",
        "Order 1234567890123 hasn't arrived.",
        "報帳單號 2024031500123 要寫在哪？",
        "帳號被鎖了，鎖定時間是 20240315",
        "My account was locked on 2024-03-15.",
        "我的帳號是 bob.lin，登不進去",
        "帳號申請流程要多久？相關的系統編號為 INC0012345678",
    ],
)
def test_bank_account_look_alikes_and_numbers_without_an_account_word_are_not_found(sentence):
    assert found(sentence, "BANK_ACCOUNT") == []


def test_account_word_beyond_the_character_window_does_not_count():
    far = "帳戶的問題之後再說，先處理這張訂購單，謝謝你們幫忙看一下編號 1234567890123"
    assert found(far, "BANK_ACCOUNT") == []


@pytest.mark.parametrize(
    ("sentence", "entity_type", "value"),
    [
        ("卡號4111111111111111請刷", "CREDIT_CARD", "4111111111111111"),
        ("信箱是alice@acme.com請回信", "EMAIL_ADDRESS", "alice@acme.com"),
        ("網址https://hr.acme.com.tw/leave請看", "URL", "https://hr.acme.com.tw/leave"),
        ("我的IP是10.20.30.40，VPN連不上", "IP_ADDRESS", "10.20.30.40"),
        ("我的IBAN是DE89370400440532013000謝謝", "IBAN_CODE", "DE89370400440532013000"),
    ],
)
def test_predefined_recognizers_find_values_glued_to_chinese_characters(sentence, entity_type, value):
    assert found(sentence, entity_type) == [value]


def test_credit_card_with_a_wrong_luhn_digit_is_not_found():
    assert found("我的信用卡號4111111111111112被盜刷", "CREDIT_CARD") == []


@pytest.mark.parametrize(
    "look_alike",
    [
        "版本 10.0.19045 要更新嗎",
        "Version 10.0.19045.3803 is installed",
        "到職日 2024-03-15，年資怎麼算",
        "I started on 2024-03-15.",
        "工單 INC0012345678 還沒結案",
        "Ticket INC0012345678 is still open",
        "分機 1234 沒人接",
        "ext. 1234",
        "訂單編號 20240315001",
        "order number 1234567890123",
        "報帳單號 2024031500123",
    ],
)
def test_no_taiwan_recognizer_fires_on_versions_dates_tickets_extensions_or_order_numbers(look_alike):
    taiwan_kinds = {"TW_NATIONAL_ID", "TW_RESIDENT_CERTIFICATE", "PHONE_NUMBER", "BANK_ACCOUNT"}
    assert {f.entity_type for f in pii.scan(look_alike).findings} & taiwan_kinds == set()
