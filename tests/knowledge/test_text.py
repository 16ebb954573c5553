"""Lexical tokens for full-text search: Chinese bigrams or jieba words, English words, safe queries."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.text import document_text, lexical_tokens, query_text

# What query_text may return: nothing, or quoted tokens joined by " | ", none holding a quote or backslash.
SAFE_QUERY = re.compile(r"(?:'[^'\\\s|&!():*<>]+'(?: \| '[^'\\\s|&!():*<>]+')*)?")


def test_chinese_becomes_overlapping_bigrams():
    assert lexical_tokens("請假規定") == ["請假", "假規", "規定"]


def test_a_lone_chinese_character_stays_a_unigram():
    assert lexical_tokens("假") == ["假"]
    assert lexical_tokens("請 假") == ["請", "假"]


def test_mixed_chinese_and_english_splits_at_the_script_change():
    assert lexical_tokens("VPN連不上") == ["vpn", "連不", "不上"]
    assert lexical_tokens("Windows 11 升級失敗") == ["windows", "11", "升級", "級失", "失敗"]


def test_full_width_and_ascii_punctuation_is_dropped():
    assert lexical_tokens("請假！怎麼辦？「特休」、（病假）。") == ["請假", "怎麼", "麼辦", "特休", "病假"]
    assert lexical_tokens("e-mail: it@acme.example (urgent!)") == [
        "e",
        "mail",
        "it",
        "acme",
        "example",
        "urgent",
    ]


def test_full_width_letters_and_digits_are_normalised_and_lowercased():
    assert lexical_tokens("ＶＰＮ　２ＦＡ　Ｗｉ－Ｆｉ") == ["vpn", "2fa", "wi", "fi"]


def test_traditional_and_rare_han_characters_are_chinese_too():
    assert lexical_tokens("臺灣𠀋") == ["臺灣", "灣𠀋"]


def test_documents_also_index_single_characters_so_one_character_questions_find_them():
    assert document_text("請假") == "請假 請 假"
    assert query_text("假") == "'假'"
    assert "假" in document_text("請假").split()


def test_questions_do_not_search_single_characters_of_longer_words():
    assert query_text("我要請假") == "'我要' | '要請' | '請假'"


def test_query_tokens_are_distinct_and_joined_with_or():
    assert query_text("VPN VPN 連不上") == "'vpn' | '連不' | '不上'"


def test_jieba_mode_cuts_words_instead_of_bigrams():
    tokens = lexical_tokens("我要請特休假怎麼申請", mode="jieba")
    assert "申請" in tokens
    assert "怎麼" in tokens
    assert "假怎" not in tokens


def test_jieba_mode_keeps_english_words_and_drops_punctuation():
    tokens = lexical_tokens("VPN連不上，怎麼辦？", mode="jieba")
    assert tokens[0] == "vpn"
    assert not {"，", "？", ","} & set(tokens)


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode"):
        lexical_tokens("請假", mode="trigram")  # type: ignore[arg-type]


def test_english_is_left_alone_unless_stemming_is_asked_for():
    assert lexical_tokens("Passwords policies glass status") == ["passwords", "policies", "glass", "status"]
    assert lexical_tokens("Passwords policies glass status", stem_english=True) == [
        "password",
        "policy",
        "glass",
        "status",
    ]


def test_stop_words_are_dropped_only_when_asked():
    assert lexical_tokens("How do I reset my password") == ["how", "do", "i", "reset", "my", "password"]
    assert lexical_tokens("How do I reset my password", drop_stop_words=True) == ["reset", "password"]


@pytest.mark.parametrize(
    ("hostile", "expected"),
    [
        ("it's", "'it' | 's'"),
        ("a\\'b", "'a' | 'b'"),
        ("'; DROP TABLE knowledge_chunk; --", "'drop' | 'table' | 'knowledge' | 'chunk'"),
        ("a & b | !c", "'a' | 'b' | 'c'"),
        ("(vpn) <-> (wifi):*", "'vpn' | 'wifi'"),
        ('"quoted" vpn:* & !wifi', "'quoted' | 'vpn' | 'wifi'"),
        ("請假' | '特休", "'請假' | '特休'"),
    ],
)
def test_hostile_questions_become_safe_quoted_queries(hostile, expected):
    query = query_text(hostile)

    assert query == expected
    assert SAFE_QUERY.fullmatch(query)


@pytest.mark.parametrize("nothing", ["", "   ", "！？。，、", "&|!():*\\'\"", "\\", "''''", "___"])
def test_questions_without_words_give_an_empty_query(nothing):
    assert query_text(nothing) == ""
    assert document_text(nothing) == ""


@settings(database=None)
@given(st.text())
def test_any_text_gives_a_safe_query(text):
    assert SAFE_QUERY.fullmatch(query_text(text))
    assert SAFE_QUERY.fullmatch(query_text(text, mode="jieba"))


@settings(database=None)
@given(st.text())
def test_document_text_holds_no_punctuation_symbols_spaces_or_control_characters(text):
    # Unassigned code points (category Cn) pass: Han ranges reserve some that newer Unicode fills.
    categories = {unicodedata.category(character) for character in document_text(text).replace(" ", "")}
    assert not {category for category in categories if category[0] in "PSZ" or category in ("Cc", "Cf", "Co")}
