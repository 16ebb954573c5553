from django.db import migrations

from tenancy.rls import EnableTenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("chatbot", "0001_initial"), ("tenancy", "0002_row_level_security")]

    operations = [EnableTenantRowLevelSecurity(table) for table in ("chatbot_conversation", "chatbot_message")]
