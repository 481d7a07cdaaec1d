"""The end of every SSO sign-in, whatever the protocol: who the asserted identity is, what it is granted, and in.

The OIDC and SAML flows only prove an identity (``AssertedIdentity``: provider,
subject, email, claims). This module turns it into a Nimbus user:

1. the link (provider, subject) made at an earlier sign-in;
2. else, if the provider allows it, the local user whose email the IdP says it
   has verified (a new link is made);
3. else the just-in-time hook (``NIMBUS_SSO_JIT_HOOK``, a dotted path to a
   callable taking the identity and returning a user or None; none by default,
   so an unknown subject is refused with a clear page).

Then the provider's claim mappings are applied (groups and roles granted or
taken back), the person is signed in, and the outcome is audited. Refusals
raise ``SsoRefused``; the flows render ``refusal_response`` for people.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from apps.accounts.backends import BACKEND_PATH
from apps.accounts.models import User
from apps.accounts.sign_in_options import SignInButton, SignInOptions
from apps.audit.models import Outcome
from apps.audit.recorder import record

from . import mappings, selectors
from .models import IdentityLink, IdentityProvider

# The session key naming the provider the person signed in through (single logout, and the profile page).
SESSION_PROVIDER = "identity_provider"


class Reason:
    """Why an SSO sign-in was refused: the audit event's ``reason`` and the heading of the person's page."""

    PROVIDER_DISABLED = "provider_disabled"
    NO_ACCOUNT = "no_account"
    ACCOUNT_DISABLED = "account_disabled"
    EMAIL_NOT_VERIFIED = "email_not_verified"
    INVALID_RESPONSE = "invalid_response"
    INVALID_SIGNATURE = "invalid_signature"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    WRONG_DESTINATION = "wrong_destination"
    EXPIRED = "expired"
    REPLAYED = "replayed"
    STATE_MISMATCH = "state_mismatch"
    NONCE_MISMATCH = "nonce_mismatch"
    IDP_ERROR = "idp_error"
    IDP_UNREACHABLE = "idp_unreachable"


MESSAGES = {
    Reason.PROVIDER_DISABLED: "This sign-in option is switched off. Ask your administrator.",
    Reason.NO_ACCOUNT: (
        "Your identity provider signed you in, but you have no Nimbus account here yet. "
        "Ask your administrator to create one for you (or to have it provisioned through SCIM)."
    ),
    Reason.ACCOUNT_DISABLED: "Your Nimbus account here is disabled. Ask your administrator.",
    Reason.EMAIL_NOT_VERIFIED: "Your identity provider has not verified your email address, so it cannot be linked.",
    Reason.INVALID_RESPONSE: "The identity provider's answer could not be accepted.",
    Reason.INVALID_SIGNATURE: "The identity provider's answer was not signed correctly.",
    Reason.WRONG_ISSUER: "The answer came from a different identity provider than the one configured.",
    Reason.WRONG_AUDIENCE: "The identity provider's answer was meant for someone else.",
    Reason.WRONG_DESTINATION: "The identity provider's answer was addressed to a different place.",
    Reason.EXPIRED: "The identity provider's answer has expired. Please sign in again.",
    Reason.REPLAYED: "This sign-in answer was already used. Please sign in again.",
    Reason.STATE_MISMATCH: "This sign-in was not started here, or it was already finished. Please sign in again.",
    Reason.NONCE_MISMATCH: "The identity provider's answer does not belong to this sign-in. Please sign in again.",
    Reason.IDP_ERROR: "The identity provider refused the sign-in.",
    Reason.IDP_UNREACHABLE: "The identity provider could not be reached. Please try again later.",
}


class SsoRefused(Exception):
    def __init__(self, reason: str, detail: str = "", *, provider: IdentityProvider | None = None, subject: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail  # for the audit trail and logs; people see MESSAGES[reason]
        self.provider = provider
        self.subject = subject


@dataclass(frozen=True)
class AssertedIdentity:
    """What an IdP asserted about the person, once the protocol checked signature, audience, time and replay."""

    provider: IdentityProvider
    subject: str
    email: str = ""
    email_verified: bool = False
    # Every claim or attribute, values as lists of strings (mappings and the JIT hook read them).
    attributes: dict[str, list[str]] = field(default_factory=dict)
    protocol_facts: dict = field(default_factory=dict)  # e.g. SAML session index, for single logout


def sign_in_options_source(request) -> SignInOptions:
    """The sign-in page's buttons (one per enabled provider) and whether passwords are for admins only."""
    providers, sso_only = selectors.sign_in_choices()
    buttons = tuple(
        SignInButton(
            label=f"Sign in with {name}", url=reverse("identity:sso-start", args=[slug]), is_default=is_default
        )
        for slug, name, is_default in providers
    )
    sso_only = bool(providers) and sso_only
    return SignInOptions(buttons=buttons, password_sign_in=not sso_only)


