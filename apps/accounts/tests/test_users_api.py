"""The users API (/api/v1/users/): administrators list, create, invite, change, disable and enable users."""

import re
import socket

import pytest
from django.core import mail
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tenants.utils import schema_context

from apps.accounts.models import User, UserSession
from apps.accounts.services import api_token_create, user_create
from apps.accounts.tests import PASSWORD
from apps.accounts.tokens import invitation_token, password_reset_token

pytestmark = pytest.mark.django_db

USER_FIELDS = {
    "id",
    "email",
    "display_name",
    "is_active",
    "is_tenant_admin",
    "is_delegated",
    "home_email",
    "has_password",
    "date_joined",
    "last_login",
}


def api_client(tenant, user) -> Client:
    """A client of the tenant's host that sends a fresh API token of ``user``."""
    with schema_context(tenant.schema_name):
        _, token = api_token_create(user=user, name="tests")
    client = Client(HTTP_HOST=f"{tenant.slug}.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
    client.token = token
    return client


def make_user(tenant, email, **flags):
    with schema_context(tenant.schema_name):
        return user_create(email=email, password=flags.pop("password", PASSWORD), **flags)


def fresh(tenant, user) -> User:
    with schema_context(tenant.schema_name):
        return User.objects.get(pk=user.pk)


def sign_in(host_client, host, email, password=PASSWORD):
    client = host_client(host)
    response = client.post("/sign-in/", {"username": email, "password": password})
    return client, response.status_code == 302


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)


@pytest.fixture
def boss(acme):
    return make_user(acme, "boss@acme.test", display_name="Boss", is_tenant_admin=True)


@pytest.fixture
def admin_api(acme, boss):
    return api_client(acme, boss)


@pytest.fixture
def carol(acme):
    return make_user(acme, "carol@acme.test", display_name="Carol Jones")


@pytest.fixture
def many_users(acme):
    """55 plain users, more than one page (50)."""
    with schema_context(acme.schema_name):
        return User.objects.bulk_create(
            [User(email=f"bulk{number:02}@acme.test", password="!unusable") for number in range(55)]
        )


def delegated_admin(tenant, email="staff@nimbus.test"):
    """A delegated account as the delegation feature will create it: no password, tied to a home account."""
    with schema_context(tenant.schema_name):
        user = User(
            email=f"delegate+{email}",
            is_delegated=True,
            home_schema="public",
            home_user_id=1,
            home_email=email,
            is_tenant_admin=True,
        )
        user.set_unusable_password()
        user.save()
        return user


def problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


# --- Listing ---------------------------------------------------------------------------------


def test_list_is_paginated_and_shows_no_secrets(admin_api, many_users):
    first = admin_api.get("/api/v1/users/")
    assert first.status_code == 200
    body = first.json()
    assert body["count"] >= 57 and len(body["results"]) == 50 and body["next"]
    assert set(body["results"][0]) == USER_FIELDS
    second = admin_api.get("/api/v1/users/", {"page": 2}).json()
    assert {row["email"] for row in body["results"]}.isdisjoint(row["email"] for row in second["results"])
    assert problem(admin_api.get("/api/v1/users/", {"page": 999}), 404)["detail"] == "Invalid page."


def test_search_matches_email_and_name_case_insensitively(admin_api, carol, many_users):
    assert [row["email"] for row in admin_api.get("/api/v1/users/", {"q": "JONES"}).json()["results"]] == [
        "carol@acme.test"
    ]
    assert admin_api.get("/api/v1/users/", {"q": "bulk0"}).json()["count"] == 10


def test_filters_and_ordering(admin_api, acme, boss, carol, many_users):
    with schema_context(acme.schema_name):
        User.objects.filter(email="bulk00@acme.test").update(is_active=False)
    inactive = admin_api.get("/api/v1/users/", {"is_active": "false"}).json()["results"]
    assert [row["email"] for row in inactive] == ["bulk00@acme.test"]
    admins = {row["email"] for row in admin_api.get("/api/v1/users/", {"is_tenant_admin": "true"}).json()["results"]}
    assert "boss@acme.test" in admins and "carol@acme.test" not in admins
    assert admin_api.get("/api/v1/users/", {"is_delegated": "true"}).json()["count"] == 0
    descending = admin_api.get("/api/v1/users/", {"q": "bulk", "ordering": "-email"}).json()["results"]
    assert descending[0]["email"] == "bulk54@acme.test"


