"""SAML 2.0 SP-initiated sign-in (Redirect AuthnRequest, POST response). Being built (issue 6)."""

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from .signin import Reason, SsoRefused, refusal_response


def start(request, provider, *, next_url: str = "") -> HttpResponse:
    return refusal_response(request, SsoRefused(Reason.IDP_UNREACHABLE, provider=provider), status=501)


@csrf_exempt  # the IdP posts here from its own site; the signed assertion is the proof, not a CSRF token
def acs(request, slug: str) -> HttpResponse:
    return refusal_response(request, SsoRefused(Reason.INVALID_RESPONSE), status=501)
