"""SCIM 2.0 endpoints: CRUD, PATCH (value paths, IdP dialects), filters, sorting, paging, ETags, errors, audit,
deactivation ending sessions and tokens, and tenants never crossed (from the attacker's side).

Most requests go through scim2-client's WSGI engine on Django's handler, in the
test's transaction; raw requests (the dialects and bad input scim2-client would
refuse to send) go through Django's test client.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from scim2_models import Error, SearchRequest

from apps.accounts.models import ApiToken, User, UserSession
from apps.accounts.services import api_token_create
from apps.audit.models import AuditEvent, Outcome
from apps.identity.models import ScimGroup, ScimToken, ScimUser
from apps.identity.scim import schemas
from apps.identity.services import scim_token_revoke

pytestmark = pytest.mark.django_db

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
NOBODY = "7d0e1d2c-3b4a-4f5e-8a9b-0c1d2e3f4a5b"  # an id no user has (fixed: xdist workers must collect alike)


@pytest.fixture
def scim(acme, scim_client_for):
    return scim_client_for(acme)


@pytest.fixture
def raw(host_client, scim):
    """``raw(method, path, body=None, token=…, host=…)``: a SCIM request as an IdP sends it; (response, json)."""

    def call(method, path, body=None, *, token=None, host="acme.localhost", headers=None):
        client = host_client(host)
        extra = {"HTTP_AUTHORIZATION": f"Bearer {token or scim.token}", **(headers or {})}
        if token == "":
            extra.pop("HTTP_AUTHORIZATION")
        data = body if isinstance(body, (str, bytes)) else json.dumps(body) if body is not None else ""
        response = client.generic(method, f"/scim/v2{path}", data, content_type="application/scim+json", **extra)
        parsed = json.loads(response.content) if response.content else None
        return response, parsed

    return call


def _user(scim, user_name="bjensen@example.com", **fields):
    User_ = scim.get_resource_model("User")
    return scim.create(User_(user_name=user_name, **fields))


def _in_acme(acme, fn):
    with schema_context(acme.schema_name):
        return fn()


# --- CRUD ----------------------------------------------------------------------------------------


def test_user_create_read_replace_delete_round_trip(scim, acme):
    User_ = scim.get_resource_model("User")
    created = scim.create(
        User_.model_validate(
            {
                "userName": "Barbara.Jensen@Example.com",
                "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara Jensen"},
                "displayName": "Babs Jensen",
                "emails": [{"value": "bjensen@example.com"}],
                "externalId": "00u1abc",
                "active": True,
            }
        )
    )
    assert created.id and created.meta.location.endswith(f"/scim/v2/Users/{created.id}")
    assert created.meta.version.startswith('W/"')
    account = _in_acme(acme, lambda: User.objects.get(scim__scim_id=created.id))
    assert account.email == "bjensen@example.com" and account.display_name == "Babs Jensen" and account.is_active
    assert not account.has_usable_password()  # provisioned people sign in through their IdP

    read = scim.query(User_, created.id)
    assert read.user_name == "Barbara.Jensen@Example.com" and read.name.given_name == "Barbara"
    assert read.emails[0].value == "bjensen@example.com" and read.external_id == "00u1abc"

    read.display_name = "Barbara J."
    read.name.family_name = "Jensen-Smith"
    replaced = scim.replace(read)
    assert replaced.display_name == "Barbara J." and replaced.name.family_name == "Jensen-Smith"
    assert _in_acme(acme, lambda: User.objects.get(pk=account.pk).display_name) == "Barbara J."

    scim.delete(User_, created.id)
    assert not _in_acme(acme, lambda: User.objects.filter(pk=account.pk).exists())
    gone = scim.query(User_, created.id, raise_scim_errors=False)
    assert isinstance(gone, Error) and gone.status == 404


def test_user_without_any_email_gets_an_unpublished_placeholder(scim, acme):
    created = _user(scim, "no-mail-person")
    assert not created.emails
    account = _in_acme(acme, lambda: User.objects.get(scim__scim_id=created.id))
    assert account.email.endswith("@no-email.scim.invalid")


def test_group_post_keeps_members_and_put_replaces_them_as_okta_does(scim, raw):
    alice, bob = _user(scim, "alice@example.com"), _user(scim, "bob@example.com")
    Group_ = scim.get_resource_model("Group")
    group = scim.create(Group_.model_validate({"displayName": "Engineers", "members": [{"value": alice.id}]}))
    assert [m.value for m in group.members] == [alice.id]
    assert scim.query(scim.get_resource_model("User"), alice.id).groups[0].display == "Engineers"

    response, body = raw(
        "PUT",
        f"/Groups/{group.id}",
        {
            "schemas": [schemas.GROUP_SCHEMA],
            "id": group.id,
            "displayName": "Engineering",
            "members": [{"value": bob.id}],
        },
    )
    assert response.status_code == 200
    assert body["displayName"] == "Engineering" and [m["value"] for m in body["members"]] == [bob.id]


def test_patch_value_path_filter_removes_exactly_one_member(scim, raw):
    alice, bob = _user(scim, "alice@example.com"), _user(scim, "bob@example.com")
    Group_ = scim.get_resource_model("Group")
    group = scim.create(
        Group_.model_validate({"displayName": "Ops", "members": [{"value": alice.id}, {"value": bob.id}]})
    )
    response, body = raw(
        "PATCH",
        f"/Groups/{group.id}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": f'members[value eq "{alice.id}"]'}]},
    )
    assert response.status_code == 200, body
    assert [m["value"] for m in body["members"]] == [bob.id]


def test_patch_add_replace_remove_on_attributes_and_sub_attributes(scim, raw):
    user = _user(scim, "carol@example.com", display_name="Carol")
    ops = [
        {"op": "add", "path": "name.givenName", "value": "Carol"},
        {"op": "replace", "path": "displayName", "value": "Carol D."},
        {"op": "add", "path": "externalId", "value": "ext-1"},
        {"op": "remove", "path": "externalId"},
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", "value": "Danvers"},
    ]
    response, body = raw("PATCH", f"/Users/{user.id}", {"schemas": [PATCH_OP], "Operations": ops})
    assert response.status_code == 200, body
    assert body["name"] == {"givenName": "Carol", "familyName": "Danvers"}
    assert body["displayName"] == "Carol D." and "externalId" not in body


# --- IdP dialects ----------------------------------------------------------------------------------


def test_entra_dialect_capitalised_ops_string_booleans_and_work_email_paths(scim, raw, acme):
    user = _user(scim, "dave@contoso.example")
    response, body = raw(
        "PATCH",
        f"/Users/{user.id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "dave.work@contoso.example"},
                {"op": "Add", "value": {"displayName": "Dave", "name.givenName": "Dave"}},
                {"op": "Replace", "path": "active", "value": "False"},
            ],
        },
    )
    assert response.status_code == 200, body
    assert body["active"] is False and body["emails"] == [{"value": "dave.work@contoso.example"}]
    assert body["displayName"] == "Dave" and body["name"]["givenName"] == "Dave"
    response, body = raw(
        "PATCH",
        f"/Users/{user.id}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "value": {"active": "True"}}]},
    )
    assert body["active"] is True
    assert _in_acme(acme, lambda: User.objects.get(scim__scim_id=user.id).is_active)


def test_entra_removes_members_by_value_and_posts_users_with_extension_attributes(scim, raw):
    response, created = raw(
        "POST",
        "/Users",
        {
            "schemas": [schemas.USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": "erin@contoso.example",
            "active": "True",
            "emails": [{"primary": True, "type": "work", "value": "erin@contoso.example"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"},
        },
    )
    assert response.status_code == 201, created
    group = scim.create(
        scim.get_resource_model("Group").model_validate({"displayName": "Sales", "members": [{"value": created["id"]}]})
    )
    response, body = raw(
        "PATCH",
        f"/Groups/{group.id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Remove", "path": "members", "value": [{"value": created["id"]}]}],
        },
    )
    assert response.status_code == 200 and "members" not in body


# --- Filters, sorting, paging, ETags ----------------------------------------------------------------


@pytest.fixture
def five_users(scim):
    names = ["amy@x.test", "Bob@x.test", "cid@y.test", "dee@y.test", "eve@z.test"]
    return {name: _user(scim, name, display_name=name.split("@")[0].title()) for name in names}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('userName eq "BOB@X.TEST"', ["Bob@x.test"]),
        ('userName co "@y."', ["cid@y.test", "dee@y.test"]),
        ('userName sw "a"', ["amy@x.test"]),
        ('displayName sw "E" and userName ew "z.test"', ["eve@z.test"]),
        ('userName eq "amy@x.test" or userName eq "eve@z.test"', ["amy@x.test", "eve@z.test"]),
        ('displayName pr and not (userName co "x.test")', ["cid@y.test", "dee@y.test", "eve@z.test"]),
        ('emails[type eq "work" and value eq "cid@y.test"]', ["cid@y.test"]),
        ("active eq true", ["amy@x.test", "Bob@x.test", "cid@y.test", "dee@y.test", "eve@z.test"]),
    ],
)
def test_filters(scim, five_users, expression, expected):
    found = scim.search(scim.get_resource_model("User"), SearchRequest(filter=expression, sort_by="userName"))
    assert [u.user_name for u in found.resources or []] == sorted(expected, key=str.upper)
    assert found.total_results == len(expected)


def test_sorting_and_paging_with_real_totals(scim, five_users, raw, monkeypatch):
    response, body = raw("GET", "/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=2")
    assert body["totalResults"] == 5 and body["startIndex"] == 2 and body["itemsPerPage"] == 2
    assert [r["userName"] for r in body["Resources"]] == ["dee@y.test", "cid@y.test"]
    response, body = raw("GET", "/Users?count=0")
    assert body["totalResults"] == 5 and body["Resources"] == []
    monkeypatch.setattr(schemas, "MAX_RESULTS", 3)
    response, body = raw("GET", "/Users?count=1000&attributes=userName")
    assert body["itemsPerPage"] == 3 and set(body["Resources"][0]) == {"schemas", "id", "userName"}
    response, body = raw("GET", "/Groups?sortBy=displayName")
    assert response.status_code == 200 and body["totalResults"] == 0


def test_etags_make_reads_conditional_and_writes_safe(scim, raw):
    user = _user(scim, "frank@example.com")
    response, body = raw("GET", f"/Users/{user.id}")
    etag = response["ETag"]
    assert etag == body["meta"]["version"]
    response, _ = raw("GET", f"/Users/{user.id}", headers={"HTTP_IF_NONE_MATCH": etag})
    assert response.status_code == 304
    put = {"schemas": [schemas.USER_SCHEMA], "userName": "frank@example.com", "displayName": "Frank"}
    response, body = raw("PUT", f"/Users/{user.id}", put, headers={"HTTP_IF_MATCH": etag})
    assert response.status_code == 200 and response["ETag"] != etag
    response, body = raw("PUT", f"/Users/{user.id}", put, headers={"HTTP_IF_MATCH": etag})
    assert response.status_code == 412 and body["schemas"] == [ERROR]


def test_discovery_tells_the_truth(raw):
    _, config = raw("GET", "/ServiceProviderConfig")
    assert config["patch"]["supported"] and config["filter"] == {"supported": True, "maxResults": schemas.MAX_RESULTS}
    assert config["sort"]["supported"] and config["etag"]["supported"]
    assert not config["bulk"]["supported"] and not config["changePassword"]["supported"]
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    _, types = raw("GET", "/ResourceTypes")
    assert types["totalResults"] == 2 and {t["endpoint"] for t in types["Resources"]} == {"/Users", "/Groups"}
    _, found = raw("GET", "/Schemas")
    user_schema = next(s for s in found["Resources"] if s["id"] == schemas.USER_SCHEMA)
    assert [a["name"] for a in user_schema["attributes"]] == [
        "userName",
        "name",
        "displayName",
        "emails",
        "active",
        "groups",
    ]


# --- Bad input: SCIM errors, each audited ------------------------------------------------------------


def _refusals(acme):
    return _in_acme(
        acme,
        lambda: list(
            AuditEvent.objects.filter(resource_type="identity:scim").order_by("id").values_list("outcome", "metadata")
        ),
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "scim_type"),
    [
        ("GET", "/Users?filter=userName eq", None, 400, "invalidFilter"),
        ("GET", '/Users?filter=nickName eq "x"', None, 400, "invalidFilter"),
        ("GET", "/Users?sortBy=password", None, 400, "invalidValue"),
        ("GET", "/Users?startIndex=abc", None, 400, "invalidValue"),
        ("POST", "/Users", "{not json", 400, "invalidSyntax"),
        ("POST", "/Users", {"schemas": [schemas.USER_SCHEMA]}, 400, "invalidValue"),
        ("POST", "/Users", {"userName": "x@y.test", "active": "maybe"}, 400, "invalidValue"),
        ("POST", "/Users", {"userName": "x@y.test", "emails": [{"value": "not-an-address"}]}, 400, "invalidValue"),
        ("POST", "/Groups", {"displayName": "G", "members": [{"value": NOBODY}]}, 400, "invalidValue"),
        ("GET", "/Users/0b5f4f44-8d1e-4a4c-9f0e-3f1f4c3a2b10", None, 404, None),
        ("GET", "/Users/not-a-uuid", None, 404, None),
        ("GET", "/Nothing", None, 404, None),
        ("DELETE", "/ServiceProviderConfig", None, 405, None),
    ],
)
def test_bad_input_is_refused_with_scim_error_json_and_audited(raw, acme, method, path, body, status, scim_type):
    response, answer = raw(method, path, body)
    assert response.status_code == status
    assert response["Content-Type"] == "application/scim+json"
    assert answer["schemas"] == [ERROR] and answer["status"] == str(status) and answer["detail"]
    assert answer.get("scimType") == scim_type
    outcome, metadata = _refusals(acme)[-1]
    assert (
        outcome == Outcome.ERROR and metadata["status"] == status and metadata["scim_token_prefix"].startswith("scim_")
    )


def test_duplicate_user_name_and_email_are_409_uniqueness(scim, raw):
    _user(scim, "gina@example.com")
    response, body = raw("POST", "/Users", {"userName": "GINA@example.com"})
    assert response.status_code == 409 and body["scimType"] == "uniqueness"
    response, body = raw("POST", "/Users", {"userName": "other", "emails": [{"value": "gina@example.com"}]})
    assert response.status_code == 409 and body["scimType"] == "uniqueness"


def test_patch_of_an_unknown_path_is_invalid_path_and_removing_user_name_is_refused(scim, raw):
    user = _user(scim, "hank@example.com")
    for path, scim_type in (
        ("nickName", "invalidPath"),
        ("userName", "mutability"),
        ('emails[value eq "a" and]', "invalidFilter"),
    ):
        response, body = raw(
            "PATCH", f"/Users/{user.id}", {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": path}]}
        )
        assert response.status_code == 400 and body["scimType"] == scim_type, (path, body)
    response, body = raw("PATCH", f"/Users/{user.id}", {"schemas": [PATCH_OP], "Operations": [{"op": "move"}]})
    assert body["scimType"] == "invalidSyntax"


def test_missing_revoked_and_expired_tokens_are_401_and_audited(raw, acme, scim_token_for):
    with schema_context(acme.schema_name):
        expired_token = scim_token_for(acme, "old")
        ScimToken.objects.filter(name="old").update(expires_at=timezone.now() - timedelta(minutes=1))
        revoked_token = scim_token_for(acme, "gone")
        scim_token_revoke(token=ScimToken.objects.get(name="gone"))
    for token in ("", "scim_000000000000_nope", expired_token, revoked_token, "Basic abc"):
        response, body = raw("GET", "/Users", token=token)
        assert response.status_code == 401 and body["schemas"] == [ERROR]
        assert response["WWW-Authenticate"].startswith("Bearer")
    refusals = _refusals(acme)
    assert len(refusals) == 5 and {outcome for outcome, _ in refusals} == {Outcome.DENIED}
    assert all(revoked_token not in json.dumps(metadata) for _, metadata in refusals)


# --- Deactivation, audit, reach ---------------------------------------------------------------------


def test_active_false_disables_the_account_and_ends_its_sessions_and_api_tokens_at_once(scim, raw, acme, host_client):
    created = _user(scim, "ivy@example.com")
    with schema_context(acme.schema_name):
        account = User.objects.get(scim__scim_id=created.id)
        browser = host_client("acme.localhost")
        browser.force_login(account)
        _token, api_token = api_token_create(user=account, name="laptop")
    assert host_client("acme.localhost").get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {api_token}").status_code == 200
    assert browser.get("/api/v1/me/").status_code == 200

    response, body = raw(
        "PATCH",
        f"/Users/{created.id}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
    )
    assert response.status_code == 200 and body["active"] is False
    assert host_client("acme.localhost").get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {api_token}").status_code == 401
    assert browser.get("/api/v1/me/").status_code in (401, 403)
    with schema_context(acme.schema_name):
        assert not UserSession.objects.filter(user=account).exists()
        assert not ApiToken.objects.filter(user=account, revoked_at__isnull=True).exists()
        disable = AuditEvent.objects.get(action="accounts:user:disable", resource_id=str(account.pk))
    assert disable.actor_display.startswith("SCIM token") and disable.metadata["via"] == "scim"
    assert disable.metadata["api_tokens_revoked"] == 1


def test_scim_operations_are_audited_with_the_token_as_actor(scim, acme):
    created = _user(scim, "jay@example.com")
    with schema_context(acme.schema_name):
        event = AuditEvent.objects.get(action="identity:scim:user:create")
        prefix = ScimToken.objects.get().prefix
    assert event.actor_id is None and event.actor_display == "SCIM token Okta provisioning"
    assert event.metadata["scim_token_prefix"] == f"scim_{prefix}…" and event.resource_id == created.id
    assert scim.token not in json.dumps(event.metadata)


def test_local_accounts_are_out_of_the_idps_reach(raw, acme):
    response, body = raw("GET", "/Users")
    assert body["totalResults"] == 0  # acme's local administrator is not a SCIM user
    response, body = raw("POST", "/Users", {"userName": "admin", "emails": [{"value": "admin@acme.localhost"}]})
    assert response.status_code == 409 and body["scimType"] == "uniqueness"


def test_the_provider_host_serves_no_scim(host_client):
    response = host_client("localhost").get("/scim/v2/Users", HTTP_AUTHORIZATION="Bearer scim_x_y")
    assert response.status_code == 404 and b"urn:ietf:params:scim" not in response.content


# --- Tenants never crossed ---------------------------------------------------------------------------


def test_one_tenants_token_is_refused_on_another_tenants_host(raw, globex, scim_token_for):
    globex_token = scim_token_for(globex)
    response, body = raw("GET", "/Users", token=globex_token)  # acme's host
    assert response.status_code == 401 and body["schemas"] == [ERROR]


def test_another_tenants_ids_are_404_and_never_members(scim, raw, globex, scim_client_for):
    acme_user = _user(scim, "kim@example.com")
    acme_group = scim.create(scim.get_resource_model("Group").model_validate({"displayName": "Acme only"}))
    globex_token = scim_client_for(globex, discover=False).token
    on_globex = {"host": "globex.localhost", "token": globex_token}
    for method, body in (
        ("GET", None),
        ("PUT", {"userName": "stolen"}),
        ("PATCH", {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]}),
        ("DELETE", None),
    ):
        response, answer = raw(method, f"/Users/{acme_user.id}", body, **on_globex)
        assert response.status_code == 404 and answer["schemas"] == [ERROR], method
    response, _ = raw("DELETE", f"/Groups/{acme_group.id}", **on_globex)
    assert response.status_code == 404
    response, answer = raw(
        "POST", "/Groups", {"displayName": "Grab", "members": [{"value": acme_user.id}]}, **on_globex
    )
    assert response.status_code == 400 and answer["scimType"] == "invalidValue"
    response, answer = raw("GET", '/Users?filter=userName eq "kim@example.com"', **on_globex)
    assert answer["totalResults"] == 0
    acme_account = scim.query(scim.get_resource_model("User"), acme_user.id)
    assert acme_account.active is True and acme_account.user_name == "kim@example.com"
    with schema_context(globex.schema_name):
        assert not ScimUser.objects.exists() and not ScimGroup.objects.exists()


def test_group_changes_made_through_access_name_the_scim_token_and_delete_takes_the_group(scim, raw, acme):
    from apps.access.models import Group

    member = _user(scim, "lee@example.com")
    group = scim.create(
        scim.get_resource_model("Group").model_validate({"displayName": "Support", "members": [{"value": member.id}]})
    )
    response, _ = raw("DELETE", f"/Groups/{group.id}")
    assert response.status_code == 204
    with schema_context(acme.schema_name):
        assert not Group.objects.filter(name="Support").exists() and not ScimGroup.objects.exists()
        access_events = list(
            AuditEvent.objects.filter(action__startswith="access:group:").values_list("action", "actor_display")
        )
        scim_events = list(
            AuditEvent.objects.filter(action__startswith="identity:scim:group:")
            .order_by("id")
            .values_list("action", flat=True)
        )
    assert {action for action, _ in access_events} == {
        "access:group:create",
        "access:group:update",
        "access:group:delete",
    }
    assert {actor for _, actor in access_events} == {"SCIM token Okta provisioning"}
    assert scim_events == ["identity:scim:group:create", "identity:scim:group:delete"]