@pytest.mark.parametrize(
    ("params", "field"), [({"is_active": "banana"}, "is_active"), ({"ordering": "password"}, "ordering")]
)
def test_bad_filters_are_a_400_problem(admin_api, params, field):
    body = problem(admin_api.get("/api/v1/users/", params), 400)
    assert field in body["errors"]


def test_retrieve_one_user(admin_api, carol):
    body = admin_api.get(f"/api/v1/users/{carol.pk}/").json()
    assert body["email"] == "carol@acme.test" and body["has_password"] is True and "password" not in body
    assert problem(admin_api.get("/api/v1/users/999999999/"), 404)["title"] == "Not Found"


# --- Who may use it ----------------------------------------------------------------------------


def test_plain_user_gets_a_403_problem(acme, carol):
    client = api_client(acme, carol)
    body = problem(client.get("/api/v1/users/"), 403)
    assert body["detail"] == "You do not hold the permission 'accounts:user:view' (see the tenant's users)."
    problem(client.post("/api/v1/users/", {"email": "x@acme.test"}, content_type="application/json"), 403)
    # Users she may not even see are not there for her (no existence leak): 404, not 403.
    problem(client.post(f"/api/v1/users/{carol.pk}/disable/"), 404)


def test_a_user_who_may_see_users_but_not_disable_them_gets_a_403_with_the_reason(acme, boss, carol):
    from apps.access.models import Role
    from apps.access.services import role_assign

    with schema_context(acme.schema_name):
        role_assign(actor=boss, role=Role.objects.get(name="read_only"), user=carol)
    client = api_client(acme, carol)
    assert carol.pk in [row["id"] for row in client.get("/api/v1/users/").json()["results"]]
    body = problem(client.post(f"/api/v1/users/{boss.pk}/disable/"), 403)
    assert body["detail"] == "You do not hold the permission 'accounts:user:disable' (disable and enable users)."


def test_anonymous_gets_a_401_problem(host_client, acme, carol):
    client = host_client("acme.localhost")
    assert problem(client.get("/api/v1/users/"), 401)["code"] == "not_authenticated"
    problem(client.post(f"/api/v1/users/{carol.pk}/disable/"), 401)


def test_acme_admin_credentials_are_worthless_on_globex(host_client, acme, globex, boss, admin_api):
    victim = make_user(globex, "victim@globex.test")
    stolen_token = Client(HTTP_HOST="globex.localhost", HTTP_AUTHORIZATION=f"Bearer {admin_api.token}")
    problem(stolen_token.get("/api/v1/users/"), 401)
    problem(stolen_token.post(f"/api/v1/users/{victim.pk}/disable/"), 401)

    acme_session, ok = sign_in(host_client, "acme.localhost", "boss@acme.test")
    assert ok
    stolen_session = host_client("globex.localhost")
    stolen_session.cookies["sessionid"] = acme_session.cookies["sessionid"].value
    problem(stolen_session.get("/api/v1/users/"), 401)
    problem(stolen_session.post(f"/api/v1/users/{victim.pk}/disable/"), 401)
    assert fresh(globex, victim).is_active


def test_another_tenants_user_ids_do_not_exist_here(acme, globex, carol):
    globex_admin = make_user(globex, "chief@globex.test", is_tenant_admin=True)
    with schema_context(acme.schema_name):
        # An id that exists on acme only (ids repeat across schemas, so make sure of it).
        lonely = User.objects.create(pk=2_000_000_000, email="lonely@acme.test", password="!x")
    client = api_client(globex, globex_admin)
    problem(client.get(f"/api/v1/users/{lonely.pk}/"), 404)
    problem(client.post(f"/api/v1/users/{lonely.pk}/disable/"), 404)
    problem(client.patch(f"/api/v1/users/{lonely.pk}/", {"display_name": "x"}, content_type="application/json"), 404)
    listed = {row["email"] for row in client.get("/api/v1/users/").json()["results"]}
    assert "carol@acme.test" not in listed and "lonely@acme.test" not in listed
    assert fresh(acme, lonely).is_active


# --- Creating and inviting ---------------------------------------------------------------------


