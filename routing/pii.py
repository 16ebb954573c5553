"""Personal and confidential data in a question: found by Presidio running offline, redacted into
placeholders before text leaves for the cloud, and put back into the answer that comes home.

Detection fails closed: an error or a scan slower than its timeout reports the text as HIGH. Values
found are never logged.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import regex
from presidio_analyzer import AnalyzerEngine, EntityRecognizer, RecognizerRegistry
from presidio_analyzer.nlp_engine import NoOpNlpEngine
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig
from presidio_anonymizer.entities import RecognizerResult as AnonymizerInput

from routing.recognizers import (
    LANGUAGE,
    BankAccountRecognizer,
    CharacterWindowContextEnhancer,
    EmployeeIdRecognizer,
    SpecialCategoryRecognizer,
    TaiwanNationalIdRecognizer,
    TaiwanResidentCertificateRecognizer,
    VocabularyRecognizer,
    detection_deadline,
    predefined_recognizers,
)

logger = logging.getLogger(__name__)


class Sensitivity(StrEnum):
    NONE = "none"
    LOW = "low"  # non-personal things, such as a URL
    HIGH = "high"  # personal or confidential


LOW_ENTITY_TYPES = frozenset({"URL", "IP_ADDRESS", "MAC_ADDRESS"})

# When overlapping findings are equally sensitive and equally sure, the more specific kind is kept.
SPECIFICITY = (
    "TW_NATIONAL_ID",
    "TW_RESIDENT_CERTIFICATE",
    "CREDIT_CARD",
    "IBAN_CODE",
    "CRYPTO",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "BANK_ACCOUNT",
    "EMPLOYEE_ID",
    "PERSON",
    "CONFIDENTIAL_TERM",
    "HEALTH",
    "SALARY",
    "DISCIPLINARY",
    "HARASSMENT",
    "RELIGION",
    "SEXUAL_ORIENTATION",
    "MAC_ADDRESS",
    "IP_ADDRESS",
    "URL",
)
PERSON_SCORE = 0.85
CONFIDENTIAL_TERM_SCORE = 0.9


@dataclass(frozen=True)
class Finding:
    """One stretch of personal or confidential data: its kind, character offsets and confidence."""

    entity_type: str
    start: int
    end: int
    score: float

    @property
    def sensitivity(self) -> Sensitivity:
        """LOW for technical, non-personal kinds; HIGH for everything else, unknown kinds included."""
        return Sensitivity.LOW if self.entity_type in LOW_ENTITY_TYPES else Sensitivity.HIGH


@dataclass(frozen=True)
class TenantVocabulary:
    """A tenant's own sensitive words: its directory's names, confidential terms, employee-id pattern."""

    person_names: tuple[str, ...] = ()
    confidential_terms: tuple[str, ...] = ()
    employee_id_pattern: str = ""

    def __post_init__(self) -> None:
        # Lists would make the vocabulary unhashable, and recognizers are cached by vocabulary.
        object.__setattr__(self, "person_names", tuple(self.person_names))
        object.__setattr__(self, "confidential_terms", tuple(self.confidential_terms))


NO_VOCABULARY = TenantVocabulary()


@dataclass(frozen=True)
class ScanResult:
    """What a scan found, how sensitive that makes the text, and whether detection failed."""

    findings: tuple[Finding, ...]
    sensitivity: Sensitivity
    failed: bool = False

    @property
    def entity_types(self) -> tuple[str, ...]:
        """The kinds of data found, each once, sorted."""
        return tuple(sorted({finding.entity_type for finding in self.findings}))


@dataclass(frozen=True)
class Redaction:
    """Text with findings replaced by placeholders, and each placeholder's original value."""

    text: str
    placeholders: dict[str, str]


def scan(text: str, *, vocabulary: TenantVocabulary = NO_VOCABULARY, timeout_seconds: float = 2.0) -> ScanResult:
    """Find personal and confidential data in text; any error or a timeout gives failed=True, HIGH."""
    try:
        analyzer = _analyzer()
        tenant_recognizers = list(_tenant_recognizers(vocabulary))
        started = time.perf_counter()
        with detection_deadline(timeout_seconds):
            results = analyzer.analyze(text=text, language=LANGUAGE, ad_hoc_recognizers=tenant_recognizers or None)
        elapsed = time.perf_counter() - started
        if elapsed > timeout_seconds:
            raise TimeoutError(f"PII detection took {elapsed:.3f} s")
    except Exception as error:
        length = len(text) if isinstance(text, str) else 0
        logger.warning(
            "PII detection failed (%s) on a %d-character text; treating it as sensitive",
            type(error).__name__,
            length,
        )
        return ScanResult(findings=(), sensitivity=Sensitivity.HIGH, failed=True)
    findings = without_overlaps(
        Finding(result.entity_type, result.start, result.end, round(result.score, 4)) for result in results
    )
    return ScanResult(findings=findings, sensitivity=_sensitivity(findings))


