"""Reason codes in plain words, in English and Traditional Chinese, for the employee who asked."""

from __future__ import annotations

from collections.abc import Sequence

ENTITY_WORDS = {
    "TW_NATIONAL_ID": ("an ID number", "身分證字號"),
    "TW_RESIDENT_CERTIFICATE": ("a resident certificate number", "居留證號碼"),
    "CREDIT_CARD": ("a credit card number", "信用卡號"),
    "IBAN_CODE": ("a bank account number (IBAN)", "國際銀行帳號"),
    "CRYPTO": ("a crypto wallet address", "加密貨幣錢包地址"),
    "EMAIL_ADDRESS": ("an e-mail address", "電子郵件地址"),
    "PHONE_NUMBER": ("a phone number", "電話號碼"),
    "BANK_ACCOUNT": ("a bank account number", "銀行帳號"),
    "EMPLOYEE_ID": ("an employee ID", "員工編號"),
    "PERSON": ("a colleague's name", "同事的姓名"),
    "CONFIDENTIAL_TERM": ("a confidential company term", "公司機密用語"),
    "HEALTH": ("health information", "健康資訊"),
    "SALARY": ("salary information", "薪資資訊"),
    "DISCIPLINARY": ("disciplinary information", "懲處資訊"),
    "HARASSMENT": ("a harassment report", "騷擾申訴內容"),
    "RELIGION": ("religious beliefs", "宗教信仰"),
    "SEXUAL_ORIENTATION": ("sexual orientation", "性傾向"),
    "IP_ADDRESS": ("an IP address", "IP 位址"),
    "MAC_ADDRESS": ("a device address", "裝置位址"),
    "URL": ("a web address", "網址"),
}

# code: (English, Chinese); {0} is the detail after the colon, or the threshold in a length code.
PHRASES = {
    "pii": ("your question contains {0}", "您的問題含有{0}"),
    "history_pii": ("an earlier message in this conversation contains {0}", "這段對話先前的訊息含有{0}"),
    "pii_check_failed": (
        "we could not check your question for personal data, so we treated it as sensitive",
        "系統無法檢查您的問題是否含有個人資料，因此視為敏感內容",
    ),
    "policy:refuse": (
        "your company's policy does not allow the assistant to answer questions with this kind of data",
        "貴公司的政策不允許助理回答含有此類資料的問題",
    ),
    "policy:no_cloud_for_sensitive": (
        "your company's policy does not allow sensitive questions to leave its servers",
        "貴公司的政策不允許敏感問題離開公司伺服器",
    ),
    "mode:local_only": (
        "your company answers every question on its own servers",
        "貴公司所有問題都在自己的伺服器上回答",
    ),
    "mode:cloud_only": (
        "your company answers questions with a cloud AI service",
        "貴公司使用雲端 AI 服務回答問題",
    ),
    "department": (
        "questions from your department ({0}) follow their own rule",
        "您部門（{0}）的問題適用專屬規則",
    ),
    "faq_match": (
        "an FAQ entry matches your question closely",
        "有一則常見問答與您的問題非常相符",
    ),
    "length<=": ("your question is short", "您的問題較短"),
    "length>": (
        "your question is long and needs a larger model",
        "您的問題較長，需要較大的模型",
    ),
    "budget_exceeded": (
        "your department has used its budget for cloud answers",
        "您的部門已用完雲端回答的預算",
    ),
    "cloud_unavailable": ("the cloud service is not available", "雲端服務目前無法使用"),
    "local_unhealthy": (
        "our own AI server is not available, so the answer is composed from the FAQ",
        "公司的 AI 伺服器目前無法使用，因此答案直接由常見問答整理",
    ),
    "fallback": (
        "the {0} service did not answer, so another one did",
        "{0}服務沒有回應，改由其他服務回答",
    ),
}

TARGET_WORDS = {
    "local": ("our own servers", "公司自己的伺服器"),
    "cloud": ("a cloud AI service", "雲端 AI 服務"),
    "extractive": ("the FAQ directly", "常見問答直接整理"),
}


def explain(reasons: Sequence[str], language: str = "en") -> list[str]:
    """Each reason code as a sentence in "en" or "zh-hant"; unknown codes are left out."""
    chinese = 1 if language.lower().startswith("zh") else 0
    sentences: list[str] = []
    for reason in reasons:
        sentence = _sentence(reason, chinese)
        if sentence and sentence not in sentences:
            sentences.append(sentence)
    return sentences


def summary(route: str, reasons: Sequence[str], language: str = "en") -> str:
    """One sentence: where the question was answered and why, e.g. "Answered on our own servers because …"."""
    chinese = 1 if language.lower().startswith("zh") else 0
    sentences = explain(reasons, language)
    if route == "refused":
        opening = ("Not answered", "未回答")[chinese]
    else:
        place = TARGET_WORDS.get(route, (route, route))[chinese]
        opening = (f"Answered on {place}", f"由{place}回答")[chinese]
    if not sentences:
        return opening + ("." if not chinese else "。")
    if chinese:
        return f"{opening}，因為{'；'.join(sentences)}。"
    return f"{opening} because {'; '.join(sentences)}."


def _sentence(reason: str, chinese: int) -> str:
    code, _, detail = reason.partition(":")
    if reason in PHRASES:
        return PHRASES[reason][chinese]
    if code in ("pii", "history_pii"):
        words = ENTITY_WORDS.get(detail, ("personal data", "個人資料"))[chinese]
        return PHRASES[code][chinese].format(words)
    if code == "fallback":
        return PHRASES[code][chinese].format(TARGET_WORDS.get(detail, (detail, detail))[chinese])
    if code in ("department", "faq_match"):
        return PHRASES[code][chinese].format(detail)
    for prefix in ("length<=", "length>"):
        if reason.startswith(prefix):
            return PHRASES[prefix][chinese]
    return ""
