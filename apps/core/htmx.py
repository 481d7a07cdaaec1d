"""HTMX helpers shared by every app's views."""

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers


def htmx_partial(request: HttpRequest) -> bool:
    """True when the request wants a fragment: an HTMX request that is not a boosted navigation."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """One URL serves page and fragment, so caches must key on HX-Request."""
    patch_vary_headers(response, ("HX-Request",))
    return response
