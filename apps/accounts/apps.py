"""App configuration of accounts."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from apps.core import navigation
        from apps.tenancy.provisioning import register_seeder

        from . import signals  # noqa: F401 - connects the session record receivers
        from .services import seed_first_admin

        register_seeder("accounts.first_admin", seed_first_admin)
        navigation.register(
            navigation.MenuItem(
                "accounts.password",
                "Change password",
                "accounts:password-change",
                menu="user",
                hosts=(navigation.TENANT, navigation.PROVIDER),
            )
        )
        navigation.register(
            navigation.MenuItem(
                "accounts.api_tokens",
                "API tokens",
                "accounts:api-tokens",
                menu="user",
                hosts=(navigation.TENANT, navigation.PROVIDER),
                order=110,
            )
        )
        navigation.register(
            navigation.MenuItem(
                "accounts.sessions",
                "Signed-in sessions",
                "accounts:sessions",
                menu="user",
                hosts=(navigation.TENANT, navigation.PROVIDER),
                order=120,
            )
        )