def test_create_with_a_password_lets_the_person_sign_in(host_client, admin_api):
    response = admin_api.post(
        "/api/v1/users/",
        {"email": "Dave@Acme.test", "display_name": "Dave", "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["has_password"], body["is_tenant_admin"]) == ("dave@acme.test", True, False)
    assert mail.outbox == []
    assert sign_in(host_client, "acme.localhost", "dave@acme.test")[1]


def test_create_without_a_password_emails_a_one_time_invitation(host_client, acme, admin_api):
    response = admin_api.post(
        "/api/v1/users/", {"email": "erin@acme.test", "is_tenant_admin": True}, content_type="application/json"
    )
    assert response.status_code == 201
    assert response.json()["has_password"] is False and response.json()["is_tenant_admin"] is True
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["erin@acme.test"]
    link = link_in(mail.outbox[0])
    assert link.startswith("http://acme.localhost/invitation/")
    assert "7 days" in mail.outbox[0].body
    path = link.removeprefix("http://acme.localhost")

    invited = host_client("acme.localhost")
    landing = invited.get(path)
    assert landing.status_code == 302 and landing["Location"].endswith("/set-password/")  # the token leaves the URL
    form_url = landing["Location"]
    assert "Choose your password" in invited.get(form_url).content.decode()
    weak = invited.post(form_url, {"new_password1": "short", "new_password2": "short"})
    assert weak.status_code == 400 and "too short" in weak.content.decode()
    accepted = invited.post(form_url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert accepted.status_code == 302 and accepted["Location"] == "/"
    assert invited.get("/api/v1/me/").json()["email"] == "erin@acme.test"  # signed in by accepting

    replay = host_client("acme.localhost").get(path)
    assert replay.status_code == 400 and "does not work" in replay.content.decode()
    assert sign_in(host_client, "acme.localhost", "erin@acme.test")[1]


def test_a_form_encoded_create_is_refused_with_the_type_to_send(admin_api):
    response = admin_api.post("/api/v1/users/", {"email": "form@acme.test", "display_name": "Form"})
    assert response.status_code == 415 and "application/json" in response.json()["detail"]
    assert mail.outbox == []


def test_invitation_without_email_and_resending(acme, admin_api):
    quiet = admin_api.post(
        "/api/v1/users/", {"email": "frank@acme.test", "invite": False}, content_type="application/json"
    )
    assert quiet.status_code == 201 and mail.outbox == []
    resent = admin_api.post(f"/api/v1/users/{quiet.json()['id']}/invite/")
    assert resent.status_code == 202 and resent.json() == {"detail": "An invitation was emailed to frank@acme.test."}
    # Creating someone invited but never signed in again re-sends their invitation instead of failing.
    again = admin_api.post("/api/v1/users/", {"email": "FRANK@acme.test"}, content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == quiet.json()["id"]
    assert [message.to for message in mail.outbox] == [["frank@acme.test"], ["frank@acme.test"]]


def test_no_invitation_for_someone_who_has_signed_in(host_client, acme, admin_api, carol):
    assert sign_in(host_client, "acme.localhost", "carol@acme.test")[1]
    body = problem(admin_api.post(f"/api/v1/users/{carol.pk}/invite/"), 400)
    assert "has already signed in; send a password reset instead" in body["detail"]
    body = problem(admin_api.post("/api/v1/users/", {"email": "carol@acme.test"}, content_type="application/json"), 400)
    assert body["errors"] == {"email": ["A user with this email already exists here."]}
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"email": "ADMIN@ACME.LOCALHOST", "password": PASSWORD}, "email", "already exists"),
        ({"email": "gina@acme.test", "password": "123456789012"}, "password", "entirely numeric"),
        ({"email": "gina@acme.test", "password": "short"}, "password", "too short"),
        ({"email": "gina@acme.test", "is_staff": True}, "is_staff", "not accepted"),
        ({"email": "gina@acme.test", "password": PASSWORD, "invite": True}, "invite", "not both"),
        ({"email": "gina@acme.test", "display_name": "x" * 151}, "display_name", "150"),
    ],
)
def test_bad_create_input_is_a_400_and_creates_nothing(acme, admin_api, payload, field, message):
    with schema_context(acme.schema_name):
        before = User.objects.count()
    body = problem(admin_api.post("/api/v1/users/", payload, content_type="application/json"), 400)
    assert message in " ".join(body["errors"][field])
    with schema_context(acme.schema_name):
        assert User.objects.count() == before
    assert mail.outbox == []


