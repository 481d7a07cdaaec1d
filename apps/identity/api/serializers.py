"""Identity API serializers. Secrets are write-only: no response ever carries a client secret or a private key."""

from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from apps.access.models import Group, Role
from apps.core.api.serializers import StrictSerializer
from apps.identity.models import (
    DEFAULT_SCOPES,
    ClaimMapping,
    IdentityProvider,
    MappingOperator,
    ProviderKind,
    ScimToken,
)


class IdentityProviderSerializer(serializers.ModelSerializer):
    client_secret_set = serializers.SerializerMethodField(help_text="Whether a client secret is stored (OIDC).")
    sp_metadata_url = serializers.SerializerMethodField(help_text="Nimbus's SP metadata for this provider (SAML).")
    want_assertions_signed = serializers.BooleanField(read_only=True)

    class Meta:
        model = IdentityProvider
        ref_name = "IdentityProvider"
        fields = [
            "id",
            "name",
            "slug",
            "kind",
            "enabled",
            "is_default",
            "link_by_email",
            "created_at",
            "updated_at",
            "issuer",
            "client_id",
            "client_secret_set",
            "scopes",
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "userinfo_endpoint",
            "discovery_fetched_at",
            "metadata_url",
            "idp_entity_id",
            "idp_sso_url",
            "idp_slo_url",
            "metadata_fetched_at",
            "sp_metadata_url",
            "sp_certificate",
            "want_assertions_signed",
        ]
        read_only_fields = fields

    def get_client_secret_set(self, provider) -> bool:
        return bool(provider.client_secret)

    def get_sp_metadata_url(self, provider) -> str | None:
        if provider.kind != ProviderKind.SAML:
            return None
        path = reverse("identity:saml-metadata", args=[provider.slug])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class IdentityProviderCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=ProviderKind.choices)
    name = serializers.CharField(max_length=100)
    slug = serializers.SlugField(max_length=50)
    enabled = serializers.BooleanField(default=True)
    is_default = serializers.BooleanField(default=False)
    link_by_email = serializers.BooleanField(default=False)
    issuer = serializers.CharField(max_length=500, required=False, default="", help_text="OIDC only.")
    client_id = serializers.CharField(max_length=255, required=False, default="", help_text="OIDC only.")
    client_secret = serializers.CharField(
        required=False, default="", write_only=True, trim_whitespace=False, help_text="OIDC only; never returned."
    )
    scopes = serializers.CharField(max_length=255, required=False, default=DEFAULT_SCOPES, help_text="OIDC only.")
    metadata_url = serializers.CharField(max_length=500, required=False, default="", help_text="SAML only.")
    metadata_xml = serializers.CharField(
        required=False, default="", max_length=1_000_000, trim_whitespace=False, help_text="SAML only."
    )

    class Meta:
        ref_name = "IdentityProviderCreate"

    def validate(self, data):
        oidc_only, saml_only = ("issuer", "client_id", "client_secret"), ("metadata_url", "metadata_xml")
        wrong = [f for f in (saml_only if data["kind"] == ProviderKind.OIDC else oidc_only) if data.get(f)]
        if wrong:
            raise serializers.ValidationError({f: [f"Not used by a {data['kind']} provider."] for f in wrong})
        return data


class IdentityProviderUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100, required=False)
    link_by_email = serializers.BooleanField(required=False)
    issuer = serializers.CharField(max_length=500, required=False, help_text="OIDC only; discovery is read again.")
    client_id = serializers.CharField(max_length=255, required=False)
    client_secret = serializers.CharField(
        required=False, write_only=True, trim_whitespace=False, help_text="OIDC only; never returned."
    )
    scopes = serializers.CharField(max_length=255, required=False)
    metadata_url = serializers.CharField(max_length=500, required=False, allow_blank=True)
    metadata_xml = serializers.CharField(required=False, max_length=1_000_000, trim_whitespace=False)
    refresh = serializers.BooleanField(
        required=False, default=False, help_text="Read the discovery document or the metadata URL again."
    )

    class Meta:
        ref_name = "IdentityProviderUpdate"


class ScimTokenSerializer(serializers.ModelSerializer):
    """A SCIM token as lists show it: its prefix and dates, never the token nor its digest."""

    created_by = serializers.SerializerMethodField(help_text="Email of who created it (null once they are gone).")
    active = serializers.SerializerMethodField(help_text="Neither revoked nor expired.")

    class Meta:
        model = ScimToken
        ref_name = "ScimToken"
        fields = [
            "id",
            "name",
            "prefix",
            "created_by",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
            "active",
        ]
        read_only_fields = fields

    def get_created_by(self, token) -> str | None:
        return token.created_by.email if token.created_by else None

    def get_active(self, token) -> bool:
        return token.is_usable(timezone.now())


class ScimTokenCreatedSerializer(ScimTokenSerializer):
    token = serializers.CharField(
        read_only=True, help_text="The bearer token. Shown in this response only, never again."
    )

    class Meta(ScimTokenSerializer.Meta):
        ref_name = "ScimTokenCreated"
        fields = [*ScimTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class ScimTokenCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    expires_in_days = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Omit or null for a token that never expires."
    )


class ClaimMappingSerializer(serializers.ModelSerializer):
    group_name = serializers.CharField(source="group.name", read_only=True, default=None)
    role_name = serializers.CharField(source="role.name", read_only=True, default=None)

    class Meta:
        model = ClaimMapping
        ref_name = "ClaimMapping"
        fields = ["id", "claim", "operator", "value", "group", "group_name", "role", "role_name", "created_at"]
        read_only_fields = fields


class ClaimMappingCreateSerializer(StrictSerializer):
    claim = serializers.CharField(max_length=200, help_text="OIDC claim or SAML attribute name, e.g. 'groups'.")
    operator = serializers.ChoiceField(choices=MappingOperator.choices, default=MappingOperator.HAS_VALUE)
    value = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    group = serializers.PrimaryKeyRelatedField(queryset=Group.objects.all(), required=False, allow_null=True)
    role = serializers.PrimaryKeyRelatedField(queryset=Role.objects.all(), required=False, allow_null=True)


class MappingPreviewRequestSerializer(StrictSerializer):
    claims = serializers.DictField(help_text="A sample token's claims (or SAML attributes), as name → value(s).")


class _NamedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MappingPreviewSerializer(serializers.Serializer):
    groups = _NamedSerializer(many=True, help_text="Groups the sample would be a member of through the rules.")
    roles = _NamedSerializer(many=True, help_text="Roles the sample would hold over the tenant through the rules.")
    matched = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the rules that match.")
