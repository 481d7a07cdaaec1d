"""The tenant's account policy: password length, re-use and age; its settings page; its cache; the provider admin."""

import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import AccountPolicy, PasswordHistory, User
from apps.accounts.selectors import POLICY_CACHE_KEY, account_policy
from apps.accounts.services import account_policy_update, api_token_create, user_create
from apps.accounts.tests import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_admin(acme):
    with schema_context(acme.schema_name):
        return user_create(email="boss@acme.test", password=None, is_tenant_admin=True)


def set_policy(tenant, actor, **fields):
    with schema_context(tenant.schema_name):
        return account_policy_update(actor=actor, **fields)


def alice_client(host_client, password=PASSWORD):
    client = host_client("acme.localhost")
    assert client.post("/sign-in/", {"username": "alice@acme.test", "password": password}).status_code == 302
    return client


def change_password(client, old, new):
    return client.post("/account/password/", {"old_password": old, "new_password1": new, "new_password2": new})


def test_the_policy_starts_with_defaults_created_on_first_read(acme):
    with schema_context(acme.schema_name):
        AccountPolicy.objects.all().delete()
        policy = account_policy()
        assert AccountPolicy.objects.get().pk == policy.pk == 1
    assert (policy.min_password_length, policy.password_history_count, policy.password_max_age_days) == (12, 5, None)
    assert (policy.session_idle_minutes, policy.session_absolute_hours) == (480, 24)


def test_minimum_length_follows_the_policy_on_the_change_page(host_client, acme, alice, acme_admin):
    set_policy(acme, acme_admin, min_password_length=20)
    client = alice_client(host_client)
    assert "at least 20 characters" in client.get("/account/password/").content.decode()
    short = change_password(client, PASSWORD, "only-17-characters")
    assert short.status_code == 200
    assert "It must contain at least 20 characters." in short.content.decode()
    assert change_password(client, PASSWORD, "twenty-one-characters").status_code == 302


def test_minimum_length_is_per_tenant(acme, globex, acme_admin):
    set_policy(acme, acme_admin, min_password_length=30)
    with schema_context(globex.schema_name):
        assert account_policy().min_password_length == 12
        user_create(email="g@globex.test", password="fifteen-chars-x")
    with schema_context(acme.schema_name), pytest.raises(ValidationError, match="at least 30 characters"):
        user_create(email="a@acme.test", password="fifteen-chars-x")


def test_recent_passwords_are_refused_and_older_ones_allowed_again(host_client, acme, alice, acme_admin):
    set_policy(acme, acme_admin, password_history_count=2)
    client = alice_client(host_client)
    first, second = "first-new-passphrase-2026", "second-new-passphrase-2026"
    same = change_password(client, PASSWORD, PASSWORD)
    assert "You have used this password recently. Choose one that is not among your last 2." in same.content.decode()
    assert change_password(client, PASSWORD, first).status_code == 302
    assert "used this password recently" in change_password(client, first, PASSWORD).content.decode()
    assert change_password(client, first, second).status_code == 302
    # The original password has dropped out of the last two: it may come back.
    assert change_password(client, second, PASSWORD).status_code == 302
    with schema_context(acme.schema_name):
        assert PasswordHistory.objects.filter(user=alice).count() == 2


def test_a_reset_cannot_reuse_a_recent_password(host_client, acme, alice):
    mail.outbox.clear()
    host_client("acme.localhost").post("/password-reset/", {"email": "alice@acme.test"})
    link = re.search(r"https?://acme\.localhost(/\S+)", mail.outbox[0].body).group(1)
    client = host_client("acme.localhost")
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert response.status_code == 200 and "used this password recently" in response.content.decode()
    new = "a-reset-passphrase-2026"
    assert client.post(form_url, {"new_password1": new, "new_password2": new}).status_code == 302


def test_without_history_the_current_password_may_be_set_again(host_client, acme, alice, acme_admin):
    set_policy(acme, acme_admin, password_history_count=0)
    client = alice_client(host_client)
    assert change_password(client, PASSWORD, PASSWORD).status_code == 302
    with schema_context(acme.schema_name):
        assert not PasswordHistory.objects.filter(user=alice).exists()


def test_setting_a_password_records_when(acme, alice):
    assert alice.password_changed_at is not None
    with schema_context(acme.schema_name):
        stored = User.objects.get(pk=alice.pk)
        assert stored.password_changed_at == alice.password_changed_at
        nobody = user_create(email="sso@acme.test", password=None)
        assert User.objects.get(pk=nobody.pk).password_changed_at is None


