"""DRF authentication by personal API token: ``Authorization: Bearer nmb_<prefix>_<secret>``."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

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


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token scheme in the OpenAPI document (drf-spectacular finds it by import)."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "nmb_<prefix>_<secret>"}
