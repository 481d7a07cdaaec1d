"""The audit pages (/audit/ on tenant hosts, and on the provider host for the provider's own stream in ``public``):
the explorer, one event, the chain's status and a full check of it, and the tenant's redaction rules.

Built like the access pages: every view needs the ``audit:*`` permission that
fits (visitors are sent to sign in); a change is a POST that goes through
``services``, whose refusals come back next to the form's fields. Events are
an append-only stream, so the explorer pages by keyset (``?before=<id>``),
never by number: the last row of a page fetches the next when it scrolls into
view, and HTMX asks get only rows.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.core.authorization import Resource, permission_required, require, visible
from apps.core.htmx import htmx_partial, vary_on_htmx

from . import services
from .filtersets_pages import AuditEventPageFilterSet
from .forms import RedactionRuleForm
from .models import AuditEvent, RedactionRule
from .selectors import chain_status
from .tables import AuditEventTable, RedactionRuleTable, outcome_badge

PAGE_SIZE = 50


# --- Helpers ------------------------------------------------------------------------------------


def _refused(form, error: ValidationError | PermissionDenied) -> None:
    """Put a service's refusal next to the form's fields (or above the form)."""
    if isinstance(error, PermissionDenied):
        form.add_error(None, str(error) or "You may not do that.")
    elif hasattr(error, "error_dict"):
        for field, field_errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_errors)
    else:
        form.add_error(None, error.messages)


def _events(request):
    """This schema's events the user may read (each host's own stream: its schema)."""
    return visible(request.user, "audit:event:view", AuditEvent.objects.all(), request=request)


def _next_url(request, before: int) -> str:
    query = request.GET.copy()
    query["before"] = str(before)
    return f"{request.path}?{query.urlencode()}"


# --- Explorer -----------------------------------------------------------------------------------


@require_safe
@permission_required("audit:event:view")
def explorer(request):
    """``/audit/``: events newest first, filtered; to HTMX the rows after ``before`` only (the infinite scroll)."""
    filterset = AuditEventPageFilterSet(request.GET, queryset=_events(request), request=request)
    filterset.is_valid()  # a bad filter is shown as an error and ignored; the valid ones still apply
    queryset = filterset.qs.order_by("-id")
    before = request.GET.get("before", "")
    if before.isdigit():
        queryset = queryset.filter(id__lt=int(before))
    rows = list(queryset[: PAGE_SIZE + 1])
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    table = AuditEventTable(rows)
    table.request = request
    table.next_url = _next_url(request, rows[-1].id) if more else ""
    context = {"table": table, "filter_form": filterset.form, "table_id": "audit-events"}
    if htmx_partial(request) and before.isdigit():
        return vary_on_htmx(render(request, "audit/_rows.html", context))
    if htmx_partial(request):
        return vary_on_htmx(render(request, "audit/_events.html", context))
    context["chain"] = chain_status(full=False)
    return vary_on_htmx(render(request, "audit/explorer.html", context))


@require_POST
@permission_required("audit:chain:verify")
def verify(request):
    """``POST /audit/verify/``: the whole chain checked from event 1; to HTMX the badge, otherwise a message."""
    chain = chain_status(full=True)
    if htmx_partial(request):
        return render(request, "audit/_chain.html", {"chain": chain})
    result = chain["verification"]
    if result.ok:
        messages.success(request, f"Chain verified up to event {chain['up_to']} ({result.checked} events).")
    else:
        messages.error(request, f"BROKEN at event {result.first_bad_seq}: {result.reason}.")
    return redirect("audit:explorer")


# --- One event ----------------------------------------------------------------------------------


def _shown(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def diff_rows(changes) -> list[dict]:
    """``{field: [before, after]}`` as rows; a value that is not a pair is shown as it is, as the after side."""
    rows = []
    if not isinstance(changes, dict):
        return rows
    for field, pair in sorted(changes.items()):
        if isinstance(pair, list | tuple) and len(pair) == 2:
            before, after = pair
        else:
            before, after = None, pair
        rows.append({"field": field, "before": _shown(before), "after": _shown(after), "changed": before != after})
    return rows


@require_safe
@permission_required("audit:event:view")
def event_detail(request, pk: int):
    event = get_object_or_404(_events(request), pk=pk)
    require(request.user, "audit:event:view", Resource.of("audit:event", event), request=request)
    context = {
        "event": event,
        "outcome": outcome_badge(event.outcome),
        "metadata": json.dumps(event.metadata, indent=2, sort_keys=True, ensure_ascii=False, default=str),
        "diff": diff_rows(event.changes),
    }
    return render(request, "audit/event_detail.html", context)


# --- Redaction rules ----------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("audit:redaction:view")
def redaction(request):
    """``/audit/redaction/``: the tenant's rules and, for those who may change them, a form adding one."""
    form = RedactionRuleForm(request.POST or None)
    if request.method == "POST":
        require(request.user, "audit:redaction:update", request=request)
        if form.is_valid():
            data = form.cleaned_data
            try:
                rule = services.redaction_rule_save(
                    actor=request.user, kind=data["kind"], pattern=data["pattern"], description=data["description"]
                )
            except (ValidationError, PermissionDenied) as error:
                _refused(form, error)
            else:
                messages.success(request, f"The rule '{rule}' was added.")
                return redirect("audit:redaction")
    table = RedactionRuleTable(RedactionRule.objects.all())
    table.request = request
    status = 400 if form.errors else 200
    return render(request, "audit/redaction/list.html", {"table": table, "form": form}, status=status)


@require_POST
@permission_required("audit:redaction:update")
def redaction_toggle(request, pk: int):
    rule = get_object_or_404(RedactionRule, pk=pk)
    try:
        services.redaction_rule_save(
            actor=request.user,
            rule=rule,
            kind=rule.kind,
            pattern=rule.pattern,
            description=rule.description,
            enabled=not rule.enabled,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"The rule '{rule}' is now {'enabled' if rule.enabled else 'disabled'}.")
    return redirect("audit:redaction")


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("audit:redaction:update")
def redaction_delete(request, pk: int):
    rule = get_object_or_404(RedactionRule, pk=pk)
    if request.method == "POST":
        services.redaction_rule_delete(actor=request.user, rule=rule)
        messages.success(request, f"The rule '{rule}' was deleted.")
        return redirect("audit:redaction")
    context = {
        "title": "Delete redaction rule",
        "question": f"Delete the rule '{rule}'?",
        "note": "Events recorded from now on no longer get this redaction; events already stored keep theirs.",
        "action_url": reverse("audit:redaction-delete", args=[rule.pk]),
        "cancel_url": reverse("audit:redaction"),
    }
    return render(request, "access/confirm_delete.html", context)
