"""Brute-force lockout: too many failed sign-ins lock the account and the address, per tenant, and can be undone."""

import json
import re

import pytest
from axes.middleware import AxesMiddleware
from axes.models import AccessAttempt
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory
from django_tenants.utils import schema_context
from rest_framework_simplejwt.views import TokenObtainPairView

from apps.accounts.lockout import client_ip
from apps.accounts.models import User
from apps.accounts.selectors import user_is_locked
from apps.accounts.services import ip_unlock, user_create, user_unlock
from apps.accounts.tests import PASSWORD

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-ins. Try again in 15 minutes or ask an administrator to unlock the account."
NO_MATCH = "That email and password do not match an active account here."


def sign_in(client, email, password, ip="198.51.100.1", **extra):
    return client.post("/sign-in/", {"username": email, "password": password}, REMOTE_ADDR=ip, **extra)


def fail_until_locked(client, email, ip="198.51.100.1"):
    """Fail as often as the limit allows; return the responses (the last one is the lockout)."""
    return [sign_in(client, email, "wrong-password", ip=ip) for _ in range(settings.AXES_FAILURE_LIMIT)]


def signed_in(client) -> bool:
    return client.get("/account/").status_code == 200


def test_an_account_locks_after_the_failure_limit_even_against_the_right_password(host_client, acme, alice):
    client = host_client("acme.localhost")
    *before, last = fail_until_locked(client, "alice@acme.test")
    assert all(r.status_code == 200 and NO_MATCH in r.content.decode() for r in before)
    assert last.status_code == 429 and LOCKED in last.content.decode()
    assert last["Retry-After"] == "900"

    # The right password, from anywhere, is refused while the account is locked.
    again = sign_in(host_client("acme.localhost"), "Alice@Acme.test", PASSWORD, ip="203.0.113.50")
    assert again.status_code == 429 and LOCKED in again.content.decode()
    assert '<form method="post" action="/sign-in/"' in again.content.decode()  # the sign-in page, again
    assert not signed_in(client)
    with schema_context(acme.schema_name):
        assert user_is_locked(alice)


