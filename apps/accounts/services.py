"""Writes to user accounts and invitations, API tokens, JWTs, sessions, lockouts and the schema's account policy."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import smtplib
from datetime import timedelta
from urllib.parse import urlsplit

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email, validate_ipv46_address
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from apps.audit.recorder import SYSTEM, record

from .audit import USER_RESOURCE, record_user_event
from .jwt import RefreshToken, token_digest
from .models import AccountPolicy, ApiToken, User, UserSession
from .permissions import require
from .selectors import POLICY_CACHE_KEY, api_token_by_prefix, user_for_authentication
from .tokens import invitation_token, password_reset_token

logger = logging.getLogger(__name__)


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
    before = user.display_name
    if display_name == before:
        return user
    with transaction.atomic():
        user.display_name = display_name
        user.save(update_fields=["display_name"])
        record_user_event(
            "accounts:user:profile_update", actor=user, user=user, changes={"display_name": [before, display_name]}
        )
    return user


def user_seed(
    *,
    email: str,
    password: str | None,
    via: str,
    display_name: str = "",
    is_staff: bool = False,
    is_superuser: bool = False,
    is_tenant_admin: bool = False,
    action: str = "accounts:user:seed",
) -> User:
    """Create an account no person asked for here (provisioning's first admin, ``seed_demo``, ``create_user``).

    Recorded with the system as actor (``via`` names the path) in the same transaction as the account.
    """
    with transaction.atomic():
        user = user_create(
            email=email,
            password=password,
            display_name=display_name,
            is_staff=is_staff,
            is_superuser=is_superuser,
            is_tenant_admin=is_tenant_admin,
        )
        record_user_event(
            action,
            actor=SYSTEM,
            user=user,
            changes={
                "email": [None, user.email],
                "display_name": [None, user.display_name],
                "is_tenant_admin": [None, user.is_tenant_admin],
                "is_staff": [None, user.is_staff],
                "is_superuser": [None, user.is_superuser],
            },
            metadata={"via": via, "password_set": user.has_usable_password()},
        )
    return user


def seed_first_admin(*, tenant, options: dict) -> None:
    """Provisioning seeder: the tenant's first administrator, when ``admin_email`` is given.

    Without ``admin_password`` the account has no usable password; its owner
    sets one through the password-reset page.
    """
    email = options.get("admin_email")
    if email:
        user_seed(
            email=email,
            password=options.get("admin_password"),
            display_name=options.get("admin_name", ""),
            is_tenant_admin=True,
            via="provisioning",
        )


# --- A person's own password, sessions and invitation ----------------------------------------
# Django's auth forms set the password; the page calls one of these in the same transaction, after the form saved.


def user_password_changed(*, user: User, old_session_key: str | None, new_session_key: str | None) -> None:
    """After ``user`` changed their own password: this session follows its new key, every other one ends."""
    with transaction.atomic():
        user_session_rekey(old_key=old_session_key, new_key=new_session_key)
        # A new password ends every other session and every JWT of the account.
        user_credentials_revoke(user=user, keep_session=new_session_key)
        record_user_event("accounts:user:password_change", actor=user, user=user)


def user_password_reset_completed(*, user: User) -> None:
    """After ``user`` set a new password through an emailed reset link: unlocked, and signed out everywhere."""
    with transaction.atomic():
        # Whoever proved they own the mailbox may sign in again, even if their account was locked.
        cleared = user_unlock(user=user)
        # Whoever knew the old password is signed out: every session and JWT of the account ends.
        user_credentials_revoke(user=user)
        record_user_event(
            "accounts:user:password_reset_complete",
            actor=user,
            user=user,
            metadata={"lockout_records_cleared": cleared},
        )


def user_invitation_accepted(*, user: User) -> None:
    """After ``user`` chose their first password through an invitation link (and was signed in)."""
    record_user_event("accounts:invitation:accept", actor=user, user=user)


# --- Managing users (tenant administrators) -------------------------------------------------
# Every function here is called by someone who may manage users (the API, the users pages); each checks
# so again, because a service must not trust its caller to have asked.


def _require_admin_flag_holder(actor: User, what: str = "make someone an administrator or stop them being one") -> None:
    # The flag grants every tenant-admin permission: only someone who has it may hand it out, take it away, or
    # act on an administrator's account (their email is where their password resets go), whatever role lets
    # them edit users. No escalation through accounts:user:update.
    if not (actor.is_tenant_admin or actor.is_superuser):
        raise PermissionDenied(f"Only tenant administrators may {what}.")


def _refuse_delegated(user: User, what: str) -> None:
    if user.is_delegated:
        home = f" ({user.home_email})" if user.home_email else ""
        raise ValidationError(
            f"{user.email} is a delegated account: it is managed from its home account{home} and cannot {what} here."
        )


def _is_last_active_admin(user: User) -> bool:
    """Is ``user`` the only active tenant administrator of this schema (delegated accounts do not count)?

    Locks every active administrator, always in the same order, so two administrators disabling
    each other at the same moment cannot both succeed: the second waits, then sees the first's change.
    Call it inside a transaction.
    """
    admins = set(
        User.objects.select_for_update()
        .filter(is_active=True, is_tenant_admin=True, is_delegated=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return admins == {user.pk}


def _normalized_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."}) from None
    return email


def _send_account_email(*, user: User, template: str, context: dict) -> None:
    """Render ``accounts/email/<template>{_subject,}.txt`` and send it to ``user``; fail with a message, not a 500."""
    context = {"email": user.email, "user": user, **context}
    subject = " ".join(render_to_string(f"accounts/email/{template}_subject.txt", context).split())
    body = render_to_string(f"accounts/email/{template}.txt", context)
    try:
        send_mail(subject, body, None, [user.email])
    except (smtplib.SMTPException, OSError) as error:
        # The link is a secret: log what failed, never the message.
        logger.warning("Account email %s to user %s failed: %s", template, user.pk, type(error).__name__)
        raise ValidationError("The email could not be sent. Nothing was changed; try again later.") from None


def _link(base_url: str, url_name: str, user: User, token: str) -> str:
    path = reverse(url_name, kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": token})
    return f"{base_url.rstrip('/')}{path}"


def user_admin_update(
    *,
    actor: User,
    user: User,
    email: str | None = None,
    display_name: str | None = None,
    is_tenant_admin: bool | None = None,
) -> User:
    """An administrator changes someone's email, name or administrator flag (None leaves a value as it is)."""
    require(actor, "accounts:user:update", user)
    _refuse_delegated(user, "be edited")
    changes: dict = {}
    if email is not None:
        email = _normalized_email(email)
        if email != user.email and (user.is_tenant_admin or user.is_superuser):
            _require_admin_flag_holder(actor, "change an administrator's email")
        if email != user.email:
            if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
                raise ValidationError({"email": "A user with this email already exists here."})
            changes["email"] = email
    if display_name is not None:
        display_name = display_name.strip()
        if len(display_name) > 150:
            raise ValidationError({"display_name": "The name may be at most 150 characters."})
        changes["display_name"] = display_name
    if is_tenant_admin is not None and is_tenant_admin != user.is_tenant_admin:
        _require_admin_flag_holder(actor)
        changes["is_tenant_admin"] = is_tenant_admin
    if not changes:
        return user
    try:
        with transaction.atomic():
            if changes.get("is_tenant_admin") is False and _is_last_active_admin(user):
                raise ValidationError(
                    {
                        "is_tenant_admin": f"{user.email} is the last active tenant administrator; "
                        "make someone else an administrator first."
                    }
                )
            before = {field: getattr(user, field) for field in changes}
            for field, value in changes.items():
                setattr(user, field, value)
            user.save(update_fields=list(changes))
            record_user_event(
                "accounts:user:update",
                actor=actor,
                user=user,
                changes={field: [before[field], value] for field, value in changes.items()},
            )
    except IntegrityError:
        # Another request took the address between the check and the write.
        user.refresh_from_db()
        raise ValidationError({"email": "A user with this email already exists here."}) from None
    return user


def user_disable(*, actor: User, user: User) -> User:
    """Disable an account and sign it out everywhere (sessions end, JWTs are refused; API tokens stop working)."""
    require(actor, "accounts:user:disable", user)
    if user.pk == actor.pk:
        raise ValidationError("You cannot disable your own account; ask another administrator.")
    if user.is_tenant_admin or user.is_superuser:
        _require_admin_flag_holder(actor, "disable an administrator")
    with transaction.atomic():
        if _is_last_active_admin(user):
            raise ValidationError(
                f"{user.email} is the last active tenant administrator; make someone else an administrator first."
            )
        was_active = user.is_active
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
        user_credentials_revoke(user=user)
        record_user_event(
            "accounts:user:disable",
            actor=actor,
            user=user,
            changes={"is_active": [True, False]} if was_active else None,
        )
    return user


def user_enable(*, actor: User, user: User) -> User:
    """Let a disabled account sign in again (with the credentials it had; ended sessions stay ended)."""
    require(actor, "accounts:user:disable", user)
    _refuse_delegated(user, "be enabled")
    if user.is_tenant_admin or user.is_superuser:
        _require_admin_flag_holder(actor, "enable an administrator")
    with transaction.atomic():
        was_active = user.is_active
        if not user.is_active:
            user.is_active = True
            user.save(update_fields=["is_active"])
        # Checked by accounts:user:disable, which covers both directions; recorded under its own name.
        record_user_event(
            "accounts:user:enable",
            actor=actor,
            user=user,
            changes=None if was_active else {"is_active": [False, True]},
        )
    return user


# --- Accounts an identity provider provisions (SCIM) ------------------------------------------
# Called by a provisioning path above accounts (``apps.identity.scim``) after it authenticated the IdP's own
# credential: no person and no role is behind the call, so there is no permission check here; the caller
# passes its principal as ``actor`` (recorded as the actor, never the subject of a permission decision).
# Local and delegated accounts are the caller's to keep out of reach (SCIM sees only accounts it created).


def user_provisioned_update(
    *,
    actor,
    user: User,
    email: str | None = None,
    display_name: str | None = None,
    is_active: bool | None = None,
    via: str,
) -> dict:
    """Change what an IdP manages of an account it provisioned; return the changes as ``{field: [old, new]}``.

    Deactivating ends every session and JWT of the account and revokes its personal API tokens at once
    (an IdP deactivates someone who left: re-activating them must not bring their old tokens back), and is
    recorded as ``accounts:user:disable`` like every other disabling; re-activating as ``accounts:user:enable``.
    Email and name changes are recorded by the caller, in its own event for the whole operation.
    """
    _refuse_delegated(user, "be provisioned")
    changes: dict = {}
    if email is not None:
        email = _normalized_email(email)
        if email != user.email:
            if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
                raise ValidationError({"email": "A user with this email already exists here."})
            changes["email"] = [user.email, email]
    if display_name is not None:
        display_name = display_name.strip()
        if len(display_name) > 150:
            raise ValidationError({"display_name": "The name may be at most 150 characters."})
        if display_name != user.display_name:
            changes["display_name"] = [user.display_name, display_name]
    if is_active is not None and bool(is_active) != user.is_active:
        if not is_active and _is_last_active_admin(user):
            raise ValidationError(f"{user.email} is the last active tenant administrator; it cannot be disabled.")
        changes["is_active"] = [user.is_active, bool(is_active)]
    if not changes:
        return changes
    try:
        with transaction.atomic():
            for field, (_old, new) in changes.items():
                setattr(user, field, new)
            user.save(update_fields=list(changes))
            if "is_active" in changes and not user.is_active:
                user_credentials_revoke(user=user)
                revoked = _api_tokens_revoke_all(user)
                record_user_event(
                    "accounts:user:disable",
                    actor=actor,
                    user=user,
                    changes={"is_active": [True, False]},
                    metadata={"via": via, "api_tokens_revoked": revoked},
                )
            elif "is_active" in changes:
                record_user_event(
                    "accounts:user:enable",
                    actor=actor,
                    user=user,
                    changes={"is_active": [False, True]},
                    metadata={"via": via},
                )
    except IntegrityError:
        user.refresh_from_db()
        raise ValidationError({"email": "A user with this email already exists here."}) from None
    return changes


def user_provisioned_delete(*, actor, user: User, via: str) -> None:
    """Delete an account its IdP provisioned: signed out everywhere first, recorded as ``accounts:user:delete``.

    The audit trail keeps naming it (events carry its id and email as text).
    """
    _refuse_delegated(user, "be deleted by provisioning")
    with transaction.atomic():
        if user.is_active and _is_last_active_admin(user):
            raise ValidationError(f"{user.email} is the last active tenant administrator; it cannot be deleted.")
        user_credentials_revoke(user=user)
        record_user_event(
            "accounts:user:delete",
            actor=actor,
            user=user,
            changes={"email": [user.email, None], "display_name": [user.display_name, None]},
            metadata={"via": via},
        )
        user.delete()


def _api_tokens_revoke_all(user: User) -> int:
    now = timezone.now()
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)


