"""Reads of accounts data, restricted to what the asking user may see."""

from __future__ import annotations

from datetime import timedelta

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet, Sum
from django.utils import timezone

from apps.core import authorization
from apps.core.queries import RowByKey

from .models import AccountPolicy, ApiToken, User, UserSession

# The cache's KEY_FUNCTION puts the schema in front of this key: each tenant caches its own policy.
POLICY_CACHE_KEY = "accounts:policy"

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


def users_for(*, actor: User, request=None) -> QuerySet[User]:
    """The users of the current schema that ``actor`` may see (``accounts:user:view``), filtered in SQL."""
    return authorization.visible(actor, "accounts:user:view", User.objects.all(), request=request)


def account_policy() -> AccountPolicy:
    """The current schema's password and session rules; created with the defaults on first use.

    Read on every signed-in request, so it is cached (per schema) for
    ``NIMBUS_POLICY_CACHE_SECONDS``; ``account_policy_update`` forgets the cached copy.
    """
    timeout = settings.NIMBUS_POLICY_CACHE_SECONDS
    if timeout:
        cached = cache.get(POLICY_CACHE_KEY)
        if isinstance(cached, AccountPolicy):
            return cached
    policy, _created = AccountPolicy.objects.get_or_create(pk=AccountPolicy.SINGLETON_ID)
    if timeout:
        cache.set(POLICY_CACHE_KEY, policy, timeout)
    return policy


def password_expired(user: User, policy: AccountPolicy | None = None) -> bool:
    """Has ``user``'s password outlived the policy's maximum age? Never for delegated or password-less accounts."""
    policy = policy or account_policy()
    if policy.password_max_age_days is None or user.is_delegated or not user.has_usable_password():
        return False
    # An account whose change time was never recorded has had its password since it joined.
    changed_at = user.password_changed_at or user.date_joined
    return timezone.now() - changed_at > timedelta(days=policy.password_max_age_days)


def user_is_locked(user: User) -> bool:
    """Is ``user``'s account locked by too many failed sign-ins on this schema (from any address)?"""
    attempts = AccessAttempt.objects.filter(username=user.email.lower())
    cool_off = get_cool_off()
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
    return failures >= settings.AXES_FAILURE_LIMIT
