"""Model-change history: django-auditlog watches the registered models, and each change it logs is also
recorded in the schema's audit stream (``model:<app>.<model>:<create|update|delete>``), in the same
transaction, with the changed fields as before/after (redacted like everything else).

Apps above audit register their domain models in their own ``ready()`` with ``track(Model, exclude=[...])``;
the models of the apps below it (which may not import this module) are registered here, in ``LOWER_MODELS``.
Services still record the meaningful action (``accounts:user:disable``); this stream catches every write,
including those that bypass a service (the admin, a shell).
"""

from __future__ import annotations

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from auditlog.signals import post_log

from .recorder import record

ACTIONS = {LogEntry.Action.CREATE: "create", LogEntry.Action.UPDATE: "update", LogEntry.Action.DELETE: "delete"}


def track(model, *, exclude: list[str] | tuple[str, ...] = ()) -> None:
    """Watch ``model``'s writes. ``exclude``: fields never worth recording (timestamps, secrets)."""
    auditlog.register(model, exclude_fields=list(exclude))


def _feed(sender, instance, action, changes, log_entry, error=None, **kwargs) -> None:
    verb = ACTIONS.get(action)
    if verb is None or error is not None or log_entry is None:
        return
    record(
        f"model:{sender._meta.label_lower}:{verb}",
        resource_type=sender._meta.label_lower,
        resource_id=instance.pk if instance.pk is not None else log_entry.object_pk,
        resource_display=str(instance)[:300],
        changes={field: list(values) for field, values in (changes or {}).items()},
    )


# Lower apps' models: (label, fields not worth recording). Secrets are never diffed at all.
LOWER_MODELS = [
    ("accounts.User", ["password", "last_login", "password_changed_at", "tokens_valid_after"]),
    ("accounts.AccountPolicy", ["updated_at"]),
    # The digest is what a token is checked against; the prefix alone names it. last_used_at is a clock.
    ("accounts.ApiToken", ["digest", "last_used_at", "created_at"]),
    ("tenancy.Tenant", ["updated_at", "created_at", "status_changed_at"]),
    ("tenancy.Domain", []),
    # Who may do what: the services record the meaningful action, this catches the admin and a shell.
    ("access.Role", ["created_at", "updated_at"]),
    ("access.Group", ["created_at", "auth_group"]),
    ("access.GroupNesting", []),
    ("access.RoleAssignment", ["created_at"]),
    ("access.Policy", ["compiled", "created_at", "updated_at"]),
]

# Audit's own models that are data someone decided (not the trail itself).
OWN_MODELS = [
    ("audit.RedactionRule", ["created_at"]),
    ("audit.SavedQuery", ["created_at"]),
]

# Every other concrete model of an ``apps.*`` app, and why its writes are not model-change events.
# ``tests/test_every_model_tracked.py`` fails when a model is in neither list: adding one means deciding.
NOT_TRACKED = {
    "audit.AuditEvent": "the trail itself: recording its rows would record the recording, without end",
    "audit.AuditCheckpoint": "written by the sealer from the chain; verify_chain checks every one of them",
    "audit.AuditArchive": "written by the archiver from sealed events; verify_archive checks it against its files",
    "audit.RetentionPolicy": (
        "created by the first read (RetentionPolicy.current) and changed only by archives.retention_update, "
        "which records audit:retention:update with before and after; there is no admin for it"
    ),
    "audit.AuditExport": (
        "asked for through exports.export_create, which records audit:event:export with the filters; downloads "
        "record audit:export:download; the rest is the workflow's progress bookkeeping"
    ),
    "accounts.UserSession": (
        "holds the session key, a secret; sign-in, sign-out, timeout and accounts:session:revoke record "
        "every session that starts or ends"
    ),
    "accounts.PasswordHistory": (
        "holds password hashes only; the change itself is accounts:user:password_change, "
        "accounts:user:password_reset_complete or accounts:invitation:accept"
    ),
    "tenancy.TenantHeartbeat": "a liveness clock the heartbeat schedule rewrites on every beat; it decides nothing",
    "tenancy.SpareSchema": "the pool of pre-made empty schemas: bookkeeping of no tenant, no person's data",
    "tenancy.DelegatedAccess": (
        "read-only in the admin; every write is delegation_redeem, which records accounts:delegation:open "
        "with both identities"
    ),
}


def connect() -> None:
    from django.apps import apps

    for label, exclude in (*LOWER_MODELS, *OWN_MODELS):
        track(apps.get_model(label), exclude=exclude)
    post_log.connect(_feed, dispatch_uid="audit.model_changes")
