"""One question, end to end: scan, search, decide, generate, meter, record.

The same steps serve every channel. `prepare_question` runs inside the member's tenant transaction and does
everything before the model speaks; `stream_answer` walks the decision's chain, yields the answer as it
arrives, and stores the messages, usage and audit records exactly once, in one transaction of its own, also
when the reader goes away mid-stream. `answer` is both in one call.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

import audit
import costing
from chatbot.models import Conversation, Message
from chatbot.presentation import sources_for_display
from config import metrics, observability
from costing.budgets import department_over_hard_budget
from knowledge import retrieval
from knowledge.retrieval import SearchHit, hits_for_display
from routing import pii, router, tokens
from routing.backends import AnswerStream, BackendError, Generation
from routing.backends.base import ChatTurn
from routing.dispatch import answer_deadline, language_of, open_stream, refusal, retry_notice
from routing.policy import decide_for, policy_for, scan_question
from tenancy.context import tenant_context
from tenancy.models import Membership

logger = logging.getLogger(__name__)

HISTORY_TURNS = 6  # earlier messages sent along with a question in an ongoing conversation


class QuestionError(ValueError):
    """A question that cannot be asked as it is; the message tells the person what to change."""


def _new_correlation_id() -> uuid.UUID:
    """The request's id when the question is asked over HTTP, so X-Request-ID leads to the audit event."""
    return observability.current_correlation_id() or uuid.uuid4()


@dataclass(frozen=True)
class PreparedQuestion:
    """Everything decided about a question before any model is asked."""

    membership: Membership
    text: str
    channel: str
    conversation_id: int
    history: tuple[ChatTurn, ...]
    scan: pii.ScanResult
    confidence: float
    all_hits: tuple[SearchHit, ...]
    sources: tuple[SearchHit, ...]
    decision: router.Decision
    policy_version: int
    correlation_id: uuid.UUID = field(default_factory=_new_correlation_id)
    started: float = field(default_factory=time.perf_counter)

    @property
    def language(self) -> str:
        return language_of(self.text)


@dataclass(frozen=True)
class Opening:
    """What is known when an answer starts: where it is answered, why, and from which sources."""

    route: str
    reasons: tuple[str, ...]
    sensitive: bool
    sources: tuple[SearchHit, ...]
    conversation_id: int
    correlation_id: uuid.UUID


@dataclass(frozen=True)
class Reopening(Opening):
    """The answer starts again on the next backend of the chain, after the previous one failed mid-answer."""


@dataclass(frozen=True)
class Answer:
    text: str
    route: str
    reasons: tuple[str, ...]
    confidence: float
    sources: tuple[SearchHit, ...]
    backend: str
    model: str
    sensitive: bool
    correlation_id: uuid.UUID
    audit_id: int
    conversation_id: int
    message_id: int
    status: str = Message.Status.COMPLETE
    tokens_in: int = 0
    tokens_out: int = 0