def test_failed_invitation_email_leaves_nothing_behind(acme, admin_api, settings):
    with socket.socket() as probe:  # a port nobody listens on: the SMTP connection is refused
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port, 5
    body = problem(admin_api.post("/api/v1/users/", {"email": "hank@acme.test"}, content_type="application/json"), 400)
    assert body["detail"] == "The email could not be sent. Nothing was changed; try again later."
    with schema_context(acme.schema_name):
        assert not User.objects.filter(email="hank@acme.test").exists()


# --- Changing ----------------------------------------------------------------------------------


def test_patch_changes_email_name_and_admin_flag(acme, admin_api, carol):
    response = admin_api.patch(
        f"/api/v1/users/{carol.pk}/",
        {"email": " Carol.Jones@Acme.test ", "display_name": "Carol J.", "is_tenant_admin": True},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["display_name"], body["is_tenant_admin"]) == ("carol.jones@acme.test", "Carol J.", True)
    assert fresh(acme, carol).email == "carol.jones@acme.test"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"is_active": False}, "is_active"),
        ({"id": 1}, "id"),
        ({"password": PASSWORD}, "password"),
        ({"is_delegated": True}, "is_delegated"),
        ({"last_login": None}, "last_login"),
        ({"email": "BOSS@acme.test"}, "email"),
        ({"email": "nope"}, "email"),
    ],
)
def test_patch_refuses_read_only_fields_and_taken_emails(acme, admin_api, carol, payload, field):
    body = problem(admin_api.patch(f"/api/v1/users/{carol.pk}/", payload, content_type="application/json"), 400)
    assert field in body["errors"]
    after = fresh(acme, carol)
    assert (after.email, after.is_active, after.is_delegated) == ("carol@acme.test", True, False)


def test_put_and_delete_are_not_allowed(admin_api, carol):
    # No DELETE: people leave by being disabled, so the audit history keeps pointing at their account.
    assert problem(admin_api.delete(f"/api/v1/users/{carol.pk}/"), 405)["title"] == "Method Not Allowed"
    problem(admin_api.put(f"/api/v1/users/{carol.pk}/", {"email": "x@acme.test"}, content_type="application/json"), 405)


# --- Disabling and enabling --------------------------------------------------------------------


def test_disable_ends_sessions_tokens_and_sign_in_and_enable_restores_sign_in(host_client, acme, admin_api, carol):
    carol_browser, ok = sign_in(host_client, "acme.localhost", "carol@acme.test")
    assert ok
    carol_api = api_client(acme, carol)
    assert carol_api.get("/api/v1/me/").status_code == 200

    response = admin_api.post(f"/api/v1/users/{carol.pk}/disable/")
    assert response.status_code == 200 and response.json()["is_active"] is False

    assert carol_browser.get("/").status_code == 302  # back to sign-in
    assert carol_api.get("/api/v1/me/").status_code == 401
    assert not sign_in(host_client, "acme.localhost", "carol@acme.test")[1]
    with schema_context(acme.schema_name):
        assert not UserSession.objects.filter(user=carol).exists()
        assert User.objects.get(pk=carol.pk).tokens_valid_after is not None

    assert admin_api.post(f"/api/v1/users/{carol.pk}/enable/").json()["is_active"] is True
    assert sign_in(host_client, "acme.localhost", "carol@acme.test")[1]


def test_an_admin_cannot_disable_themself(acme, admin_api, boss):
    body = problem(admin_api.post(f"/api/v1/users/{boss.pk}/disable/"), 400)
    assert body["detail"] == "You cannot disable your own account; ask another administrator."
    assert fresh(acme, boss).is_active


def test_the_last_active_admin_can_be_neither_disabled_nor_demoted(acme, admin_api, boss):
    with schema_context(acme.schema_name):
        # Arrange: the session's admin steps back, so boss is the only active local administrator.
        User.objects.exclude(pk=boss.pk).update(is_tenant_admin=False)
    demote = problem(
        admin_api.patch(f"/api/v1/users/{boss.pk}/", {"is_tenant_admin": False}, content_type="application/json"), 400
    )
    assert demote["errors"]["is_tenant_admin"] == [
        "boss@acme.test is the last active tenant administrator; make someone else an administrator first."
    ]
    # A delegated administrator (provider staff) does not count as the tenant's own: still refused.
    staff_api = Client(HTTP_HOST="acme.localhost")  # a delegate signs in by session only (no API tokens)
    staff_api.force_login(delegated_admin(acme))
    disable = problem(staff_api.post(f"/api/v1/users/{boss.pk}/disable/"), 400)
    assert "is the last active tenant administrator" in disable["detail"]
    after = fresh(acme, boss)
    assert after.is_active and after.is_tenant_admin


