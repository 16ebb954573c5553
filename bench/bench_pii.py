"""Benchmarks for routing.pii, printed as tables:

1. Presidio's own recognizer test vectors: Lantern's scan against Presidio's predefined recognizer, per entity.
2. Precision and recall per entity on bench/data/tw_pii.jsonl, a labelled Taiwan set in Chinese and English.
3. False alarms on ordinary FAQ questions (banking77, clinc150, xsid_zh_tw queries and entries).
4. Scan latency, p50 and p99, on a mixed question set with 300-character questions, after warm-up.

Run: .venv/bin/python bench/bench_pii.py [--quick]. Datasets: ../shared/datasets beside the repository, or
the LANTERN_DATASETS environment variable.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import tldextract
from presidio_analyzer import EntityRecognizer
from presidio_analyzer import predefined_recognizers as presidio

REPOSITORY = Path(__file__).resolve().parents[1]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from routing import pii  # noqa: E402
from routing.recognizers import RegionalPhoneRecognizer  # noqa: E402

DATASETS = Path(os.environ.get("LANTERN_DATASETS") or REPOSITORY.parent / "shared" / "datasets")
TAIWAN_SET = REPOSITORY / "bench" / "data" / "tw_pii.jsonl"
TAIWAN_VOCABULARY = pii.TenantVocabulary(
    person_names=("王小明", "陳美玲", "林志豪", "Alice Chen", "Bob Lin", "David Wu"),
    confidential_terms=("Project Falcon", "鳳凰計畫", "layoff", "merger", "裁員", "併購"),
    employee_id_pattern=r"E\d{6}",
)

# Presidio's own predefined recognizer for each entity Lantern also reports.
PRESIDIO_RECOGNIZERS: dict[str, type[EntityRecognizer]] = {
    "EMAIL_ADDRESS": presidio.EmailRecognizer,
    "CREDIT_CARD": presidio.CreditCardRecognizer,
    "IBAN_CODE": presidio.IbanRecognizer,
    "IP_ADDRESS": presidio.IpRecognizer,
    "PHONE_NUMBER": presidio.PhoneRecognizer,
    "URL": presidio.UrlRecognizer,
    "MAC_ADDRESS": presidio.MacAddressRecognizer,
    "CRYPTO": presidio.CryptoRecognizer,
}
# Lantern's fixed settings for the recognizer parameters some vectors vary.
LANTERN_PARAMETERS = {"PHONE_NUMBER": {"leniency": RegionalPhoneRecognizer().leniency}}


def read_jsonl(path: Path) -> Iterator[dict]:
    """Each line of a JSON Lines file."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def table(headers: list[str], rows: list[list[object]]) -> None:
    """Print rows under headers, columns padded, numbers right-aligned."""
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if cell.replace(".", "").replace("%", "").isdigit() else cell.ljust(width)
            for cell, width in zip(row, widths, strict=True)
        )

    print(line(cells[0]))
    print("  ".join("-" * width for width in widths))
    for row in cells[1:]:
        print(line(row))


def passes(spans: list[list[int]], case: dict) -> bool:
    """A case passes with the expected number of findings and, where given, exactly the expected spans."""
    if len(spans) != case["expected_count"]:
        return False
    return case["spans"] is None or sorted(spans) == sorted(map(list, case["spans"]))


