"""Audit queries of the GraphQL layer (``/graphql/``): this schema's events, one event, the chain's status.

The same reads as the REST API, decided by the same engine: ``auditEvents``
and ``auditEvent`` need ``audit:event:view``, ``auditChain`` needs
``audit:chain:verify``. Filters go through the REST API's
``AuditEventFilterSet``, so a bad value is refused with the same reason.
Each host answers from its own schema's stream only (the provider's in
``public``).
"""

from __future__ import annotations

from enum import Enum

import strawberry
import strawberry_django
from strawberry import auto

from apps.core.authorization import Resource
from apps.core.graphql.errors import bad_input, not_found
from apps.core.graphql.pagination import MAX_ID, PageInfo, checked_first, decode_cursor, encode_cursor
from apps.core.graphql.permissions import principal, require_object, require_permission, visible_rows

from .api.filtersets import AuditEventFilterSet
from .models import AuditEvent
from .selectors import chain_status

MAX_FIRST = 500
CURSOR_KIND = "audit-event"


@strawberry_django.type(AuditEvent, name="AuditEvent", description="One event of this tenant's audit trail.")
class AuditEventType:
    # What the REST serializer shows: everything the chain covers, then the chain itself.
    id: auto
    occurred_at: auto
    actor_id: auto
    actor_display: auto
    on_behalf_of: auto
    action: auto
    resource_type: auto
    resource_id: auto
    resource_display: auto
    outcome: auto
    request_id: auto
    source_ip: auto
    user_agent: auto
    changes: auto
    metadata: auto
    seq: auto
    hash: auto
    prev_hash: auto

    @strawberry.field(description="Whether the event has its place in the chain yet (sealing runs every few seconds).")
    def sealed(self) -> bool:
        return self.seq is not None


# GraphQL argument → the REST filter it is (and whose validation it gets).
FILTERS = {
    "since": "since",
    "until": "until",
    "actor": "actor",
    "actor_id": "actor_id",
    "action_prefix": "action",
    "resource_type": "resource_type",
    "resource_id": "resource_id",
    "outcome": "outcome",
    "ip": "ip",
    "request_id": "request_id",
    "q": "q",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


# A REST filter's errors are reported under the GraphQL name the client sent.
GRAPHQL_NAMES = {rest: _camel(name) for name, rest in FILTERS.items()}


@strawberry.input(description="Every filter is optional; a bad value is refused with the reason, never ignored.")
class AuditEventFilter:
    since: str | None = strawberry.field(default=None, description="ISO 8601: events at or after.")
    until: str | None = strawberry.field(default=None, description="ISO 8601: events before.")
    actor: str | None = strawberry.field(default=None, description="The actor's email.")
    actor_id: int | None = None
    action_prefix: str | None = strawberry.field(default=None, description="'accounts:' or 'access:role:'.")
    resource_type: str | None = None
    resource_id: str | None = None
    outcome: str | None = strawberry.field(default=None, description="success, denied or error.")
    ip: str | None = None
    request_id: str | None = None
    q: str | None = strawberry.field(default=None, description="Words in the action, actor or resource.")


@strawberry.type
class AuditEventEdge:
    cursor: str
    node: AuditEventType


@strawberry.type(description="A page of events, newest first; pass pageInfo.endCursor as `after` for the next.")
class AuditEventConnection:
    edges: list[AuditEventEdge]
    page_info: PageInfo

    @strawberry.field(description="The page's events without their cursors.")
    def nodes(self) -> list[AuditEventType]:
        return [edge.node for edge in self.edges]


@strawberry.enum
class ChainStatus(Enum):
    VERIFIED = "verified"
    BROKEN = "broken"


@strawberry.type(description="The hash chain's state, as the explorer's badge shows it.")
class AuditChain:
    status: ChainStatus
    verified_up_to: int | None = strawberry.field(description="The last event verified; null when broken.")
    checked: int = strawberry.field(description="Events walked by this check.")
    from_seq: int = strawberry.field(description="Where the walk started: 1, or the last signed checkpoint's event.")
    checkpoints: int = strawberry.field(description="Signed checkpoints verified.")
    first_bad_seq: int | None
    reason: str
    problem: str = strawberry.field(description="missing, out_of_order, edited, truncated, checkpoint_…; or empty.")
    unsealed: int = strawberry.field(description="Events written but not sealed yet.")
    full: bool = strawberry.field(description="Whether the whole chain was walked from event 1.")


def _filtered(queryset, filters: AuditEventFilter | None):
    data = {}
    if filters is not None:
        for name, rest in FILTERS.items():
            value = getattr(filters, name)
            if value is not None:
                data[rest] = str(value)
    filterset = AuditEventFilterSet(data=data, queryset=queryset)
    if not filterset.is_valid():
        fields = {
            f"filter.{GRAPHQL_NAMES.get(rest, rest)}": list(messages) for rest, messages in filterset.errors.items()
        }
        detail = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in fields.items())
        raise bad_input(f"Invalid filter: {detail}", fields=fields)
    return filterset.qs


@strawberry.type
class AuditQuery:
    @strawberry.field(description="This tenant's audit events, newest first, in keyset pages. Needs audit:event:view.")
    def audit_events(
        self,
        info: strawberry.Info,
        filter: AuditEventFilter | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> AuditEventConnection:
        size = checked_first(first, most=MAX_FIRST)
        queryset = _filtered(visible_rows(info, "audit:event:view", AuditEvent.objects.all()), filter)
        if after is not None:
            queryset = queryset.filter(id__lt=decode_cursor(after, kind=CURSOR_KIND))
        rows = list(queryset.order_by("-id")[: size + 1])
        more, rows = len(rows) > size, rows[:size]
        edges = [AuditEventEdge(cursor=encode_cursor(CURSOR_KIND, row.pk), node=row) for row in rows]
        return AuditEventConnection(
            edges=edges, page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None)
        )

    @strawberry.field(description="One event of this tenant's trail. Needs audit:event:view.")
    def audit_event(self, info: strawberry.Info, id: strawberry.ID) -> AuditEventType | None:
        principal(info)
        known = str(id).isdigit() and int(id) <= MAX_ID
        event = AuditEvent.objects.filter(pk=int(id)).first() if known else None
        if event is None:
            raise not_found("No such event.")
        require_object(info, "audit:event:view", Resource.of("audit:event", event))
        return event

    @strawberry.field(
        description="Verify the chain (from the last signed checkpoint, or from event 1 with full: true). "
        "Needs audit:chain:verify."
    )
    def audit_chain(self, info: strawberry.Info, full: bool = False) -> AuditChain:
        require_permission(info, "audit:chain:verify")
        state = chain_status(full=full)
        result = state["verification"]
        return AuditChain(
            status=ChainStatus.VERIFIED if result.ok else ChainStatus.BROKEN,
            verified_up_to=state["up_to"] if result.ok else None,
            checked=result.checked,
            from_seq=result.from_seq,
            checkpoints=result.checkpoints,
            first_bad_seq=result.first_bad_seq,
            reason=result.reason,
            problem=str(result.problem or ""),
            unsealed=state["unsealed"],
            full=full,
        )


QUERIES = [AuditQuery]
