"""OpenID Connect sign-in (authorization code + PKCE) against the tenant's own IdP. Being built (issue 6)."""

from django.http import HttpResponse

from .signin import Reason, SsoRefused, refusal_response


def start(request, provider, *, next_url: str = "") -> HttpResponse:
    return refusal_response(request, SsoRefused(Reason.IDP_UNREACHABLE, provider=provider), status=501)


def callback(request) -> HttpResponse:
    return refusal_response(request, SsoRefused(Reason.INVALID_RESPONSE), status=501)