def presidio_vectors() -> None:
    """Lantern's scan against Presidio's own predefined recognizer on Presidio's test vectors."""
    path = DATASETS / "presidio_vectors.jsonl"
    print(f"\n1. Presidio test vectors ({path})")
    if not path.exists():
        print("   not found: set LANTERN_DATASETS to the folder holding presidio_vectors.jsonl")
        return
    # Presidio's EmailRecognizer calls tldextract's default extractor, which downloads the public suffix list;
    # point it at the bundled snapshot so both runs stay offline, as Lantern's own recognizer does.
    tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=())
    lantern_kinds = set(pii.entity_types())
    cases = list(read_jsonl(path))
    totals: Counter[str] = Counter()
    compared: Counter[str] = Counter()
    presidio_passed: Counter[str] = Counter()
    lantern_passed: Counter[str] = Counter()
    all_presidio: Counter[str] = Counter()
    all_lantern: Counter[str] = Counter()
    failures: list[str] = []
    recognizers: dict[str, EntityRecognizer] = {}
    for case in cases:
        entity = case["entity"]
        totals[entity] += 1
        if entity not in lantern_kinds or entity not in PRESIDIO_RECOGNIZERS:
            continue
        parameters = case.get("params", {})
        key = json.dumps([entity, parameters], sort_keys=True)
        if key not in recognizers:
            recognizers[key] = PRESIDIO_RECOGNIZERS[entity](**parameters)
        theirs = [[r.start, r.end] for r in recognizers[key].analyze(case["text"], [entity]) if r.entity_type == entity]
        ours = [[f.start, f.end] for f in pii.scan(case["text"]).findings if f.entity_type == entity]
        presidio_ok, lantern_ok = passes(theirs, case), passes(ours, case)
        all_presidio[entity] += presidio_ok
        all_lantern[entity] += lantern_ok
        # A case that sets a recognizer parameter Lantern fixes differently tests that setting, not the text.
        if all(LANTERN_PARAMETERS.get(entity, {}).get(name) == value for name, value in parameters.items()):
            compared[entity] += 1
            presidio_passed[entity] += presidio_ok
            lantern_passed[entity] += lantern_ok
            if presidio_ok and not lantern_ok:
                failures.append(f"   Lantern fails where Presidio passes: {entity} {case['text'][:70]!r}")
    rows = []
    for entity in sorted(all_lantern.keys() | all_presidio.keys() | compared.keys()):
        verdict = "ok" if lantern_passed[entity] >= presidio_passed[entity] else "WORSE"
        rows.append(
            [
                entity,
                totals[entity],
                compared[entity],
                presidio_passed[entity],
                lantern_passed[entity],
                verdict,
                f"{all_presidio[entity]} / {all_lantern[entity]}",
            ]
        )
    rows.append(
        [
            "all",
            sum(totals[row[0]] for row in rows),
            sum(compared.values()),
            sum(presidio_passed.values()),
            sum(lantern_passed.values()),
            "",
            f"{sum(all_presidio.values())} / {sum(all_lantern.values())}",
        ]
    )
    table(["entity", "cases", "compared", "Presidio", "Lantern", "", "all cases: Presidio / Lantern"], rows)
    print(
        "   compared: cases without recognizer parameters, or with parameters equal to Lantern's fixed ones"
        f" {LANTERN_PARAMETERS}; 'all cases' runs Presidio with each case's own parameters."
    )
    print("\n".join(failures) or "   Lantern passes every compared case Presidio's own recognizer passes.")
    uncovered = Counter(case["entity"] for case in cases if case["entity"] not in lantern_kinds)
    print(f"   Entities in the file Lantern does not report ({len(uncovered)}, {sum(uncovered.values())} cases):")
    listing = ", ".join(f"{entity} ({count})" for entity, count in sorted(uncovered.items()))
    print(textwrap.fill(listing, width=110, initial_indent="     ", subsequent_indent="     "))


