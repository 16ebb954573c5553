"""Print a tenant's month of costs, as the finance dashboard shows them, for people or for scripts."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from costing.formatting import cell_text
from costing.periods import Period, month_period, parse_month
from costing.reports import MonthReport, month_report
from costing.strategies import StrategyReport, compare_period
from costing.tables import Table, month_tables, strategy_tables
from tenancy.context import tenant_context
from tenancy.provisioning import ProvisioningError, get_tenant


def _money(money) -> dict[str, str]:
    return {"usd": str(money.usd), "ntd": str(money.ntd)}


def report_document(*, tenant_slug: str, report: MonthReport, strategies: StrategyReport) -> dict[str, Any]:
    """The month report and the month's strategy comparison as one JSON-ready document."""
    comparison = strategies.comparison
    return {
        "tenant": tenant_slug,
        "month": report.month.strftime("%Y-%m"),
        "as_of": report.as_of.isoformat(),
        "in_progress": report.in_progress,
        "ntd_per_usd": str(report.exchange_rate.ntd_per_usd),
        "questions": report.questions,
        "total": _money(report.total),
        "metered": _money(report.metered),
        "local": _money(report.local),
        "unallocated": _money(report.unallocated),
        "forecast": _money(report.forecast_total) if report.forecast_total else None,
        "tables": {table.slug: table.as_records() for table in month_tables(report)},
        "strategies": {
            "first_day": strategies.period.first_day.isoformat(),
            "last_day": strategies.period.last_day.isoformat(),
            "multiplier": str(strategies.multiplier),
            "cloud_price": f"{strategies.price.provider}/{strategies.price.model}" if strategies.price else None,
            "cheapest": comparison.cheapest if comparison else None,
            "tables": {table.slug: table.as_records() for table in strategy_tables(strategies)},
        },
    }


def table_text(table: Table) -> str:
    """A table as aligned plain text."""
    header = [str(column.label) for column in table.columns]
    rows = [[cell_text(value) for value in row] for row in table.rows]
    widths = [max(len(line[index]) for line in [header, *rows]) for index in range(len(header))]
    lines = [str(table.title), "  ".join(label.ljust(width) for label, width in zip(header, widths, strict=True))]
    for row in rows:
        lines.append(
            "  ".join(
                value.rjust(width) if column.numeric else value.ljust(width)
                for value, width, column in zip(row, widths, table.columns, strict=True)
            )
        )
    return "\n".join(line.rstrip() for line in lines)


class Command(BaseCommand):
    help = "Print a tenant's costs for a month: per department and route, budgets, forecast and strategies."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", required=True, help="tenant slug")
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, tenant: str, month: str, **options) -> None:
        try:
            tenant_row = get_tenant(tenant)
            first_day = parse_month(month)
        except (ProvisioningError, ValueError) as error:
            raise CommandError(str(error)) from error
        with tenant_context(tenant_row.pk):
            report = month_report(tenant_id=tenant_row.pk, month=first_day)
            whole_month = month_period(first_day)
            last_day = max(whole_month.first_day, min(whole_month.last_day, report.as_of))
            strategies = compare_period(period=Period(whole_month.first_day, last_day))
        if options["json"]:
            document = report_document(tenant_slug=tenant_row.slug, report=report, strategies=strategies)
            self.stdout.write(json.dumps(document, ensure_ascii=False, indent=2))
            return
        self.stdout.write(self._summary(tenant_row.slug, report, strategies))
        for table in (*month_tables(report), *strategy_tables(strategies)):
            self.stdout.write("\n" + table_text(table))

    def _summary(self, slug: str, report: MonthReport, strategies: StrategyReport) -> str:
        if report.in_progress:
            state = _("in progress, as of %(day)s") % {"day": report.as_of.isoformat()}
        else:
            state = _("complete")
        rate = report.exchange_rate.ntd_per_usd
        lines = [
            _("Lantern costs for %(tenant)s, %(month)s (%(state)s; %(rate)s NTD per USD)")
            % {"tenant": slug, "month": report.month.strftime("%Y-%m"), "state": state, "rate": rate},
            f"{_('Total')}: US${cell_text(report.total.usd)}  NT${cell_text(report.total.ntd)}",
            f"{_('Cloud (metered)')}: US${cell_text(report.metered.usd)}  NT${cell_text(report.metered.ntd)}",
            f"{_('Local (allocated)')}: US${cell_text(report.local.usd)}  NT${cell_text(report.local.ntd)}",
            f"{_('Questions')}: {cell_text(report.questions)}",
        ]
        if report.forecast_total:
            forecast = report.forecast_total
            lines.append(f"{_('Forecast to month end')}: US${cell_text(forecast.usd)}  NT${cell_text(forecast.ntd)}")
        if strategies.comparison and strategies.price:
            price = strategies.price
            lines.append(
                f"{_('Cheapest')}: {strategies.cheapest_label} ({_('Cloud model')}: {price.provider}/{price.model})"
            )
        return "\n".join(lines)
