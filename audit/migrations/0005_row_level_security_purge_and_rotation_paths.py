from django.db import migrations

from tenancy.rls import EnableTenantRowLevelSecurity

# Custom settings can be set by any role, so the purge and key-rotation paths also require the table
# owner: the application role (the "default" alias) can never take them, even with the flag on.
# Key rotation may change raw_question_encrypted only; every hashed column must stay as it was.
OWNER_ONLY_PATHS = """
CREATE OR REPLACE FUNCTION audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    is_owner boolean := pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'USAGE');
BEGIN
    IF is_owner AND TG_OP = 'DELETE' AND current_setting('lantern.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    IF is_owner AND TG_OP = 'UPDATE' AND current_setting('lantern.audit_rotate', true) = 'on'
       AND (to_jsonb(NEW) - 'raw_question_encrypted') = (to_jsonb(OLD) - 'raw_question_encrypted') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % is not allowed on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE FUNCTION audit_checkpoint_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'signed checkpoints are append-only: % is not allowed on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_signedcheckpoint
    FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_reject_change();
"""

PREVIOUS_PATHS = """
DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_signedcheckpoint;
DROP FUNCTION IF EXISTS audit_checkpoint_reject_change();
CREATE OR REPLACE FUNCTION audit_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('lantern.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % is not allowed on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""

# Filters on payload values the auditor searches by: route and backend as expressions, entity types by GIN.
SEARCH_INDEXES = """
CREATE INDEX audit_tenant_route_time ON audit_auditevent (tenant_id, (payload->>'route'), occurred_at);
CREATE INDEX audit_payload_entities ON audit_auditevent USING gin ((payload->'entities') jsonb_path_ops);
"""

DROP_SEARCH_INDEXES = """
DROP INDEX IF EXISTS audit_tenant_route_time;
DROP INDEX IF EXISTS audit_payload_entities;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_checkpoints_verification_retention_search_indexes")]

    operations = [
        EnableTenantRowLevelSecurity("audit_signedcheckpoint"),
        EnableTenantRowLevelSecurity("audit_verificationrun"),
        EnableTenantRowLevelSecurity("audit_retentionpolicy"),
        migrations.RunSQL(OWNER_ONLY_PATHS, PREVIOUS_PATHS),
        migrations.RunSQL(SEARCH_INDEXES, DROP_SEARCH_INDEXES),
    ]
