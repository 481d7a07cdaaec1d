"""The users pages of a tenant host: list with HTMX filtering, sorting and paging, bulk actions, add, detail."""

import re

import pytest
from django.core import mail
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.accounts.tests import PASSWORD

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def make_user(tenant, email, **flags):
    with schema_context(tenant.schema_name):
        return user_create(email=email, password=flags.pop("password", PASSWORD), **flags)


def fresh(tenant, user) -> User:
    with schema_context(tenant.schema_name):
        return User.objects.get(pk=user.pk)


def flashes(response) -> list[str]:
    """The flash messages shown on the page a redirect leads to (showing them uses them up)."""
    assert response.status_code == 302, response.status_code
    page = response.client.get(response["Location"])
    return [str(message) for message in page.context["messages"]]


def emails_in(html: str) -> list[str]:
    """The emails of the table's rows, in order (each row links its email to the detail page)."""
    return re.findall(r'<a href="/users/\d+/">([^<]+)</a>', html)


@pytest.fixture
def admin(signed_in_client, acme):
    return signed_in_client(acme, email="boss@acme.test", is_tenant_admin=True)


@pytest.fixture
def carol(acme):
    return make_user(acme, "carol@acme.test", display_name="Carol Jones")


@pytest.fixture
def dan(acme):
    return make_user(acme, "dan@acme.test")


@pytest.fixture
def crowd(acme):
    """30 users named pageNN, more than one page (25) of the table."""
    with schema_context(acme.schema_name):
        return User.objects.bulk_create([User(email=f"page{n:02}@acme.test", password="!x") for n in range(30)])


# --- The list ----------------------------------------------------------------------------------


def test_users_page_shows_the_table_filter_form_and_bulk_actions(admin, carol):
    response = admin.get("/users/")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.startswith("<!doctype html>") and "<nav" in page
    assert '<div class="htmx-container" id="users-table" hx-history="false">' in page
    assert f'<a href="/users/{carol.pk}/">carol@acme.test</a>' in page and "Carol Jones" in page
    assert f'name="pk" value="{carol.pk}"' in page  # the selection checkbox
    for field in ("q", "is_active", "is_tenant_admin", "is_delegated"):
        assert f'name="{field}"' in page
    for action in ("disable", "enable", "reset-password"):
        assert f'name="action" value="{action}"' in page
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_htmx_filtering_returns_only_the_table_fragment(admin, carol, dan):
    response = admin.get("/users/", {"q": "jones"}, **HTMX)
    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div class="htmx-container" id="users-table"')
    assert "<html" not in fragment and "<nav class=" not in fragment
    assert emails_in(fragment) == ["carol@acme.test"]
    assert "HX-Request" in response["Vary"]


def test_htmx_paging_and_sorting_return_the_fragment_with_htmx_links(admin, crowd):
    first = admin.get("/users/", {"q": "page"}, **HTMX).content.decode()
    assert emails_in(first) == [f"page{n:02}@acme.test" for n in range(25)]
    assert 'hx-get="?q=page&amp;page=2"' in first and 'hx-push-url="true"' in first
    assert 'hx-target="closest .htmx-container"' in first

    second = admin.get("/users/", {"q": "page", "page": 2}, **HTMX).content.decode()
    assert emails_in(second) == [f"page{n:02}@acme.test" for n in range(25, 30)]
    assert "<html" not in second

    descending = admin.get("/users/", {"q": "page", "sort": "-email"}, **HTMX).content.decode()
    assert emails_in(descending)[:2] == ["page29@acme.test", "page28@acme.test"]
    assert 'aria-sort="descending"' in descending


