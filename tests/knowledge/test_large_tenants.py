"""A large tenant's search reads its terms from a snapshot and matches text through the GIN index, with the
same answers as counting live and without ever seeing another tenant's chunks."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from knowledge import retrieval
from knowledge.embeddings import embed_query, vector_literal
from knowledge.faqs import save_faq_entry
from knowledge.lexicon import refresh_lexical_snapshots
from knowledge.models import FaqEntry, LexicalSnapshot, TermFrequency
from knowledge.retrieval import LexicalStatistics, lexical_statistics
from knowledge.tasks import refresh_large_tenants
from knowledge.text import search_terms
from tenancy.context import tenant_context
from tenancy.provisioning import create_tenant

ENTRIES = (
    ("How do I connect to the VPN from home?", ["vpn not working", "remote vpn access from home"]),
    ("How do I reset my password?", ["forgot my password", "change my login password"]),
    ("特休假有幾天？", ["年假有幾天", "特休怎麼算"]),
    ("Where do I submit travel expenses?", ["expense report for a business trip"]),
)
QUESTIONS = (
    "my vpn is not working at home",
    "I forgot my login password",
    "請問特休假有幾天",
    "business trip expenses",
)


def add_entries(tenant_id: int, entries=ENTRIES) -> None:
    with tenant_context(tenant_id):
        for question, alternatives in entries:
            save_faq_entry(
                tenant_id=tenant_id,
                question=question,
                answer=f"The answer to {question}",
                language="en",
                status="published",
                alternatives=alternatives,
            )


def statistics_of(tenant_id: int, question: str) -> LexicalStatistics:
    with tenant_context(tenant_id):
        return lexical_statistics(search_terms(question), tenant_id=tenant_id)


def test_a_snapshot_holds_the_statistics_counted_live_and_search_answers_the_same(committed_db):
    acme, _ = create_tenant(slug="acme", name="Acme")
    globex, _ = create_tenant(slug="globex", name="Globex")
    add_entries(acme.pk)
    add_entries(globex.pk, ENTRIES[:1])
    live = {question: statistics_of(acme.pk, question) for question in QUESTIONS}
    with tenant_context(acme.pk):
        live_results = [retrieval.search(question) for question in QUESTIONS]

    assert refresh_lexical_snapshots(min_sources=1) == {"refreshed": [acme.pk, globex.pk], "dropped": []}

    assert {question: statistics_of(acme.pk, question) for question in QUESTIONS} == live
    with tenant_context(acme.pk):
        assert [retrieval.search(question) for question in QUESTIONS] == live_results
        assert LexicalSnapshot.objects.get().sources == len(ENTRIES)
        assert TermFrequency.objects.get(term="vpn").sources == 1
        assert TermFrequency.objects.get(term="vpn").chunks == 3


def test_a_term_added_after_the_snapshot_is_counted_live_until_the_next_refresh(committed_db):
    acme, _ = create_tenant(slug="acme", name="Acme")
    add_entries(acme.pk)
    refresh_lexical_snapshots(min_sources=1)
    add_entries(acme.pk, [("How do I book a meeting room?", [])])

    with tenant_context(acme.pk):
        assert not TermFrequency.objects.filter(term="meeting").exists()
        assert retrieval.search("book a meeting room").hits[0].title == "How do I book a meeting room?"
    assert statistics_of(acme.pk, "meeting room").frequencies == {"meeting": 1, "room": 1}
    assert statistics_of(acme.pk, "meeting room").sources == len(ENTRIES)  # the snapshot's, until refreshed

    refresh_lexical_snapshots(min_sources=1)
    assert statistics_of(acme.pk, "meeting room").sources == len(ENTRIES) + 1


def test_a_tenant_under_the_threshold_loses_its_snapshot_and_is_counted_live_again(committed_db):
    acme, _ = create_tenant(slug="acme", name="Acme")
    add_entries(acme.pk)
    refresh_lexical_snapshots(min_sources=1)

    assert refresh_lexical_snapshots(min_sources=100) == {"refreshed": [], "dropped": [acme.pk]}
    with tenant_context(acme.pk):
        assert not LexicalSnapshot.objects.exists()
        assert not TermFrequency.objects.exists()
    assert statistics_of(acme.pk, "vpn from home").frequencies == {"vpn": 1, "from": 1, "home": 1}


def test_the_beat_task_and_the_command_refresh_large_tenants(committed_db, settings, capsys):
    acme, _ = create_tenant(slug="acme", name="Acme")
    add_entries(acme.pk)

    assert refresh_large_tenants() == {
        "vector_indexes": {"created": [], "dropped": []},
        "lexical_snapshots": {"refreshed": [], "dropped": []},
    }
    call_command("refresh_large_tenants")
    assert "refreshed for tenants none" in capsys.readouterr().out
    assert settings.CELERY_BEAT_SCHEDULE["knowledge-refresh-large-tenants"]["task"] == refresh_large_tenants.name


def matching_chunks(query: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM knowledge_chunks_matching(to_tsquery('simple', %s))", [query])
        return cursor.fetchone()[0]


def test_the_text_match_function_finds_only_the_current_tenants_chunks(db):
    acme, _ = create_tenant(slug="acme", name="Acme")
    globex, _ = create_tenant(slug="globex", name="Globex")
    add_entries(acme.pk)
    add_entries(globex.pk, ENTRIES[:1])

    with tenant_context(acme.pk):
        assert matching_chunks("vpn") == 3
        assert matching_chunks("password") == 3
    with tenant_context(globex.pk):
        assert matching_chunks("vpn") == 3
        assert matching_chunks("password") == 0
    assert matching_chunks("vpn") == 0  # outside any tenant


BUDGET = retrieval.LEXICAL_MATCH_BUDGET


@pytest.mark.parametrize(
    ("frequencies", "expected"),
    [
        ({"rare": 3, "common": BUDGET, "middling": BUDGET // 2}, ["rare", "middling"]),
        ({"everywhere": BUDGET * 4, "often": BUDGET * 3}, ["often"]),
        ({"one": 1, "two": 2}, ["one", "two"]),
    ],
)
def test_a_large_tenant_looks_for_lexical_candidates_by_its_rarest_terms_within_the_budget(frequencies, expected):
    statistics = LexicalStatistics(sources=100_000, average_length=20.0, frequencies=frequencies, common=frozenset())

    assert retrieval._rarest_terms(list(frequencies), statistics) == expected


def test_the_large_tenant_path_finds_what_the_small_tenant_path_finds(db, monkeypatch):
    acme, _ = create_tenant(slug="acme", name="Acme")
    add_entries(acme.pk)
    with tenant_context(acme.pk):
        read_and_filtered = [retrieval.search(question) for question in QUESTIONS]
        monkeypatch.setattr(retrieval, "LARGE_TENANT_SOURCES", 1)
        through_the_index = [retrieval.search(question) for question in QUESTIONS]

    assert through_the_index == read_and_filtered
    assert [result.hits[0].title for result in through_the_index] == [question for question, _ in ENTRIES]


def test_the_dense_leg_searches_the_hnsw_graph_as_widely_as_asked(db):
    acme, _ = create_tenant(slug="acme", name="Acme")
    add_entries(acme.pk)
    query = vector_literal(embed_query(QUESTIONS[0]))
    with tenant_context(acme.pk):
        found = retrieval.dense_candidates(query, tenant_id=acme.pk, limit=3, ef_search=321)
        with connection.cursor() as cursor:
            cursor.execute("SHOW hnsw.ef_search")
            assert cursor.fetchone()[0] == "321"
        vpn = FaqEntry.objects.get(question=ENTRIES[0][0])

    assert list(found) == [vpn.pk]  # its question and two alternatives are the three nearest chunks
