"""The ID token checks the OP test peer cannot be made to break (audience, azp, missing claims, algorithms, key
rotation, userinfo): tokens signed here, the JWKS and userinfo served over real HTTP by the ``peer`` server."""

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from apps.identity.models import IdentityProvider, ProviderKind
from apps.identity.oidc_flow import ProviderBackend
from apps.identity.signin import Reason, SsoRefused

pytestmark = pytest.mark.django_db

ISSUER = "https://idp.example.test"
NONCE = "the-nonce-of-this-flow"


class Signer:
    def __init__(self, kid: str):
        self.kid = kid
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def token(self, **overrides) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": "nimbus", "sub": "alice", "iat": now, "exp": now + 300, "nonce": NONCE}
        claims |= overrides
        for name in [k for k, v in claims.items() if v is None]:
            del claims[name]
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture
def signer():
    return Signer("key-1")


@pytest.fixture
def backend(peer, signer):
    """A backend whose provider's JWKS (at a path of its own, so no cache is shared) is served by ``peer``."""
    path = f"/jwks-{uuid.uuid4().hex}"
    peer.documents[path] = ("application/json", json.dumps({"keys": [signer.jwk()]}).encode())
    provider = IdentityProvider(
        kind=ProviderKind.OIDC,
        slug="unit",
        issuer=ISSUER,
        client_id="nimbus",
        client_secret="s",
        jwks_uri=f"{peer.base}{path}",
        userinfo_endpoint=f"{peer.base}/me-{uuid.uuid4().hex}",
    )
    b = ProviderBackend(provider)
    b.jwks_path = path
    return b


def refused(backend, token) -> str:
    with pytest.raises(SsoRefused) as caught:
        backend.verify_token(token, nonce=NONCE)
    return caught.value.reason


def test_a_good_token_is_accepted(backend, signer):
    assert backend.verify_token(signer.token(), nonce=NONCE)["sub"] == "alice"


def test_audience_must_contain_the_client_id(backend, signer):
    assert refused(backend, signer.token(aud="someone-else")) == Reason.WRONG_AUDIENCE


def test_several_audiences_need_azp_naming_us(backend, signer):
    assert refused(backend, signer.token(aud=["nimbus", "other"])) == Reason.WRONG_AUDIENCE
    assert refused(backend, signer.token(aud=["nimbus", "other"], azp="other")) == Reason.WRONG_AUDIENCE
    assert backend.verify_token(signer.token(aud=["nimbus", "other"], azp="nimbus"), nonce=NONCE)


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "aud", "iss"])
def test_required_claims(backend, signer, claim):
    assert refused(backend, signer.token(**{claim: None})) in (Reason.INVALID_RESPONSE, Reason.WRONG_ISSUER)


def test_issued_in_the_future_beyond_leeway(backend, signer):
    assert refused(backend, signer.token(iat=int(time.time()) + 600)) == Reason.INVALID_RESPONSE


def test_expired_within_leeway_is_accepted_beyond_is_not(backend, signer):
    now = int(time.time())
    assert backend.verify_token(signer.token(exp=now - 30), nonce=NONCE)
    assert refused(backend, signer.token(exp=now - 120)) == Reason.EXPIRED


def test_missing_nonce_is_refused(backend, signer):
    assert refused(backend, signer.token(nonce=None)) == Reason.NONCE_MISMATCH


def test_unsigned_and_symmetric_tokens_are_refused(backend, signer):
    claims = jwt.decode(signer.token(), options={"verify_signature": False})
    assert refused(backend, jwt.encode(claims, None, algorithm="none")) == Reason.INVALID_SIGNATURE
    # HS256 keyed with the client secret: an OP (or anyone knowing the secret) could forge any subject.
    assert refused(backend, jwt.encode(claims, "s" * 32, algorithm="HS256")) == Reason.INVALID_SIGNATURE


def test_garbage_is_refused(backend):
    assert refused(backend, "not-a-jwt") == Reason.INVALID_RESPONSE


def test_rotated_key_is_fetched_once_more(backend, signer, peer):
    backend.verify_token(signer.token(), nonce=NONCE)  # the JWKS is now cached with key-1 only
    rotated = Signer("key-2")
    peer.documents[backend.jwks_path] = ("application/json", json.dumps({"keys": [rotated.jwk()]}).encode())

    assert backend.verify_token(rotated.token(), nonce=NONCE)["sub"] == "alice"
    assert refused(backend, Signer("key-3").token()) == Reason.INVALID_SIGNATURE


def test_email_comes_from_userinfo_when_the_id_token_lacks_it(backend, peer):
    me = backend.provider.userinfo_endpoint.removeprefix(peer.base)
    answer = {"sub": "alice", "email": "alice@example.test", "email_verified": True, "groups": ["a", "b"]}
    peer.documents[me] = ("application/json", json.dumps(answer).encode())

    identity = backend.get_or_create_user("access-token", "id-token", {"sub": "alice", "iss": ISSUER})

    assert identity.email == "alice@example.test" and identity.email_verified
    assert identity.attributes["groups"] == ["a", "b"]


def test_userinfo_about_someone_else_is_refused(backend, peer):
    me = backend.provider.userinfo_endpoint.removeprefix(peer.base)
    peer.documents[me] = ("application/json", json.dumps({"sub": "mallory", "email": "m@example.test"}).encode())

    with pytest.raises(SsoRefused) as caught:
        backend.get_or_create_user("access-token", "id-token", {"sub": "alice"})
    assert caught.value.reason == Reason.INVALID_RESPONSE
