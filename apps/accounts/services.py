"""Writes to user accounts, their personal API tokens, sessions, lockouts and the schema's account policy."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from axes.utils import reset as axes_reset
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email, validate_ipv46_address
from django.db import transaction
from django.utils import timezone

from .models import AccountPolicy, ApiToken, User, UserSession
from .permissions import can_manage_users
from .selectors import POLICY_CACHE_KEY


def user_create(
    *,
    email: str,
    password: str | None,
    display_name: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
    is_tenant_admin: bool = False,
) -> User:
    """Create a user in the current schema; a None password makes an account that cannot sign in with one."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."}) from None
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": "A user with this email already exists here."})
    user = User(
        email=email,
        display_name=display_name.strip(),
        is_staff=is_staff,
        is_superuser=is_superuser,
        is_tenant_admin=is_tenant_admin,
    )
    if password is None:
        user.set_unusable_password()
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        user.set_password(password)
    with transaction.atomic():
        user.save()
    return user


def user_update_profile(*, user: User, display_name: str) -> User:
    """What a person may change about themselves (email and flags are an administrator's business)."""
    display_name = (display_name or "").strip()
    if len(display_name) > 150:
        raise ValidationError({"display_name": "The name may be at most 150 characters."})
    user.display_name = display_name
    user.save(update_fields=["display_name"])
    return user


def seed_first_admin(*, tenant, options: dict) -> None:
    """Provisioning seeder: the tenant's first administrator, when ``admin_email`` is given.

    Without ``admin_password`` the account has no usable password; its owner
    sets one through the password-reset page.
    """
    email = options.get("admin_email")
    if email:
        user_create(
            email=email,
            password=options.get("admin_password"),
            display_name=options.get("admin_name", ""),
            is_tenant_admin=True,
        )


# --- Personal API tokens --------------------------------------------------------------------

TOKEN_PREFIX = "nmb_"  # noqa: S105 - a label, not a secret
MAX_TOKEN_DAYS = 366
# Writing last_used_at on every request would turn each API read into a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(*, user: User, name: str, expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return it and its plaintext, which is never stored or shown again."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "Give the token a name of 1 to 100 characters."})
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise ValidationError({"expires_in_days": f"A token expires after 1 to {MAX_TOKEN_DAYS} days, or never."})
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, digest=_digest(secret), expires_at=expires_at)
    return token, f"{TOKEN_PREFIX}{prefix}_{secret}"


def api_token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    if token.user_id != actor.pk:
        raise ValidationError("You can only revoke your own tokens.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(raw: str) -> User | None:
    """The active user a presented token belongs to, or None for any malformed, unknown or unusable token."""
    if not raw.startswith(TOKEN_PREFIX) or raw.count("_") < 2:
        return None
    prefix, _, secret = raw.removeprefix(TOKEN_PREFIX).partition("_")
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    now = timezone.now()
    if token is None or not hmac.compare_digest(token.digest, _digest(secret)) or not token.is_usable(now):
        return None
    if not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


# --- Sessions -------------------------------------------------------------------------------


def user_session_record(*, user: User, session_key: str, ip_address: str | None, user_agent: str) -> UserSession:
    """Remember a new signed-in session of ``user`` (called when someone signs in)."""
    record, _ = UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={"user": user, "ip_address": ip_address or None, "user_agent": (user_agent or "")[:300]},
    )
    return record


def user_session_rekey(*, old_key: str | None, new_key: str | None) -> None:
    """Follow a session whose key was rotated (Django rotates it when the password changes)."""
    if old_key and new_key and old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def user_session_forget(*, session_key: str) -> None:
    """The session ended by signing out: drop its row."""
    UserSession.objects.filter(session_key=session_key).delete()


def user_credentials_revoke(*, user: User, keep_session: str | None = None) -> None:
    """Sign ``user`` out everywhere: end their sessions (but ``keep_session``) and refuse their issued JWTs.

    Called when a password changes, a user is disabled or asks to be signed out
    everywhere. Access tokens issued before now stop working at once; refresh
    tokens are blacklisted.
    """
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(tokens_valid_after=timezone.now())
        user_sessions_revoke(user=user, keep=keep_session)


def user_sessions_revoke(*, user: User, session_keys: list[str] | None = None, keep: str | None = None) -> int:
    """End ``user``'s sessions (the given ones, or all) except ``keep``; return how many were ended."""
    records = UserSession.objects.filter(user=user)
    if session_keys is not None:
        records = records.filter(session_key__in=session_keys)
    if keep:
        records = records.exclude(session_key=keep)
    keys = list(records.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    records.delete()
    return len(keys)


# --- Lockout (django-axes records, in the current schema) ----------------------------------


def user_unlock(*, user: User) -> int:
    """Forget the failed sign-ins naming ``user``'s email here, from every address; return how many records went.

    Also what a successful sign-in and a completed password reset do.
    """
    return axes_reset(username=user.email.lower())


def ip_unlock(*, ip_address: str) -> int:
    """Forget the failed sign-ins from one address here; return how many records went."""
    ip_address = (ip_address or "").strip()
    try:
        validate_ipv46_address(ip_address)
    except ValidationError:
        raise ValidationError({"ip_address": "Enter a valid IPv4 or IPv6 address."}) from None
    return axes_reset(ip=ip_address)


# --- Account policy -------------------------------------------------------------------------

POLICY_FIELDS = (
    "min_password_length",
    "password_history_count",
    "password_max_age_days",
    "session_idle_minutes",
    "session_absolute_hours",
)


def account_policy_update(*, actor: User, **fields) -> AccountPolicy:
    """Change the current schema's password and session rules; nothing is saved unless every value is valid."""
    if not can_manage_users(actor):
        raise PermissionDenied("Only tenant administrators may change the account policy.")
    unknown = sorted(set(fields) - set(POLICY_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This setting does not exist."))
    with transaction.atomic():
        AccountPolicy.objects.get_or_create(pk=AccountPolicy.SINGLETON_ID)
        policy = AccountPolicy.objects.select_for_update().get(pk=AccountPolicy.SINGLETON_ID)
        for name, value in fields.items():
            setattr(policy, name, value)
        policy.full_clean()  # field types, bounds and AccountPolicy.clean, with the model's messages
        policy.save()
        # Forget the cached copy now and again once committed, so no reader re-caches the old row meanwhile.
        cache.delete(POLICY_CACHE_KEY)
        transaction.on_commit(lambda: cache.delete(POLICY_CACHE_KEY))
    return policy
