"""Personal API tokens and /api/v1/me/: shown once, hashed, per tenant, revocable, expiring; problem+json errors."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_user_client(signed_in_client, acme):
    return signed_in_client(acme, email="dev@acme.test")


def bearer(host_client, host, token):
    return host_client(host).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_token_is_shown_once_and_stored_only_as_a_digest(acme_user_client, acme):
    response = acme_user_client.post("/account/tokens/", {"name": "CI pipeline", "expires_in_days": "30"})
    assert response.status_code == 200
    plaintext = response.context["created"]
    assert plaintext.startswith("nmb_") and plaintext in response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0")
    with schema_context(acme.schema_name):
        stored = ApiToken.objects.get()
    assert plaintext.split("_")[-1] not in (stored.digest, stored.prefix)
    listing = acme_user_client.get("/account/tokens/").content.decode()
    assert "CI pipeline" in listing and plaintext not in listing


def test_token_authenticates_me_on_its_own_tenant_only(host_client, acme, globex, acme_user_client):
    token = acme_user_client.post("/account/tokens/", {"name": "t", "expires_in_days": ""}).context["created"]
    response = bearer(host_client, "acme.localhost", token)
    assert response.status_code == 200
    assert response.json() == {
        "id": acme_user_client.user.pk,
        "email": "dev@acme.test",
        "display_name": "",
        "is_tenant_admin": False,
        "tenant": "acme",
    }
    foreign = bearer(host_client, "globex.localhost", token)
    assert foreign.status_code == 401
    assert foreign["Content-Type"] == "application/problem+json"
    assert foreign.json()["detail"] == "The API token is invalid, expired or revoked."


def test_revoked_and_expired_tokens_are_refused(host_client, acme, acme_user_client):
    with schema_context(acme.schema_name):
        revoked, revoked_text = api_token_create(user=acme_user_client.user, name="old")
        expired, expired_text = api_token_create(user=acme_user_client.user, name="short", expires_in_days=1)
        ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert acme_user_client.post(f"/account/tokens/{revoked.pk}/revoke/").status_code == 302
    assert bearer(host_client, "acme.localhost", revoked_text).status_code == 401
    assert bearer(host_client, "acme.localhost", expired_text).status_code == 401


def test_someone_elses_token_cannot_be_revoked(signed_in_client, acme, acme_user_client):
    with schema_context(acme.schema_name):
        token, _ = api_token_create(user=acme_user_client.user, name="mine")
    other = signed_in_client(acme, email="other@acme.test")
    assert other.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    with schema_context(acme.schema_name):
        assert ApiToken.objects.get(pk=token.pk).revoked_at is None


@pytest.mark.parametrize(
    "header", ["Bearer nmb_", "Bearer nmb_abc", "Bearer nmb_deadbeef0000_wrong", "Bearer nmb_\u00e9_x"]
)
def test_garbled_tokens_get_a_401_problem(host_client, acme, header):
    response = host_client("acme.localhost").get("/api/v1/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"


def test_anonymous_api_call_is_a_401_with_a_challenge(host_client, acme):
    response = host_client("acme.localhost").get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


def test_session_authenticates_the_api_too(acme_user_client):
    assert acme_user_client.get("/api/v1/me/").json()["email"] == "dev@acme.test"


def test_last_use_is_recorded(host_client, acme, acme_user_client):
    with schema_context(acme.schema_name):
        token, plaintext = api_token_create(user=acme_user_client.user, name="used")
    bearer(host_client, "acme.localhost", plaintext)
    with schema_context(acme.schema_name):
        assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_token_of_a_disabled_user_is_refused(host_client, acme, acme_user_client):
    with schema_context(acme.schema_name):
        _, plaintext = api_token_create(user=acme_user_client.user, name="t")
        type(acme_user_client.user).objects.filter(pk=acme_user_client.user.pk).update(is_active=False)
    assert bearer(host_client, "acme.localhost", plaintext).status_code == 401


def test_bad_token_form_input_is_a_form_error(acme_user_client):
    response = acme_user_client.post("/account/tokens/", {"name": "", "expires_in_days": "12345"})
    assert response.status_code == 400
    assert response.context["created"] is None
