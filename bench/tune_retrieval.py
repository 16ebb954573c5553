"""Choose retrieval's fusion weights, calibration and match threshold on held-out data only.

Tuning questions, never any queries.jsonl:
- CLINC150's validation.jsonl (3,000 in scope, 100 out of scope);
- held-out variants of every set: each variant asked of the tenant without that variant (in scope), and
  asked of the tenant without its whole entry (out of scope: a topic the FAQ does not cover).

Prints the lexical configurations compared, the grid's best fusion weights, the calibration feature sets
compared, the chosen calibration coefficients and match threshold, and a reliability table; the chosen
values are what `knowledge.retrieval.Weights` ships.

The calibration is a logistic regression on every tuning question (label: the best hit is right), each set
weighing the same. The match threshold, and the choice between calibration feature sets, maximise Youden's J
(share of unanswerable questions refused minus share of answerable ones refused) over the questions whose
label is real: CLINC150's out-of-scope validation questions against every set's in-scope validation and
held-out-variant questions, the sets' refusal rates averaged. J does not depend on how many unanswerable
questions a tenant receives, which nobody knows in advance (F1 does: a threshold chosen by F1 on a pool half
made of synthetic held-out-entry questions refuses far too much, on one with 3% out of scope far too little).
Held-out entries still teach the calibration; they only do not vote on the threshold, since a paraphrase
of a removed sibling intent is a harder case than a tenant's real off-topic questions.

Run: .venv/bin/python bench/tune_retrieval.py
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark_database import setup_django

setup_django()

from embedding_cache import cached_embeddings  # noqa: E402
from retrieval_corpus import QUALITY_SETS, FaqSet, load_faq_set  # noqa: E402
from retrieval_simulation import SimulatedTenant, stored_tokens  # noqa: E402

from knowledge.retrieval import (  # noqa: E402
    CONFIDENCE_FEATURES,
    DEFAULT_WEIGHTS,
    QueryEvidence,
    Weights,
    confidence_features,
    match_confidence,
    rank_sources,
)
from knowledge.text import document_text, lexical_tokens  # noqa: E402


@dataclass
class TuningQuestion:
    """A held-out question, the evidence retrieval would see for it, and the right source (None: no answer)."""

    pool: str
    evidence: QueryEvidence
    gold: int | None


def entry_texts(faq_set: FaqSet) -> list[list[str]]:
    """Each entry's question followed by its variants."""
    return [[entry["question"], *entry["variants"]] for entry in faq_set.entries]


def tuning_questions(faq_set: FaqSet, vectors: dict[str, np.ndarray], **tokenizers) -> list[TuningQuestion]:
    """Validation questions (when the set has them) and held-out variants, in scope and out of scope."""
    entries = entry_texts(faq_set)
    questions: list[TuningQuestion] = []
    if faq_set.validation:
        tenant = SimulatedTenant(entries, vectors, **tokenizers)
        positions = {entry["id"]: index for index, entry in enumerate(faq_set.entries)}
        for query in faq_set.validation:
            gold = positions[query.gold] if query.gold is not None else None
            questions.append(TuningQuestion("validation", tenant.evidence(query.text, vectors[query.text]), gold))
    for index, texts in enumerate(entries):
        for variant in texts[1:]:
            held_out = [list(other) for other in entries]
            held_out[index] = [text for text in texts if text != variant]
            tenant = SimulatedTenant(held_out, vectors, **tokenizers)
            questions.append(TuningQuestion("held-out variant", tenant.evidence(variant, vectors[variant]), index))
            without_entry = [other for position, other in enumerate(entries) if position != index]
            tenant = SimulatedTenant(without_entry, vectors, **tokenizers)
            questions.append(TuningQuestion("held-out entry", tenant.evidence(variant, vectors[variant]), None))
    return questions


def hit_at_1(questions: list[TuningQuestion], weights: Weights) -> float:
    """Share of in-scope questions whose best ranked source is the right one."""
    scoped = [question for question in questions if question.gold is not None]
    hits = sum(rank_sources(question.evidence, weights)[0][0] == question.gold for question in scoped)
    return hits / len(scoped) if scoped else 0.0


