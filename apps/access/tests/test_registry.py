"""The permission registry: what the apps declare is collected once, and a bad declaration stops start-up."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from apps.access import registry
from apps.core.permissions import Permission, Tier


def test_the_apps_declarations_are_collected_at_start_up():
    names = [permission.name for permission in registry.all_permissions()]
    assert names == sorted(names)
    assert {"accounts:user:create", "accounts:policy:update", "tenancy:tenant:open"} <= set(names)
    create = registry.get("accounts:user:create")
    assert (create.app, create.resource, create.action, create.tier) == (
        "accounts",
        "user",
        "create",
        Tier.TENANT_ADMIN,
    )
    assert registry.exists("tenancy:tenant:view") and not registry.exists("tenancy:tenant:fly")


@pytest.mark.parametrize(
    ("app_label", "permission", "complaint"),
    [
        ("cmdb", Permission("cmdb:ci", "Two parts", Tier.USER), "not of the form app:resource:action"),
        ("cmdb", Permission("cmdb:CI:update", "Upper case", Tier.USER), "not of the form"),
        ("cmdb", Permission("cmdb:ci:update:now", "Four parts", Tier.USER), "not of the form"),
        ("cmdb", Permission("audit:event:view", "Someone else's", Tier.USER), "must start with the declaring app"),
        ("cmdb", Permission("cmdb:ci:update", "   ", Tier.USER), "has no label"),
        ("cmdb", Permission("cmdb:ci:update", "Tier as text", "user"), "not a Tier"),
        ("cmdb", "cmdb:ci:update", "is not a Permission"),
    ],
)
def test_malformed_declarations_are_refused(app_label, permission, complaint):
    with pytest.raises(ImproperlyConfigured, match=complaint):
        registry.validate([(app_label, permission)])


def test_a_name_declared_twice_is_refused_and_every_problem_is_named():
    twice = Permission("cmdb:ci:update", "Update CIs", Tier.USER)
    with pytest.raises(ImproperlyConfigured) as refused:
        registry.validate([("cmdb", twice), ("cmdb", twice), ("cmdb", Permission("cmdb:ci", "x", Tier.USER))])
    message = str(refused.value)
    assert "'cmdb:ci:update' is declared twice" in message and "'cmdb:ci' is not of the form" in message


def test_tiers_are_ordered_from_read_only_to_provider():
    assert Tier.READ_ONLY < Tier.USER < Tier.TENANT_ADMIN < Tier.PROVIDER
    assert sorted([Tier.PROVIDER, Tier.READ_ONLY, Tier.USER]) == [Tier.READ_ONLY, Tier.USER, Tier.PROVIDER]


def test_list_permissions_prints_a_table_and_json(capsys):
    call_command("list_permissions")
    table = capsys.readouterr().out
    assert "accounts:user:create" in table and "Tenant admin" in table
    assert table.strip().endswith(f"{len(registry.all_permissions())} permission(s).")

    call_command("list_permissions", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert {
        "name": "tenancy:tenant:open",
        "tier": "provider",
        "label": "Open a tenant as a delegated account",
        "description": "",
    } in rows


def test_the_documented_role_table_is_the_generated_one():
    from pathlib import Path

    from django.conf import settings

    from apps.access.management.commands.list_permissions import roles_table

    docs = (Path(settings.BASE_DIR) / "docs" / "access.md").read_text()
    assert roles_table(registry.all_permissions()) in docs, "run 'manage.py list_permissions --roles' into docs"
