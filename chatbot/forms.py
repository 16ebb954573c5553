"""Forms of the chat pages: renaming a conversation, rating an answer, creating and revoking API keys."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from chatbot.conversations import MAX_COMMENT_CHARS, MAX_TITLE_CHARS

MAX_KEY_NAME_CHARS = 100


class RenameForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=MAX_TITLE_CHARS)


class FeedbackForm(forms.Form):
    helpful = forms.ChoiceField(
        label=_("Was this answer helpful?"), choices=[("yes", _("Helpful")), ("no", _("Not helpful"))]
    )
    comment = forms.CharField(label=_("Comment (optional)"), max_length=MAX_COMMENT_CHARS, required=False)


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name of the new key"), max_length=MAX_KEY_NAME_CHARS)


class RevokeForm(forms.Form):
    revoke = forms.IntegerField(min_value=1)


def first_error(form: forms.Form) -> str:
    """The form's first error, with the label of the field it is about."""
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        if field is not None and field.label:
            return f"{field.label}: {errors[0]}"
        return str(errors[0])
    return ""