def user_send_password_reset(*, actor: User, user: User, base_url: str) -> None:
    """Email ``user`` the tenant-bound link to set a new password (the same link as "Forgot your password?")."""
    require(actor, "accounts:user:reset_password", user)
    _refuse_delegated(user, "have a password reset")
    if not user.is_active:
        raise ValidationError(f"{user.email} is disabled; enable the account before sending a password reset.")
    link = _link(base_url, "accounts:password-reset-confirm", user, password_reset_token.make_token(user))
    # The event rolls back if the email cannot be sent (the link itself is never recorded).
    with transaction.atomic():
        record_user_event("accounts:user:reset_password", actor=actor, user=user)
        _send_account_email(
            user=user,
            template="password_reset_by_admin",
            context={"link": link, "domain": urlsplit(base_url).netloc, "actor": actor},
        )


def user_invitation_send(*, actor: User, user: User, base_url: str) -> None:
    """Email (again) the one-time link with which ``user``, who has never signed in, sets a first password.

    Earlier links of the same person keep working until they expire or one of them is used.
    """
    require(actor, "accounts:user:create", user)
    _refuse_delegated(user, "be invited")
    if not user.is_active:
        raise ValidationError(f"{user.email} is disabled; enable the account before inviting them.")
    if user.last_login is not None:
        raise ValidationError(f"{user.email} has already signed in; send a password reset instead of an invitation.")
    link = _link(base_url, "accounts:invitation", user, invitation_token.make_token(user))
    # Checked by accounts:user:create; recorded under its own name, and rolled back if the email cannot be sent.
    with transaction.atomic():
        record_user_event("accounts:user:invite", actor=actor, user=user)
        _send_account_email(
            user=user,
            template="invitation",
            context={
                "link": link,
                "domain": urlsplit(base_url).netloc,
                "actor": actor,
                "days": settings.NIMBUS_INVITATION_DAYS,
            },
        )


