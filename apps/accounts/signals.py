"""Receivers: session records follow Django's sign-in and sign-out; delegates follow their home account."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import delegation, services
from .models import User


def client_ip(request) -> str | None:
    # REMOTE_ADDR is the peer; a trusted proxy's X-Forwarded-For is handled by the ASGI server (--proxy-headers).
    return request.META.get("REMOTE_ADDR") or None


@receiver(user_logged_in, dispatch_uid="accounts.session_record")
def remember_session(sender, request, user, **kwargs):
    if request is not None and request.session.session_key:
        services.user_session_record(
            user=user,
            session_key=request.session.session_key,
            ip_address=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )


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
