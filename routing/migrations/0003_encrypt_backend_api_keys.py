from django.db import migrations, models

from routing import credentials


def encrypt_stored_keys(apps, schema_editor) -> None:
    BackendOverride = apps.get_model("routing", "BackendOverride")
    database = schema_editor.connection.alias
    for override in BackendOverride.unscoped.using(database).exclude(api_key=""):
        override.encrypted_api_key = credentials.encrypt(override.api_key)
        override.save(using=database, update_fields=["encrypted_api_key"])


def decrypt_stored_keys(apps, schema_editor) -> None:
    BackendOverride = apps.get_model("routing", "BackendOverride")
    database = schema_editor.connection.alias
    for override in BackendOverride.unscoped.using(database).exclude(encrypted_api_key=""):
        override.api_key = credentials.decrypt(override.encrypted_api_key)
        override.save(using=database, update_fields=["api_key"])


class Migration(migrations.Migration):
    dependencies = [("routing", "0002_row_level_security")]

    operations = [
        migrations.AddField(
            model_name="backendoverride",
            name="encrypted_api_key",
            field=models.TextField(blank=True, default=""),
            preserve_default=False,
        ),
        migrations.RunPython(encrypt_stored_keys, decrypt_stored_keys),
        migrations.RemoveField(model_name="backendoverride", name="api_key"),
    ]
