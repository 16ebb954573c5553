"""Lexical tokens for PostgreSQL full-text search, with Chinese split into bigrams or jieba words.

PostgreSQL has no Chinese parser, so Lantern tokenises text itself and hands PostgreSQL a string of
space-separated tokens to read with the ``simple`` configuration:
``to_tsvector('simple', document_text(...))`` and ``to_tsquery('simple', query_text(...))``.
Documents and questions must be tokenised the same way.

Han characters come in runs (a run is broken by anything that is not a Han character). In "bigram" mode a
run becomes its overlapping character pairs, "請假規定" → 請假, 假規, 規定; in "jieba" mode it becomes jieba's
search-engine cut. Single characters are the trade-off: as query terms they match almost everything (的, 是,
我), so a question only keeps a single character when its run yields nothing longer (a lone 假). Documents
also index every single character of their runs, so that such a one-character question still finds the
documents that contain it inside longer words.

Latin letters, digits and other scripts become lowercase words. English may optionally be lightly stemmed
(plural endings only) and stripped of stop words.

What Lantern stores and searches is fixed by ``index_tokens`` and ``search_terms``: bigrams, plurals stemmed,
stop words kept (BM25's inverse document frequency already discounts them). bench/tune_retrieval.py measures
the alternatives on held-out questions; bigrams beat jieba on the Chinese set.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import cache
from typing import Literal

import jieba

Segmentation = Literal["bigram", "jieba"]

_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# A run of Han characters, or a word of any other letters and digits (underscore and Han excluded).
_TOKEN = re.compile(rf"([{_HAN}]+)|([^\W_{_HAN}]+)")

# The most frequent English function words (a subset of the Snowball list used by PostgreSQL's english.stop).
_ENGLISH_STOP_WORDS_TEXT = """
a about after all also am an and any are as at be been before being but by can could did do does doing for
from had has have having he her here hers him his how i if in into is it its me more most my no nor not of
on or our ours she should so some such than that the their theirs them then there these they this those to
too until up very was we were what when where which while who whom why will with would you your yours
"""
ENGLISH_STOP_WORDS = frozenset(_ENGLISH_STOP_WORDS_TEXT.split())
_HAN_CHARACTER = re.compile(rf"[{_HAN}]")

SEARCH_SEGMENTATION: Segmentation = "bigram"
SEARCH_STEMS_ENGLISH = True


def lexical_tokens(
    text: str,
    *,
    mode: Segmentation = "bigram",
    han_unigrams: bool = False,
    stem_english: bool = False,
    drop_stop_words: bool = False,
) -> list[str]:
    """The tokens of a text in order: lowercase words, and Chinese bigrams or jieba words."""
    if mode not in ("bigram", "jieba"):
        raise ValueError(f"Unknown segmentation mode {mode!r}: use 'bigram' or 'jieba'.")
    tokens: list[str] = []
    for run, word in _TOKEN.findall(unicodedata.normalize("NFKC", text).lower()):
        if run:
            tokens.extend(_han_tokens(run, mode=mode, han_unigrams=han_unigrams))
        elif not (drop_stop_words and word in ENGLISH_STOP_WORDS):
            tokens.append(_strip_plural(word) if stem_english else word)
    return tokens


def document_text(
    text: str, mode: Segmentation = "bigram", *, stem_english: bool = False, drop_stop_words: bool = False
) -> str:
    """The space-joined tokens of a document, for ``to_tsvector('simple', ...)``."""
    return " ".join(
        lexical_tokens(text, mode=mode, han_unigrams=True, stem_english=stem_english, drop_stop_words=drop_stop_words)
    )


def query_text(
    text: str, mode: Segmentation = "bigram", *, stem_english: bool = False, drop_stop_words: bool = False
) -> str:
    """The question's distinct tokens, quoted and joined with ``|``, for ``to_tsquery('simple', ...)``.

    An empty string means the question has nothing to search for: skip the lexical search rather than
    passing it to ``to_tsquery``.
    """
    tokens = lexical_tokens(text, mode=mode, stem_english=stem_english, drop_stop_words=drop_stop_words)
    return " | ".join(map(_quoted, dict.fromkeys(tokens)))


def index_tokens(text: str) -> str:
    """The tokens Lantern stores for a chunk, for ``to_tsvector('simple', ...)``."""
    return document_text(text, SEARCH_SEGMENTATION, stem_english=SEARCH_STEMS_ENGLISH)


def search_terms(text: str, mode: Segmentation | None = None) -> list[str]:
    """The distinct tokens Lantern searches for a question, in order of appearance."""
    tokens = lexical_tokens(text, mode=mode or SEARCH_SEGMENTATION, stem_english=SEARCH_STEMS_ENGLISH)
    return list(dict.fromkeys(tokens))


def han_share(terms: list[str]) -> float:
    """The share of the terms that are Chinese (Han) tokens, 0 when there are none."""
    if not terms:
        return 0.0
    return sum(1 for term in terms if _HAN_CHARACTER.match(term)) / len(terms)


def quoted(token: str) -> str:
    """A token quoted for ``to_tsquery``, whatever characters it holds."""
    return _quoted(token)


def _han_tokens(run: str, *, mode: Segmentation, han_unigrams: bool) -> list[str]:
    if mode == "jieba":
        words = [word for word in _jieba_tokenizer().cut_for_search(run) if word.strip()]
    else:
        words = [run[index : index + 2] for index in range(len(run) - 1)]
    longer = [word for word in words if len(word) > 1]
    if not longer:
        return list(run)
    if han_unigrams:
        return longer + list(run)
    return longer


def _strip_plural(word: str) -> str:
    """Harman's S-stemmer: policies → policy, passwords → password, leaves glass and status alone."""
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def _quoted(token: str) -> str:
    # Tokens hold only letters and digits, but quoting keeps to_tsquery safe whatever a token contains.
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


@cache
def _jieba_tokenizer() -> jieba.Tokenizer:
    """jieba's tokenizer, loaded on first use; its dictionary cache goes to the system's temporary folder."""
    jieba.default_logger.setLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer
