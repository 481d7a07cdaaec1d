"""The retention and archive pages (/audit/retention/, /audit/archives/).

Thin over ``archives`` and ``storage``, like the API's retention and archive endpoints: saving the policy goes
through ``archives.retention_update`` (its refusals shown next to the fields), verifying an archive calls
``archives.verify_archive``, and a download streams the file from archive storage and records
``audit:archive:download`` the way ``GET /api/v1/audit/archives/<id>/download/`` does.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.core.authorization import permission_required, require

from .archives import ArchiveError, release_restored, restore_archive, retention_update, verify_archive
from .forms import RetentionForm
from .models import AuditArchive, RetentionPolicy
from .recorder import record
from .storage import StorageError, get_storage
from .views import _refused


@require_http_methods(["GET", "HEAD", "POST"])
@permission_required("audit:retention:view")
def retention(request):
    """``/audit/retention/``: the current policy and, for those who may change it, a form saving a new one."""
    policy = RetentionPolicy.current()
    initial = {"days_hot": policy.days_hot, "days_archived": policy.days_archived}
    form = RetentionForm(request.POST or None, initial=initial)
    if request.method == "POST":
        require(request.user, "audit:retention:update", request=request)
        if form.is_valid():
            try:
                policy = retention_update(actor=request.user, **form.cleaned_data)
            except (ValidationError, PermissionDenied) as error:
                _refused(form, error)
            else:
                messages.success(request, f"Retention saved: {policy}.")
                return redirect("audit:retention")
    status = 400 if form.errors else 200
    return render(request, "audit/retention.html", {"policy": policy, "form": form}, status=status)


@require_safe
@permission_required("audit:event:view")
def archive_list(request):
    """``/audit/archives/``: this schema's archives, newest first."""
    archives = AuditArchive.objects.order_by("-last_seq")
    return render(request, "audit/archives.html", {"archives": archives, "restore_days": settings.AUDIT_RESTORE_DAYS})


@require_POST
@permission_required("audit:chain:verify")
def archive_verify(request, pk: int):
    """``POST /audit/archives/<id>/verify/``: ``verify_archive`` on one archive, its result as a message."""
    archive = get_object_or_404(AuditArchive, pk=pk)
    result = verify_archive(archive)
    if result.ok:
        # As the API's verify: a sound archive gets its ``verified_at``.
        archive.verified_at = timezone.now()
        archive.save(update_fields=["verified_at"])
        messages.success(
            request,
            f"Archive of events {archive.first_seq} to {archive.last_seq} verified: OK ({result.checked} events).",
        )
    else:
        where = f" at event {result.first_bad_seq}" if result.first_bad_seq is not None else ""
        messages.error(
            request,
            f"Archive of events {archive.first_seq} to {archive.last_seq}: BROKEN{where}: {result.reason}.",
        )
    return redirect("audit:archives")


@require_POST
@permission_required("audit:retention:update")
def archive_restore(request, pk: int):
    """``POST /audit/archives/<id>/restore/``: the archive's events back in the table (``archives.restore_archive``)."""
    archive = get_object_or_404(AuditArchive, pk=pk)
    try:
        restored = restore_archive(archive, actor=request.user)
    except (ArchiveError, StorageError) as error:
        messages.error(request, f"Not restored: {error}")
    else:
        messages.success(
            request,
            f"{restored} events of archive {archive.first_seq} to {archive.last_seq} are back in the explorer; "
            f"they leave again after {settings.AUDIT_RESTORE_DAYS} days or when released.",
        )
    return redirect("audit:archives")


@require_POST
@permission_required("audit:retention:update")
def archive_release(request, pk: int):
    """``POST /audit/archives/<id>/release/``: a restored archive's events out of the table again."""
    archive = get_object_or_404(AuditArchive, pk=pk)
    try:
        released = release_restored(archive, actor=request.user)
    except ArchiveError as error:
        messages.error(request, f"Not released: {error}")
    else:
        messages.success(request, f"{released} restored events left the table; the archive keeps them.")
    return redirect("audit:archives")


@require_safe
@permission_required("audit:event:export")
def archive_download(request, pk: int):
    """``/audit/archives/<id>/download/``: the ``.jsonl.gz`` streamed from archive storage; records the download."""
    archive = get_object_or_404(AuditArchive, pk=pk)
    if archive.purged_at is not None:
        raise Http404("This archive's files were removed by the retention policy.")
    try:
        stream = get_storage().open(archive.object_key)
    except StorageError:
        raise Http404("This archive's file cannot be read from archive storage.") from None
    record(
        "audit:archive:download",
        actor=request.user,
        resource_type="audit:archive",
        resource_id=archive.pk,
        resource_display=str(archive),
    )
    filename = archive.object_key.rsplit("/", 1)[-1]
    return FileResponse(stream, as_attachment=True, filename=filename, content_type="application/gzip")