def _jit_hook():
    path = getattr(settings, "NIMBUS_SSO_JIT_HOOK", "")
    return import_string(path) if path else None


def resolve_user(identity: AssertedIdentity) -> tuple[User, str]:
    """The user ``identity`` signs in as, and how: "link" (known), "email" or "jit" (linked now); raises SsoRefused."""
    provider = identity.provider
    link = IdentityLink.objects.select_related("user").filter(provider=provider, subject=identity.subject).first()
    if link is not None:
        return link.user, "link"
    user, how = None, "email"
    if provider.link_by_email and identity.email:
        if not identity.email_verified:
            raise SsoRefused(Reason.EMAIL_NOT_VERIFIED, identity.email, provider=provider, subject=identity.subject)
        user = User.objects.filter(email__iexact=identity.email, is_delegated=False).first()
    if user is None:
        hook, how = _jit_hook(), "jit"
        user = hook(identity) if hook is not None else None
    if user is None:
        raise SsoRefused(Reason.NO_ACCOUNT, "no link, no matching account", provider=provider, subject=identity.subject)
    if IdentityLink.objects.filter(provider=provider, user=user).exists():
        # The account is linked to another subject of this IdP: an email reused by a second IdP account.
        raise SsoRefused(
            Reason.NO_ACCOUNT, "account linked to another subject", provider=provider, subject=identity.subject
        )
    IdentityLink.objects.create(provider=provider, subject=identity.subject, user=user)
    return user, how


def sign_in(request, identity: AssertedIdentity) -> User:
    """Resolve, map, sign in and audit; raises SsoRefused (already audited) when the person may not come in."""
    provider = identity.provider
    try:
        if not provider.enabled:
            raise SsoRefused(Reason.PROVIDER_DISABLED, provider=provider, subject=identity.subject)
        with transaction.atomic():
            user, how = resolve_user(identity)
            if not user.is_active:
                raise SsoRefused(Reason.ACCOUNT_DISABLED, user.email, provider=provider, subject=identity.subject)
            if how != "link":
                _record_link(user, identity, how)
            outcome = mappings.apply(provider=provider, user=user, attributes=identity.attributes)
            IdentityLink.objects.filter(provider=provider, subject=identity.subject).update(
                last_sign_in_at=timezone.now()
            )
    except SsoRefused as refusal:
        record_refusal(request, refusal)
        raise
    login(request, user, backend=BACKEND_PATH)
    request.session[SESSION_PROVIDER] = {"slug": provider.slug, **identity.protocol_facts}
    record(
        "identity:sso:login",
        actor=user,
        request=request,
        resource_type="identity.identityprovider",
        resource_id=provider.pk,
        resource_display=provider.name,
        metadata={
            "provider": provider.slug,
            "protocol": provider.kind,
            "subject": identity.subject,
            "resolved_by": how,
            **outcome.as_metadata(),
        },
    )
    return user


def _record_link(user: User, identity: AssertedIdentity, how: str) -> None:
    record(
        "identity:link:create",
        actor=user,
        resource_type="identity.identityprovider",
        resource_id=identity.provider.pk,
        resource_display=identity.provider.name,
        metadata={"subject": identity.subject, "by": how},
    )


def record_refusal(request, refusal: SsoRefused) -> None:
    provider = refusal.provider
    record(
        "identity:sso:login_failed",
        actor=AnonymousUser(),  # nobody is signed in (never ask the request, which may be mid-sign-in)
        request=request,
        resource_type="identity.identityprovider" if provider else "",
        resource_id=provider.pk if provider else "",
        resource_display=provider.name if provider else "",
        outcome=Outcome.DENIED,
        metadata={
            "reason": refusal.reason,
            "detail": refusal.detail[:500],
            "provider": provider.slug if provider else "",
            "subject": refusal.subject,
        },
    )


def refusal_response(request, refusal: SsoRefused, *, status: int = 403):
    """The page a person sees when an SSO sign-in is refused (the refusal is audited by whoever raised it)."""
    context = {
        "reason": refusal.reason,
        "message": MESSAGES.get(refusal.reason, MESSAGES[Reason.INVALID_RESPONSE]),
        "provider": refusal.provider,
    }
    return render(request, "identity/sso_refused.html", context, status=status)
