"""Lantern's own Presidio recognizers: Taiwan identifiers, phone numbers, bank accounts, a tenant's
directory and vocabulary, and special categories of personal data. All of them read characters, not
tokens, so Chinese, English and mixed text go through the same recognizers.

Special categories (health, salary, discipline, harassment, religion, sexual orientation) follow one
rule: a term is a finding when it is disclosed about someone, not when a policy is asked about.

- Disclosed: the clause names the person it is about: a subject before the term (我, 本人, 他, 她, I,
  I'm, he, she), a person noun just before it (同事, 主管, 太太: six characters), a possessive (my
  diagnosis, her pregnancy, my wife), or an object right after it (資遣我, fired me); or, since Chinese
  drops the pronoun, the clause states it as a fact (懷孕了, 最近憂鬱症, 下週要開刀); or another
  recognizer found a person identifier (a directory name, an employee id, a national id, a phone
  number, an e-mail address) in the same sentence. Politeness (我想請問, I'd like to know) names nobody.
- Asked about: nobody is named, or the clause is hypothetical (如果, 萬一, …的話, if, in case). "How
  many days of leave do pregnant employees get", 病假要附診斷證明嗎 and "what is the disciplinary
  process" yield nothing.
- Salary: a salary word next to an amount is disclosed whoever it is about (月薪 50000, 年薪 120萬,
  salary NT$60,000), since the number is the personal datum; "my salary is" and 我的薪水是 disclose
  on their own; a pay change (減薪, pay cut) follows the person rule. "When is payday" and
  薪水什麼時候發 yield nothing.
- Leave types and everyday illness (病假, 產假, sick leave, 感冒) are not special-category data; named
  conditions, pregnancy, diagnoses, treatments, disabilities and mental health are.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import phonenumbers
import regex
import tldextract
from presidio_analyzer import EntityRecognizer, LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    CryptoRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    MacAddressRecognizer,
    PhoneRecognizer,
    UrlRecognizer,
)

# One Presidio language code for Chinese, English and mixed text alike.
LANGUAGE = "xx"

# ASCII word boundaries: CJK characters are word characters to \b, so "卡號4111…" would have none.
PATTERN_FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE | regex.ASCII
_START = r"(?<![A-Za-z0-9])"
_END = r"(?![A-Za-z0-9])"

CONTEXT_CHARACTERS_BEFORE = 30
CONTEXT_CHARACTERS_AFTER = 15

PERSON_IDENTIFYING_ENTITIES = frozenset(
    {"PERSON", "EMPLOYEE_ID", "TW_NATIONAL_ID", "TW_RESIDENT_CERTIFICATE", "EMAIL_ADDRESS", "PHONE_NUMBER"}
)

_deadline: ContextVar[float | None] = ContextVar("pii_detection_deadline", default=None)


@contextmanager
def detection_deadline(seconds: float) -> Iterator[None]:
    """Give the recognizers that run tenant-supplied patterns a deadline, seconds from now."""
    token = _deadline.set(time.perf_counter() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining_seconds() -> float:
    """Seconds left before the detection deadline; TimeoutError once it has passed."""
    deadline = _deadline.get()
    if deadline is None:
        return 60.0
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        raise TimeoutError("PII detection deadline passed")
    return remaining


def context_is_near(
    text: str,
    start: int,
    end: int,
    words: Iterable[str],
    *,
    before: int = CONTEXT_CHARACTERS_BEFORE,
    after: int = CONTEXT_CHARACTERS_AFTER,
) -> bool:
    """Whether any of the words occurs within a window of characters around text[start:end]."""
    window = f"{text[max(0, start - before) : start]}\n{text[end : end + after]}".lower()
    return any(word.lower() in window for word in words)


def _result(
    recognizer: EntityRecognizer, start: int, end: int, score: float, entity_type: str = ""
) -> RecognizerResult:
    return RecognizerResult(
        entity_type=entity_type or recognizer.supported_entities[0],
        start=start,
        end=end,
        score=score,
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
        },
    )


class CharacterWindowContextEnhancer(ContextAwareEnhancer):
    """Raise a result's score when a context word of its recognizer is within a window of characters.

    Presidio's lemma enhancer counts tokens, and Chinese has no spaces: 帳號 glued to digits is never
    a token of its own.
    """

    def __init__(
        self,
        *,
        characters_before: int = CONTEXT_CHARACTERS_BEFORE,
        characters_after: int = CONTEXT_CHARACTERS_AFTER,
    ) -> None:
        super().__init__(
            context_similarity_factor=0.35,
            min_score_with_context_similarity=0.4,
            context_prefix_count=characters_before,
            context_suffix_count=characters_after,
        )

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        """Boost, in place, each result whose recognizer's context words are nearby or given."""
        recognizers_by_id = {recognizer.id: recognizer for recognizer in recognizers}
        given_context = {word.lower() for word in context or ()}
        for result in raw_results:
            metadata = result.recognition_metadata or {}
            recognizer = recognizers_by_id.get(metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY))
            if recognizer is None or not recognizer.context or result.score <= 0:
                continue
            if metadata.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
                continue
            words = [word.lower() for word in recognizer.context]
            nearby = context_is_near(
                text,
                result.start,
                result.end,
                words,
                before=self.context_prefix_count,
                after=self.context_suffix_count,
            )
            if nearby or given_context.intersection(words):
                boosted = result.score + self.context_similarity_factor
                result.score = min(max(boosted, self.min_score_with_context_similarity), self.MAX_SCORE)
                metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
                result.recognition_metadata = metadata
        return raw_results


