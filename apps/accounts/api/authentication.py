"""DRF authentication of the API: personal API tokens (``Bearer nmb_…``) and JWT access tokens (any other Bearer).

Both read only the host's tenant schema, so a credential of one tenant is a
401 on every other tenant's host.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework_simplejwt import authentication as simplejwt
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from apps.accounts.jwt import AccessToken
from apps.accounts.models import User
from apps.accounts.selectors import user_for_authentication
from apps.accounts.services import TOKEN_PREFIX, api_token_authenticate


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _, credential = header.partition(" ")
        if scheme != self.keyword or not credential.startswith(TOKEN_PREFIX):
            return None  # not ours: let the next authentication class look
        user = api_token_authenticate(credential.strip())
        if user is None:
            raise exceptions.AuthenticationFailed("The API token is invalid, expired or revoked.")
        return user, None

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


JWT_REFUSED = "The access token is invalid, expired or revoked."


class JWTAuthentication(simplejwt.JWTAuthentication):
    """simplejwt's header handling; Nimbus's access tokens; one generic 401 for every refusal.

    Refused: a token that is malformed, badly signed, expired or issued for
    another tenant (``apps.accounts.jwt``), one whose user is gone or disabled,
    and one issued before the user's ``tokens_valid_after`` (set when the
    password changes or the user signs out everywhere).
    """

    def get_validated_token(self, raw_token) -> AccessToken:
        try:
            return AccessToken(raw_token)
        except TokenError:
            raise exceptions.AuthenticationFailed(JWT_REFUSED, code="token_not_valid") from None

    def get_user(self, validated_token: AccessToken) -> User:
        user_id = str(validated_token.get(jwt_settings.USER_ID_CLAIM, ""))
        user = user_for_authentication(int(user_id)) if user_id.isdigit() else None
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed(JWT_REFUSED, code="token_not_valid")
        if user.tokens_valid_after and validated_token.issued_at < user.tokens_valid_after.timestamp():
            raise exceptions.AuthenticationFailed(JWT_REFUSED, code="token_not_valid")
        return user


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token scheme in the OpenAPI document (drf-spectacular finds it by import)."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "nmb_<prefix>_<secret>"}


class JWTScheme(OpenApiAuthenticationExtension):
    """Describes JWT access tokens in the OpenAPI document."""

    target_class = JWTAuthentication
    name = "jwt"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from POST /api/v1/auth/token/ (valid for minutes; renew it with the "
            "refresh token at /api/v1/auth/token/refresh/).",
        }
