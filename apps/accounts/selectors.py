"""Reads of accounts data, restricted to what the asking user may see."""

from django.db.models import QuerySet

from .models import ApiToken, User, UserSession
from .permissions import can_manage_users


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def sessions_of(user: User) -> QuerySet[UserSession]:
    return UserSession.objects.filter(user=user)


def users_for(*, actor: User) -> QuerySet[User]:
    """The users of the current schema that ``actor`` may see and manage: all of them, or none."""
    if not can_manage_users(actor):
        return User.objects.none()
    return User.objects.all()
