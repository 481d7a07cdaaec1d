"""The navigation registry: entries appear on the hosts and for the users they are meant for."""

import pytest

from apps.core import navigation

pytestmark = pytest.mark.django_db


def test_account_menu_lists_the_registered_pages_for_a_signed_in_user(signed_in_client, acme):
    page = signed_in_client(acme).get("/").content.decode()
    for label, url in (
        ("Change password", "/account/password/"),
        ("API tokens", "/account/tokens/"),
        ("Signed-in sessions", "/account/sessions/"),
    ):
        assert f'href="{url}">{label}</a>' in page


def test_entries_follow_host_kind_and_visibility(signed_in_client, acme, provider):
    navigation.register(navigation.MenuItem("test.tenant_only", "Tenant thing", "tenant-landing", order=1))
    navigation.register(
        navigation.MenuItem(
            "test.admins",
            "Admins only",
            "tenant-landing",
            order=2,
            visible=lambda request: request.user.is_tenant_admin,
        )
    )
    try:
        plain = signed_in_client(acme, email="plain@acme.test").get("/")
        admin = signed_in_client(acme, email="boss@acme.test", is_tenant_admin=True).get("/")
        staff = signed_in_client(provider, email="staff@nimbus.test", is_staff=True).get("/")
    finally:
        navigation.unregister("test.tenant_only")
        navigation.unregister("test.admins")
    # Only this test's entries and Home: apps register entries of their own (e.g. Security for admins).
    ours = {"Home", "Tenant thing", "Admins only"}
    labels = [
        [link.label for link in response.context["main_menu"] if link.label in ours]
        for response in (plain, admin, staff)
    ]
    assert labels[0] == ["Home", "Tenant thing"]
    assert labels[1] == ["Home", "Tenant thing", "Admins only"]
    assert "Users" in [link.label for link in admin.context["main_menu"]]
    assert labels[2] == []  # tenant entries never show on the provider host
    assert plain.context["main_menu"][0].active
