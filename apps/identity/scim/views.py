"""The SCIM 2.0 endpoints of a tenant host: discovery; Users and Groups (list, search, create, read, replace, delete).

Every answer is SCIM JSON (``application/scim+json``), refusals included
(400/401/404/405/409/412 with the RFC 7644 §3.12 envelope), and an unexpected
failure is logged and answered as a SCIM 500, never an HTML page. Refusals are
recorded (``services.record_refusal``); the audit middleware adds its
``http:request`` event for every write and every 401.

Authentication is the tenant's SCIM bearer token only (no session, no API
token): ``services.authenticate_scim_token`` reads the current schema, so a
token of one tenant is unknown on another tenant's host (401), and ids are
looked up in the current schema only (another tenant's id is a 404).
"""

from __future__ import annotations

import json
import logging
from functools import wraps

from django.db import transaction
from django.db.models import Q
from django.views.decorators.csrf import csrf_exempt

from apps.access.models import Group
from apps.audit.recorder import bound_actor

from ..models import ScimGroup, ScimUser
from ..services import authenticate_scim_token
from . import filters, patch, resources, schemas, services
from .errors import ScimError, error_response, json_response, not_found
from .services import ScimActor

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
KINDS = {"Users": ("user", schemas.USER_SCHEMA), "Groups": ("group", schemas.GROUP_SCHEMA)}


def base_url(request) -> str:
    return request.build_absolute_uri("/scim/v2")


def _authenticate(request) -> ScimActor:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise ScimError(401, "Send the tenant's SCIM token as 'Authorization: Bearer <token>'.")
    token = authenticate_scim_token(raw.strip())
    if token is None:
        raise ScimError(401, "The SCIM token is not valid here (unknown, revoked or expired).")
    return ScimActor(token)


def scim_view(action: str, methods: tuple[str, ...]):
    """Authenticate, allow only ``methods``, answer every refusal as SCIM JSON and record it.

    csrf_exempt: SCIM clients authenticate with a bearer token in a header, never a cookie, and a
    session is not accepted here, so a cross-site form cannot act with anyone's authority.
    """

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            actor = None
            try:
                actor = _authenticate(request)
                request.user = actor  # the audit middleware names the token as the request's actor
                if request.method not in methods:
                    raise ScimError(405, f"{request.method} is not allowed here (allowed: {', '.join(methods)}).")
                with bound_actor(actor):
                    return view(request, actor, *args, **kwargs)
            except ScimError as error:
                verb = action
                if callable(action):
                    verb = action(request, *args, **kwargs)
                if error.status != 304:
                    services.record_refusal(actor, action=verb, error=error, resource_id=str(kwargs.get("scim_id", "")))
                response = error_response(error)
                if error.status == 405:
                    response["Allow"] = ", ".join(methods)
                return response
            except Exception:  # SCIM clients get SCIM JSON, never an HTML 500 page
                logger.exception("SCIM request failed", extra={"path": request.path, "method": request.method})
                return error_response(ScimError(500, "Nimbus could not complete the request; it has been logged."))

        return wrapper

    return decorate


def _body(request):
    if len(request.body) > MAX_BODY_BYTES:
        raise ScimError(413, "The body is larger than 1 MB.")
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ScimError(400, "The body is not valid JSON.", "invalidSyntax") from None


