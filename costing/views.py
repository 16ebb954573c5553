"""The finance pages: dashboard, strategy comparison, price book, GPU profiles, budgets and settings.

Every page is for the finance role (tenant admins pass too); every object is looked up through the tenant's
scoped manager, so another tenant's id is a 404.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.errors import form_status
from costing import budgets as budget_actions
from costing.charts import dashboard_series
from costing.forms import (
    BudgetForm,
    CostingSettingsForm,
    ExchangeRateForm,
    GpuProfileForm,
    MonthForm,
    PeriodForm,
    PriceForm,
)
from costing.models import Budget, ExchangeRate, GpuProfile, Price
from costing.periods import first_of_month, today
from costing.pricebook import PriceInUse, price_book, price_is_used, save_exchange_rate, save_price
from costing.profiles import costing_settings, deployment_cost, save_costing_settings, save_gpu_profile
from costing.reports import MonthReport, month_report
from costing.strategies import StrategyReport, compare_period, default_period
from costing.tables import ROUTE_LABELS, Table, as_csv, month_tables, strategy_tables
from tenancy.access import role_required
from tenancy.models import Department

finance_required = role_required("finance")


def get_price_or_404(price_id: int) -> Price:
    """The tenant's price with this id, or 404 (also for any id of another tenant)."""
    price = Price.objects.filter(pk=price_id).first()
    if price is None:
        raise Http404("No such price.")
    return price


def get_gpu_profile_or_404(profile_id: int) -> GpuProfile:
    """The tenant's GPU profile with this id, or 404 (also for any id of another tenant)."""
    profile = GpuProfile.objects.filter(pk=profile_id).first()
    if profile is None:
        raise Http404("No such GPU profile.")
    return profile


def get_department_or_404(department_id: int) -> Department:
    """The tenant's department with this id, or 404 (also for any id of another tenant)."""
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        raise Http404("No such department.")
    return department


def _month_report(request: HttpRequest) -> MonthReport:
    form = MonthForm(request.GET)
    month = (form.cleaned_data["month"] if form.is_valid() else None) or first_of_month(today())
    return month_report(tenant_id=request.membership.tenant_id, month=month)


def _strategy_report(request: HttpRequest) -> tuple[StrategyReport, PeriodForm]:
    prices = tuple(price_book(on=today()))
    fallback = default_period(until=today() - timedelta(days=1))
    data = request.GET if "start" in request.GET else None
    form = PeriodForm(
        data, prices=prices, initial={"start": fallback.first_day, "end": fallback.last_day, "multiplier": 1}
    )
    if form.is_bound and form.is_valid():
        report = compare_period(
            period=form.period, multiplier=form.cleaned_data["multiplier"], price_id=form.cleaned_data["price"]
        )
    else:
        report = compare_period(period=fallback)
    return report, form