# Taiwan identifiers ----------------------------------------------------------------------------------

# Each letter's two-digit code; I and O were added last, which is why they sit at the end.
_LETTER_CODES = {letter: code for code, letter in enumerate("ABCDEFGHJKLMNPQRSTUVXYWZIO", start=10)}
_ID_SHAPE = regex.compile(r"[A-Z](?:[12389]|[A-D])[0-9]{8}")


def taiwan_id_checksum_is_valid(value: str) -> bool:
    """Whether a national ID or an old- or new-style resident certificate number has a valid check digit."""
    value = value.upper()
    if not _ID_SHAPE.fullmatch(value):
        return False
    area = _LETTER_CODES[value[0]]
    # Old resident certificates carry a letter second; only its code's last digit counts.
    second = _LETTER_CODES[value[1]] % 10 if value[1].isalpha() else int(value[1])
    digits = [int(character) for character in value[2:]]
    total = area // 10 + (area % 10) * 9 + second * 8
    total += sum(digit * weight for digit, weight in zip(digits[:7], range(7, 0, -1), strict=True))
    return (total + digits[7]) % 10 == 0


class TaiwanNationalIdRecognizer(PatternRecognizer):
    """國民身分證統一編號: a letter, 1 or 2, seven digits and a check digit."""

    PATTERNS = [Pattern("TW national ID", rf"{_START}[A-Z][12][0-9]{{8}}{_END}", 0.5)]
    CONTEXT = ["身分證", "身份證", "證號", "national id", "id number", "id no"]

    def __init__(self) -> None:
        super().__init__(
            supported_entity="TW_NATIONAL_ID",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=LANGUAGE,
            global_regex_flags=PATTERN_FLAGS,
        )

    def validate_result(self, pattern_text: str) -> bool:
        """Only numbers whose check digit is right."""
        return taiwan_id_checksum_is_valid(pattern_text)