def test_going_back_in_history_gets_the_whole_page(admin, carol):
    # htmx refetches pages it did not keep (hx-history="false") and swaps the answer in as the whole page.
    response = admin.get("/users/", {"q": "carol"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert response.content.decode().startswith("<!doctype html>")


def test_filters_by_flags(admin, acme, carol, dan):
    with schema_context(acme.schema_name):
        User.objects.filter(pk=dan.pk).update(is_active=False)
    disabled = admin.get("/users/", {"is_active": "false"}, **HTMX).content.decode()
    assert emails_in(disabled) == ["dan@acme.test"] and "Disabled" in disabled
    admins = emails_in(admin.get("/users/", {"is_tenant_admin": "true"}, **HTMX).content.decode())
    assert "boss@acme.test" in admins and "carol@acme.test" not in admins


@pytest.mark.parametrize(
    "query",
    [
        {"page": "999"},
        {"page": "abc"},
        {"page": "0"},
        {"per_page": "0"},
        {"per_page": "-3"},
        {"per_page": "99999999"},
        {"sort": "password"},
        {"sort": "-nonsense"},
        {"is_active": "banana"},
        {"q": "\x00"},
    ],
)
def test_odd_query_strings_never_break_the_list(admin, carol, query):
    for headers in ({}, HTMX):
        assert admin.get("/users/", query, **headers).status_code == 200


def test_a_bad_filter_is_shown_and_ignored(admin, carol):
    page = admin.get("/users/", {"is_active": "banana", "q": "carol"}).content.decode()
    assert "Choose true or false (or leave it empty for any)." in page and "This filter is ignored." in page
    assert emails_in(page) == ["carol@acme.test"]


# --- Who may see the pages ---------------------------------------------------------------------


def test_plain_users_get_the_403_page_and_no_menu_entry(signed_in_client, acme, carol):
    plain = signed_in_client(acme, email="plain@acme.test")
    for url in ("/users/", "/users/add/", f"/users/{carol.pk}/"):
        response = plain.get(url)
        assert response.status_code == 403 and "You may not do that" in response.content.decode()
    assert plain.post("/users/bulk/", {"action": "disable", "pk": carol.pk, "confirm": "yes"}).status_code == 403
    assert plain.post(f"/users/{carol.pk}/disable/").status_code == 403
    assert fresh(acme, carol).is_active
    assert "Users" not in [link.label for link in plain.get("/").context["main_menu"]]


def test_admins_have_a_users_menu_entry(admin):
    links = {link.label: link.url for link in admin.get("/").context["main_menu"]}
    assert links["Users"] == "/users/"


def test_visitors_are_sent_to_sign_in(host_client, acme):
    response = host_client("acme.localhost").get("/users/")
    assert response.status_code == 302 and response["Location"] == "/sign-in/?next=/users/"


def test_tenant_hosts_have_no_admin_pages(admin):
    assert admin.get("/admin/").status_code == 404
    assert admin.get("/admin/accounts/user/").status_code == 404


def test_provider_host_has_no_users_pages(signed_in_client, provider):
    root = signed_in_client(provider, email="root@nimbus.test", is_staff=True, is_superuser=True)
    assert root.get("/users/").status_code == 404


def test_an_acme_session_is_anonymous_on_globex_and_globex_ids_stay_apart(host_client, acme, globex, admin):
    stolen = host_client("globex.localhost")
    stolen.cookies["sessionid"] = admin.cookies["sessionid"].value
    assert stolen.get("/users/")["Location"].startswith("/sign-in/")
    victim = make_user(globex, "victim@globex.test")
    assert stolen.post(f"/users/{victim.pk}/disable/").status_code == 302
    assert fresh(globex, victim).is_active
    with schema_context(acme.schema_name):
        lonely = User.objects.create(pk=2_000_000_001, email="lonely@acme.test", password="!x")
    globex_admin = Client(HTTP_HOST="globex.localhost")
    with schema_context(globex.schema_name):
        globex_admin.force_login(user_create(email="chief@globex.test", password=None, is_tenant_admin=True))
    assert globex_admin.get(f"/users/{lonely.pk}/").status_code == 404
    assert (
        globex_admin.post("/users/bulk/", {"action": "disable", "pk": lonely.pk, "confirm": "yes"}).status_code == 302
    )
    assert fresh(acme, lonely).is_active


@pytest.mark.parametrize("url", ["/users/999999999/", "/users/abc/", "/users/999999999/disable/"])
def test_unknown_user_ids_are_404(admin, url):
    response = admin.post(url) if url.endswith("disable/") else admin.get(url)
    assert response.status_code == 404


def test_state_changes_need_post_and_csrf(acme, admin, carol):
    assert admin.get(f"/users/{carol.pk}/disable/").status_code == 405
    assert admin.get("/users/bulk/").status_code == 405
    strict = Client(HTTP_HOST="acme.localhost", enforce_csrf_checks=True)
    strict.cookies["sessionid"] = admin.cookies["sessionid"].value
    assert strict.post(f"/users/{carol.pk}/disable/").status_code == 403
    assert strict.post("/users/bulk/", {"action": "disable", "pk": carol.pk, "confirm": "yes"}).status_code == 403
    assert fresh(acme, carol).is_active


# --- Adding ------------------------------------------------------------------------------------


def test_add_with_a_password(host_client, acme, admin):
    response = admin.post(
        "/users/add/", {"email": "Eve@Acme.test", "display_name": "Eve", "password": PASSWORD}, follow=True
    )
    with schema_context(acme.schema_name):
        eve = User.objects.get(email="eve@acme.test")
    assert response.redirect_chain[-1][0] == f"/users/{eve.pk}/"
    assert "eve@acme.test was added and can sign in with the password you set." in response.content.decode()
    assert mail.outbox == []
    signed_in = host_client("acme.localhost").post("/sign-in/", {"username": "eve@acme.test", "password": PASSWORD})
    assert signed_in["Location"] == "/"


def test_add_without_a_password_sends_an_invitation(acme, admin):
    response = admin.post("/users/add/", {"email": "fay@acme.test", "is_tenant_admin": "on"})
    assert response.status_code == 302
    assert flashes(response) == ["An invitation was emailed to fay@acme.test."]
    assert mail.outbox[0].to == ["fay@acme.test"]
    assert "http://acme.localhost/invitation/" in mail.outbox[0].body
    with schema_context(acme.schema_name):
        fay = User.objects.get(email="fay@acme.test")
    assert fay.is_tenant_admin and not fay.has_usable_password()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "CAROL@acme.test", "password": PASSWORD}, "A user with this email already exists here."),
        ({"email": "gus@acme.test", "password": "short"}, "too short"),
        ({"email": "not an email"}, "Enter a valid email address."),
    ],
)
def test_add_shows_errors_next_to_the_fields_and_creates_nothing(acme, admin, carol, data, message):
    with schema_context(acme.schema_name):
        before = User.objects.count()
    response = admin.post("/users/add/", data)
    assert response.status_code == 400
    assert message in response.content.decode() and "is-invalid" in response.content.decode()
    with schema_context(acme.schema_name):
        assert User.objects.count() == before
    assert mail.outbox == []


