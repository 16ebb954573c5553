"""Costing: usage per department against the cost model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from costing.metering import MeteredQuestion


def meter(**kwargs: Any) -> MeteredQuestion:
    """Write the usage record of one question (see costing.metering.meter for the arguments)."""
    from costing.metering import meter as meter_question

    return meter_question(**kwargs)
