"""Questions the assistant could not answer well, kept so curators can see what the FAQ is missing.

The text stored here is redacted of personal data by the caller (the chat pipeline and the feedback view).
Questions are grouped by meaning: the embedding's cosine similarity, and for Chinese also shared character
pairs, because the bundled English model places any two Chinese sentences close together.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from knowledge.embeddings import embed_query, embed_texts
from knowledge.models import Language, UnansweredQuestion
from knowledge.text import lexical_tokens

SIMILARITY_THRESHOLD = 0.65
# Share of character pairs two Chinese questions must have in common (Dice coefficient) to be grouped.
MIN_SHARED_CHINESE_PAIRS = 0.2
MAX_WORDINGS = 10

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class QuestionGroup:
    """Unanswered questions that ask the same thing: one wording to show, how often, and when last."""

    question: str  # the most frequent wording
    count: int
    question_ids: tuple[int, ...]
    wordings: tuple[str, ...]  # distinct wordings, most frequent first, the shown one included
    no_match: int
    not_helpful: int
    last_asked_at: datetime
    language: str

    @property
    def other_wordings(self) -> tuple[str, ...]:
        return tuple(wording for wording in self.wordings if wording != self.question)


def record_unanswered(
    *, tenant_id: int, question_redacted: str, reason: str, message_id: int | None = None
) -> UnansweredQuestion:
    """Keep a question that found no confident match ("no_match") or whose answer was "not_helpful"."""
    if reason not in UnansweredQuestion.Reason.values:
        raise ValueError(f"Unknown reason {reason!r}: use one of {', '.join(UnansweredQuestion.Reason.values)}.")
    text = " ".join(question_redacted.split())[: settings.LANTERN_MAX_QUESTION_CHARS]
    if not text:
        raise ValueError("An unanswered question needs its text.")
    values = {"tenant_id": tenant_id, "question": text, "embedding": embed_query(text)}
    if message_id is None:
        return UnansweredQuestion.objects.create(reason=reason, **values)
    question, _ = UnansweredQuestion.objects.get_or_create(message_id=message_id, reason=reason, defaults=values)
    return question


def unanswered_groups(*, days: int = 30, limit: int = 500) -> list[QuestionGroup]:
    """The open unanswered questions of the last days, grouped by meaning, the most asked first."""
    since = timezone.now() - timedelta(days=days)
    questions = list(UnansweredQuestion.objects.open().filter(asked_at__gte=since).order_by("-asked_at", "-pk")[:limit])
    groups = [_summary(members) for members in _cluster(questions)]
    return sorted(groups, key=lambda group: (group.count, group.last_asked_at), reverse=True)


def group_of(*, question_ids: Sequence[int]) -> QuestionGroup | None:
    """The open questions with these ids as one group, to draft an FAQ entry from; None if none is open."""
    questions = list(UnansweredQuestion.objects.open().filter(pk__in=question_ids).order_by("-asked_at", "-pk"))
    return _summary(questions) if questions else None


@transaction.atomic
def link_unanswered(*, question_ids: Sequence[int], faq_entry_id: int) -> int:
    """Mark questions as answered by an FAQ entry drafted from them; returns how many."""
    return UnansweredQuestion.objects.open().filter(pk__in=question_ids).update(faq_entry_id=faq_entry_id)


@transaction.atomic
def dismiss_unanswered(*, question_ids: Sequence[int]) -> int:
    """Take questions off the list without an FAQ entry (noise, or already answered); returns how many."""
    return UnansweredQuestion.objects.open().filter(pk__in=question_ids).update(dismissed_at=timezone.now())


def _cluster(questions: Sequence[UnansweredQuestion]) -> list[list[UnansweredQuestion]]:
    """Each question joins the first group whose first question is similar enough, or starts a new one."""
    if not questions:
        return []
    missing = [question for question in questions if question.embedding is None]
    for question, vector in zip(missing, embed_texts([question.question for question in missing]), strict=True):
        question.embedding = vector
    vectors = np.array([np.asarray(question.embedding, dtype=np.float32) for question in questions])
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    pairs = [set(lexical_tokens(question.question)) for question in questions]
    chinese = [_is_mostly_chinese(question.question) for question in questions]

    leaders: list[int] = []
    members: list[list[UnansweredQuestion]] = []
    for index, question in enumerate(questions):
        joined = False
        if leaders:
            similarities = vectors[leaders] @ vectors[index]
            for position in np.argsort(-similarities):
                if similarities[position] < SIMILARITY_THRESHOLD:
                    break
                leader = leaders[position]
                chinese_pair = chinese[leader] or chinese[index]
                if chinese_pair and _dice(pairs[leader], pairs[index]) < MIN_SHARED_CHINESE_PAIRS:
                    continue
                members[position].append(question)
                joined = True
                break
        if not joined:
            leaders.append(index)
            members.append([question])
    return members


def _summary(questions: Sequence[UnansweredQuestion]) -> QuestionGroup:
    wordings = Counter(question.question for question in questions)
    newest_first = sorted(questions, key=lambda question: (question.asked_at, question.pk), reverse=True)
    # The most frequent wording; among equally frequent ones, the most recent.
    order = {question.question: rank for rank, question in reversed(list(enumerate(newest_first)))}
    ranked = sorted(wordings, key=lambda wording: (-wordings[wording], order[wording]))
    reasons = Counter(question.reason for question in questions)
    return QuestionGroup(
        question=ranked[0],
        count=len(questions),
        question_ids=tuple(question.pk for question in newest_first),
        wordings=tuple(ranked[:MAX_WORDINGS]),
        no_match=reasons[UnansweredQuestion.Reason.NO_MATCH],
        not_helpful=reasons[UnansweredQuestion.Reason.NOT_HELPFUL],
        last_asked_at=newest_first[0].asked_at,
        language=Language.ZH_HANT if _is_mostly_chinese(ranked[0]) else Language.EN,
    )


def _is_mostly_chinese(text: str) -> bool:
    return len(_HAN.findall(text)) >= len(_LATIN.findall(text)) / 4 and bool(_HAN.search(text))


def _dice(first: set[str], second: set[str]) -> float:
    if not first or not second:
        return 0.0
    return 2 * len(first & second) / (len(first) + len(second))
