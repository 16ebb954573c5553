"""The current tenant, set per transaction for PostgreSQL row-level security."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, transaction

TENANT_SETTING = "lantern.tenant_id"
USER_SETTING = "lantern.user_id"

_current_tenant_id: ContextVar[int | None] = ContextVar("lantern_tenant_id", default=None)


def current_tenant_id() -> int | None:
    """The tenant the code is running for, or None outside any tenant."""
    return _current_tenant_id.get()


def _set_local(name: str, value: int | None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [name, "" if value is None else str(value)])


@contextmanager
def tenant_context(tenant_id: int) -> Iterator[None]:
    """Run the block in a transaction where only the given tenant's rows are visible or writable."""
    previous = _current_tenant_id.get()
    if previous == tenant_id and connection.in_atomic_block:
        # Nested in a block of the same tenant: the setting is already in force for this transaction.
        with transaction.atomic():
            yield
        return
    token = _current_tenant_id.set(tenant_id)
    opens_transaction = not connection.in_atomic_block and connection.get_autocommit()
    try:
        with transaction.atomic():
            _set_local(TENANT_SETTING, tenant_id)
            try:
                yield
            finally:
                # set_config(..., true) lasts until the outer transaction ends, not the savepoint: a nested
                # block puts the previous tenant back; an outermost one leaves that to its commit, one round
                # trip fewer while the transaction may hold locks.
                if not opens_transaction and connection.in_atomic_block and not connection.needs_rollback:
                    _set_local(TENANT_SETTING, previous)
    finally:
        _current_tenant_id.reset(token)


@contextmanager
def user_lookup_context(user_id: int) -> Iterator[None]:
    """A transaction in which a user may read their own membership before the tenant is known."""
    with transaction.atomic():
        _set_local(USER_SETTING, user_id)
        try:
            yield
        finally:
            if connection.in_atomic_block and not connection.needs_rollback:
                _set_local(USER_SETTING, None)
