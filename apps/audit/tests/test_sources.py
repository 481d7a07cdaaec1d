"""The sources that record: the request middleware, sign-in events, tokens, delegation and user administration."""

from __future__ import annotations

import json
import logging
import smtplib

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client, RequestFactory
from django_tenants.utils import schema_context

from apps.accounts import services
from apps.accounts.services import api_token_create, user_create
from apps.audit.middleware import ACTION, AuditRequestMiddleware
from apps.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"
HOST = "acme.localhost"


def events(tenant, action: str, **filters) -> list[AuditEvent]:
    with schema_context(tenant.schema_name):
        return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


def make_user(tenant, email: str, **flags):
    with schema_context(tenant.schema_name):
        return user_create(email=email, password=flags.pop("password", PASSWORD), **flags)


def api_client(tenant, user) -> Client:
    with schema_context(tenant.schema_name):
        _, token = api_token_create(user=user, name="tests")
    return Client(HTTP_HOST=f"{tenant.slug}.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")


def sign_in(client, email: str, password: str = PASSWORD, ip: str = "198.51.100.7"):
    return client.post("/sign-in/", {"username": email, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def boss(acme):
    return make_user(acme, "boss@acme.test", display_name="Boss", is_tenant_admin=True)


@pytest.fixture
def carol(acme):
    return make_user(acme, "carol@acme.test", display_name="Carol Jones")


# --- The request middleware --------------------------------------------------------------------


def test_a_write_request_is_recorded_with_method_path_status_and_latency(acme, boss):
    response = api_client(acme, boss).post(
        "/api/v1/users/?note=secret-value",
        {"email": "dora@acme.test", "invite": False},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    [event] = events(acme, ACTION, actor_id=boss.pk, metadata__path="/api/v1/users/")
    assert event.outcome == "success" and event.actor_display == "boss@acme.test"
    assert event.metadata["method"] == "POST" and event.metadata["status"] == 201
    assert isinstance(event.metadata["latency_ms"], int | float) and event.metadata["latency_ms"] >= 0
    assert set(event.metadata) == {"method", "path", "status", "latency_ms"}
    # Neither the query string nor the body is kept.
    stored = json.dumps([event.metadata, event.changes, event.resource_display])
    assert "secret-value" not in stored and "dora@acme.test" not in stored


def test_a_plain_user_posting_to_an_admin_api_leaves_a_denied_event(acme, carol):
    response = api_client(acme, carol).post("/api/v1/users/", {"email": "x@acme.test"}, content_type="application/json")
    assert response.status_code == 403
    [event] = events(acme, ACTION, actor_id=carol.pk)
    assert event.outcome == "denied" and event.metadata["status"] == 403 and event.metadata["method"] == "POST"
    assert not events(acme, "accounts:user:create", resource_display="x@acme.test")


def test_a_refused_read_is_recorded_but_an_answered_read_is_not(acme, host_client, boss, carol):
    before = events(acme, ACTION)
    assert host_client(HOST).get("/api/v1/users/").status_code == 401
    [refused] = [event for event in events(acme, ACTION) if event not in before]
    assert refused.outcome == "denied" and refused.metadata["method"] == "GET" and refused.actor_id is None

    admin = api_client(acme, boss)
    assert admin.get("/api/v1/users/").status_code == 200
    assert admin.head("/api/v1/users/").status_code == 200
    assert len(events(acme, ACTION)) == len(before) + 1


def test_a_failed_write_is_recorded_outside_the_views_transaction(acme, boss):
    response = api_client(acme, boss).post("/api/v1/users/", {"email": "not-an-email"}, content_type="application/json")
    assert response.status_code == 400
    [event] = events(acme, ACTION, actor_id=boss.pk, metadata__status=400)
    assert event.outcome == "error"


def test_an_exception_is_recorded_as_an_error_and_still_raised(acme):
    def explode(request):
        raise RuntimeError("the view failed")

    request = RequestFactory().post("/things/1/", HTTP_HOST=HOST)
    request.tenant, request.user = acme, AnonymousUser()
    with schema_context(acme.schema_name), pytest.raises(RuntimeError):
        AuditRequestMiddleware(explode)(request)
    [event] = events(acme, ACTION, metadata__path="/things/1/")
    assert event.outcome == "error" and event.metadata["status"] == 500


def test_a_failing_audit_write_is_logged_and_the_response_kept(acme, boss, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("no audit table here")

    monkeypatch.setattr("apps.audit.middleware.record", broken)
    with caplog.at_level(logging.ERROR, logger="apps.audit.middleware"):
        response = api_client(acme, boss).post(
            "/api/v1/users/", {"email": "eve@acme.test", "invite": False}, content_type="application/json"
        )
    assert response.status_code == 201
    assert "Could not record the audit event of a request" in caplog.text


def test_requests_without_a_tenant_health_checks_and_static_files_are_not_recorded(acme, host_client):
    before = len(events(acme, ACTION))
    assert host_client("nowhere.localhost").post("/anything/").status_code == 404
    assert host_client(HOST).get("/healthz").status_code == 200
    host_client(HOST).post(f"{settings.STATIC_URL}nothing.css")
    host_client(HOST).get(f"{settings.STATIC_URL}nothing.css")
    assert len(events(acme, ACTION)) == before


# --- Sign-in, sign-out, failures, lockouts ---------------------------------------------------------


def test_sign_in_and_sign_out_are_recorded(acme, host_client, carol):
    client = host_client(HOST)
    assert sign_in(client, "carol@acme.test").status_code == 302
    [login] = events(acme, "accounts:session:login", actor_id=carol.pk)
    assert login.outcome == "success" and login.resource_id == str(carol.pk)
    assert login.source_ip == "198.51.100.7"
    client.post("/sign-out/")
    [logout] = events(acme, "accounts:session:logout", actor_id=carol.pk)
    assert logout.resource_display == "carol@acme.test"


def test_a_failed_sign_in_is_denied_and_names_the_email_but_never_the_password(acme, host_client, carol):
    client = host_client(HOST)
    assert sign_in(client, "carol@acme.test", "Wrong-Pa55word!").status_code == 200
    [failed] = events(acme, "accounts:session:login_failed", resource_display="carol@acme.test")
    assert failed.outcome == "denied" and failed.actor_id is None and failed.resource_id == str(carol.pk)

    # Someone typing their password into the email field (the form refuses it first; other callers may not).
    with schema_context(acme.schema_name):
        user_login_failed.send(
            sender=__name__, credentials={"username": "Tr0ub4dor&3-password-like", "password": "whatever-Secret-9"}
        )
    stored = json.dumps(
        [[e.resource_display, e.metadata, e.changes] for e in events(acme, "accounts:session:login_failed")]
    ) + json.dumps([e.metadata for e in events(acme, ACTION)])
    for secret in ("Wrong-Pa55word!", "Tr0ub4dor&3-password-like", "whatever-Secret-9"):
        assert secret not in stored
    assert events(acme, "accounts:session:login_failed", resource_display="[not an email address]")


def test_a_lockout_is_recorded(acme, host_client, carol):
    client = host_client(HOST)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "carol@acme.test", "wrong-password", ip="192.0.2.77")
    [locked] = events(acme, "accounts:session:locked_out", resource_display="carol@acme.test")
    assert locked.outcome == "denied" and locked.source_ip == "192.0.2.77"


# --- Tokens ----------------------------------------------------------------------------------------


def test_api_tokens_created_and_revoked_are_recorded_without_their_secret(acme, carol):
    with schema_context(acme.schema_name):
        token, secret = services.api_token_create(user=carol, name="ci")
        services.api_token_revoke(token=token, actor=carol)
    [created] = events(acme, "accounts:token:create", resource_id=str(token.pk))
    [revoked] = events(acme, "accounts:token:revoke", resource_id=str(token.pk))
    assert created.actor_id == revoked.actor_id == carol.pk
    assert created.resource_type == "accounts:api_token" and token.prefix in created.resource_display
    assert secret.rsplit("_", 1)[1] not in json.dumps([created.resource_display, created.metadata])


TOKEN, JSON = "/api/v1/auth/token/", "application/json"
CAROL = {"email": "carol@acme.test", "password": PASSWORD}


def test_jwt_obtain_and_revoke_are_recorded(acme, carol):
    client = Client(HTTP_HOST=HOST)
    pair = client.post(TOKEN, CAROL, content_type=JSON).json()
    assert "refresh" in pair
    assert client.post(f"{TOKEN}refresh/", {"refresh": pair["refresh"]}, content_type=JSON).status_code == 200
    [obtained] = events(acme, "accounts:jwt:obtain", actor_id=carol.pk)
    assert obtained.outcome == "success"
    fresh = client.post(TOKEN, CAROL, content_type=JSON).json()
    assert client.post(f"{TOKEN}revoke/", {"refresh": fresh["refresh"]}, content_type=JSON).status_code == 204
    assert len(events(acme, "accounts:jwt:revoke", actor_id=carol.pk)) == 1
    assert len(events(acme, "accounts:jwt:obtain", actor_id=carol.pk)) == 2  # a refresh is not a sign-in


# --- Delegated access ----------------------------------------------------------------------------


def test_opening_a_tenant_as_a_delegate_records_on_whose_behalf(signed_in_client, host_client, provider, acme):
    staff = signed_in_client(provider, email="staff@nimbus.test", is_staff=True, is_superuser=True)
    link = staff.post(f"/admin/tenancy/tenant/{acme.pk}/open/")["Location"]
    token = link.rstrip("/").rsplit("/", 1)[1]
    client = host_client(HOST)
    assert client.get(f"/delegate/{token}/").status_code == 200
    assert client.post(f"/delegate/{token}/").status_code == 302

    [opened] = events(acme, "accounts:delegation:open")
    assert opened.on_behalf_of == f"public:{staff.user.pk}:staff@nimbus.test"
    assert opened.resource_type == "tenancy:tenant" and opened.resource_id == str(acme.pk)
    [login] = events(acme, "accounts:session:login", actor_id=opened.actor_id)
    assert login.on_behalf_of == opened.on_behalf_of
    # The one-time link's token is not kept in the request's event.
    [request_event] = events(acme, ACTION, actor_id=opened.actor_id, metadata__method="POST")
    assert request_event.metadata["path"] == "/delegate/[redacted]/" and token not in json.dumps(request_event.metadata)


# --- User administration, in the service's transaction --------------------------------------------


def test_user_administration_is_recorded_with_its_actor_and_changes(acme, boss, carol):
    base_url = f"http://{HOST}"
    with schema_context(acme.schema_name):
        dora = services.user_admin_create(actor=boss, email="dora@acme.test", password=None, display_name="Dora")
        services.user_admin_update(actor=boss, user=carol, display_name="Carol Smith", email="carol.s@acme.test")
        services.user_disable(actor=boss, user=carol)
        services.user_enable(actor=boss, user=carol)
        services.user_send_password_reset(actor=boss, user=carol, base_url=base_url)
        invited, created = services.user_invite(actor=boss, email="erin@acme.test", base_url=base_url)
        services.user_admin_unlock(actor=boss, user=carol)

    def one(action, user):
        [event] = events(acme, action, resource_type="accounts:user", resource_id=str(user.pk))
        assert event.actor_id == boss.pk and event.outcome == "success"
        return event

    assert one("accounts:user:create", dora).changes["email"] == [None, "dora@acme.test"]
    assert one("accounts:user:update", carol).changes == {
        "email": ["carol@acme.test", "carol.s@acme.test"],
        "display_name": ["Carol Jones", "Carol Smith"],
    }
    assert one("accounts:user:disable", carol).changes == {"is_active": [True, False]}
    assert one("accounts:user:enable", carol).changes == {"is_active": [False, True]}
    assert one("accounts:user:reset_password", carol).metadata == {}
    assert created and one("accounts:user:create", invited).metadata["invited"] is True
    one("accounts:user:invite", invited)
    assert "records_cleared" in one("accounts:user:unlock", carol).metadata


def test_a_rolled_back_service_call_leaves_no_event(acme, boss, carol):
    with schema_context(acme.schema_name), pytest.raises(RuntimeError), transaction.atomic():
        services.user_admin_update(actor=boss, user=carol, display_name="Never Saved")
        raise RuntimeError("the caller failed after the change")
    assert not events(acme, "accounts:user:update", resource_id=str(carol.pk))


def test_an_email_that_cannot_be_sent_leaves_no_event(acme, boss, carol, monkeypatch):
    def refuse(*args, **kwargs):
        raise smtplib.SMTPException("down")

    monkeypatch.setattr(services, "send_mail", refuse)
    with schema_context(acme.schema_name):
        with pytest.raises(ValidationError):
            services.user_send_password_reset(actor=boss, user=carol, base_url=f"http://{HOST}")
        with pytest.raises(ValidationError):
            services.user_invite(actor=boss, email="fay@acme.test", base_url=f"http://{HOST}")
    assert not events(acme, "accounts:user:reset_password", resource_id=str(carol.pk))
    assert not events(acme, "accounts:user:invite", resource_display="fay@acme.test")
    assert not events(acme, "accounts:user:create", resource_display="fay@acme.test")


def test_an_account_policy_change_is_recorded_with_before_and_after(acme, boss):
    with schema_context(acme.schema_name):
        services.account_policy_update(actor=boss, min_password_length=16)
    [event] = events(acme, "accounts:policy:update", actor_id=boss.pk)
    # Settings about passwords are not passwords: their values are kept (min_password_length is not a secret).
    assert event.changes["min_password_length"][1] == 16
