"""What django-axes asks Nimbus when it counts failed sign-ins: whose, from where, and what to answer.

axes records failures in the current schema (it is installed per tenant), per
account and per address. The answer to a locked-out sign-in is the same for
an email that exists and one that does not, so it reveals nothing.
"""

from __future__ import annotations

import ipaddress
import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from apps.core.api.problems import is_api_request, problem_response

USERNAME_KEYS = ("username", "email")  # the sign-in form's field, the JWT endpoint's


def _first_username(source) -> str | None:
    if not hasattr(source, "get"):
        return None
    for key in USERNAME_KEYS:
        value = source.get(key)
        if isinstance(value, str) and value.strip():
            # axes stores at most 255 characters; emails compare case-insensitively here.
            return value.strip().lower()[:255]
    return None


def attempted_username(request, credentials: dict | None = None) -> str | None:
    """AXES_USERNAME_CALLABLE: the email a sign-in attempt named, lower-cased."""
    found = _first_username(credentials or {})
    if found is None and request is not None:
        try:
            posted = getattr(request, "data", None) or request.POST  # DRF's parsed body, or the form
        except Exception:  # noqa: BLE001 - a body that does not parse names no one
            posted = {}
        found = _first_username(posted)
    return found


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the peer's address; behind the TLS proxy, the address the proxy saw.

    The proxy appends the address it saw to X-Forwarded-For, so the right-most
    entry is the only one a client cannot forge (anything left of it came from
    the client). Only trusted when NIMBUS_BEHIND_TLS_PROXY says the app is
    reached through exactly one proxy.
    """
    if settings.NIMBUS_TRUST_X_FORWARDED_FOR:
        hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops and (address := _valid_ip(hops[-1])):
            return address
    return _valid_ip(request.META.get("REMOTE_ADDR", "")) or None


def lockout_message() -> str:
    cool_off = get_cool_off()
    if cool_off is None:
        return "Too many failed sign-ins. Ask an administrator to unlock the account."
    minutes = max(1, math.ceil(cool_off.total_seconds() / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed sign-ins. Try again in {minutes} {unit} or ask an administrator to unlock the account."


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: 429 with the sign-in page again, or a problem document on the API."""
    from .forms import SignInForm  # forms import the auth machinery; keep this module light for settings

    cool_off = get_cool_off()
    headers = {"Retry-After": str(int(cool_off.total_seconds()))} if cool_off else {}
    message = lockout_message()
    if is_api_request(request):
        return problem_response(429, message, code="locked_out", headers=headers)
    # axes' async middleware passes its arguments shifted by one: only trust a dict as credentials.
    username = attempted_username(request, credentials if isinstance(credentials, dict) else None)
    form = SignInForm(request, initial={"username": username or ""})
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = ""
    # Locked out while trying a password: the password form stays, so the message has somewhere to show.
    context = {"form": form, "lockout_message": message, "next": next_url, "show_password_form": True}
    response = render(request, "accounts/sign_in.html", context, status=429)
    for name, value in headers.items():
        response[name] = value
    return response
