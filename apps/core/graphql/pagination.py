"""Keyset pages for GraphQL lists (Relay's shape: ``edges { cursor node }``, ``pageInfo``), shared by every app.

A cursor is opaque to clients: the kind of row and its id, base64url-encoded.
A page is the rows after the cursor in the list's order, so it stays right
while rows are added (an append-only stream, such as audit events).
"""

from __future__ import annotations

import base64
import binascii

import strawberry

from .errors import bad_input

MAX_ID = 2**63 - 1  # PostgreSQL bigint: a larger id in a query is a database error, not "no rows"


@strawberry.type(description="Where a page ends and whether more follow.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


def encode_cursor(kind: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode().rstrip("=")


def decode_cursor(value: str, *, kind: str, argument: str = "after") -> int:
    """The id inside a cursor this list gave out; anything else is ``BAD_USER_INPUT`` naming ``argument``."""
    reason = f"{argument}: not a cursor of this list; pass the endCursor of a previous page."
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_input(reason, fields={argument: [reason]}) from None
    prefix, _, pk = text.partition(":")
    if prefix != kind or not pk.isdigit() or int(pk) > MAX_ID:
        raise bad_input(reason, fields={argument: [reason]})
    return int(pk)


def checked_first(first: int, *, most: int, argument: str = "first") -> int:
    """A page size within 1..``most``, or ``BAD_USER_INPUT`` naming ``argument``."""
    if not 1 <= first <= most:
        reason = f"{argument}: must be between 1 and {most}."
        raise bad_input(reason, fields={argument: [reason]})
    return first
