"""Running a routing decision's target: which backend, with what text, and what a refusal says."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from django.conf import settings

from knowledge.retrieval import SearchHit
from routing import pii
from routing.backends import (
    AnswerStream,
    Backend,
    BackendError,
    BackendErrorKind,
    ExtractiveBackend,
    Generation,
    backend_for,
)
from routing.backends.base import ChatTurn
from routing.policy import ConversationScan, backend_config_for
from routing.router import Target
from tenancy.context import current_tenant_id

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

REFUSAL = {
    "en": "This question can't be answered by the assistant under your company's privacy policy. "
    "Please contact HR or IT directly.",
    "zh-hant": "依貴公司的隱私政策，助理無法回答這個問題。請直接聯絡人資或資訊部門。",
}


RETRY_NOTICE = {
    "en": "\n\n[The assistant stopped responding; the answer is being retried from another backend.]\n\n",
    "zh-hant": "\n\n［助理中斷回應，正改由另一個後端重新回答。］\n\n",
}
# Every backend's attempts and the fallbacks after them; the extractive answerer needs no time of its own.
DEFAULT_ANSWER_TIME_BUDGET_SECONDS = 60.0


def language_of(text: str) -> str:
    """ "zh-hant" when the text has Chinese characters, else "en"."""
    return "zh-hant" if _HAN.search(text) else "en"


# Joins texts redacted together, so equal values get one placeholder across question, history and sources.
_SEPARATOR = "\n\x1e\x1e\n"


@dataclass(frozen=True)
class OutgoingText:
    """What a backend is sent: the question, earlier turns and sources, and the placeholders standing in it."""

    question: str
    history: tuple[ChatTurn, ...]
    sources: tuple[SearchHit, ...]
    placeholders: dict[str, str]


def backend_for_target(target: Target) -> Backend:
    """The backend that answers for a routing target, with the current tenant's own servers if it set them."""
    if target == Target.EXTRACTIVE:
        return ExtractiveBackend()
    return backend_for(str(target), backend_config_for(tenant_id=current_tenant_id(), name=str(target)))


def outgoing_text(
    target: Target,
    *,
    question: str,
    scan: pii.ScanResult,
    redact: bool,
    sources: Sequence[SearchHit],
    history: Sequence[ChatTurn] = (),
) -> OutgoingText:
    """The text a target is sent. The cloud never receives a personal or confidential value: in the question,
    earlier turns and sources each one becomes a placeholder; elsewhere only `redact` asks for that."""
    if target != Target.CLOUD and not redact:
        return OutgoingText(question, tuple(history), tuple(sources), {})
    vocabulary = scan.vocabulary if isinstance(scan, ConversationScan) else pii.NO_VOCABULARY
    history_scans = scan.history if isinstance(scan, ConversationScan) else ()
    if len(history_scans) != len(history):  # history passed without its scan: scan it now
        history_scans = tuple(pii.scan(turn.content, vocabulary=vocabulary) for turn in history)
    source_texts = [text for source in sources for text in (source.title, source.text)]
    source_scans = [pii.scan(text, vocabulary=vocabulary) for text in source_texts] if target == Target.CLOUD else []
    texts = [question, *(turn.content for turn in history), *(source_texts if source_scans else [])]
    scans = [scan, *history_scans, *source_scans]
    if any(text_scan.failed for text_scan in scans):
        raise BackendError(
            "was not sent the question: personal data detection failed on its text",
            backend=str(target),
            kind=BackendErrorKind.UNAVAILABLE,
        )
    findings: list[pii.Finding] = []
    offset = 0
    for text, text_scan in zip(texts, scans, strict=True):
        findings += [
            replace(finding, start=finding.start + offset, end=finding.end + offset)
            for finding in text_scan.findings
            if finding.sensitivity == pii.Sensitivity.HIGH
        ]
        offset += len(text) + len(_SEPARATOR)
    redaction = pii.redact(_SEPARATOR.join(texts), findings)
    parts = redaction.text.split(_SEPARATOR)
    if len(parts) != len(texts):
        raise BackendError(
            "was not sent the question: its text could not be redacted",
            backend=str(target),
            kind=BackendErrorKind.UNAVAILABLE,
        )
    history_parts = parts[1 : 1 + len(history)]
    redacted_history = tuple(
        ChatTurn(role=turn.role, content=content) for turn, content in zip(history, history_parts, strict=True)
    )
    redacted_sources = tuple(sources)
    if source_scans:
        source_parts = parts[1 + len(history) :]
        redacted_sources = tuple(
            replace(source, title=source_parts[2 * index], text=source_parts[2 * index + 1])
            for index, source in enumerate(sources)
        )
    return OutgoingText(parts[0], redacted_history, redacted_sources, dict(redaction.placeholders))


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
    deadline: float | None = None,
) -> tuple[AnswerStream, dict[str, str]]:
    """Start answering on the target; returns the stream and the placeholders to restore in what it says.

    The backend sees placeholders instead of sensitive values whenever it is the cloud or `redact` is set:
    see outgoing_text(). A model server must answer by `deadline` (a time.perf_counter() value); the
    extractive answerer takes no time and is always allowed, so a chain can end in it once time is up."""
    outgoing = outgoing_text(target, question=question, scan=scan, redact=redact, sources=sources, history=history)
    stream = backend_for_target(target).stream(
        question=outgoing.question,
        sources=outgoing.sources,
        history=outgoing.history,
        language=language_of(question),
        deadline=None if target == Target.EXTRACTIVE else deadline,
    )
    return stream, outgoing.placeholders


def answer_deadline(started: float) -> float:
    """When an answer begun at `started` (time.perf_counter()) must be over, fallbacks included."""
    return started + getattr(settings, "LANTERN_ANSWER_TIME_BUDGET_SECONDS", DEFAULT_ANSWER_TIME_BUDGET_SECONDS)


def retry_notice(question: str) -> str:
    """What the reader is told when an answer that had started is given again by another backend."""
    return RETRY_NOTICE[language_of(question)]


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
