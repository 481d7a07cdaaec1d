"""Saved queries on the audit explorer (/audit/): saving the current filters (checked as the API checks them),
opening one, deleting one's own, seeing the tenant's shared ones, and nobody else's."""

import html as html_lib
import re

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from apps.audit import recorder
from apps.audit.models import SavedQuery

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_streams")]

HTMX = {"HTTP_HX_REQUEST": "true"}


def text(response) -> str:
    return response.content.decode()


def saved_links(page: str) -> dict[str, str]:
    """Name → href of the saved queries listed on a page."""
    panel = page[page.index('id="audit-saved-list"') :]
    panel = panel[: panel.index("</ul>")]
    return {
        html_lib.unescape(name): html_lib.unescape(href)
        for href, name in re.findall(r'<a class="me-auto text-break" href="([^"]*)">([^<]*)</a>', panel)
    }


def row_count(page: str) -> int:
    return len(re.findall(r'href="/audit/events/\d+/"', page))


@pytest.fixture
def colleague(signed_in_client, acme):
    return signed_in_client(acme, email="colleague@audit-pages.test", is_tenant_admin=True)


def saved(tenant, name: str) -> SavedQuery:
    with schema_context(tenant.schema_name):
        return SavedQuery.objects.get(name=name)


def test_the_save_form_carries_the_current_filters(acme, admin):
    page = text(admin.get("/audit/?action=access:role:&outcome=denied&q=&before=99"))
    form = page[page.index('id="audit-saved-params"') :]
    form = form[: form.index("</div>")]
    assert 'name="action" value="access:role:"' in form and 'name="outcome" value="denied"' in form
    assert 'name="q"' not in form and 'name="before"' not in form  # empty filters and the keyset are not saved
    assert "Save this query" in page and "Share with the tenant" in page


