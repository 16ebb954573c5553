"""Bob asks acme's FAQ in English and Chinese; search finds the entry that answers, or admits there is none."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from knowledge import retrieval
from knowledge.faqs import save_faq_entry
from knowledge.retrieval import (
    DEFAULT_MATCH_THRESHOLD,
    DEFAULT_WEIGHTS,
    QueryEvidence,
    SourceEvidence,
    match_confidence,
    rank_sources,
)


@pytest.fixture
def acme_faq(acme, in_tenant):
    entries = {}
    with in_tenant(acme):
        for key, question, alternatives, language in (
            ("vpn", "How do I connect to the VPN from home?", ["vpn not working", "remote network access"], "en"),
            ("password", "How do I reset my password?", ["forgot my password", "change my login password"], "en"),
            ("leave", "特休假有幾天？", ["年假有幾天", "特休怎麼算"], "zh-hant"),
        ):
            entries[key], _ = save_faq_entry(
                tenant_id=acme.pk,
                question=question,
                answer=f"The answer to {question}",
                language=language,
                status="published",
                alternatives=alternatives,
            )
    return entries


def test_an_english_question_is_matched_to_the_entry_that_answers_it(acme_faq, acme, in_tenant):
    with in_tenant(acme):
        result = retrieval.search("my vpn keeps disconnecting when I work from home")

    assert result.hits[0].id == acme_faq["vpn"].pk
    assert result.matched


def test_an_unrelated_question_is_not_matched(acme_faq, acme, in_tenant):
    with in_tenant(acme):
        result = retrieval.search("What is the airspeed velocity of an unladen swallow?")

    assert not result.matched


def test_a_chinese_question_is_matched_although_the_embedding_model_reads_only_english(acme_faq, acme, in_tenant):
    with in_tenant(acme):
        result = retrieval.search("請問特休假有幾天")

    assert result.hits[0].id == acme_faq["leave"].pk
    assert result.matched


def evidence(*, han_share: float, best: float, second: float) -> QueryEvidence:
    def source(cosine: float, bm25: float) -> SourceEvidence:
        return SourceEvidence(dense_best=cosine, dense_mean=cosine, dense_centroid=cosine, lexical=bm25)

    return QueryEvidence(
        terms=("term",),
        han_share=han_share,
        unseen_share=0.0,
        lexical_ceiling=10.0,
        sources={1: source(best, 10 * best), 2: source(second, 10 * second)},
    )


@pytest.mark.parametrize("han_share", [0.0, 0.5, 1.0])
def test_a_closer_best_match_never_lowers_the_confidence_in_any_language(han_share):
    confidences = []
    for best in (0.2, 0.4, 0.6, 0.8):
        found = evidence(han_share=han_share, best=best, second=0.1)
        confidences.append(match_confidence(found, rank_sources(found, DEFAULT_WEIGHTS), DEFAULT_WEIGHTS))

    assert confidences == sorted(confidences)
    assert confidences[-1] > confidences[0]


def test_an_entry_whose_phrasings_all_agree_outranks_one_lucky_phrasing():
    agreeing = SourceEvidence(dense_best=0.70, dense_mean=0.65, dense_centroid=0.75, lexical=0.0)
    lucky = SourceEvidence(dense_best=0.72, dense_mean=0.30, dense_centroid=0.40, lexical=0.0)
    found = QueryEvidence(
        terms=("term",), han_share=0.0, unseen_share=0.0, lexical_ceiling=0.0, sources={1: agreeing, 2: lucky}
    )

    assert rank_sources(found, DEFAULT_WEIGHTS)[0][0] == 1


@pytest.mark.skipif("LANTERN_MATCH_THRESHOLD" in os.environ, reason="the environment chooses another threshold")
def test_the_settings_default_threshold_is_the_tuned_one():
    assert settings.LANTERN_MATCH_THRESHOLD == DEFAULT_MATCH_THRESHOLD


def test_a_tenant_with_nothing_published_finds_nothing(acme, globex, in_tenant):
    with in_tenant(globex):
        save_faq_entry(tenant_id=globex.pk, question="How do I reset my password?", answer="Draft.", language="en")
        drafts_only = retrieval.search("How do I reset my password?")
    with in_tenant(acme):
        empty = retrieval.search("How do I reset my password?")

    assert drafts_only.hits == empty.hits == ()
    assert drafts_only.confidence == empty.confidence == 0.0


def test_a_question_without_a_searchable_word_is_not_matched(acme_faq, acme, in_tenant):
    with in_tenant(acme):
        result = retrieval.search("?!… 🙂")

    assert not result.matched
    assert result.confidence < DEFAULT_MATCH_THRESHOLD


def test_drafts_nearer_to_the_question_do_not_hide_the_published_entry(acme_faq, acme, in_tenant):
    with in_tenant(acme):
        for number in range(20):
            save_faq_entry(
                tenant_id=acme.pk,
                question=f"How do I connect to the VPN from home, draft {number}?",
                answer="Not yet.",
                language="en",
                alternatives=["vpn not working", "remote vpn access from home"],
            )
        result = retrieval.search("How do I connect to the VPN from home?")

    assert [hit.id for hit in result.hits][:1] == [acme_faq["vpn"].pk]
    assert all(hit.id in {entry.pk for entry in acme_faq.values()} for hit in result.hits)
