"""Serializers of the accounts API."""

from rest_framework import serializers

from apps.accounts.models import User
from apps.core.api.serializers import StrictModelSerializer, StrictSerializer

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


class UserSerializer(serializers.ModelSerializer):
    """A user as administrators see it. Never the password hash, nor a delegated account's home ids."""

    has_password = serializers.SerializerMethodField(
        help_text="Whether a password is set; false until an invited person accepts their invitation."
    )

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "display_name",
            "is_active",
            "is_tenant_admin",
            "is_delegated",
            "home_email",
            "has_password",
            "date_joined",
            "last_login",
        ]
        read_only_fields = fields
        ref_name = "AccountsUser"

    def get_has_password(self, user) -> bool:
        return user.has_usable_password()


class UserCreateSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    is_tenant_admin = serializers.BooleanField(required=False, default=False)
    password = serializers.CharField(
        required=False,
        write_only=True,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text="Set the first password now. Leave it out to email an invitation instead.",
    )
    invite = serializers.BooleanField(
        required=False,
        help_text="Without a password: true (the default) emails an invitation; false creates an account that "
        "cannot sign in until an invitation or password reset is sent. Not allowed together with a password.",
    )

    class Meta:
        ref_name = "AccountsUserCreate"

    def validate(self, attrs):
        if "password" in attrs and attrs.get("invite"):
            raise serializers.ValidationError({"invite": ["Set a password or send an invitation, not both."]})
        return attrs


class UserUpdateSerializer(StrictModelSerializer):
    class Meta:
        model = User
        fields = ["email", "display_name", "is_tenant_admin"]
        # Uniqueness is the service's business: it compares case-insensitively, the model validator does not.
        extra_kwargs = {"email": {"validators": []}}
        ref_name = "AccountsUserUpdate"


class NoticeSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What was done, in one sentence.")

    class Meta:
        ref_name = "AccountsNotice"


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
