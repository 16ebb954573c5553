"""The tenant admin's routing policy and backend forms."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.utils.translation import gettext_lazy as _

from routing.explanations import ENTITY_WORDS
from routing.models import EntityAction
from routing.pii import LOW_ENTITY_TYPES
from routing.policy import MAX_API_KEY_CHARS, PolicySettings
from tenancy.models import Mode

DEFAULT_ACTION = ""
ENTITY_ACTION_CHOICES = [(DEFAULT_ACTION, _("Default")), *EntityAction.choices]
DEPARTMENT_MODE_CHOICES = [("", _("Tenant's mode")), *Mode.choices]
SENSITIVE_ENTITY_TYPES = tuple(entity for entity in ENTITY_WORDS if entity not in LOW_ENTITY_TYPES)


class RoutingPolicyForm(forms.Form):
    mode = forms.ChoiceField(label=_("Mode"), choices=Mode.choices)
    length_threshold = forms.IntegerField(
        label=_("Length threshold (characters)"),
        min_value=1,
        help_text=_("In hybrid mode, questions up to this length are answered locally."),
    )
    faq_confidence_threshold = forms.FloatField(
        label=_("FAQ-confidence threshold"),
        min_value=0.0,
        max_value=1.0,
        help_text=_("In hybrid mode, questions matching an FAQ entry at least this well are answered locally."),
    )
    allow_redacted_cloud = forms.BooleanField(
        label=_("Allow redacted text to the cloud"),
        required=False,
        help_text=_("In cloud-only mode, sensitive values are replaced by placeholders before the cloud call."),
    )
    confidential_terms = forms.CharField(
        label=_("Confidential terms"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line: project code names, “layoff”, “merger”…"),
    )
    employee_id_pattern = forms.CharField(
        label=_("Employee-id pattern"),
        required=False,
        max_length=200,
        help_text=_("A regular expression, e.g. E[0-9]{5}."),
    )

    def __init__(self, *args, department_codes: Sequence[str] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.department_codes = tuple(department_codes)
        for entity in SENSITIVE_ENTITY_TYPES:
            self.fields[f"entity_{entity}"] = forms.ChoiceField(
                label=_("Action for %(entity)s") % {"entity": entity}, choices=ENTITY_ACTION_CHOICES, required=False
            )
        for code in self.department_codes:
            self.fields[f"department_{code}"] = forms.ChoiceField(
                label=_("Mode for department %(code)s") % {"code": code},
                choices=DEPARTMENT_MODE_CHOICES,
                required=False,
            )

    @staticmethod
    def initial_from(policy_settings: PolicySettings) -> dict:
        """The form's initial values for the settings in force."""
        initial = {
            "mode": policy_settings.mode,
            "length_threshold": policy_settings.length_threshold,
            "faq_confidence_threshold": policy_settings.faq_confidence_threshold,
            "allow_redacted_cloud": policy_settings.allow_redacted_cloud,
            "confidential_terms": "\n".join(policy_settings.confidential_terms),
            "employee_id_pattern": policy_settings.employee_id_pattern,
        }
        initial.update({f"entity_{entity}": action for entity, action in policy_settings.entity_actions})
        initial.update({f"department_{code}": mode for code, mode in policy_settings.department_modes})
        return initial

    def policy_settings(self) -> PolicySettings:
        """The settings the admin submitted."""
        data = self.cleaned_data
        return PolicySettings(
            mode=data["mode"],
            length_threshold=data["length_threshold"],
            faq_confidence_threshold=data["faq_confidence_threshold"],
            allow_redacted_cloud=data["allow_redacted_cloud"],
            entity_actions=tuple(
                (entity, data[f"entity_{entity}"]) for entity in SENSITIVE_ENTITY_TYPES if data[f"entity_{entity}"]
            ),
            department_modes=tuple(
                (code, data[f"department_{code}"]) for code in self.department_codes if data[f"department_{code}"]
            ),
            confidential_terms=tuple(data["confidential_terms"].splitlines()),
            employee_id_pattern=data["employee_id_pattern"],
        )


class BackendOverrideForm(forms.Form):
    name = forms.ChoiceField(choices=[("local", _("Local")), ("cloud", _("Cloud"))], widget=forms.HiddenInput)
    base_url = forms.URLField(label=_("Base URL"), required=False, max_length=500, assume_scheme="https")
    model = forms.CharField(label=_("Model"), required=False, max_length=200)
    api_key = forms.CharField(
        label=_("New API key"),
        required=False,
        max_length=MAX_API_KEY_CHARS,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Replaces the stored key; leave empty to keep it. Stored encrypted, never shown again."),
    )
    remove_api_key = forms.BooleanField(label=_("Clear the stored key"), required=False)

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("remove_api_key") and cleaned.get("api_key"):
            raise forms.ValidationError(_("Either type a new key or clear the stored one, not both."))
        return cleaned

    def api_key_change(self) -> str | None:
        """The new key, "" to remove it, or None to keep the stored one."""
        if self.cleaned_data["remove_api_key"]:
            return ""
        return self.cleaned_data["api_key"] or None