def test_saving_then_opening_a_query_shows_its_events(acme, admin):
    with schema_context(acme.schema_name):
        for outcome in ("denied", "success", "denied"):
            recorder.record("access:role:create", resource_type="access:role", outcome=outcome)
    response = admin.post(
        "/audit/saved-queries/", {"name": "Denied role changes", "action": "access:role:", "outcome": "denied"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/audit/?action=access%3Arole%3A&outcome=denied"
    query = saved(acme, "Denied role changes")
    assert query.params == {"action": "access:role:", "outcome": "denied"} and not query.shared
    assert query.owner_id == admin.user.pk

    links = saved_links(text(admin.get("/audit/")))
    assert links == {"Denied role changes": "/audit/?action=access%3Arole%3A&outcome=denied"}
    opened = admin.get(links["Denied role changes"])
    assert opened.status_code == 200 and row_count(text(opened)) == 2
    assert 'value="access:role:"' in text(opened)  # the filter form shows the saved filters


def test_saving_through_htmx_returns_the_panel(acme, admin):
    response = admin.post("/audit/saved-queries/", {"name": "Sign-ins", "action": "accounts:session:"}, **HTMX)
    assert response.status_code == 200
    panel = text(response)
    assert panel.lstrip().startswith('<div class="card mt-3" id="audit-saved-queries"') and "<html" not in panel
    assert saved_links(panel) == {"Sign-ins": "/audit/?action=accounts%3Asession%3A"}
    assert 'name="action" value="accounts:session:"' in panel  # still the current filters, ready to save again


@pytest.mark.parametrize(
    ("post", "reason"),
    [
        ({"name": "x", "ip": "not-an-address"}, "ip: Enter a valid IPv4 or IPv6 address."),
        ({"name": "x", "colour": "red"}, "Unknown filters: colour"),
        ({"name": "x", "since": "soon"}, "since:"),
        ({"name": "", "outcome": "denied"}, "This field is required."),
        ({"name": " ", "outcome": "denied"}, "This field is required."),
    ],
)
def test_bad_input_shows_the_form_again_with_the_reason(acme, admin, post, reason):
    page = admin.post("/audit/saved-queries/", post)
    assert page.status_code == 400
    assert html_lib.unescape(text(page)).count(reason) >= 1 and "<html" in text(page)
    assert 'value="x"' in text(page) or not post["name"].strip()  # what was typed is kept
    fragment = admin.post("/audit/saved-queries/", post, **HTMX)
    assert fragment.status_code == 200 and reason in html_lib.unescape(text(fragment)) and "<html" not in text(fragment)
    with schema_context(acme.schema_name):
        assert not SavedQuery.objects.exists()


def test_a_second_query_of_the_same_name_is_refused(acme, admin):
    assert admin.post("/audit/saved-queries/", {"name": "Mine", "outcome": "denied"}).status_code == 302
    again = admin.post("/audit/saved-queries/", {"name": "Mine", "outcome": "error"})
    assert again.status_code == 400 and "You already have a query named" in html_lib.unescape(text(again))


def test_a_change_of_filters_through_htmx_updates_what_would_be_saved(acme, admin):
    fragment = text(admin.get("/audit/?outcome=error", **HTMX))
    assert 'id="audit-events"' in fragment and "<html" not in fragment
    assert re.search(
        r'<div id="audit-saved-params" hx-swap-oob="outerHTML"><input type="hidden" name="outcome" value="error">',
        fragment,
    )


def test_shared_queries_are_seen_by_colleagues_private_ones_are_not(acme, admin, colleague):
    admin.post("/audit/saved-queries/", {"name": "Team view", "shared": "on", "outcome": "denied"})
    admin.post("/audit/saved-queries/", {"name": "My view", "outcome": "error"})
    team, mine = saved(acme, "Team view"), saved(acme, "My view")
    assert team.shared and not mine.shared

    page = text(colleague.get("/audit/"))
    assert saved_links(page) == {"Team view": "/audit/?outcome=denied"}
    assert f"/audit/saved-queries/{team.pk}/delete/" not in page  # not theirs: no delete button
    assert colleague.post(f"/audit/saved-queries/{mine.pk}/delete/").status_code == 404
    assert colleague.post(f"/audit/saved-queries/{team.pk}/delete/").status_code == 403  # only its owner
    with schema_context(acme.schema_name):
        assert SavedQuery.objects.count() == 2
    assert sorted(saved_links(text(admin.get("/audit/")))) == ["My view", "Team view"]


def test_owners_delete_their_queries(acme, admin):
    admin.post("/audit/saved-queries/", {"name": "One", "outcome": "denied"})
    admin.post("/audit/saved-queries/", {"name": "Two", "outcome": "error"})
    one, two = saved(acme, "One"), saved(acme, "Two")
    response = admin.post(f"/audit/saved-queries/{one.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/audit/"
    panel = text(admin.post(f"/audit/saved-queries/{two.pk}/delete/", {"action": "accounts:"}, **HTMX))
    assert saved_links(panel) == {} and 'name="action" value="accounts:"' in panel
    with schema_context(acme.schema_name):
        assert not SavedQuery.objects.exists()
    assert admin.get(f"/audit/saved-queries/{one.pk}/delete/").status_code == 405


def test_users_who_may_not_read_the_trail_get_nothing(acme, admin, plain):
    admin.post("/audit/saved-queries/", {"name": "Team view", "shared": "on", "outcome": "denied"})
    team = saved(acme, "Team view")
    assert plain.get("/audit/").status_code == 403
    assert plain.post("/audit/saved-queries/", {"name": "Mine", "outcome": "denied"}).status_code == 403
    assert plain.post(f"/audit/saved-queries/{team.pk}/delete/").status_code == 403
    with schema_context(acme.schema_name):
        assert list(SavedQuery.objects.values_list("name", flat=True)) == ["Team view"]


def test_another_tenants_query_is_a_404(acme, globex, admin, signed_in_client):
    admin.post("/audit/saved-queries/", {"name": "Acme's", "shared": "on", "outcome": "denied"})
    ours = saved(acme, "Acme's")
    with schema_context(globex.schema_name), connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('audit_savedquery', 'id'), %s)", [ours.pk + 1000])
    rival = signed_in_client(globex, email="rival@audit-pages.test", is_tenant_admin=True)
    rival.post("/audit/saved-queries/", {"name": "Globex's", "shared": "on", "outcome": "error"})
    theirs = saved(globex, "Globex's")
    assert admin.post(f"/audit/saved-queries/{theirs.pk}/delete/").status_code == 404
    assert "Globex's" not in html_lib.unescape(text(admin.get("/audit/")))
    assert "Globex's" in html_lib.unescape(text(rival.get("/audit/")))
    # And from globex's side, acme's id is nothing there either.
    assert rival.post(f"/audit/saved-queries/{ours.pk}/delete/").status_code == 404
    assert saved(globex, "Globex's") and saved(acme, "Acme's")
