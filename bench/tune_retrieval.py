"""Choose retrieval's fusion weights, calibration and match threshold on held-out data only.

Tuning questions, never any queries.jsonl:
- CLINC150's validation.jsonl (3,000 in scope, 100 out of scope);
- held-out variants of every set: each variant asked of the tenant without that variant (in scope), and
  asked of the tenant without its whole entry (out of scope: a topic the FAQ does not cover).

Prints the lexical configurations compared, the grid's best fusion weights, the calibration coefficients,
the threshold that maximises out-of-scope F1 on the tuning questions, and a reliability table; the chosen
values are what `knowledge.retrieval.Weights` ships.

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


# The direction each feature may move the confidence: more score, margin, cosine and BM25 share never lower
# it, more question terms the tenant never uses never raise it. Without these signs the fit on large tenants
# learns quirks (such as unseen terms *raising* confidence) that fail on a tenant with a handful of entries.
CALIBRATION_SIGNS = (1, 1, 1, 1, -1)
CALIBRATION_C = 10.0


def fit_calibration(features: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> tuple[float, ...]:
    """Weighted logistic regression with each coefficient held to its sign: (intercept, *coefficients)."""
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

    bounds = [(None, None)] + [(0, None) if sign > 0 else (None, 0) for sign in CALIBRATION_SIGNS]
    fitted = minimize(loss, np.zeros(design.shape[1]), jac=True, bounds=bounds, method="L-BFGS-B")
    return tuple(round(float(value), 3) for value in fitted.x)


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
        grid = [(DEFAULT_WEIGHTS.dense_mean, DEFAULT_WEIGHTS.lexical, DEFAULT_WEIGHTS.han_reading)]
    else:
        grid = itertools.product(
            [0.0, 0.25, 0.5, 0.75, 1.0],
            [0.0, 0.01, 0.02, 0.03, 0.04, 0.06, 0.08],
            [0.0, 0.1, 0.25, 0.5, 1.0],
        )
    results = []
    for dense_mean, lexical, han_reading in grid:
        weights = replace(DEFAULT_WEIGHTS, dense_mean=dense_mean, lexical=lexical, han_reading=han_reading)
        scores = [hit_at_1(pool, weights) for pool in pools.values()]
        results.append((float(np.mean(scores)), weights, scores))
    results.sort(key=lambda result: -result[0])
    print("\nFusion grid, hit@1 per tuning pool (best 8 by the mean over pools)")
    print(
        f"{'dense_mean':>10} {'lexical':>8} {'han_reading':>11} {'mean':>7}"
        + "".join(f"{label[:18]:>20}" for label in pools)
    )
    for mean, weights, scores in results[:8]:
        print(
            f"{weights.dense_mean:>10} {weights.lexical:>8} {weights.han_reading:>11} {mean:>7.3f}"
            + "".join(f"{score:>20.3f}" for score in scores)
        )
    chosen = results[0][1]

    everything = [question for name in sets for question in questions[name]]
    # Every set weighs the same in the fit, so the few Chinese questions are not drowned by English ones.
    balance = [len(everything) / (len(sets) * len(questions[name])) for name in sets for _ in questions[name]]
    features, labels = [], []
    for question in everything:
        ranked = rank_sources(question.evidence, chosen)
        features.append(confidence_features(question.evidence, ranked, chosen))
        labels.append(question.gold is not None and ranked[0][0] == question.gold)
    calibration = fit_calibration(np.array(features), np.array(labels, dtype=float), np.array(balance))
    chosen = replace(chosen, calibration=calibration)
    confidences = np.array([match_confidence(q.evidence, rank_sources(q.evidence, chosen), chosen) for q in everything])
    out_of_scope = np.array([question.gold is None for question in everything])
    thresholds = np.round(np.arange(0.05, 0.951, 0.01), 2)
    f1 = [out_of_scope_f1(confidences, out_of_scope, threshold) for threshold in thresholds]
    threshold = float(thresholds[int(np.argmax(f1))])

    print("\nCalibration (logistic regression on every tuning question; label: the best hit is right)")
    print("  features: best score, margin, readable best cosine, BM25 share, unseen-term share")
    print(f"  calibration = {calibration}")
    print(
        f"  out-of-scope F1 on tuning questions: {max(f1):.3f} at threshold {threshold:.2f} "
        f"({out_of_scope_f1(confidences, out_of_scope, 0.5):.3f} at 0.50)"
    )
    correct = np.array(labels)
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
        f"dense_mean={chosen.dense_mean}, lexical={chosen.lexical}, han_reading={chosen.han_reading}, "
        f"calibration={calibration}); LANTERN_MATCH_THRESHOLD={threshold:.2f}"
    )


if __name__ == "__main__":
    main()
