"""The errors a Nimbus resolver raises: a message fit to show, and ``extensions.code`` for clients to act on.

Anything else a resolver raises is a bug or an outage; the schema masks it
(``should_mask_error``) so no internal detail reaches the client, and logs it.
"""

from __future__ import annotations

from graphql import GraphQLError

UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_FOUND = "NOT_FOUND"
BAD_USER_INPUT = "BAD_USER_INPUT"


def unauthenticated(message: str = "Authentication credentials were not provided.") -> GraphQLError:
    return GraphQLError(message, extensions={"code": UNAUTHENTICATED})


def forbidden(reason: str) -> GraphQLError:
    return GraphQLError(reason or "You may not do that.", extensions={"code": FORBIDDEN})


def not_found(message: str = "No such object.") -> GraphQLError:
    return GraphQLError(message, extensions={"code": NOT_FOUND})


def bad_input(message: str, *, fields: dict[str, list[str]]) -> GraphQLError:
    """Bad arguments; ``fields`` maps each bad argument (as the query spells it) to its reasons."""
    return GraphQLError(message, extensions={"code": BAD_USER_INPUT, "fields": fields})


def should_mask_error(error: GraphQLError) -> bool:
    """Hide errors that did not come from a deliberate ``GraphQLError``: their text may carry internals.

    Errors without an original exception come from parsing and validation
    (syntax, unknown fields, the depth limit) and only describe the query.
    """
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)
