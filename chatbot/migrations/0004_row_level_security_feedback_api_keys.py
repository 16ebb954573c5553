from django.db import migrations

from tenancy.rls import EnableTenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [("chatbot", "0003_feedback_api_keys_message_status")]

    operations = [EnableTenantRowLevelSecurity(table) for table in ("chatbot_feedback", "chatbot_apikey")]