def age_password(tenant, user, days, *, field="password_changed_at"):
    with schema_context(tenant.schema_name):
        User.objects.filter(pk=user.pk).update(**{field: timezone.now() - timedelta(days=days)})


def test_an_expired_password_sends_pages_to_the_change_page_until_changed(host_client, acme, alice, acme_admin):
    set_policy(acme, acme_admin, password_max_age_days=90)
    client = alice_client(host_client)
    assert client.get("/account/").status_code == 200
    age_password(acme, alice, 91)

    response = client.get("/account/", follow=True)
    assert response.redirect_chain == [("/account/password/", 302)]
    assert "Your password is more than 90 days old" in response.content.decode()
    htmx = client.get("/account/tokens/", HTTP_HX_REQUEST="true")
    assert htmx["HX-Redirect"] == "/account/password/"
    assert client.get("/account/password/").status_code == 200

    assert change_password(client, PASSWORD, "a-fresh-passphrase-2026").status_code == 302
    assert client.get("/account/").status_code == 200


def test_an_unrecorded_change_time_counts_from_joining(host_client, acme, alice, acme_admin):
    set_policy(acme, acme_admin, password_max_age_days=30)
    client = alice_client(host_client)
    with schema_context(acme.schema_name):
        User.objects.filter(pk=alice.pk).update(password_changed_at=None)
    assert client.get("/account/").status_code == 200
    age_password(acme, alice, 31, field="date_joined")
    assert client.get("/account/")["Location"] == "/account/password/"


def test_an_expired_password_may_still_sign_out(host_client, acme, alice, acme_admin):
    set_policy(acme, acme_admin, password_max_age_days=1)
    age_password(acme, alice, 2)
    client = alice_client(host_client)
    assert client.post("/sign-out/")["Location"] == "/sign-in/"
    assert client.get("/account/")["Location"].startswith("/sign-in/")


def test_an_expired_password_gets_403_problem_on_the_session_api_but_tokens_still_work(
    host_client, acme, alice, acme_admin
):
    set_policy(acme, acme_admin, password_max_age_days=1)
    age_password(acme, alice, 2)
    client = alice_client(host_client)
    response = client.get("/api/v1/me/")
    assert response.status_code == 403 and response["Content-Type"] == "application/problem+json"
    problem = json.loads(response.content)
    assert problem["code"] == "password_expired" and "/account/password/" in problem["detail"]
    with schema_context(acme.schema_name):
        _token, plaintext = api_token_create(user=alice, name="ci")
    assert host_client("acme.localhost").get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {plaintext}").status_code == 200


def test_delegated_and_password_less_accounts_never_expire(host_client, signed_in_client, acme, acme_admin):
    set_policy(acme, acme_admin, password_max_age_days=1)
    sso = signed_in_client(acme, email="sso@acme.test")  # no usable password
    with schema_context(acme.schema_name):
        delegate = User.objects.create(
            email="staff@nimbus.test", is_delegated=True, home_schema="public", home_user_id=1
        )
        delegate.set_password("a-password-nobody-uses")
        delegate.save()
        User.objects.update(
            date_joined=timezone.now() - timedelta(days=5), password_changed_at=timezone.now() - timedelta(days=5)
        )
        delegated = host_client("acme.localhost")
        delegated.force_login(delegate)
    assert sso.get("/account/").status_code == 200
    assert delegated.get("/account/").status_code == 200


# --- The security settings page --------------------------------------------------------------


def test_security_page_is_for_user_managers_only(signed_in_client, host_client, acme):
    plain = signed_in_client(acme, email="plain@acme.test")
    assert plain.get("/settings/security/").status_code == 403
    assert plain.post("/settings/security/", {"min_password_length": 8}).status_code == 403
    assert "/settings/security/" not in plain.get("/").content.decode()
    anonymous = host_client("acme.localhost").get("/settings/security/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/sign-in/")
    admin = signed_in_client(acme, email="admin2@acme.test", is_tenant_admin=True)
    assert 'href="/settings/security/"' in admin.get("/").content.decode()
    assert admin.get("/settings/security/").status_code == 200


def policy_form(**changes):
    return {
        "min_password_length": 12,
        "password_history_count": 5,
        "password_max_age_days": "",
        "session_idle_minutes": 480,
        "session_absolute_hours": 24,
        **changes,
    }