# --- Detail, edit and single actions -----------------------------------------------------------


def test_detail_shows_the_user_and_saves_edits(acme, admin, carol):
    page = admin.get(f"/users/{carol.pk}/").content.decode()
    assert "carol@acme.test" in page and 'value="Carol Jones"' in page
    for action in ("disable", "reset-password", "invite"):
        assert f'action="/users/{carol.pk}/{action}/"' in page
    saved = admin.post(f"/users/{carol.pk}/", {"email": "carol@acme.test", "display_name": "C. Jones"})
    assert saved.status_code == 302 and flashes(saved) == ["carol@acme.test was saved."]
    assert fresh(acme, carol).display_name == "C. Jones"
    taken = admin.post(f"/users/{carol.pk}/", {"email": "BOSS@acme.test", "display_name": "x"})
    assert taken.status_code == 400 and "A user with this email already exists here." in taken.content.decode()
    assert fresh(acme, carol).email == "carol@acme.test"


def test_detail_buttons_disable_enable_reset_and_invite(host_client, acme, admin, carol):
    disabled = admin.post(f"/users/{carol.pk}/disable/")
    assert disabled["Location"] == f"/users/{carol.pk}/"
    assert flashes(disabled) == ["carol@acme.test was disabled and signed out everywhere."]
    assert not fresh(acme, carol).is_active
    assert f'action="/users/{carol.pk}/enable/"' in admin.get(f"/users/{carol.pk}/").content.decode()
    assert flashes(admin.post(f"/users/{carol.pk}/enable/")) == ["carol@acme.test was enabled."]
    assert flashes(admin.post(f"/users/{carol.pk}/reset-password/")) == [
        "A password-reset link was emailed to carol@acme.test."
    ]
    assert "http://acme.localhost/password-reset/" in mail.outbox[-1].body
    assert flashes(admin.post(f"/users/{carol.pk}/invite/")) == ["An invitation was emailed to carol@acme.test."]
    host_client("acme.localhost").post("/sign-in/", {"username": "carol@acme.test", "password": PASSWORD})
    refused = flashes(admin.post(f"/users/{carol.pk}/invite/"))
    assert refused == ["carol@acme.test has already signed in; send a password reset instead of an invitation."]


