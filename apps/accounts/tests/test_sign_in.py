"""Signing in and out, password change and reset, per tenant host."""

import re

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.accounts.tests import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(acme):
    with schema_context(acme.schema_name):
        return user_create(email="alice@acme.test", password=PASSWORD, display_name="Alice")


def sign_in(client, email, password):
    return client.post("/sign-in/", {"username": email, "password": password})


def test_sign_in_on_the_tenant_host_rotates_the_session_and_opens_the_dashboard(host_client, acme, alice):
    client = host_client("acme.localhost")
    with schema_context(acme.schema_name):
        before = SessionStore()
        before["visited"] = True
        before.save()
    client.cookies["sessionid"] = before.session_key

    response = sign_in(client, "Alice@Acme.test", PASSWORD)

    assert response.status_code == 302 and response["Location"] == "/"
    after = client.cookies["sessionid"].value
    assert after != before.session_key
    with schema_context(acme.schema_name):
        assert not SessionStore().exists(before.session_key)
    assert client.cookies["sessionid"]["httponly"]
    assert client.cookies["sessionid"]["samesite"] == "Lax"
    assert b"Acme Corporation" in client.get("/").content


@pytest.mark.parametrize(("email", "password"), [("alice@acme.test", "wrong"), ("nobody@acme.test", PASSWORD)])
def test_failed_sign_in_says_the_same_thing_whether_or_not_the_email_exists(host_client, alice, email, password):
    response = sign_in(host_client("acme.localhost"), email, password)
    assert response.status_code == 200
    assert "That email and password do not match an active account here." in response.content.decode()


def test_disabled_user_cannot_sign_in_and_is_told_nothing_more(host_client, acme, alice):
    with schema_context(acme.schema_name):
        User.objects.filter(pk=alice.pk).update(is_active=False)
    response = sign_in(host_client("acme.localhost"), "alice@acme.test", PASSWORD)
    assert "do not match an active account here" in response.content.decode()


def test_a_tenants_credentials_do_not_work_on_another_tenants_host(host_client, alice, globex):
    response = sign_in(host_client("globex.localhost"), "alice@acme.test", PASSWORD)
    assert response.status_code == 200
    assert "do not match" in response.content.decode()


def test_a_tenants_session_cookie_is_worthless_on_another_tenants_host(host_client, acme, globex, alice):
    acme_client = host_client("acme.localhost")
    sign_in(acme_client, "alice@acme.test", PASSWORD)
    stolen = acme_client.cookies["sessionid"].value

    globex_client = host_client("globex.localhost")
    globex_client.cookies["sessionid"] = stolen
    response = globex_client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/")


def test_sign_out_needs_a_post_and_ends_the_session(host_client, alice):
    client = host_client("acme.localhost")
    sign_in(client, "alice@acme.test", PASSWORD)
    assert client.get("/sign-out/").status_code == 405
    assert client.post("/sign-out/").status_code == 302
    assert client.get("/").status_code == 302


