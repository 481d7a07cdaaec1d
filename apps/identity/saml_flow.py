"""SAML 2.0 sign-in and single logout for one tenant's IdP: Nimbus's own views around pysaml2's ``Saml2Client``.

Why not djangosaml2's views: they read one global configuration (or a loader),
take no URL arguments, keep outstanding requests in their own
``SameSite=None`` cookie, render their own error page, and leave the replay
and Destination checks to us anyway. Subclassing them would override almost
every method; calling ``Saml2Client`` (configured per provider by
``saml_sp``) from these few views is shorter and keeps every check visible
here.

Sign-in (SP-initiated only):

* ``start`` sends a signed AuthnRequest (HTTP-Redirect, rsa-sha256). The
  browser's session remembers the request id, the provider and where the
  person was going; ``RelayState`` is only a random reference to that entry,
  never a URL.
* ``acs`` takes the HTTP-POST Response and refuses it, audited and with a
  clear page (400), unless: its ``Destination`` is this provider's ACS on this
  host (checked here, so the reason is clear); the assertion is signed by the
  key in the IdP metadata (always required); audience, Recipient and time
  (60 s of clock skew) hold (pysaml2); the assertion id was never used before
  (a per-schema cache entry lives until the assertion's NotOnOrAfter); and
  ``InResponseTo`` is an outstanding request of this browser for this
  provider, with the RelayState it was sent with. Encrypted assertions are
  decrypted with the provider's SP key.
* The NameID is the subject. The email is the NameID when its format is
  emailAddress, else an ``email``/``mail`` attribute. SAML has no "email
  verified" statement, so an email counts as verified only when the provider
  is set to link by email: enabling that option is the administrator saying
  this IdP's emails are trustworthy.

Single logout (when the IdP metadata names a SingleLogoutService): signing
out of Nimbus after a SAML sign-in sends a signed LogoutRequest to the IdP
(``sign_out_redirect``, registered with accounts' sign-out), whose
LogoutResponse comes back to ``sls``; an IdP-initiated LogoutRequest at
``sls`` ends the Nimbus sessions that signed in with that NameID (and
session index) and is answered with a signed LogoutResponse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import secrets
import time

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, SAMLError
from saml2.response import StatusError
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID
from saml2.samlp import STATUS_SUCCESS
from saml2.sigver import MissingKey, SignatureError, SigverError, verify_redirect_signature
from saml2.validate import ResponseLifetimeExceed, ToEarly

from apps.accounts.models import User, UserSession
from apps.accounts.services import user_sessions_revoke
from apps.audit.models import Outcome
from apps.audit.recorder import record

from . import saml_sp
from .mappings import normalized_attributes
from .models import IdentityLink, IdentityProvider, ProviderKind
from .saml import certificate_body
from .signin import SESSION_PROVIDER, AssertedIdentity, Reason, SsoRefused, record_refusal, refusal_response, sign_in

logger = logging.getLogger(__name__)

PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
# The session key of this browser's outstanding AuthnRequests: {request id: {provider, relay, next, at}}.
PENDING = "identity_saml_pending"
PENDING_LIMIT = 5  # a few tabs may sign in at once; more is a loop or an attack
PENDING_SECONDS = 600
MAX_RESPONSE_BYTES = 512 * 1024
REPLAY_MINIMUM_SECONDS = 2 * saml_sp.ACCEPTED_TIME_DIFF_SECONDS
LOGOUT_SECONDS = 600
EMAIL_ATTRIBUTES = ("email", "mail", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress")
BOUNCED = "nimbus_same_site"


def _provider(slug: str) -> IdentityProvider:
    provider = IdentityProvider.objects.filter(slug=slug, kind=ProviderKind.SAML).first()
    if provider is None:
        raise Http404("No SAML identity provider has that name here.")
    return provider


def _refuse(request, refusal: SsoRefused, *, status: int = 400) -> HttpResponse:
    logger.info("SAML refused (%s): %s", refusal.reason, refusal.detail)
    record_refusal(request, refusal)
    return refusal_response(request, refusal, status=status)


# --- Sign-in --------------------------------------------------------------------------------------------------------


def start(request, provider: IdentityProvider, *, next_url: str = "") -> HttpResponse:
    """Send the person to the IdP with a signed AuthnRequest (HTTP-Redirect)."""
    relay = secrets.token_urlsafe(24)
    try:
        request_id, info = saml_sp.client(request, provider).prepare_for_authenticate(
            entityid=provider.idp_entity_id,
            relay_state=relay,
            binding=BINDING_HTTP_REDIRECT,
            sigalg=saml_sp.SIGNING_ALGORITHM,
            digest_alg=saml_sp.DIGEST_ALGORITHM,
        )
    except (SAMLError, SigverError, ValueError, KeyError) as error:
        # The stored metadata or key cannot make a request: a configuration problem, said plainly.
        logger.warning("SAML AuthnRequest for %s failed: %s", provider.slug, error)
        return _refuse(request, SsoRefused(Reason.IDP_UNREACHABLE, f"request: {error}", provider=provider), status=502)
    now = time.time()
    pending = {
        key: entry
        for key, entry in request.session.get(PENDING, {}).items()
        if now - entry.get("at", 0) < PENDING_SECONDS
    }
    pending[request_id] = {"provider": provider.pk, "relay": relay, "next": next_url, "at": now}
    request.session[PENDING] = dict(sorted(pending.items(), key=lambda item: item[1]["at"])[-PENDING_LIMIT:])
    return HttpResponseRedirect(dict(info["headers"])["Location"])


def _same_site_bounce(request) -> HttpResponse:
    """Post the IdP's form again from this site, so the browser sends its (SameSite=Lax) session cookie.

    A POST from the IdP's site is cross-site: browsers leave Lax cookies out of
    it, and the outstanding request (in the session) could not be found.
    """
    fields = {name: request.POST.get(name, "") for name in ("SAMLResponse", "RelayState")}
    return render(request, "identity/saml_bounce.html", {"fields": fields, "bounced": BOUNCED}, status=200)


def _decoded_response(provider, raw: str) -> bytes:
    if not raw:
        raise SsoRefused(Reason.INVALID_RESPONSE, "no SAMLResponse in the POST", provider=provider)
    if len(raw) > MAX_RESPONSE_BYTES:
        raise SsoRefused(
            Reason.INVALID_RESPONSE, f"SAMLResponse larger than {MAX_RESPONSE_BYTES} bytes", provider=provider
        )
    try:
        return base64.b64decode(raw, validate=False)
    except (binascii.Error, ValueError):
        raise SsoRefused(Reason.INVALID_RESPONSE, "SAMLResponse is not base64", provider=provider) from None


def _check_destination(provider, document: bytes, acs_url: str) -> None:
    """The Response must be addressed to this provider's ACS on this host (tenant, provider and scheme)."""
    try:
        root = fromstring(document, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError) as error:
        raise SsoRefused(Reason.INVALID_RESPONSE, f"not acceptable XML: {error}", provider=provider) from None
    if root.tag != f"{{{PROTOCOL}}}Response":
        raise SsoRefused(Reason.INVALID_RESPONSE, f"not a SAML Response but {root.tag}", provider=provider)
    destination = root.get("Destination")
    if destination != acs_url:
        raise SsoRefused(
            Reason.WRONG_DESTINATION, f"Destination {destination!r}, expected {acs_url!r}", provider=provider
        )