def test_own_page_has_no_disable_button_and_refuses_it(acme, admin):
    me = admin.user
    page = admin.get(f"/users/{me.pk}/").content.decode()
    assert f'action="/users/{me.pk}/disable/"' not in page
    assert flashes(admin.post(f"/users/{me.pk}/disable/")) == [
        "You cannot disable your own account; ask another administrator."
    ]
    assert fresh(acme, me).is_active


def test_delegated_account_page_is_read_only_but_can_disable(acme, admin):
    with schema_context(acme.schema_name):
        delegate = User(
            email="delegate@acme.test", is_delegated=True, home_schema="public", home_user_id=1, home_email="ops@x.test"
        )
        delegate.set_unusable_password()
        delegate.save()
    page = admin.get(f"/users/{delegate.pk}/").content.decode()
    assert "managed from its home account (ops@x.test)" in page and 'name="email"' not in page
    assert f'action="/users/{delegate.pk}/reset-password/"' not in page
    edit = admin.post(f"/users/{delegate.pk}/", {"email": "new@acme.test", "display_name": "x"})
    assert edit.status_code == 400 and fresh(acme, delegate).email == "delegate@acme.test"
    admin.post(f"/users/{delegate.pk}/disable/")
    assert not fresh(acme, delegate).is_active


# --- Bulk actions ------------------------------------------------------------------------------


def test_bulk_disable_confirms_then_reports_what_changed_and_what_was_refused(acme, admin, carol, dan):
    selection = {"action": "disable", "pk": [carol.pk, dan.pk, admin.user.pk], "return_query": "?q=acme&page=1"}
    confirm = admin.post("/users/bulk/", selection)
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "Disable 3 users?" in page and "carol@acme.test" in page and 'name="confirm" value="yes"' in page
    assert fresh(acme, carol).is_active  # nothing happens before confirmation

    done = admin.post("/users/bulk/", {**selection, "confirm": "yes"})
    assert done.status_code == 302 and done["Location"] == "/users/?q=acme&page=1"
    assert flashes(done) == [
        "Disabled 2 users. Refused 1: boss@acme.test (You cannot disable your own account; ask another administrator.)"
    ]
    assert not fresh(acme, carol).is_active and not fresh(acme, dan).is_active and fresh(acme, admin.user).is_active