def out_of_scope_f1(confidences: np.ndarray, out_of_scope: np.ndarray, threshold: float) -> float:
    """F1 of "no good match" (confidence under the threshold) against the truly unanswerable questions."""
    predicted = confidences < threshold
    true_positives = float(np.sum(predicted & out_of_scope))
    precision = true_positives / max(float(np.sum(predicted)), 1.0)
    recall = true_positives / max(float(np.sum(out_of_scope)), 1.0)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def youden(confidences: np.ndarray, out_of_scope: np.ndarray, in_scope_sets: np.ndarray, threshold: float) -> float:
    """Share of out-of-scope questions refused minus the in-scope refusal rate, averaged over the sets."""
    refused = confidences < threshold
    caught = float(np.mean(refused[out_of_scope]))
    sets = [name for name in np.unique(in_scope_sets) if name]
    wrongly = float(np.mean([np.mean(refused[in_scope_sets == name]) for name in sets]))
    return caught - wrongly


# The direction each feature of CONFIDENCE_FEATURES may move the confidence: more score, margin and BM25
# share never lower it, more question terms the tenant never uses never raise it; the Chinese offset goes
# either way. Without these signs the fit on large tenants learns quirks (such as unseen terms *raising*
# confidence) that fail on a tenant with a handful of entries.
CALIBRATION_SIGNS = (1, 1, 1, 1, 1, 1, 0, -1)
CALIBRATION_C = 10.0
# The feature sets compared (indices into CONFIDENCE_FEATURES); features left out are held at zero.
CALIBRATION_FEATURE_SETS = {
    "best score per language": (0, 3, 6),
    "best score per language, Chinese margin": (0, 3, 4, 6),
    "best score per language, Chinese margin and BM25 share": (0, 3, 4, 5, 6),
    "best score and BM25 share per language, Chinese margin": (0, 2, 3, 4, 5, 6),
    "best score and margin per language": (0, 1, 3, 4, 6),
    "everything": tuple(range(len(CONFIDENCE_FEATURES))),
}


