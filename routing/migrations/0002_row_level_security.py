from django.db import migrations

from tenancy.rls import EnableTenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_routing_policy_and_backend_overrides"), ("tenancy", "0002_row_level_security")]

    operations = [EnableTenantRowLevelSecurity(table) for table in ("routing_routingpolicy", "routing_backendoverride")]