def user_admin_create(
    *, actor: User, email: str, password: str | None, display_name: str = "", is_tenant_admin: bool = False
) -> User:
    """Someone who may add users adds one, with a password or none (an invitation is ``user_invite``)."""
    require(actor, "accounts:user:create")
    if is_tenant_admin:
        _require_admin_flag_holder(actor)
    with transaction.atomic():
        user = user_create(email=email, password=password, display_name=display_name, is_tenant_admin=is_tenant_admin)
        _record_created(actor, user, invited=False)
    return user


def _record_created(actor: User, user: User, *, invited: bool) -> None:
    record_user_event(
        "accounts:user:create",
        actor=actor,
        user=user,
        changes={
            "email": [None, user.email],
            "display_name": [None, user.display_name],
            "is_tenant_admin": [None, user.is_tenant_admin],
        },
        metadata={"invited": invited, "password_set": user.has_usable_password()},
    )


def user_invite(
    *, actor: User, email: str, base_url: str, display_name: str = "", is_tenant_admin: bool = False
) -> tuple[User, bool]:
    """Create an account without a password and email its invitation; return it and whether it is new.

    An email address that already belongs to someone who never signed in gets the
    invitation again (their name and flag stay as they are).
    """
    require(actor, "accounts:user:create")
    if is_tenant_admin:
        _require_admin_flag_holder(actor)
    existing = User.objects.filter(email__iexact=_normalized_email(email)).first()
    if existing is not None:
        if existing.last_login is not None or existing.is_delegated:
            raise ValidationError({"email": "A user with this email already exists here."})
        try:
            user_invitation_send(actor=actor, user=existing, base_url=base_url)
        except ValidationError as error:
            raise ValidationError({"email": error.messages}) from None
        return existing, False
    # One transaction: if the email cannot be sent, the account is not created either.
    with transaction.atomic():
        user = user_create(email=email, password=None, display_name=display_name or "", is_tenant_admin=is_tenant_admin)
        _record_created(actor, user, invited=True)
        user_invitation_send(actor=actor, user=user, base_url=base_url)
    return user, True


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
    if user.is_delegated:
        # A delegate lives as long as its session (an hour at most) and its home account's rights: a token
        # would outlive both.
        raise ValidationError("Delegated accounts cannot create API tokens.")
    if not name or len(name) > 100:
        raise ValidationError({"name": "Give the token a name of 1 to 100 characters."})
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise ValidationError({"expires_in_days": f"A token expires after 1 to {MAX_TOKEN_DAYS} days, or never."})
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=prefix, digest=_digest(secret), expires_at=expires_at
        )
        _record_token("accounts:token:create", token, actor=user)
    return token, f"{TOKEN_PREFIX}{prefix}_{secret}"


