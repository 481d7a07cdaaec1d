"""In a real browser: a tenant admin adds a user, who signs in, creates an API token and calls the API with it."""

import json
import os
import urllib.request
import uuid

import pytest

from conftest import BROWSER_VANDELAY_ADMIN as BROWSER_ADMIN

# No django_db mark: the test never touches the database itself (the server's threads do, on committed
# data), so the user it creates is committed and its email is unique per run.
pytestmark = pytest.mark.browser

# Playwright's sync API keeps an event loop on this thread; Django would refuse sync ORM calls beside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

NEW_PASSWORD = "browser-made-user-password-2026"


def sign_in(page, base, email, password):
    page.goto(f"{base}/sign-in/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_admin_creates_a_user_who_signs_in_and_uses_an_api_token(app_server, page, browser):
    base = f"http://vandelay.localhost:{app_server}"
    email = f"browser-{uuid.uuid4().hex[:12]}@vandelay.test"

    sign_in(page, base, BROWSER_ADMIN["email"], BROWSER_ADMIN["password"])
    page.get_by_role("link", name="Users").click()
    page.wait_for_url(f"{base}/users/")
    assert page.get_by_role("link", name=BROWSER_ADMIN["email"]).is_visible()

    # The filter refreshes only the table (HTMX): the page itself stays, and the address follows.
    page.evaluate("window.sameDocument = true")
    page.get_by_label("Search").fill("no-such-person")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"{base}/users/?q=no-such-person**")
    assert page.get_by_text("No users match.").is_visible()
    assert page.evaluate("window.sameDocument === true")

    page.get_by_role("link", name="Add or invite a user").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Name", exact=True).fill("Browser Made")
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Add user").click()
    page.wait_for_url(f"{base}/users/*/")
    assert page.get_by_text(f"{email} was added and can sign in with the password you set.").is_visible()

    page.get_by_role("button", name=BROWSER_ADMIN["name"]).click()  # the account menu
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/sign-in/")

    context = browser.new_context()
    try:
        newcomer = context.new_page()
        sign_in(newcomer, base, email, NEW_PASSWORD)
        newcomer.goto(f"{base}/account/tokens/")
        newcomer.get_by_label("Name").fill("browser test")
        newcomer.get_by_role("button", name="Create token").click()
        token = newcomer.get_by_label("New API token").input_value()
        assert token.startswith("nmb_")
    finally:
        context.close()

    # A plain HTTP client without cookies: only the token says who is calling.
    request = urllib.request.Request(
        f"http://127.0.0.1:{app_server}/api/v1/me/",
        headers={"Host": f"vandelay.localhost:{app_server}", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        me = json.load(response)
    assert (me["email"], me["display_name"], me["tenant"]) == (email, "Browser Made", "vandelay")
