"""``/graphql/`` on every host: strawberry's Django view behind the REST API's own authentication.

Credentials are checked by the classes in ``REST_FRAMEWORK
["DEFAULT_AUTHENTICATION_CLASSES"]`` (API tokens, JWT, the session), run
before strawberry sees the request, so a credential means the same thing here
as on ``/api/v1/``. The view is exempt from Django's CSRF middleware because
token clients send no cookie; the session class enforces CSRF itself on
POST, as it does for the API. No credential, or a bad one, is a 401 with a
GraphQL ``errors`` body and nothing is parsed or executed.

The GraphiQL IDE is off: strawberry's page loads its scripts from a CDN, and
Nimbus never serves front-end assets from one.
"""

from __future__ import annotations

from cross_web import HTTPException
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.settings import api_settings
from strawberry.django.views import GraphQLView

from .errors import FORBIDDEN, UNAUTHENTICATED
from .schema import schema

CHALLENGE = 'Bearer realm="api"'
# Codes for strawberry's own refusals of a request it cannot run.
HTTP_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def _message(detail) -> str:
    # simplejwt's refusals carry a dict (detail, code, messages); the others a string.
    if isinstance(detail, dict):
        return str(detail.get("detail", "The credentials are not valid."))
    return str(detail)


class _BodyLeftUnread(BaseParser):
    """Stands in for DRF's parsers while the credentials are checked.

    DRF's session authentication runs Django's CSRF check, which looks at the
    request's form data; through a real parser that would read (and use up)
    the body strawberry still has to parse. A GraphQL client sends the token
    in the ``X-CSRFToken`` header.
    """

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


def _refusal(status: int, message: str, code: str, *, headers: dict[str, str] | None = None) -> JsonResponse:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    response = JsonResponse(body, status=status, headers=headers)
    response["Cache-Control"] = "no-store"
    return response


# Django's middleware check is replaced, not dropped: the view authenticates with DRF's classes, whose session
# authentication enforces CSRF for cookie-authenticated requests (tokens and JWTs need none).
@method_decorator(csrf_exempt, name="dispatch")
class NimbusGraphQLView(GraphQLView):
    graphql_ide = None
    allow_queries_via_get = True

    def __init__(self, **kwargs):
        kwargs.setdefault("schema", schema())
        # Not just the class attribute: strawberry's __init__ defaults graphql_ide to "graphiql" and overrides it.
        kwargs["graphql_ide"] = None
        super().__init__(**kwargs)

    def dispatch(self, request, *args, **kwargs):
        authenticators = [auth() for auth in api_settings.DEFAULT_AUTHENTICATION_CLASSES]
        api_request = Request(request, parsers=[_BodyLeftUnread()], authenticators=authenticators)
        try:
            user = api_request.user
        except (exceptions.AuthenticationFailed, exceptions.NotAuthenticated) as failed:  # a bad or revoked token
            return _refusal(401, _message(failed.detail), UNAUTHENTICATED, headers={"WWW-Authenticate": CHALLENGE})
        except exceptions.PermissionDenied as refused:  # a session POST without a valid CSRF token
            return _refusal(403, _message(refused.detail), FORBIDDEN)
        except exceptions.APIException as other:  # anything else an authenticator refuses with: its own status
            return _refusal(other.status_code, _message(other.detail), HTTP_CODES.get(other.status_code, "BAD_REQUEST"))
        if user is None or not user.is_authenticated:
            return _refusal(
                401,
                "Authentication credentials were not provided.",
                UNAUTHENTICATED,
                headers={"WWW-Authenticate": CHALLENGE},
            )
        request.user = user  # resolvers and the audit middleware see the API credential's user
        try:
            response = self.run(request=request)
        except HTTPException as refused:  # strawberry's own refusals (bad JSON, a mutation over GET…), as JSON
            status = refused.status_code
            headers = {"Allow": "GET, POST"} if status == 405 else None
            return _refusal(status, refused.reason, HTTP_CODES.get(status, "BAD_REQUEST"), headers=headers)
        response["Cache-Control"] = "no-store"
        return response