def test_changing_the_password_replaces_the_old_one(host_client, alice):
    client = host_client("acme.localhost")
    sign_in(client, "alice@acme.test", PASSWORD)
    weak = client.post("/account/password/", {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 200 and "too short" in weak.content.decode()
    new = "a-brand-new-passphrase-2026"
    response = client.post("/account/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert sign_in(host_client("acme.localhost"), "alice@acme.test", PASSWORD).status_code == 200
    assert sign_in(host_client("acme.localhost"), "alice@acme.test", new).status_code == 302


def _reset_link(host_client, host, email) -> str:
    mail.outbox.clear()
    response = host_client(host).post("/password-reset/", {"email": email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    return re.search(r"https?://\S+", mail.outbox[0].body).group(0)


def test_password_reset_by_email_on_the_tenant_host(host_client, alice):
    link = _reset_link(host_client, "acme.localhost", "alice@acme.test")
    assert link.startswith("http://acme.localhost/password-reset/")
    client = host_client("acme.localhost")
    form_page = client.get(link.removeprefix("http://acme.localhost"), follow=True)
    new = "reset-to-something-long-2026"
    response = client.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert response.status_code == 302
    assert sign_in(host_client("acme.localhost"), "alice@acme.test", new).status_code == 302


def test_password_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(host_client, acme):
    mail.outbox.clear()
    response = host_client("acme.localhost").post("/password-reset/", {"email": "ghost@acme.test"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


def test_a_reset_link_from_one_tenant_is_refused_on_another(host_client, alice, globex):
    with schema_context(globex.schema_name):
        # Ids repeat across schemas: a twin with Alice's id and email, so only the token's schema binding
        # can stop the replay.
        User.objects.create(pk=alice.pk, email="alice@acme.test", password=alice.password)
    link = _reset_link(host_client, "acme.localhost", "alice@acme.test")
    path = link.removeprefix("http://acme.localhost")
    response = host_client("globex.localhost").get(path, follow=True)
    assert "This link is invalid or has expired" in response.content.decode()


def test_provider_staff_sign_in_on_the_provider_host(host_client, provider):
    user_create(email="ops@nimbus.test", password=PASSWORD, is_staff=True)
    client = host_client("localhost")
    assert sign_in(client, "ops@nimbus.test", PASSWORD).status_code == 302
    page = client.get("/").content.decode()
    assert "ops@nimbus.test" in page and "Acme Corporation" in page


def test_provisioning_with_an_admin_email_creates_the_first_tenant_admin():
    from apps.tenancy import services

    tenant = services.tenant_provision(
        name="Initrode", slug="initrode", options={"admin_email": "boss@initrode.test", "admin_password": PASSWORD}
    )
    with schema_context(tenant.schema_name):
        boss = User.objects.get()
    assert (boss.email, boss.is_tenant_admin, boss.check_password(PASSWORD)) == ("boss@initrode.test", True, True)


def test_create_user_command(acme, capsys):
    call_command("create_user", "--tenant", "acme", "--email", "Bob@Acme.test", "--admin")
    assert "Created bob@acme.test in 'acme' without a password" in capsys.readouterr().out
    with schema_context(acme.schema_name):
        bob = User.objects.get(email="bob@acme.test")
    assert bob.is_tenant_admin and not bob.has_usable_password()
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_user", "--tenant", "acme", "--email", "bob@acme.test")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("create_user", "--tenant", "nowhere", "--email", "x@y.test")
    call_command(
        "create_user", "--tenant", "provider", "--email", "staff@nimbus.test", "--admin", "--password", PASSWORD
    )
    assert User.objects.get(email="staff@nimbus.test").is_superuser


def test_seed_demo_creates_the_demo_admins_once(monkeypatch, acme, acme_dev):
    monkeypatch.setenv("NIMBUS_DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo")
    call_command("seed_demo")
    assert User.objects.get(email="admin@nimbus.localhost").check_password(PASSWORD)
    for tenant, email in ((acme, "admin@acme.localhost"), (acme_dev, "admin@acme-dev.localhost")):
        with schema_context(tenant.schema_name):
            assert User.objects.get(email=email).is_tenant_admin


def test_profile_shows_the_account_and_saves_the_name(signed_in_client, acme):
    client = signed_in_client(acme, email="pat@acme.test")
    page = client.get("/account/").content.decode()
    assert "pat@acme.test" in page and "Acme Corporation" in page
    assert client.post("/account/", {"display_name": "  Pat Doe "}).status_code == 302
    with schema_context(acme.schema_name):
        assert User.objects.get(email="pat@acme.test").display_name == "Pat Doe"
    too_long = client.post("/account/", {"display_name": "x" * 151})
    assert too_long.status_code == 400
    assert "at most 150 characters" in too_long.content.decode()


def test_profile_needs_a_signed_in_user(host_client, acme):
    response = host_client("acme.localhost").get("/account/")
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/")


def test_password_rules_are_listed_as_html_not_escaped(signed_in_client, acme):
    page = signed_in_client(acme).get("/account/password/").content.decode()
    assert "<li>Your password must contain at least 12 characters.</li>" in page
    assert "&lt;li&gt;" not in page


def test_a_session_of_a_user_disabled_since_is_signed_out_on_the_next_request(host_client, acme, alice):
    client = host_client("acme.localhost")
    assert sign_in(client, "alice@acme.test", PASSWORD).status_code == 302
    assert client.get("/account/").status_code == 200
    with schema_context(acme.schema_name):
        User.objects.filter(pk=alice.pk).update(is_active=False)
    assert client.get("/account/").status_code == 302  # the backend read the row again: no stale user
