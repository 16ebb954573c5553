from django.db import migrations

from tenancy.rls import CURRENT_USER_SQL, EnableTenantRowLevelSecurity, GrantApplicationRole


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0001_initial")]

    operations = [
        GrantApplicationRole(),
        EnableTenantRowLevelSecurity("tenancy_department"),
        # A member reads their own membership before their tenant is known (at login).
        EnableTenantRowLevelSecurity("tenancy_membership", extra_read_condition=f"user_id = {CURRENT_USER_SQL}"),
    ]
