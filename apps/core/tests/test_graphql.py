"""The shared GraphQL layer: how apps' query types are merged, the limits every query obeys, what errors show,
and the endpoint on the provider host."""

from types import SimpleNamespace

import pytest
import strawberry
from django.contrib.auth.models import AnonymousUser
from graphql import GraphQLError

from apps.core.graphql import schema as layer
from apps.core.graphql.errors import forbidden


@strawberry.type
class Node:
    @strawberry.field
    def child(self) -> "Node":
        return Node()

    @strawberry.field
    def name(self) -> str:
        return "node"


@strawberry.type
class TreeQuery:
    @strawberry.field
    def root(self) -> Node:
        return Node()


@strawberry.type
class FaultyQuery:
    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError("password=hunter2 at /srv/nimbus/secret.py line 12")

    @strawberry.field
    def refused(self) -> str:
        raise forbidden("You may not read this.")


def run(schema, query: str, *, signed_in: bool = True):
    user = SimpleNamespace(is_authenticated=True) if signed_in else AnonymousUser()
    return schema.execute_sync(query, context_value=SimpleNamespace(request=SimpleNamespace(user=user)))


def test_apps_query_types_are_merged_into_one_query_without_mutations():
    schema = layer.build_schema([TreeQuery, FaultyQuery])
    assert run(schema, "{ root { name } }").data == {"root": {"name": "node"}}
    assert schema.mutation is None
    assert any(kind.__name__ == "AuditQuery" for kind in layer.registered_query_types())


def test_two_apps_defining_the_same_field_is_refused():
    @strawberry.type
    class Again:
        @strawberry.field
        def root(self) -> str:
            return ""

    with pytest.raises(ValueError, match="root"):
        layer.build_schema([TreeQuery, Again])
    with pytest.raises(ValueError, match="No app"):
        layer.build_schema([])


def test_queries_nested_past_the_depth_limit_are_refused():
    schema = layer.build_schema([TreeQuery])

    def nested(levels: int) -> str:  # "name" sits at depth levels + 1 (root's fields are depth 1)
        return "{ root { " + "child { " * levels + "name" + " }" * levels + " } }"

    refused = run(schema, nested(layer.MAX_DEPTH))
    assert refused.data is None and "exceeds maximum operation depth" in refused.errors[0].message
    allowed = nested(layer.MAX_DEPTH - 1)
    assert run(schema, allowed).errors is None


def test_unexpected_errors_are_masked_and_deliberate_ones_kept():
    result = run(layer.build_schema([FaultyQuery]), "{ broken }")
    assert [error.message for error in result.errors] == ["Unexpected error."]
    assert result.errors[0].original_error is None  # nothing of the exception travels with it
    result = run(layer.build_schema([FaultyQuery]), "{ refused }")
    assert result.errors[0].message == "You may not read this."
    assert result.errors[0].extensions == {"code": "FORBIDDEN"}


def test_introspection_needs_a_signed_in_user():
    schema = layer.build_schema([TreeQuery])
    refused = run(schema, "{ __schema { queryType { name } } }", signed_in=False)
    assert refused.data is None and "introspection" in refused.errors[0].message.lower()
    assert run(schema, "{ __schema { queryType { name } } }").data == {"__schema": {"queryType": {"name": "Query"}}}
    assert run(schema, "{ root { name } }", signed_in=False).errors is None


def test_a_graphql_error_is_the_kind_the_mask_keeps():
    assert not layer.should_mask_error(GraphQLError("syntax"))  # parse and validation errors describe the query


@pytest.mark.django_db
def test_the_endpoint_answers_on_the_provider_host_too(provider, signed_in_client, host_client):
    anonymous = host_client("localhost").post("/graphql/", {"query": "{ __typename }"}, content_type="application/json")
    assert anonymous.status_code == 401 and anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    staff = signed_in_client(provider, email="staff@graphql-layer.test")
    answered = staff.get("/graphql/", {"query": "{ __typename }"})
    assert answered.status_code == 200 and answered.json() == {"data": {"__typename": "Query"}}
    assert answered["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_no_ide_page_and_only_get_and_post(acme, signed_in_client):
    client = signed_in_client(acme, email="ide@graphql-layer.test")
    page = client.get("/graphql/", HTTP_ACCEPT="text/html")  # where strawberry would serve GraphiQL from a CDN
    assert page.status_code == 404 and b"<script" not in page.content and b"unpkg.com" not in page.content
    put = client.put("/graphql/", b'{"query": "{ __typename }"}', content_type="application/json")
    assert put.status_code == 405 and put["Allow"] == "GET, POST" and put.json()["data"] is None


@pytest.mark.django_db
def test_batches_of_operations_are_refused(acme, signed_in_client):
    client = signed_in_client(acme, email="batch@graphql-layer.test")
    batch = [{"query": "{ __typename }"}] * 2
    response = client.post("/graphql/", batch, content_type="application/json")
    assert response.status_code == 400 and "Batching is not enabled" in response.json()["errors"][0]["message"]
