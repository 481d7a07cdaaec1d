"""In a real browser: a tenant admin signs in on the tenant's own host and sees the dashboard."""

import os

import pytest

from conftest import BROWSER_ADMIN

# No django_db mark: the test itself never touches the database (the server's threads do, on
# committed data). ORM calls made inside Playwright's greenlet would open a second connection that the
# test-database teardown cannot see.
pytestmark = pytest.mark.browser

# Playwright's sync API keeps an event loop on this thread; Django would refuse sync ORM calls beside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_tenant_admin_signs_in_on_acme_and_sees_the_dashboard(app_server, page):
    base = f"http://acme.localhost:{app_server}"
    page.goto(f"{base}/")

    assert page.url == f"{base}/sign-in/?next=/"
    assert page.get_by_role("heading", name="Sign in to Acme Corporation").is_visible()

    page.get_by_label("Email").fill(BROWSER_ADMIN["email"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("do not match an active account here").is_visible()

    page.get_by_label("Password").fill(BROWSER_ADMIN["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    assert page.get_by_role("heading", name="Acme Corporation").is_visible()
    assert page.get_by_role("link", name="Home").is_visible()

    page.get_by_role("button", name=BROWSER_ADMIN["name"]).click()  # the account menu
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/sign-in/")
