"""The sources a person's own account adds, and the system's: profile, password change and reset, invitation
acceptance, ending sessions, timeouts, unlocks and seeded accounts. Each leaves one event with the change, and a
refused or rolled-back change leaves none."""

from __future__ import annotations

import io
import json
import time

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client, RequestFactory
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tenants.utils import schema_context

from apps.accounts import services
from apps.accounts.middleware import LAST_SEEN_AT, SIGNED_IN_AT
from apps.accounts.models import User, UserSession
from apps.accounts.tokens import invitation_token, password_reset_token
from apps.audit.models import AuditEvent
from apps.audit.recorder import bound_request
from apps.tenancy import services as tenancy
from apps.tenancy.context import provider_context

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple"
NEW_PASSWORD = "a-different-horse-entirely-42"
HOST = "acme.localhost"


def events(tenant_or_schema, action: str, **filters) -> list[AuditEvent]:
    schema = getattr(tenant_or_schema, "schema_name", tenant_or_schema)
    with schema_context(schema):
        return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


def signed_in(email: str, password: str = PASSWORD, ip: str = "198.51.100.9") -> Client:
    client = Client(HTTP_HOST=HOST)
    response = client.post("/sign-in/", {"username": email, "password": password}, REMOTE_ADDR=ip)
    assert response.status_code == 302, response.content
    return client


def uid(user) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def assert_user_event(event: AuditEvent, *, actor, user) -> None:
    assert event.outcome == "success"
    assert event.actor_id == (actor.pk if actor else None)
    assert event.resource_type == "accounts:user" and event.resource_id == str(user.pk)
    assert event.resource_display == user.email


@pytest.fixture
def carol(acme):
    with schema_context(acme.schema_name):
        return services.user_create(email="carol@acme.test", password=PASSWORD, display_name="Carol")


@pytest.fixture
def boss(acme):
    with schema_context(acme.schema_name):
        return services.user_create(email="boss@acme.test", password=PASSWORD, is_tenant_admin=True)


# --- Profile ------------------------------------------------------------------------------------


def test_a_profile_change_on_the_page_and_the_api_is_recorded_with_before_and_after(acme, carol):
    client = signed_in("carol@acme.test")
    assert client.post("/account/", {"display_name": "Carol Jones"}).status_code == 302
    [event] = events(acme, "accounts:user:profile_update")
    assert_user_event(event, actor=carol, user=carol)
    assert event.changes == {"display_name": ["Carol", "Carol Jones"]}

    with schema_context(acme.schema_name):
        _, token = services.api_token_create(user=carol, name="cli")
    api = Client(HTTP_HOST=HOST, HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.patch("/api/v1/me/", {"display_name": "C. Jones"}, content_type="application/json")
    assert response.status_code == 200
    assert events(acme, "accounts:user:profile_update")[-1].changes == {"display_name": ["Carol Jones", "C. Jones"]}


def test_a_refused_unchanged_or_rolled_back_profile_change_leaves_no_event(acme, carol):
    client = signed_in("carol@acme.test")
    assert client.post("/account/", {"display_name": "x" * 151}).status_code == 400
    assert client.post("/account/", {"display_name": "Carol"}).status_code == 302  # nothing changed
    with schema_context(acme.schema_name), pytest.raises(RuntimeError), transaction.atomic():
        services.user_update_profile(user=carol, display_name="Never Saved")
        raise RuntimeError("the caller failed after the change")
    assert not events(acme, "accounts:user:profile_update")


# --- Password change and reset -------------------------------------------------------------------


def test_changing_ones_own_password_is_recorded_without_the_passwords(acme, carol):
    client, other = signed_in("carol@acme.test"), signed_in("carol@acme.test")
    form = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert client.post("/account/password/", form).status_code == 302
    [event] = events(acme, "accounts:user:password_change")
    assert_user_event(event, actor=carol, user=carol)
    assert event.source_ip == "127.0.0.1" and event.request_id
    stored = json.dumps([event.changes, event.metadata])
    assert PASSWORD not in stored and NEW_PASSWORD not in stored
    assert other.get("/account/")["Location"].startswith("/sign-in/")  # the other session ended with it


def test_a_refused_password_change_leaves_no_event(acme, carol):
    client = signed_in("carol@acme.test")
    form = {"old_password": "not-my-password", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert client.post("/account/password/", form).status_code == 200
    assert not events(acme, "accounts:user:password_change")


def reset_form(client, user, token: str):
    """Open the link (Django moves the token into the session) and return the set-password URL."""
    response = client.get(f"/password-reset/{uid(user)}/{token}/")
    assert response.status_code == 302, response.content
    return response["Location"]


def test_completing_a_password_reset_is_recorded_with_the_lockout_it_cleared(acme, carol):
    client = Client(HTTP_HOST=HOST)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/sign-in/", {"username": "carol@acme.test", "password": "wrong"}, REMOTE_ADDR="192.0.2.8")
    with schema_context(acme.schema_name):
        token = password_reset_token.make_token(carol)
    url = reset_form(client, carol, token)
    response = client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/password-reset/complete/"
    [event] = events(acme, "accounts:user:password_reset_complete")
    assert_user_event(event, actor=carol, user=carol)
    assert event.metadata["lockout_records_cleared"] >= 1
    assert token not in json.dumps([event.metadata, event.changes]) and NEW_PASSWORD not in json.dumps(event.changes)


def test_a_refused_password_reset_leaves_no_event(acme, carol):
    client = Client(HTTP_HOST=HOST)
    assert client.get(f"/password-reset/{uid(carol)}/not-a-token/").status_code == 200  # "invalid link" page
    with schema_context(acme.schema_name):
        token = password_reset_token.make_token(carol)
    url = reset_form(client, carol, token)
    assert client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": "something-else-12345"}).status_code == 200
    assert not events(acme, "accounts:user:password_reset_complete")


# --- Invitation ----------------------------------------------------------------------------------


def test_accepting_an_invitation_is_recorded_as_the_invited_person(acme, boss):
    with schema_context(acme.schema_name):
        dora, _ = services.user_invite(actor=boss, email="dora@acme.test", base_url=f"http://{HOST}")
        token = invitation_token.make_token(dora)
    client = Client(HTTP_HOST=HOST)
    url = client.get(f"/invitation/{uid(dora)}/{token}/")["Location"]
    assert client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}).status_code == 302
    [event] = events(acme, "accounts:invitation:accept")
    assert_user_event(event, actor=dora, user=dora)
    assert events(acme, "accounts:session:login", actor_id=dora.pk)