class TaiwanResidentCertificateRecognizer(PatternRecognizer):
    """居留證統一證號: two letters and eight digits (old style), or a letter, 8 or 9, eight digits (2021)."""

    PATTERNS = [
        Pattern("TW resident certificate, old style", rf"{_START}[A-Z][A-D][0-9]{{8}}{_END}", 0.5),
        Pattern("TW resident certificate, 2021 style", rf"{_START}[A-Z][89][0-9]{{8}}{_END}", 0.5),
    ]
    CONTEXT = ["居留證", "統一證號", "居留", "arc", "resident certificate", "residence permit", "ui number"]
    # Uniform invoice numbers (統一發票) are also two letters and eight digits.
    INVOICE_WORDS = ["發票", "invoice", "receipt", "收據", "載具"]

    def __init__(self) -> None:
        super().__init__(
            supported_entity="TW_RESIDENT_CERTIFICATE",
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=LANGUAGE,
            global_regex_flags=PATTERN_FLAGS,
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Valid numbers that are not next to an invoice word."""
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [
            result
            for result in results
            if not context_is_near(text, result.start, result.end, self.INVOICE_WORDS, before=15, after=5)
        ]

    def validate_result(self, pattern_text: str) -> bool:
        """Only numbers whose check digit is right."""
        return taiwan_id_checksum_is_valid(pattern_text)


# Phone numbers ---------------------------------------------------------------------------------------

_PHONE_CANDIDATE = regex.compile(r"[+＋(（]?[0-9０-９][0-9０-９ \-‐–.()（）/#]{4,28}[0-9０-９]")
_NOT_A_PHONE = regex.compile(
    r"(?:19|20)[0-9]{2}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12][0-9]|3[01])"  # dates
    r"|[0-9]{1,2}(?:\.[0-9]+){2,}"  # versions
    r"|[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?:/[0-9]{1,2})?"  # IPv4 addresses and networks
)
_MAC_ADDRESS = regex.compile(r"(?:[0-9A-F]{2}[:-]){5}[0-9A-F]{2}|(?:[0-9A-F]{4}\.){2}[0-9A-F]{4}", regex.IGNORECASE)
# National numbers begin with the trunk prefix 0 in some regions, never in others.
_NO_TRUNK_PREFIX_REGIONS = frozenset({"US", "CA"})
_TRUNK_PREFIX_ONLY_REGIONS = frozenset({"TW", "GB", "DE", "FR", "IL"})
_SERVICE_NUMBER_TYPES = frozenset({phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.PREMIUM_RATE})


class RegionalPhoneRecognizer(PhoneRecognizer):
    """Phone numbers by python-phonenumbers: Taiwan first, then other regions' national formats.

    A bare run of digits is read as a Taiwan number only, unless a phone word is near: order and ticket
    numbers are often valid numbers somewhere. Toll-free and premium numbers belong to organisations.
    """

    REGIONS = ("TW", "CN", *PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS)
    CONTEXT = [
        *PhoneRecognizer.CONTEXT,
        *("tel", "line", "電話", "手機", "行動", "市話", "分機"),
        *("號碼", "聯絡", "聯繫", "打給", "來電", "回電"),
    ]

    def __init__(self) -> None:
        super().__init__(
            context=self.CONTEXT,
            supported_language=LANGUAGE,
            supported_regions=self.REGIONS,
            leniency=phonenumbers.Leniency.VALID,
        )

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Phone numbers in the digit-bearing stretches of the text, with offsets into the whole text."""
        results = []
        mac_addresses = [match.span() for match in _MAC_ADDRESS.finditer(text)]
        for candidate in _PHONE_CANDIDATE.finditer(text):
            digits = sum(character.isdigit() for character in candidate.group())
            if digits < 7 or _NOT_A_PHONE.fullmatch(candidate.group()):
                continue
            if any(start < candidate.end() and candidate.start() < end for start, end in mac_addresses):
                continue
            # phonenumbers only reads a few characters either side, to reject digits glued to letters.
            window_start = max(0, candidate.start() - 2)
            window = text[window_start : candidate.end() + 2]
            if candidate.group().isdigit() and not context_is_near(
                text, candidate.start(), candidate.end(), self.context
            ):
                regions: Sequence[str] = ("TW",)
            else:
                regions = self._plausible_regions(candidate.group())
            for region in regions:
                matches = list(phonenumbers.PhoneNumberMatcher(window, region, leniency=self.leniency))
                for match in matches:
                    if phonenumbers.number_type(match.number) not in _SERVICE_NUMBER_TYPES:
                        results.append(self._at(window_start + match.start, window_start + match.end, region))
                if matches:
                    break
        return EntityRecognizer.remove_duplicates(results)

    def _plausible_regions(self, candidate: str) -> Sequence[str]:
        """The regions whose numbers could be written so: each region tried costs a full parse."""
        written = candidate.lstrip("(（ ")
        if written.startswith(("+", "＋")):
            return self.supported_regions[:1]  # an international number parses alike in every region
        if written.startswith(("0", "０")):
            return [region for region in self.supported_regions if region not in _NO_TRUNK_PREFIX_REGIONS]
        return [region for region in self.supported_regions if region not in _TRUNK_PREFIX_ONLY_REGIONS]

    def _at(self, start: int, end: int, region: str) -> RecognizerResult:
        result = _result(self, start, end, self.SCORE)
        result.analysis_explanation = self._get_analysis_explanation(region)
        return result


# Presidio's predefined recognizers, offline and CJK-aware --------------------------------------------

# The bundled public suffix list: tldextract's default extractor downloads one on first use.
_OFFLINE_DOMAINS = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())
_URL_PATH = r"(?:/[^\s()<>\"']*)?"
_ASCII_URL_PATH = r"(?:/[!#-&*-;=?-~]*)?"
_URL_END = r"(?![A-Za-z0-9\-])"
_SENTENCE_START = regex.compile(r"[A-Z][a-z]+")


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer, checking domains against the bundled public suffix list."""

    CONTEXT = ["email", "e-mail", "mail", "信箱", "郵件", "電郵", "郵箱"]

    def __init__(self) -> None:
        super().__init__(context=self.CONTEXT, supported_language=LANGUAGE)

    def validate_result(self, pattern_text: str) -> bool:
        """Only addresses whose domain ends in a known public suffix."""
        return _OFFLINE_DOMAINS(pattern_text).fqdn != ""


class AsciiPathUrlRecognizer(UrlRecognizer):
    """Presidio's URL recognizer, ending a path at its first non-ASCII character (…/faq請看)."""

    # The domain must end where the word ends: "bob.lin" is not bob.li.
    PATTERNS = [
        Pattern(pattern.name, pattern.regex.replace(_URL_PATH, _ASCII_URL_PATH) + _URL_END, pattern.score)
        for pattern in UrlRecognizer.PATTERNS
    ]
    CONTEXT = ["url", "website", "link", "網址", "連結", "網站", "網頁"]

    def __init__(self) -> None:
        super().__init__(patterns=self.PATTERNS, context=self.CONTEXT, supported_language=LANGUAGE)

    def invalidate_result(self, pattern_text: str) -> bool:
        """Two sentences run together ("yet.She") are not a domain: a scheme-less host ending in a capital."""
        if "://" in pattern_text or pattern_text.lower().startswith("www"):
            return False
        host = pattern_text.strip("\"'").split("/")[0]
        return bool(_SENTENCE_START.fullmatch(host.rsplit(".", 1)[-1]))


