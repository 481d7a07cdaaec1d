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
