"""The export pages (/audit/exports/): ask for an export of the explorer's current filters, watch its progress
bar fill (HTMX polls the row while the workflow writes), download the file while it is kept.

Thin over ``exports``: creating goes through ``exports.export_create`` (its refusals shown as messages), a
download through ``exports.export_open``, which records it. Everyone sees and downloads only their own exports;
another person's id is a 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from apps.core.authorization import permission_required
from apps.core.htmx import htmx_partial, vary_on_htmx

from .exports import export_create, export_open
from .models import AuditExport

LIST_SIZE = 50


def _own(request, pk: int) -> AuditExport:
    return get_object_or_404(AuditExport, pk=pk, requested_by=request.user)


@require_safe
@permission_required("audit:event:export")
def export_list(request):
    """``/audit/exports/``: the person's own exports, newest first, each with its progress or its download."""
    exports = AuditExport.objects.filter(requested_by=request.user).order_by("-id")[:LIST_SIZE]
    return render(request, "audit/exports.html", {"exports": exports, "keep_hours": settings.AUDIT_EXPORT_KEEP_HOURS})


@require_POST
@permission_required("audit:event:export")
def export_start(request):
    """``POST /audit/exports/new/``: export the events matching the explorer's filters (sent along as fields)."""
    params = {
        name: value for name, value in request.POST.items() if name not in ("csrfmiddlewaretoken", "format") and value
    }
    params.pop("before", None)  # the explorer's scroll position, not a filter
    try:
        export = export_create(actor=request.user, format=request.POST.get("format", ""), params=params)
    except (ValidationError, PermissionDenied) as error:
        for message in getattr(error, "messages", [str(error)]):
            messages.error(request, f"Export not started: {message}")
        return redirect("audit:exports")
    messages.success(request, f"Export {export.pk} started; it is kept for download once ready.")
    return redirect("audit:export-detail", pk=export.pk)


@require_safe
@permission_required("audit:event:export")
def export_detail(request, pk: int):
    """``/audit/exports/<id>/``: one export; to HTMX, just its progress row (polled while it runs)."""
    export = _own(request, pk)
    if htmx_partial(request):
        return vary_on_htmx(render(request, "audit/_export_progress.html", {"export": export}))
    return vary_on_htmx(render(request, "audit/export_detail.html", {"export": export}))


@require_safe
@permission_required("audit:event:export")
def export_download(request, pk: int):
    """``/audit/exports/<id>/download/``: the file, streamed from storage; recorded as ``audit:export:download``."""
    export = _own(request, pk)
    try:
        stream = export_open(actor=request.user, export=export)
    except ValidationError as error:
        raise Http404(" ".join(error.messages)) from None
    content_type = "text/csv" if export.format == AuditExport.Format.CSV else "application/jsonl"
    return FileResponse(stream, as_attachment=True, filename=export.filename, content_type=content_type)