def test_with_a_second_admin_the_first_may_step_down(acme, admin_api, boss, carol):
    admin_api.patch(f"/api/v1/users/{carol.pk}/", {"is_tenant_admin": True}, content_type="application/json")
    response = admin_api.patch(f"/api/v1/users/{boss.pk}/", {"is_tenant_admin": False}, content_type="application/json")
    assert response.status_code == 200 and response.json()["is_tenant_admin"] is False
    assert problem(admin_api.get("/api/v1/users/"), 403)  # no longer an administrator


def test_delegated_accounts_can_only_be_disabled_here(acme, admin_api):
    delegate = delegated_admin(acme)
    row = admin_api.get(f"/api/v1/users/{delegate.pk}/").json()
    assert (row["is_delegated"], row["home_email"]) == (True, "staff@nimbus.test")
    assert "home_schema" not in row and "home_user_id" not in row
    for response in (
        admin_api.patch(f"/api/v1/users/{delegate.pk}/", {"display_name": "x"}, content_type="application/json"),
        admin_api.post(f"/api/v1/users/{delegate.pk}/reset-password/"),
        admin_api.post(f"/api/v1/users/{delegate.pk}/invite/"),
    ):
        assert "is a delegated account: it is managed from its home account" in problem(response, 400)["detail"]
    assert mail.outbox == []
    assert admin_api.post(f"/api/v1/users/{delegate.pk}/disable/").json()["is_active"] is False
    assert "cannot be enabled here" in problem(admin_api.post(f"/api/v1/users/{delegate.pk}/enable/"), 400)["detail"]


# --- Password reset ----------------------------------------------------------------------------


def test_reset_password_action_emails_a_tenant_bound_link_that_works(host_client, acme, admin_api, carol):
    response = admin_api.post(f"/api/v1/users/{carol.pk}/reset-password/")
    assert response.status_code == 202
    assert response.json() == {"detail": "A password-reset link was emailed to carol@acme.test."}
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["carol@acme.test"]
    link = link_in(mail.outbox[0])
    assert link.startswith("http://acme.localhost/password-reset/")

    client = host_client("acme.localhost")
    form_page = client.get(link.removeprefix("http://acme.localhost"), follow=True)
    new = "a-new-password-from-the-admin-link"
    assert client.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}).status_code == 302
    assert sign_in(host_client, "acme.localhost", "carol@acme.test", new)[1]


def test_no_reset_for_a_disabled_user(acme, admin_api, carol):
    admin_api.post(f"/api/v1/users/{carol.pk}/disable/")
    body = problem(admin_api.post(f"/api/v1/users/{carol.pk}/reset-password/"), 400)
    assert "is disabled; enable the account" in body["detail"]
    assert mail.outbox == []


# --- Invitation links --------------------------------------------------------------------------


def invitation_path(tenant, user, token=None) -> str:
    with schema_context(tenant.schema_name):
        user = User.objects.get(pk=user.pk)
        token = token or invitation_token.make_token(user)
    return f"/invitation/{urlsafe_base64_encode(force_bytes(user.pk))}/{token}/"


@pytest.fixture
def invitee(acme):
    with schema_context(acme.schema_name):
        return user_create(email="ivy@acme.test", password=None)


def test_an_acme_invitation_is_refused_on_globex_even_where_the_id_exists(host_client, acme, globex, invitee):
    with schema_context(globex.schema_name):
        # A globex twin with the same id and email: only the token's schema binding can stop the replay.
        twin = User.objects.filter(pk=invitee.pk).first() or User.objects.create(
            pk=invitee.pk, email="ivy@acme.test", password=invitee.password
        )
    path = invitation_path(acme, invitee)
    response = host_client("globex.localhost").get(path)
    assert response.status_code == 400 and "does not work" in response.content.decode()
    assert fresh(globex, twin).password == twin.password
    assert host_client("acme.localhost").get(path).status_code == 302  # the same link is good at home


