"""App configuration of access: collects every app's declared permissions when Django starts."""

from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "apps.access"
    label = "access"
    verbose_name = "Access control"

    def ready(self) -> None:
        from . import registry

        registry.collect()