def test_a_tenant_admin_changes_the_policy_on_the_page(signed_in_client, acme, globex):
    admin = signed_in_client(acme, email="admin2@acme.test", is_tenant_admin=True)
    response = admin.post("/settings/security/", policy_form(min_password_length=16, password_max_age_days=180))
    assert response.status_code == 302
    page = admin.get("/settings/security/").content.decode()
    assert "Security settings saved." in page and 'value="16"' in page
    with schema_context(acme.schema_name):
        assert (account_policy().min_password_length, account_policy().password_max_age_days) == (16, 180)
    with schema_context(globex.schema_name):
        assert account_policy().min_password_length == 12


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_password_length": 4}, "greater than or equal to 8"),
        ({"password_history_count": 99}, "less than or equal to 24"),
        ({"session_idle_minutes": 1}, "greater than or equal to 5"),
        ({"session_idle_minutes": 600, "session_absolute_hours": 8}, "cannot be longer than the maximum session"),
        ({"password_max_age_days": "soon"}, "Enter a whole number"),
    ],
)
def test_invalid_policy_values_are_refused_and_nothing_is_saved(signed_in_client, acme, changes, message):
    admin = signed_in_client(acme, email="admin2@acme.test", is_tenant_admin=True)
    response = admin.post("/settings/security/", policy_form(**{"min_password_length": 14, **changes}))
    assert response.status_code == 400 and message in response.content.decode()
    with schema_context(acme.schema_name):
        assert account_policy().min_password_length == 12


def test_acme_admins_session_does_not_open_globexs_security_page(signed_in_client, host_client, acme, globex):
    admin = signed_in_client(acme, email="admin2@acme.test", is_tenant_admin=True)
    attacker = host_client("globex.localhost")
    attacker.cookies["sessionid"] = admin.cookies["sessionid"].value
    response = attacker.post("/settings/security/", policy_form(min_password_length=64))
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/")
    with schema_context(globex.schema_name):
        assert account_policy().min_password_length == 12


def test_the_service_checks_who_asks_and_what(acme, alice, acme_admin):
    with schema_context(acme.schema_name):
        with pytest.raises(PermissionDenied):
            account_policy_update(actor=alice, min_password_length=20)
        with pytest.raises(ValidationError, match="does not exist"):
            account_policy_update(actor=acme_admin, min_password_length=20, is_superuser=True)
        with pytest.raises(ValidationError):
            account_policy_update(actor=acme_admin, min_password_length=20, session_absolute_hours="x")
        assert account_policy().min_password_length == 12


def test_the_policy_is_cached_per_tenant_and_forgotten_on_save(
    acme, globex, acme_admin, settings, django_assert_num_queries
):
    settings.NIMBUS_POLICY_CACHE_SECONDS = 300
    try:
        with schema_context(acme.schema_name):
            cache.delete(POLICY_CACHE_KEY)
            account_policy()
            with django_assert_num_queries(0):
                assert account_policy().min_password_length == 12
            account_policy_update(actor=acme_admin, min_password_length=18)
            assert account_policy().min_password_length == 18
        with schema_context(globex.schema_name):
            cache.delete(POLICY_CACHE_KEY)
            assert account_policy().min_password_length == 12
    finally:
        for tenant in (acme, globex):
            with schema_context(tenant.schema_name):
                cache.delete(POLICY_CACHE_KEY)


# --- The provider's own policy in the admin ---------------------------------------------------


def test_provider_staff_edit_their_own_policy_in_the_admin(host_client, provider):
    boss = User.objects.create_superuser("boss@nimbus.test", "a-long-staff-password")
    admin = host_client("localhost")
    admin.force_login(boss)
    listing = admin.get("/admin/accounts/accountpolicy/")
    assert listing.status_code == 302 and listing["Location"] == "/admin/accounts/accountpolicy/1/change/"
    form = {**policy_form(min_password_length=20), "session_absolute_hours": 12}
    assert admin.post("/admin/accounts/accountpolicy/1/change/", form).status_code == 302
    assert account_policy().min_password_length == 20
    bad = admin.post("/admin/accounts/accountpolicy/1/change/", {**form, "session_idle_minutes": 800})
    assert bad.status_code == 200 and "cannot be longer than the maximum session" in bad.content.decode()
    assert account_policy().session_idle_minutes == 480
