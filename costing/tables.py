"""The reports as plain tables: the same rows fill the HTML page, the CSV export and the JSON report."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from costing import model as cost_model
from costing.formatting import cell_text
from costing.reports import ROUTES, MonthReport
from costing.strategies import StrategyReport

Cell = str | int | Decimal | date | None


@dataclass(frozen=True)
class Column:
    """A table column: a stable key for scripts and a translated label for people."""

    key: str
    label: str | Promise
    numeric: bool = True


@dataclass(frozen=True)
class Table:
    """A titled table of rows, each a tuple of cells in column order."""

    slug: str
    title: str | Promise
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]

    @property
    def display_rows(self) -> tuple[tuple[tuple[str, bool], ...], ...]:
        """The rows as page text, each cell paired with whether it is a number (for alignment)."""
        numeric = [column.numeric for column in self.columns]
        return tuple(tuple(zip(map(cell_text, row), numeric, strict=True)) for row in self.rows)

    def as_records(self) -> list[dict[str, Any]]:
        """The rows as dictionaries keyed by column key, with JSON-safe values."""
        return [{column.key: _plain(cell) for column, cell in zip(self.columns, row, strict=True)} for row in self.rows]


def _plain(cell: Cell) -> Any:
    if isinstance(cell, Decimal):
        return str(cell)
    if isinstance(cell, date):
        return cell.isoformat()
    return cell


def as_csv(table: Table) -> str:
    """The table as CSV text: a header of labels, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(column.label) for column in table.columns])
    for row in table.rows:
        writer.writerow(["" if cell is None else _plain(cell) for cell in row])
    return buffer.getvalue()


def _text(key: str, label: str | Promise) -> Column:
    return Column(key, label, numeric=False)


ROUTE_LABELS = {"local": _("Local"), "cloud": _("Cloud"), "extractive": _("Extractive"), "refused": _("Refused")}


def _route_columns() -> tuple[Column, ...]:
    return tuple(Column(f"questions_{route}", ROUTE_LABELS[route]) for route in ROUTES)


def department_table(report: MonthReport) -> Table:
    """Cost, questions and budget per department."""
    columns = (
        _text("department", _("Department")),
        _text("name", _("Name")),
        Column("questions", _("Questions")),
        *_route_columns(),
        Column("tokens", _("Tokens")),
        Column("metered_usd", _("Metered USD")),
        Column("metered_ntd", _("Metered NTD")),
        Column("local_share_usd", _("Local share USD")),
        Column("local_share_ntd", _("Local share NTD")),
        Column("total_usd", _("Total USD")),
        Column("total_ntd", _("Total NTD")),
        _text("budget_currency", _("Budget currency")),
        Column("budget_spent", _("Budget spent")),
        Column("soft_limit", _("Soft limit")),
        Column("hard_limit", _("Hard limit")),
        _text("budget_status", _("Budget status")),
    )
    rows = []
    for line in report.departments:
        budget = line.budget
        rows.append(
            (
                line.code,
                line.name,
                line.usage.questions,
                *(line.questions_by_route[route] for route in ROUTES),
                line.usage.tokens,
                line.metered.usd,
                line.metered.ntd,
                line.local_share.usd,
                line.local_share.ntd,
                line.total.usd,
                line.total.ntd,
                budget.currency if budget else "",
                budget.state.spent.quantize(cost_model.CENT) if budget else None,
                budget.state.soft_limit if budget else None,
                budget.state.hard_limit if budget else None,
                str(budget.state.level) if budget else "",
            )
        )
    unallocated = report.unallocated
    if unallocated.usd or unallocated.ntd:
        nothing = Decimal(0)
        rows.append(
            (
                "—",
                str(_("Unallocated")),
                0,
                *(0 for _route in ROUTES),
                0,
                nothing,
                nothing,
                unallocated.usd,
                unallocated.ntd,
                unallocated.usd,
                unallocated.ntd,
                "",
                None,
                None,
                None,
                "",
            )
        )
    return Table("departments", _("Departments"), columns, tuple(rows))


def route_table(report: MonthReport) -> Table:
    """Questions, tokens and metered cost per route."""
    columns = (
        _text("route", _("Route")),
        Column("questions", _("Questions")),
        Column("tokens_in", _("Tokens in")),
        Column("tokens_out", _("Tokens out")),
        Column("estimated_questions", _("Estimated tokens")),
        Column("unpriced_questions", _("Unpriced")),
        Column("metered_usd", _("Metered USD")),
        Column("metered_ntd", _("Metered NTD")),
    )
    rows = tuple(
        (
            line.route,
            line.usage.questions,
            line.usage.tokens_in,
            line.usage.tokens_out,
            line.usage.estimated_questions,
            line.usage.unpriced_questions,
            line.metered.usd,
            line.metered.ntd,
        )
        for line in report.routes
    )
    return Table("routes", _("Routes"), columns, rows)


def day_table(report: MonthReport) -> Table:
    """Questions and cost per day of the month so far."""
    columns = (
        _text("day", _("Day")),
        Column("questions", _("Questions")),
        *_route_columns(),
        Column("metered_usd", _("Metered USD")),
        Column("local_usd", _("Local share USD")),
        Column("total_usd", _("Total USD")),
    )
    rows = tuple(
        (
            line.day,
            sum(line.questions_by_route.values()),
            *(line.questions_by_route[route] for route in ROUTES),
            line.metered_usd.quantize(Decimal("0.0001")),
            line.local_usd,
            (line.metered_usd + line.local_usd).quantize(Decimal("0.0001")),
        )
        for line in report.days
    )
    return Table("days", _("Days"), columns, rows)


