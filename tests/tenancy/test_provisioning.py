"""Provisioning tenants and members from the command line: idempotent, with clear errors."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from tenancy.context import tenant_context
from tenancy.models import Department, Membership, Tenant


@pytest.mark.django_db
def test_create_tenant_twice_updates_instead_of_duplicating(capsys):
    call_command("create_tenant", "initech", "--name", "Initech", "--mode", "local_only")
    call_command("create_tenant", "initech", "--name", "Initech Taiwan", "--mode", "hybrid")
    tenant = Tenant.objects.get(slug="initech")
    assert (tenant.name, tenant.mode) == ("Initech Taiwan", "hybrid")
    assert Tenant.objects.filter(slug="initech").count() == 1
    assert "Updated tenant initech" in capsys.readouterr().out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["bad slug!", "--name", "X"], "Invalid tenant slug"),
        (["initech", "--name", "   "], "needs a name"),
    ],
)
def test_create_tenant_rejects_bad_input(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_tenant", *arguments)
    assert not Tenant.objects.exists()


def test_add_member_creates_the_department_and_is_idempotent(acme):
    for _ in range(2):
        call_command(
            "add_member",
            "--tenant",
            "acme",
            "--username",
            "dave",
            "--role",
            "curator",
            "--department",
            "LEGAL",
            "--full-name",
            "戴維",
            "--password",
            "s3cret-pass",
        )
    user = get_user_model().objects.get(username="dave")
    assert user.check_password("s3cret-pass")
    with tenant_context(acme.pk):
        membership = Membership.objects.get(user=user)
        assert (membership.role, membership.department.code, membership.full_name) == (
            "curator",
            "LEGAL",
            "戴維",
        )
        assert Department.objects.filter(code="LEGAL").count() == 1


def test_add_member_to_unknown_tenant_names_the_known_ones(acme):
    with pytest.raises(CommandError, match=r"No tenant 'nope' \(known tenants: acme\)"):
        call_command("add_member", "--tenant", "nope", "--username", "x", "--role", "employee", "--department", "HR")


def test_add_member_rejects_unknown_role(acme):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("add_member", "--tenant", "acme", "--username", "x", "--role", "boss", "--department", "HR")


def test_a_user_cannot_join_a_second_tenant(bob, globex):
    with pytest.raises(CommandError, match="already belongs to another tenant"):
        call_command("add_member", "--tenant", "globex", "--username", "bob", "--role", "employee", "--department", "X")
    with tenant_context(globex.pk):
        assert not Membership.objects.exists()
