"""SCIM filters and sorting (RFC 7644 §3.4.2.2, §3.4.2.3) as ORM queries on ``ScimUser`` and ``ScimGroup`` rows.

The grammar is parsed by ``scim2-filter-parser``; its tree is walked here into
``Q`` objects, so the database filters, counts and pages (no row is loaded to
be tested in Python). Attribute names are case-insensitive (RFC 7643 §2.1);
string comparisons follow each attribute's ``caseExact``: ``userName``,
``displayName`` and emails ignore case (``UPPER(col) = UPPER(%s)``, which the
functional index on ``UPPER(user_name)`` serves). An attribute Nimbus does not
publish, or an operator that makes no sense for it, is ``invalidFilter``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import Q
from scim2_filter_parser import ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser

from .errors import ScimError
from .schemas import GROUP_SCHEMA, USER_SCHEMA

NOTHING = Q(pk__in=[])
PLACEHOLDER_EMAIL_DOMAIN = "@no-email.scim.invalid"  # see resources: an account the IdP gave no email


@dataclass(frozen=True)
class Field:
    """Where a SCIM attribute lives (an ORM path) and how it compares."""

    path: str
    kind: str = "string"  # string | exact | boolean | uuid | datetime | email
    sortable: bool = True


USER_FIELDS = {
    "username": Field("user_name"),
    "name.givenname": Field("given_name"),
    "name.familyname": Field("family_name"),
    "name.formatted": Field("formatted_name"),
    "displayname": Field("user__display_name"),
    "emails": Field("user__email", "email"),
    "emails.value": Field("user__email", "email"),
    "active": Field("user__is_active", "boolean"),
    "externalid": Field("external_id", "exact"),
    "id": Field("scim_id", "uuid"),
    "meta.created": Field("created_at", "datetime"),
    "meta.lastmodified": Field("updated_at", "datetime"),
}

GROUP_FIELDS = {
    "displayname": Field("group__name"),
    "externalid": Field("external_id", "exact"),
    "id": Field("scim_id", "uuid"),
    "members": Field("group__members__scim__scim_id", "uuid", sortable=False),
    "members.value": Field("group__members__scim__scim_id", "uuid", sortable=False),
    "meta.created": Field("created_at", "datetime"),
    "meta.lastmodified": Field("updated_at", "datetime"),
}

FIELDS = {USER_SCHEMA: USER_FIELDS, GROUP_SCHEMA: GROUP_FIELDS}
# Sub-attributes IdPs filter on that Nimbus does not store: every stored email is the work/primary one.
ALWAYS_TRUE = {"emails.type": {"work"}, "emails.primary": {"true"}}


def parse(text: str):
    """The parse tree of a filter, or ``invalidFilter`` with where it failed."""
    if len(text) > 2000:
        raise ScimError(400, "The filter is longer than 2000 characters.", "invalidFilter")
    try:
        return SCIMParser().parse(SCIMLexer().tokenize(text))
    except Exception as error:  # noqa: BLE001 - sly raises several kinds; all mean the same to the client
        raise ScimError(400, f"The filter could not be parsed: {error}", "invalidFilter") from None


def to_q(text: str, schema: str) -> Q:
    return _Compiler(schema).visit(parse(text), prefix="")


class _Compiler:
    def __init__(self, schema: str):
        self.schema = schema
        self.fields = FIELDS[schema]

    def visit(self, node, *, prefix: str) -> Q:
        if isinstance(node, ast.Filter):
            inner_prefix = prefix
            if node.namespace is not None:
                inner_prefix = self._name(node.namespace) + "."
            q = self.visit(node.expr, prefix=inner_prefix)
            return ~q if node.negated else q
        if isinstance(node, ast.LogExpr):
            left, right = self.visit(node.expr1, prefix=prefix), self.visit(node.expr2, prefix=prefix)
            return left & right if node.op.lower() == "and" else left | right
        if isinstance(node, ast.AttrExpr):
            return self._comparison(node, prefix)
        raise ScimError(400, "The filter has a part Nimbus does not understand.", "invalidFilter")

    def _name(self, attr_path) -> str:
        if attr_path.uri and attr_path.uri.rstrip(":") != self.schema:
            raise ScimError(400, f"Nimbus has no attribute in the schema {attr_path.uri}.", "invalidFilter")
        name = attr_path.attr_name
        if attr_path.sub_attr is not None:
            name = f"{name}.{attr_path.sub_attr.value}"
        return name

    def _comparison(self, node, prefix: str) -> Q:
        shown = prefix + self._name(node.attr_path)
        name = shown.lower()
        op = node.value.lower()
        raw = node.comp_value.value if node.comp_value is not None else None
        if name in ALWAYS_TRUE:
            if op == "pr" or (op == "eq" and str(raw).lower() in ALWAYS_TRUE[name]):
                return Q()
            return NOTHING
        field = self.fields.get(name)
        if field is None:
            raise ScimError(400, f"Nimbus cannot filter on '{shown}' (not an attribute it publishes).", "invalidFilter")
        return _lookup(field, op, raw, shown)


def _lookup(field: Field, op: str, raw, shown: str) -> Q:
    path = field.path
    if op == "pr":
        if field.kind == "email":
            return Q(**{f"{path}__isnull": False}) & ~Q(**{f"{path}__iendswith": PLACEHOLDER_EMAIL_DOMAIN})
        present = Q(**{f"{path}__isnull": False})
        return present & ~Q(**{path: ""}) if field.kind in ("string", "exact") else present
    if raw is None or str(raw).lower() == "null":
        if op == "eq":
            return ~_lookup(field, "pr", None, shown)
        if op == "ne":
            return _lookup(field, "pr", None, shown)
        raise ScimError(400, f"'{op}' cannot compare '{shown}' with null.", "invalidFilter")
    value = str(raw)
    if field.kind == "boolean":
        if op not in ("eq", "ne") or value.lower() not in ("true", "false"):
            raise ScimError(400, f"'{shown}' is a boolean: compare it with eq or ne to true or false.", "invalidFilter")
        q = Q(**{path: value.lower() == "true"})
        return q if op == "eq" else ~q
    if field.kind == "uuid":
        if op not in ("eq", "ne"):
            raise ScimError(400, f"'{shown}' is an id: compare it with eq or ne.", "invalidFilter")
        try:
            q = Q(**{path: uuid.UUID(value)})
        except ValueError:
            q = NOTHING  # no resource has an id that is not one of Nimbus's
        return q if op == "eq" else ~q
    if field.kind == "datetime":
        if op not in ("eq", "ne", "gt", "ge", "lt", "le"):
            raise ScimError(400, f"'{shown}' is a date: compare it with eq, ne, gt, ge, lt or le.", "invalidFilter")
        from django.utils.dateparse import parse_datetime

        moment = parse_datetime(value)
        if moment is None:
            raise ScimError(400, f"'{value}' is not a date and time (RFC 3339).", "invalidFilter")
        value = moment
    insensitive = field.kind in ("string", "email")
    lookups = {
        "eq": "iexact" if insensitive else "exact",
        "ne": "iexact" if insensitive else "exact",
        "co": "icontains" if insensitive else "contains",
        "sw": "istartswith" if insensitive else "startswith",
        "ew": "iendswith" if insensitive else "endswith",
        "gt": "gt",
        "ge": "gte",
        "lt": "lt",
        "le": "lte",
    }
    if op not in lookups:
        raise ScimError(400, f"Unknown operator '{op}'.", "invalidFilter")
    if op in ("co", "sw", "ew") and field.kind == "datetime":
        raise ScimError(400, f"'{op}' does not apply to the date '{shown}'.", "invalidFilter")
    q = Q(**{f"{path}__{lookups[op]}": value})
    return ~q if op == "ne" else q


def order_by(sort_by: str | None, sort_order: str | None, schema: str) -> list[str]:
    """ORM ordering for ``sortBy``/``sortOrder``; always ends on the primary key so pages are stable."""
    if not sort_by:
        return ["pk"]
    name = sort_by.split(":")[-1] if sort_by.startswith("urn:") else sort_by
    field = FIELDS[schema].get(name.lower())
    if field is None or not field.sortable:
        raise ScimError(400, f"Nimbus cannot sort by '{sort_by}'.", "invalidValue")
    order = (sort_order or "ascending").lower()
    if order not in ("ascending", "descending"):
        raise ScimError(400, "sortOrder is 'ascending' or 'descending'.", "invalidValue")
    if field.kind in ("string", "email"):
        from django.db.models.functions import Upper

        expression = Upper(field.path)
        return [expression.desc() if order == "descending" else expression.asc(), "pk"]
    return [f"-{field.path}" if order == "descending" else field.path, "pk"]
