"""Row-level security: one policy per tenant-owned table, created and dropped by migrations."""

from __future__ import annotations

from django.db import migrations

CURRENT_TENANT_SQL = "NULLIF(current_setting('lantern.tenant_id', true), '')::bigint"
CURRENT_USER_SQL = "NULLIF(current_setting('lantern.user_id', true), '')::bigint"


class EnableTenantRowLevelSecurity(migrations.operations.base.Operation):
    """Only rows of the tenant set for the transaction are visible and writable in this table."""

    reversible = True
    reduces_to_sql = True

    def __init__(self, table: str, extra_read_condition: str = "") -> None:
        self.table = table
        self.extra_read_condition = extra_read_condition

    def state_forwards(self, app_label, state) -> None:
        pass

    def _policy_sql(self) -> list[str]:
        tenant_match = f"tenant_id = {CURRENT_TENANT_SQL}"
        read = f"({tenant_match}) OR ({self.extra_read_condition})" if self.extra_read_condition else tenant_match
        return [
            f'ALTER TABLE "{self.table}" ENABLE ROW LEVEL SECURITY',
            f'CREATE POLICY tenant_read ON "{self.table}" FOR SELECT USING ({read})',
            f'CREATE POLICY tenant_insert ON "{self.table}" FOR INSERT WITH CHECK ({tenant_match})',
            f'CREATE POLICY tenant_update ON "{self.table}" FOR UPDATE USING ({tenant_match}) '
            f"WITH CHECK ({tenant_match})",
            f'CREATE POLICY tenant_delete ON "{self.table}" FOR DELETE USING ({tenant_match})',
        ]

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        for statement in self._policy_sql():
            schema_editor.execute(statement)

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        for policy in ("tenant_read", "tenant_insert", "tenant_update", "tenant_delete"):
            schema_editor.execute(f'DROP POLICY IF EXISTS {policy} ON "{self.table}"')
        schema_editor.execute(f'ALTER TABLE "{self.table}" DISABLE ROW LEVEL SECURITY')

    def describe(self) -> str:
        return f"Enable tenant row-level security on {self.table}"

    def deconstruct(self):
        kwargs = {"table": self.table}
        if self.extra_read_condition:
            kwargs["extra_read_condition"] = self.extra_read_condition
        return (self.__class__.__name__, [], kwargs)


class GrantApplicationRole(migrations.operations.base.Operation):
    """Let the application role read and write every table, present and future, without owning them."""

    reversible = True
    reduces_to_sql = True

    def state_forwards(self, app_label, state) -> None:
        pass

    def _role(self, schema_editor) -> str | None:
        from django.conf import settings

        role = settings.DATABASE_APP_ROLE
        return None if role == schema_editor.connection.settings_dict["USER"] else role

    def database_forwards(self, app_label, schema_editor, from_state, to_state) -> None:
        role = self._role(schema_editor)
        if not role:
            return
        quoted = schema_editor.quote_name(role)
        schema_editor.execute(f"GRANT USAGE ON SCHEMA public TO {quoted}")
        schema_editor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quoted}")
        schema_editor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
        schema_editor.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}"
        )
        schema_editor.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {quoted}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state) -> None:
        role = self._role(schema_editor)
        if not role:
            return
        quoted = schema_editor.quote_name(role)
        schema_editor.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {quoted}"
        )
        schema_editor.execute(
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {quoted}"
        )

    def describe(self) -> str:
        return "Grant the application role access to the tables"

    def deconstruct(self):
        return (self.__class__.__name__, [], {})
