"""Audit events of accounts: sign-in, sign-out (or timeout), failed sign-ins and lockouts (receivers), and a helper
for services.

The receivers are connected when ``apps.accounts.signals`` is imported (in
``AccountsConfig.ready``). Services record their own events with
``record_user_event`` inside their transaction, so an event commits or rolls
back with the change it records.

A failed sign-in stores the attempted email as the event's resource display,
but only when it is a well-formed email address: people sometimes type their
password into the email field, and that must not end up in the log. The
credentials themselves are never stored.
"""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.dispatch import receiver

from apps.audit.models import Outcome
from apps.audit.recorder import record

from .middleware import TIMEOUT_REASON
from .models import User

USER_RESOURCE = "accounts:user"
NOT_AN_EMAIL = "[not an email address]"


def record_user_event(action: str, *, actor, user: User, changes: dict | None = None, metadata: dict | None = None):
    """Record ``actor`` doing ``action`` to the account ``user`` (call it inside the service's transaction)."""
    return record(
        action,
        actor=actor,
        resource_type=USER_RESOURCE,
        resource_id=user.pk,
        resource_display=user.email,
        changes=changes,
        metadata=metadata,
    )


def _django_request(request):
    """The Django request under a DRF one (asking DRF's for its user would authenticate again)."""
    return getattr(request, "_request", request)


def _attempted_email(credentials) -> str:
    value = ""
    if hasattr(credentials, "get"):
        value = credentials.get("username") or credentials.get("email") or ""
    value = str(value).strip().lower()[:254]
    if not value:
        return ""
    try:
        validate_email(value)
    except ValidationError:
        return NOT_AN_EMAIL
    return value


def _failed_sign_in(action: str, request, email: str, metadata: dict | None = None) -> None:
    user_id = ""
    if email and email != NOT_AN_EMAIL:
        user_id = User.objects.filter(email__iexact=email).values_list("pk", flat=True).first() or ""
    record(
        action,
        actor=AnonymousUser(),  # nobody is signed in; never ask the request, which may be mid-authentication
        request=_django_request(request) if request is not None else None,
        resource_type=USER_RESOURCE,
        resource_id=user_id,
        resource_display=email,
        outcome=Outcome.DENIED,
        metadata=metadata,
    )


def record_password_refused_sso_only(request, user) -> None:
    """A right password refused because the tenant signs in only through its IdPs (and ``user`` is no admin)."""
    _failed_sign_in("accounts:session:login_failed", request, user.email, metadata={"reason": "sso_only"})


@receiver(user_logged_in, dispatch_uid="accounts.audit.login")
def audit_login(sender, request, user, **kwargs):
    record(
        "accounts:session:login",
        actor=user,
        request=_django_request(request) if request is not None else None,
        resource_type=USER_RESOURCE,
        resource_id=user.pk,
        resource_display=user.email,
    )


@receiver(user_logged_out, dispatch_uid="accounts.audit.logout")
def audit_logout(sender, request, user, **kwargs):
    if user is None or not getattr(user, "is_authenticated", False):
        return  # signing out without being signed in changes nothing
    timeout = getattr(request, TIMEOUT_REASON, None) if request is not None else None
    record(
        "accounts:session:timeout" if timeout else "accounts:session:logout",
        actor=user,
        request=_django_request(request) if request is not None else None,
        resource_type=USER_RESOURCE,
        resource_id=user.pk,
        resource_display=user.email,
        metadata={"reason": timeout} if timeout else None,
    )


@receiver(user_login_failed, dispatch_uid="accounts.audit.login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs):
    _failed_sign_in("accounts:session:login_failed", request, _attempted_email(credentials))


@receiver(user_locked_out, dispatch_uid="accounts.audit.locked_out")
def audit_locked_out(sender, request, username=None, ip_address=None, **kwargs):
    _failed_sign_in("accounts:session:locked_out", request, _attempted_email({"username": username or ""}))
