"""PATCH (RFC 7644 §3.5.2) applied to a resource's writable attributes, held as a plain SCIM dict.

The view reads the resource's current state (``resources.user_state`` /
``group_state``), ``apply`` runs every operation on a copy, and the service
writes the result as a replacement would: one path for PUT and PATCH, so both
validate the same way. Supported: ``add``, ``replace`` and ``remove`` on every
published attribute, sub-attributes (``name.givenName``), value-path filters
(``members[value eq "…"]``, ``emails[type eq "work"].value``), operations
without a path (a dict of attributes), and URN-qualified paths of the
resource's own schema.

IdP dialects tolerated: ``op`` in any case (Entra ID sends ``"Replace"``);
booleans as the strings ``"True"``/``"False"`` (Entra ID); ``remove`` on
``members`` with the members to remove as ``value`` instead of a filter
(Entra ID); an email filter on ``type``/``primary`` (every stored email is the
work and primary one); ``replace`` on ``emails[type eq "work"].value`` when
there is no email yet adds it.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from scim2_filter_parser import ast

from . import filters
from .errors import ScimError
from .schemas import GROUP_SCHEMA, USER_SCHEMA


@dataclass(frozen=True)
class Attr:
    name: str
    kind: str  # simple | bool | complex | multi
    subs: tuple[str, ...] = ()
    dropped_subs: tuple[str, ...] = ()  # accepted on input, not stored (and not published)
    required: bool = False  # always has a value: a remove is refused (``mutability``)


USER_ATTRS = {
    "username": Attr("userName", "simple", required=True),
    "displayname": Attr("displayName", "simple"),
    "active": Attr("active", "bool", required=True),
    "externalid": Attr("externalId", "simple"),
    "name": Attr("name", "complex", ("givenName", "familyName", "formatted")),
    "emails": Attr("emails", "multi", ("value",), ("type", "primary", "display")),
}
GROUP_ATTRS = {
    "displayname": Attr("displayName", "simple", required=True),
    "externalid": Attr("externalId", "simple"),
    "members": Attr("members", "multi", ("value",), ("$ref", "display", "type")),
}
# Read-only attributes a client may echo back in a path-less value; ignored, as RFC 7644 §3.5.2 allows.
IGNORED = {"id", "meta", "schemas", "groups"}
ATTRS = {USER_SCHEMA: USER_ATTRS, GROUP_SCHEMA: GROUP_ATTRS}
# Virtual sub-attributes of a stored email, for matching value-path filters.
EMAIL_FACTS = {"type": "work", "primary": True}

PATH = re.compile(r"^(?P<attr>[A-Za-z$][\w$-]*)(?:\[(?P<filter>.+)\])?(?:\.(?P<sub>[A-Za-z$][\w$-]*))?$")


def to_bool(value, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ScimError(400, f"'{where}' must be true or false.", "invalidValue")


@dataclass
class Target:
    attr: Attr
    filter: object | None = None
    sub: str | None = None


def parse_path(path: str, schema: str) -> Target:
    text = path.strip()
    if text.lower().startswith("urn:"):
        if not text.lower().startswith(schema.lower() + ":"):
            raise ScimError(400, f"Nimbus has no attribute '{path}'.", "invalidPath")
        text = text[len(schema) + 1 :]
    match = PATH.match(text)
    if match is None:
        raise ScimError(400, f"'{path}' is not a valid attribute path.", "invalidPath")
    attr = ATTRS[schema].get(match["attr"].lower())
    if attr is None:
        raise ScimError(400, f"Nimbus has no attribute '{match['attr']}'.", "invalidPath")
    sub = match["sub"]
    if sub is not None:
        known = {s.lower(): s for s in (*attr.subs, *attr.dropped_subs)}
        if attr.kind not in ("complex", "multi") or sub.lower() not in known:
            raise ScimError(400, f"'{match['attr']}' has no sub-attribute '{sub}'.", "invalidPath")
        sub = known[sub.lower()]
    value_filter = None
    if match["filter"] is not None:
        if attr.kind != "multi":
            raise ScimError(400, f"'{attr.name}' is not multi-valued: it takes no filter.", "invalidPath")
        value_filter = filters.parse(match["filter"])
    return Target(attr, value_filter, sub)


def matches(node, item: dict, facts: dict) -> bool:
    """Does ``item`` (one value of a multi-valued attribute) satisfy the value-path filter ``node``?"""
    if isinstance(node, ast.Filter):
        result = matches(node.expr, item, facts)
        return not result if node.negated else result
    if isinstance(node, ast.LogExpr):
        left, right = matches(node.expr1, item, facts), matches(node.expr2, item, facts)
        return (left and right) if node.op.lower() == "and" else (left or right)
    if isinstance(node, ast.AttrExpr):
        name = node.attr_path.attr_name.lower()
        values = {k.lower(): v for k, v in {**facts, **item}.items()}
        actual = values.get(name)
        op = node.value.lower()
        if op == "pr":
            return actual not in (None, "", [])
        expected = node.comp_value.value if node.comp_value is not None else None
        if isinstance(actual, bool):
            expected_bool = str(expected).lower() == "true"
            return (actual == expected_bool) if op == "eq" else (actual != expected_bool) if op == "ne" else False
        left, right = str(actual or "").lower(), str(expected or "").lower()
        return {
            "eq": left == right,
            "ne": left != right,
            "co": right in left,
            "sw": left.startswith(right),
            "ew": left.endswith(right),
        }.get(op, False)
    raise ScimError(400, "The path filter has a part Nimbus does not understand.", "invalidFilter")


def _clean_item(attr: Attr, item) -> dict:
    if not isinstance(item, dict):
        raise ScimError(400, f"Each value of '{attr.name}' is an object.", "invalidValue")
    known = {s.lower(): s for s in attr.subs}
    dropped = {s.lower() for s in attr.dropped_subs}
    cleaned = {}
    for key, value in item.items():
        if key.lower() in known:
            cleaned[known[key.lower()]] = value
        elif key.lower() not in dropped:
            raise ScimError(400, f"'{attr.name}' has no sub-attribute '{key}'.", "invalidValue")
    if "value" in known and not isinstance(cleaned.get("value"), str):
        raise ScimError(400, f"Each value of '{attr.name}' needs a 'value' string.", "invalidValue")
    return cleaned


def _items(attr: Attr, value) -> list[dict]:
    values = value if isinstance(value, list) else [value]
    return [_clean_item(attr, v) for v in values]


def _normalised(attr: Attr, value):
    if attr.kind == "bool":
        return None if value is None else to_bool(value, attr.name)
    if attr.kind == "simple":
        if value is not None and not isinstance(value, str):
            raise ScimError(400, f"'{attr.name}' is a string.", "invalidValue")
        return value
    if attr.kind == "complex":
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ScimError(400, f"'{attr.name}' is an object.", "invalidValue")
        known = {s.lower(): s for s in attr.subs}
        cleaned = {}
        for key, sub_value in value.items():
            if key.lower() not in known:
                raise ScimError(400, f"'{attr.name}' has no sub-attribute '{key}'.", "invalidValue")
            if sub_value is not None and not isinstance(sub_value, str):
                raise ScimError(400, f"'{attr.name}.{key}' is a string.", "invalidValue")
            cleaned[known[key.lower()]] = sub_value
        return cleaned
    return None if value is None else _items(attr, value)


def _facts(attr: Attr) -> dict:
    return EMAIL_FACTS if attr.name == "emails" else {}


def _apply_one(state: dict, op: str, target: Target, value) -> None:
    attr = target.attr
    name = attr.name
    if op == "remove" and attr.required:
        raise ScimError(400, f"'{name}' always has a value: replace it instead of removing it.", "mutability")
    if attr.kind in ("simple", "bool"):
        state[name] = None if op == "remove" else _normalised(attr, value)
        return
    if attr.kind == "complex":
        current = dict(state.get(name) or {})
        if op == "remove":
            if target.sub:
                current.pop(target.sub, None)
                state[name] = current
            else:
                state[name] = None
            return
        if target.sub:
            if value is not None and not isinstance(value, str):
                raise ScimError(400, f"'{name}.{target.sub}' is a string.", "invalidValue")
            current[target.sub] = value
        else:
            current.update(_normalised(attr, value) or {})
        state[name] = current
        return
    # multi-valued
    items = list(state.get(name) or [])
    facts = _facts(attr)
    if target.filter is None:
        if target.sub is not None:
            if op == "remove":
                raise ScimError(400, f"Remove needs a filter to pick which '{name}' to change.", "invalidPath")
            if target.sub in attr.dropped_subs:
                return
            items = [{**item, target.sub: value} for item in items] or [{target.sub: value}]
        elif op == "remove":
            if value is not None and name == "members":
                gone = {i["value"] for i in _items(attr, value)}  # Entra ID: the members to remove as the value
                items = [i for i in items if i.get("value") not in gone]
            else:
                items = []
        elif op == "add":
            for item in _items(attr, value):
                if all(existing.get("value") != item.get("value") for existing in items):
                    items.append(item)
        else:
            items = _items(attr, value)
        state[name] = items
        return
    hit = [i for i, item in enumerate(items) if matches(target.filter, item, facts)]
    if op == "remove":
        if target.sub is None:
            items = [item for i, item in enumerate(items) if i not in hit]
        elif target.sub in attr.subs:
            items = [{**item, target.sub: None} if i in hit else item for i, item in enumerate(items)]
    elif not hit:
        if name == "emails":  # Entra ID: replace emails[type eq "work"].value on a user without one adds it
            new = {target.sub: value} if target.sub else value
            items.extend(_items(attr, new if target.sub in (None, "value") else {"value": None}))
        else:
            raise ScimError(400, f"No value of '{name}' matches the path's filter.", "noTarget")
    else:
        for i in hit:
            if target.sub is None:
                items[i] = _clean_item(attr, {**items[i], **(value if isinstance(value, dict) else {})})
            elif target.sub in attr.subs:
                items[i] = {**items[i], target.sub: value}
    state[name] = items


def apply(state: dict, body, schema: str) -> dict:
    """The state after the PatchOp ``body``; ``invalidSyntax``/``invalidPath``/``invalidValue`` when it is wrong."""
    if not isinstance(body, dict):
        raise ScimError(400, "The body is not a PatchOp object.", "invalidSyntax")
    operations = body.get("Operations", body.get("operations"))
    if not isinstance(operations, list) or not operations:
        raise ScimError(400, "A PatchOp needs a non-empty 'Operations' list.", "invalidSyntax")
    state = copy.deepcopy(state)
    for operation in operations:
        if not isinstance(operation, dict):
            raise ScimError(400, "Each operation is an object.", "invalidSyntax")
        op = str(operation.get("op", "")).lower()
        if op not in ("add", "replace", "remove"):
            raise ScimError(
                400, f"Unknown operation '{operation.get('op')}': use add, replace or remove.", "invalidSyntax"
            )
        path, value = operation.get("path"), operation.get("value")
        if path:
            if not isinstance(path, str):
                raise ScimError(400, "'path' is a string.", "invalidPath")
            _apply_one(state, op, parse_path(path, schema), value)
            continue
        if op == "remove":
            raise ScimError(400, "A remove operation needs a path.", "noTarget")
        if not isinstance(value, dict):
            raise ScimError(
                400, f"An '{op}' without a path needs an object of attributes as its value.", "invalidValue"
            )
        for key, attribute_value in value.items():
            if key.lower() in IGNORED:
                continue
            if key.lower().startswith("urn:") and key.lower() != schema.lower():
                raise ScimError(400, f"Nimbus has no attribute '{key}'.", "invalidPath")
            if key.lower() == schema.lower() and isinstance(attribute_value, dict):
                for inner_key, inner_value in attribute_value.items():
                    _apply_one(state, op, parse_path(inner_key, schema), inner_value)
                continue
            _apply_one(state, op, parse_path(key, schema), attribute_value)
    return state