def _record_token(action: str, token: ApiToken, *, actor: User) -> None:
    # The prefix only: it names the token in lists and is useless without the secret.
    record(
        action,
        actor=actor,
        resource_type="accounts:api_token",
        resource_id=token.pk,
        resource_display=f"{token.name} ({TOKEN_PREFIX}{token.prefix}…)",
        metadata={"expires_at": token.expires_at.isoformat() if token.expires_at else None},
    )


def api_token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    if token.user_id != actor.pk:
        raise ValidationError("You can only revoke your own tokens.")
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            _record_token("accounts:token:revoke", token, actor=actor)
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


def user_session_end(*, user: User, keep: str | None, session: UserSession | None = None) -> int:
    """``user`` ends one of their own sessions (``session``) or, without one, every session but ``keep``.

    Recorded as ``accounts:session:revoke`` when something ended; return how many ended.
    """
    if session is not None and session.user_id != user.pk:
        raise ValidationError("You can only end your own sessions.")
    with transaction.atomic():
        keys = [session.session_key] if session is not None else None
        ended = user_sessions_revoke(user=user, session_keys=keys, keep=keep)
        if ended:
            # The row id, never the key: session keys are secrets.
            which = {"scope": "one", "session_id": session.pk} if session is not None else {"scope": "others"}
            record_user_event("accounts:session:revoke", actor=user, user=user, metadata={**which, "ended": ended})
    return ended


