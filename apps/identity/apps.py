"""App configuration of identity: each tenant's own identity providers (OIDC, SAML) for single sign-on."""

from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "apps.identity"
    label = "identity"
    verbose_name = "Identity providers"

    def ready(self) -> None:
        from apps.accounts import sign_in_options, sign_out
        from apps.audit.model_changes import track

        from . import signals  # noqa: F401 (connects the receivers)
        from .models import (
            ClaimMapping,
            IdentityLink,
            IdentityProvider,
            IdentitySettings,
            MappingGrant,
            ScimGroup,
            ScimToken,
            ScimUser,
        )
        from .saml_flow import sign_out_redirect as saml_sign_out_redirect
        from .signin import sign_in_options_source

        # Secrets never enter a diff; the uploaded metadata and certificates are long and change with their URL.
        track(
            IdentityProvider,
            exclude=["client_secret", "sp_private_key", "metadata_xml", "sp_certificate", "created_at", "updated_at"],
        )
        track(IdentitySettings, exclude=["updated_at"])
        # The digest is what a SCIM token is checked against; the prefix alone names it. last_used_at is a clock.
        track(ScimToken, exclude=["digest", "last_used_at", "created_at"])
        track(IdentityLink, exclude=["last_sign_in_at", "created_at"])
        track(ClaimMapping, exclude=["created_at"])
        track(MappingGrant, exclude=["granted_at"])
        sign_in_options.register(sign_in_options_source)
        # What the IdP provisioned (userName, externalId, name parts); the timestamps are clocks.
        track(ScimUser, exclude=["created_at", "updated_at"])
        track(ScimGroup, exclude=["created_at", "updated_at"])
        sign_out.register(saml_sign_out_redirect)
        self._register_navigation()

    @staticmethod
    def _register_navigation() -> None:
        """An "Identity" entry in the main menu of tenant hosts, for those who may see the providers."""
        from apps.core import navigation

        from .views import may_open_identity

        navigation.register(
            navigation.MenuItem("identity", "Identity", "identity:provider-list", order=96, visible=may_open_identity)
        )
