"""App configuration of audit: the tamper-evident record of what happened in each schema."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from . import model_changes

        model_changes.connect()