def user_sign_out_everywhere(*, user: User) -> None:
    """``user`` ends every session of theirs, this one included, and every JWT (the sessions page's button)."""
    with transaction.atomic():
        ended = UserSession.objects.filter(user=user).count()
        user_credentials_revoke(user=user)
        record_user_event(
            "accounts:session:revoke", actor=user, user=user, metadata={"scope": "everywhere", "ended": ended}
        )


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


def user_admin_unlock(*, actor: User, user: User) -> int:
    """An administrator lifts the lockout of one account of this tenant; return how many records went."""
    require(actor, "accounts:user:unlock", user)
    with transaction.atomic():
        cleared = user_unlock(user=user)
        record_user_event("accounts:user:unlock", actor=actor, user=user, metadata={"records_cleared": cleared})
    return cleared


def lockout_unlock(*, user: User | None = None, ip_address: str | None = None, via: str) -> dict[str, int]:
    """Lift a lockout on no person's behalf (the ``unlock_user`` command): an account's, an address's, or both.

    Both are checked before anything is forgotten; each is recorded as ``accounts:lockout:unlock`` with the
    system as actor. Returns the records cleared per ``"user"`` and ``"ip"``.
    """
    if user is None and not ip_address:
        raise ValidationError("Name an account, an address or both.")
    if ip_address is not None:
        ip_address = _valid_address(ip_address)
    cleared: dict[str, int] = {}
    with transaction.atomic():
        if ip_address is not None:
            cleared["ip"] = axes_reset(ip=ip_address)
            record(
                "accounts:lockout:unlock",
                actor=SYSTEM,
                resource_type="accounts:address",
                resource_id=ip_address,
                resource_display=ip_address,
                metadata={"via": via, "records_cleared": cleared["ip"]},
            )
        if user is not None:
            cleared["user"] = user_unlock(user=user)
            record_user_event(
                "accounts:lockout:unlock",
                actor=SYSTEM,
                user=user,
                metadata={"via": via, "records_cleared": cleared["user"]},
            )
    return cleared


