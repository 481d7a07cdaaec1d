"""JWT access and refresh tokens: issue, use, rotation, revocation, tenant binding, and every way to be refused."""

import json
from datetime import timedelta

import jwt as pyjwt
import pytest
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core import mail
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django_tenants.utils import schema_context
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from apps.accounts.forms import SignInForm
from apps.accounts.jwt import AccessToken, RefreshToken
from apps.accounts.models import User, UserSession
from apps.accounts.services import jwt_pair_issue, user_create
from apps.accounts.tests import PASSWORD
from conftest import BROWSER_ADMIN

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-brand-new-passphrase-2026"
ACME, GLOBEX = "acme.localhost", "globex.localhost"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
REVOKE = "/api/v1/auth/token/revoke/"
SIGN_IN_FAILED = SignInForm.error_messages["invalid_login"]


@pytest.fixture
def api(host_client):
    """``api(host).post(path, body)`` and ``api(host).me(access)``: JSON calls to one host."""

    class Api:
        def __init__(self, host):
            self.client = host_client(host)

        def post(self, path, body):
            return self.client.post(path, body, content_type="application/json")

        def me(self, access):
            return self.client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {access}")

        def pair(self, email="alice@acme.test", password=PASSWORD):
            response = self.post(TOKEN, {"email": email, "password": password})
            assert response.status_code == 200, response.content
            return response.json()

    return Api


def assert_refused(response, status=401):
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def test_email_and_password_give_a_pair_whose_access_token_opens_me(api, acme, alice):
    pair = api(ACME).pair()
    assert set(pair) == {"access", "refresh"}
    me = api(ACME).me(pair["access"])
    assert me.status_code == 200
    assert me.json()["email"] == "alice@acme.test" and me.json()["tenant"] == "acme"
    claims = pyjwt.decode(pair["access"], options={"verify_signature": False})
    assert claims["tenant"] == acme.schema_name and claims["token_type"] == "access"
    with schema_context(acme.schema_name):
        stored = OutstandingToken.objects.get(user=alice)
    # Only a digest of the refresh token is kept: the table holds nothing a reader could present.
    assert stored.token.startswith("sha256:") and pair["refresh"] not in stored.token


@pytest.mark.parametrize(
    ("email", "password"),
    [("alice@acme.test", "wrong-password-entirely"), ("nobody@acme.test", PASSWORD), ("disabled@acme.test", PASSWORD)],
    ids=["wrong-password", "unknown-email", "disabled-user"],
)
def test_failed_sign_in_says_the_same_whatever_the_reason(api, acme, alice, email, password):
    with schema_context(acme.schema_name):
        disabled = user_create(email="disabled@acme.test", password=PASSWORD)
        User.objects.filter(pk=disabled.pk).update(is_active=False)
    response = api(ACME).post(TOKEN, {"email": email, "password": password})
    problem = assert_refused(response)
    assert problem["detail"] == SIGN_IN_FAILED
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    with schema_context(acme.schema_name):
        assert not OutstandingToken.objects.exists()


def test_failed_sign_in_reaches_django_with_the_request(api, acme, alice):
    """Lockout (django-axes) counts failures from Django's signal, which needs the HTTP request."""
    seen = []

    def receiver(sender, credentials, request, **kwargs):
        seen.append((credentials.get("username"), request))

    user_login_failed.connect(receiver)
    try:
        api(ACME).post(TOKEN, {"email": "alice@acme.test", "password": "wrong-password-entirely"})
    finally:
        user_login_failed.disconnect(receiver)
    assert len(seen) == 1
    assert seen[0][0] == "alice@acme.test" and isinstance(seen[0][1], HttpRequest)


