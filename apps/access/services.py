"""Writes to roles, groups and role assignments of the current schema; every rule of them is checked here."""

from __future__ import annotations

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.text import slugify

from . import registry
from .models import Group, GroupNesting, Role, RoleAssignment
from .selectors import GROUP_GRAPH_VERSION_KEY, ancestors_of, depth_above, depth_below, principal_tier, tier_of
from .system_roles import SYSTEM_ROLES, highest_tier

# Levels of groups, the outermost included: a group in a group in a group is three.
MAX_GROUP_DEPTH = 10


def system_roles_sync() -> int:
    """Create or refresh the eight system roles in the current schema from the registry; return how many changed."""
    permissions = registry.all_permissions()
    changed = 0
    with transaction.atomic():
        for definition in SYSTEM_ROLES:
            granted = [p for p in permissions if definition.grants(p)]
            values = {
                "label": definition.label,
                "description": definition.description,
                "is_system": True,
                "tier": highest_tier(granted).key,
                "permissions": [p.name for p in granted],
            }
            role, created = Role.objects.get_or_create(name=definition.name, defaults=values)
            if created:
                changed += 1
            elif any(getattr(role, field) != value for field, value in values.items()):
                for field, value in values.items():
                    setattr(role, field, value)
                role.save()
                changed += 1
        if changed:
            transaction.on_commit(_graph_changed)
    return changed


def seed_system_roles(*, tenant, options: dict) -> None:
    """Provisioning seeder: a new tenant starts with the system roles (a clone of the template has them already)."""
    system_roles_sync()


def role_create(*, actor, name: str, label: str, permissions: list[str], description: str = "") -> Role:
    """A custom role. Refused: unknown permission names, and any permission above the actor's own tier."""
    label = (label or "").strip()
    slug = slugify(name or label)[:64]
    errors: dict[str, list[str]] = {}
    if not slug:
        errors.setdefault("name", []).append("Give the role a name made of letters, digits or dashes.")
    elif Role.objects.filter(name=slug).exists():
        errors.setdefault("name", []).append(f"A role named '{slug}' already exists.")
    if not label or len(label) > 150:
        errors.setdefault("label", []).append("Give the role a label of 1 to 150 characters.")
    unknown = sorted({p for p in permissions if not registry.exists(p)})
    if unknown:
        errors.setdefault("permissions", []).append(f"Unknown permissions: {', '.join(unknown)}.")
    if errors:
        raise ValidationError(errors)
    declared = [registry.get(p) for p in sorted(set(permissions))]
    ceiling = principal_tier(actor)
    above = [p.name for p in declared if not p.tier <= ceiling]
    if above:
        raise PermissionDenied(
            f"A role you create cannot grant more than your own tier ({ceiling.label}): {', '.join(above)}."
        )
    return Role.objects.create(
        name=slug,
        label=label,
        description=description.strip(),
        tier=highest_tier(declared).key,
        permissions=[p.name for p in declared],
    )


def role_delete(*, role: Role) -> None:
    if role.is_system:
        raise ValidationError("System roles cannot be deleted.")
    if role.assignments.exists():
        raise ValidationError(f"The role '{role.name}' is still assigned; remove its assignments first.")
    role.delete()


def _graph_changed() -> None:
    # Everyone's transitive memberships are computed from the graph: a new version retires every cached answer.
    try:
        cache.incr(GROUP_GRAPH_VERSION_KEY)
    except ValueError:
        cache.set(GROUP_GRAPH_VERSION_KEY, 1, timeout=None)


def group_create(*, name: str, description: str = "") -> Group:
    name = (name or "").strip()
    if not name or len(name) > 150:
        raise ValidationError({"name": "Give the group a name of 1 to 150 characters."})
    if Group.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": f"A group named '{name}' already exists."})
    return Group.objects.create(name=name, description=description.strip())


def group_member_add(*, group: Group, user) -> None:
    group.members.add(user)
    transaction.on_commit(_graph_changed)
    _graph_changed()


def group_member_remove(*, group: Group, user) -> None:
    group.members.remove(user)
    transaction.on_commit(_graph_changed)
    _graph_changed()


def group_nest(*, parent: Group, child: Group) -> GroupNesting:
    """Make ``child`` a member of ``parent``; refused if it would make a cycle or nest deeper than 10."""
    with transaction.atomic():
        # One writer at a time changes the graph, so two nestings cannot together make a cycle.
        list(Group.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
        if child.pk == parent.pk or child.pk in ancestors_of(parent.pk):
            raise ValidationError(f"'{child.name}' already contains '{parent.name}': nesting it would make a cycle.")
        if depth_above(parent.pk) + depth_below(child.pk) + 2 > MAX_GROUP_DEPTH:
            raise ValidationError(f"Groups nest at most {MAX_GROUP_DEPTH} levels deep.")
        nesting, _ = GroupNesting.objects.get_or_create(parent=parent, child=child)
        transaction.on_commit(_graph_changed)
    _graph_changed()
    return nesting


def group_unnest(*, parent: Group, child: Group) -> None:
    GroupNesting.objects.filter(parent=parent, child=child).delete()
    transaction.on_commit(_graph_changed)
    _graph_changed()


# --- Role assignments -----------------------------------------------------------------------

# The scope types an assignment may name; CMDB compartments will add theirs. "tenant" has no id: all of it.
SCOPE_TYPES = {RoleAssignment.SCOPE_TENANT}


def role_assign(*, actor, role: Role, user=None, group: Group | None = None, scope_type: str = "tenant", scope_id=""):
    """Give ``role`` to a user or a group over a scope; refused above the actor's own tier, or twice."""
    if (user is None) == (group is None):
        raise ValidationError("Assign a role to exactly one user or one group.")
    scope_id = str(scope_id or "")
    if scope_type not in SCOPE_TYPES:
        raise ValidationError({"scope_type": f"Unknown scope type '{scope_type}'."})
    if scope_type == RoleAssignment.SCOPE_TENANT and scope_id:
        raise ValidationError({"scope_id": "The whole-tenant scope takes no id."})
    ceiling = principal_tier(actor)
    if not tier_of(role) <= ceiling:
        raise PermissionDenied(
            f"You cannot hand out the role '{role.name}': it grants above your tier ({ceiling.label})."
        )
    principal = {"user": user} if user is not None else {"group": group}
    if RoleAssignment.objects.filter(role=role, scope_type=scope_type, scope_id=scope_id, **principal).exists():
        raise ValidationError("That role is already assigned there.")
    assignment = RoleAssignment.objects.create(role=role, scope_type=scope_type, scope_id=scope_id, **principal)
    transaction.on_commit(_graph_changed)
    _graph_changed()
    return assignment


def role_unassign(*, actor, assignment: RoleAssignment) -> None:
    ceiling = principal_tier(actor)
    if not tier_of(assignment.role) <= ceiling:
        raise PermissionDenied(f"You cannot take away the role '{assignment.role.name}': it is above your tier.")
    assignment.delete()
    transaction.on_commit(_graph_changed)
    _graph_changed()