def _int(value, name: str, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ScimError(400, f"'{name}' must be an integer.", "invalidValue") from None


# --- Discovery --------------------------------------------------------------------------------


@scim_view("identity:scim:discovery", ("GET",))
def service_provider_config(request, actor):
    return json_response(schemas.service_provider_config(base_url(request)))


@scim_view("identity:scim:discovery", ("GET",))
def resource_types(request, actor, name: str | None = None):
    base = base_url(request)
    if name is None:
        return json_response(
            schemas.list_response([schemas.resource_type_document(n, base) for n in schemas.RESOURCE_TYPES])
        )
    if name not in schemas.RESOURCE_TYPES:
        raise not_found("ResourceType")
    return json_response(schemas.resource_type_document(name, base))


@scim_view("identity:scim:discovery", ("GET",))
def schema_list(request, actor, urn: str | None = None):
    base = base_url(request)
    if urn is None:
        return json_response(schemas.list_response([schemas.schema_document(u, base) for u in schemas.SCHEMAS]))
    if urn not in schemas.SCHEMAS:
        raise not_found("Schema")
    return json_response(schemas.schema_document(urn, base))


@scim_view("identity:scim:search", ("POST",))
def root_search(request, actor):
    raise ScimError(
        501, "Searching several resource types at once is not supported: POST /Users/.search or /Groups/.search."
    )


@scim_view("identity:scim:unknown", ("GET", "POST", "PUT", "PATCH", "DELETE"))
def unknown(request, actor, rest: str = ""):
    raise ScimError(404, "There is no SCIM endpoint here.")


# --- Users and Groups ---------------------------------------------------------------------------


def _queryset(kind: str):
    if kind == "user":
        return ScimUser.objects.select_related("user")
    return ScimGroup.objects.select_related("group")


def _get(kind: str, scim_id: str):
    import uuid

    try:
        key = uuid.UUID(str(scim_id))
    except ValueError:
        raise not_found("User" if kind == "user" else "Group") from None
    found = _queryset(kind).filter(scim_id=key).first()
    if found is None:
        raise not_found("User" if kind == "user" else "Group")
    return found


def _render_page(kind: str, rows: list, base: str, excluded: set[str]) -> list[dict]:
    if kind == "user":
        groups: dict = {row.user_id: [] for row in rows}
        if "groups" not in excluded and rows:
            through = Group.members.through.objects.filter(user_id__in=list(groups), group__scim__isnull=False)
            for user_id, gid, name in through.order_by("group_id").values_list(
                "user_id", "group__scim__scim_id", "group__name"
            ):
                groups[user_id].append((gid, name))
        return [resources.render_user(row, base, groups[row.user_id]) for row in rows]
    members: dict = {row.group_id: [] for row in rows}
    with_members = "members" not in excluded
    if with_members and rows:
        through = Group.members.through.objects.filter(group_id__in=list(members), user__scim__isnull=False)
        for group_id, mid in through.order_by("user_id").values_list("group_id", "user__scim__scim_id"):
            members[group_id].append(mid)
    return [resources.render_group(row, base, members[row.group_id], with_members=with_members) for row in rows]


def _list(request, kind: str, schema: str, params: dict):
    start = max(_int(params.get("startIndex"), "startIndex", 1), 1)
    count = min(max(_int(params.get("count"), "count", schemas.MAX_RESULTS), 0), schemas.MAX_RESULTS)
    query = Q()
    if params.get("filter"):
        query = filters.to_q(str(params["filter"]), schema)
    ordering = filters.order_by(params.get("sortBy"), params.get("sortOrder"), schema)
    matching = _queryset(kind).filter(query)
    if kind == "group":  # a filter on members joins many rows per group: select the groups by key instead
        matching = _queryset(kind).filter(pk__in=ScimGroup.objects.filter(query).values("pk"))
    total = matching.count()
    rows = list(matching.order_by(*ordering)[start - 1 : start - 1 + count]) if count else []
    attributes, excluded = params.get("attributes"), params.get("excludedAttributes")
    excluded_names = set(resources._names(excluded, schema))
    wanted = set(resources._names(attributes, schema))
    if wanted and not any(n.split(".")[0] in ("groups", "members") for n in wanted):
        excluded_names |= {"groups", "members"}  # not asked for: skip their query
    page = [
        resources.select(r, attributes, excluded, schema)
        for r in _render_page(kind, rows, base_url(request), excluded_names)
    ]
    return json_response(schemas.list_response(page, total=total, start_index=start))


def _joined(value) -> str | None:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return value


def _action(suffix_by_method: dict):
    def name(request, resource: str = "", *args, **kwargs):
        kind = KINDS.get(resource, ("resource", None))[0]
        return f"identity:scim:{kind}:{suffix_by_method.get(request.method, 'request')}"

    return name


@scim_view(_action({"GET": "list", "POST": "create"}), ("GET", "POST"))
def collection(request, actor, resource: str):
    kind, schema = KINDS[resource]
    if request.method == "GET":
        return _list(request, kind, schema, request.GET)
    state = resources.state_from_body(_body(request), schema)
    create = services.scim_user_create if kind == "user" else services.scim_group_create
    created = create(actor=actor, state=state)
    rendered = _render(kind, _get(kind, created.scim_id), request)
    return json_response(
        resources.select(rendered, request.GET.get("attributes"), request.GET.get("excludedAttributes"), schema),
        status=201,
        etag=rendered["meta"]["version"],
        location=rendered["meta"]["location"],
    )


@scim_view(_action({"POST": "search"}), ("POST",))
def search(request, actor, resource: str):
    kind, schema = KINDS[resource]
    body = _body(request)
    if not isinstance(body, dict):
        raise ScimError(400, "The body is not a SearchRequest object.", "invalidSyntax")
    params = {key: _joined(body.get(key)) for key in ("filter", "startIndex", "count", "sortBy", "sortOrder")}
    params["attributes"] = _joined(body.get("attributes"))
    params["excludedAttributes"] = _joined(body.get("excludedAttributes"))
    return _list(request, kind, schema, params)


def _render(kind: str, row, request) -> dict:
    if kind == "user":
        return resources.render_user(row, base_url(request))
    return resources.render_group(row, base_url(request))


def _check_if_match(request, current: dict) -> None:
    expected = request.META.get("HTTP_IF_MATCH")
    if expected and expected.strip() != "*":
        tags = {tag.strip() for tag in expected.split(",")}
        if current["meta"]["version"] not in tags:
            raise ScimError(412, "The resource changed since that version (If-Match does not match its ETag).")


@scim_view(
    _action({"GET": "read", "PUT": "update", "PATCH": "update", "DELETE": "delete"}), ("GET", "PUT", "PATCH", "DELETE")
)
def item(request, actor, resource: str, scim_id: str):
    kind, schema = KINDS[resource]
    attributes, excluded = request.GET.get("attributes"), request.GET.get("excludedAttributes")
    if request.method == "GET":
        row = _get(kind, scim_id)
        rendered = _render(kind, row, request)
        if request.META.get("HTTP_IF_NONE_MATCH", "").strip() == rendered["meta"]["version"]:
            response = json_response({}, status=304, etag=rendered["meta"]["version"])
            response.content = b""
            return response
        return json_response(resources.select(rendered, attributes, excluded, schema), etag=rendered["meta"]["version"])
    with transaction.atomic():
        locked = _queryset(kind).select_for_update(of=("self",)).filter(pk=_get(kind, scim_id).pk).first()
        if locked is None:
            raise not_found("User" if kind == "user" else "Group")
        _check_if_match(request, _render(kind, locked, request))
        if request.method == "DELETE":
            (services.scim_user_delete if kind == "user" else services.scim_group_delete)(
                actor=actor, **{f"scim_{kind}": locked}
            )
            response = json_response({}, status=204)
            response.content = b""
            return response
        body = _body(request)
        if request.method == "PUT":
            state = resources.state_from_body(body, schema)
            how = "replace"
        else:
            current = resources.user_state(locked) if kind == "user" else resources.group_state(locked)
            state = patch.apply(current, body, schema)
            how = "patch"
        replace = services.scim_user_replace if kind == "user" else services.scim_group_replace
        replace(actor=actor, state=state, how=how, **{f"scim_{kind}": locked})
    rendered = _render(kind, _get(kind, scim_id), request)
    return json_response(resources.select(rendered, attributes, excluded, schema), etag=rendered["meta"]["version"])
