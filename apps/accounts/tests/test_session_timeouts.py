"""Idle and absolute session timeouts from the tenant's policy, and the per-session cap (clocks set, never slept on)."""

import json
import time

import pytest
from django_tenants.utils import schema_context

from apps.accounts.middleware import LAST_SEEN_AT, MAX_AGE_SECONDS, SIGNED_IN_AT
from apps.accounts.models import UserSession
from apps.accounts.services import account_policy_update, api_token_create, user_create
from apps.accounts.tests import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(host_client, alice):
    """Alice, signed in through the sign-in page on acme's host."""
    client = host_client("acme.localhost")
    assert client.post("/sign-in/", {"username": "alice@acme.test", "password": PASSWORD}).status_code == 302
    return client


def session_of(client, tenant):
    with schema_context(tenant.schema_name):
        return dict(client.session.items())


def set_clocks(client, tenant, **values):
    """Move a session's stored times (seconds ago) or cap, as if time had passed."""
    with schema_context(tenant.schema_name):
        session = client.session
        now = int(time.time())
        for key, session_key in (("signed_in", SIGNED_IN_AT), ("last_seen", LAST_SEEN_AT)):
            if key in values:
                session[session_key] = now - values[key]
        if "cap" in values:
            session[MAX_AGE_SECONDS] = values["cap"]
        for key in values.get("remove", ()):
            session.pop(key, None)
        session.save()


def session_rows(tenant):
    with schema_context(tenant.schema_name):
        return UserSession.objects.count()


def test_signing_in_starts_both_clocks(browser, acme):
    stored = session_of(browser, acme)
    assert stored[SIGNED_IN_AT] == stored[LAST_SEEN_AT]
    assert isinstance(stored[SIGNED_IN_AT], int)


def test_an_idle_session_is_signed_out_with_a_message(browser, acme):
    assert session_rows(acme) == 1
    set_clocks(browser, acme, signed_in=9 * 3600, last_seen=8 * 3600 + 1)
    response = browser.get("/account/tokens/")
    assert response.status_code == 302 and response["Location"] == "/sign-in/?next=/account/tokens/"
    page = browser.get(response["Location"]).content.decode()
    assert "You were signed out after 480 minutes without activity." in page
    assert session_rows(acme) == 0
    assert browser.get("/account/")["Location"].startswith("/sign-in/")


def test_the_idle_limit_comes_from_the_tenants_policy(browser, acme, alice):
    with schema_context(acme.schema_name):
        boss = user_create(email="boss@acme.test", password=None, is_tenant_admin=True)
        account_policy_update(actor=boss, session_idle_minutes=30)
    set_clocks(browser, acme, last_seen=29 * 60)
    assert browser.get("/account/").status_code == 200
    set_clocks(browser, acme, last_seen=31 * 60)
    response = browser.get("/account/", follow=True)
    assert "You were signed out after 30 minutes without activity." in response.content.decode()


def test_a_session_past_its_maximum_length_is_signed_out_however_active(browser, acme):
    set_clocks(browser, acme, signed_in=24 * 3600 + 1, last_seen=10)
    response = browser.get("/account/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/sign-in/")
    assert "your session reached its maximum length of 24 hours" in response.content.decode()
    assert session_rows(acme) == 0


def test_a_per_session_cap_shortens_the_maximum_length(browser, acme):
    set_clocks(browser, acme, signed_in=3500, last_seen=10, cap=3600)
    assert browser.get("/account/").status_code == 200
    set_clocks(browser, acme, signed_in=3601, last_seen=10)
    response = browser.get("/account/", follow=True)
    assert "your session reached its maximum length of 1 hour" in response.content.decode()


def test_activity_moves_the_last_seen_time_at_most_once_a_minute(browser, acme):
    set_clocks(browser, acme, last_seen=20)
    before = session_of(browser, acme)[LAST_SEEN_AT]
    assert browser.get("/account/").status_code == 200
    assert session_of(browser, acme)[LAST_SEEN_AT] == before  # not written again within the minute

    set_clocks(browser, acme, last_seen=10 * 60)
    stale = session_of(browser, acme)[LAST_SEEN_AT]
    assert browser.get("/account/").status_code == 200
    assert session_of(browser, acme)[LAST_SEEN_AT] >= stale + 9 * 60


def test_a_session_from_before_the_clocks_gets_them_instead_of_ending(browser, acme):
    set_clocks(browser, acme, remove=(SIGNED_IN_AT, LAST_SEEN_AT))
    assert browser.get("/account/").status_code == 200
    stored = session_of(browser, acme)
    assert SIGNED_IN_AT in stored and LAST_SEEN_AT in stored


def test_an_htmx_request_is_sent_to_sign_in_as_a_whole_page(browser, acme):
    set_clocks(browser, acme, last_seen=9 * 3600)
    response = browser.get("/account/tokens/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/sign-in/?next=/account/tokens/"


def test_an_expired_session_gets_401_problem_on_the_api(browser, acme):
    assert browser.get("/api/v1/me/").status_code == 200
    set_clocks(browser, acme, last_seen=9 * 3600)
    response = browser.get("/api/v1/me/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    problem = json.loads(response.content)
    assert problem["code"] == "session_expired"
    assert problem["detail"] == "You were signed out after 480 minutes without activity. Sign in again."
    assert browser.get("/api/v1/me/").status_code == 401  # the session is gone, not just refused once


def test_an_api_token_is_judged_on_its_own_when_the_session_beside_it_expired(browser, acme, alice):
    with schema_context(acme.schema_name):
        _token, plaintext = api_token_create(user=alice, name="cli")
    set_clocks(browser, acme, last_seen=9 * 3600)
    response = browser.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert response.status_code == 200 and json.loads(response.content)["email"] == "alice@acme.test"
    assert session_rows(acme) == 0


def test_the_session_cookie_outlives_the_longest_policy(browser, settings):
    assert settings.SESSION_COOKIE_AGE >= 90 * 24 * 3600
    assert browser.cookies["sessionid"]["max-age"] == settings.SESSION_COOKIE_AGE
