"""The seed list prices of common cloud models, read from costing/data/price_list.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from costing.model import USD, Price

PRICE_LIST_PATH = Path(__file__).parent / "data" / "price_list.json"


@dataclass(frozen=True)
class PriceList:
    """List prices and the day they were read from the providers' pages."""

    taken_on: date
    prices: tuple[Price, ...]


def _optional_decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def load_price_list(path: Path = PRICE_LIST_PATH) -> PriceList:
    """Read a price list file (prices as strings, so they stay exact) into Price rows."""
    document = json.loads(path.read_text(encoding="utf-8"))
    default_currency = document.get("currency", USD)
    prices = tuple(
        Price(
            provider=row["provider"],
            model=row["model"],
            input_per_million=Decimal(row["input"]),
            output_per_million=Decimal(row["output"]),
            cached_input_per_million=_optional_decimal(row.get("cached_input")),
            currency=row.get("currency", default_currency),
            effective_from=date.fromisoformat(row["effective_from"]),
            source=row.get("source", ""),
        )
        for row in document["prices"]
    )
    return PriceList(taken_on=date.fromisoformat(document["taken_on"]), prices=prices)
