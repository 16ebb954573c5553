from django.db import migrations

from tenancy.rls import EnableTenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("costing", "0001_initial"), ("tenancy", "0002_row_level_security")]

    operations = [EnableTenantRowLevelSecurity("costing_usagerecord")]