def test_an_address_locks_after_failures_against_many_accounts(host_client, acme, alice):
    client = host_client("acme.localhost")
    responses = [
        sign_in(client, f"guess{n}@acme.test", "wrong-password", ip="192.0.2.66")
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert responses[-2].status_code == 200 and responses[-1].status_code == 429
    assert sign_in(host_client("acme.localhost"), "alice@acme.test", PASSWORD, ip="192.0.2.66").status_code == 429
    # The account itself is not locked: from another address Alice gets in.
    with schema_context(acme.schema_name):
        assert not user_is_locked(alice)
    assert sign_in(host_client("acme.localhost"), "alice@acme.test", PASSWORD, ip="192.0.2.67").status_code == 302


def test_an_unknown_email_is_locked_exactly_like_a_real_one(host_client, acme, alice):
    def attempts(email, ip):
        client = host_client("acme.localhost")
        return [
            (r.status_code, r.content.decode().count(NO_MATCH), LOCKED in r.content.decode())
            for r in fail_until_locked(client, email, ip=ip)
        ]

    assert attempts("alice@acme.test", "192.0.2.1") == attempts("nobody@acme.test", "192.0.2.2")
    unknown = sign_in(host_client("acme.localhost"), "nobody@acme.test", PASSWORD, ip="192.0.2.3")
    known = sign_in(host_client("acme.localhost"), "alice@acme.test", PASSWORD, ip="192.0.2.4")
    assert unknown.status_code == known.status_code == 429
    assert unknown["Retry-After"] == known["Retry-After"]
    assert LOCKED in unknown.content.decode() and LOCKED in known.content.decode()


def test_a_lockout_on_one_tenant_does_not_lock_the_same_email_or_address_on_another(host_client, acme, globex, alice):
    with schema_context(globex.schema_name):
        user_create(email="alice@acme.test", password=PASSWORD)  # an unrelated account with the same email
    # The attacker hammers acme from one address until both the account and the address are locked there.
    fail_until_locked(host_client("acme.localhost"), "alice@acme.test", ip="192.0.2.99")
    assert sign_in(host_client("acme.localhost"), "alice@acme.test", PASSWORD, ip="192.0.2.98").status_code == 429

    # Same email, same address, on globex's host: globex's Alice signs in.
    globex_client = host_client("globex.localhost")
    assert sign_in(globex_client, "alice@acme.test", PASSWORD, ip="192.0.2.99").status_code == 302
    with schema_context(globex.schema_name):
        assert not AccessAttempt.objects.exists()
    with schema_context(acme.schema_name):
        assert AccessAttempt.objects.filter(username="alice@acme.test").exists()


def test_a_successful_sign_in_clears_the_accounts_failures_but_not_the_addresss(host_client, acme, alice):
    with schema_context(acme.schema_name):
        user_create(email="mallory@acme.test", password=PASSWORD)
    limit = settings.AXES_FAILURE_LIMIT
    client = host_client("acme.localhost")
    for _ in range(limit - 1):
        sign_in(client, "alice@acme.test", "wrong-password", ip="192.0.2.10")
    # Mallory signs in to her own account from the same address: Alice's failures still count.
    assert sign_in(host_client("acme.localhost"), "mallory@acme.test", PASSWORD, ip="192.0.2.10").status_code == 302
    assert sign_in(client, "alice@acme.test", "wrong-password", ip="192.0.2.11").status_code == 429

    # Alice's own successful sign-in, once unlocked, starts her tally again.
    with schema_context(acme.schema_name):
        user_unlock(user=alice)
    for _ in range(limit - 1):
        sign_in(client, "alice@acme.test", "wrong-password", ip="192.0.2.12")
    assert sign_in(host_client("acme.localhost"), "alice@acme.test", PASSWORD, ip="192.0.2.12").status_code == 302
    assert sign_in(client, "alice@acme.test", "wrong-password", ip="192.0.2.13").status_code == 200


def test_failed_attempts_store_no_password_or_form_secrets(host_client, acme, alice):
    sign_in(host_client("acme.localhost"), "alice@acme.test", "hunter2-secret-guess")
    with schema_context(acme.schema_name):
        attempt = AccessAttempt.objects.get()
    assert attempt.username == "alice@acme.test"
    assert "hunter2-secret-guess" not in attempt.post_data
    assert "password=********************" in attempt.post_data


def test_unlock_by_service(host_client, acme, alice):
    fail_until_locked(host_client("acme.localhost"), "alice@acme.test", ip="192.0.2.20")
    with schema_context(acme.schema_name):
        assert user_unlock(user=alice) == 1
        assert not user_is_locked(alice)
    assert sign_in(host_client("acme.localhost"), "alice@acme.test", PASSWORD, ip="192.0.2.21").status_code == 302


def test_unlock_an_address_by_service(host_client, acme, alice):
    client = host_client("acme.localhost")
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess{n}@acme.test", "wrong-password", ip="2001:db8::7")
    assert sign_in(client, "alice@acme.test", PASSWORD, ip="2001:db8::7").status_code == 429
    with schema_context(acme.schema_name):
        with pytest.raises(ValidationError, match="valid IPv4 or IPv6"):
            ip_unlock(ip_address="not-an-address")
        assert ip_unlock(ip_address="2001:db8::7") == settings.AXES_FAILURE_LIMIT + 1
    assert sign_in(client, "alice@acme.test", PASSWORD, ip="2001:db8::7").status_code == 302


def test_unlock_by_command(host_client, acme, alice, capsys):
    fail_until_locked(host_client("acme.localhost"), "alice@acme.test", ip="192.0.2.30")
    with pytest.raises(CommandError, match="Give --email, --ip or both"):
        call_command("unlock_user", "--tenant", "acme")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("unlock_user", "--tenant", "nowhere", "--email", "alice@acme.test")
    with pytest.raises(CommandError, match="No user with email"):
        call_command("unlock_user", "--tenant", "acme", "--email", "ghost@acme.test")
    with pytest.raises(CommandError, match="valid IPv4 or IPv6"):
        call_command("unlock_user", "--tenant", "acme", "--email", "alice@acme.test", "--ip", "999.1.1.1")
    with schema_context(acme.schema_name):
        assert user_is_locked(alice)  # a refused command changes nothing

    call_command("unlock_user", "--tenant", "acme", "--email", "Alice@Acme.test")
    assert "Unlocked alice@acme.test in 'acme'" in capsys.readouterr().out
    assert sign_in(host_client("acme.localhost"), "alice@acme.test", PASSWORD, ip="192.0.2.31").status_code == 302


def test_provider_staff_unlock_a_staff_account_in_the_provider_admin(host_client, provider):
    user_create(email="ops@nimbus.test", password=PASSWORD, is_staff=True)
    fail_until_locked(host_client("localhost"), "ops@nimbus.test", ip="192.0.2.40")
    assert sign_in(host_client("localhost"), "ops@nimbus.test", PASSWORD, ip="192.0.2.41").status_code == 429

    boss = User.objects.create_superuser("boss@nimbus.test", "a-long-staff-password")
    admin = host_client("localhost")
    admin.force_login(boss)
    listing = admin.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "ops@nimbus.test" in listing.content.decode()
    ids = list(AccessAttempt.objects.filter(username="ops@nimbus.test").values_list("pk", flat=True))
    response = admin.post(
        "/admin/axes/accessattempt/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    assert response.status_code == 302
    assert sign_in(host_client("localhost"), "ops@nimbus.test", PASSWORD, ip="192.0.2.41").status_code == 302


def test_a_password_reset_unlocks_the_account(host_client, acme, alice):
    fail_until_locked(host_client("acme.localhost"), "alice@acme.test", ip="192.0.2.50")
    mail.outbox.clear()
    host_client("acme.localhost").post("/password-reset/", {"email": "alice@acme.test"})
    link = re.search(r"https?://acme\.localhost(/\S+)", mail.outbox[0].body).group(1)
    client = host_client("acme.localhost")
    form = client.get(link, follow=True)
    new = "reset-after-lockout-2026"
    assert client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}).status_code == 302
    assert sign_in(host_client("acme.localhost"), "alice@acme.test", new, ip="192.0.2.50").status_code == 302


