"""The issue's "done when", in a real browser against the app server, with a real Temporal worker.

An auditor opens the explorer, finds the sign-in, the role change and the failed attempt made a minute ago,
sees the delegated actor (provider staff) behind the role change, verifies the chain (green), watches it turn
red after a row is edited with SQL (as in psql), and exports last week's events as CSV with a progress bar.
"""

import asyncio
import csv
import io
import os
import re
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone
from django_tenants.utils import schema_context
from psycopg import sql

from conftest import BROWSER_STAFF, BROWSER_VANDELAY_ADMIN
from nimbus.testing.helpers import committed

# Like the other browser tests: no django_db mark; database work runs on threads of its own and commits.
pytestmark = pytest.mark.browser

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = BROWSER_VANDELAY_ADMIN["password"]


@pytest.fixture
def temporal_worker(app_server):
    """A real Temporal worker on this test run's task queue, in a thread, for the length of the test."""
    from temporalio.client import Client

    from nimbus import temporal

    ready, stopping = threading.Event(), None
    loop = asyncio.new_event_loop()

    async def serve():
        nonlocal stopping
        stopping = asyncio.Event()
        client = await Client.connect(settings.TEMPORAL_ADDRESS, namespace=settings.TEMPORAL_NAMESPACE)
        async with temporal.build_worker(client):
            ready.set()
            await stopping.wait()

    def run():
        try:
            loop.run_until_complete(serve())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name="temporal-worker", daemon=True)
    thread.start()
    assert ready.wait(60), "the Temporal worker did not start"
    yield
    loop.call_soon_threadsafe(stopping.set)
    thread.join(timeout=60)


@pytest.fixture
def vandelay_auditor():
    """A person of vandelay holding the system role ``auditor`` (committed; removed afterwards)."""
    from apps.access.models import Role
    from apps.access.services import role_assign
    from apps.accounts.models import User
    from apps.accounts.services import user_create
    from apps.tenancy.models import Tenant

    email = f"auditor-{uuid.uuid4().hex[:6]}@vandelay.localhost"

    def make():
        schema = Tenant.objects.get(slug="vandelay").schema_name
        with schema_context(schema):
            admin = User.objects.get(email=BROWSER_VANDELAY_ADMIN["email"])
            auditor = user_create(email=email, password=PASSWORD, display_name="Ada Auditor")
            role_assign(actor=admin, role=Role.objects.get(name="auditor"), user=auditor)
        return schema

    schema = committed(make)
    yield schema, email

    def remove():
        with schema_context(schema):
            User.objects.filter(email=email).delete()

    committed(remove)


def _seal(schema: str) -> None:
    from apps.audit.activities import seal_schema

    committed(lambda: seal_schema(schema))


