"""Delegated access: provider staff into a tenant, a parent admin into a sub-tenant; everyone else refused."""

from __future__ import annotations

import re
import time

import pytest
from django.core import signing
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts import delegation
from apps.accounts.models import User, UserSession
from apps.accounts.services import user_create
from apps.tenancy.context import provider_context
from apps.tenancy.models import DelegatedAccess

pytestmark = pytest.mark.django_db

LINK = re.compile(r"^http://(?P<host>[a-z0-9.-]+)/delegate/(?P<token>[^/]+)/$")


@pytest.fixture
def staff_client(signed_in_client, provider):
    return signed_in_client(provider, email="staff@nimbus.test", is_staff=True, is_superuser=True)


def open_from_admin(staff_client, tenant) -> tuple[str, str]:
    response = staff_client.post(f"/admin/tenancy/tenant/{tenant.pk}/open/")
    assert response.status_code == 302, response.content[:300]
    match = LINK.match(response["Location"])
    assert match, response["Location"]
    return match["host"], match["token"]


def redeem(host_client, host: str, token: str):
    client = host_client(host)
    confirm = client.get(f"/delegate/{token}/")
    assert confirm.status_code == 200 and "Continue as delegate" in confirm.content.decode()
    return client, client.post(f"/delegate/{token}/")


def delegates_in(tenant) -> list[User]:
    with schema_context(tenant.schema_name):
        return list(User.objects.filter(is_delegated=True))


def test_provider_staff_open_a_tenant_as_a_flagged_delegate(staff_client, host_client, acme):
    host, token = open_from_admin(staff_client, acme)
    assert host == "acme.localhost"

    client, response = redeem(host_client, host, token)

    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/").content.decode()
    assert 'id="delegation-banner"' in page and "staff@nimbus.test" in page
    [delegate] = delegates_in(acme)
    assert delegate.home_schema == "public" and delegate.home_email == "staff@nimbus.test"
    assert delegate.email.endswith("@delegated.invalid") and not delegate.has_usable_password()
    me = client.get("/api/v1/me/").json()
    assert me["id"] == delegate.pk and me["tenant"] == "acme"
    # The session ends within the hour, however busy it is.
    assert client.session.get_expiry_age() <= 3600
    with provider_context():
        assert DelegatedAccess.objects.filter(
            tenant=acme, home_schema="public", home_email="staff@nimbus.test"
        ).exists()


def test_the_admin_action_opens_exactly_one_selected_tenant(staff_client, acme, globex):
    changelist = "/admin/tenancy/tenant/"
    one = staff_client.post(changelist, {"action": "open_tenant", "_selected_action": [acme.pk]})
    assert one.status_code == 302 and LINK.match(one["Location"])["host"] == "acme.localhost"
    two = staff_client.post(
        changelist, {"action": "open_tenant", "_selected_action": [acme.pk, globex.pk]}, follow=True
    )
    assert "Select exactly one tenant" in two.content.decode()


def test_a_second_visit_reuses_the_same_delegate(staff_client, host_client, acme):
    for _ in range(2):
        host, token = open_from_admin(staff_client, acme)
        redeem(host_client, host, token)
    assert len(delegates_in(acme)) == 1


def test_a_link_works_once(staff_client, host_client, acme):
    host, token = open_from_admin(staff_client, acme)
    redeem(host_client, host, token)
    again = host_client(host).post(f"/delegate/{token}/")
    assert again.status_code == 400 and "already used" in again.content.decode()


def test_a_link_for_one_tenant_is_refused_on_another_tenants_host(staff_client, host_client, acme, globex):
    _host, token = open_from_admin(staff_client, acme)
    client = host_client("globex.localhost")
    assert client.get(f"/delegate/{token}/").status_code == 400
    assert client.post(f"/delegate/{token}/").status_code == 400
    assert delegates_in(globex) == []


def test_an_expired_or_garbled_link_is_refused(host_client, acme):
    class LongAgoSigner(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 3600)

    old = LongAgoSigner(salt=delegation.TICKET_SALT).sign_object(
        {"h": "public", "u": 1, "t": acme.schema_name, "n": "x" * 20}, compress=True
    )
    client = host_client("acme.localhost")
    for token in (old, "not-a-ticket", old[:-3] + "abc"):
        response = client.post(f"/delegate/{token}/")
        assert response.status_code == 400 and "invalid, expired or already used" in response.content.decode()
    assert delegates_in(acme) == []


def test_provider_host_has_no_delegation_page(host_client):
    assert host_client("localhost").get("/delegate/anything/").status_code == 404


def test_suspended_tenants_cannot_be_opened(staff_client, initech):
    response = staff_client.post(f"/admin/tenancy/tenant/{initech.pk}/open/", follow=True)
    assert "not active" in response.content.decode()


def test_a_plain_provider_account_cannot_delegate(provider, acme):
    with schema_context(provider.schema_name):
        plain = user_create(email="plain@nimbus.test", password=None)
    with pytest.raises(delegation.ValidationError, match="provider staff"):
        delegation.delegation_link_create(home_user=plain, home_tenant=provider, target=acme, scheme="http", port="80")


# --- Parent tenant → sub-tenant --------------------------------------------------------------


