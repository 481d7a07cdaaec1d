"""Reads of accounts data, restricted to what the asking user may see."""

from django.db.models import QuerySet

from .models import ApiToken, User, UserSession


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def sessions_of(user: User) -> QuerySet[UserSession]:
    return UserSession.objects.filter(user=user)
