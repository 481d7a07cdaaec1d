"""Bad input anywhere in the API is a clear 4xx problem document, never a 500, and writes nothing."""

import pytest
from django.test import Client, override_settings
from django_tenants.utils import schema_context
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from apps.accounts.models import User
from apps.accounts.services import jwt_pair_issue, user_create

pytestmark = pytest.mark.django_db
HOST = "acme.localhost"
PASSWORD = "correct-horse-battery-staple"
TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/me/"


@pytest.fixture
def alice(acme):
    with schema_context(acme.schema_name):
        return user_create(email="alice@acme.test", password=PASSWORD, display_name="Alice")


@pytest.fixture
def bearer(acme, alice):
    with schema_context(acme.schema_name):
        access, _refresh = jwt_pair_issue(user=alice)
    return {"HTTP_AUTHORIZATION": f"Bearer {access}"}


def patch_me(body, client=None, **headers):
    return (client or Client(HTTP_HOST=HOST)).patch(ME, body, content_type="application/json", **headers)


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["type"] == "about:blank"
    return body


def nothing_written(acme, alice, tokens_before: int = 0) -> bool:
    """No refresh token was issued (beyond ``tokens_before``) and alice's name is as the fixture made it."""
    with schema_context(acme.schema_name):
        tokens = OutstandingToken.objects.count()
        return tokens == tokens_before and User.objects.get(pk=alice.pk).display_name == "Alice"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"email": "alice@acme.test", "password": ', "Expecting value at line 1, column 42"),
        (b"{'email': 'alice@acme.test'}", "Expecting property name enclosed in double quotes"),
        (b'{"email": NaN}', "NaN is not a JSON number"),
        (b'{"email": "\xff\xfe"}', "it is not utf-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
    ids=["truncated", "single-quotes", "nan", "not-utf-8", "deeply-nested"],
)
def test_a_body_that_is_not_json_is_a_400_saying_so(acme, alice, body, says):
    response = Client(HTTP_HOST=HOST).post(TOKEN, body, content_type="application/json")
    detail = problem(response, 400)["detail"]
    assert detail.startswith("The request body is not valid JSON") and says in detail
    assert nothing_written(acme, alice)


def test_malformed_json_on_a_signed_in_write_is_a_400(acme, alice, bearer):
    response = patch_me(b'{"display_name": "Bob"', **bearer)
    assert problem(response, 400)["code"] == "parse_error"
    assert nothing_written(acme, alice, tokens_before=1)


@pytest.mark.parametrize(
    ("path", "body", "unknown"),
    [
        (TOKEN, {"email": "alice@acme.test", "password": PASSWORD, "remember": True}, "remember"),
        (TOKEN, {"username": "alice@acme.test", "password": PASSWORD}, "username"),
        ("/api/v1/auth/token/refresh/", {"refresh": "x", "access": "y"}, "access"),
    ],
)
def test_unknown_fields_are_refused_by_name(acme, alice, path, body, unknown):
    response = Client(HTTP_HOST=HOST).post(path, body, content_type="application/json")
    errors = problem(response, 400)["errors"]
    assert errors[unknown] == ["This field is not accepted here."]
    assert nothing_written(acme, alice)


def test_unknown_and_read_only_fields_on_me_are_refused_and_nothing_is_saved(acme, alice, bearer):
    response = patch_me({"display_name": "Bob", "email": "bob@acme.test"}, **bearer)
    assert set(problem(response, 400)["errors"]) == {"email"}
    response = patch_me({"display_name": "x" * 151}, **bearer)
    assert "display_name" in problem(response, 400)["errors"]
    assert nothing_written(acme, alice, tokens_before=1)


def test_a_json_body_that_is_not_an_object_is_a_400(acme, alice):
    response = Client(HTTP_HOST=HOST).post(TOKEN, b'["alice@acme.test"]', content_type="application/json")
    assert "non_field_errors" in problem(response, 400)["errors"]


def test_profile_change_through_the_api(acme, alice, bearer):
    response = patch_me({"display_name": " Alice B. "}, **bearer)
    assert response.status_code == 200 and response.json()["display_name"] == "Alice B."


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
@pytest.mark.parametrize("method", ["post", "patch"])
def test_an_oversize_body_is_a_413(acme, alice, bearer, method):
    body = {"display_name": "x" * 2000} if method == "patch" else {"email": "a@b.c", "password": "x" * 2000}
    path = ME if method == "patch" else TOKEN
    response = getattr(Client(HTTP_HOST=HOST), method)(path, body, content_type="application/json", **bearer)
    body = problem(response, 413)
    assert body["detail"] == "The request body is larger than the 1,024 bytes the API accepts."
    assert body["code"] == "payload_too_large"
    assert nothing_written(acme, alice, tokens_before=1)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data"]
)
def test_a_body_that_is_not_declared_json_is_a_415(acme, alice, content_type):
    body = "email=alice%40acme.test&password=correct-horse-battery-staple"
    response = Client(HTTP_HOST=HOST).generic("POST", TOKEN, body, content_type=content_type)
    detail = problem(response, 415)["detail"]
    assert "application/json" in detail
    assert nothing_written(acme, alice)


def test_a_body_without_a_content_type_is_a_415(acme, alice):
    response = Client(HTTP_HOST=HOST).generic("POST", TOKEN, b'{"email": "alice@acme.test"}', content_type="")
    problem(response, 415)


@pytest.fixture
def csrf_client(acme, alice):
    """A browser signed in as alice that enforces CSRF like a real one, with its csrftoken cookie."""
    client = Client(HTTP_HOST=HOST, enforce_csrf_checks=True)
    with schema_context(acme.schema_name):
        client.force_login(alice)
    client.get("/account/sessions/")  # a page with a form sets the CSRF cookie
    return client


def test_session_write_without_csrf_token_is_a_403_naming_csrf(acme, alice, csrf_client):
    response = patch_me({"display_name": "Bob"}, csrf_client)
    body = problem(response, 403)
    assert body["code"] == "csrf_failed" and "CSRF" in body["detail"] and "X-CSRFToken" in body["detail"]
    assert nothing_written(acme, alice)


def test_session_write_with_csrf_token_and_token_writes_without_it_pass(acme, alice, bearer, csrf_client):
    token = csrf_client.cookies["csrftoken"].value
    response = patch_me({"display_name": "Bob"}, csrf_client, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    # A bearer token is not a cookie a foreign page can make the browser send: no CSRF check.
    response = patch_me({"display_name": "Carol"}, Client(HTTP_HOST=HOST, enforce_csrf_checks=True), **bearer)
    assert response.status_code == 200 and response.json()["display_name"] == "Carol"


def test_problems_are_json_even_when_the_client_prefers_html(acme, alice):
    response = Client(HTTP_HOST=HOST).post(TOKEN, b"{", content_type="application/json", HTTP_ACCEPT="text/html")
    assert problem(response, 400)["code"] == "parse_error"


@pytest.mark.parametrize(
    "credential", ["nmb_\x00\x00_secret", "nmb_" + "f" * 5000 + "_x", "\x00.\x00.\x00", "e" * 5000], ids=repr
)
def test_absurd_bearer_credentials_are_a_401(acme, credential):
    response = Client(HTTP_HOST=HOST).get(ME, HTTP_AUTHORIZATION=f"Bearer {credential}")
    problem(response, 401)
