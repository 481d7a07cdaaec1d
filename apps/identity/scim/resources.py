"""Nimbus rows as SCIM resources and back: rendering, ``attributes``/``excludedAttributes``, ETags, request bodies.

A SCIM User is an ``accounts.User`` with its ``identity.ScimUser`` row: the
account holds the email, display name and ``active``; the row holds the SCIM id,
userName, externalId and name parts. A SCIM Group is an ``access.Group`` with its
``identity.ScimGroup`` row. Members and groups are always SCIM ones: a local
account in a SCIM group is not shown to the IdP.

An account the IdP gave no email (only a userName that is not an address) gets
a placeholder address under ``no-email.scim.invalid`` (RFC 2606: it can never
receive mail), because every Nimbus account has one; it is never published as
an email.
"""

from __future__ import annotations

import hashlib
import json

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from . import patch
from .errors import ScimError
from .filters import PLACEHOLDER_EMAIL_DOMAIN
from .schemas import GROUP_SCHEMA, USER_SCHEMA

ALWAYS_RETURNED = {"id", "schemas"}


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def published_email(email: str) -> str | None:
    return None if email.lower().endswith(PLACEHOLDER_EMAIL_DOMAIN) else email


def is_email(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


def _with_version(resource: dict) -> dict:
    digest = hashlib.sha256(json.dumps(resource, sort_keys=True).encode()).hexdigest()[:20]
    resource["meta"]["version"] = f'W/"{digest}"'
    return resource


def render_user(scim_user, base_url: str, groups: list | None = None) -> dict:
    """The full SCIM User; ``groups``: its SCIM groups as (scim_id, name) pairs (queried when not given)."""
    user = scim_user.user
    if groups is None:
        groups = list(user.access_groups.filter(scim__isnull=False).order_by("pk").values_list("scim__scim_id", "name"))
    resource = {"schemas": [USER_SCHEMA], "id": str(scim_user.scim_id)}
    if scim_user.external_id:
        resource["externalId"] = scim_user.external_id
    resource["userName"] = scim_user.user_name
    name = {
        key: value
        for key, value in (
            ("formatted", scim_user.formatted_name),
            ("familyName", scim_user.family_name),
            ("givenName", scim_user.given_name),
        )
        if value
    }
    if name:
        resource["name"] = name
    if user.display_name:
        resource["displayName"] = user.display_name
    email = published_email(user.email)
    if email:
        resource["emails"] = [{"value": email}]
    resource["active"] = user.is_active
    if groups:
        resource["groups"] = [
            {"value": str(gid), "$ref": f"{base_url}/Groups/{gid}", "display": gname} for gid, gname in groups
        ]
    resource["meta"] = {
        "resourceType": "User",
        "created": _iso(scim_user.created_at),
        "lastModified": _iso(max(scim_user.updated_at, scim_user.created_at)),
        "location": f"{base_url}/Users/{scim_user.scim_id}",
    }
    return _with_version(resource)


def render_group(scim_group, base_url: str, members: list | None = None, *, with_members: bool = True) -> dict:
    group = scim_group.group
    resource = {"schemas": [GROUP_SCHEMA], "id": str(scim_group.scim_id)}
    if scim_group.external_id:
        resource["externalId"] = scim_group.external_id
    resource["displayName"] = group.name
    if with_members:
        if members is None:
            members = list(
                group.members.filter(scim__isnull=False).order_by("pk").values_list("scim__scim_id", flat=True)
            )
        if members:
            resource["members"] = [{"value": str(mid), "$ref": f"{base_url}/Users/{mid}"} for mid in members]
    resource["meta"] = {
        "resourceType": "Group",
        "created": _iso(scim_group.created_at),
        "lastModified": _iso(max(scim_group.updated_at, scim_group.created_at)),
        "location": f"{base_url}/Groups/{scim_group.scim_id}",
    }
    return _with_version(resource)


def _names(param: str | None, schema: str) -> list[str]:
    names = []
    for part in (param or "").split(","):
        part = part.strip()
        if not part:
            continue
        if part.lower().startswith(schema.lower() + ":"):
            part = part[len(schema) + 1 :]
        names.append(part.lower())
    return names


def select(resource: dict, attributes: str | None, excluded: str | None, schema: str) -> dict:
    """``resource`` with only the ``attributes`` asked for, or without the ``excludedAttributes`` (RFC 7644 §3.9)."""
    wanted, unwanted = _names(attributes, schema), _names(excluded, schema)
    if wanted:
        kept = {}
        for key, value in resource.items():
            lowered = key.lower()
            if lowered in ALWAYS_RETURNED or lowered in wanted:
                kept[key] = value
                continue
            subs = [name.split(".", 1)[1] for name in wanted if name.startswith(lowered + ".")]
            if subs and isinstance(value, dict):
                kept[key] = {k: v for k, v in value.items() if k.lower() in subs}
            elif subs and isinstance(value, list):
                kept[key] = [{k: v for k, v in item.items() if k.lower() in subs} for item in value]
        return kept
    if unwanted:
        kept = {}
        for key, value in resource.items():
            lowered = key.lower()
            if lowered in unwanted and lowered not in ALWAYS_RETURNED:
                continue
            subs = [name.split(".", 1)[1] for name in unwanted if name.startswith(lowered + ".")]
            if subs and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k.lower() not in subs}
            kept[key] = value
        return kept
    return resource


def user_state(scim_user) -> dict:
    """The writable attributes of a User, as PATCH works on them."""
    user = scim_user.user
    email = published_email(user.email)
    name = {
        key: value
        for key, value in (
            ("givenName", scim_user.given_name),
            ("familyName", scim_user.family_name),
            ("formatted", scim_user.formatted_name),
        )
        if value
    }
    return {
        "userName": scim_user.user_name,
        "displayName": user.display_name or None,
        "active": user.is_active,
        "externalId": scim_user.external_id or None,
        "name": name or None,
        "emails": [{"value": email}] if email else [],
    }


def group_state(scim_group) -> dict:
    group = scim_group.group
    members = group.members.filter(scim__isnull=False).order_by("pk").values_list("scim__scim_id", flat=True)
    return {
        "displayName": group.name,
        "externalId": scim_group.external_id or None,
        "members": [{"value": str(mid)} for mid in members],
    }


def state_from_body(body, schema: str) -> dict:
    """The writable attributes a POST or PUT body gives; attributes Nimbus does not store are ignored.

    Ignoring (rather than refusing) what is not stored lets IdPs that always send
    more (phone numbers, the enterprise extension, a password) provision at all;
    the Schemas endpoint says what is kept.
    """
    if not isinstance(body, dict):
        raise ScimError(400, "The body is not a SCIM resource object.", "invalidSyntax")
    known = patch.ATTRS[schema]
    state: dict = {}
    for key, value in body.items():
        lowered = key.lower()
        if lowered == schema.lower() and isinstance(value, dict):
            state.update(state_from_body(value, schema))
            continue
        attr = known.get(lowered)
        if attr is None:
            continue
        state[attr.name] = patch._normalised(attr, value)
    return state


def chosen_email(state: dict) -> str | None:
    """The one email Nimbus keeps from a state's ``emails``: the first one given (type and primary are not stored)."""
    emails = [e for e in (state.get("emails") or []) if e.get("value")]
    return emails[0]["value"] if emails else None
