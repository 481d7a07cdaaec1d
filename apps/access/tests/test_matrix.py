"""Every system role against every registered permission, generated from the registry and the role rules.

For each system role a fresh user is given the role over the tenant; then every permission is decided by
the engine and compared with the role's rule (``SystemRole.grants``) and with the table docs/access.md
carries (the output of ``list_permissions --roles``). Nothing here is typed by hand, so a permission an
app adds later is checked as soon as it is registered.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django_tenants.utils import schema_context

from apps.access import engine, registry, services
from apps.access.models import Role, RoleAssignment
from apps.access.selectors import bump_access_version, principal_tier, tier_of
from apps.access.system_roles import SYSTEM_ROLES
from apps.accounts.services import user_create
from apps.core.permissions import Tier

pytestmark = pytest.mark.django_db

DOCS = Path(__file__).resolve().parents[3] / "docs" / "access.md"
ROLES = {definition.name: definition for definition in SYSTEM_ROLES}


def documented_matrix() -> tuple[list[str], dict[str, dict[str, bool]]]:
    """(role columns, permission → role → granted) from the Markdown table of docs/access.md."""
    lines = DOCS.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| permission | tier |"))

    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in line.strip().strip("|").split("|")]

    columns = cells(lines[start])[2:]
    matrix: dict[str, dict[str, bool]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        row = cells(line)
        matrix[row[0].strip("`")] = {name: mark == "✓" for name, mark in zip(columns, row[2:], strict=True)}
    return columns, matrix


@pytest.fixture(scope="module")
def documented():
    return documented_matrix()


def test_the_documented_table_covers_every_role_and_every_registered_permission(documented):
    columns, matrix = documented
    assert columns == [definition.name for definition in SYSTEM_ROLES]
    assert list(matrix) == [permission.name for permission in registry.all_permissions()]


def _assign_over_the_tenant(actor, role: Role, user) -> RoleAssignment:
    """Through the service when the actor's tier allows it; a provider-tier role in a tenant is refused there."""
    if tier_of(role) <= principal_tier(actor):
        return services.role_assign(actor=actor, role=role, user=user)
    with pytest.raises(PermissionDenied, match="above your tier"):
        services.role_assign(actor=actor, role=role, user=user)
    # Nobody in a tenant can hand these out; the row is written directly to check what it would mean.
    assignment = RoleAssignment.objects.create(role=role, user=user)
    bump_access_version()
    return assignment


@pytest.mark.parametrize("where", ["acme", "provider"])
@pytest.mark.parametrize("role_name", list(ROLES))
def test_a_system_role_allows_exactly_what_its_rule_and_the_documented_table_say(request, where, role_name, documented):
    _columns, matrix = documented
    tenant = request.getfixturevalue(where)
    definition = ROLES[role_name]
    with schema_context(tenant.schema_name):
        actor = user_create(
            email="actor@matrix.test",
            password=None,
            is_tenant_admin=where != "provider",
            is_staff=where == "provider",
            is_superuser=where == "provider",  # who hands out a provider role must hold it all
        )
        holder = user_create(email=f"{role_name}@matrix.test", password=None)
        role = Role.objects.get(name=role_name)
        assignment = _assign_over_the_tenant(actor, role, holder)
        context = {"source": "web"}
        mismatches = []
        for permission in registry.all_permissions():
            decision = engine.authorize(holder, permission.name, None, context)
            expected = definition.grants(permission)
            if not decision.allowed == expected == matrix[permission.name][role_name]:
                mismatches.append((permission.name, decision.allowed, expected, matrix[permission.name][role_name]))
            elif decision.allowed:
                assert decision.reasons == (f"assignment/{assignment.pk}",), permission.name
            else:
                assert decision.reasons == () and decision.errors == (), permission.name
        assert set(role.permissions) == {p.name for p in registry.all_permissions() if definition.grants(p)}
    assert mismatches == [], "(permission, decided, rule, documented)"


@pytest.mark.parametrize("where", ["acme", "provider"])
def test_account_flags_tenant_admins_get_their_tier_superusers_everything_plain_users_nothing(
    request, where, documented
):
    _columns, matrix = documented
    tenant = request.getfixturevalue(where)
    with schema_context(tenant.schema_name):
        tenant_admin = user_create(email="flagged@matrix.test", password=None, is_tenant_admin=True)
        superuser = user_create(email="super@matrix.test", password=None, is_superuser=True)
        plain = user_create(email="plain@matrix.test", password=None)
        for permission in registry.all_permissions():
            by_flag = engine.authorize(tenant_admin, permission.name)
            within_tier = permission.tier <= Tier.TENANT_ADMIN
            assert by_flag.allowed == within_tier == matrix[permission.name]["tenant_admin"], permission.name
            assert by_flag.reasons == (("builtin/tenant-admin",) if within_tier else ()), permission.name

            everything = engine.authorize(superuser, permission.name)
            assert everything.allowed and everything.reasons == ("builtin/superuser",), permission.name

            nothing = engine.authorize(plain, permission.name)
            assert not nothing and nothing.reasons == () and nothing.errors == (), permission.name
