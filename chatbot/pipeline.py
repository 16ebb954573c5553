"""One question, end to end: scan, search, decide, generate, meter, record."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

import audit
import costing
from chatbot.models import Conversation, Message
from knowledge import retrieval
from knowledge.retrieval import SearchHit, hits_for_display
from routing import pii, router
from routing.backends import BackendError, Generation
from routing.dispatch import generate_on
from routing.policy import decide_for, policy_for, scan_question
from tenancy.models import Membership

logger = logging.getLogger(__name__)


class QuestionError(ValueError):
    """A question that cannot be asked as it is; the message tells the person what to change."""


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


def validate_question(question: str) -> str:
    """The question stripped, or a QuestionError saying what is wrong with it."""
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    text = question.strip()
    if not text:
        raise QuestionError("Please type a question.")
    limit = settings.LANTERN_MAX_QUESTION_CHARS
    if len(text) > limit:
        raise QuestionError(
            f"The question is {len(text)} characters long; the limit is {limit}. Please shorten it."
        )
    if any(ord(character) < 32 and character not in "\t\n\r" for character in text):
        raise QuestionError("The question contains control characters; please send plain text.")
    return text


def answer(
    *, membership: Membership, question: str, channel: str = "web", conversation_id: int | None = None
) -> Answer:
    """Answer a question in the member's tenant transaction, leaving one audit and one usage record."""
    text = validate_question(question)
    started = time.perf_counter()
    tenant = membership.tenant
    conversation = _own_conversation(membership, conversation_id) if conversation_id is not None else None
    scan = scan_question(tenant_id=tenant.pk, question=text)
    result = retrieval.search(text)
    policy = policy_for(tenant)
    decision = decide_for(
        tenant=tenant,
        department_code=membership.department.code,
        scan=scan,
        confidence=result.confidence,
        length=len(text),
        over_budget=False,
    )
    sources = result.hits if result.matched else ()
    generation, route, fallbacks = _generate(decision, text, scan, sources)
    correlation_id = uuid.uuid4()
    occurred_at = timezone.now()
    redacted = pii.redact(text, scan.findings).text
    with transaction.atomic():
        if conversation is None:
            conversation = Conversation.objects.create(
                tenant_id=tenant.pk, user_id=membership.user_id, title=redacted[:80]
            )
        Message.objects.create(
            tenant_id=tenant.pk,
            conversation=conversation,
            role=Message.Role.USER,
            text=text,
            correlation_id=correlation_id,
        )
        reply = Message.objects.create(
            tenant_id=tenant.pk,
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            text=generation.text,
            route=route,
            reasons=list(decision.reasons) + fallbacks,
            sources=hits_for_display(sources),
            confidence=result.confidence,
            correlation_id=correlation_id,
        )
        usage = costing.meter(
            tenant_id=tenant.pk,
            department_id=membership.department_id,
            user_id=membership.user_id,
            route=route,
            backend=generation.backend,
            model=generation.model,
            tokens_in=generation.tokens_in,
            tokens_out=generation.tokens_out,
            tokens_estimated=generation.tokens_estimated,
            latency_ms=(time.perf_counter() - started) * 1000,
            correlation_id=correlation_id,
            occurred_at=occurred_at,
        )
        event = audit.record(
            tenant_id=tenant.pk,
            kind="question",
            actor_user_id=membership.user_id,
            actor_username=membership.user.get_username(),
            department_code=membership.department.code,
            channel=channel,
            correlation_id=correlation_id,
            occurred_at=occurred_at,
            raw_question=text,
            payload={
                "question_redacted": redacted,
                "entities": [
                    {"type": finding.entity_type, "start": finding.start, "end": finding.end}
                    for finding in scan.findings
                ],
                "detection_failed": scan.failed,
                "policy_version": policy.version,
                "route": route,
                "reasons": list(decision.reasons),
                "fallbacks": fallbacks,
                "sources": hits_for_display(result.hits),
                "confidence": round(result.confidence, 4),
                "backend": generation.backend,
                "model": generation.model,
                "tokens_in": generation.tokens_in,
                "tokens_out": generation.tokens_out,
                "latency_ms": usage.latency_ms,
                "cost": str(usage.cost),
                "answer": pii.redact(generation.text, pii.scan(generation.text).findings).text,
                "message_id": reply.pk,
            },
        )
    return Answer(
        text=generation.text,
        route=route,
        reasons=tuple(reply.reasons),
        confidence=result.confidence,
        sources=sources,
        backend=generation.backend,
        model=generation.model,
        sensitive=decision.sensitive,
        correlation_id=correlation_id,
        audit_id=event.pk,
        conversation_id=conversation.pk,
        message_id=reply.pk,
    )


def _generate(
    decision: router.Decision, text: str, scan: pii.ScanResult, sources: tuple[SearchHit, ...]
) -> tuple[Generation, str, list[str]]:
    """Walk the decision's chain until a backend answers: the generation, the route and fallbacks taken."""
    fallbacks: list[str] = []
    for target in decision.chain:
        if target == router.Target.CLOUD and decision.sensitive and not decision.redact:
            raise AssertionError("a sensitive question must never reach the cloud unredacted")
        try:
            generation = generate_on(
                target, question=text, scan=scan, redact=decision.redact, sources=sources
            )
        except BackendError as error:
            logger.warning("backend %s failed, falling back: %s", target, error)
            fallbacks.append(f"fallback:{target}")
            continue
        return generation, str(target), fallbacks
    raise AssertionError("every decision chain ends in a refusal, which cannot fail")


def _own_conversation(membership: Membership, conversation_id: int) -> Conversation:
    conversation = Conversation.objects.filter(
        pk=conversation_id, user_id=membership.user_id, hidden=False
    ).first()
    if conversation is None:
        raise QuestionError("That conversation does not exist or is not yours; start a new one.")
    return conversation