def test_a_tenant_admin_opens_a_sub_tenant(signed_in_client, host_client, acme, acme_dev):
    admin = signed_in_client(acme, email="boss@acme.test", is_tenant_admin=True)
    page = admin.get("/sub-tenants/").content.decode()
    assert "Acme Development" in page and "Sub-tenants" in page

    response = admin.post(f"/sub-tenants/{acme_dev.slug}/open/")
    match = LINK.match(response["Location"])
    assert match["host"] == "acme-dev.localhost"
    _client, redeemed = redeem(host_client, match["host"], match["token"])

    assert redeemed.status_code == 302
    [delegate] = delegates_in(acme_dev)
    assert delegate.home_schema == acme.schema_name and delegate.home_email == "boss@acme.test"


def test_a_plain_user_can_never_open_a_sub_tenant(signed_in_client, acme, acme_dev):
    plain = signed_in_client(acme, email="plain@acme.test")
    assert plain.get("/sub-tenants/").status_code == 403
    assert plain.post(f"/sub-tenants/{acme_dev.slug}/open/").status_code == 403
    assert "Sub-tenants" not in plain.get("/").content.decode()


def test_only_own_sub_tenants_can_be_opened(signed_in_client, acme, globex, acme_dev):
    other_admin = signed_in_client(globex, email="boss@globex.test", is_tenant_admin=True)
    assert other_admin.post(f"/sub-tenants/{acme_dev.slug}/open/").status_code == 404
    child_admin = signed_in_client(acme_dev, email="boss@acme-dev.test", is_tenant_admin=True)
    assert child_admin.post(f"/sub-tenants/{acme.slug}/open/").status_code == 404


def test_a_delegate_cannot_delegate_further(staff_client, host_client, acme, acme_dev):
    host, token = open_from_admin(staff_client, acme)
    client, _ = redeem(host_client, host, token)
    assert client.post(f"/sub-tenants/{acme_dev.slug}/open/").status_code == 403


# --- The home account's fate is the delegates' -----------------------------------------------


def test_disabling_the_home_account_disables_and_signs_out_its_delegates(staff_client, host_client, provider, acme):
    host, token = open_from_admin(staff_client, acme)
    client, _ = redeem(host_client, host, token)
    assert client.get("/").status_code == 200

    with schema_context(provider.schema_name):
        home = User.objects.get(email="staff@nimbus.test")
        home.is_active = False
        home.save()

    [delegate] = delegates_in(acme)
    assert not delegate.is_active
    with schema_context(acme.schema_name):
        assert not UserSession.objects.filter(user=delegate).exists()
    assert client.get("/").status_code == 302  # signed out


def test_a_demoted_parent_admin_loses_the_sub_tenant_delegate(signed_in_client, host_client, acme, acme_dev):
    admin = signed_in_client(acme, email="boss@acme.test", is_tenant_admin=True)
    match = LINK.match(admin.post(f"/sub-tenants/{acme_dev.slug}/open/")["Location"])
    redeem(host_client, match["host"], match["token"])

    with schema_context(acme.schema_name):
        boss = User.objects.get(email="boss@acme.test")
        boss.is_tenant_admin = False
        boss.save()

    assert [d.is_active for d in delegates_in(acme_dev)] == [False]


def test_a_disabled_home_account_cannot_redeem_a_link_issued_before(staff_client, host_client, provider, acme):
    host, token = open_from_admin(staff_client, acme)
    with schema_context(provider.schema_name):
        User.objects.filter(email="staff@nimbus.test").update(is_active=False, last_login=timezone.now())
    response = host_client(host).post(f"/delegate/{token}/")
    assert response.status_code == 400
    assert delegates_in(acme) == []


# --- Decided where the account lives ------------------------------------------------------------


def test_the_target_tenants_policies_have_no_say_over_who_may_open_it(signed_in_client, host_client, acme, acme_dev):
    from apps.access.services import policy_save

    admin = signed_in_client(acme, email="boss@acme.test", is_tenant_admin=True)
    with schema_context(acme_dev.schema_name):
        sub_admin = user_create(email="sub@acme-dev.test", password=None, is_tenant_admin=True)
        policy_save(
            actor=sub_admin,
            name="no-parents",
            text='forbid(principal, action == Nimbus::Action::"accounts:subtenant:open", resource);',
        )
    response = admin.post(f"/sub-tenants/{acme_dev.slug}/open/")
    match = LINK.match(response["Location"])
    _, opened = redeem(host_client, match["host"], match["token"])
    assert opened.status_code == 302 and len(delegates_in(acme_dev)) == 1


def test_the_home_tenants_policies_do(signed_in_client, acme, acme_dev):
    from apps.access.services import policy_save

    admin = signed_in_client(acme, email="boss@acme.test", is_tenant_admin=True)
    with schema_context(acme.schema_name):
        policy_save(
            actor=admin.user,
            name="no-opening",
            text='forbid(principal, action == Nimbus::Action::"accounts:subtenant:open", resource);',
        )
    response = admin.post(f"/sub-tenants/{acme_dev.slug}/open/")
    assert response.status_code == 403 and "no-opening" in response.content.decode()
    assert not delegates_in(acme_dev)


def test_a_delegate_cannot_create_an_api_token(staff_client, host_client, acme):
    from django.core.exceptions import ValidationError

    from apps.accounts.services import api_token_create

    host, token = open_from_admin(staff_client, acme)
    redeem(host_client, host, token)
    [delegate] = delegates_in(acme)
    with schema_context(acme.schema_name), pytest.raises(ValidationError, match="Delegated accounts cannot"):
        api_token_create(user=delegate, name="forever")