def test_a_refused_invitation_acceptance_leaves_no_event(acme, boss):
    with schema_context(acme.schema_name):
        dora, _ = services.user_invite(actor=boss, email="dora@acme.test", base_url=f"http://{HOST}")
        token = invitation_token.make_token(dora)
    client = Client(HTTP_HOST=HOST)
    assert client.get(f"/invitation/{uid(dora)}/bad-token/").status_code == 400
    url = client.get(f"/invitation/{uid(dora)}/{token}/")["Location"]
    assert client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": "not-the-same-12345"}).status_code == 400
    assert not events(acme, "accounts:invitation:accept")


# --- Sessions ended by their owner, and timeouts --------------------------------------------------


def session_row(acme, client) -> UserSession:
    with schema_context(acme.schema_name):
        return UserSession.objects.get(session_key=client.session.session_key)


def test_ending_one_session_the_others_or_all_of_them_is_recorded(acme, carol):
    here, phone, laptop = (signed_in("carol@acme.test") for _ in range(3))
    phone_row = session_row(acme, phone)
    keys = [phone_row.session_key, session_row(acme, laptop).session_key, session_row(acme, here).session_key]
    assert here.post("/account/sessions/", {"session": phone_row.pk}).status_code == 302
    [one] = events(acme, "accounts:session:revoke")
    assert_user_event(one, actor=carol, user=carol)
    assert one.metadata == {"scope": "one", "session_id": phone_row.pk, "ended": 1}

    assert here.post("/account/sessions/", {"all_others": "1"}).status_code == 302
    assert events(acme, "accounts:session:revoke")[-1].metadata == {"scope": "others", "ended": 1}

    assert here.post("/account/sessions/", {"everywhere": "1"}).status_code == 302
    everywhere = events(acme, "accounts:session:revoke")[-1]
    assert everywhere.metadata == {"scope": "everywhere", "ended": 1} and everywhere.actor_id == carol.pk
    stored = json.dumps([[event.metadata, event.changes] for event in events(acme, "accounts:session:revoke")])
    assert not [key for key in keys if key in stored]  # session keys are secrets


def test_ending_a_session_that_is_not_ones_own_or_is_the_current_one_leaves_no_event(acme, carol, boss):
    carols = signed_in("carol@acme.test")
    boss_client = signed_in("boss@acme.test")
    # acme's boss names carol's session: not theirs, a 404.
    assert boss_client.post("/account/sessions/", {"session": session_row(acme, carols).pk}).status_code == 404
    # The current session is kept: nothing ended, nothing recorded.
    assert carols.post("/account/sessions/", {"session": session_row(acme, carols).pk}).status_code == 302
    with schema_context(acme.schema_name), pytest.raises(ValidationError):
        services.user_session_end(user=boss, keep=None, session=session_row(acme, carols))
    assert not events(acme, "accounts:session:revoke")


def test_an_idle_session_ended_by_the_server_is_recorded_as_a_timeout(acme, carol):
    client = signed_in("carol@acme.test")
    assert client.get("/account/").status_code == 200
    assert not events(acme, "accounts:session:timeout")  # an active session is not ended
    with schema_context(acme.schema_name):
        session = client.session
        session[LAST_SEEN_AT] = int(time.time()) - 9 * 3600
        session.save()
    assert client.get("/account/")["Location"].startswith("/sign-in/")
    [event] = events(acme, "accounts:session:timeout")
    assert_user_event(event, actor=carol, user=carol)
    assert event.metadata == {"reason": "idle"}
    assert not events(acme, "accounts:session:logout", actor_id=carol.pk)

    again = signed_in("carol@acme.test")
    with schema_context(acme.schema_name):
        session = again.session
        session[SIGNED_IN_AT] = int(time.time()) - 25 * 3600
        session.save()
    again.get("/account/")
    assert events(acme, "accounts:session:timeout")[-1].metadata == {"reason": "max_age"}


