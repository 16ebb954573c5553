"""The tenant admin's routing page: the policy in force, its versions, and the tenant's own backends."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from routing.forms import BackendOverrideForm, RoutingPolicyForm
from routing.models import BackendOverride, RoutingPolicy
from routing.policy import policy_settings_for, save_backend_override, save_policy
from tenancy.access import role_required
from tenancy.models import Department


@role_required("tenant_admin")
def policy_page(request: HttpRequest) -> HttpResponse:
    """Show and save the routing policy (every save a new version) and the backend overrides."""
    membership = request.membership
    tenant = membership.tenant
    department_codes = list(Department.objects.values_list("code", flat=True))
    policy_form = RoutingPolicyForm(
        initial=RoutingPolicyForm.initial_from(policy_settings_for(tenant=tenant)), department_codes=department_codes
    )
    overrides = {override.name: override for override in BackendOverride.objects.all()}
    backend_forms = {
        name: BackendOverrideForm(
            initial={
                "name": name,
                "base_url": overrides[name].base_url if name in overrides else "",
                "model": overrides[name].model if name in overrides else "",
            },
            prefix=name,
        )
        for name in BackendOverride.Name.values
    }
    status = 200
    if request.method == "POST":
        status = 400  # unless a form below is saved and the page redirects
        actor = {"actor_user_id": request.user.pk, "actor_username": request.user.get_username()}
        if request.POST.get("form") == "policy":
            policy_form = RoutingPolicyForm(request.POST, department_codes=department_codes)
            if policy_form.is_valid():
                try:
                    version = save_policy(tenant=tenant, policy_settings=policy_form.policy_settings(), **actor)
                except ValidationError as error:
                    _add_errors(policy_form, error)
                else:
                    messages.success(request, _("Routing policy saved as version %(v)s.") % {"v": version.version})
                    return redirect("routing:policy")
        elif request.POST.get("form") in BackendOverride.Name.values:
            name = request.POST["form"]
            form = BackendOverrideForm(request.POST, prefix=name)
            backend_forms[name] = form
            if form.is_valid():
                try:
                    save_backend_override(
                        tenant_id=tenant.pk,
                        name=form.cleaned_data["name"],
                        base_url=form.cleaned_data["base_url"],
                        model=form.cleaned_data["model"],
                        api_key=form.api_key_change(),
                        **actor,
                    )
                except ValidationError as error:
                    _add_errors(form, error)
                else:
                    messages.success(request, _("Backend settings saved."))
                    return redirect("routing:policy")
        else:
            messages.error(request, _("Nothing was saved: the form sent is not one of this page's forms."))
    return render(
        request,
        "routing/policy.html",
        {
            "policy_form": policy_form,
            "backends": [(name, backend_forms[name], overrides.get(name)) for name in BackendOverride.Name.values],
            "versions": RoutingPolicy.objects.select_related("created_by")[:20],
        },
        status=status,
    )


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, field_errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error)
