"""The dashboard's chart series: plain numbers the page's script hands to the charting library."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from costing import model as cost_model
from costing.periods import month_period
from costing.reports import ROUTES, MonthReport


def _number(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.0001")))


def dashboard_series(report: MonthReport) -> dict[str, Any]:
    """Daily cost with its month-end projection, questions by route, and the monthly trend, in USD."""
    whole_month = month_period(report.month)
    days = {line.day: line for line in report.days}
    labels, metered, local, cumulative, projected = [], [], [], [], []
    running = Decimal(0)
    last_actual = report.days[-1].day if report.days else None
    forecast = report.forecast_total
    actual_total = sum((line.metered_usd + line.local_usd for line in report.days), Decimal(0))
    days_left = (whole_month.last_day - last_actual).days if last_actual else 0
    # The projection runs straight from today's cumulative cost to the forecast month-end total.
    daily_projection = max(forecast.usd - actual_total, Decimal(0)) / days_left if forecast and days_left else 0
    for day in whole_month.each_day():
        labels.append(day.isoformat())
        line = days.get(day)
        if line is not None:
            running += line.metered_usd + line.local_usd
            metered.append(_number(line.metered_usd))
            local.append(_number(line.local_usd))
            cumulative.append(_number(running))
            projected.append(_number(running) if day == last_actual and forecast else None)
        else:
            metered.append(None)
            local.append(None)
            cumulative.append(None)
            if forecast and last_actual and day > last_actual:
                running += daily_projection
                projected.append(_number(running))
            else:
                projected.append(None)
    return {
        "days": {
            "labels": labels,
            "metered": metered,
            "local": local,
            "cumulative": cumulative,
            "projected": projected,
            "questions": {
                route: [days[day].questions_by_route[route] if day in days else None for day in whole_month.each_day()]
                for route in ROUTES
            },
        },
        "months": {
            "labels": [line.month.strftime("%Y-%m") for line in report.months],
            "metered": [_number(line.metered.usd) for line in report.months],
            "local": [_number(line.local.usd) for line in report.months],
        },
        "currency": cost_model.USD,
    }
