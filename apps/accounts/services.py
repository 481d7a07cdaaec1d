"""Writes to user accounts, their personal API tokens, JWTs and sessions."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from .jwt import RefreshToken, token_digest
from .models import ApiToken, User, UserSession
from .selectors import api_token_by_prefix, user_for_authentication


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
TOKEN_PREFIX_FORMAT = re.compile(r"[0-9a-f]{12}")  # secrets.token_hex(6), below
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
    if not TOKEN_PREFIX_FORMAT.fullmatch(prefix):
        return None
    token = api_token_by_prefix(prefix)
    now = timezone.now()
    if token is None or not hmac.compare_digest(token.digest, _digest(secret)) or not token.is_usable(now):
        return None
    user = user_for_authentication(token.user_id)
    if user is None or not user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return user


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
    tokens are blacklisted. Personal API tokens are not touched: they are
    managed one by one on their own page.
    """
    with transaction.atomic():
        # The user's row lock orders this against a token being issued meanwhile (see jwt_pair_issue):
        # either that token is issued first and blacklisted below, or it sees the new moment and is refused.
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
        now = timezone.now()
        User.objects.filter(pk=user.pk).update(tokens_valid_after=now)
        # Also on the instance, so that a later save() of it cannot put the old value back.
        user.tokens_valid_after = now
        user_sessions_revoke(user=user, keep=keep_session)
        live = OutstandingToken.objects.filter(user=user, expires_at__gt=now, blacklistedtoken__isnull=True)
        BlacklistedToken.objects.bulk_create([BlacklistedToken(token=token) for token in live], ignore_conflicts=True)


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


# --- JWT access and refresh tokens ----------------------------------------------------------

JWT_REFUSED = "The refresh token is invalid, expired or revoked; sign in again."


def jwt_pair_issue(*, user: User) -> tuple[str, str]:
    """A new (access, refresh) pair for ``user``, bound to the current schema; the refresh token is recorded.

    ``user`` is the instance that just proved its credentials: if the account
    was disabled, its password changed or its tokens revoked since it was
    read, nothing is issued. Only the refresh token's digest is stored, so the
    outstanding-token table holds nothing a reader could present.
    """
    with transaction.atomic():
        current = (
            User.objects.select_for_update()
            .filter(pk=user.pk)
            .values_list("is_active", "password", "tokens_valid_after")
            .first()
        )
        if current != (True, user.password, user.tokens_valid_after):
            raise ValidationError(JWT_REFUSED, code="token_not_valid")
        refresh = RefreshToken.for_user(user)
        encoded = str(refresh)
        OutstandingToken.objects.create(
            user=user,
            jti=refresh[jwt_settings.JTI_CLAIM],
            token=token_digest(encoded),
            created_at=refresh.current_time,
            expires_at=datetime_from_epoch(refresh["exp"]),
        )
    return str(refresh.access_token), encoded


def _decode_refresh(raw: str) -> tuple[RefreshToken, int]:
    """The refresh token and its user id, or ValidationError for any token this schema must refuse."""
    try:
        refresh = RefreshToken(raw)
    except TokenError:
        raise ValidationError(JWT_REFUSED, code="token_not_valid") from None
    user_id = str(refresh.get(jwt_settings.USER_ID_CLAIM, ""))
    if not user_id.isdigit():
        raise ValidationError(JWT_REFUSED, code="token_not_valid")
    return refresh, int(user_id)


def _spend_refresh(refresh: RefreshToken, user_id: int) -> User:
    """Blacklist ``refresh`` and return its user, inside the caller's transaction; refuse it if it was spent already.

    The rows are locked, so two requests racing with the same token cannot both spend it.
    """
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None or not user.is_active:
        raise ValidationError(JWT_REFUSED, code="token_not_valid")
    # Normally blacklisted by the revocation already; this also covers a token recorded while it ran.
    if user.tokens_valid_after and refresh.issued_at < user.tokens_valid_after.timestamp():
        raise ValidationError(JWT_REFUSED, code="token_not_valid")
    # Ordered by id: simplejwt orders these by user, an outer join FOR UPDATE cannot lock.
    outstanding = (
        OutstandingToken.objects.select_for_update().filter(jti=refresh[jwt_settings.JTI_CLAIM]).order_by("pk").first()
    )
    # Every token Nimbus issues is recorded; one without a row is not ours to honour.
    if outstanding is None or BlacklistedToken.objects.filter(token=outstanding).exists():
        raise ValidationError(JWT_REFUSED, code="token_not_valid")
    BlacklistedToken.objects.create(token=outstanding)
    return user


def jwt_refresh(*, raw: str) -> tuple[str, str]:
    """Exchange a refresh token for a new (access, refresh) pair; the presented one is blacklisted (rotation)."""
    refresh, user_id = _decode_refresh(raw)
    with transaction.atomic():
        user = _spend_refresh(refresh, user_id)
        return jwt_pair_issue(user=user)


def jwt_refresh_revoke(*, raw: str) -> None:
    """Blacklist a refresh token (a client signing out). Access tokens already issued expire within minutes."""
    refresh, user_id = _decode_refresh(raw)
    with transaction.atomic():
        _spend_refresh(refresh, user_id)
