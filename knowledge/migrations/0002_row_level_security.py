from django.db import migrations

from tenancy.rls import EnableTenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial"), ("tenancy", "0002_row_level_security")]

    operations = [
        EnableTenantRowLevelSecurity(table)
        for table in (
            "knowledge_faqentry",
            "knowledge_faqrevision",
            "knowledge_document",
            "knowledge_chunk",
            "knowledge_importjob",
        )
    ]
