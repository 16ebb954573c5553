"""Number formats of the finance pages (see costing.formatting)."""

from __future__ import annotations

from decimal import Decimal

from django import template

from costing.formatting import EMPTY, amount_text, cell_text, cents_text

register = template.Library()

register.filter("amount", amount_text)
register.filter("cents", cents_text)
register.filter("cell", cell_text)


@register.filter
def percent(part: Decimal | None, whole: Decimal | None) -> str:
    """Part of a whole in whole percent, or a dash when there is no whole."""
    if part is None or not whole:
        return EMPTY
    return f"{Decimal(part) * 100 / Decimal(whole):.0f}%"


@register.filter
def plain(value: Decimal | int) -> str:
    """A number without trailing zeros: 5 rather than 5.00."""
    return f"{Decimal(value).normalize():f}"
