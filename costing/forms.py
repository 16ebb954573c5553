"""Forms of the finance pages: they parse and validate input; the writes are costing's named functions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from costing.models import Currency, ExchangeRate, GpuProfile, Price
from costing.periods import FIRST_YEAR, LAST_YEAR, Period, parse_month
from costing.pricebook import PRICE_FIELDS
from costing.profiles import GPU_PROFILE_FIELDS


class MonthField(forms.CharField):
    """A month typed YYYY-MM (an <input type="month">), cleaned to its first day."""

    widget = forms.TextInput(attrs={"type": "month"})

    def to_python(self, value: str | None) -> date | None:
        text = super().to_python(value)
        if not text:
            return None
        try:
            return parse_month(text)
        except ValueError as error:
            raise forms.ValidationError(_("Enter a month as YYYY-MM.")) from error


class MonthForm(forms.Form):
    month = MonthField(label=_("Month"), required=False)


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    multiplier = forms.DecimalField(
        label=_("Volume multiplier"),
        min_value=Decimal(0),
        max_value=Decimal(1000),
        max_digits=7,
        decimal_places=2,
        initial=Decimal(1),
        help_text=_("Traffic peaks run 5–10× the daily average."),
    )
    price = forms.TypedChoiceField(label=_("Cloud model"), coerce=int, required=False, empty_value=None)

    MAX_DAYS = 366

    def __init__(self, *args, prices: tuple[Price, ...] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["price"].choices = [("", _("Default"))] + [
            (price.pk, f"{price.provider}/{price.model}") for price in prices
        ]

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if start.year < FIRST_YEAR or end.year > LAST_YEAR:
                raise forms.ValidationError(
                    _("Choose a period between %(first)s and %(last)s."),
                    params={"first": FIRST_YEAR, "last": LAST_YEAR},
                )
            if end < start:
                raise forms.ValidationError(_("The period ends before it starts."))
            if (end - start).days >= self.MAX_DAYS:
                raise forms.ValidationError(_("Choose a period of at most a year."))
        return cleaned

    @property
    def period(self) -> Period:
        """The chosen period (valid forms only)."""
        return Period(self.cleaned_data["start"], self.cleaned_data["end"])


class PriceForm(forms.ModelForm):
    class Meta:
        model = Price
        fields = list(PRICE_FIELDS)
        labels = {
            "provider": _("Provider"),
            "model": _("Model"),
            "input_per_million": _("Input per 1M tokens"),
            "cached_input_per_million": _("Cached input per 1M tokens"),
            "output_per_million": _("Output per 1M tokens"),
            "currency": _("Currency"),
            "effective_from": _("Effective from"),
            "source": _("Source"),
        }
        widgets = {
            "effective_from": forms.DateInput(attrs={"type": "date"}),
            "source": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self) -> dict:
        cleaned = super().clean()
        for name in ("input_per_million", "cached_input_per_million", "output_per_million"):
            if cleaned.get(name) is not None and cleaned[name] < 0:
                self.add_error(name, _("A price cannot be negative."))
        return cleaned

    def validate_unique(self) -> None:
        """Uniqueness includes the tenant, which the form does not carry; the save function checks it."""


class GpuProfileForm(forms.ModelForm):
    class Meta:
        model = GpuProfile
        fields = list(GPU_PROFILE_FIELDS)
        labels = {
            "name": _("Name"),
            "acquisition": _("Bought or rented"),
            "gpus": _("GPUs"),
            "hardware_cost": _("Hardware cost"),
            "amortization_months": _("Amortization months"),
            "hourly_rate": _("Hourly rental rate"),
            "hours_per_day": _("Hours per day"),
            "days_per_month": _("Days per month"),
            "power_watts": _("Power draw (W per GPU)"),
            "electricity_price_per_kwh": _("Electricity price per kWh"),
            "electricity_currency": _("Electricity currency"),
            "staff_fte": _("Staff (FTE)"),
            "staff_monthly_cost_per_fte": _("Monthly cost per FTE"),
            "other_monthly_cost": _("Other monthly cost"),
            "currency": _("Currency"),
            "throughput_tokens_per_second": _("Throughput (tokens/s per GPU)"),
            "allocation_basis": _("Share cost by"),
            "notes": _("Notes"),
        }
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def validate_unique(self) -> None:
        """Uniqueness includes the tenant, which the form does not carry; the save function checks it."""


class ExchangeRateForm(forms.ModelForm):
    class Meta:
        model = ExchangeRate
        fields = ["ntd_per_usd", "effective_on"]
        labels = {"ntd_per_usd": _("NTD per USD"), "effective_on": _("Effective from")}
        widgets = {"effective_on": forms.DateInput(attrs={"type": "date"})}

    def validate_unique(self) -> None:
        """A rate on an existing day replaces it."""


class CostingSettingsForm(forms.Form):
    deployed_profile = forms.ModelChoiceField(
        label=_("GPU deployment in use"), queryset=GpuProfile.objects.none(), required=False
    )
    app_server_monthly_cost = forms.DecimalField(
        label=_("App servers per month"), min_value=Decimal(0), max_digits=12, decimal_places=2
    )
    app_server_currency = forms.ChoiceField(label=_("App servers currency"), choices=Currency.choices)
    alert_emails = forms.CharField(
        label=_("Alert e-mail addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Besides finance members and tenant admins; one per line."),
    )
    alert_webhook_url = forms.URLField(label=_("Alert webhook URL"), required=False, assume_scheme="https")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deployed_profile"].queryset = GpuProfile.objects.all()

    def clean_alert_emails(self) -> str:
        addresses = [line.strip() for line in self.cleaned_data["alert_emails"].replace(",", "\n").split()]
        validator = forms.EmailField()
        for address in addresses:
            validator.clean(address)
        return "\n".join(addresses)


class BudgetForm(forms.Form):
    soft_limit = forms.DecimalField(
        label=_("Soft limit"), required=False, min_value=Decimal(0), max_digits=14, decimal_places=2
    )
    hard_limit = forms.DecimalField(
        label=_("Hard limit"), required=False, min_value=Decimal(0), max_digits=14, decimal_places=2
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)

    def clean(self) -> dict:
        cleaned = super().clean()
        soft, hard = cleaned.get("soft_limit"), cleaned.get("hard_limit")
        if soft is not None and hard is not None and soft > hard:
            raise forms.ValidationError(_("The soft limit cannot be above the hard limit."))
        return cleaned
