"""Running a routing decision's target: which backend, with what text, and what a refusal says."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from knowledge.retrieval import SearchHit
from routing import pii
from routing.backends import (
    AnswerStream,
    Backend,
    ExtractiveBackend,
    Generation,
    backend_for,
    config_from_settings,
)
from routing.backends.base import ChatTurn
from routing.router import Target

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

REFUSAL = {
    "en": "This question can't be answered by the assistant under your company's privacy policy. "
    "Please contact HR or IT directly.",
    "zh-hant": "依貴公司的隱私政策，助理無法回答這個問題。請直接聯絡人資或資訊部門。",
}


def language_of(text: str) -> str:
    """ "zh-hant" when the text has Chinese characters, else "en"."""
    return "zh-hant" if _HAN.search(text) else "en"


def backend_for_target(target: Target) -> Backend:
    """The backend that answers for a routing target (local without a server is the extractive answerer)."""
    if target == Target.EXTRACTIVE:
        return ExtractiveBackend()
    return backend_for(str(target), config_from_settings(str(target)))


def refusal(question: str) -> Generation:
    """The honest answer when the policy forbids every backend for this question."""
    return Generation(
        text=REFUSAL[language_of(question)],
        backend="none",
        model="",
        tokens_in=0,
        tokens_out=0,
        tokens_estimated=False,
        latency_ms=0.0,
    )


def open_stream(
    target: Target,
    *,
    question: str,
    scan: pii.ScanResult,
    redact: bool,
    sources: Sequence[SearchHit],
    history: Sequence[ChatTurn] = (),
) -> tuple[AnswerStream, dict[str, str]]:
    """Start answering on the target; returns the stream and the placeholders to restore in what it says.

    When the question is to be redacted, the backend sees placeholders instead of the sensitive values."""
    placeholders: dict[str, str] = {}
    text = question
    if redact:
        redaction = pii.redact(question, scan.findings)
        text, placeholders = redaction.text, dict(redaction.placeholders)
    stream = backend_for_target(target).stream(
        question=text, sources=sources, history=history, language=language_of(question)
    )
    return stream, placeholders


def generate_on(
    target: Target,
    *,
    question: str,
    scan: pii.ScanResult,
    redact: bool,
    sources: Sequence[SearchHit],
    history: Sequence[ChatTurn] = (),
) -> Generation:
    """Answer on the target in one call; raises BackendError when it cannot."""
    if target == Target.REFUSE:
        return refusal(question)
    stream, placeholders = open_stream(
        target, question=question, scan=scan, redact=redact, sources=sources, history=history
    )
    with stream:
        for _delta in stream:
            pass
    generation = stream.generation
    if placeholders:
        generation = replace(generation, text=pii.restore(generation.text, placeholders))
    return generation