def taiwan_set() -> list[str]:
    """Precision and recall per entity on the labelled Taiwan set; returns its texts for the latency run."""
    records = list(read_jsonl(TAIWAN_SET))
    positives = sum(1 for record in records if record["entities"])
    print(
        f"\n2. Taiwan labelled set ({TAIWAN_SET.relative_to(REPOSITORY)}: {len(records)} texts, "
        f"{positives} with entities, {len(records) - positives} without)"
    )
    true_positives: Counter[str] = Counter()
    false_positives: Counter[str] = Counter()
    false_negatives: Counter[str] = Counter()
    by_language: dict[str, Counter[str]] = {"zh": Counter(), "en": Counter()}
    flagged_negatives = 0
    errors: list[str] = []
    for record in records:
        text = record["text"]
        findings = list(pii.scan(text, vocabulary=TAIWAN_VOCABULARY).findings)
        matched: set[int] = set()
        language = by_language[record["lang"]]
        for gold in record["entities"]:
            hit = next(
                (
                    index
                    for index, finding in enumerate(findings)
                    if index not in matched
                    and finding.entity_type == gold["type"]
                    and finding.start < gold["end"]
                    and gold["start"] < finding.end
                ),
                None,
            )
            if hit is None:
                false_negatives[gold["type"]] += 1
                language["fn"] += 1
                errors.append(f"   missed       {record['id']}: {gold['type']} {text[gold['start'] : gold['end']]!r}")
            else:
                matched.add(hit)
                true_positives[gold["type"]] += 1
                language["tp"] += 1
        for index, finding in enumerate(findings):
            if index not in matched:
                false_positives[finding.entity_type] += 1
                language["fp"] += 1
                errors.append(
                    f"   false alarm  {record['id']}: {finding.entity_type} {text[finding.start : finding.end]!r}"
                )
        if not record["entities"] and any(f.sensitivity == pii.Sensitivity.HIGH for f in findings):
            flagged_negatives += 1
    rows = []
    for entity in sorted(true_positives.keys() | false_positives.keys() | false_negatives.keys()):
        rows.append(_scores(entity, true_positives[entity], false_positives[entity], false_negatives[entity]))
    rows.append(
        _scores("all", sum(true_positives.values()), sum(false_positives.values()), sum(false_negatives.values()))
    )
    for language, counts in by_language.items():
        rows.append(_scores(f"all, {language}", counts["tp"], counts["fp"], counts["fn"]))
    table(["entity", "gold", "found", "TP", "FP", "FN", "precision", "recall"], rows)
    print("   A finding counts when its kind matches and its span overlaps the labelled span.")
    print(f"   Texts without entities flagged HIGH: {flagged_negatives} of {len(records) - positives}")
    print("\n".join(errors))
    return [record["text"] for record in records]


def _scores(entity: str, true_positives: int, false_positives: int, false_negatives: int) -> list[object]:
    found = true_positives + false_positives
    gold = true_positives + false_negatives
    precision = f"{true_positives / found:.3f}" if found else "-"
    recall = f"{true_positives / gold:.3f}" if gold else "-"
    return [entity, gold, found, true_positives, false_positives, false_negatives, precision, recall]


def faq_questions(limit: int | None) -> list[str]:
    """Ordinary questions from the FAQ datasets: queries, entry questions and their variants."""
    questions = []
    for name in ("banking77", "clinc150", "xsid_zh_tw"):
        folder = DATASETS / name
        if not folder.exists():
            continue
        for record in read_jsonl(folder / "queries.jsonl"):
            questions.append((name, record["query"]))
        for record in read_jsonl(folder / "faqs.jsonl"):
            questions.extend((name, text) for text in [record["question"], *record.get("variants", [])])
    if limit is not None:
        questions = random.Random(7).sample(questions, min(limit, len(questions)))
    return questions


def ordinary_questions(questions: list[tuple[str, str]]) -> None:
    """How often ordinary FAQ questions come out LOW or HIGH, and with what."""
    print("\n3. Ordinary FAQ questions (no personal data expected)")
    if not questions:
        print("   datasets not found")
        return
    counted: dict[str, Counter[str]] = {}
    examples: list[str] = []
    for name, question in questions:
        result = pii.scan(question)
        counts = counted.setdefault(name, Counter())
        counts["questions"] += 1
        counts[result.sensitivity.value] += 1
        for entity in result.entity_types:
            counts[entity] += 1
        if result.findings and len(examples) < 10:
            examples.append(f"   {name}: {result.entity_types} {question[:90]!r}")
    rows = []
    for name, counts in counted.items():
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()) if kind.isupper()) or "-"
        high_share = f"{100 * counts['high'] / counts['questions']:.2f}%"
        rows.append([name, counts["questions"], counts["low"], counts["high"], high_share, kinds])
    table(["dataset", "questions", "LOW", "HIGH", "HIGH %", "kinds found"], rows)
    print("\n".join(examples))


SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝洪郭邱曾廖賴徐周葉蘇莊呂江何蕭羅高潘簡朱鍾游彭詹胡施沈余盧梁趙顏柯翁魏孫戴"
GIVEN_NAMES = "志明美玲俊傑淑芬家豪雅婷冠宇怡君建宏佳穎宗翰欣怡承恩詩涵柏翰宜蓁彥廷品妤哲瑋思妤"
FIRST_NAMES = ("Alice", "Bob", "Carol", "David", "Emily", "Frank", "Grace", "Henry", "Ivy", "Jack", "Kevin", "Linda")
LAST_NAMES = ("Chen", "Lin", "Huang", "Chang", "Lee", "Wang", "Wu", "Liu", "Tsai", "Yang", "Hsu", "Cheng", "Kuo")


def synthetic_directory() -> list[str]:
    """About twelve hundred made-up names, Chinese and English: a directory of realistic size."""
    given = [GIVEN_NAMES[index : index + 2] for index in range(0, len(GIVEN_NAMES), 2)]
    chinese = [surname + name for surname in SURNAMES for name in given]
    english = [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]
    return chinese + english


def mixed_questions(taiwan_texts: list[str], questions: list[tuple[str, str]]) -> list[str]:
    """Short questions from both sets, and 300-character ones stitched from them."""
    randomness = random.Random(11)
    short = taiwan_texts + [question for _, question in questions[:400]]
    long = []
    for _ in range(200):
        pieces: list[str] = []
        while sum(map(len, pieces)) < 300:
            pieces.append(randomness.choice(taiwan_texts))
        long.append(" ".join(pieces)[:300])
    return short + long


def latency(questions: list[str], rounds: int) -> None:
    """Scan latency after warm-up, for every question and for the 300-character ones."""
    names = synthetic_directory()
    vocabulary = pii.TenantVocabulary(
        person_names=(*TAIWAN_VOCABULARY.person_names, *names),
        confidential_terms=TAIWAN_VOCABULARY.confidential_terms,
        employee_id_pattern=TAIWAN_VOCABULARY.employee_id_pattern,
    )
    print(f"\n4. Scan latency ({len(vocabulary.person_names):,}-name tenant directory, {rounds} rounds, after warm-up)")
    for question in questions[:200]:
        pii.scan(question, vocabulary=vocabulary)
    durations: dict[str, list[float]] = {"all questions": [], "300-character": [], "under 100 characters": []}
    for _ in range(rounds):
        for question in questions:
            started = time.perf_counter()
            pii.scan(question, vocabulary=vocabulary)
            elapsed = (time.perf_counter() - started) * 1000
            durations["all questions"].append(elapsed)
            if len(question) >= 300:
                durations["300-character"].append(elapsed)
            elif len(question) < 100:
                durations["under 100 characters"].append(elapsed)
    rows = []
    for label, samples in durations.items():
        percentiles = statistics.quantiles(samples, n=100)
        rows.append(
            [
                label,
                len(samples),
                f"{statistics.median(samples):.2f}",
                f"{percentiles[98]:.2f}",
                f"{max(samples):.2f}",
            ]
        )
    table(["questions", "scans", "p50 ms", "p99 ms", "max ms"], rows)
    print("   goal: p50 <= 5 ms, p99 <= 15 ms for a 300-character question")


def main() -> None:
    """Run the four benchmarks and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer FAQ questions and latency rounds")
    arguments = parser.parse_args()
    started = time.perf_counter()
    pii.warm_up()
    print(f"analyzer built in {time.perf_counter() - started:.2f} s (no spaCy model, nothing downloaded)")
    presidio_vectors()
    taiwan_texts = taiwan_set()
    questions = faq_questions(1000 if arguments.quick else None)
    ordinary_questions(questions)
    latency(mixed_questions(taiwan_texts, questions), rounds=2 if arguments.quick else 5)


if __name__ == "__main__":
    main()
