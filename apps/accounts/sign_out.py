"""Where signing out sends a person next, supplied by apps above accounts (single logout at an IdP).

Accounts owns the sign-out view but must not import identity. An app that
can end the person's session elsewhere too (identity's SAML single logout)
registers a function here from its AppConfig.ready; the view asks every
registered function *before* the session ends and, after ending it, follows
the first URL given. The person is signed out of Nimbus whatever a source says.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest

RedirectSource = Callable[[HttpRequest], "str | None"]
_sources: list[RedirectSource] = []


def register(source: RedirectSource) -> None:
    """Add a source of sign-out redirects (idempotent: an app's ready() may run twice in tests)."""
    if source not in _sources:
        _sources.append(source)


def redirect_for(request: HttpRequest) -> str | None:
    """The first URL a registered source wants the person sent to after signing out, or None."""
    for source in _sources:
        url = source(request)
        if url:
            return url
    return None
