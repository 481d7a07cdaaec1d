"""Exports of audit events: a person asks for the events matching some filters as JSON Lines or CSV, a Temporal
workflow writes the file to archive storage, and it stays there for download for ``AUDIT_EXPORT_KEEP_HOURS``.

* ``export_create`` validates the filters as the events API does, saves the request, records
  ``audit:event:export`` in the same transaction and, once committed, starts the ``audit.ExportEvents`` workflow
  (if Temporal cannot be reached the export is marked failed with the reason, never left queued for ever);
* ``export_write`` (the workflow's activity) counts the matching events, streams them oldest first into a
  temporary file with the progress saved every chunk (what the page's progress bar shows), then puts the file in
  storage under ``exports/<schema>/<id>.<format>``; a retry starts the file again from the beginning;
* ``export_open`` hands the finished file to a download and records ``audit:export:download``;
* ``purge_expired_exports`` (an hourly schedule) removes files past their time; the rows stay, as a record.

Every column of an event is exported, its chain fields included, so a contiguous run of exported events can be
checked against the chain. CSV cells that a spreadsheet would read as a formula are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import tempfile
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.http import QueryDict
from django.utils import timezone

from .archives import COLUMNS
from .models import AuditEvent, AuditExport
from .recorder import record
from .storage import StorageError, get_storage

logger = logging.getLogger(__name__)

CHUNK = 2000
# Cells starting with these are formulas to Excel, LibreOffice and Google Sheets (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def check_event_filters(params) -> dict[str, str]:
    """The filters as the events API takes them, each known and valid; otherwise ``ValidationError`` on
    ``params`` naming the bad ones."""
    from .api.filtersets import AuditEventFilterSet

    if not isinstance(params, dict) or not all(isinstance(v, str | int) for v in params.values()):
        raise ValidationError({"params": ["Give the filters as an object of names and text values."]})
    known = set(AuditEventFilterSet.base_filters)
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValidationError(
            {"params": [f"Unknown filters: {', '.join(unknown)} (known: {', '.join(sorted(known))})."]}
        )
    cleaned = {key: str(value) for key, value in params.items() if str(value) != ""}
    data = QueryDict(mutable=True)
    data.update(cleaned)
    form = AuditEventFilterSet(data, queryset=AuditEvent.objects.none()).form
    if not form.is_valid():
        raise ValidationError({"params": [f"{field}: {' '.join(msgs)}" for field, msgs in form.errors.items()]})
    return cleaned


def matching_events(params: dict[str, str]):
    """The schema's events matching validated filters, oldest first (the order of the chain)."""
    from .api.filtersets import AuditEventFilterSet

    data = QueryDict(mutable=True)
    data.update(params)
    return AuditEventFilterSet(data, queryset=AuditEvent.objects.all()).qs.order_by("id")


# --- Asking for one -----------------------------------------------------------------------------


def export_create(*, actor, format: str, params: dict) -> AuditExport:
    """Queue an export of the events matching ``params`` for ``actor`` (who must hold ``audit:event:export``,
    checked by the caller); the workflow starts once this transaction commits."""
    errors: dict[str, list[str]] = {}
    if format not in AuditExport.Format.values:
        errors["format"] = [f"Choose one of: {', '.join(AuditExport.Format.values)}."]
    try:
        cleaned = check_event_filters(params)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    limit = settings.AUDIT_EXPORT_MAX_IN_PROGRESS
    with transaction.atomic():
        # Serialises one person's requests, so two at once cannot both slip under the limit.
        get_user_model().objects.select_for_update().filter(pk=actor.pk).first()
        in_progress = AuditExport.objects.filter(
            requested_by=actor, status__in=[AuditExport.Status.QUEUED, AuditExport.Status.RUNNING]
        ).count()
        if in_progress >= limit:
            raise ValidationError(
                {"format": [f"You have {in_progress} exports in progress (at most {limit}); wait for one to finish."]}
            )
        now = timezone.now()
        export = AuditExport.objects.create(
            requested_by=actor,
            requested_by_display=getattr(actor, "email", "") or str(actor),
            format=format,
            params=cleaned,
            created_at=now,
            expires_at=now + timedelta(hours=settings.AUDIT_EXPORT_KEEP_HOURS),
        )
        record(
            "audit:event:export",
            actor=actor,
            resource_type="audit:export",
            resource_id=export.pk,
            resource_display=str(export),
            metadata={"format": format, "filters": cleaned},
        )
        schema_name = connection.schema_name
        transaction.on_commit(lambda: _start(schema_name, export.pk))
    return export


def _start(schema_name: str, export_id: int) -> None:
    from nimbus.temporal import TemporalUnavailable, start_tenant_workflow_now

    from .workflows import ExportEventsWorkflow, ExportInput

    try:
        start_tenant_workflow_now(
            ExportEventsWorkflow.run, ExportInput(schema_name, export_id), name=f"audit-export-{export_id}"
        )
    except TemporalUnavailable as exc:
        logger.warning("audit export not started", extra={"schema": schema_name, "export": export_id})
        export_fail(export_id=export_id, reason=f"The export could not be started: {exc}")


def export_fail(*, export_id: int, reason: str) -> None:
    """Mark an export that cannot finish as failed, with the reason people will see (kept short)."""
    AuditExport.objects.filter(pk=export_id, status__in=[AuditExport.Status.QUEUED, AuditExport.Status.RUNNING]).update(
        status=AuditExport.Status.FAILED, error=reason[:500], finished_at=timezone.now()
    )


