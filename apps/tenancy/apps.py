"""App configuration of tenancy."""

from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "apps.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        from apps.core import navigation

        from . import checks  # noqa: F401 - registers system checks

        navigation.register(navigation.MenuItem("tenancy.home", "Home", "tenant-landing", order=0))
