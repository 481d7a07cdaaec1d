"""Serializers of the accounts API."""

from rest_framework import serializers

from apps.core.api.serializers import StrictSerializer

# Far above any real token or password, far below what would make hashing or decoding one expensive.
MAX_CREDENTIAL_LENGTH = 4096


class MeSerializer(serializers.Serializer):
    """The signed-in user. Declared field by field: a ModelSerializer would rebuild its fields on every request."""

    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    is_tenant_admin = serializers.BooleanField(read_only=True)
    tenant = serializers.SerializerMethodField()

    class Meta:
        ref_name = "AccountsMe"

    def get_tenant(self, user) -> str:
        return self.context["request"].tenant.slug


class MeUpdateSerializer(StrictSerializer):
    """What a person may change about themselves through the API."""

    display_name = serializers.CharField(max_length=150, allow_blank=True, trim_whitespace=True)

    class Meta:
        ref_name = "AccountsMeUpdate"


class TokenObtainSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        max_length=MAX_CREDENTIAL_LENGTH, trim_whitespace=False, write_only=True, style={"input_type": "password"}
    )

    class Meta:
        ref_name = "AccountsTokenObtain"


class RefreshTokenSerializer(StrictSerializer):
    refresh = serializers.CharField(max_length=MAX_CREDENTIAL_LENGTH, help_text="A refresh token.")

    class Meta:
        ref_name = "AccountsRefreshToken"


class TokenPairSerializer(serializers.Serializer):
    """A new pair: present ``access`` as ``Authorization: Bearer …``; exchange ``refresh`` for the next pair."""

    access = serializers.CharField(read_only=True, help_text="JWT access token, valid for minutes.")
    refresh = serializers.CharField(read_only=True, help_text="JWT refresh token: one use, valid for a day.")

    class Meta:
        ref_name = "AccountsTokenPair"
