"""Reads of the audit stream shared by the pages, the API and GraphQL."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from . import services
from .models import AuditEvent, SavedQuery


def saved_queries_for(*, user) -> QuerySet[SavedQuery]:
    """The saved queries ``user`` may see and run: their own, and those shared in the tenant, by name."""
    return SavedQuery.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner").order_by("name", "id")


def chain_status(*, full: bool) -> dict:
    """What the chain badge says: the verification (from the last checkpoint, or ``full``) and how many wait unsealed.

    ``up_to`` is the last event the walk reached (``from_seq`` + ``checked`` - 1).
    """
    result = services.verify_chain(from_checkpoint=not full)
    return {
        "verification": result,
        "up_to": result.from_seq + result.checked - 1,
        "unsealed": AuditEvent.objects.filter(seq__isnull=True).count(),
        "full": full,
    }