def test_bulk_enable_and_password_reset(acme, admin, carol, dan):
    with schema_context(acme.schema_name):
        User.objects.filter(pk__in=[carol.pk, dan.pk]).update(is_active=False)
    enabled = admin.post("/users/bulk/", {"action": "enable", "pk": [carol.pk, dan.pk], "confirm": "yes"})
    assert flashes(enabled) == ["Enabled 2 users."]
    reset = admin.post("/users/bulk/", {"action": "reset-password", "pk": [carol.pk, dan.pk], "confirm": "yes"})
    assert flashes(reset) == ["Sent a password reset to 2 users."]
    assert sorted(message.to[0] for message in mail.outbox) == ["carol@acme.test", "dan@acme.test"]


def test_bulk_without_a_selection_or_with_a_bad_action(admin, carol):
    empty = admin.post("/users/bulk/", {"action": "disable", "pk": ["", "abc"]})
    assert empty.status_code == 302 and flashes(empty) == ["Select at least one user first."]
    assert admin.post("/users/bulk/", {"action": "delete", "pk": carol.pk}).status_code == 400


def test_bulk_return_query_cannot_inject_a_location(admin, carol):
    response = admin.post(
        "/users/bulk/",
        {"action": "enable", "pk": carol.pk, "confirm": "yes", "return_query": "?x=1\r\nSet-Cookie: a=b"},
    )
    assert response.status_code == 302 and response["Location"].startswith("/users/?x=1")
    assert "\n" not in response["Location"]


def test_the_list_costs_the_same_few_queries_however_many_users(admin, crowd, django_assert_max_num_queries):
    # Routing (3), the session, the signed-in user, the account policy (cached outside tests), the count,
    # the page of rows. The first request prepares the access engine's policies and the admin's groups, which
    # stay cached until something about access changes: measure the second.
    admin.get("/users/", **HTMX)
    with django_assert_max_num_queries(8):
        assert len(emails_in(admin.get("/users/", **HTMX).content.decode())) == 25


# --- Decided by the access engine ---------------------------------------------------------------


def test_a_read_only_user_sees_the_users_but_no_controls_and_cannot_post(signed_in_client, acme, admin, carol):
    from apps.access.models import Role
    from apps.access.services import role_assign

    viewer = signed_in_client(acme, email="viewer@acme.test")
    assert viewer.get("/users/").status_code == 403  # no role yet
    with schema_context(acme.schema_name):
        role_assign(actor=admin.user, role=Role.objects.get(name="read_only"), user=viewer.user)

    listing = viewer.get("/users/")
    assert listing.status_code == 200 and "carol@acme.test" in emails_in(listing.content.decode())
    assert "Add or invite a user" not in listing.content.decode()
    page = viewer.get(f"/users/{carol.pk}/").content.decode()
    assert "Carol Jones" in page and ">Disable<" not in page and ">Save<" not in page
    assert viewer.post(f"/users/{carol.pk}/", {"email": "x@acme.test"}).status_code == 403
    assert viewer.post(f"/users/{carol.pk}/disable/").status_code == 403
    assert fresh(acme, carol).is_active and fresh(acme, carol).email == "carol@acme.test"


def test_someone_who_may_not_see_users_gets_404_for_a_user_through_an_object_grant_view(
    signed_in_client, acme, admin, carol, dan
):
    """Granted one user only: that one is visible and changeable; the others do not exist for them."""
    from apps.access.services import object_grant_add

    helper = signed_in_client(acme, email="helper@acme.test")
    with schema_context(acme.schema_name):
        for permission in ("accounts:user:view", "accounts:user:update"):
            object_grant_add(
                actor=admin.user, permission=permission, kind="accounts:user", object_id=carol.pk, user=helper.user
            )
    listing = emails_in(helper.get("/users/").content.decode())
    assert listing == ["carol@acme.test"]
    assert helper.get(f"/users/{dan.pk}/").status_code == 404
    response = helper.post(f"/users/{carol.pk}/", {"email": "carol@acme.test", "display_name": "Carol J"})
    assert response.status_code == 302 and fresh(acme, carol).display_name == "Carol J"
