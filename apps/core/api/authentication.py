"""Session authentication for the API, with a CSRF refusal that says what to send."""

from drf_spectacular.authentication import SessionScheme as SpectacularSessionScheme
from rest_framework import authentication, exceptions


class CsrfFailed(exceptions.PermissionDenied):
    default_code = "csrf_failed"


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication (CSRF enforced on writes); a failed CSRF check is a 403 naming CSRF."""

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as denied:
            reason = str(denied.detail).removeprefix("CSRF Failed: ").rstrip(".")
            raise CsrfFailed(
                f"CSRF check failed ({reason}). A write signed in by the browser session must send the "
                "X-CSRFToken header with the csrftoken cookie's value; other clients should use a token instead."
            ) from None


class SessionScheme(SpectacularSessionScheme):
    """drf-spectacular's description of cookie sessions, for this subclass (its own matches the exact class only)."""

    target_class = SessionAuthentication
