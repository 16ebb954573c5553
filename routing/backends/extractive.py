"""The default local answerer: no model, the best FAQ entry quoted with its citation."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from knowledge.retrieval import SearchHit
from routing import prompts
from routing.backends.base import Backend, Reply, Usage

# A streamed piece is a word with its trailing space, a run of spaces, or up to three CJK characters, so
# the web chat shows the answer growing in both languages. Together the pieces are exactly the text.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_PIECE = re.compile(rf"\s+|[{_CJK}]{{1,3}}|[^\s{_CJK}]+\s*")

WORDING = {
    "en": {
        "answer": "According to the FAQ “{title}” [1]:",
        "see_also": "See also: {titles}.",
        "separator": ", ",
        "title": "“{title}” [{number}]",
        "unknown": "I don't know: the FAQ has no answer to this question yet. Please ask {contact}.",
    },
    "zh-hant": {
        "answer": "根據常見問題「{title}」[1]：",
        "see_also": "另請參閱：{titles}。",
        "separator": "、",
        "title": "「{title}」[{number}]",
        "unknown": "我不知道：常見問題裡還沒有這個問題的答案。請洽詢{contact}。",
    },
}


class ExtractiveBackend(Backend):
    """Answers with the top source quoted word for word, and close runners-up as "see also"."""

    name = "extractive"
    see_also_margin = 0.05  # how far below the top score a source may be and still be worth pointing to
    see_also_limit = 2

    def compose(self, *, sources: Sequence[SearchHit], language: str = "en") -> str:
        """The answer text, citing sources as [n] in the order given."""
        wording = WORDING[prompts.normalize_language(language)]
        if not sources:
            return wording["unknown"].format(contact=prompts.help_contact())
        top = sources[0]
        lines = [wording["answer"].format(title=_one_line(top.title)), "", _quote(top.text)]
        close = [
            wording["title"].format(title=_one_line(hit.title), number=number)
            for number, hit in enumerate(sources[1 : 1 + self.see_also_limit], start=2)
            if top.score - hit.score <= self.see_also_margin
        ]
        if close:
            lines += ["", wording["see_also"].format(titles=wording["separator"].join(close))]
        return "\n".join(lines)

    def _start(
        self,
        *,
        question: str,
        sources: Sequence[SearchHit],
        language: str,
        messages: Sequence[dict[str, str]],
        streaming: bool,
        timeout_seconds: float,
        max_retries: int,
    ) -> Reply:
        text = self.compose(sources=sources, language=language)
        return Reply(model="", parts=_pieces(text) if streaming else iter([text]))


def _pieces(text: str) -> Iterator[str | Usage]:
    yield from _PIECE.findall(text)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _quote(text: str) -> str:
    """The source text as a quotation: it is shown to the reader, never followed."""
    return "\n".join(f"> {line}".rstrip() for line in text.strip().splitlines()) or ">"