def _reason_for(error: Exception) -> str:
    """pysaml2 says what failed by exception class, or only in the message of a bare Exception."""
    if isinstance(error, (SignatureError, MissingKey)):
        return Reason.INVALID_SIGNATURE
    if isinstance(error, (ResponseLifetimeExceed, ToEarly)):
        return Reason.EXPIRED
    if isinstance(error, StatusError):
        return Reason.IDP_ERROR
    message = str(error)
    if "AudienceRestrictions" in message or "audience" in message.lower():
        return Reason.WRONG_AUDIENCE
    if "recipient" in message.lower():
        return Reason.WRONG_DESTINATION
    if "Signature" in message or "signed" in message:
        return Reason.INVALID_SIGNATURE
    return Reason.INVALID_RESPONSE


def _replay_key(provider: IdentityProvider, assertion_id: str) -> str:
    # The cache's key function adds the schema; the digest keeps an IdP's id (any string) a safe key.
    return f"identity:saml:assertion:{provider.pk}:{hashlib.sha256(assertion_id.encode()).hexdigest()}"


def _verified_response(request, provider: IdentityProvider):
    urls = saml_sp.sp_urls(request, provider)
    raw = request.POST.get("SAMLResponse", "")
    _check_destination(provider, _decoded_response(provider, raw), urls.acs_url)
    try:
        response = saml_sp.client(request, provider).parse_authn_request_response(raw, BINDING_HTTP_POST)
    except Exception as error:  # noqa: BLE001 - pysaml2 raises bare Exception for some checks (audience)
        logger.info("SAML response from %s refused: %r", provider.slug, error)
        raise SsoRefused(_reason_for(error), f"{type(error).__name__}: {error}", provider=provider) from None
    if response is None or getattr(response, "assertion", None) is None:
        raise SsoRefused(Reason.INVALID_RESPONSE, "no valid assertion in the response", provider=provider)
    return response


def _consume(request, provider: IdentityProvider, response) -> dict:
    """Refuse a replayed assertion or an answer to no request of this browser; return the request's entry."""
    assertion_id = response.assertion.id or ""
    key = _replay_key(provider, assertion_id)
    if not assertion_id or cache.get(key) is not None:
        raise SsoRefused(Reason.REPLAYED, f"assertion {assertion_id!r} was used before", provider=provider)
    pending = request.session.get(PENDING, {})
    entry = pending.get(response.in_response_to or "")
    if entry is None or entry.get("provider") != provider.pk:
        raise SsoRefused(
            Reason.STATE_MISMATCH,
            f"InResponseTo {response.in_response_to!r} is no outstanding request of this browser for this provider",
            provider=provider,
        )
    if not secrets.compare_digest(request.POST.get("RelayState", ""), entry.get("relay", "")):
        raise SsoRefused(Reason.STATE_MISMATCH, "RelayState does not match the request's", provider=provider)
    lifetime = max(int((response.not_on_or_after or 0) - time.time()), 0) + saml_sp.ACCEPTED_TIME_DIFF_SECONDS
    if not cache.add(key, 1, timeout=max(lifetime, REPLAY_MINIMUM_SECONDS)):
        raise SsoRefused(Reason.REPLAYED, f"assertion {assertion_id!r} was used concurrently", provider=provider)
    del pending[response.in_response_to]
    request.session[PENDING] = pending
    return entry


def _asserted_identity(provider: IdentityProvider, response) -> AssertedIdentity:
    name_id = response.name_id
    subject = ((name_id.text if name_id is not None else "") or "").strip()
    if not subject:
        raise SsoRefused(Reason.INVALID_RESPONSE, "the assertion has no NameID", provider=provider)
    ava = response.get_identity() or {}
    attributes = normalized_attributes(ava)
    email = subject if name_id.format == NAMEID_FORMAT_EMAILADDRESS else ""
    if not email:
        lowered = {name.lower(): values for name, values in attributes.items()}
        email = next((lowered[name][0] for name in EMAIL_ATTRIBUTES if lowered.get(name)), "")
    session_info = response.session_info()
    facts = {
        "protocol": "saml",
        "name_id": subject,
        "name_id_format": name_id.format or "",
        "name_qualifier": name_id.name_qualifier or "",
        "sp_name_qualifier": name_id.sp_name_qualifier or "",
        "session_index": session_info.get("session_index") or "",
    }
    return AssertedIdentity(
        provider=provider,
        subject=subject,
        email=email.strip(),
        # SAML has no "verified" claim: the provider's link-by-email option is the administrator's trust in it.
        email_verified=bool(email) and provider.link_by_email,
        attributes=attributes,
        protocol_facts=facts,
    )


@csrf_exempt  # the IdP posts here from its own site; the signed assertion is the proof, not a CSRF token
@never_cache
@require_POST
def acs(request, slug: str) -> HttpResponse:
    provider = _provider(slug)
    if settings.SESSION_COOKIE_NAME not in request.COOKIES and not request.POST.get(BOUNCED):
        return _same_site_bounce(request)
    try:
        if not provider.enabled:
            raise SsoRefused(Reason.PROVIDER_DISABLED, provider=provider)
        response = _verified_response(request, provider)
        entry = _consume(request, provider, response)
        identity = _asserted_identity(provider, response)
    except SsoRefused as refusal:
        return _refuse(request, refusal, status=403 if refusal.reason == Reason.PROVIDER_DISABLED else 400)
    try:
        sign_in(request, identity)
    except SsoRefused as refusal:  # already audited by sign_in
        return refusal_response(request, refusal, status=403)
    return HttpResponseRedirect(entry.get("next") or resolve_url(settings.LOGIN_REDIRECT_URL))


# --- Single logout --------------------------------------------------------------------------------------------------


def _logout_key(request_id: str) -> str:
    return f"identity:saml:logout:{hashlib.sha256(request_id.encode()).hexdigest()}"


