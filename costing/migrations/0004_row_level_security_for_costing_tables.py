from django.db import migrations

from tenancy.rls import EnableTenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("costing", "0003_pricebook_profiles_budgets_rollups")]

    operations = [
        EnableTenantRowLevelSecurity("costing_price"),
        EnableTenantRowLevelSecurity("costing_exchangerate"),
        EnableTenantRowLevelSecurity("costing_gpuprofile"),
        EnableTenantRowLevelSecurity("costing_costingsettings"),
        EnableTenantRowLevelSecurity("costing_budget"),
        EnableTenantRowLevelSecurity("costing_budgetspend"),
        EnableTenantRowLevelSecurity("costing_budgetalert"),
        EnableTenantRowLevelSecurity("costing_dailyusage"),
        EnableTenantRowLevelSecurity("costing_monthlyusage"),
        EnableTenantRowLevelSecurity("costing_localcostallocation"),
        EnableTenantRowLevelSecurity("costing_rollupprogress"),
    ]