@pytest.mark.parametrize(
    "path",
    [
        "/invitation/xyz/abc-def/",
        "/invitation/MTIzNDU2Nzg5MDEyMzQ1Njc4OTA/1-2/",
        "/invitation/!!!/set-password/",
        "/invitation/MQ/set-password/",
        "/invitation/MQ/zzzzzzzzzzzzzzzzzzz-1/",
    ],
)
def test_garbled_invitation_links_are_a_400_page(host_client, acme, path):
    response = host_client("acme.localhost").get(path)
    assert response.status_code == 400
    assert "invalid, has expired or was already used" in response.content.decode()


def test_an_invitation_lives_days_not_an_hour_and_then_expires(host_client, acme, invitee):
    with schema_context(acme.schema_name):
        user = User.objects.get(pk=invitee.pk)
        now = invitation_token._num_seconds(invitation_token._now())
        six_days_old = invitation_token._make_token_with_timestamp(user, now - 6 * 86400, invitation_token.secret)
        eight_days_old = invitation_token._make_token_with_timestamp(user, now - 8 * 86400, invitation_token.secret)
    assert host_client("acme.localhost").get(invitation_path(acme, invitee, six_days_old)).status_code == 302
    assert host_client("acme.localhost").get(invitation_path(acme, invitee, eight_days_old)).status_code == 400


def test_reset_and_invitation_tokens_are_not_interchangeable(host_client, acme, invitee):
    with schema_context(acme.schema_name):
        reset = password_reset_token.make_token(User.objects.get(pk=invitee.pk))
    assert host_client("acme.localhost").get(invitation_path(acme, invitee, reset)).status_code == 400


def test_disabled_accounts_cannot_accept_their_invitation(host_client, acme, invitee):
    path = invitation_path(acme, invitee)
    with schema_context(acme.schema_name):
        User.objects.filter(pk=invitee.pk).update(is_active=False)
    assert host_client("acme.localhost").get(path).status_code == 400


# --- Documentation -----------------------------------------------------------------------------


def test_openapi_documents_the_users_endpoints(host_client, acme):
    schema = host_client("acme.localhost").get("/api/v1/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in (
        "/api/v1/users/",
        "/api/v1/users/{id}/",
        "/api/v1/users/{id}/disable/",
        "/api/v1/users/{id}/enable/",
        "/api/v1/users/{id}/reset-password/",
        "/api/v1/users/{id}/invite/",
    ):
        assert path in paths
    assert "delete" not in paths["/api/v1/users/{id}/"] and "put" not in paths["/api/v1/users/{id}/"]
    parameters = {parameter["name"] for parameter in paths["/api/v1/users/"]["get"]["parameters"]}
    assert {"q", "is_active", "is_tenant_admin", "is_delegated", "ordering", "page"} <= parameters
    assert "password" not in schema["components"]["schemas"]["AccountsUser"]["properties"]


def test_listing_costs_the_same_few_queries_however_many_users(admin_api, many_users, django_assert_max_num_queries):
    admin_api.get("/api/v1/users/")  # the token's last use is written once a minute; not part of the baseline
    # Routing (3: schema, domain, schema), the token, its user, the count, the page of rows.
    with django_assert_max_num_queries(7):
        assert len(admin_api.get("/api/v1/users/").json()["results"]) == 50


def test_a_security_admin_cannot_take_over_an_administrators_account(acme, boss, carol):
    """Changing an administrator's email (where their password resets go) or disabling them needs the flag."""
    from apps.access.models import Role
    from apps.access.services import role_assign

    with schema_context(acme.schema_name):
        role_assign(actor=boss, role=Role.objects.get(name="security_admin"), user=carol)
    client = api_client(acme, carol)
    body = {"email": "carol-owns-this@acme.test"}
    refused = problem(client.patch(f"/api/v1/users/{boss.pk}/", body, content_type="application/json"), 403)
    assert refused["detail"] == "Only tenant administrators may change an administrator's email."
    refused = problem(client.post(f"/api/v1/users/{boss.pk}/disable/"), 403)
    assert refused["detail"] == "Only tenant administrators may disable an administrator."
    assert fresh(acme, boss).email == "boss@acme.test" and fresh(acme, boss).is_active
    # Everyone else's account is hers to manage, as the role says.
    dan = make_user(acme, "dan@acme.test")
    assert (
        client.patch(f"/api/v1/users/{dan.pk}/", {"display_name": "Dan"}, content_type="application/json").status_code
        == 200
    )
