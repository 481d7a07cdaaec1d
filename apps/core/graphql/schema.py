"""The GraphQL schema: every app's query types merged into one ``Query``, with the limits every request obeys.

Limits (strawberry's own extensions): a query nests at most ``MAX_DEPTH``
fields, uses at most ``MAX_ALIASES`` aliases (one field asked a hundred times
under different names costs a hundred times) and ``MAX_TOKENS`` tokens (the
parser stops there, before any work). Batches of operations are off
(strawberry's default). Introspection is answered only to a signed-in caller;
the view refuses everyone else before parsing, and ``IntrospectionForSignedIn``
holds even when the schema is executed some other way.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from functools import cache, partial

import strawberry
from django.apps import apps
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.tools import merge_types
from strawberry.utils.logging import StrawberryLogger

from .errors import should_mask_error

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 2000


def registered_query_types() -> list[type]:
    """``QUERIES`` of every app's ``graphql.py``, in app order."""
    found: list[type] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("apps."):
            continue
        name = f"{config.name}.graphql"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        found.extend(getattr(module, "QUERIES", []))
    return found


class IntrospectionForSignedIn(SchemaExtension):
    """Refuse ``__schema`` and ``__type`` unless the request's user is signed in."""

    def on_operation(self) -> Iterator[None]:
        request = getattr(self.execution_context.context, "request", None)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            rules = self.execution_context.validation_rules
            self.execution_context.validation_rules = (*rules, NoSchemaIntrospectionCustomRule)
        yield


class NimbusSchema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        # Refusals and bad input are answers, not faults: log only what gets masked (with its traceback).
        for error in errors:
            if should_mask_error(error):
                StrawberryLogger.error(error, execution_context)


def build_schema(query_types: Sequence[type]) -> strawberry.Schema:
    """A schema whose ``Query`` has the fields of all ``query_types`` (two types may not define the same field)."""
    if not query_types:
        raise ValueError("No app contributes GraphQL query types (QUERIES in <app>/graphql.py).")
    names = [field.name for kind in query_types for field in kind.__strawberry_definition__.fields]
    clashes = sorted({name for name in names if names.count(name) > 1})
    if clashes:
        raise ValueError(f"GraphQL query fields defined by more than one app: {', '.join(clashes)}.")
    query = merge_types("Query", tuple(query_types))
    return NimbusSchema(
        query=query,
        extensions=[
            # Factories, not instances: each operation gets fresh extensions (they keep per-operation state).
            IntrospectionForSignedIn,
            partial(QueryDepthLimiter, max_depth=MAX_DEPTH),
            partial(MaxAliasesLimiter, max_alias_count=MAX_ALIASES),
            partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
            partial(MaskErrors, should_mask_error=should_mask_error, error_message="Unexpected error."),
        ],
    )


@cache
def schema() -> strawberry.Schema:
    """The project's schema, built once per process from the installed apps."""
    return build_schema(registered_query_types())
