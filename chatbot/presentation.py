"""How an answer's route and sources are shown to people, in their language."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _
from django.utils.translation import override

from knowledge.retrieval import SearchHit


def route_badge(*, route: str, reasons: Sequence[str], sensitive: bool, language: str) -> dict[str, str]:
    """The badge for where an answer came from: a short label, the plain-words reason, and its style."""
    with override(language):
        labels = {
            "local": _("Our servers"),
            "extractive": _("FAQ"),
            "cloud": _("Cloud"),
            "refused": _("Not answered"),
        }
        label = labels.get(route, route)
        in_house = _("Stayed in-house: the question contains personal data.") if sensitive else ""
    try:
        from routing.explanations import summary

        reason = summary(route, reasons, language)
    except ImportError:
        reason = ""
    return {"route": route, "label": label, "reason": reason, "in_house": in_house}


def sources_for_display(sources: Sequence[SearchHit]) -> list[dict[str, str | int | float]]:
    """Each source as stored with its answer and shown under it: what it is, its title and its text."""
    return [
        {
            "kind": hit.kind,
            "id": hit.id,
            "external_id": hit.external_id,
            "title": hit.title,
            "text": hit.text,
            "score": round(hit.score, 4),
            "version": hit.version,
            "url": hit.url,
        }
        for hit in sources
    ]