def month_trend_table(report: MonthReport) -> Table:
    """Questions and cost per month, up to twelve months."""
    columns = (
        _text("month", _("Month")),
        Column("questions", _("Questions")),
        Column("metered_usd", _("Metered USD")),
        Column("local_usd", _("Local USD")),
        Column("total_usd", _("Total USD")),
        Column("total_ntd", _("Total NTD")),
    )
    rows = tuple(
        (line.month.strftime("%Y-%m"), line.questions, line.metered.usd, line.local.usd, line.total.usd, line.total.ntd)
        for line in report.months
    )
    return Table("months", _("Months"), columns, rows)


def local_cost_table(report: MonthReport) -> Table:
    """The month's fixed local costs, how they are shared and what nobody used."""
    columns = (
        _text("kind", _("Cost")),
        _text("source", _("Source")),
        _text("basis", _("Shared by")),
        Column("total_usd", _("Total USD")),
        Column("total_ntd", _("Total NTD")),
        Column("unallocated_usd", _("Unallocated USD")),
        Column("unallocated_ntd", _("Unallocated NTD")),
    )
    rows = []
    for cost in report.allocation.costs:
        unallocated = cost.shares.get(None, cost_model.Money(usd=Decimal(0), ntd=Decimal(0)))
        rows.append(
            (cost.kind, cost.source_name, cost.basis, cost.total.usd, cost.total.ntd, unallocated.usd, unallocated.ntd)
        )
    return Table("local_costs", _("Local costs"), columns, tuple(rows))


def deployment_table(breakdown: cost_model.CostBreakdown | None) -> Table:
    """A GPU deployment's monthly cost line by line."""
    columns = (_text("line", _("Line")), Column("usd", "USD"), Column("ntd", "NTD"))
    rows: tuple[tuple[Cell, ...], ...] = ()
    if breakdown is not None:
        lines = (
            ("hardware", breakdown.hardware),
            ("power", breakdown.power),
            ("staff", breakdown.staff),
            ("other", breakdown.other),
            ("total", breakdown.total),
        )
        rows = tuple((name, money.usd, money.ntd) for name, money in lines)
    return Table("deployment", _("Deployment per month"), columns, rows)


def month_tables(report: MonthReport) -> tuple[Table, ...]:
    """Every table of the dashboard, in page order."""
    return (
        department_table(report),
        route_table(report),
        day_table(report),
        month_trend_table(report),
        local_cost_table(report),
        deployment_table(report.deployment),
    )


def _percent(fraction: Decimal) -> Decimal:
    return (fraction * 100).quantize(cost_model.CENT)


def strategy_table(report: StrategyReport) -> Table:
    """Each strategy's cost for the period, with the GPUs it needs."""
    columns = (
        _text("strategy", _("Strategy")),
        _text("profile", _("GPU profile")),
        Column("gpus", _("GPUs")),
        Column("utilization_percent", _("Utilization %")),
        Column("usd", "USD"),
        Column("ntd", "NTD"),
    )
    comparison = report.comparison
    rows: list[tuple[Cell, ...]] = []
    if comparison is not None:
        rows.append(("cloud only", "", 0, None, comparison.cloud_only.usd, comparison.cloud_only.ntd))
        for profile in comparison.profiles:
            local, part, name = profile.local_only, profile.hybrid_local_part, profile.profile_name
            local_cost, hybrid_cost = local.cost, profile.hybrid
            rows.append(
                ("local only", name, local.gpus_needed, _percent(local.utilization), local_cost.usd, local_cost.ntd)
            )
            rows.append(
                ("hybrid", name, part.gpus_needed, _percent(part.utilization), hybrid_cost.usd, hybrid_cost.ntd)
            )
    return Table("strategies", _("Strategies"), columns, tuple(rows))


def break_even_table(report: StrategyReport) -> Table:
    """The monthly volume from which each GPU profile costs no more than the cloud."""
    columns = (
        _text("profile", _("GPU profile")),
        Column("questions_per_month", _("Questions a month")),
        Column("tokens_per_month", _("Tokens a month")),
        Column("gpus", _("GPUs")),
        Column("monthly_usd", _("USD a month")),
        Column("monthly_ntd", _("NTD a month")),
    )
    rows: list[tuple[Cell, ...]] = []
    if report.comparison is not None:
        for profile in report.comparison.profiles:
            point = profile.break_even
            if point is None:
                rows.append((profile.profile_name, None, None, None, None, None))
            else:
                rows.append(
                    (
                        profile.profile_name,
                        point.questions_per_month,
                        int(point.tokens_per_month.to_integral_value()),
                        point.gpus,
                        point.monthly_cost.usd,
                        point.monthly_cost.ntd,
                    )
                )
    return Table("break_even", _("Break-even"), columns, tuple(rows))


def traffic_table(report: StrategyReport) -> Table:
    """The period's traffic the comparison is computed from."""
    columns = (
        _text("answered_by", _("Answered by")),
        Column("questions", _("Questions")),
        Column("tokens_in", _("Tokens in")),
        Column("tokens_out", _("Tokens out")),
        Column("gpu_seconds", _("GPU-seconds")),
    )
    usage = report.usage
    rows: Iterable[tuple[Cell, ...]] = (
        ("local", usage.local.questions, usage.local.tokens_in, usage.local.tokens_out, usage.local.gpu_seconds),
        ("cloud", usage.cloud.questions, usage.cloud.tokens_in, usage.cloud.tokens_out, usage.cloud.gpu_seconds),
        ("no model", usage.without_model_questions, 0, 0, Decimal(0)),
    )
    return Table("traffic", _("Traffic in the period"), columns, tuple(rows))


def strategy_tables(report: StrategyReport) -> tuple[Table, ...]:
    """Every table of the strategy page, in page order."""
    return (strategy_table(report), break_even_table(report), traffic_table(report))
