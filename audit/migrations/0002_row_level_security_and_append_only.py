from django.db import migrations

from tenancy.rls import EnableTenantRowLevelSecurity

# Rows of the audit log cannot be updated or deleted, whoever asks; the retention purge alone may delete,
# and only after it has written a signed checkpoint covering what it removes.
APPEND_ONLY = """
CREATE FUNCTION audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('lantern.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % is not allowed on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_reject_change();
"""

DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_reject_change();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial"), ("tenancy", "0002_row_level_security")]

    operations = [
        EnableTenantRowLevelSecurity("audit_auditevent"),
        EnableTenantRowLevelSecurity("audit_chainhead"),
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
    ]
