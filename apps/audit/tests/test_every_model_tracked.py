"""Every model of every Nimbus app is either watched by django-auditlog or exempted with a reason.

Adding a model without deciding fails here: register it in ``apps/audit/model_changes.py`` (``LOWER_MODELS``
for apps below audit, ``OWN_MODELS`` for audit's, ``track()`` in the app's ``ready()`` above it), or name it in
``NOT_TRACKED`` and say why.
"""

import pytest
from auditlog.registry import auditlog
from django.apps import apps
from django_tenants.utils import schema_context

from apps.access.models import Group
from apps.accounts.services import api_token_create, user_create
from apps.audit.model_changes import LOWER_MODELS, NOT_TRACKED, OWN_MODELS
from apps.audit.models import AuditEvent


def nimbus_models():
    """Every concrete model of every ``apps.*`` app (abstract and proxy models have no table of their own)."""
    return [
        model
        for config in apps.get_app_configs()
        if config.name.startswith("apps.")
        for model in config.get_models()
        if not model._meta.abstract and not model._meta.proxy
    ]


def test_every_model_is_tracked_or_exempted_with_a_reason():
    undecided = [
        model._meta.label
        for model in nimbus_models()
        if not auditlog.contains(model) and model._meta.label not in NOT_TRACKED
    ]
    assert not undecided, (
        f"Decide for {undecided}: track it (apps/audit/model_changes.py) or add it to NOT_TRACKED with a reason."
    )


def test_no_model_is_both_tracked_and_exempted_and_no_exemption_is_stale():
    labels = {model._meta.label for model in nimbus_models()}
    assert not set(NOT_TRACKED) - labels, "NOT_TRACKED names a model that no longer exists"
    both = [label for label in NOT_TRACKED if auditlog.contains(apps.get_model(label))]
    assert not both, f"{both} are tracked and exempted at once"
    for label, reason in NOT_TRACKED.items():
        assert len(reason) > 30, f"Say why {label} is not tracked"


def test_secret_fields_are_never_diffed():
    excluded = dict(LOWER_MODELS + OWN_MODELS)
    assert {"password"} <= set(excluded["accounts.User"])
    assert {"digest"} <= set(excluded["accounts.ApiToken"])
    for label, fields in excluded.items():
        registered = auditlog.get_model_fields(apps.get_model(label))["exclude_fields"]
        assert set(fields) <= set(registered), label


@pytest.mark.django_db
def test_a_write_that_bypasses_the_services_is_recorded_without_its_secrets(acme):
    with schema_context(acme.schema_name):
        user = user_create(email="model-watch@acme.test", password="correct-horse-battery-staple")
        token, plaintext = api_token_create(user=user, name="ci")
        # The shell or the admin, not a service: the model-change stream still sees it.
        token.name = "renamed in a shell"
        token.save()
        group = Group.objects.create(name="made in a shell")
        [event] = AuditEvent.objects.filter(action="model:accounts.apitoken:update", resource_id=str(token.pk))
        [made] = AuditEvent.objects.filter(action="model:access.group:create", resource_id=str(group.pk))
    assert event.changes == {"name": ["ci", "renamed in a shell"]}
    assert made.changes["name"] == ["None", "made in a shell"] and made.actor_id is None
    with schema_context(acme.schema_name):
        [created] = AuditEvent.objects.filter(action="model:accounts.apitoken:create", resource_id=str(token.pk))
    assert "digest" not in created.changes and plaintext.rsplit("_", 1)[1] not in str(created.changes)
