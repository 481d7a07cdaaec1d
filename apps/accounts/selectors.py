"""Reads of accounts data, restricted to what the asking user may see."""

from django.db.models import QuerySet

from apps.core.queries import RowByKey

from .models import ApiToken, User, UserSession

# Authentication reads these on every API request: compiled once per process (see apps.core.queries).
_user_by_id = RowByKey(User, "id")
_api_token_by_prefix = RowByKey(ApiToken, "prefix")


def user_for_authentication(user_id: int) -> User | None:
    """The user a credential names, in the current schema, whether active or not (the caller decides)."""
    if not 0 < user_id < 2**63:  # beyond the id column's range: nobody
        return None
    return _user_by_id.get(user_id)


def api_token_by_prefix(prefix: str) -> ApiToken | None:
    return _api_token_by_prefix.get(prefix)


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)


def sessions_of(user: User) -> QuerySet[UserSession]:
    return UserSession.objects.filter(user=user)
