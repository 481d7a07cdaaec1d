"""App configuration of access: collects every app's permissions at start-up; keeps system roles in step."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_system_roles(sender, using, **kwargs) -> None:
    # Runs once per schema that django-tenants migrates (the template too, so clones start with the roles).
    from django.db import connections

    from .models import Role
    from .services import system_roles_sync

    if Role._meta.db_table in connections[using].introspection.table_names():
        system_roles_sync()


class AccessConfig(AppConfig):
    name = "apps.access"
    label = "access"
    verbose_name = "Access control"

    def ready(self) -> None:
        from apps.tenancy.provisioning import register_seeder

        from . import engine, registry, scopes, signals
        from .services import seed_system_roles

        registry.collect()
        engine.install()
        scopes.install()
        signals.connect()
        register_seeder("access.system_roles", seed_system_roles)
        post_migrate.connect(_sync_system_roles, sender=self, dispatch_uid="access.system_roles_sync")
        self._register_navigation()

    @staticmethod
    def _register_navigation() -> None:
        """An "Access" entry in the main menu, and a tab per section of the access pages, each for those it serves."""
        from apps.core import navigation
        from apps.core.authorization import can

        from .views import SECTIONS, may_open_access

        navigation.register(navigation.MenuItem("access", "Access", "access:index", order=95, visible=may_open_access))
        for order, (key, label, url_name, action) in enumerate(SECTIONS):
            navigation.register(
                navigation.MenuItem(
                    key, label, url_name, menu="access", order=order, visible=lambda request, a=action: can(request, a)
                )
            )
