"""Routing latency, p50 and p99, on a mixed question set (short, 300-character, with and without personal
data, Chinese and English): the scan of a question and of a conversation, the decision itself, and the
redaction of what is sent to the cloud. Detection quality is bench/bench_pii.py's job.

Run: .venv/bin/python bench/bench_routing.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
for path in (REPOSITORY, REPOSITORY / "tests" / "routing"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from privacy_cases import (  # noqa: E402
    BLAND_EN,
    BLAND_ZH,
    CONFIDENTIAL_TERMS,
    EMPLOYEE_ID_PATTERN,
    PERSON_NAMES,
    SENSITIVE_SENTENCES,
)

from knowledge.retrieval import SearchHit  # noqa: E402
from routing import pii  # noqa: E402
from routing.backends import ChatTurn  # noqa: E402
from routing.dispatch import outgoing_text  # noqa: E402
from routing.policy import ConversationScan  # noqa: E402
from routing.router import BackendHealth, Policy, Target, decide  # noqa: E402

VOCABULARY = pii.TenantVocabulary(
    person_names=(*PERSON_NAMES, "陳美玲", "林志豪", "Alice Chen", "David Wu"),
    confidential_terms=CONFIDENTIAL_TERMS,
    employee_id_pattern=EMPLOYEE_ID_PATTERN,
)
SOURCE = SearchHit(
    kind="faq", id=1, title="How do I request a new laptop?", text="Open an IT ticket; the PMO approves it.", score=0.4
)
HARMLESS = (
    BLAND_EN,
    BLAND_ZH,
    "How do I connect to the VPN from home?",
    "特休假有幾天？",
    "Where is the expense policy for business travel to Japan?",
    "印表機卡紙了要找誰？",
)


def to_length(text: str, length: int) -> str:
    """The text repeated and cut to exactly `length` characters."""
    return ((text + " ") * (length // (len(text) + 1) + 1))[:length]


def question_set(rng: random.Random) -> dict[str, list[str]]:
    """Questions by kind: short harmless, short sensitive, and 300-character ones of both."""
    sensitive = [sentence for _type, sentence, _values in SENSITIVE_SENTENCES]
    return {
        "short, harmless": list(HARMLESS),
        "short, sensitive": sensitive,
        "300 chars, harmless": [to_length(text, 300) for text in HARMLESS],
        "300 chars, sensitive": [to_length(f"{text} {rng.choice(HARMLESS)}", 300) for text in sensitive],
    }


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def timed(action: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="timed runs per question (default 20)")
    rounds = parser.parse_args().rounds
    rng = random.Random(7)
    questions = question_set(rng)
    pii.warm_up()
    for texts in questions.values():
        for text in texts:
            pii.scan(text, vocabulary=VOCABULARY)

    rows: list[tuple[str, str, int, float, float]] = []
    for kind, texts in questions.items():
        samples = [
            ms for text in texts for ms in timed(lambda text=text: pii.scan(text, vocabulary=VOCABULARY), rounds)
        ]
        rows.append(("scan question", kind, len(samples), *percentiles(samples)))

    history = (ChatTurn("user", SENSITIVE_SENTENCES[0][1]), ChatTurn("assistant", "Please see the HR portal [1]."))
    conversation_samples = []
    for text in questions["300 chars, harmless"] + questions["short, sensitive"]:

        def scan_conversation(text: str = text) -> None:
            for turn_text in (text, *(turn.content for turn in history)):
                pii.scan(turn_text, vocabulary=VOCABULARY)

        conversation_samples += timed(scan_conversation, rounds)
    rows.append(("scan question + 2 turns", "mixed", len(conversation_samples), *percentiles(conversation_samples)))

    policies = [Policy(mode=mode) for mode in ("hybrid", "local_only", "cloud_only")] + [
        Policy(mode="cloud_only", allow_redacted_cloud=True, refuse_entities=frozenset({"HEALTH"}))
    ]
    decision_samples = []
    scans = [pii.scan(text, vocabulary=VOCABULARY) for texts in questions.values() for text in texts]
    for scan in scans:
        for policy in policies:
            facts = {
                "policy": policy,
                "entity_types": scan.entity_types,
                "detection_failed": scan.failed,
                "confidence": rng.random(),
                "length": rng.choice((40, 300, 600)),
                "department_code": rng.choice(("IT", "HR", "LEGAL")),
                "over_budget": rng.random() < 0.1,
                "health": BackendHealth(local_available=rng.random() < 0.9, cloud_available=True),
            }
            decision_samples += timed(lambda facts=facts: decide(**facts), rounds)
    rows.append(("decide()", "mixed", len(decision_samples), *percentiles(decision_samples)))

    redaction_samples = []
    for text in questions["300 chars, sensitive"]:
        question_scan = pii.scan(text, vocabulary=VOCABULARY)
        conversation = ConversationScan(
            findings=question_scan.findings,
            sensitivity=question_scan.sensitivity,
            history=tuple(pii.scan(turn.content, vocabulary=VOCABULARY) for turn in history),
            vocabulary=VOCABULARY,
        )
        redaction_samples += timed(
            lambda text=text, conversation=conversation: outgoing_text(
                Target.CLOUD, question=text, scan=conversation, redact=True, sources=(SOURCE,), history=history
            ),
            rounds,
        )
    rows.append(
        (
            "redact for the cloud (+1 source)",
            "300 chars, sensitive",
            len(redaction_samples),
            *percentiles(redaction_samples),
        )
    )

    print(f"{'step':34} {'questions':22} {'runs':>6} {'p50 ms':>8} {'p99 ms':>8}")
    for step, kind, count, p50, p99 in rows:
        print(f"{step:34} {kind:22} {count:6d} {p50:8.3f} {p99:8.3f}")
    print("goals: scan p50 <= 5 ms and p99 <= 15 ms at 300 characters; decide() under 1 ms")


if __name__ == "__main__":
    main()
