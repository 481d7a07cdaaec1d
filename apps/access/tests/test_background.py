"""Work outside a request (Celery tasks, Temporal activities, websocket consumers) asks the engine about its actor."""

import pytest
from django.core.exceptions import PermissionDenied
from django_tenants.utils import schema_context

from apps.access import services
from apps.access.models import Role
from apps.accounts.services import user_create, user_disable
from apps.core.authorization import acting_as, consumer_may

PASSWORD = "a-long-enough-password-1"


@acting_as("accounts:user:view")
def _list_emails(*, actor, prefix: str):
    return actor.email, prefix


@pytest.fixture
def people(acme):
    with schema_context(acme.schema_name):
        admin = user_create(email="admin@bg.test", password=PASSWORD, is_tenant_admin=True)
        worker = user_create(email="worker@bg.test", password=PASSWORD)
    return admin, worker


def test_a_task_runs_as_its_actor_only_while_the_actor_is_allowed(acme, people):
    admin, worker = people
    with schema_context(acme.schema_name):
        with pytest.raises(PermissionDenied, match="accounts:user:view"):
            _list_emails(actor_id=worker.pk, prefix="x")
        services.role_assign(actor=admin, role=Role.objects.get(name="read_only"), user=worker)
        assert _list_emails(actor_id=worker.pk, prefix="x") == ("worker@bg.test", "x")
        user_disable(actor=admin, user=worker)
        with pytest.raises(PermissionDenied, match="disabled"):
            _list_emails(actor_id=worker.pk, prefix="x")
        with pytest.raises(PermissionDenied, match="no longer exists"):
            _list_emails(actor_id=999_999, prefix="x")


def test_the_actor_is_looked_up_in_the_schema_the_task_runs_in(acme, globex, people):
    admin, _ = people
    with schema_context(globex.schema_name):
        twin = user_create(email="someone@globex.test", password=PASSWORD)
    # acme's tenant admin id means nothing on globex: whoever holds that id there (no one, or a plain user)
    # is the one asked about, and is refused.
    with schema_context(globex.schema_name), pytest.raises(PermissionDenied):
        _list_emails(actor_id=admin.pk, prefix="x")
    with schema_context(globex.schema_name), pytest.raises(PermissionDenied):
        _list_emails(actor_id=twin.pk, prefix="x")


def test_a_consumer_asks_about_the_connections_user(acme, people):
    admin, worker = people
    with schema_context(acme.schema_name):
        assert consumer_may({"user": admin, "client": ("10.0.0.1", 5000)}, "accounts:user:create")
        assert not consumer_may({"user": worker, "client": ("10.0.0.1", 5000)}, "accounts:user:create")
        services.policy_save(
            actor=admin,
            name="no-sockets",
            text='forbid(principal, action, resource) when { context.source == "websocket" };',
        )
        assert not consumer_may({"user": admin, "client": ("10.0.0.1", 5000)}, "accounts:user:create")

    class Anonymous:
        is_authenticated = False

    assert not consumer_may({"user": Anonymous()}, "accounts:user:view")


@acting_as("accounts:user:view")
def _records_something(*, actor, note: str):
    from apps.audit.recorder import record

    return record("test:task:ran", metadata={"note": note})


def test_what_a_task_records_names_the_actor_who_started_it(acme, people):
    admin, _ = people
    with schema_context(acme.schema_name):
        event = _records_something(actor_id=admin.pk, note="nightly")
    assert event.actor_id == admin.pk and event.actor_display == "admin@bg.test"
