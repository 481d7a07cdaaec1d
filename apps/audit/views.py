"""The audit pages (/audit/ on tenant hosts, and on the provider host for the provider's own stream in ``public``):
the explorer with its saved queries, one event, the chain's status and a full check of it, and the tenant's
redaction rules.

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
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.core.authorization import Resource, permission_required, require, visible
from apps.core.htmx import htmx_partial, vary_on_htmx

from . import selectors, services
from .filtersets_pages import AuditEventPageFilterSet
from .forms import RedactionRuleForm, SavedQueryForm
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


def _valid_filters(data, filterset) -> dict[str, str]:
    """The filters in ``data`` that apply (given and valid), as the export form sends them on."""
    errors = filterset.form.errors
    return {
        name: value for name, value in data.items() if name in filterset.base_filters and value and name not in errors
    }


def _next_url(data, before: int) -> str:
    query = data.copy()
    query["before"] = str(before)
    return f"{reverse('audit:explorer')}?{query.urlencode()}"


# --- Explorer -----------------------------------------------------------------------------------


# Form fields of the save form, and the keyset: never carried along as filters of a saved query.
NOT_FILTERS = {"before", "name", "shared", "csrfmiddlewaretoken"}


def _filter_params(data) -> list[tuple[str, str]]:
    """The filters in ``data`` (the explorer's query, or a save form's post) with a value, as pairs."""
    return [(key, value) for key, value in data.items() if key not in NOT_FILTERS and value.strip()]


def _saved_panel(request, *, params, form=None) -> dict:
    """What the saved-queries panel draws: the queries the user sees, and the save form for ``params``."""
    return {
        "saved_queries": selectors.saved_queries_for(user=request.user),
        "saved_form": form or SavedQueryForm(),
        "saved_params": params,
    }


def _explorer_page(request, data, *, saved_form=None, status: int = 200):
    """The explorer for the filters in ``data``: the whole page, or to HTMX only what the filters change."""
    filterset = AuditEventPageFilterSet(data, queryset=_events(request), request=request)
    filterset.is_valid()  # a bad filter is shown as an error and ignored; the valid ones still apply
    queryset = filterset.qs.order_by("-id")
    before = data.get("before", "")
    if before.isdigit():
        queryset = queryset.filter(id__lt=int(before))
    rows = list(queryset[: PAGE_SIZE + 1])
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    table = AuditEventTable(rows)
    table.request = request
    table.next_url = _next_url(data, rows[-1].id) if more else ""
    context = {
        "table": table,
        "filter_form": filterset.form,
        "table_id": "audit-events",
        "export_params": _valid_filters(data, filterset),
    }
    if htmx_partial(request) and before.isdigit():
        return vary_on_htmx(render(request, "audit/_rows.html", context))
    context.update(_saved_panel(request, params=_filter_params(data), form=saved_form))
    if htmx_partial(request):
        # The events, and (out of band) the filters the save form would save.
        return vary_on_htmx(render(request, "audit/_events_refresh.html", context))
    context["chain"] = chain_status(full=False)
    return vary_on_htmx(render(request, "audit/explorer.html", context, status=status))


@require_safe
@permission_required("audit:event:view")
def explorer(request):
    """``/audit/``: events newest first, filtered; to HTMX the rows after ``before`` only (the infinite scroll)."""
    return _explorer_page(request, request.GET)


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


# --- Saved queries ------------------------------------------------------------------------------


def _saved_panel_response(request, *, params, form=None):
    # htmx swaps only successful answers in: a refused save comes back as 200 too, its reasons next to the fields.
    context = _saved_panel(request, params=params, form=form)
    return vary_on_htmx(render(request, "audit/_saved_queries.html", context))


@require_POST
@permission_required("audit:event:view")
def saved_query_save(request):
    """``POST /audit/saved-queries/``: save the filters posted with the form (the explorer's current ones)."""
    params = _filter_params(request.POST)
    form = SavedQueryForm(request.POST)
    if form.is_valid():
        try:
            query = services.saved_query_create(
                owner=request.user,
                name=form.cleaned_data["name"],
                params=dict(params),
                shared=form.cleaned_data["shared"],
            )
        except ValidationError as error:
            _refused(form, error)
        else:
            if htmx_partial(request):
                return _saved_panel_response(request, params=params)
            messages.success(request, f"The query '{query.name}' was saved.")
            return redirect(f"{reverse('audit:explorer')}?{query.querystring}")
    if htmx_partial(request):
        return _saved_panel_response(request, params=params, form=form)
    return _explorer_page(request, QueryDict(urlencode(params)), saved_form=form, status=400)


@require_POST
@permission_required("audit:event:view")
def saved_query_delete(request, pk: int):
    """``POST /audit/saved-queries/<id>/delete/``: one the user sees (else 404), deleted if the service lets them."""
    query = get_object_or_404(selectors.saved_queries_for(user=request.user), pk=pk)
    services.saved_query_delete(actor=request.user, query=query)  # someone else's shared query: PermissionDenied
    if htmx_partial(request):
        return _saved_panel_response(request, params=_filter_params(request.POST))
    messages.success(request, f"The query '{query.name}' was deleted.")
    return redirect("audit:explorer")
