"""Audit over GraphQL (/graphql/): the right events, filters and pages, the same refusals as the REST API,
the engine's permission checks, the credentials the API accepts, and one tenant never seeing another's trail."""

import json

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.access import services as access
from apps.access.models import Role
from apps.accounts.services import api_token_create, jwt_pair_issue, user_create
from apps.audit import recorder
from apps.audit.models import AuditEvent
from apps.audit.services import seal_pending

pytestmark = pytest.mark.django_db

EVENTS = """
query Events($filter: AuditEventFilter, $first: Int! = 50, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id action outcome resourceId resourceDisplay sealed } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ONE = """
query One($id: ID!) {
  auditEvent(id: $id) {
    id occurredAt actorId actorDisplay onBehalfOf action resourceType resourceId resourceDisplay outcome
    requestId sourceIp userAgent changes metadata seq hash prevHash sealed
  }
}
"""
CHAIN = "{ auditChain { status verifiedUpTo checked fromSeq firstBadSeq reason unsealed } }"
PEOPLE = {"resourceType": "accounts:user"}


def post(client: Client, query: str, variables: dict | None = None, **headers):
    body = json.dumps({"query": query, "variables": variables or {}})
    return client.post("/graphql/", body, content_type="application/json", **headers)


def ask(client: Client, query: str, variables: dict | None = None) -> dict:
    response = post(client, query, variables)
    assert response.status_code == 200, response.content
    return response.json()


def code_of(body: dict) -> str:
    return body["errors"][0]["extensions"]["code"]


def token_client(tenant, user, *, host: str | None = None) -> Client:
    with schema_context(tenant.schema_name):
        _, token = api_token_create(user=user, name="graphql tests")
    return Client(HTTP_HOST=host or f"{tenant.slug}.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def boss(acme, empty_streams):  # streams emptied first: provisioning seeded events of its own
    with schema_context(acme.schema_name):
        return user_create(email="boss@audit-graphql.test", password=None, is_tenant_admin=True)


@pytest.fixture
def api(acme, boss):
    return token_client(acme, boss)


@pytest.fixture
def stream(acme, empty_streams):
    with schema_context(acme.schema_name):
        for n in range(7):
            recorder.record(
                "accounts:user:update" if n % 2 else "access:role:create",
                resource_type="accounts:user",
                resource_id=n,
                resource_display=f"person{n}@example.test",
                outcome="denied" if n == 3 else "success",
                metadata={"n": n},
            )


def events(client: Client, filters: dict, **arguments) -> dict:
    body = ask(client, EVENTS, {"filter": filters, **arguments})
    assert "errors" not in body, body
    return body["data"]["auditEvents"]


def from_stream(page: dict) -> list[dict]:
    """The page's events that ``stream`` recorded (signing in records events about the user too)."""
    return [edge["node"] for edge in page["edges"] if edge["node"]["resourceDisplay"].endswith("@example.test")]


def test_events_come_newest_first_in_keyset_pages_that_cover_the_stream_once(api, stream):
    seen, after, pages = [], None, 0
    while True:
        page = events(api, PEOPLE, first=3, after=after)
        seen += [int(edge["node"]["id"]) for edge in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    assert pages == 3 and len(seen) == 7 == len(set(seen)) and seen == sorted(seen, reverse=True)


def test_a_page_stays_right_while_events_arrive(acme, api, stream):
    first = events(api, PEOPLE, first=4)
    with schema_context(acme.schema_name):
        recorder.record("accounts:user:update", resource_type="accounts:user", resource_id=99)
    rest = events(api, PEOPLE, first=4, after=first["pageInfo"]["endCursor"])
    assert [edge["node"]["resourceId"] for edge in rest["edges"]] == ["2", "1", "0"]


@pytest.mark.parametrize(
    ("filters", "count"),
    [
        ({"actionPrefix": "accounts:"}, 3),
        ({"actionPrefix": "access:role:"}, 4),
        ({"outcome": "denied"}, 1),
        ({"q": "person5@example.test"}, 1),
        ({"resourceId": "2"}, 1),
        ({"since": "2000-01-01T00:00:00Z", "until": "2000-01-02T00:00:00Z"}, 0),
    ],
)
def test_filters_and_full_text_search(api, stream, filters, count):
    assert len(events(api, {**PEOPLE, **filters})["edges"]) == count


@pytest.mark.parametrize(
    ("name", "rest_name", "value"),
    [("since", "since", "yesterday"), ("outcome", "outcome", "maybe"), ("ip", "ip", "not-an-address")],
)
def test_a_bad_filter_is_refused_naming_it_with_the_rest_apis_reason(api, name, rest_name, value):
    body = ask(api, EVENTS, {"filter": {name: value}})
    assert body["data"] is None and code_of(body) == "BAD_USER_INPUT"
    reasons = body["errors"][0]["extensions"]["fields"][f"filter.{name}"]
    rest = api.get(f"/api/v1/audit/events/?{rest_name}={value}").json()
    assert reasons == rest["errors"][rest_name] and name in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ({"first": 0}, "first"),
        ({"first": 501}, "first"),
        ({"after": "bm9wZQ"}, "after"),  # "nope"
        ({"after": "YXVkaXQtZXZlbnQ6OTk5OTk5OTk5OTk5OTk5OTk5OTk5"}, "after"),  # an id past bigint
    ],
)
def test_page_size_and_cursor_are_checked(api, arguments, argument):
    body = ask(api, EVENTS, {"filter": PEOPLE, **arguments})
    assert code_of(body) == "BAD_USER_INPUT" and argument in body["errors"][0]["extensions"]["fields"]


