from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        # The PII analyzer is not built here, or migrations, tests and every management command would wait
        # for it: it is built on first use, or by routing.pii.warm_up() in gunicorn's post_worker_init.
        from routing import checks  # noqa: F401
