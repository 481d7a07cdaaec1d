"""App configuration of audit: the tamper-evident record of what happened in each schema."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit"

    def ready(self) -> None:
        from . import model_changes

        model_changes.connect()
        self._register_navigation()

    @staticmethod
    def _register_navigation() -> None:
        """An "Audit" entry in the main menu, on tenant hosts and on the provider host (its own stream)."""
        from apps.core import navigation
        from apps.core.authorization import can

        navigation.register(
            navigation.MenuItem(
                "audit",
                "Audit",
                "audit:explorer",
                hosts=(navigation.TENANT, navigation.PROVIDER),
                order=97,
                visible=lambda request: can(request, "audit:event:view"),
            )
        )
