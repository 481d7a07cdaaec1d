"""Signed-in sessions: listed per user, ended one by one or all at once, and by a password change."""

import pytest
from django_tenants.utils import schema_context

from apps.accounts.models import UserSession
from apps.accounts.tests import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(host_client, agent: str):
    client = host_client("acme.localhost")
    client.defaults["HTTP_USER_AGENT"] = agent
    assert client.post("/sign-in/", {"username": "alice@acme.test", "password": PASSWORD}).status_code == 302
    return client


def rows(acme, user=None):
    """Sessions of ``user`` (Alice by default): acme's committed admin may have sessions of its own."""
    with schema_context(acme.schema_name):
        return list(UserSession.objects.filter(user__email=(user or "alice@acme.test")).order_by("created_at"))


def test_each_sign_in_is_listed_and_signing_out_removes_it(host_client, acme, alice):
    laptop, phone = signed_in(host_client, "Laptop"), signed_in(host_client, "Phone")
    page = laptop.get("/account/sessions/").content.decode()
    assert "Laptop" in page and "Phone" in page and "this session" in page
    assert phone.cookies["sessionid"].value not in page  # session keys never reach the page
    phone.post("/sign-out/")
    assert [row.user_agent for row in rows(acme)] == ["Laptop"]


def test_ending_another_session_signs_that_device_out(host_client, acme, alice):
    laptop, phone = signed_in(host_client, "Laptop"), signed_in(host_client, "Phone")
    phone_row = next(row for row in rows(acme) if row.user_agent == "Phone")
    assert laptop.post("/account/sessions/", {"session": phone_row.pk}).status_code == 302
    assert phone.get("/").status_code == 302  # back to sign-in
    assert laptop.get("/").status_code == 200


def test_sign_out_everywhere_else_keeps_this_session(host_client, acme, alice):
    laptop, phone, tablet = (signed_in(host_client, agent) for agent in ("Laptop", "Phone", "Tablet"))
    laptop.post("/account/sessions/", {"all_others": "1"})
    assert [row.user_agent for row in rows(acme)] == ["Laptop"]
    assert phone.get("/").status_code == 302 and tablet.get("/").status_code == 302
    assert laptop.get("/").status_code == 200


def test_another_users_session_cannot_be_ended(host_client, signed_in_client, acme, alice):
    signed_in(host_client, "Laptop")
    alices = rows(acme)[0]
    mallory = signed_in_client(acme, email="mallory@acme.test")
    assert mallory.post("/account/sessions/", {"session": alices.pk}).status_code == 404
    assert mallory.post("/account/sessions/", {"session": "not-a-number"}).status_code == 404
    assert [row.pk for row in rows(acme) if row.user_id == alice.pk] == [alices.pk]


def test_changing_the_password_ends_the_other_sessions(host_client, acme, alice):
    laptop, phone = signed_in(host_client, "Laptop"), signed_in(host_client, "Phone")
    new = "a-brand-new-passphrase-2026"
    laptop.post("/account/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert [row.user_agent for row in rows(acme)] == ["Laptop"]
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 200
