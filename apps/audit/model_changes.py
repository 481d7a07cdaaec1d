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
    ("accounts.AccountPolicy", []),
    ("tenancy.Tenant", ["updated_at", "created_at", "status_changed_at"]),
    ("tenancy.Domain", []),
]


def connect() -> None:
    from django.apps import apps

    for label, exclude in LOWER_MODELS:
        track(apps.get_model(label), exclude=exclude)
    post_log.connect(_feed, dispatch_uid="audit.model_changes")