def sign_out_redirect(request) -> str | None:
    """Where to send a person signing out of Nimbus: the IdP's SLO with a LogoutRequest (or None: nowhere).

    Called by accounts' sign-out view before the session ends; the person is
    signed out of Nimbus whatever happens here.
    """
    facts = request.session.get(SESSION_PROVIDER) or {}
    if facts.get("protocol") != "saml" or not facts.get("name_id"):
        return None
    provider = IdentityProvider.objects.filter(slug=facts.get("slug"), kind=ProviderKind.SAML).first()
    if provider is None or not provider.idp_slo_url:
        return None
    name_id = NameID(
        text=facts["name_id"],
        format=facts.get("name_id_format") or None,
        name_qualifier=facts.get("name_qualifier") or None,
        sp_name_qualifier=facts.get("sp_name_qualifier") or None,
    )
    try:
        client = saml_sp.client(request, provider)
        request_id, logout_request = client.create_logout_request(
            provider.idp_slo_url,
            provider.idp_entity_id,
            name_id=name_id,
            session_indexes=[facts["session_index"]] if facts.get("session_index") else None,
            sign=False,  # the HTTP-Redirect binding signs the query string instead
        )
        info = client.apply_binding(
            BINDING_HTTP_REDIRECT,
            str(logout_request),
            provider.idp_slo_url,
            relay_state=secrets.token_urlsafe(16),
            sign=True,
            sigalg=saml_sp.SIGNING_ALGORITHM,
        )
    except (SAMLError, SigverError, ValueError, KeyError) as error:
        logger.warning("SAML LogoutRequest for %s failed: %s", provider.slug, error)
        return None
    user = request.user if request.user.is_authenticated else None
    cache.set(_logout_key(request_id), {"provider": provider.pk, "user": user.pk if user else None}, LOGOUT_SECONDS)
    record(
        "identity:sso:logout",
        actor=user,
        request=request,
        resource_type="identity.identityprovider",
        resource_id=provider.pk,
        resource_display=provider.name,
        metadata={"provider": provider.slug, "initiated_by": "nimbus", "step": "request_sent"},
    )
    return dict(info["headers"])["Location"]


def _redirect_message_verified(request, provider: IdentityProvider, kind: str) -> None:
    """The HTTP-Redirect signature of a logout message, by the IdP's metadata key (required, rsa-sha256 or better)."""
    message = {name: request.GET[name] for name in (kind, "RelayState", "SigAlg", "Signature") if name in request.GET}
    if "Signature" not in message or "SigAlg" not in message:
        raise SsoRefused(Reason.INVALID_SIGNATURE, f"unsigned {kind}", provider=provider)
    if message["SigAlg"] not in ALLOWED_REDIRECT_SIGNATURES:
        raise SsoRefused(Reason.INVALID_SIGNATURE, f"signature algorithm {message['SigAlg']!r}", provider=provider)
    security = saml_sp.client(request, provider).sec.sec_backend
    try:
        verified = verify_redirect_signature(message, security, cert=certificate_body(provider.idp_signing_certificate))
    except (SigverError, ValueError, binascii.Error) as error:
        raise SsoRefused(Reason.INVALID_SIGNATURE, f"{kind}: {error}", provider=provider) from None
    if not verified:
        raise SsoRefused(Reason.INVALID_SIGNATURE, f"{kind} signature does not verify", provider=provider)


ALLOWED_REDIRECT_SIGNATURES = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
}


def _ended_sessions(provider: IdentityProvider, name_id: str, session_indexes: list[str]) -> tuple[User | None, list]:
    """The signed-in sessions that came from this provider's sign-in of ``name_id`` (and session index, if named)."""
    link = IdentityLink.objects.select_related("user").filter(provider=provider, subject=name_id).first()
    if link is None:
        return None, []
    keys = list(UserSession.objects.filter(user=link.user).values_list("session_key", flat=True))
    ended = []
    for session in Session.objects.filter(session_key__in=keys):
        facts = session.get_decoded().get(SESSION_PROVIDER) or {}
        if facts.get("slug") != provider.slug or facts.get("name_id") != name_id:
            continue
        if session_indexes and facts.get("session_index") not in session_indexes:
            continue
        ended.append(session.session_key)
    return link.user, ended


