"""Questions with personal and confidential data, in both languages, each with the values that must never
reach the cloud; shared by the privacy tests and the routing benchmark."""

from __future__ import annotations

from dataclasses import dataclass

from routing.backends import ChatTurn

PERSON_NAMES = ("王愛麗", "Bob Chen")
CONFIDENTIAL_TERMS = ("Project Falcon", "獵鷹計畫", "layoff", "裁員")
EMPLOYEE_ID_PATTERN = r"E[0-9]{5}"

# (entity type, sentence, values in it that must stay home)
SENSITIVE_SENTENCES = (
    ("TW_NATIONAL_ID", "My national ID is A123456789, can HR update it?", ("A123456789",)),
    ("TW_NATIONAL_ID", "我的身分證字號是 A123456789，要怎麼更新？", ("A123456789",)),
    ("TW_RESIDENT_CERTIFICATE", "My resident certificate number is A800000014.", ("A800000014",)),
    ("TW_RESIDENT_CERTIFICATE", "我的居留證號碼 A800000014 要換新", ("A800000014",)),
    ("PHONE_NUMBER", "Please call me at 0912-345-678 about my laptop.", ("0912-345-678",)),
    ("PHONE_NUMBER", "請打 0912345678 給我", ("0912345678",)),
    ("PHONE_NUMBER", "My desk phone is (02)2345-6789.", ("2345-6789",)),
    ("PHONE_NUMBER", "我的外線是 +886 912 345 678", ("912 345 678",)),
    ("EMAIL_ADDRESS", "Send the payslip to alice.wang@acme.com.tw please.", ("alice.wang@acme.com.tw",)),
    ("EMAIL_ADDRESS", "薪資單請寄到 bob.chen@example.org", ("bob.chen@example.org",)),
    ("CREDIT_CARD", "My corporate card 4111 1111 1111 1111 was declined.", ("4111 1111 1111 1111",)),
    ("CREDIT_CARD", "公司信用卡 5500-0000-0000-0004 被盜刷了", ("5500-0000-0000-0004",)),
    ("IBAN_CODE", "Reimburse me to IBAN GB82 WEST 1234 5698 7654 32.", ("GB82 WEST 1234 5698 7654 32",)),
    ("IBAN_CODE", "請匯到 DE89370400440532013000 這個帳戶", ("DE89370400440532013000",)),
    ("BANK_ACCOUNT", "My bank account 123456789012 needs to change for payroll.", ("123456789012",)),
    ("BANK_ACCOUNT", "薪轉帳號 0123456789012 要改", ("0123456789012",)),
    ("EMPLOYEE_ID", "My employee number is E12345, why can't I log in?", ("E12345",)),
    ("EMPLOYEE_ID", "員工編號 E54321 的權限要調整", ("E54321",)),
    ("PERSON", "Can Bob Chen approve my expense report?", ("Bob Chen",)),
    ("PERSON", "王愛麗今天請假嗎？", ("王愛麗",)),
    ("CONFIDENTIAL_TERM", "Who is on the Project Falcon team?", ("Project Falcon",)),
    ("CONFIDENTIAL_TERM", "獵鷹計畫的進度在哪裡看？", ("獵鷹計畫",)),
    ("CONFIDENTIAL_TERM", "Is the layoff list final?", ("layoff",)),
    ("CONFIDENTIAL_TERM", "裁員名單確定了嗎？", ("裁員",)),
    ("HEALTH", "I was diagnosed with diabetes, can I work from home?", ("diabetes",)),
    ("HEALTH", "我最近得了憂鬱症，可以請長假嗎？", ("憂鬱症",)),
    ("HEALTH", "I am pregnant, how do I tell my team?", ("pregnant",)),
    ("HEALTH", "我太太懷孕了，陪產假怎麼請？", ("懷孕",)),
    ("SALARY", "My salary is NT$65,000, is that below the band?", ("65,000",)),
    ("SALARY", "我月薪 52000 元，加班費怎麼算？", ("52000",)),
    ("DISCIPLINARY", "I got a written warning from my manager yesterday.", ("written warning",)),
    ("DISCIPLINARY", "我被記大過了，會影響考績嗎？", ("記大過",)),
    ("HARASSMENT", "My manager sexually harassed me at the party.", ("harassed",)),
    ("HARASSMENT", "主管性騷擾我，要找誰申訴？", ("性騷擾",)),
    ("RELIGION", "I'm Muslim and need a prayer room.", ("Muslim",)),
    ("SEXUAL_ORIENTATION", "我是同性戀，伴侶可以加保嗎？", ("同性戀",)),
)

BLAND_EN = "How do I request a new laptop and how long does delivery usually take?"
BLAND_ZH = "請問新筆電要怎麼申請？通常多久會送到？"
PADDING_EN = " Please explain the whole process step by step, including approvals, forms and who signs them."
PADDING_ZH = "請一步一步說明整個流程，包括核准、表單以及誰需要簽核，越詳細越好。"
PLACEMENTS = (
    "question",
    "long_question",
    "earlier_question",
    "earlier_answer",
    "first_of_three_turns",
    "question_and_history",
)


@dataclass(frozen=True)
class PrivacyCase:
    """A question and the conversation before it, with the values that must never reach the cloud."""

    name: str
    entity_type: str
    question: str
    history: tuple[ChatTurn, ...]
    secrets: tuple[str, ...]


def _chinese(text: str) -> bool:
    return any("\u4e00" <= character <= "\u9fff" for character in text)


def _padded(sentence: str) -> str:
    padding = PADDING_ZH if _chinese(sentence) else PADDING_EN
    text = sentence
    while len(text) <= 320:
        text += padding
    return text


def privacy_cases() -> list[PrivacyCase]:
    """Every sentence in every placement: in the question, a long question, or earlier turns."""
    cases = []
    for index, (entity_type, sentence, secrets) in enumerate(SENSITIVE_SENTENCES):
        bland = BLAND_ZH if _chinese(sentence) else BLAND_EN
        _other_type, other_sentence, other_secrets = SENSITIVE_SENTENCES[(index + 7) % len(SENSITIVE_SENTENCES)]
        for placement in PLACEMENTS:
            history: tuple[ChatTurn, ...] = ()
            question, case_secrets = sentence, secrets
            if placement == "long_question":
                question = _padded(sentence)
            elif placement == "earlier_question":
                question = _padded(bland)
                history = (ChatTurn("user", sentence), ChatTurn("assistant", "I can help with that."))
            elif placement == "earlier_answer":
                question = _padded(bland)
                history = (ChatTurn("user", "Who handles this?"), ChatTurn("assistant", f"You wrote: {sentence}"))
            elif placement == "first_of_three_turns":
                question = _padded(bland)
                history = (
                    ChatTurn("user", sentence),
                    ChatTurn("assistant", "Noted."),
                    ChatTurn("user", bland),
                    ChatTurn("assistant", "Please see the IT portal."),
                )
            elif placement == "question_and_history":
                history = (ChatTurn("user", other_sentence), ChatTurn("assistant", "Noted."))
                case_secrets = (*secrets, *other_secrets)
            cases.append(
                PrivacyCase(f"{index:02d}-{entity_type}-{placement}", entity_type, question, history, case_secrets)
            )
    return cases
