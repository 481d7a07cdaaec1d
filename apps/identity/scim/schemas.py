"""What Nimbus tells SCIM clients it supports: trimmed Schemas, the two ResourceTypes, the ServiceProviderConfig.

Only attributes Nimbus stores are published, because clients (and the
scim2-tester compliance checker) write and read back every attribute a schema
declares. A User's ``emails`` carries ``value`` only: Nimbus keeps one email per
account, so ``type`` and ``primary`` are accepted on input (Entra ID and Okta
send them) but not stored. ``externalId``, ``id`` and ``meta`` are common
attributes (RFC 7643 §3.1), served but not listed in the schemas.
"""

from __future__ import annotations

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"

MAX_RESULTS = 200  # the largest page a list or filter answers (``count`` is capped to it)


def _attribute(name: str, description: str, *, type_: str = "string", **options) -> dict:
    attribute = {
        "name": name,
        "type": type_,
        "multiValued": options.pop("multi", False),
        "description": description,
        "required": options.pop("required", False),
        "mutability": options.pop("mutability", "readWrite"),
        "returned": options.pop("returned", "default"),
    }
    if type_ in ("string", "reference"):
        attribute["caseExact"] = options.pop("case_exact", False)
        attribute["uniqueness"] = options.pop("uniqueness", "none")
    attribute.update(options)
    return attribute


USER_ATTRIBUTES = [
    _attribute(
        "userName",
        "The name the IdP knows the person by; unique in the tenant, ignoring case.",
        required=True,
        uniqueness="server",
    ),
    _attribute(
        "name",
        "The person's name.",
        type_="complex",
        subAttributes=[
            _attribute("formatted", "The full name, formatted for display."),
            _attribute("familyName", "The family name."),
            _attribute("givenName", "The given name."),
        ],
    ),
    _attribute("displayName", "The name Nimbus shows for the person."),
    _attribute(
        "emails",
        "The person's email address (Nimbus keeps one: the sign-in and notification address).",
        type_="complex",
        multi=True,
        subAttributes=[_attribute("value", "The email address.")],
    ),
    # Required because every Nimbus account is active or not (a remove is refused); a create without it
    # is still accepted, as active, since IdPs omit it.
    _attribute(
        "active",
        "Whether the person may sign in; false ends their sessions and tokens at once.",
        type_="boolean",
        required=True,
    ),
    _attribute(
        "groups",
        "The SCIM groups the person is a direct member of.",
        type_="complex",
        multi=True,
        mutability="readOnly",
        subAttributes=[
            _attribute("value", "The group's id.", mutability="readOnly"),
            _attribute("$ref", "The group's URI.", type_="reference", referenceTypes=["Group"], mutability="readOnly"),
            _attribute("display", "The group's display name.", mutability="readOnly"),
        ],
    ),
]

GROUP_ATTRIBUTES = [
    _attribute("displayName", "The group's name; unique in the tenant.", required=True, uniqueness="server"),
    _attribute(
        "members",
        "The users in the group (groups cannot be members).",
        type_="complex",
        multi=True,
        subAttributes=[
            _attribute("value", "The member's id.", mutability="immutable"),
            _attribute("$ref", "The member's URI.", type_="reference", referenceTypes=["User"], mutability="immutable"),
        ],
    ),
]

SCHEMAS = {
    USER_SCHEMA: ("User", "User Account", USER_ATTRIBUTES),
    GROUP_SCHEMA: ("Group", "Group", GROUP_ATTRIBUTES),
}

RESOURCE_TYPES = {
    "User": ("/Users", USER_SCHEMA, "User Account"),
    "Group": ("/Groups", GROUP_SCHEMA, "Group"),
}


def schema_document(urn: str, base_url: str) -> dict:
    name, description, attributes = SCHEMAS[urn]
    return {
        "schemas": [SCHEMA_SCHEMA],
        "id": urn,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{urn}"},
    }


def resource_type_document(name: str, base_url: str) -> dict:
    endpoint, schema, description = RESOURCE_TYPES[name]
    return {
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": name,
        "name": name,
        "endpoint": endpoint,  # relative to the base URL (RFC 7643 §6)
        "description": description,
        "schema": schema,
        "schemaExtensions": [],
        "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/{name}"},
    }


def service_provider_config(base_url: str) -> dict:
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://nimbus.example/docs/identity#scim",
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A SCIM token of the tenant (Identity > SCIM tokens), as 'Authorization: Bearer …'.",
                "specUri": "https://www.rfc-editor.org/rfc/rfc6750",
                "primary": True,
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base_url}/ServiceProviderConfig"},
    }


def list_response(resources: list[dict], *, total: int | None = None, start_index: int = 1) -> dict:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(resources) if total is None else total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
