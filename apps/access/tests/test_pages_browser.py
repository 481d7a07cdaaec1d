"""In a real browser: the policy editor checks Cedar as one types, and the simulator answers in place (HTMX)."""

import os

import pytest

from conftest import BROWSER_VANDELAY_ADMIN as BROWSER_ADMIN

# No django_db mark: nothing here writes (the server's threads read committed data only).
pytestmark = pytest.mark.browser

# Playwright's sync API keeps an event loop on this thread; Django would refuse sync ORM calls beside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def sign_in(page, base):
    page.goto(f"{base}/sign-in/")
    page.get_by_label("Email").fill(BROWSER_ADMIN["email"])
    page.get_by_label("Password").fill(BROWSER_ADMIN["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def test_policy_editor_checks_as_one_types_and_simulator_answers_in_place(app_server, page):
    base = f"http://vandelay.localhost:{app_server}"
    sign_in(page, base)
    page.get_by_role("link", name="Access").click()
    page.wait_for_url(f"{base}/access/roles/")
    page.get_by_role("link", name="Policies").click()
    page.get_by_role("link", name="New policy").click()
    page.wait_for_url(f"{base}/access/policies/add/")

    check = page.locator("#policy-validation")
    cedar = page.get_by_label("Cedar")
    cedar.press_sequentially("permitt(principal, action, resource);")
    check.get_by_text("line 1, column 1: invalid policy effect: permitt").wait_for()
    cedar.fill("")
    cedar.press_sequentially('permit(principal, action == Nimbus::Action::"accounts:user:view", resource);')
    check.get_by_text("Valid: 1 statement.").wait_for()

    page.get_by_role("link", name="Simulator", exact=True).click()
    page.wait_for_url(f"{base}/access/simulator/")
    page.evaluate("window.sameDocument = true")
    page.get_by_label("User").select_option(label=f"{BROWSER_ADMIN['email']} ({BROWSER_ADMIN['name']})")
    page.get_by_label("Action").select_option("accounts:user:create")
    page.get_by_label("When").fill("2026-03-04T22:00")
    page.get_by_role("button", name="Decide").click()
    result = page.locator("#simulator-result")
    result.get_by_text("Allowed", exact=True).wait_for()
    assert "builtin/tenant-admin" in result.inner_text() and "context.hour" in result.inner_text()
    page.get_by_label("Resource tags").fill("no equals sign")
    page.get_by_role("button", name="Decide").click()
    page.get_by_text("Line 1: write key=value.").wait_for()
    assert page.evaluate("window.sameDocument === true")  # HTMX swapped the panel; the page never reloaded