def test_one_event_has_every_field_the_rest_api_shows(acme, api, stream):
    with schema_context(acme.schema_name):
        seal_pending()
        event_id = AuditEvent.objects.filter(resource_id="4").values_list("pk", flat=True).get()
    event = ask(api, ONE, {"id": event_id})["data"]["auditEvent"]
    rest = api.get(f"/api/v1/audit/events/{event_id}/").json()

    def camel(name: str) -> str:
        head, *parts = name.split("_")
        return head + "".join(part.capitalize() for part in parts)

    assert set(event) == {camel(name) for name in rest}
    for name, value in rest.items():
        if name not in ("id", "occurred_at"):
            assert event[camel(name)] == value, name
    assert int(event["id"]) == event_id and event["sealed"] is True and event["metadata"] == {"n": 4}


def test_the_chain_status_is_the_explorers_badge(acme, api, stream):
    with schema_context(acme.schema_name):
        seal_pending()
    chain = ask(api, CHAIN)["data"]["auditChain"]
    assert chain["status"] == "VERIFIED" and chain["unsealed"] >= 0 and chain["verifiedUpTo"] >= 7
    with schema_context(acme.schema_name):
        AuditEvent.objects.filter(seq=2).update(action="rewritten")
    full = ask(api, "{ auditChain(full: true) { status verifiedUpTo firstBadSeq reason } }")["data"]["auditChain"]
    assert full["status"] == "BROKEN" and full["firstBadSeq"] == 2 and full["verifiedUpTo"] is None
    assert "changed" in full["reason"]


def test_plain_users_get_a_permission_error_and_no_data(acme, stream):
    with schema_context(acme.schema_name):
        plain = user_create(email="plain@audit-graphql.test", password=None)
        some_id = AuditEvent.objects.values_list("pk", flat=True).first()
    client = token_client(acme, plain)
    body = ask(client, EVENTS, {"filter": PEOPLE})
    assert body["data"] is None and code_of(body) == "FORBIDDEN"
    body = ask(client, ONE, {"id": some_id})
    assert body["data"] == {"auditEvent": None} and code_of(body) == "NOT_FOUND"  # its existence does not leak
    body = ask(client, CHAIN)
    assert body["data"] is None and code_of(body) == "FORBIDDEN"


@pytest.mark.parametrize("event_id", ["999999999999999999999", "abc", "-1"])
def test_an_id_that_cannot_exist_is_not_found(api, event_id):
    body = ask(api, ONE, {"id": event_id})
    assert body["data"] == {"auditEvent": None} and code_of(body) == "NOT_FOUND"


def test_the_auditor_role_reads_the_trail_through_the_session(acme, boss, signed_in_client, stream):
    auditor = signed_in_client(acme, email="auditor@audit-graphql.test")
    assert code_of(ask(auditor, EVENTS, {"filter": PEOPLE})) == "FORBIDDEN"
    with schema_context(acme.schema_name):
        access.role_assign(actor=boss, role=Role.objects.get(name="auditor"), user=auditor.user)
    assert len(from_stream(events(auditor, PEOPLE))) == 7
    response = auditor.get("/graphql/", {"query": "{ auditChain { status } }"})  # a query over GET
    assert response.status_code == 200 and response.json()["data"]["auditChain"]["status"] in {"VERIFIED", "BROKEN"}


