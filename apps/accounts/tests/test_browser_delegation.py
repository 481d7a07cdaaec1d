"""In a real browser: provider staff sign in to the admin and open a tenant as a delegated account."""

import os
import re

import pytest

from conftest import BROWSER_STAFF

# DB-free on purpose, like test_browser.py: the app server's threads use the committed session data.
pytestmark = pytest.mark.browser

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_provider_staff_open_a_tenant_from_the_admin(app_server, page):
    provider = f"http://localhost:{app_server}"
    page.goto(f"{provider}/admin/")
    page.get_by_label("Email").fill(BROWSER_STAFF["email"])
    page.get_by_label("Password").fill(BROWSER_STAFF["password"])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{provider}/admin/")

    page.goto(f"{provider}/admin/tenancy/tenant/")
    page.get_by_role("link", name="Vandelay Industries", exact=True).click()
    page.get_by_role("button", name="Open tenant").click()

    page.wait_for_url(re.compile(rf"^http://vandelay\.localhost:{app_server}/delegate/"))
    assert page.get_by_role("heading", name="Delegated access to Vandelay Industries").is_visible()
    page.get_by_role("button", name="Continue as delegate").click()

    page.wait_for_url(f"http://vandelay.localhost:{app_server}/")
    banner = page.locator("#delegation-banner")
    assert banner.is_visible()
    assert BROWSER_STAFF["email"] in banner.inner_text()
    assert page.get_by_role("heading", name="Vandelay Industries").is_visible()
