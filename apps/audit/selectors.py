"""Reads of audit data shared by the pages and the API."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .models import SavedQuery


def saved_queries_for(*, user) -> QuerySet[SavedQuery]:
    """The saved queries ``user`` may see and run: their own, and those shared in the tenant, by name."""
    return SavedQuery.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner").order_by("name", "id")