def is_valid_text(text: str) -> bool:
    """Whether the text can be stored and sent as UTF-8 (a lone surrogate cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_question(question: str) -> str:
    """The question stripped, or a QuestionError saying what is wrong with it."""
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    text = question.strip()
    if not text:
        raise QuestionError("Please type a question.")
    limit = settings.LANTERN_MAX_QUESTION_CHARS
    if len(text) > limit:
        raise QuestionError(f"The question is {len(text)} characters long; the limit is {limit}. Please shorten it.")
    if any(ord(character) < 32 and character not in "\t\n\r" for character in text):
        raise QuestionError("The question contains control characters; please send plain text.")
    if not is_valid_text(text):
        raise QuestionError("The question contains characters that are not valid text; please send plain text.")
    return text


def prepare_question(
    *,
    membership: Membership,
    question: str,
    channel: str = "web",
    conversation_id: int | None = None,
    history: Sequence[ChatTurn] | None = None,
) -> PreparedQuestion:
    """Validate, scan, search and decide, inside the member's tenant transaction; opens a conversation if none.

    `history` is the earlier turns a caller sends itself (the OpenAI-compatible API); otherwise they are read
    from the conversation."""
    text = validate_question(question)
    tenant = membership.tenant
    if conversation_id is not None:
        conversation = _own_conversation(membership, conversation_id)
        if history is None:
            history = _history_of(conversation)
    else:
        conversation = Conversation.objects.create(tenant_id=tenant.pk, user_id=membership.user_id, title="")
    turns = tuple(history or ())
    scan = scan_question(tenant_id=tenant.pk, question=text, history=turns)
    result = retrieval.search(text)
    if not conversation.title:
        conversation.title = pii.redact(text, scan.findings).text[:80]
        conversation.save(update_fields=["title", "updated_at"])
    decision = decide_for(
        tenant=tenant,
        department_code=membership.department.code,
        scan=scan,
        confidence=result.confidence,
        length=len(text),
        over_budget=_over_budget(membership),
    )
    return PreparedQuestion(
        membership=membership,
        text=text,
        channel=channel,
        conversation_id=conversation.pk,
        history=turns,
        scan=scan,
        confidence=result.confidence,
        all_hits=result.hits,
        sources=result.hits if result.matched else (),
        decision=decision,
        policy_version=policy_for(tenant).version,
    )


def stream_answer(prepared: PreparedQuestion) -> Iterator[Opening | str | Answer]:
    """Yield an Opening, then the answer's text pieces, then the stored Answer.

    Runs outside any transaction: each database step opens its own tenant transaction. A backend failing
    mid-answer hands over to the next one of the decision's chain within the answer's time budget: a
    Reopening names it, a notice says so when text was already shown, and the stored answer is the
    fallback's. Closing the generator early stores what was shown, marked interrupted."""
    tenant_id = prepared.membership.tenant_id
    deadline = answer_deadline(prepared.started)
    fallbacks: list[str] = []
    with tenant_context(tenant_id):
        stream, placeholders, route = _open_on_chain(prepared, fallbacks=fallbacks, deadline=deadline)
    opening = _opening(prepared, route=route, fallbacks=fallbacks)
    shown = ""
    status = Message.Status.INTERRUPTED
    try:
        yield opening
        while not isinstance(stream, Generation):
            raw = ""
            try:
                with stream:
                    for delta in stream:
                        raw += delta
                        visible = _restorable(raw, placeholders)
                        if len(visible) > len(shown):
                            piece, shown = visible[len(shown) :], visible
                            yield piece
                generation = stream.generation
            except BackendError as error:
                logger.warning("backend %s failed mid-answer, falling back: %s", route, error)
                fallbacks.append(f"fallback:{route}")
                with tenant_context(tenant_id):
                    stream, placeholders, route = _open_on_chain(
                        prepared, fallbacks=fallbacks, deadline=deadline, after=route
                    )
                opening = _opening(prepared, route=route, fallbacks=fallbacks, reopening=True)
                yield opening
                if shown:
                    yield retry_notice(prepared.text)
                shown = ""
                continue
            text = pii.restore(generation.text, placeholders)
            stream = _with_text(generation, text)
        if len(stream.text) > len(shown):
            yield stream.text[len(shown) :]
        status = Message.Status.COMPLETE
        yield record_answer(prepared, opening=opening, generation=stream, status=status)
    finally:
        if status == Message.Status.INTERRUPTED:
            record_answer(prepared, opening=opening, generation=_partial(prepared, route, shown), status=status)


def answer(
    *,
    membership: Membership,
    question: str,
    channel: str = "web",
    conversation_id: int | None = None,
    history: Sequence[ChatTurn] | None = None,
) -> Answer:
    """Answer a question in one call, leaving one audit and one usage record."""
    prepared = prepare_question(
        membership=membership, question=question, channel=channel, conversation_id=conversation_id, history=history
    )
    result = None
    for event in stream_answer(prepared):
        if isinstance(event, Answer):
            result = event
    assert result is not None
    return result