def _valid_address(ip_address: str) -> str:
    ip_address = (ip_address or "").strip()
    try:
        validate_ipv46_address(ip_address)
    except ValidationError:
        raise ValidationError({"ip_address": "Enter a valid IPv4 or IPv6 address."}) from None
    return ip_address


def ip_unlock(*, ip_address: str) -> int:
    """Forget the failed sign-ins from one address; return how many went. Unrecorded (``lockout_unlock`` records)."""
    return axes_reset(ip=_valid_address(ip_address))


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
    require(actor, "accounts:policy:update")
    unknown = sorted(set(fields) - set(POLICY_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This setting does not exist."))
    with transaction.atomic():
        AccountPolicy.objects.get_or_create(pk=AccountPolicy.SINGLETON_ID)
        policy = AccountPolicy.objects.select_for_update().get(pk=AccountPolicy.SINGLETON_ID)
        before = {name: getattr(policy, name) for name in fields}
        for name, value in fields.items():
            setattr(policy, name, value)
        policy.full_clean()  # field types, bounds and AccountPolicy.clean, with the model's messages
        policy.save()
        record(
            "accounts:policy:update",
            actor=actor,
            resource_type="accounts:policy",
            resource_id=policy.pk,
            resource_display="Account policy",
            changes={
                name: [before[name], getattr(policy, name)] for name in fields if before[name] != getattr(policy, name)
            },
        )
        # Forget the cached copy now and again once committed, so no reader re-caches the old row meanwhile.
        cache.delete(POLICY_CACHE_KEY)
        transaction.on_commit(lambda: cache.delete(POLICY_CACHE_KEY))
    return policy


# --- JWT access and refresh tokens ----------------------------------------------------------

JWT_REFUSED = "The refresh token is invalid, expired or revoked; sign in again."


def jwt_pair_issue(*, user: User, audit_action: str | None = "accounts:jwt:obtain") -> tuple[str, str]:
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
        if audit_action:
            record(
                audit_action, actor=user, resource_type=USER_RESOURCE, resource_id=user.pk, resource_display=user.email
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
        # A rotation, not a sign-in: the HTTP request's own event is enough.
        return jwt_pair_issue(user=user, audit_action=None)


def jwt_refresh_revoke(*, raw: str) -> None:
    """Blacklist a refresh token (a client signing out). Access tokens already issued expire within minutes."""
    refresh, user_id = _decode_refresh(raw)
    with transaction.atomic():
        user = _spend_refresh(refresh, user_id)
        record(
            "accounts:jwt:revoke",
            actor=user,
            resource_type=USER_RESOURCE,
            resource_id=user.pk,
            resource_display=user.email,
        )