def predefined_recognizers() -> list[EntityRecognizer]:
    """Presidio's predefined recognizers that fit Lantern, with Chinese context and ASCII word boundaries."""
    recognizers: list[EntityRecognizer] = [
        OfflineEmailRecognizer(),
        AsciiPathUrlRecognizer(),
        RegionalPhoneRecognizer(),
        CreditCardRecognizer(
            context=[*CreditCardRecognizer.CONTEXT, "信用卡", "卡號", "簽帳卡", "金融卡"],
            supported_language=LANGUAGE,
        ),
        IbanRecognizer(context=["iban", "bank", "帳號", "帳戶", "銀行"], supported_language=LANGUAGE),
        IpRecognizer(context=[*IpRecognizer.CONTEXT, "位址"], supported_language=LANGUAGE),
        MacAddressRecognizer(context=[*MacAddressRecognizer.CONTEXT, "網卡"], supported_language=LANGUAGE),
        CryptoRecognizer(context=[*CryptoRecognizer.CONTEXT, "錢包", "比特幣"], supported_language=LANGUAGE),
    ]
    for recognizer in recognizers:
        if isinstance(recognizer, PatternRecognizer):
            recognizer.global_regex_flags |= regex.ASCII
    return recognizers


# Bank accounts ---------------------------------------------------------------------------------------

_ACCOUNT_CANDIDATE = regex.compile(r"(?<![A-Za-z0-9+\-])(?:[0-9][ \-]?){7,15}[0-9](?![A-Za-z0-9\-])")
_DATE_DIGITS = regex.compile(r"(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])")