def _csv_response(table: Table, filename: str) -> HttpResponse:
    response = HttpResponse(as_csv(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _find_table(tables: tuple[Table, ...], slug: str) -> Table:
    for table in tables:
        if table.slug == slug:
            return table
    raise Http404("No such table.")


@finance_required
def dashboard(request: HttpRequest) -> HttpResponse:
    report = _month_report(request)
    return render(
        request,
        "costing/dashboard.html",
        {
            "report": report,
            "tables": month_tables(report),
            "series": dashboard_series(report),
            "chart_labels": {
                "metered": _("Cloud (metered)"),
                "local": _("Local (allocated)"),
                "cumulative": _("Cumulative"),
                "projected": _("Forecast"),
                **{route: str(label) for route, label in ROUTE_LABELS.items()},
            },
            "month_value": report.month.strftime("%Y-%m"),
            "section": "dashboard",
        },
    )


@finance_required
def export_month_table(request: HttpRequest, table: str) -> HttpResponse:
    report = _month_report(request)
    found = _find_table(month_tables(report), table)
    return _csv_response(found, f"lantern-{found.slug}-{report.month:%Y-%m}")


@finance_required
def strategies(request: HttpRequest) -> HttpResponse:
    report, form = _strategy_report(request)
    return render(
        request,
        "costing/strategies.html",
        {
            "report": report,
            "form": form,
            "tables": strategy_tables(report),
            "query": request.GET.urlencode(),
            "section": "strategies",
        },
    )


@finance_required
def export_strategy_table(request: HttpRequest, table: str) -> HttpResponse:
    report, _form = _strategy_report(request)
    found = _find_table(strategy_tables(report), table)
    period = report.period
    return _csv_response(found, f"lantern-{found.slug}-{period.first_day}-{period.last_day}")


@finance_required
def prices(request: HttpRequest) -> HttpResponse:
    form = PriceForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            save_price(tenant_id=request.membership.tenant_id, fields=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Price added."))
            return redirect("costing:prices")
    return render(
        request,
        "costing/prices.html",
        {
            "prices": price_book(),
            "in_effect": {price.pk for price in price_book(on=today())},
            "form": form,
            "section": "prices",
        },
        status=form_status(form),
    )


@finance_required
def edit_price(request: HttpRequest, price_id: int) -> HttpResponse:
    price = get_price_or_404(price_id)
    used = price_is_used(price_id=price.pk)
    form = PriceForm(request.POST if request.method == "POST" else None, instance=price)
    if request.method == "POST" and form.is_valid():
        try:
            save_price(tenant_id=request.membership.tenant_id, fields=form.cleaned_data, price_id=price.pk)
        except (ValidationError, PriceInUse) as error:
            form.add_error(None, error.messages if isinstance(error, ValidationError) else str(error))
        else:
            messages.success(request, _("Price saved."))
            return redirect("costing:prices")
    return render(
        request,
        "costing/price_form.html",
        {"price": price, "used": used, "form": form, "section": "prices"},
        status=form_status(form),
    )


@finance_required
def profiles(request: HttpRequest) -> HttpResponse:
    form = GpuProfileForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            save_gpu_profile(tenant_id=request.membership.tenant_id, fields=form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("GPU profile added."))
            return redirect("costing:profiles")
    rows = [(profile, deployment_cost(profile=profile, on=today())) for profile in GpuProfile.objects.all()]
    deployed = costing_settings(tenant_id=request.membership.tenant_id).deployed_profile_id
    return render(
        request,
        "costing/profiles.html",
        {"rows": rows, "form": form, "deployed_id": deployed, "section": "profiles"},
        status=form_status(form),
    )


@finance_required
def edit_profile(request: HttpRequest, profile_id: int) -> HttpResponse:
    profile = get_gpu_profile_or_404(profile_id)
    form = GpuProfileForm(request.POST if request.method == "POST" else None, instance=profile)
    if request.method == "POST" and form.is_valid():
        try:
            save_gpu_profile(tenant_id=request.membership.tenant_id, fields=form.cleaned_data, profile_id=profile.pk)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("GPU profile saved."))
            return redirect("costing:profiles")
    return render(
        request,
        "costing/profile_form.html",
        {"profile": profile, "form": form, "section": "profiles"},
        status=form_status(form),
    )


@finance_required
def budgets(request: HttpRequest) -> HttpResponse:
    return _budgets_page(request)


def _budgets_page(request: HttpRequest, *, refused: BudgetForm | None = None) -> HttpResponse:
    """The budgets page; a refused budget form is shown again with its errors, the page answering 400."""
    month = first_of_month(today())
    by_department = {budget.department_id: budget for budget in Budget.objects.all()}
    rows = []
    for department in Department.objects.all():
        budget = by_department.get(department.pk)
        initial = (
            {"soft_limit": budget.soft_limit, "hard_limit": budget.hard_limit, "currency": budget.currency}
            if budget
            else {"currency": "USD"}
        )
        prefix = f"department-{department.pk}"
        form = BudgetForm(initial=initial, prefix=prefix)
        if refused is not None and refused.prefix == prefix:
            form = refused
        rows.append((department, budget_actions.budget_status(department_id=department.pk, month=month), form))
    return render(
        request,
        "costing/budgets.html",
        {"rows": rows, "alerts": budget_actions.alerts()[:50], "month": month, "section": "budgets"},
        status=400 if refused is not None else 200,
    )


@finance_required
@require_POST
def set_budget(request: HttpRequest, department_id: int) -> HttpResponse:
    department = get_department_or_404(department_id)
    form = BudgetForm(request.POST, prefix=f"department-{department.pk}")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"{department.code}: {error}")
        return _budgets_page(request, refused=form)
    soft, hard = form.cleaned_data["soft_limit"], form.cleaned_data["hard_limit"]
    if soft is None and hard is None:
        budget_actions.remove_budget(department_id=department.pk)
        messages.success(request, _("Budget removed for %(department)s.") % {"department": department.code})
    else:
        budget_actions.set_budget(
            tenant_id=request.membership.tenant_id,
            department_id=department.pk,
            soft_limit=soft,
            hard_limit=hard,
            currency=form.cleaned_data["currency"],
        )
        messages.success(request, _("Budget saved for %(department)s.") % {"department": department.code})
    return redirect("costing:budgets")


@finance_required
def settings_page(request: HttpRequest) -> HttpResponse:
    tenant_id = request.membership.tenant_id
    current = costing_settings(tenant_id=tenant_id)
    settings_form = CostingSettingsForm(
        request.POST if request.POST.get("form") == "settings" else None,
        initial={
            "deployed_profile": current.deployed_profile,
            "app_server_monthly_cost": current.app_server_monthly_cost,
            "app_server_currency": current.app_server_currency,
            "alert_emails": current.alert_emails,
            "alert_webhook_url": current.alert_webhook_url,
        },
    )
    rate_form = ExchangeRateForm(request.POST if request.POST.get("form") == "rate" else None)
    if settings_form.is_bound and settings_form.is_valid():
        save_costing_settings(tenant_id=tenant_id, fields=settings_form.cleaned_data)
        messages.success(request, _("Settings saved."))
        return redirect("costing:settings")
    if rate_form.is_bound and rate_form.is_valid():
        try:
            save_exchange_rate(tenant_id=tenant_id, **rate_form.cleaned_data)
        except ValidationError as error:
            rate_form.add_error(None, error)
        else:
            messages.success(request, _("Exchange rate saved."))
            return redirect("costing:settings")
    return render(
        request,
        "costing/settings.html",
        {
            "settings_form": settings_form,
            "rate_form": rate_form,
            "rates": ExchangeRate.objects.all()[:24],
            "section": "settings",
        },
        status=max(form_status(settings_form), form_status(rate_form)),
    )