def fit_calibration(
    features: np.ndarray, labels: np.ndarray, weights: np.ndarray, used: tuple[int, ...]
) -> tuple[float, ...]:
    """Weighted logistic regression on the `used` features, each held to its sign: (intercept, *coefficients)."""
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    design = np.hstack([np.ones((len(features), 1)), features])
    total = weights.sum()
    ridge = 1.0 / (CALIBRATION_C * total)  # scikit-learn's L2 penalty at the same C, per unit of weight

    def loss(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        logits = design @ parameters
        penalised = np.r_[0.0, parameters[1:]]
        value = -(weights * (labels * log_expit(logits) + (1 - labels) * log_expit(-logits))).sum() / total
        gradient = design.T @ (weights * (expit(logits) - labels)) / total
        return value + ridge / 2 * penalised @ penalised, gradient + ridge * penalised

    bounds: list[tuple[float | None, float | None]] = [(None, None)]
    for index, sign in enumerate(CALIBRATION_SIGNS):
        if index not in used:
            bounds.append((0.0, 0.0))
        else:
            bounds.append((0.0, None) if sign > 0 else (None, 0.0) if sign < 0 else (None, None))
    fitted = minimize(loss, np.zeros(design.shape[1]), jac=True, bounds=bounds, method="L-BFGS-B")
    return tuple(round(float(value), 3) + 0.0 for value in fitted.x)


def compare_lexical_configurations(sets: dict[str, FaqSet], vectors: dict[str, np.ndarray]) -> None:
    """Lexical-only hit@1 on the tuning questions for each tokenisation Lantern could ship."""
    configurations = {
        "bigram, plurals stemmed": {},
        "bigram, no stemming": {
            "indexer": lambda text: document_text(text).split(),
            "searcher": lambda text: list(dict.fromkeys(lexical_tokens(text))),
        },
        "bigram, stemmed, stop words dropped": {
            "indexer": lambda text: document_text(text, stem_english=True, drop_stop_words=True).split(),
            "searcher": lambda text: list(dict.fromkeys(lexical_tokens(text, stem_english=True, drop_stop_words=True))),
        },
        "jieba, plurals stemmed": {
            "indexer": lambda text: document_text(text, "jieba", stem_english=True).split(),
            "searcher": lambda text: list(dict.fromkeys(lexical_tokens(text, mode="jieba", stem_english=True))),
        },
    }
    lexical_only = Weights(dense=0.0, dense_mean=0.0, lexical=1.0)
    print("\nLexical leg alone, hit@1 on tuning questions (in scope)")
    print(f"{'tokens':<38}" + "".join(f"{name:>12}" for name in sets))
    for label, tokenizers in configurations.items():
        row = []
        for faq_set in sets.values():
            questions = tuning_questions(faq_set, vectors, **tokenizers)
            row.append(hit_at_1(questions, lexical_only))
        print(f"{label:<38}" + "".join(f"{value:>12.3f}" for value in row))


def main() -> None:
    """Tune on held-out data and print the values to ship."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-lexical-comparison", action="store_true")
    parser.add_argument("--calibration-only", action="store_true", help="keep the shipped fusion weights")
    arguments = parser.parse_args()

    sets = {name: load_faq_set(name) for name in QUALITY_SETS}
    texts = sorted(
        {text for faq_set in sets.values() for entry in entry_texts(faq_set) for text in entry}
        | {query.text for faq_set in sets.values() for query in faq_set.validation}
    )
    vectors = dict(zip(texts, cached_embeddings(texts), strict=True))
    if not arguments.skip_lexical_comparison:
        compare_lexical_configurations(sets, vectors)

    questions = {name: tuning_questions(faq_set, vectors, indexer=stored_tokens) for name, faq_set in sets.items()}
    pools = {
        f"{name} {pool}": [question for question in questions[name] if question.pool == pool]
        for name in sets
        for pool in ("validation", "held-out variant")
        if any(question.pool == pool and question.gold is not None for question in questions[name])
    }
    print("\nTuning pools (in scope / out of scope):")
    for label, pool in pools.items():
        print(f"  {label:<34} {sum(q.gold is not None for q in pool):>6} / {sum(q.gold is None for q in pool):>4}")
    held_out_entries = sum(question.pool == "held-out entry" for name in sets for question in questions[name])
    print(f"  {'held-out entries (all sets)':<34} {0:>6} / {held_out_entries:>4}")

    if arguments.calibration_only:
        grid = [
            (
                DEFAULT_WEIGHTS.dense_mean,
                DEFAULT_WEIGHTS.dense_centroid,
                DEFAULT_WEIGHTS.lexical,
                DEFAULT_WEIGHTS.han_reading,
            )
        ]
    else:
        grid = itertools.product(
            [0.0, 0.25, 0.5, 0.75, 1.0],
            [0.0, 0.5, 1.0, 1.5, 2.0],
            [0.0, 0.01, 0.02, 0.03, 0.04, 0.06, 0.08],
            [0.0, 0.1, 0.25, 0.5, 1.0],
        )
    results = []
    for dense_mean, dense_centroid, lexical, han_reading in grid:
        weights = replace(
            DEFAULT_WEIGHTS,
            dense_mean=dense_mean,
            dense_centroid=dense_centroid,
            lexical=lexical,
            han_reading=han_reading,
        )
        scores = [hit_at_1(pool, weights) for pool in pools.values()]
        results.append((float(np.mean(scores)), weights, scores))
    results.sort(key=lambda result: -result[0])
    print("\nFusion grid, hit@1 per tuning pool (best 8 by the mean over pools)")
    print(
        f"{'dense_mean':>10} {'centroid':>8} {'lexical':>8} {'han_reading':>11} {'mean':>7}"
        + "".join(f"{label[:18]:>20}" for label in pools)
    )
    for mean, weights, scores in results[:8]:
        print(
            f"{weights.dense_mean:>10} {weights.dense_centroid:>8} {weights.lexical:>8} {weights.han_reading:>11}"
            f" {mean:>7.3f}" + "".join(f"{score:>20.3f}" for score in scores)
        )
    chosen = results[0][1]

    everything = [question for name in sets for question in questions[name]]
    # Every set weighs the same in the fit, so the few Chinese questions are not drowned by English ones.
    balance = [len(everything) / (len(sets) * len(questions[name])) for name in sets for _ in questions[name]]
    features, labels = [], []
    for question in everything:
        ranked = rank_sources(question.evidence, chosen)
        features.append(confidence_features(question.evidence, ranked))
        labels.append(question.gold is not None and ranked[0][0] == question.gold)
    correct = np.array(labels, dtype=float)
    out_of_scope = np.array([question.gold is None for question in everything])
    real_out_of_scope = out_of_scope & np.array([question.pool == "validation" for question in everything])
    in_scope_sets = np.array(
        [name if question.gold is not None else "" for name in sets for question in questions[name]]
    )
    thresholds = np.round(np.arange(0.05, 0.951, 0.01), 2)

    print("\nCalibration feature sets: Youden's J at its best threshold (CLINC150's real out-of-scope validation")
    print("questions against every set's in-scope tuning questions), and the in-scope share refused per set")
    print(f"{'features':<58} {'J':>6} {'threshold':>9}" + "".join(f"{name[:10]:>12}" for name in sets))
    candidates = []
    for label, used in CALIBRATION_FEATURE_SETS.items():
        calibration = fit_calibration(np.array(features), correct, np.array(balance), used)
        weights = replace(chosen, calibration=calibration)
        confidences = np.array(
            [match_confidence(q.evidence, rank_sources(q.evidence, weights), weights) for q in everything]
        )
        scores = [youden(confidences, real_out_of_scope, in_scope_sets, threshold) for threshold in thresholds]
        threshold = float(thresholds[int(np.argmax(scores))])
        refused = [float(np.mean(confidences[in_scope_sets == name] < threshold)) for name in sets]
        print(f"{label:<58} {max(scores):>6.3f} {threshold:>9.2f}" + "".join(f"{rate:>12.3f}" for rate in refused))
        candidates.append((max(scores), label, calibration, threshold, confidences))
    _, label, calibration, threshold, confidences = max(candidates, key=lambda candidate: candidate[0])
    chosen = replace(chosen, calibration=calibration)

    validation = np.array([question.pool == "validation" for question in everything])
    print(f"\nCalibration chosen: {label} (logistic regression; label: the best hit is right)")
    for name, coefficient in zip(("intercept", *CONFIDENCE_FEATURES), calibration, strict=True):
        print(f"  {name:<50} {coefficient:>8.3f}")
    print(
        f"  threshold {threshold:.2f}; out-of-scope F1 on CLINC150 validation "
        f"({int(real_out_of_scope.sum())} of {int(validation.sum())} out of scope): "
        f"{out_of_scope_f1(confidences[validation], out_of_scope[validation], threshold):.3f}"
    )
    print("\nReliability on tuning questions: mean confidence vs share of best hits that are right")
    for low in np.arange(0.0, 1.0, 0.1):
        inside = (confidences >= low) & (confidences < low + 0.1 + (low >= 0.9))
        if inside.any():
            print(
                f"  {low:.1f}–{low + 0.1:.1f}  n={int(inside.sum()):>5}  confidence {confidences[inside].mean():.3f}"
                f"  right {correct[inside].mean():.3f}"
            )
    print(
        "\nShip: Weights(dense=1.0, "
        f"dense_mean={chosen.dense_mean}, dense_centroid={chosen.dense_centroid}, lexical={chosen.lexical}, "
        f"han_reading={chosen.han_reading}, "
        f"calibration={calibration}); LANTERN_MATCH_THRESHOLD={threshold:.2f}"
    )


if __name__ == "__main__":
    main()
