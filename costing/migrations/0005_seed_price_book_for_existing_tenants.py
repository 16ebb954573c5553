from types import SimpleNamespace

from django.db import migrations


def seed_existing_tenants(apps, schema_editor) -> None:
    from costing.defaults import write_defaults

    using = schema_editor.connection.alias
    models = SimpleNamespace(
        Price=apps.get_model("costing", "Price"),
        ExchangeRate=apps.get_model("costing", "ExchangeRate"),
        GpuProfile=apps.get_model("costing", "GpuProfile"),
        CostingSettings=apps.get_model("costing", "CostingSettings"),
    )
    for tenant_id in apps.get_model("tenancy", "Tenant").objects.using(using).values_list("pk", flat=True):
        write_defaults(tenant_id=tenant_id, models=models, using=using)


class Migration(migrations.Migration):
    dependencies = [("costing", "0004_row_level_security_for_costing_tables"), ("tenancy", "0002_row_level_security")]

    operations = [migrations.RunPython(seed_existing_tenants, migrations.RunPython.noop)]