class BankAccountRecognizer(LocalRecognizer):
    """Bank account numbers: 8 to 16 digits, found only with an account word a few characters away."""

    CONTEXT = [
        *("帳號", "帳戶", "戶頭", "账号", "账户", "賬號", "賬戶", "匯款", "轉帳"),
        *("account", "acct", "a/c", "bank"),
    ]
    SCORE = 0.6
    CHARACTERS_BEFORE = 20
    CHARACTERS_AFTER = 8

    def __init__(self) -> None:
        super().__init__(supported_entities=["BANK_ACCOUNT"], supported_language=LANGUAGE, context=self.CONTEXT)

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Runs of account length with an account word nearby that do not read as a date."""
        results = []
        for candidate in _ACCOUNT_CANDIDATE.finditer(text):
            digits = "".join(character for character in candidate.group() if character.isdigit())
            if len(digits) == 8 and _DATE_DIGITS.fullmatch(digits):
                continue
            if context_is_near(
                text,
                candidate.start(),
                candidate.end(),
                self.CONTEXT,
                before=self.CHARACTERS_BEFORE,
                after=self.CHARACTERS_AFTER,
            ):
                results.append(_result(self, candidate.start(), candidate.end(), self.SCORE))
        return results


# A tenant's own recognizers --------------------------------------------------------------------------


class EmployeeIdRecognizer(LocalRecognizer):
    """Employee ids by the tenant's regular expression, as whole words in any letter case.

    The pattern comes from the tenant: it runs with the detection deadline as its timeout, and the
    timeout propagates (Presidio's own pattern recognizer would skip it) so the scan fails closed.
    """

    CONTEXT = ["工號", "員工編號", "員編", "員工代號", "employee id", "employee number", "staff id", "badge"]
    SCORE = 0.7

    def __init__(self, pattern: str) -> None:
        self.pattern = regex.compile(rf"{_START}(?:{pattern}){_END}", regex.IGNORECASE)
        super().__init__(supported_entities=["EMPLOYEE_ID"], supported_language=LANGUAGE, context=self.CONTEXT)

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Every non-empty match of the tenant's pattern."""
        results = []
        position = 0
        while position <= len(text):
            # One search at a time: finditer's timeout restarts at every step. concurrent=True releases
            # the GIL, so other requests run while a bad pattern uses up its time.
            match = self.pattern.search(text, position, timeout=remaining_seconds(), concurrent=True)
            if match is None:
                break
            if match.end() > match.start():
                results.append(_result(self, match.start(), match.end(), self.SCORE))
            position = match.end() if match.end() > match.start() else match.end() + 1
        return results


def _folded(character: str) -> str:
    """A character in lower case, unless lower-casing would change the text's length."""
    lowered = character.lower()
    return lowered if len(lowered) == 1 else character


def _is_ascii_alphanumeric(character: str) -> bool:
    return character.isascii() and character.isalnum()


_UNUSUAL_SPACE = regex.compile(r"\s{2,}|[^\S ]")


class VocabularyRecognizer(LocalRecognizer):
    """A tenant's list of words as one entity: names from its directory, or its confidential terms.

    Words are looked up by their first two characters, so a directory of thousands of names costs no
    more per question than a handful. Matching ignores letter case and how much white space separates
    words; Latin words match whole, and with plural=True also with a plural s.
    """

    def __init__(self, entity_type: str, terms: Iterable[str], *, score: float, plural: bool = False) -> None:
        self.score = score
        self.plural = plural
        self.terms_by_prefix: dict[str, list[str]] = {}
        for term in {"".join(map(_folded, " ".join(term.split()))) for term in terms}:
            if len(term) >= 2:
                self.terms_by_prefix.setdefault(term[:2], []).append(term)
        for candidates in self.terms_by_prefix.values():
            candidates.sort(key=len, reverse=True)
        # Finds, in C, the few positions where some word could start; Python then checks only those.
        self.prefix_positions = regex.compile(r"(?=\L<prefixes>)", prefixes=list(self.terms_by_prefix))
        super().__init__(supported_entities=[entity_type], supported_language=LANGUAGE)

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Every occurrence of a listed word, longest first, not overlapping."""
        if not self.terms_by_prefix:
            return []
        folded, positions = self._fold(text)
        results = []
        covered_until = 0
        for candidate in self.prefix_positions.finditer(folded):
            index = candidate.start()
            if index < covered_until:
                continue
            end = self._match_end(folded, index)
            if end is not None:
                results.append(_result(self, positions[index], positions[end - 1] + 1, self.score))
                covered_until = end
        return results

    def _match_end(self, folded: str, index: int) -> int | None:
        """Where the longest listed word starting at index ends, if one does."""
        for term in self.terms_by_prefix.get(folded[index : index + 2], ()):
            if not folded.startswith(term, index):
                continue
            if _is_ascii_alphanumeric(term[0]) and index > 0 and _is_ascii_alphanumeric(folded[index - 1]):
                continue
            end = index + len(term)
            if not _is_ascii_alphanumeric(term[-1]):
                return end
            if self.plural:
                for suffix in ("es", "s"):
                    if folded.startswith(suffix, end) and not self._letter_at(folded, end + len(suffix)):
                        return end + len(suffix)
            if not self._letter_at(folded, end):
                return end
        return None

    @staticmethod
    def _letter_at(folded: str, index: int) -> bool:
        return index < len(folded) and _is_ascii_alphanumeric(folded[index])

    @staticmethod
    def _fold(text: str) -> tuple[str, list[int] | range]:
        """The text in lower case with white-space runs as one space, and each character's original index."""
        if not _UNUSUAL_SPACE.search(text):
            folded = text.lower()
            if len(folded) == len(text):
                return folded, range(len(text))
        characters: list[str] = []
        positions: list[int] = []
        for position, character in enumerate(text):
            if character.isspace():
                if characters and characters[-1] == " ":
                    continue
                character = " "
            characters.append(_folded(character))
            positions.append(position)
        return "".join(characters), positions


# Special categories ----------------------------------------------------------------------------------


def _terms_pattern(listing: str) -> str:
    """An alternation of comma-separated terms; Latin ones whole-word, short all-capital acronyms in case."""
    terms = [term.strip() for term in listing.replace("\n", ",").split(",") if term.strip()]
    acronyms = [term for term in terms if term.isascii() and term.isupper() and len(term) <= 5]
    latin = [term for term in terms if term.isascii() and term not in acronyms]
    cjk = [term for term in terms if not term.isascii()]
    branches = []
    if cjk:
        branches.append("|".join(regex.escape(term) for term in sorted(cjk, key=len, reverse=True)))
    if latin:
        latin.sort(key=len, reverse=True)
        words = "|".join(regex.escape(term).replace(r"\ ", r"\s+") for term in latin)
        branches.append(f"{_START}(?:{words}){_END}")
    if acronyms:
        branches.append(f"{_START}(?-i:{'|'.join(sorted(acronyms, key=len, reverse=True))}){_END}")
    return "|".join(branches)


SPECIAL_CATEGORY_TERMS = {
    "HEALTH": """
        憂鬱症, 抑鬱症, 憂鬱, 焦慮症, 恐慌症, 躁鬱症, 雙極性, 思覺失調, 精神分裂, 精神疾病,
        精神科, 身心科, 自殺, 自殘, 癌症, 罹癌, 腫瘤, 化療, 放療, 乳癌, 肺癌, 肝癌, 大腸癌, 胃癌,
        血癌, 白血病, 糖尿病, 心臟病, 中風, 洗腎, 癲癇, 失智, 帕金森, 愛滋, 懷孕, 懷了, 流產, 小產,
        墮胎, 人工流產, 不孕, 試管嬰兒, 凍卵, 安胎, 產檢, 身心障礙, 身障, 重大傷病, 確診, 住院,
        開刀, 動手術, 過動症, 自閉症, 酒癮, 毒癮, 藥癮, 戒毒, 產後憂鬱,
        depression, depressed, anxiety disorder, panic attacks, panic disorder, bipolar, schizophrenia,
        mental illness, psychiatric, psychiatrist, suicidal, suicide, self-harm, cancer, tumor, tumour,
        chemotherapy, chemo, radiotherapy, leukemia, diabetes, diabetic, heart disease, heart attack,
        stroke, epilepsy, dementia, Parkinson's, pregnant, pregnancy, miscarriage, abortion, infertility,
        disability, autism, autistic, addiction, alcoholism, rehab, diagnosed, diagnosis, surgery,
        hospitalized, hospitalised, tested positive, HIV, AIDS, IVF, ADHD, PTSD
    """,
    "SALARY_CHANGE": """
        減薪, 降薪, 扣薪, 加薪, 調薪, 被扣錢,
        pay cut, salary cut, pay raise, a raise, salary increase, pay rise
    """,
    "DISCIPLINARY": """
        懲處, 懲戒, 記過, 記大過, 記小過, 警告信, 書面警告, 口頭警告, 申誡, 停職, 開除, 解雇, 解僱,
        資遣, 炒魷魚, 被炒, 績效改善計畫, 績效改善計劃, 考績丙等, 考績丁等, 違紀,
        disciplinary, disciplined, written warning, final warning, verbal warning, warning letter,
        performance improvement plan, got fired, was fired, were fired, been fired, get fired,
        getting fired, fired me, fired him, fired her, was dismissed, been dismissed, dismissal,
        misconduct, reprimand, reprimanded, sacked, was let go, been let go, got let go, PIP
    """,
    "HARASSMENT": """
        性騷擾, 被騷擾, 霸凌, 歧視, 性侵, 家暴,
        harass, harassed, harassment, harassing, bullied, bullying, discriminated, discrimination,
        sexual assault, assaulted, domestic violence, stalking, stalked
    """,
    "RELIGION": """
        基督徒, 天主教徒, 穆斯林, 回教徒, 伊斯蘭教徒, 佛教徒, 道教徒, 猶太教徒, 印度教徒, 受洗,
        宗教信仰, Muslim, Christian, Catholic, Buddhist, Jewish, Hindu, Sikh, atheist, my religion,
        my faith
    """,
    "SEXUAL_ORIENTATION": """
        同性戀, 雙性戀, 跨性別, 出櫃, 性傾向, 性別認同,
        gay, lesbian, bisexual, transgender, queer, came out as, coming out as, came out to
    """,
}
SALARY_WORDS = """
    薪水, 薪資, 月薪, 年薪, 底薪, 時薪, 日薪, 本薪, 工資, 薪酬, 年終獎金, 年終, 獎金, 分紅, 年收入,
    年收, 月收入, 收入, 起薪,
    salary, salaries, wage, wages, paycheck, payslip, pay slip, income, bonus, compensation, earn,
    earns, earned, earning, earnings, base pay, monthly pay, annual pay, take-home, take home, CTC
"""
_SALARY_WORD = regex.compile(_terms_pattern(SALARY_WORDS), regex.IGNORECASE)
_AMOUNT = regex.compile(
    r"(?:NT\$|NTD|TWD|US\$|USD|\$|＄|新台幣|台幣)\s?[0-9０-９][0-9０-９,，]*(?:\.[0-9]+)?(?:\s?(?:萬|千|k(?![a-z])))?"
    r"|[0-9０-９][0-9０-９,，]*(?:\.[0-9]+)?\s?(?:萬|千|k(?![a-z])|元|塊|NTD|TWD|USD|dollars)"
    r"|(?<![0-9])[0-9]{1,3}(?:,[0-9]{3})+(?![0-9])"
    # Bare numbers of four or more digits, but not a year, a date or a count of months or days.
    r"|(?<![0-9A-Za-z])(?!(?:19|20)[0-9]{2}(?![0-9]))[0-9]{4,}(?![0-9年月日號個天歲])"
    r"|[一二三四五六七八九十兩百千]+[萬千]元?",
    regex.IGNORECASE,
)
_SALARY_DISCLOSURE = regex.compile(
    # "My salary is paid in GBP" and 我的薪水是哪天發 ask about payroll, not about the pay.
    r"\bmy\s+(?:annual\s+|monthly\s+|base\s+)?(?:salary|pay|wage|income)\s+(?:is|was)\b"
    r"(?!\s+(?:received|paid|deposited|transferred|sent|credited|late|delayed|not|in|being|going|due)\b)"
    r"|\bI\s+(?:earn|make)\s+(?:NT)?\$?[0-9]"
    r"|我的(?:月薪|年薪|薪水|薪資|底薪|收入)(?:是|有|只有|才|大約|約|大概)(?!什麼時候|何時|哪天|幾號|怎麼|如何|否)"
    r"|我(?:月薪|年薪|底薪)",
    regex.IGNORECASE,
)
_SENTENCE_BREAK = regex.compile(r"[。！？!?；;\n]|\.(?=\s|$)")
_CLAUSE_BREAK = regex.compile(r"[。！？!?；;\n，,、：:]|\.(?=\s|$)")
_POLITE = regex.compile(
    r"我想請問|我想問|我要問|我想知道|我想了解|我想確認|我想請教|我想查詢|想請問|請問|我問一下"
    r"|\bI(?:['’]d|\s+would)\s+like\s+to\s+(?:know|ask)\b|\bI\s+want\s+to\s+(?:know|ask)\b"
    r"|\b(?:can|may|could)\s+I\s+ask\b|\bI\s+(?:was\s+)?wonder(?:ing)?\b|\bI\s+have\s+a\s+question\b"
    r"|\b(?:can|could)\s+you\s+tell\s+me\b|\btell\s+me\b|\blet\s+me\s+know\b",
    regex.IGNORECASE,
)
_CONDITIONAL = regex.compile(
    r"如果|假如|假設|假使|倘若|萬一|要是|若是|若有|的話"
    r"|\b(?:if|in\s+case|suppose|supposing|assuming|hypothetically)\b",
    regex.IGNORECASE,
)
_SUBJECT = regex.compile(
    r"我(?![們们司國国])|本人|(?<!其)他(?![們们])|她(?![們们])"
    r"|\b(?:I|I['’](?:m|ve|d|ll)|im|he|she|he['’]s|she['’]s)\b",
    regex.IGNORECASE,
)
_CHINESE_PERSON_NOUN = regex.compile(
    r"同事|主管|老闆|經理|組長|部屬|下屬|屬下|老婆|太太|妻子|先生|老公|丈夫|男友|女友|男朋友|女朋友"
    r"|爸爸|媽媽|父親|母親|兒子|女兒|小孩|孩子|家人"
)
_RELATIVE = (
    r"wife|husband|partner|spouse|son|daughter|child|kids?|children|mother|mom|mum|father|dad|parents?"
    r"|brother|sister|colleague|co-?worker|teammate|manager|boss|friend|report"
)
_POSSESSIVE = regex.compile(
    rf"\b(?:my|his|her)\s+(?:[\w'’-]+\s+)?$|\b(?:my|his|her)\s+(?:{_RELATIVE})\b", regex.IGNORECASE
)
_OBJECT_AFTER = regex.compile(
    r"\s*(?:me|him|her)\b|.?(?:我(?![們们司])|(?<!其)他(?![們们])|她(?![們们]))", regex.IGNORECASE
)
# Chinese drops the pronoun: 懷孕了 and 下週要開刀 state a fact about the asker without naming them.
_CHINESE_FACT_AFTER = regex.compile(r"了")
_CHINESE_FACT_BEFORE = regex.compile(
    r"已經|剛剛|剛|最近|正在|目前|下週|下周|下星期|明天|今天|昨天|上週|上周|這週|下個月|上個月|前陣子"
)
CHINESE_PERSON_NOUN_CHARACTERS = 6
SPECIAL_CATEGORY_SCORE = 0.85


def _bounds(text: str, start: int, end: int, breaks: regex.Pattern) -> tuple[int, int]:
    """Where the sentence or clause around text[start:end] begins and ends."""
    begins = 0
    for match in breaks.finditer(text, 0, start):
        begins = match.end()
    ends = breaks.search(text, end)
    return begins, ends.start() if ends else len(text)


def _disclosed(text: str, clause_start: int, start: int, end: int, clause_end: int) -> bool:
    """Whether the clause states the term at text[start:end] about a person rather than asking about it."""
    before = _POLITE.sub(lambda match: " " * len(match.group()), text[clause_start:start])
    just_before = before[-CHINESE_PERSON_NOUN_CHARACTERS:]
    return bool(
        _SUBJECT.search(before)
        or _CHINESE_PERSON_NOUN.search(just_before)
        or _POSSESSIVE.search(before)
        or _OBJECT_AFTER.match(text, end, clause_end)
        or (not text[start:end].isascii() and _CHINESE_FACT_AFTER.match(text, end, clause_end))
        or _CHINESE_FACT_BEFORE.search(just_before)
    )


class SpecialCategoryRecognizer(LocalRecognizer):
    """Health, salary, disciplinary, harassment, religion and sexual orientation data about someone.

    A term whose clause names nobody comes back with score 0; enhance_using_context lifts it when
    another recognizer found a person identifier in the same sentence, and Presidio drops it otherwise.
    """

    ENTITIES = ("HEALTH", "SALARY", "DISCIPLINARY", "HARASSMENT", "RELIGION", "SEXUAL_ORIENTATION")

    def __init__(self) -> None:
        groups = (f"(?P<{category}>{_terms_pattern(listing)})" for category, listing in SPECIAL_CATEGORY_TERMS.items())
        self.terms = regex.compile("|".join(groups), regex.IGNORECASE)
        super().__init__(supported_entities=list(self.ENTITIES), supported_language=LANGUAGE)

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        """Special-category terms and salary amounts: disclosed ones scored, unattributed ones at 0."""
        results = []
        for match in self.terms.finditer(text):
            clause_start, clause_end = _bounds(text, match.start(), match.end(), _CLAUSE_BREAK)
            if _CONDITIONAL.search(text, clause_start, clause_end):
                continue
            disclosed = _disclosed(text, clause_start, match.start(), match.end(), clause_end)
            entity_type = "SALARY" if match.lastgroup == "SALARY_CHANGE" else str(match.lastgroup)
            results.append(self._scored(text, match.start(), match.end(), entity_type, disclosed))
        results.extend(self._salary_amounts(text))
        return results

    def _salary_amounts(self, text: str) -> list[RecognizerResult]:
        """Amounts next to a salary word; a disclosure phrase only where no amount shares its sentence."""
        results = []
        for word in _SALARY_WORD.finditer(text):
            sentence_start, sentence_end = _bounds(text, word.start(), word.end(), _SENTENCE_BREAK)
            window_start = max(sentence_start, word.start() - 10)
            window_end = min(sentence_end, word.end() + 15)
            for amount in _AMOUNT.finditer(text, window_start, window_end):
                results.append(self._scored(text, amount.start(), amount.end(), "SALARY", True))
        sentences_with_amounts = {result.recognition_metadata["sentence"] for result in results}
        for disclosure in _SALARY_DISCLOSURE.finditer(text):
            phrase = self._scored(text, disclosure.start(), disclosure.end(), "SALARY", True)
            if phrase.recognition_metadata["sentence"] not in sentences_with_amounts:
                results.append(phrase)
        return results

    def _scored(self, text: str, start: int, end: int, entity_type: str, named: bool) -> RecognizerResult:
        result = _result(self, start, end, SPECIAL_CATEGORY_SCORE if named else 0.0, entity_type)
        result.recognition_metadata["sentence"] = _bounds(text, start, end, _SENTENCE_BREAK)
        return result

    def enhance_using_context(
        self,
        text: str,
        raw_recognizer_results: list[RecognizerResult],
        other_raw_recognizer_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts,
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        """Lift unattributed terms sharing a sentence with a person identifier another recognizer found."""
        identifiers = [
            other for other in other_raw_recognizer_results if other.entity_type in PERSON_IDENTIFYING_ENTITIES
        ]
        for result in raw_recognizer_results:
            if result.score > 0:
                continue
            sentence_start, sentence_end = result.recognition_metadata["sentence"]
            if any(sentence_start <= other.start and other.end <= sentence_end for other in identifiers):
                result.score = SPECIAL_CATEGORY_SCORE
        return raw_recognizer_results