def _idp_logout_request(request, provider: IdentityProvider) -> HttpResponse:
    _redirect_message_verified(request, provider, "SAMLRequest")
    client = saml_sp.client(request, provider)
    try:
        parsed = client.parse_logout_request(
            request.GET["SAMLRequest"],
            BINDING_HTTP_REDIRECT,
            relay_state=request.GET.get("RelayState"),
            sigalg=request.GET.get("SigAlg"),
            signature=request.GET.get("Signature"),
        )
    except Exception as error:  # noqa: BLE001 - pysaml2 raises many kinds; each is a refusal, never a 500
        raise SsoRefused(_reason_for(error), f"LogoutRequest: {error}", provider=provider) from None
    message = getattr(parsed, "message", None)
    if message is None or message.name_id is None:
        raise SsoRefused(Reason.INVALID_RESPONSE, "LogoutRequest without NameID", provider=provider)
    issuer = (message.issuer.text or "").strip() if message.issuer is not None else ""
    if issuer != provider.idp_entity_id:
        raise SsoRefused(Reason.WRONG_ISSUER, f"LogoutRequest issued by {issuer!r}", provider=provider)
    name_id = (message.name_id.text or "").strip()
    indexes = [(index.text or "").strip() for index in (message.session_index or [])]
    user, keys = _ended_sessions(provider, name_id, [i for i in indexes if i])
    current = request.session.session_key in keys
    ended = user_sessions_revoke(user=user, session_keys=keys) if user is not None and keys else 0
    if current:
        logout(request)
    record(
        "identity:sso:logout",
        actor=user,
        request=request,
        resource_type="identity.identityprovider",
        resource_id=provider.pk,
        resource_display=provider.name,
        metadata={"provider": provider.slug, "initiated_by": "idp", "subject": name_id, "ended": ended},
    )
    answer = client.create_logout_response(message, [BINDING_HTTP_REDIRECT], status=None, sign=False)
    info = client.apply_binding(
        BINDING_HTTP_REDIRECT,
        str(answer),
        provider.idp_slo_url or message.issuer.text,
        relay_state=request.GET.get("RelayState", ""),
        response=True,
        sign=True,
        sigalg=saml_sp.SIGNING_ALGORITHM,
    )
    return HttpResponseRedirect(dict(info["headers"])["Location"])


def _idp_logout_response(request, provider: IdentityProvider) -> HttpResponse:
    _redirect_message_verified(request, provider, "SAMLResponse")
    try:
        parsed = saml_sp.client(request, provider).parse_logout_request_response(
            request.GET["SAMLResponse"], BINDING_HTTP_REDIRECT
        )
    except Exception as error:  # noqa: BLE001 - as above
        raise SsoRefused(_reason_for(error), f"LogoutResponse: {error}", provider=provider) from None
    if parsed is None:
        raise SsoRefused(Reason.INVALID_RESPONSE, "LogoutResponse not acceptable", provider=provider)
    pending = cache.get(_logout_key(parsed.in_response_to or ""))
    if pending is None or pending.get("provider") != provider.pk:
        raise SsoRefused(Reason.STATE_MISMATCH, "LogoutResponse to no request of ours", provider=provider)
    cache.delete(_logout_key(parsed.in_response_to))
    status = parsed.response.status.status_code.value
    record(
        "identity:sso:logout",
        actor=User.objects.filter(pk=pending.get("user")).first() if pending.get("user") else None,
        request=request,
        resource_type="identity.identityprovider",
        resource_id=provider.pk,
        resource_display=provider.name,
        outcome=Outcome.SUCCESS if status == STATUS_SUCCESS else Outcome.ERROR,
        metadata={"provider": provider.slug, "initiated_by": "nimbus", "step": "response_received", "status": status},
    )
    if status == STATUS_SUCCESS:
        messages.success(request, f"You are signed out of Nimbus and of {provider.name}.")
    else:
        messages.warning(request, f"You are signed out of Nimbus, but {provider.name} did not confirm its sign-out.")
    return HttpResponseRedirect(reverse("accounts:sign-in"))


@never_cache
@require_safe
def sls(request, slug: str) -> HttpResponse:
    """The SP's single logout service (HTTP-Redirect): the IdP's LogoutRequest, or its answer to ours."""
    provider = _provider(slug)
    try:
        if "SAMLRequest" in request.GET:
            return _idp_logout_request(request, provider)
        if "SAMLResponse" in request.GET:
            return _idp_logout_response(request, provider)
        raise SsoRefused(Reason.INVALID_RESPONSE, "neither SAMLRequest nor SAMLResponse", provider=provider)
    except SsoRefused as refusal:
        return _refuse(request, refusal)
