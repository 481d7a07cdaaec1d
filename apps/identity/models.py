"""Per-tenant identity-provider configuration (one schema per tenant, so one tenant's IdPs never reach another)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from apps.core.crypto import EncryptedTextField

DEFAULT_SCOPES = "openid email profile"


class ProviderKind(models.TextChoices):
    OIDC = "oidc", "OpenID Connect"
    SAML = "saml", "SAML 2.0"


class IdentityProvider(models.Model):
    """An identity provider the tenant's people sign in with: OIDC (issuer + client) or SAML (IdP metadata).

    Secrets (the OIDC client secret, the SP private key) are encrypted at rest
    and never leave through the pages or the API. The OIDC endpoints are the
    discovery document's, cached when the provider is saved; the SAML IdP
    fields are those read from its metadata. Nimbus's SP key pair and
    certificate are generated per provider when it is created.
    """

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=8, choices=ProviderKind.choices)
    enabled = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    link_by_email = models.BooleanField(
        default=False, help_text="Sign in an existing local user whose email the IdP reports as verified."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # OIDC
    issuer = models.URLField(max_length=500, blank=True)
    client_id = models.CharField(max_length=255, blank=True)
    client_secret = EncryptedTextField(blank=True)
    scopes = models.CharField(max_length=255, blank=True, default=DEFAULT_SCOPES)
    authorization_endpoint = models.URLField(max_length=500, blank=True)
    token_endpoint = models.URLField(max_length=500, blank=True)
    jwks_uri = models.URLField(max_length=500, blank=True)
    userinfo_endpoint = models.URLField(max_length=500, blank=True)
    discovery_fetched_at = models.DateTimeField(null=True, blank=True)

    # SAML: the IdP (from its metadata, by URL or uploaded) and Nimbus's own SP key pair.
    metadata_url = models.URLField(max_length=500, blank=True)
    metadata_xml = models.TextField(blank=True)
    idp_entity_id = models.CharField(max_length=500, blank=True)
    idp_sso_url = models.URLField(max_length=500, blank=True)
    idp_signing_certificate = models.TextField(blank=True, help_text="PEM")
    idp_slo_url = models.URLField(
        max_length=500, blank=True, help_text="The IdP's single logout service (HTTP-Redirect), from its metadata."
    )
    metadata_fetched_at = models.DateTimeField(null=True, blank=True)
    sp_certificate = models.TextField(blank=True, help_text="PEM, self-signed by Nimbus")
    sp_private_key = EncryptedTextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="identity_one_default"),
            models.CheckConstraint(condition=Q(kind__in=["oidc", "saml"]), name="identity_provider_kind"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def want_assertions_signed(self) -> bool:
        """Always: Nimbus never accepts an unsigned SAML assertion."""
        return True


class IdentitySettings(models.Model):
    """The tenant's sign-in settings for SSO: one row per schema (pk 1).

    ``sso_only`` hides the password form from the sign-in page once sign-in
    through an IdP exists (next step); tenant admins keep a break-glass
    password sign-in. It lives here, not on accounts' AccountPolicy, because
    only identity knows whether an enabled provider makes it safe to turn on.
    """

    sso_only = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "identity settings"

    def __str__(self) -> str:
        return "Identity settings"


class ScimToken(models.Model):
    """A bearer token the tenant's IdP presents to its SCIM endpoints: shown once, stored as a SHA-256 digest.

    The token reads ``scim_<prefix>_<secret>``. The prefix finds the row and
    names it in lists; only the secret's digest is kept. Tokens live in the
    tenant's schema, so one is meaningless on another tenant's host. A token
    belongs to the tenant, not to a person: ``created_by`` only says who made
    it, and it keeps working when that person leaves.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (scim_{self.prefix}_…)"

    def is_usable(self, now) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class IdentityLink(models.Model):
    """The Nimbus user an IdP's subject signs in as: the stable pair (provider, subject / NameID).

    Made when an SSO sign-in first resolves to a user (by a verified email where
    the provider allows it, or by the just-in-time hook); every later sign-in
    finds the user through it, whatever the IdP then says the email is.
    """

    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="links")
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identity_links")
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["provider", "subject"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="identity_link_subject_once"),
            models.UniqueConstraint(fields=["provider", "user"], name="identity_link_user_once_per_provider"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_id}:{self.subject}"


