"""App configuration of accounts."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from apps.core import navigation
        from apps.core.authorization import can
        from apps.tenancy.provisioning import register_seeder

        # Connect the receivers: session records, and audit events of sign-ins, sign-outs, failures and lockouts.
        from . import audit, signals  # noqa: F401
        from .services import seed_first_admin

        register_seeder("accounts.first_admin", seed_first_admin)
        from .delegation_views import may_open_sub_tenants

        navigation.register(
            navigation.MenuItem(
                "accounts.users",
                "Users",
                "users:list",
                order=90,
                visible=lambda request: can(request, "accounts:user:view"),
            )
        )
        navigation.register(
            navigation.MenuItem(
                "accounts.sub_tenants", "Sub-tenants", "accounts:sub-tenants", order=900, visible=may_open_sub_tenants
            )
        )
        account_pages = [
            ("accounts.profile", "Profile", "accounts:profile"),
            ("accounts.password", "Change password", "accounts:password-change"),
            ("accounts.api_tokens", "API tokens", "accounts:api-tokens"),
            ("accounts.sessions", "Signed-in sessions", "accounts:sessions"),
        ]
        for order, (key, label, url_name) in enumerate(account_pages, start=100):
            navigation.register(
                navigation.MenuItem(
                    key, label, url_name, menu="user", hosts=(navigation.TENANT, navigation.PROVIDER), order=order
                )
            )
        navigation.register(
            navigation.MenuItem(
                "accounts.security",
                "Security",
                "accounts:security-settings",
                hosts=(navigation.TENANT,),
                order=900,
                visible=lambda request: can(request, "accounts:policy:view"),
            )
        )
