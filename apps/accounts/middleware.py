"""Session limits from the tenant's account policy: idle and absolute timeouts, and password expiry.

Both run after authentication and messages. Timestamps are kept in the
session itself (epoch seconds), so checking them costs no query; the policy
comes from its cache. The last-seen time is written at most once a minute,
so an active session is not saved on every request.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import Resolver404, resolve, reverse
from django_htmx.http import HttpResponseClientRedirect

from apps.core.api.problems import is_api_request, problem_response

from .selectors import account_policy, password_expired

SIGNED_IN_AT = "accounts.signed_in_at"
LAST_SEEN_AT = "accounts.last_seen_at"
# Set by whoever signs a session in with a shorter life than the policy's (delegated access): seconds from sign-in.
MAX_AGE_SECONDS = "accounts.max_age_seconds"
LAST_SEEN_RESOLUTION = 60
# Set on the request while a timeout signs it out, so the sign-out's audit event says why (``audit.audit_logout``).
TIMEOUT_REASON = "_accounts_session_timeout"


def session_started(session) -> None:
    """Start the clocks of a session that has just been signed in."""
    now = int(time.time())
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN_AT] = now


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def request_policy(request: HttpRequest):
    """The schema's account policy, read once per request however many middleware ask."""
    if not hasattr(request, "_account_policy"):
        request._account_policy = account_policy()
    return request._account_policy


def _url(request: HttpRequest, name: str) -> str:
    # Middleware runs before Django installs the host's URL conf (provider or tenant) for the thread.
    return reverse(name, urlconf=getattr(request, "urlconf", None))


def _client_redirect(request: HttpRequest, response):
    # An htmx request would swap the target page into a fragment; make the browser navigate instead.
    if request.headers.get("HX-Request") == "true":
        return HttpResponseClientRedirect(response["Location"])
    return response


class SessionTimeoutMiddleware:
    """Sign out a session idle longer than the policy allows, or older than its maximum length."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.user.is_authenticated:
            ended = self.check(request)
            if ended is not None:
                return ended
        return self.get_response(request)

    def check(self, request: HttpRequest):
        session = request.session
        now = int(time.time())
        signed_in_at, last_seen_at = session.get(SIGNED_IN_AT), session.get(LAST_SEEN_AT)
        if not isinstance(signed_in_at, int | float) or not isinstance(last_seen_at, int | float):
            # A session signed in before these clocks existed: they start now rather than ending it.
            session_started(session)
            return None
        policy = request_policy(request)
        idle_limit = policy.session_idle_minutes * 60
        absolute_limit = policy.session_absolute_hours * 3600
        cap = session.get(MAX_AGE_SECONDS)
        if isinstance(cap, int) and cap > 0:
            absolute_limit = min(absolute_limit, cap)
        if now - last_seen_at > idle_limit:
            kind, reason = "idle", f"You were signed out after {policy.session_idle_minutes} minutes without activity."
        elif now - signed_in_at > absolute_limit:
            kind = "max_age"
            reason = (
                f"You were signed out because your session reached its maximum length of {_duration(absolute_limit)}."
            )
        else:
            if now - last_seen_at >= LAST_SEEN_RESOLUTION:
                session[LAST_SEEN_AT] = now
            return None
        return self.sign_out(request, reason, kind=kind)

    @staticmethod
    def sign_out(request: HttpRequest, reason: str, *, kind: str = "idle"):
        path = request.get_full_path()
        setattr(request, TIMEOUT_REASON, kind)
        # Ends the session; the user_logged_out receivers forget its UserSession row and record the timeout,
        # all in one transaction.
        with transaction.atomic():
            logout(request)
        if is_api_request(request):
            if request.META.get("HTTP_AUTHORIZATION"):
                return None  # the request carries its own credential: let the API judge that one
            challenge = {"WWW-Authenticate": 'Bearer realm="api"'}
            return problem_response(401, f"{reason} Sign in again.", code="session_expired", headers=challenge)
        messages.info(request, reason)
        return _client_redirect(request, redirect_to_login(path, login_url=_url(request, "accounts:sign-in")))


class PasswordExpiryMiddleware:
    """Send a signed-in user whose password is older than the policy's maximum age to the change-password page."""

    # Pages that stay open with an expired password: changing it, and leaving.
    ALLOWED_VIEWS = frozenset(
        {
            "accounts:password-change",
            "accounts:password-change-done",
            "accounts:sign-out",
            "accounts:sign-in",
            "admin:logout",
        }
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = request.user
        if user.is_authenticated and password_expired(user, request_policy(request)) and not self.allowed(request):
            return self.refuse(request)
        return self.get_response(request)

    def allowed(self, request: HttpRequest) -> bool:
        if is_api_request(request) and request.META.get("HTTP_AUTHORIZATION"):
            return True  # API tokens are credentials of their own, with their own expiry
        if settings.STATIC_URL and request.path_info.startswith(settings.STATIC_URL):
            return True
        try:
            match = resolve(request.path_info, urlconf=getattr(request, "urlconf", None))
        except Resolver404:
            return False
        return match.view_name in self.ALLOWED_VIEWS

    @staticmethod
    def refuse(request: HttpRequest):
        days = request_policy(request).password_max_age_days
        if is_api_request(request):
            return problem_response(
                403,
                f"Your password is more than {days} days old; change it at /account/password/ to continue.",
                code="password_expired",
            )
        messages.warning(
            request, f"Your password is more than {days} days old, the most this tenant allows. Choose a new one."
        )
        return _client_redirect(request, HttpResponseRedirect(_url(request, "accounts:password-change")))