class MappingOperator(models.TextChoices):
    HAS_VALUE = "has_value", "has the value"
    HAS_VALUE_STARTING = "starts_with", "has a value starting with"
    IS_PRESENT = "present", "is present"


class ClaimMapping(models.Model):
    """A rule of one provider: when a claim (OIDC) or attribute (SAML) matches, grant a group or a role.

    Applied at every sign-in through the provider: what a rule granted and no
    longer matches is taken away again (``MappingGrant`` remembers what rules
    granted, so grants made by hand are never touched).
    """

    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="mappings")
    claim = models.CharField(max_length=200, help_text="Claim or attribute name, e.g. 'groups'.")
    operator = models.CharField(max_length=16, choices=MappingOperator.choices, default=MappingOperator.HAS_VALUE)
    value = models.CharField(max_length=500, blank=True)
    group = models.ForeignKey("access.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    role = models.ForeignKey("access.Role", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["provider", "claim", "value", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(group__isnull=False, role__isnull=True) | Q(group__isnull=True, role__isnull=False),
                name="identity_mapping_one_target",
            ),
        ]

    def __str__(self) -> str:
        target = f"group {self.group}" if self.group_id else f"role {self.role}"
        return f"{self.claim} {self.get_operator_display()} {self.value!r} → {target}"


class MappingGrant(models.Model):
    """A group membership or tenant-wide role assignment that a provider's mappings gave a user."""

    provider = models.ForeignKey(IdentityProvider, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("access.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    role = models.ForeignKey("access.Role", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(group__isnull=False, role__isnull=True) | Q(group__isnull=True, role__isnull=False),
                name="identity_grant_one_target",
            ),
            models.UniqueConstraint(
                fields=["provider", "user", "group"], condition=Q(group__isnull=False), name="identity_grant_group_once"
            ),
            models.UniqueConstraint(
                fields=["provider", "user", "role"], condition=Q(role__isnull=False), name="identity_grant_role_once"
            ),
        ]

    def __str__(self) -> str:
        target = f"group {self.group_id}" if self.group_id else f"role {self.role_id}"
        return f"{self.provider_id} → user {self.user_id}: {target}"


class ScimUser(models.Model):
    """What SCIM knows about a Nimbus user that accounts does not: its SCIM id, userName, externalId and name parts.

    Only users with such a row are seen and changed through SCIM: the tenant's
    local accounts (its break-glass administrators among them) and delegated
    accounts are out of the IdP's reach. ``user_name`` is unique ignoring case
    (RFC 7643 §4.1.1 says userName is case-insensitive); the functional index
    on ``UPPER(user_name)`` serves ``userName eq`` filters.
    """

    scim_id = models.UUIDField(unique=True, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scim")
    user_name = models.CharField(max_length=254)
    external_id = models.CharField(max_length=254, blank=True)
    given_name = models.CharField(max_length=150, blank=True)
    family_name = models.CharField(max_length=150, blank=True)
    formatted_name = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(Upper("user_name"), name="identity_scimuser_user_name_ci_unique")]

    def __str__(self) -> str:
        return self.user_name


class ScimGroup(models.Model):
    """An access group created through SCIM, with its SCIM id and externalId; only these groups are SCIM's to change."""

    scim_id = models.UUIDField(unique=True, editable=False)
    group = models.OneToOneField("access.Group", on_delete=models.CASCADE, related_name="scim")
    external_id = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"SCIM group {self.scim_id}"
