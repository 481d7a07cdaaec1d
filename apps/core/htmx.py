"""HTMX helpers shared by every app's views."""

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers


def htmx_partial(request: HttpRequest) -> bool:
    """True when the request wants a fragment: an HTMX request that is not a boosted navigation.

    Nor a history restore: going back to a page htmx did not keep (fragments say
    ``hx-history="false"``), htmx fetches the URL again and swaps the answer in
    as the whole page, so it must get the whole page.
    """
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    """One URL serves page and fragment, so caches must key on HX-Request."""
    patch_vary_headers(response, ("HX-Request",))
    return response