def without_overlaps(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Keep, of findings that overlap, the more sensitive, then surer, then longer, then more specific one."""
    ranked = sorted(
        findings,
        key=lambda finding: (
            finding.sensitivity != Sensitivity.HIGH,
            -finding.score,
            -(finding.end - finding.start),
            _specificity(finding.entity_type),
            finding.start,
        ),
    )
    kept: list[Finding] = []
    for finding in ranked:
        if all(finding.end <= other.start or other.end <= finding.start for other in kept):
            kept.append(finding)
    return tuple(sorted(kept, key=lambda finding: (finding.start, finding.end)))


def redact(text: str, findings: Sequence[Finding]) -> Redaction:
    """Replace each finding with a numbered placeholder such as <PERSON_1>; equal values share one."""
    kept = [finding for finding in without_overlaps(findings) if finding.end > finding.start]
    placeholder_for_value: dict[str, str] = {}
    numbers: Counter[str] = Counter()
    for finding in kept:
        value = text[finding.start : finding.end]
        if value not in placeholder_for_value:
            numbers[finding.entity_type] += 1
            placeholder_for_value[value] = f"<{finding.entity_type}_{numbers[finding.entity_type]}>"
    if not kept:
        return Redaction(text=text, placeholders={})
    operator = OperatorConfig("custom", {"lambda": lambda value: placeholder_for_value[value]})
    anonymized = _anonymizer().anonymize(
        text=text,
        analyzer_results=[
            AnonymizerInput(finding.entity_type, finding.start, finding.end, finding.score) for finding in kept
        ],
        operators=dict.fromkeys(numbers, operator),
        # Two names separated by a space must stay two placeholders, each restorable.
        merge_entities_with_spaces=False,
    )
    placeholders = {placeholder: value for value, placeholder in placeholder_for_value.items()}
    return Redaction(text=anonymized.text, placeholders=placeholders)


def restore(text: str, placeholders: Mapping[str, str]) -> str:
    """Put original values back where a model's answer repeats their placeholders."""
    if not placeholders:
        return text
    values = {placeholder.strip("<>"): value for placeholder, value in placeholders.items()}
    names = "|".join(regex.escape(name) for name in sorted(values, key=len, reverse=True))
    # Models sometimes drop, swap or HTML-escape the angle brackets; any of those still counts.
    pattern = regex.compile(rf"(?:<|&lt;|\[|＜)?(?<![A-Za-z0-9_])({names})(?![A-Za-z0-9_])(?:>|&gt;|\]|＞)?")
    return pattern.sub(lambda match: values[match.group(1)], text)


def entity_types() -> tuple[str, ...]:
    """Every kind of finding scan can report, sorted."""
    tenant_kinds = ("PERSON", "CONFIDENTIAL_TERM", "EMPLOYEE_ID")
    return tuple(sorted({*_analyzer().get_supported_entities(LANGUAGE), *tenant_kinds}))


def warm_up() -> None:
    """Build the analyzer now, so the first question does not wait for it."""
    _analyzer()


def _sensitivity(findings: Sequence[Finding]) -> Sensitivity:
    if not findings:
        return Sensitivity.NONE
    if any(finding.sensitivity == Sensitivity.HIGH for finding in findings):
        return Sensitivity.HIGH
    return Sensitivity.LOW


def _specificity(entity_type: str) -> int:
    return SPECIFICITY.index(entity_type) if entity_type in SPECIFICITY else len(SPECIFICITY)


@lru_cache(maxsize=1)
def _analyzer() -> AnalyzerEngine:
    """The process's one analyzer: no spaCy model, nothing downloaded, every recognizer on LANGUAGE."""
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    for recognizer in (
        *predefined_recognizers(),
        TaiwanNationalIdRecognizer(),
        TaiwanResidentCertificateRecognizer(),
        BankAccountRecognizer(),
        SpecialCategoryRecognizer(),
    ):
        registry.add_recognizer(recognizer)
    analyzer = AnalyzerEngine(
        registry=registry,
        nlp_engine=NoOpNlpEngine(models=[{"lang_code": LANGUAGE, "model_name": "none"}]),
        supported_languages=[LANGUAGE],
        context_aware_enhancer=CharacterWindowContextEnhancer(),
    )
    # Compiles every recognizer's patterns once, before request threads share them.
    analyzer.analyze(text="warm up 0912-345-678 a@b.com https://x.tw A123456789 帳號 12345678901", language=LANGUAGE)
    return analyzer


@lru_cache(maxsize=256)
def _tenant_recognizers(vocabulary: TenantVocabulary) -> tuple[EntityRecognizer, ...]:
    """The tenant's own recognizers, built once per distinct vocabulary."""
    built: list[EntityRecognizer] = []
    if vocabulary.person_names:
        built.append(VocabularyRecognizer("PERSON", vocabulary.person_names, score=PERSON_SCORE))
    if vocabulary.confidential_terms:
        built.append(
            VocabularyRecognizer(
                "CONFIDENTIAL_TERM", vocabulary.confidential_terms, score=CONFIDENTIAL_TERM_SCORE, plural=True
            )
        )
    if vocabulary.employee_id_pattern:
        built.append(EmployeeIdRecognizer(vocabulary.employee_id_pattern))
    return tuple(built)


@lru_cache(maxsize=1)
def _anonymizer() -> AnonymizerEngine:
    return AnonymizerEngine()