def record_answer(prepared: PreparedQuestion, *, opening: Opening, generation: Generation, status: str) -> Answer:
    """Store both messages, the usage record and the audit event in one tenant transaction."""
    membership = prepared.membership
    tenant_id = membership.tenant_id
    occurred_at = timezone.now()
    redacted = pii.redact(prepared.text, prepared.scan.findings).text
    with tenant_context(tenant_id):
        conversation = Conversation.objects.get(pk=prepared.conversation_id)
        Message.objects.create(
            tenant_id=tenant_id,
            conversation=conversation,
            role=Message.Role.USER,
            text=prepared.text,
            correlation_id=prepared.correlation_id,
        )
        reply = Message.objects.create(
            tenant_id=tenant_id,
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            text=generation.text,
            route=opening.route,
            reasons=list(opening.reasons),
            sources=sources_for_display(opening.sources),
            confidence=prepared.confidence,
            sensitive=opening.sensitive,
            status=status,
            correlation_id=prepared.correlation_id,
        )
        conversation.save(update_fields=["updated_at"])
        usage = costing.meter(
            tenant_id=tenant_id,
            department_id=membership.department_id,
            user_id=membership.user_id,
            route=opening.route,
            backend=generation.backend,
            model=generation.model,
            tokens_in=generation.tokens_in,
            tokens_out=generation.tokens_out,
            tokens_estimated=generation.tokens_estimated,
            latency_ms=(time.perf_counter() - prepared.started) * 1000,
            correlation_id=prepared.correlation_id,
            occurred_at=occurred_at,
        )
        event = audit.record(
            tenant_id=tenant_id,
            kind="question",
            actor_user_id=membership.user_id,
            actor_username=membership.user.get_username(),
            department_code=membership.department.code,
            channel=prepared.channel,
            correlation_id=prepared.correlation_id,
            occurred_at=occurred_at,
            raw_question=prepared.text,
            payload={
                "question_redacted": redacted,
                "entities": [
                    {"type": finding.entity_type, "start": finding.start, "end": finding.end}
                    for finding in prepared.scan.findings
                ],
                "detection_failed": prepared.scan.failed,
                "policy_version": prepared.policy_version,
                "route": opening.route,
                "reasons": list(prepared.decision.reasons),
                "fallbacks": [reason for reason in opening.reasons if reason.startswith("fallback:")],
                "sources": hits_for_display(prepared.all_hits),
                "confidence": round(prepared.confidence, 4),
                "backend": generation.backend,
                "model": generation.model,
                "tokens_in": generation.tokens_in,
                "tokens_out": generation.tokens_out,
                "latency_ms": usage.latency_ms,
                "cost": str(usage.cost),
                "status": status,
                "answer": pii.redact(generation.text, pii.scan(generation.text).findings).text,
                "message_id": reply.pk,
            },
        )
        if not prepared.sources and opening.route != "refused":
            _record_gap(tenant_id=tenant_id, question_redacted=redacted, reason="no_match", message_id=reply.pk)
    metrics.observe_question(
        route=opening.route,
        status=status,
        reasons=opening.reasons,
        entity_types=(finding.entity_type for finding in prepared.scan.findings),
        detection_failed=prepared.scan.failed,
        seconds=time.perf_counter() - prepared.started,
    )
    return Answer(
        text=generation.text,
        route=opening.route,
        reasons=opening.reasons,
        confidence=prepared.confidence,
        sources=opening.sources,
        backend=generation.backend,
        model=generation.model,
        sensitive=opening.sensitive,
        correlation_id=prepared.correlation_id,
        audit_id=event.pk,
        conversation_id=prepared.conversation_id,
        message_id=reply.pk,
        status=status,
        tokens_in=generation.tokens_in,
        tokens_out=generation.tokens_out,
    )


