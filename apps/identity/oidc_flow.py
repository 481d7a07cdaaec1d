"""OpenID Connect sign-in against the tenant's own IdPs: authorization code flow, PKCE (S256), state and nonce.

Built on mozilla-django-oidc 5.0.2, made per tenant and per provider: its
authentication-request view and its backend read their configuration through
``get_settings``, which we shadow with an instance method answering from the
``IdentityProvider`` row of the current schema (never from global settings).
What we keep from the library: the state, nonce and PKCE verifier generation
and their place in the session (``session["oidc_states"][state]``), the
authorization request, and the token request's shape (``authenticate``).

What we replace, and why:

* ``verify_token`` — the ID token is validated here with PyJWT, not by the
  library's ``_verify_jws``, which skips the audience (``verify_aud=False``),
  has no issuer check and takes one global algorithm. Subclassing its pieces
  would have meant overriding almost all of them, so the hybrid the research
  suggested is used: the library's request/state handling, our validation.
  Checked: signature with the provider's JWKS (asymmetric algorithms only),
  ``iss`` equal to the provider's issuer, ``aud`` containing the client id (and
  ``azp`` equal to it when present or when there are several audiences),
  ``exp``/``iat``/``sub`` present (60 s leeway), the nonce of this flow.
* ``retrieve_matching_jwk``, ``get_token``, ``get_userinfo`` — the library
  calls ``requests`` directly; ours go through ``apps.core.outbound`` (the
  private-address guard). The JWKS is cached per (schema, provider, jwks_uri)
  in the Django cache and fetched again once when a token names an unknown key.
* ``get_or_create_user`` — returns the ``AssertedIdentity``; finding or
  refusing the user is ``signin.sign_in``'s job (links, verified email, JIT).
* The callback view is our own: it takes the flow out of the session (one use
  only: a replayed callback finds no state), checks the IdP's ``error`` and the
  RFC 9207 ``iss`` parameter, and turns every failure into ``SsoRefused`` with
  its reason, audited, answered with the clear page (400; 502 when the IdP
  cannot be reached) — never a 500.

Several providers may be enabled in one tenant; there is one callback URL per
tenant host (``/identity/oidc/callback/``) and the flow's session entry names
the provider that started it, the schema it started in and where to go after.
The discovery document is fetched again at the start of a sign-in when the
stored copy is older than a day.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpResponse, HttpResponseRedirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from apps.core import outbound

from . import services
from .mappings import normalized_attributes
from .models import IdentityProvider, ProviderKind
from .signin import AssertedIdentity, Reason, SsoRefused, record_refusal, refusal_response, sign_in

logger = logging.getLogger(__name__)

CALLBACK_URL_NAME = "identity:oidc-callback"
SESSION_STATES = "oidc_states"  # mozilla-django-oidc's own session key: state -> {nonce, code_verifier, added_on}
LEEWAY_SECONDS = 60
FLOW_LIFETIME_SECONDS = 15 * 60  # a sign-in left at the IdP longer than this starts again
DISCOVERY_MAX_AGE = timedelta(days=1)
JWKS_CACHE_SECONDS = 60 * 60
MAX_TOKEN_RESPONSE_BYTES = 256_000
MAX_JWKS_BYTES = 256_000
MAX_USERINFO_BYTES = 256_000
# Bad or unexpected input is a 400; these are not the person's answer's fault.
STATUS_BY_REASON = {Reason.IDP_UNREACHABLE: 502, Reason.PROVIDER_DISABLED: 403}
# Only asymmetric signatures: HS* would make the client secret the key, and "none" is no signature at all.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class _ProviderSettings:
    """``get_settings`` answered from one provider (an instance method shadows the library's staticmethod)."""

    provider: IdentityProvider | None = None

    def get_settings(self, attr, *args):
        provider = self.provider
        table = {
            "OIDC_OP_AUTHORIZATION_ENDPOINT": provider.authorization_endpoint,
            "OIDC_OP_TOKEN_ENDPOINT": provider.token_endpoint,
            "OIDC_OP_USER_ENDPOINT": provider.userinfo_endpoint,
            "OIDC_OP_JWKS_ENDPOINT": provider.jwks_uri,
            "OIDC_RP_CLIENT_ID": provider.client_id,
            "OIDC_RP_CLIENT_SECRET": provider.client_secret,
            "OIDC_RP_SCOPES": provider.scopes,
            "OIDC_AUTHENTICATION_CALLBACK_URL": CALLBACK_URL_NAME,
            "OIDC_USE_PKCE": True,
            "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
            "OIDC_USE_NONCE": True,
            "OIDC_TOKEN_USE_BASIC_AUTH": False,  # client_secret_post
            "OIDC_STORE_ACCESS_TOKEN": False,
            "OIDC_STORE_ID_TOKEN": False,
            "OIDC_AUTH_REQUEST_EXTRA_PARAMS": {},
            "OIDC_ALLOW_UNSECURED_JWT": False,
        }
        if attr in table:
            return table[attr]
        return import_from_settings(attr, *args)


class ProviderAuthenticationRequestView(_ProviderSettings, OIDCAuthenticationRequestView):
    """The library's authorization request for one provider (``ProviderAuthenticationRequestView(provider=…)``)."""


class ProviderBackend(_ProviderSettings, OIDCAuthenticationBackend):
    """The library's code exchange for one provider, with our ID token checks and guarded HTTP.

    Not an entry of AUTHENTICATION_BACKENDS: the callback calls it directly and
    ``authenticate`` returns the ``AssertedIdentity`` (``signin`` logs in).
    """

    def __init__(self, provider: IdentityProvider):
        self.provider = provider
        self.UserModel = get_user_model()
        self.OIDC_OP_TOKEN_ENDPOINT = provider.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = provider.userinfo_endpoint
        self.OIDC_OP_JWKS_ENDPOINT = provider.jwks_uri
        self.OIDC_RP_CLIENT_ID = provider.client_id
        self.OIDC_RP_CLIENT_SECRET = provider.client_secret
        self.OIDC_RP_SIGN_ALGO = "RS256"  # unused: verify_token accepts any of SIGNING_ALGORITHMS
        self.OIDC_RP_IDP_SIGN_KEY = None

    def _refused(self, reason: str, detail: str, subject: str = "") -> SsoRefused:
        return SsoRefused(reason, detail, provider=self.provider, subject=subject)

    # --- HTTP through the guard -------------------------------------------------------------------------------

    def get_token(self, payload):
        try:
            answer = outbound.send(
                "POST",
                self.OIDC_OP_TOKEN_ENDPOINT,
                data=payload,
                headers={"Accept": "application/json"},
                max_bytes=MAX_TOKEN_RESPONSE_BYTES,
            )
        except outbound.OutboundRefused as refused:
            raise self._refused(Reason.IDP_UNREACHABLE, f"token endpoint: {refused}") from None
        if answer.status >= 500:
            raise self._refused(Reason.IDP_UNREACHABLE, f"token endpoint answered HTTP {answer.status}")
        body = _json_object(answer.content)
        if answer.status != 200:
            # RFC 6749 §5.2: error and error_description are meant to be shown; nothing secret is in them.
            error = f"{(body or {}).get('error', '')} {(body or {}).get('error_description', '')}".strip()
            raise self._refused(Reason.INVALID_RESPONSE, f"token endpoint HTTP {answer.status}: {error[:200]}")
        if body is None or not isinstance(body.get("id_token"), str):
            raise self._refused(Reason.INVALID_RESPONSE, "the token response has no ID token")
        return body

    def get_userinfo(self, access_token, id_token, payload):
        if not self.OIDC_OP_USER_ENDPOINT or not isinstance(access_token, str) or not access_token:
            return {}
        try:
            answer = outbound.send(
                "GET",
                self.OIDC_OP_USER_ENDPOINT,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
                max_bytes=MAX_USERINFO_BYTES,
            )
        except outbound.OutboundRefused as refused:
            raise self._refused(Reason.IDP_UNREACHABLE, f"userinfo endpoint: {refused}") from None
        if answer.status >= 500:
            raise self._refused(Reason.IDP_UNREACHABLE, f"userinfo endpoint answered HTTP {answer.status}")
        if answer.status != 200 or answer.content_type.lower().startswith("application/jwt"):
            # Signed userinfo answers are not supported; the ID token is the signed statement we rely on.
            detail = f"userinfo answered HTTP {answer.status} {answer.content_type}"
            raise self._refused(Reason.INVALID_RESPONSE, detail)
        claims = _json_object(answer.content)
        if claims is None:
            raise self._refused(Reason.INVALID_RESPONSE, "userinfo did not answer with a JSON object")
        # OIDC Core 5.3.2: the userinfo sub must be the ID token's, or the answer is about someone else.
        if claims.get("sub") != payload.get("sub"):
            raise self._refused(Reason.INVALID_RESPONSE, "userinfo is about another subject", payload.get("sub", ""))
        return claims

    def _jwks(self, *, fresh: bool = False) -> dict:
        digest = hashlib.sha256(self.OIDC_OP_JWKS_ENDPOINT.encode()).hexdigest()[:16]
        key = f"identity:oidc:jwks:{connection.schema_name}:{self.provider.pk}:{digest}"
        jwks = None if fresh else cache.get(key)
        if jwks is None:
            try:
                answer = outbound.fetch(self.OIDC_OP_JWKS_ENDPOINT, max_bytes=MAX_JWKS_BYTES, accept="application/json")
            except outbound.OutboundRefused as refused:
                raise self._refused(Reason.IDP_UNREACHABLE, f"jwks_uri: {refused}") from None
            jwks = _json_object(answer.content)
            if jwks is None or not isinstance(jwks.get("keys"), list):
                raise self._refused(Reason.INVALID_RESPONSE, "jwks_uri did not answer with a JSON Web Key Set")
            cache.set(key, jwks, JWKS_CACHE_SECONDS)
        return jwks

    def retrieve_matching_jwk(self, token):
        header = _header(token, self)
        for fresh in (False, True):  # a key the cached set lacks may be new (rotation): fetch once more
            found = _matching_key(self._jwks(fresh=fresh), header)
            if found is not None:
                try:
                    return jwt.PyJWK(found, algorithm=header["alg"])
                except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as error:
                    raise self._refused(Reason.INVALID_SIGNATURE, f"unusable signing key: {error}") from None
        raise self._refused(Reason.INVALID_SIGNATURE, f"no key {header.get('kid')!r} for {header['alg']} in the JWKS")

    # --- The ID token -----------------------------------------------------------------------------------------

    def verify_token(self, token, **kwargs):
        if not isinstance(token, str):
            raise self._refused(Reason.INVALID_RESPONSE, "the ID token is not a string")
        key = self.retrieve_matching_jwk(token)
        alg = _header(token, self)["alg"]
        provider = self.provider
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=provider.client_id,
                issuer=provider.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise self._refused(Reason.EXPIRED, "ID token expired") from None
        except jwt.InvalidIssuerError:
            raise self._refused(Reason.WRONG_ISSUER, f"ID token iss is not {provider.issuer}") from None
        except jwt.InvalidAudienceError:
            raise self._refused(Reason.WRONG_AUDIENCE, f"ID token aud does not contain {provider.client_id}") from None
        except jwt.InvalidSignatureError:
            raise self._refused(Reason.INVALID_SIGNATURE, "ID token signature does not verify") from None
        except jwt.MissingRequiredClaimError as error:
            raise self._refused(Reason.INVALID_RESPONSE, f"ID token lacks {error.claim}") from None
        except jwt.ImmatureSignatureError:
            raise self._refused(Reason.INVALID_RESPONSE, "ID token issued in the future (clock skew?)") from None
        except jwt.PyJWTError as error:
            raise self._refused(Reason.INVALID_RESPONSE, f"ID token: {type(error).__name__}") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > 255:
            raise self._refused(Reason.INVALID_RESPONSE, "ID token sub is empty, not a string or too long")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        azp = claims.get("azp")
        if (len(audiences) > 1 or azp is not None) and azp != provider.client_id:
            raise self._refused(Reason.WRONG_AUDIENCE, f"ID token azp is {azp!r}, not the client id", subject)
        expected_nonce = kwargs.get("nonce")
        token_nonce = claims.get("nonce")
        if (
            not expected_nonce
            or not isinstance(token_nonce, str)
            or not hmac.compare_digest(token_nonce.encode(), expected_nonce.encode())
        ):
            raise self._refused(Reason.NONCE_MISMATCH, "ID token nonce is not this sign-in's", subject)
        return claims

    # --- From claims to the asserted identity ----------------------------------------------------------------

    def get_or_create_user(self, access_token, id_token, payload):
        claims = dict(payload)
        if "email" not in claims:
            # Many IdPs put email only in userinfo; ID token claims win where both speak.
            claims = {**self.get_userinfo(access_token, id_token, payload), **payload}
        email = claims.get("email")
        email = email.strip() if isinstance(email, str) else ""
        verified = claims.get("email_verified")
        return AssertedIdentity(
            provider=self.provider,
            subject=payload["sub"],
            email=email,
            email_verified=verified is True or (isinstance(verified, str) and verified.lower() == "true"),
            attributes=normalized_attributes(claims),
        )


def _json_object(content: bytes) -> dict | None:
    try:
        value = json.loads(content)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _header(token: str, backend: ProviderBackend) -> dict:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise backend._refused(Reason.INVALID_RESPONSE, "the ID token is not a JWS") from None
    if header.get("alg") not in SIGNING_ALGORITHMS:
        raise backend._refused(Reason.INVALID_SIGNATURE, f"ID token algorithm {header.get('alg')!r} is not accepted")
    return header


def _matching_key(jwks: dict, header: dict) -> dict | None:
    """The JWKS entry for the token's kid and alg (a kid-less token matches only a one-key set)."""
    candidates = [
        k
        for k in jwks.get("keys", [])
        if isinstance(k, dict) and k.get("use", "sig") == "sig" and k.get("alg", header["alg"]) == header["alg"]
    ]
    kid = header.get("kid")
    if kid is None:
        return candidates[0] if len(candidates) == 1 else None
    return next((k for k in candidates if k.get("kid") == kid), None)


# --- Start ------------------------------------------------------------------------------------------------------


def _fresh(provider: IdentityProvider) -> IdentityProvider:
    """The provider with its discovery document fetched again when the stored copy is older than a day."""
    fetched_at = provider.discovery_fetched_at
    if fetched_at is not None and timezone.now() - fetched_at < DISCOVERY_MAX_AGE:
        return provider
    try:
        return services.provider_update(provider=provider, refresh=True)
    except ValidationError as error:
        # The endpoints stored at the last good fetch still serve; the sign-in says so if they fail too.
        logger.warning("OIDC discovery refresh failed for %s: %s", provider.slug, "; ".join(error.messages))
        return provider


def start(request, provider: IdentityProvider, *, next_url: str = "") -> HttpResponse:
    """Send the person to the provider's authorization endpoint; remember the flow under its state."""
    provider = _fresh(provider)
    view = ProviderAuthenticationRequestView(provider=provider)
    view.setup(request)
    response = view.get(request)
    state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
    # The library's own redirect target (read from ?next, unchecked against our rules) is not used.
    request.session.pop("oidc_login_next", None)
    request.session[SESSION_STATES][state].update(
        provider=provider.pk, schema=connection.schema_name, next=next_url or ""
    )
    request.session.modified = True
    return response


# --- Callback ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Flow:
    provider: IdentityProvider
    nonce: str
    code_verifier: str
    next_url: str


def _take_flow(request) -> _Flow:
    """The flow this callback's state names, removed from the session whatever happens next (one use only)."""
    state = request.GET.get("state", "")
    states = request.session.get(SESSION_STATES)
    entry = states.pop(state, None) if isinstance(states, dict) and state else None
    if entry is not None:
        request.session.modified = True
        request.session.save()  # consumed now, even if the exchange below fails or takes long
    if not isinstance(entry, dict) or "provider" not in entry:
        raise SsoRefused(Reason.STATE_MISMATCH, "unknown or already used state")
    if entry.get("schema") != connection.schema_name:
        raise SsoRefused(Reason.STATE_MISMATCH, "state started on another tenant")
    provider = IdentityProvider.objects.filter(pk=entry["provider"], kind=ProviderKind.OIDC).first()
    if provider is None:
        raise SsoRefused(Reason.STATE_MISMATCH, "the provider of this state no longer exists")
    if time.time() - float(entry.get("added_on") or 0) > FLOW_LIFETIME_SECONDS:
        raise SsoRefused(Reason.EXPIRED, "the sign-in was started too long ago", provider=provider)
    return _Flow(provider, entry.get("nonce") or "", entry.get("code_verifier") or "", entry.get("next") or "")


def _exchange(request, flow: _Flow) -> AssertedIdentity:
    provider = flow.provider
    issuer = request.GET.get("iss")
    if issuer is not None and issuer != provider.issuer:
        # RFC 9207 (error answers included): the answer comes from another IdP than this flow went to (mix-up).
        raise SsoRefused(Reason.WRONG_ISSUER, f"callback iss {issuer[:200]!r}", provider=provider)
    error = request.GET.get("error")
    if error:
        description = request.GET.get("error_description", "")
        raise SsoRefused(Reason.IDP_ERROR, f"{error[:100]}: {description[:300]}".rstrip(": "), provider=provider)
    if not request.GET.get("code"):
        raise SsoRefused(Reason.INVALID_RESPONSE, "the callback has no code", provider=provider)
    if not provider.enabled:
        raise SsoRefused(Reason.PROVIDER_DISABLED, "disabled during the sign-in", provider=provider)
    backend = ProviderBackend(provider)
    try:
        identity = backend.authenticate(request, nonce=flow.nonce, code_verifier=flow.code_verifier)
    except SsoRefused:
        raise
    except (ValueError, KeyError, TypeError) as error:
        # Malformed answers the checks above did not foresee: refused, never a server error.
        logger.warning("OIDC callback for %s: unexpected %s", provider.slug, type(error).__name__)
        raise SsoRefused(Reason.INVALID_RESPONSE, type(error).__name__, provider=provider) from None
    if not isinstance(identity, AssertedIdentity):
        raise SsoRefused(Reason.INVALID_RESPONSE, "no identity in the IdP's answer", provider=provider)
    return identity


@never_cache
@require_GET  # not HEAD: a prefetcher's HEAD would spend the state (and sign the person in) unseen
def callback(request) -> HttpResponse:
    """Where the IdP sends the person back: check everything, then ``signin.sign_in`` and go on."""
    try:
        flow = _take_flow(request)
        identity = _exchange(request, flow)
    except SsoRefused as refusal:
        record_refusal(request, refusal)
        return refusal_response(request, refusal, status=STATUS_BY_REASON.get(refusal.reason, 400))
    try:
        sign_in(request, identity)
    except SsoRefused as refusal:  # already audited by sign_in
        return refusal_response(request, refusal, status=403)
    return HttpResponseRedirect(flow.next_url or "/")