def test_anonymous_callers_get_a_401_and_no_data(acme, stream):
    for response in (
        post(Client(HTTP_HOST="acme.localhost"), EVENTS, {"filter": PEOPLE}),
        Client(HTTP_HOST="acme.localhost").get("/graphql/", {"query": "{ __schema { types { name } } }"}),
        post(Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION="Bearer nmb_nope_nope"), CHAIN),
    ):
        body = response.json()
        assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
        assert body["data"] is None and code_of(body) == "UNAUTHENTICATED"


def test_signed_in_callers_may_introspect(api):
    body = ask(api, "{ __schema { queryType { fields { name } } } }")
    names = {field["name"] for field in body["data"]["__schema"]["queryType"]["fields"]}
    assert {"auditEvents", "auditEvent", "auditChain"} <= names


def test_a_jwt_access_token_is_accepted(acme, boss, stream):
    with schema_context(acme.schema_name):
        access_token, _ = jwt_pair_issue(user=boss)
    client = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert len(from_stream(events(client, PEOPLE))) == 7


def test_a_session_post_without_csrf_is_refused_and_with_it_answered(acme, boss, stream):
    browser = Client(HTTP_HOST="acme.localhost", enforce_csrf_checks=True)
    with schema_context(acme.schema_name):
        browser.force_login(boss)
    browser.get("/account/sessions/")  # a page with a form sets the CSRF cookie
    refused = post(browser, EVENTS, {"filter": PEOPLE})
    assert refused.status_code == 403, refused.content
    assert "CSRF" in refused.json()["errors"][0]["message"]
    assert refused.json()["data"] is None
    answered = post(browser, EVENTS, {"filter": PEOPLE}, HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)
    assert answered.status_code == 200 and len(from_stream(answered.json()["data"]["auditEvents"])) == 7


def test_a_mutation_over_get_is_refused(api):
    response = api.get("/graphql/", {"query": "mutation { auditChain { status } }"})
    assert response.status_code == 400 and response.json()["data"] is None
    assert "mutation" in response.json()["errors"][0]["message"].lower()


def test_too_many_aliases_or_tokens_are_refused_before_anything_runs(api):
    aliases = " ".join(f"c{n}: auditChain {{ status }}" for n in range(16))
    body = ask(api, f"{{ {aliases} }}")
    assert body.get("data") is None and "aliases" in body["errors"][0]["message"]
    fields = " ".join(["id"] * 2100)
    body = ask(api, f"{{ auditEvents {{ nodes {{ {fields} }} }} }}")
    assert body.get("data") is None and "token" in body["errors"][0]["message"].lower()


# --- One tenant never sees another's trail ------------------------------------------------------


@pytest.fixture
def globex_secret(globex, empty_streams):
    with schema_context(globex.schema_name):
        recorder.record(
            "accounts:user:update", resource_type="accounts:user", resource_id=1, resource_display="globex-secret"
        )
        return AuditEvent.objects.get(resource_display="globex-secret").pk


def test_acme_credentials_are_refused_on_globex_host(acme, boss, signed_in_client, globex_secret):
    token = token_client(acme, boss, host="globex.localhost")
    body = post(token, ONE, {"id": globex_secret}).json()
    assert body["data"] is None and code_of(body) == "UNAUTHENTICATED"
    with schema_context(acme.schema_name):
        access_token, _ = jwt_pair_issue(user=boss)
    jwt = Client(HTTP_HOST="globex.localhost", HTTP_AUTHORIZATION=f"Bearer {access_token}")
    assert post(jwt, EVENTS).status_code == 401
    session = signed_in_client(acme, email="roamer@audit-graphql.test", is_tenant_admin=True)
    session.defaults["HTTP_HOST"] = "globex.localhost"  # acme's session cookie, sent to globex
    assert post(session, EVENTS).status_code == 401


def test_globex_ids_on_acmes_host_never_show_globex_events(api, stream, globex_secret):
    found = ask(api, ONE, {"id": globex_secret})["data"]["auditEvent"]
    assert found is None or found["resourceDisplay"] != "globex-secret"  # at most acme's own event of that id
    assert events(api, {"q": "globex-secret"})["edges"] == []


def test_globex_admins_see_only_globex_events(globex, globex_secret, stream):
    with schema_context(globex.schema_name):
        other = user_create(email="boss@globex-graphql.test", password=None, is_tenant_admin=True)
    shown = events(token_client(globex, other), PEOPLE)["edges"]
    assert [edge["node"]["resourceDisplay"] for edge in shown] == ["globex-secret"]