def _open_on_chain(
    prepared: PreparedQuestion, *, fallbacks: list[str], deadline: float, after: str = ""
) -> tuple[AnswerStream | Generation, dict[str, str], str]:
    """Walk the decision's chain, from the target after `after` if given, until a backend starts answering:
    its stream (or the refusal), the placeholders to restore and the route. Appends each target passed over
    to `fallbacks`."""
    decision = prepared.decision
    chain = decision.chain
    if after:
        chain = chain[[str(target) for target in chain].index(after) + 1 :]
    for target in chain:
        if target == router.Target.CLOUD and decision.sensitive and not decision.redact:
            raise AssertionError("a sensitive question must never reach the cloud unredacted")
        if target == router.Target.REFUSE:
            return refusal(prepared.text), {}, str(target)
        try:
            stream, placeholders = open_stream(
                target,
                question=prepared.text,
                scan=prepared.scan,
                redact=decision.redact,
                sources=prepared.sources,
                history=prepared.history,
                deadline=deadline,
            )
        except BackendError as error:
            logger.warning("backend %s failed, falling back: %s", target, error)
            fallbacks.append(f"fallback:{target}")
            continue
        return stream, placeholders, str(target)
    raise AssertionError("every decision chain ends in a refusal, which cannot fail")


def _opening(prepared: PreparedQuestion, *, route: str, fallbacks: Sequence[str], reopening: bool = False) -> Opening:
    kind = Reopening if reopening else Opening
    return kind(
        route=route,
        reasons=(*prepared.decision.reasons, *fallbacks),
        sensitive=prepared.decision.sensitive,
        sources=prepared.sources,
        conversation_id=prepared.conversation_id,
        correlation_id=prepared.correlation_id,
    )


def _restorable(raw: str, placeholders: dict[str, str]) -> str:
    """The streamed text with placeholders restored, holding back a placeholder that is still arriving."""
    if not placeholders:
        return raw
    opening = raw.rfind("<")
    if opening != -1 and ">" not in raw[opening:]:
        raw = raw[:opening]
    return pii.restore(raw, placeholders)


def _with_text(generation: Generation, text: str) -> Generation:
    return Generation(
        text=text,
        backend=generation.backend,
        model=generation.model,
        tokens_in=generation.tokens_in,
        tokens_out=generation.tokens_out,
        tokens_estimated=generation.tokens_estimated,
        latency_ms=generation.latency_ms,
    )


def _partial(prepared: PreparedQuestion, route: str, shown: str) -> Generation:
    """What an answer cut short cost, estimated from the text shown so far."""
    return Generation(
        text=shown,
        backend=route,
        model="",
        tokens_in=tokens.count_tokens(prepared.text),
        tokens_out=tokens.count_tokens(shown) if shown else 0,
        tokens_estimated=True,
        latency_ms=(time.perf_counter() - prepared.started) * 1000,
    )


def _history_of(conversation: Conversation) -> tuple[ChatTurn, ...]:
    recent = list(conversation.messages.order_by("-created_at", "-id").values_list("role", "text")[:HISTORY_TURNS])
    return tuple(ChatTurn(role=role, content=text) for role, text in reversed(recent) if text)


def _over_budget(membership: Membership) -> bool:
    return department_over_hard_budget(tenant_id=membership.tenant_id, department_id=membership.department_id)


def _record_gap(*, tenant_id: int, question_redacted: str, reason: str, message_id: int | None) -> None:
    from knowledge.gaps import record_unanswered

    record_unanswered(tenant_id=tenant_id, question_redacted=question_redacted, reason=reason, message_id=message_id)


def _own_conversation(membership: Membership, conversation_id: int) -> Conversation:
    conversation = Conversation.objects.filter(pk=conversation_id, user_id=membership.user_id, hidden=False).first()
    if conversation is None:
        raise QuestionError("That conversation does not exist or is not yours; start a new one.")
    return conversation
