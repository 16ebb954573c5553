from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from audit.signals import record_login_failure

        user_login_failed.connect(record_login_failure, dispatch_uid="audit_login_failed")
