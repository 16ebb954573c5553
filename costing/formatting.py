"""How the finance pages and the cost report write numbers: separators, cents, a dash for nothing."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from costing import model as cost_model

EMPTY = "—"


def amount_text(value: Decimal | int | None) -> str:
    """A money amount with thousands separators: cents always, up to four places when they matter."""
    if value is None or value == "":
        return EMPTY
    value = Decimal(value)
    places = 2 if value == value.quantize(cost_model.CENT) else 4
    return f"{value:,.{places}f}"


def cents_text(value: Decimal | int | None) -> str:
    """A money amount rounded half up to cents, with thousands separators."""
    if value is None or value == "":
        return EMPTY
    return f"{Decimal(value).quantize(cost_model.CENT, rounding=ROUND_HALF_UP):,.2f}"


def cell_text(value: object) -> str:
    """A table cell: integers and amounts with separators, dates in ISO form, empty as a dash."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return amount_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
