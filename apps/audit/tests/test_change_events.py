"""Access-control changes and tenant lifecycle changes each leave an audit event, in their own transaction."""

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from apps.access import services as access
from apps.accounts.services import user_create
from apps.audit.models import AuditEvent
from apps.tenancy import services as tenancy
from apps.tenancy.context import provider_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(acme):
    with schema_context(acme.schema_name):
        return user_create(email="boss@events.test", password=None, is_tenant_admin=True)


def events(schema: str, action: str):
    with schema_context(schema):
        return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_access_changes_are_recorded_with_their_actor(acme, admin):
    with schema_context(acme.schema_name):
        role = access.role_create(actor=admin, name="desk", label="Desk", permissions=["accounts:user:view"])
        access.role_update(actor=admin, role=role, permissions=["accounts:user:view", "accounts:user:unlock"])
        group = access.group_create(name="desk people", actor=admin)
        access.group_member_add(group=group, user=admin, actor=admin)
        access.role_assign(actor=admin, role=role, group=group)
        access.policy_save(
            actor=admin, name="nights", text="forbid(principal, action, resource) when { context.hour > 22 };"
        )
    [created] = events(acme.schema_name, "access:role:create")
    assert created.actor_display == "boss@events.test" and created.resource_display == "desk"
    [updated] = events(acme.schema_name, "access:role:update")
    assert updated.changes == {"permissions": [["accounts:user:view"], ["accounts:user:unlock", "accounts:user:view"]]}
    [assigned] = events(acme.schema_name, "access:assignment:create")
    assert assigned.metadata == {"role": "desk", "group": "desk people", "scope": "tenant:*"}
    members = events(acme.schema_name, "access:group:update")
    assert members[-1].metadata == {"member_added": "boss@events.test"}
    [policy] = events(acme.schema_name, "access:policy:update")
    assert policy.metadata == {"created": True, "enabled": True} and "context.hour > 22" in policy.changes["text"][1]


def test_a_refused_change_leaves_no_event(acme, admin):
    with schema_context(acme.schema_name):
        outer = access.group_create(name="outer", actor=admin)
        inner = access.group_create(name="inner", actor=admin)
        access.group_nest(parent=outer, child=inner, actor=admin)
        before = AuditEvent.objects.count()
        with pytest.raises(ValidationError, match="cycle"):
            access.group_nest(parent=inner, child=outer, actor=admin)
        assert AuditEvent.objects.count() == before


def test_tenant_lifecycle_goes_to_the_providers_stream(globex):
    with provider_context():
        tenancy.tenant_suspend(tenant=globex)
        tenancy.tenant_resume(tenant=globex)
    changes = [event.changes["status"] for event in events("public", "tenancy:tenant:suspend")]
    assert changes[-2:] == [["active", "suspended"], ["suspended", "active"]]
    with schema_context(globex.schema_name):
        assert not AuditEvent.objects.filter(action__startswith="tenancy:").exists()
    assert events("public", "tenancy:tenant:create")  # the session's tenants were provisioned through the service