def _sign_in(page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/sign-in/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_an_auditor_finds_verifies_sees_tampering_and_exports(app_server, browser, temporal_worker, vandelay_auditor):
    schema, auditor_email = vandelay_auditor
    base = f"http://vandelay.localhost:{app_server}"
    provider = f"http://localhost:{app_server}"
    role_name = f"change-reviewers-{uuid.uuid4().hex[:6]}"

    # Provider staff open Vandelay from the admin and, as a delegate, create a role.
    staff = browser.new_context().new_page()
    staff.goto(f"{provider}/admin/")
    staff.get_by_label("Email").fill(BROWSER_STAFF["email"])
    staff.get_by_label("Password").fill(BROWSER_STAFF["password"])
    staff.get_by_role("button", name="Log in").click()
    staff.wait_for_url(f"{provider}/admin/")
    staff.goto(f"{provider}/admin/tenancy/tenant/")
    staff.get_by_role("link", name="Vandelay Industries", exact=True).click()
    staff.get_by_role("button", name="Open tenant").click()
    staff.get_by_role("button", name="Continue as delegate").click()
    staff.wait_for_url(f"{base}/")
    staff.goto(f"{base}/access/roles/add/")
    staff.get_by_role("textbox", name="Name").fill(role_name)
    staff.get_by_role("textbox", name="Label").fill("Change reviewers")
    staff.locator("#perm-accountsuserview").check()
    staff.get_by_role("button", name="Create role").click()
    staff.wait_for_url(re.compile(rf"^{re.escape(base)}/access/roles/"))
    staff.context.close()

    # Someone fails to sign in as the auditor; then the auditor signs in.
    page = browser.new_context(accept_downloads=True).new_page()
    _sign_in(page, base, auditor_email, "not-the-password")
    assert page.get_by_text("do not match an active account here").is_visible()
    _sign_in(page, base, auditor_email, PASSWORD)
    page.wait_for_url(f"{base}/")
    _seal(schema)

    # The explorer: the sign-in, the failed attempt and the role change, the last by a delegate of staff.
    page.goto(f"{base}/audit/?q={auditor_email}")
    rows = page.locator("#audit-events tbody tr")
    assert rows.filter(has_text="accounts:session:login").filter(has_text="success").count() >= 1
    assert rows.filter(has_text="accounts:session:login_failed").count() >= 1
    page.goto(f"{base}/audit/?action=access:role:create")
    created = page.locator("#audit-events tbody tr").filter(has_text=role_name)
    assert created.count() == 1
    delegated = created.locator(".badge", has_text="delegated")
    assert delegated.is_visible() and BROWSER_STAFF["email"] in delegated.get_attribute("title")

    # The whole chain verifies: green.
    page.goto(f"{base}/audit/")
    page.get_by_role("button", name="Verify whole chain").click()
    badge = page.locator("#audit-chain")
    badge.get_by_text("Chain verified").wait_for()

    # Someone with database access edits the role change's event; the chain turns red, naming it.
    def tamper() -> tuple[int, str]:
        from apps.audit.models import AuditEvent

        with schema_context(schema):
            event = AuditEvent.objects.get(action="access:role:create", resource_display__contains=role_name)
        params = connection.get_connection_params()
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute(
                sql.SQL("UPDATE {}.audit_auditevent SET actor_display = %s WHERE id = %s").format(
                    sql.Identifier(schema)
                ),
                ["someone-else@vandelay.localhost", event.pk],
            )
        return event.seq, event.actor_display

    seq, original = committed(tamper)
    try:
        page.get_by_role("button", name="Verify whole chain").click()
        badge.get_by_text(f"BROKEN at event {seq}").wait_for()
        assert "text-bg-danger" in page.locator("#audit-chain .badge").first.get_attribute("class")
    finally:

        def restore():
            params = connection.get_connection_params()
            with psycopg.connect(**params, autocommit=True) as other:
                other.execute(
                    sql.SQL("UPDATE {}.audit_auditevent SET actor_display = %s WHERE seq = %s").format(
                        sql.Identifier(schema)
                    ),
                    [original, seq],
                )

        committed(restore)

    # Last week's events as CSV: the filter, the export button, the progress bar, the file.
    week_ago = (timezone.now() - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    page.goto(f"{base}/audit/")
    page.get_by_label("From").fill(week_ago)
    page.get_by_label("From").dispatch_event("change")
    page.locator(f'#audit-export-form input[name="since"][value="{week_ago}"]').wait_for(state="attached")
    page.locator("#audit-export-form").get_by_role("button", name="CSV").click()
    page.wait_for_url(re.compile(rf"^{re.escape(base)}/audit/exports/\d+/$"))
    assert page.get_by_role("progressbar", name="Export progress").is_visible()
    download_link = page.get_by_role("link", name="Download CSV")
    download_link.wait_for(timeout=60_000)  # the bar fills as the workflow writes; the link comes when ready
    assert page.get_by_role("progressbar", name="Export progress").get_attribute("aria-valuenow") == "100"
    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    actions = {row["action"] for row in rows}
    assert {"accounts:session:login", "accounts:session:login_failed", "access:role:create"} <= actions
    assert any(BROWSER_STAFF["email"] in row["on_behalf_of"] for row in rows if row["action"] == "access:role:create")
    page.context.close()
