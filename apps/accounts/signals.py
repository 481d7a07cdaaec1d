"""Receivers: session records, clocks and lockout flags follow sign-in and sign-out; delegates follow their home."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import delegation, services
from .lockout import client_ip
from .middleware import session_started
from .models import User


@receiver(user_logged_in, dispatch_uid="accounts.session_record")
def remember_session(sender, request, user, **kwargs):
    if request is not None and request.session.session_key:
        services.user_session_record(
            user=user,
            session_key=request.session.session_key,
            ip_address=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )


@receiver(user_logged_in, dispatch_uid="accounts.session_clocks")
def start_session_clocks(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        session_started(request.session)


@receiver(user_logged_in, dispatch_uid="accounts.lockout_reset")
def forget_failed_sign_ins(sender, request, user, **kwargs):
    # The account's failures only: failures from the same address against other accounts still count.
    services.user_unlock(user=user)


@receiver(user_logged_out, dispatch_uid="accounts.session_forget")
def forget_session(sender, request, user, **kwargs):
    if request is not None and request.session.session_key:
        services.user_session_forget(session_key=request.session.session_key)


# Saves that touch only these fields cannot change whether an account may delegate.
_FIELDS_IRRELEVANT_TO_DELEGATION = {
    "last_login",
    "display_name",
    "password",
    "password_changed_at",
    "tokens_valid_after",
}


@receiver(post_save, sender=User, dispatch_uid="accounts.delegates_follow_home_save")
def delegates_follow_home_account(sender, instance: User, created: bool, update_fields=None, **kwargs):
    """A home account disabled, or stripped of the right to delegate, takes its delegated accounts with it."""
    if created or instance.is_delegated:
        return
    if update_fields and set(update_fields) <= _FIELDS_IRRELEVANT_TO_DELEGATION:
        return
    if not delegation.may_delegate(instance):
        delegation.delegates_disable(home_schema=connection.schema_name, home_user_id=instance.pk)


@receiver(post_delete, sender=User, dispatch_uid="accounts.delegates_follow_home_delete")
def delegates_follow_home_deletion(sender, instance: User, **kwargs):
    if not instance.is_delegated:
        delegation.delegates_disable(home_schema=connection.schema_name, home_user_id=instance.pk)


@receiver(user_locked_out, dispatch_uid="accounts.lockout_reaches_middleware")
def flag_wrapped_request(sender, request, **kwargs):
    """A DRF view authenticates with its own Request object, which wraps Django's.

    axes flags the object it was given, but its middleware looks at Django's
    request: copy the flag there, so an API sign-in gets the lockout response too.
    """
    inner = getattr(request, "_request", None)
    if inner is not None:
        inner.axes_locked_out = True
        inner.axes_credentials = getattr(request, "axes_credentials", None)
