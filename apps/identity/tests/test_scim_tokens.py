"""SCIM tokens: shown once and stored as a digest, revoked, expiring; who may manage them; tenants never crossed."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.audit.models import AuditEvent
from apps.identity.models import ScimToken
from apps.identity.services import authenticate_scim_token, scim_token_create, scim_token_revoke

from .test_pages_and_api import api_for

pytestmark = pytest.mark.django_db

API = "/api/v1/identity/scim-tokens/"


def _secret(raw: str) -> str:
    # After the prefix's "_": the secret itself may contain "_" (URL-safe base64).
    return raw.removeprefix("scim_").partition("_")[2]


def test_create_returns_the_token_once_and_stores_only_its_digest(acme):
    with schema_context(acme.schema_name):
        token, raw = scim_token_create(name="Okta provisioning", expires_in_days=30)
        stored = ScimToken.objects.get(pk=token.pk)
        row = json.dumps(model_to_dict(stored), default=str)
    assert raw.startswith(f"scim_{token.prefix}_") and len(_secret(raw)) >= 40
    assert raw not in row and _secret(raw) not in row
    assert stored.digest != _secret(raw) and len(stored.digest) == 64
    assert stored.expires_at is not None and stored.revoked_at is None


@pytest.mark.parametrize(
    ("name", "days", "field"),
    [("", None, "name"), ("x" * 101, None, "name"), ("ok", 0, "expires_in_days"), ("ok", 10_000, "expires_in_days")],
)
def test_create_refuses_bad_input_with_the_reason(acme, name, days, field):
    with schema_context(acme.schema_name), pytest.raises(ValidationError) as refused:
        scim_token_create(name=name, expires_in_days=days)
    assert field in refused.value.message_dict


def test_authenticate_accepts_the_token_and_refuses_wrong_revoked_and_expired_ones(acme):
    with schema_context(acme.schema_name):
        good, raw = scim_token_create(name="Okta")
        assert authenticate_scim_token(raw) == good
        assert ScimToken.objects.get(pk=good.pk).last_used_at is not None
        for wrong in (
            "",
            "scim_",
            raw[:-1] + ("A" if raw[-1] != "A" else "B"),
            raw.replace("scim_", "nmb_"),
            f"scim_{good.prefix}_",
            "scim_zzzzzzzzzzzz_" + _secret(raw),
            raw + "x",
        ):
            assert authenticate_scim_token(wrong) is None, wrong

        revoked, revoked_raw = scim_token_create(name="Old")
        scim_token_revoke(token=revoked)
        assert authenticate_scim_token(revoked_raw) is None

        expiring, expiring_raw = scim_token_create(name="Short", expires_in_days=1)
        assert authenticate_scim_token(expiring_raw) == expiring
        ScimToken.objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert authenticate_scim_token(expiring_raw) is None


def test_last_used_is_written_at_most_once_a_minute(acme):
    with schema_context(acme.schema_name):
        token, raw = scim_token_create(name="Okta")
        recent = timezone.now() - timedelta(seconds=30)
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=recent)
        authenticate_scim_token(raw)
        assert ScimToken.objects.get(pk=token.pk).last_used_at == recent
        stale = timezone.now() - timedelta(minutes=2)
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=stale)
        authenticate_scim_token(raw)
        assert ScimToken.objects.get(pk=token.pk).last_used_at > stale


def test_acme_token_never_authenticates_in_globex_schema(acme, globex):
    with schema_context(acme.schema_name):
        _token, raw = scim_token_create(name="Acme's IdP")
    with schema_context(globex.schema_name):
        assert authenticate_scim_token(raw) is None
        assert not ScimToken.objects.exists()


def test_events_are_recorded_without_the_token(acme, empty_streams):
    with schema_context(acme.schema_name):
        token, raw = scim_token_create(name="Okta")
        scim_token_revoke(token=token)
        scim_token_revoke(token=token)  # twice: nothing more happens, nothing more is recorded
        events = list(AuditEvent.objects.filter(action__startswith="identity:scim_token:").order_by("id"))
        everything = json.dumps(
            [[e.action, e.resource_display, e.changes, e.metadata] for e in AuditEvent.objects.all()], default=str
        )
        digest = ScimToken.objects.get(pk=token.pk).digest
    assert [e.action for e in events] == ["identity:scim_token:create", "identity:scim_token:revoke"]
    assert events[0].resource_id == str(token.pk) and token.prefix in events[0].resource_display
    assert _secret(raw) not in everything and digest not in everything


def test_admin_creates_a_token_on_the_page_sees_it_once_and_revokes_it_after_confirming(admin, acme):
    created = admin.post("/identity/scim-tokens/", {"name": "Okta provisioning", "expires_in_days": "90"})
    assert created.status_code == 200 and "no-cache" in created["Cache-Control"]
    with schema_context(acme.schema_name):
        token = ScimToken.objects.get(name="Okta provisioning")
    page = created.content.decode()
    raw = page.split('id="scim-token-new">', 1)[1].split("<", 1)[0]
    with schema_context(acme.schema_name):
        assert authenticate_scim_token(raw) == token
    listing = admin.get("/identity/").content.decode()
    assert "Okta provisioning" in listing and f"scim_{token.prefix}_" in listing and _secret(raw) not in listing

    confirm = admin.get(f"/identity/scim-tokens/{token.pk}/revoke/")
    assert confirm.status_code == 200 and b"Revoke the SCIM token" in confirm.content
    with schema_context(acme.schema_name):
        assert ScimToken.objects.get(pk=token.pk).revoked_at is None  # asking is not doing
    assert admin.post(f"/identity/scim-tokens/{token.pk}/revoke/").status_code == 302
    with schema_context(acme.schema_name):
        assert ScimToken.objects.get(pk=token.pk).revoked_at is not None
        assert authenticate_scim_token(raw) is None


def test_a_refused_page_form_says_why(admin):
    response = admin.post("/identity/scim-tokens/", {"name": "Okta", "expires_in_days": "5000"})
    assert response.status_code == 400 and b"days, or never" in response.content


def test_plain_user_is_refused_the_page_actions(plain, acme):
    with schema_context(acme.schema_name):
        token, _raw = scim_token_create(name="Okta")
    assert plain.post("/identity/scim-tokens/", {"name": "Mine"}).status_code == 403
    assert plain.get(f"/identity/scim-tokens/{token.pk}/revoke/").status_code == 403
    assert plain.post(f"/identity/scim-tokens/{token.pk}/revoke/").status_code == 403
    with schema_context(acme.schema_name):
        assert ScimToken.objects.get(pk=token.pk).revoked_at is None
        assert not ScimToken.objects.filter(name="Mine").exists()


def test_api_creates_with_the_token_once_lists_without_it_and_revokes(acme):
    api = api_for(acme, is_tenant_admin=True)
    created = api.post(API, {"name": "Entra ID", "expires_in_days": 30}, content_type="application/json")
    assert created.status_code == 201 and created["Cache-Control"] == "no-store"
    body = created.json()
    raw = body["token"]
    assert raw.startswith(f"scim_{body['prefix']}_") and body["active"] is True and "digest" not in body
    with schema_context(acme.schema_name):
        assert authenticate_scim_token(raw).pk == body["id"]

    listed = api.get(API)
    assert listed.status_code == 200 and _secret(raw) not in listed.content.decode()
    [listed_token] = listed.json()["results"]
    assert listed_token["name"] == "Entra ID" and "token" not in listed_token and "digest" not in listed_token
    one = api.get(f"{API}{body['id']}/").json()
    assert "token" not in one and "digest" not in one and one["name"] == "Entra ID"

    revoked = api.post(f"{API}{body['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["active"] is False and revoked.json()["revoked_at"]
    with schema_context(acme.schema_name):
        assert authenticate_scim_token(raw) is None


def test_api_refuses_bad_input_with_400(acme):
    api = api_for(acme, is_tenant_admin=True)
    for payload in (
        {},
        {"name": ""},
        {"name": "x", "expires_in_days": 0},
        {"name": "x", "expires_in_days": 9999},
        {"name": "x", "token": "mine"},
    ):
        response = api.post(API, payload, content_type="application/json")
        assert response.status_code == 400, payload


def test_api_refuses_a_plain_user(acme):
    with schema_context(acme.schema_name):
        token, _raw = scim_token_create(name="Okta")
    api = api_for(acme)
    assert api.get(API).status_code == 403
    assert api.post(API, {"name": "Mine"}, content_type="application/json").status_code == 403
    assert api.post(f"{API}{token.pk}/revoke/").status_code in (403, 404)
    with schema_context(acme.schema_name):
        assert ScimToken.objects.get(pk=token.pk).revoked_at is None


def test_acme_admin_cannot_see_or_revoke_globex_tokens(acme, globex, signed_in_client):
    with schema_context(globex.schema_name):
        theirs, raw = scim_token_create(name="Globex IdP")
    api = api_for(acme, is_tenant_admin=True)
    assert api.get(f"{API}{theirs.pk}/").status_code == 404
    assert api.post(f"{API}{theirs.pk}/revoke/").status_code == 404
    assert "Globex IdP" not in api.get(API).content.decode()
    page = signed_in_client(acme, email="boss2@identity.test", is_tenant_admin=True)
    assert page.post(f"/identity/scim-tokens/{theirs.pk}/revoke/").status_code == 404
    with schema_context(globex.schema_name):
        assert ScimToken.objects.get(pk=theirs.pk).revoked_at is None
        assert authenticate_scim_token(raw) == theirs
