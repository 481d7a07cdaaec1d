"""Keep the per-user session records in step with Django's sign-in and sign-out."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from . import services


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