# --- Writing it (the workflow's activity) -------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, ensure_ascii=False)
    elif isinstance(value, datetime):
        value = value.astimezone(UTC).isoformat()
    else:
        value = str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value


def _document(event: AuditEvent) -> dict:
    document = {name: getattr(event, name) for name in COLUMNS}
    for name in ("occurred_at", "sealed_at"):
        if document[name] is not None:
            document[name] = document[name].astimezone(UTC).isoformat()
    return document


class _Writer:
    """Writes events to a binary file as JSON Lines or CSV (header first), counting bytes and the SHA-256."""

    def __init__(self, out: BinaryIO, format: str):
        self.out, self.format = out, format
        self.digest, self.size = hashlib.sha256(), 0
        if format == AuditExport.Format.CSV:
            self._write_csv(COLUMNS)

    def _emit(self, data: bytes) -> None:
        self.out.write(data)
        self.digest.update(data)
        self.size += len(data)

    def _write_csv(self, cells) -> None:
        line = io.StringIO()
        csv.writer(line, lineterminator="\r\n").writerow(cells)
        self._emit(line.getvalue().encode())

    def write(self, event: AuditEvent) -> None:
        if self.format == AuditExport.Format.CSV:
            self._write_csv([_cell(getattr(event, name)) for name in COLUMNS])
        else:
            line = json.dumps(_document(event), sort_keys=True, ensure_ascii=False, default=str)
            self._emit(line.encode() + b"\n")


def export_write(*, export_id: int, heartbeat=None) -> AuditExport | None:
    """Write one export's file (in the current schema) and mark it done; ``heartbeat(written)`` is called per
    chunk. Returns None for an export that is no longer wanted (gone, failed, expired or already done).

    Events are read by keyset, a chunk per query, up to the newest event when the run began: no transaction or
    cursor stays open for the length of a large export, and each chunk's progress is committed as it is written,
    so the page's progress bar moves."""
    export = AuditExport.objects.filter(pk=export_id).first()
    if export is None or export.status not in (AuditExport.Status.QUEUED, AuditExport.Status.RUNNING):
        return None
    events = matching_events(export.params)
    newest = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    events = events.filter(id__lte=newest)
    total = events.count()
    AuditExport.objects.filter(pk=export.pk).update(
        status=AuditExport.Status.RUNNING, total=total, written=0, started_at=timezone.now(), error=""
    )
    key = f"exports/{connection.schema_name}/{export.pk}.{export.format}"
    with tempfile.NamedTemporaryFile(prefix="nimbus-export-", suffix=f".{export.format}") as out:
        writer = _Writer(out, export.format)
        written, after = 0, 0
        while True:
            chunk = list(events.filter(id__gt=after)[:CHUNK])
            for event in chunk:
                writer.write(event)
            written += len(chunk)
            if len(chunk) < CHUNK:
                break
            after = chunk[-1].id
            AuditExport.objects.filter(pk=export.pk).update(written=written)
            if heartbeat:
                heartbeat(written)
        out.flush()
        get_storage().put_file(key, out.name)
    finished = timezone.now()
    updated = AuditExport.objects.filter(pk=export.pk, status=AuditExport.Status.RUNNING).update(
        status=AuditExport.Status.DONE,
        written=written,
        total=written,
        object_key=key,
        size=writer.size,
        sha256=writer.digest.hexdigest(),
        finished_at=finished,
        # Kept for the set time from when it is ready, not from when it was asked for.
        expires_at=finished + timedelta(hours=settings.AUDIT_EXPORT_KEEP_HOURS),
    )
    if not updated:  # failed or expired meanwhile: the file is not wanted
        get_storage().delete(key)
        return None
    export.refresh_from_db()
    return export


# --- Downloading and expiry ---------------------------------------------------------------------


def export_open(*, actor, export: AuditExport) -> BinaryIO:
    """The finished file of ``actor``'s own export, to stream; records the download. ``ValidationError`` when
    the export is not ready, has expired or its file cannot be read."""
    if export.requested_by_id != actor.pk:
        raise PermissionDenied("Only the person who asked for an export may download it.")
    if export.status != AuditExport.Status.DONE:
        raise ValidationError(f"This export is {export.get_status_display().lower()}, not ready for download.")
    if export.expires_at <= timezone.now():
        raise ValidationError("This export has expired; ask for a new one.")
    try:
        stream = get_storage().open(export.object_key)
    except StorageError as exc:
        raise ValidationError("This export's file cannot be read from storage.") from exc
    record(
        "audit:export:download",
        actor=actor,
        resource_type="audit:export",
        resource_id=export.pk,
        resource_display=str(export),
        metadata={"format": export.format, "events": export.written, "sha256": export.sha256},
    )
    return stream


def purge_expired_exports(*, now: datetime | None = None) -> int:
    """Remove the files of exports past ``expires_at`` and mark them expired; a file that cannot be removed
    now is tried again next time. Returns how many were expired."""
    now = now or timezone.now()
    storage = get_storage()
    expired = 0
    for export in AuditExport.objects.filter(expires_at__lte=now).exclude(status=AuditExport.Status.EXPIRED):
        if export.in_progress:
            export_fail(export_id=export.pk, reason="The export did not finish in time.")
            continue
        if export.object_key:
            try:
                storage.delete(export.object_key)
            except StorageError:
                logger.warning("expired audit export file not removed", extra={"export": export.pk})
                continue
        AuditExport.objects.filter(pk=export.pk).update(status=AuditExport.Status.EXPIRED, object_key="")
        expired += 1
    return expired