# --- Unlocks by command ----------------------------------------------------------------------------


def test_the_unlock_command_records_each_unlock_as_the_system(acme, carol):
    client = Client(HTTP_HOST=HOST)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/sign-in/", {"username": "carol@acme.test", "password": "wrong"}, REMOTE_ADDR="192.0.2.44")
    call_command("unlock_user", tenant="acme", email="carol@acme.test", ip="192.0.2.44", stdout=io.StringIO())
    address, account = events(acme, "accounts:lockout:unlock")
    assert address.resource_type == "accounts:address" and address.resource_id == "192.0.2.44"
    # axes keeps one record per account and address: forgetting the address took carol's with it.
    assert address.metadata == {"via": "unlock_user", "records_cleared": 1}
    assert_user_event(account, actor=None, user=carol)
    assert account.actor_display == "" and account.metadata == {"via": "unlock_user", "records_cleared": 0}


def test_a_refused_unlock_command_leaves_no_event(acme, carol):
    with pytest.raises(CommandError, match="IPv4"):
        call_command("unlock_user", tenant="acme", email="carol@acme.test", ip="not-an-address")
    with pytest.raises(CommandError, match="No user"):
        call_command("unlock_user", tenant="acme", email="nobody@acme.test")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("unlock_user", tenant="nowhere", email="carol@acme.test")
    assert not events(acme, "accounts:lockout:unlock")


# --- Seeded accounts -----------------------------------------------------------------------------


def test_provisionings_first_admin_is_recorded_as_the_system_even_inside_a_staff_request(provider):
    with provider_context():
        staff = services.user_create(email="prov-staff@nimbus.test", password=None, is_staff=True)
    request = RequestFactory().post("/admin/tenancy/tenant/add/", HTTP_HOST="localhost")
    request.user = staff
    with bound_request(request):
        tenant = tenancy.tenant_provision(
            name="Hooli", slug="hooli", options={"admin_email": "admin@hooli.test", "admin_name": "Gavin"}
        )
    with schema_context(tenant.schema_name):
        admin = User.objects.get(email="admin@hooli.test")
    [event] = events(tenant, "accounts:user:seed")
    assert_user_event(event, actor=None, user=admin)
    assert event.actor_display == "" and event.on_behalf_of == ""  # "system", not the staff member of public
    assert event.metadata == {"via": "provisioning", "password_set": False}
    assert event.changes["is_tenant_admin"] == [None, True]


def test_the_seed_and_create_user_commands_record_as_the_system(acme_dev, acme, monkeypatch):
    monkeypatch.setenv("NIMBUS_DEMO_PASSWORD", "demo-password-for-tests-only")
    call_command("seed_demo", stdout=io.StringIO())
    [seeded] = events(acme_dev, "accounts:user:seed", resource_display="admin@acme-dev.localhost")
    assert seeded.actor_id is None and seeded.metadata == {"via": "seed_demo", "password_set": True}
    assert "demo-password-for-tests-only" not in json.dumps([seeded.changes, seeded.metadata])

    call_command("create_user", tenant="acme", email="cli@acme.test", stdout=io.StringIO())
    [created] = events(acme, "accounts:user:create", resource_display="cli@acme.test")
    assert created.actor_id is None and created.metadata == {"via": "create_user", "password_set": False}


def test_a_refused_or_rolled_back_seed_leaves_no_event(acme, carol):
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_user", tenant="acme", email="carol@acme.test")
    with schema_context(acme.schema_name), pytest.raises(RuntimeError), transaction.atomic():
        services.user_seed(email="gone@acme.test", password=None, via="provisioning")
        raise RuntimeError("the provisioning failed after the seed")
    assert not events(acme, "accounts:user:create", resource_display="carol@acme.test")
    assert not events(acme, "accounts:user:seed", resource_display="gone@acme.test")


def test_an_actor_that_is_nobody_is_not_taken_from_the_request(acme, carol):
    """The recorder's SYSTEM actor: an anonymous user is recorded as nobody too, and neither falls back."""
    request = RequestFactory().post("/", HTTP_HOST=HOST)
    request.user = carol
    with schema_context(acme.schema_name), bound_request(request):
        services.user_seed(email="sys@acme.test", password=None, via="test")
        services.record_user_event("test:anonymous", actor=AnonymousUser(), user=carol)
    assert events(acme, "accounts:user:seed", resource_display="sys@acme.test")[0].actor_id is None
    assert events(acme, "test:anonymous")[0].actor_id is None