def test_the_jwt_endpoint_is_locked_too_and_answers_problem_json(acme, alice):
    """simplejwt authenticates with DRF's request and posts `email`; the lockout still reaches the response."""
    view = AxesMiddleware(TokenObtainPairView.as_view())
    factory = RequestFactory()

    def obtain(password):
        body = json.dumps({"email": "ALICE@acme.test", "password": password})
        request = factory.post("/api/v1/auth/token/", body, content_type="application/json", REMOTE_ADDR="192.0.2.60")
        return view(request)

    with schema_context(acme.schema_name):
        responses = [obtain("wrong-password") for _ in range(settings.AXES_FAILURE_LIMIT)]
        assert responses[0].status_code == 401
        locked = obtain(PASSWORD)
        assert user_is_locked(alice)
    for response in (responses[-1], locked):
        assert response.status_code == 429
        assert response["Content-Type"] == "application/problem+json"
        assert response["Retry-After"] == "900"
        problem = json.loads(response.content)
        assert problem == {
            "type": "about:blank",
            "title": "Too Many Requests",
            "status": 429,
            "detail": LOCKED,
            "code": "locked_out",
        }


def test_a_lockout_without_cool_off_lasts_until_unlocked(host_client, acme, alice, settings):
    settings.AXES_COOLOFF_TIME = None
    last = fail_until_locked(host_client("acme.localhost"), "alice@acme.test")[-1]
    assert last.status_code == 429 and "Retry-After" not in last
    assert "Too many failed sign-ins. Ask an administrator to unlock the account." in last.content.decode()


def test_forwarded_addresses_are_believed_only_behind_the_tls_proxy(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.NIMBUS_TRUST_X_FORWARDED_FOR = False
    assert client_ip(request) == "10.0.0.1"
    settings.NIMBUS_TRUST_X_FORWARDED_FOR = True
    # The right-most entry is the one the proxy added; what the client wrote is to its left.
    assert client_ip(request) == "203.0.113.7"
    garbage = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="<script>")
    assert client_ip(garbage) == "10.0.0.1"


def test_a_forged_forwarded_for_header_does_not_escape_the_address_lock(host_client, acme, alice):
    client = host_client("acme.localhost")
    for n in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            "/sign-in/",
            {"username": f"guess{n}@acme.test", "password": "wrong"},
            REMOTE_ADDR="192.0.2.70",
            HTTP_X_FORWARDED_FOR=f"10.9.9.{n}",
        )
    assert response.status_code == 429


def test_a_tenant_admin_sees_the_lock_and_unlocks_from_the_users_page(host_client, signed_in_client, acme, alice):
    fail_until_locked(host_client("acme.localhost"), "alice@acme.test", ip="198.51.100.9")
    admin = signed_in_client(acme, email="boss@acme.test", is_tenant_admin=True)
    page = admin.get(f"/users/{alice.pk}/").content.decode()
    assert "Locked" in page and f"/users/{alice.pk}/unlock/" in page

    assert admin.post(f"/users/{alice.pk}/unlock/").status_code == 302

    assert "Locked" not in admin.get(f"/users/{alice.pk}/").content.decode()
    assert sign_in(host_client("acme.localhost"), "alice@acme.test", PASSWORD, ip="203.0.113.9").status_code == 302


def test_unlock_through_the_api_needs_a_tenant_admin(host_client, signed_in_client, acme, alice):
    fail_until_locked(host_client("acme.localhost"), "alice@acme.test", ip="198.51.100.10")
    plain = signed_in_client(acme, email="plain@acme.test")
    # Someone who may not even see the tenant's users learns nothing about them: 404, not 403.
    assert plain.post(f"/api/v1/users/{alice.pk}/unlock/").status_code == 404
    with schema_context(acme.schema_name):
        assert user_is_locked(alice)

    admin = signed_in_client(acme, email="boss@acme.test", is_tenant_admin=True)
    response = admin.post(f"/api/v1/users/{alice.pk}/unlock/")

    assert response.status_code == 200 and response.json()["email"] == "alice@acme.test"
    with schema_context(acme.schema_name):
        assert not user_is_locked(alice)