def test_refresh_rotates_and_a_spent_refresh_token_is_refused(api, acme, alice):
    first = api(ACME).pair()
    second = api(ACME).post(REFRESH, {"refresh": first["refresh"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refresh"] != first["refresh"]
    assert api(ACME).me(second["access"]).status_code == 200
    again = assert_refused(api(ACME).post(REFRESH, {"refresh": first["refresh"]}))
    assert again["code"] == "token_not_valid"
    assert api(ACME).post(REFRESH, {"refresh": second["refresh"]}).status_code == 200


def test_revoked_refresh_token_cannot_be_used_or_revoked_again(api, acme, alice):
    pair = api(ACME).pair()
    response = api(ACME).post(REVOKE, {"refresh": pair["refresh"]})
    assert response.status_code == 204 and response.content == b""
    assert_refused(api(ACME).post(REFRESH, {"refresh": pair["refresh"]}))
    assert_refused(api(ACME).post(REVOKE, {"refresh": pair["refresh"]}))


def test_an_access_token_is_not_a_refresh_token_nor_the_reverse(api, acme, alice):
    pair = api(ACME).pair()
    assert_refused(api(ACME).post(REFRESH, {"refresh": pair["access"]}))
    assert_refused(api(ACME).me(pair["refresh"]))


def test_acme_tokens_are_refused_on_globex_although_the_user_id_exists_there(api, acme, globex):
    """Acme's first admin and globex's have the same id: only the tenant claim tells their tokens apart."""
    pair = api(ACME).pair(email=BROWSER_ADMIN["email"], password=BROWSER_ADMIN["password"])
    acme_admin_id = pyjwt.decode(pair["access"], options={"verify_signature": False})["user_id"]
    with schema_context(globex.schema_name):
        assert User.objects.filter(pk=acme_admin_id).exists()
    assert assert_refused(api(GLOBEX).me(pair["access"]))["code"] == "token_not_valid"
    assert_refused(api(GLOBEX).post(REFRESH, {"refresh": pair["refresh"]}))
    assert_refused(api(GLOBEX).post(REVOKE, {"refresh": pair["refresh"]}))
    # Globex's refusals changed nothing at acme.
    assert api(ACME).me(pair["access"]).status_code == 200
    assert api(ACME).post(REFRESH, {"refresh": pair["refresh"]}).status_code == 200


@pytest.mark.parametrize(
    "foreign", ["localhost", "acme-dev.localhost", GLOBEX], ids=["provider", "sub-tenant", "sibling"]
)
def test_a_tenants_access_token_is_refused_on_every_other_host(api, acme, acme_dev, globex, alice, foreign):
    pair = api(ACME).pair()
    assert_refused(api(foreign).me(pair["access"]))


def test_provider_staff_tokens_are_refused_on_tenant_hosts(api, provider, acme):
    with schema_context(provider.schema_name):
        user_create(email="staff@nimbus.test", password=PASSWORD, is_staff=True)
    pair = api("localhost").pair(email="staff@nimbus.test")
    assert api("localhost").me(pair["access"]).json()["email"] == "staff@nimbus.test"
    assert_refused(api(ACME).me(pair["access"]))
    assert_refused(api(ACME).post(REFRESH, {"refresh": pair["refresh"]}))


def test_acme_credentials_do_not_sign_in_on_globex(api, acme, globex):
    response = api(GLOBEX).post(TOKEN, {"email": BROWSER_ADMIN["email"], "password": BROWSER_ADMIN["password"]})
    assert assert_refused(response)["detail"] == SIGN_IN_FAILED


def test_disabled_users_tokens_are_refused(api, acme, alice):
    pair = api(ACME).pair()
    with schema_context(acme.schema_name):
        User.objects.filter(pk=alice.pk).update(is_active=False)
    assert_refused(api(ACME).me(pair["access"]))
    assert_refused(api(ACME).post(REFRESH, {"refresh": pair["refresh"]}))


def test_deleted_users_tokens_are_refused(api, acme, alice):
    pair = api(ACME).pair()
    with schema_context(acme.schema_name):
        User.objects.filter(pk=alice.pk).delete()
    assert_refused(api(ACME).me(pair["access"]))
    assert_refused(api(ACME).post(REFRESH, {"refresh": pair["refresh"]}))


def signed_in(host_client, agent: str):
    client = host_client(ACME)
    client.defaults["HTTP_USER_AGENT"] = agent
    assert client.post("/sign-in/", {"username": "alice@acme.test", "password": PASSWORD}).status_code == 302
    return client


def test_changing_the_password_ends_other_sessions_and_every_jwt(api, host_client, acme, alice):
    pair = api(ACME).pair()
    laptop, phone = signed_in(host_client, "Laptop"), signed_in(host_client, "Phone")
    response = laptop.post(
        "/account/password/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert_refused(api(ACME).me(pair["access"]))
    assert_refused(api(ACME).post(REFRESH, {"refresh": pair["refresh"]}))
    assert phone.get("/").status_code == 302 and laptop.get("/").status_code == 200
    # Tokens issued right after the change work at once (issue times are not rounded to the second).
    fresh = api(ACME).pair(password=NEW_PASSWORD)
    assert api(ACME).me(fresh["access"]).status_code == 200


def test_resetting_the_password_ends_every_session_and_jwt(api, host_client, acme, alice):
    pair = api(ACME).pair()
    phone = signed_in(host_client, "Phone")
    browser = host_client(ACME)
    browser.post("/password-reset/", {"email": "alice@acme.test"})
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/password-reset/" in line).strip()
    form_url = browser.get(link[link.index("/password-reset/") :])["Location"]
    response = browser.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert_refused(api(ACME).me(pair["access"]))
    assert_refused(api(ACME).post(REFRESH, {"refresh": pair["refresh"]}))
    assert phone.get("/").status_code == 302


def test_sign_out_everywhere_ends_this_session_other_sessions_and_every_jwt(api, host_client, acme, alice):
    pairs = [api(ACME).pair(), api(ACME).pair()]
    laptop, phone = signed_in(host_client, "Laptop"), signed_in(host_client, "Phone")
    response = laptop.post("/account/sessions/", {"everywhere": "1"})
    assert response.status_code == 302 and response["Location"] == "/sign-in/"
    assert laptop.get("/").status_code == 302 and phone.get("/").status_code == 302
    for pair in pairs:
        assert_refused(api(ACME).me(pair["access"]))
        assert_refused(api(ACME).post(REFRESH, {"refresh": pair["refresh"]}))
    with schema_context(acme.schema_name):
        assert not UserSession.objects.filter(user=alice).exists()
    assert api(ACME).me(api(ACME).pair()["access"]).status_code == 200


def forged(claims: dict, key: str) -> str:
    """An access token with every claim Nimbus writes, signed with ``key``."""
    now = timezone.now()
    standard = {"token_type": "access", "jti": "f" * 32, "iat": now.timestamp(), "exp": int(now.timestamp()) + 300}
    return pyjwt.encode({**standard, **claims}, key, algorithm="HS256")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer not-a-token",
        "Bearer a.b.c",
        "Bearer eyJhbGciOiJub25lIn0.eyJ1c2VyX2lkIjoiMSJ9.",
        "Bearer one two",
        "Bearer \u00e9\u00e9\u00e9",
    ],
    ids=["no-credential", "not-a-jwt", "three-garbled-parts", "alg-none", "two-credentials", "latin-1"],
)
def test_garbled_jwts_get_a_401_problem(api, acme, header):
    response = api(ACME).client.get("/api/v1/me/", HTTP_AUTHORIZATION=header)
    problem = assert_refused(response)
    assert problem["title"] == "Unauthorized"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the test settings' short key
def test_tokens_signed_with_the_raw_secret_key_or_tampered_with_are_refused(api, acme, alice):
    claims = {"user_id": str(alice.pk), "tenant": acme.schema_name}
    assert_refused(api(ACME).me(forged(claims, settings.SECRET_KEY)))
    genuine = api(ACME).pair()["access"]
    header, payload, signature = genuine.split(".")
    claims = json.loads(pyjwt.utils.base64url_decode(payload))
    claims["user_id"] = "1"  # the tenant's first administrator
    tampered = pyjwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    assert_refused(api(ACME).me(f"{header}.{tampered}.{signature}"))


def test_expired_tokens_are_refused(api, acme, alice):
    with schema_context(acme.schema_name):
        refresh = RefreshToken.for_user(alice)
        access = refresh.access_token
        long_ago = timezone.now() - timedelta(days=2)
        access.set_exp(from_time=long_ago)
        refresh.set_exp(from_time=long_ago)
    assert assert_refused(api(ACME).me(str(access)))["code"] == "token_not_valid"
    assert_refused(api(ACME).post(REFRESH, {"refresh": str(refresh)}))


def test_access_token_issued_before_a_revocation_is_refused(api, acme, alice):
    with schema_context(acme.schema_name):
        before = AccessToken()
        before["user_id"], before["tenant"] = str(alice.pk), acme.schema_name
        User.objects.filter(pk=alice.pk).update(tokens_valid_after=timezone.now())
        after = AccessToken()
        after["user_id"], after["tenant"] = str(alice.pk), acme.schema_name
    assert_refused(api(ACME).me(str(before)))
    assert api(ACME).me(str(after)).status_code == 200


def test_no_pair_is_issued_for_a_user_whose_password_changed_since_it_was_checked(acme, alice):
    """Signing in with the old password while it is being changed yields nothing (the row is re-read, locked)."""
    with schema_context(acme.schema_name):
        stale = User.objects.get(pk=alice.pk)
        changed = User.objects.get(pk=alice.pk)
        changed.set_password(NEW_PASSWORD)
        changed.save()
        with pytest.raises(ValidationError):
            jwt_pair_issue(user=stale)
        assert not OutstandingToken.objects.filter(user=alice).exists()


def test_refresh_token_without_a_record_is_refused(api, acme, alice):
    """A token Nimbus signed but never recorded (e.g. restored from an old backup) is not honoured."""
    with schema_context(acme.schema_name):
        unrecorded = RefreshToken.for_user(alice)
    assert_refused(api(ACME).post(REFRESH, {"refresh": str(unrecorded)}))


def test_openapi_schema_documents_jwt(host_client, acme):
    schema = host_client(ACME).get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert schema["components"]["securitySchemes"]["jwt"]["bearerFormat"] == "JWT"
    for path in (TOKEN, REFRESH, REVOKE):
        operation = schema["paths"][path]["post"]
        assert "requestBody" in operation
        assert "application/problem+json" in operation["responses"]["401"]["content"]
    assert "AccountsTokenPair" in str(schema["paths"][TOKEN]["post"]["responses"]["200"])
    assert {"jwt": []} in schema["paths"]["/api/v1/me/"]["get"]["security"]
