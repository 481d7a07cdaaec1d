"""Writes to roles, groups and role assignments of the current schema; every rule of them is checked here."""

from __future__ import annotations

import re

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.text import slugify

from . import registry
from .models import Group, GroupNesting, Policy, Role, RoleAssignment
from .selectors import ancestors_of, bump_access_version, depth_above, depth_below, principal_tier, tier_of
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
            _changed()
    return changed


def seed_system_roles(*, tenant, options: dict) -> None:
    """Provisioning seeder: a new tenant starts with the system roles (a clone of the template has them already)."""
    system_roles_sync()
    # A schema name can come back (a tenant deleted, then one made with the same slug): whatever a long-lived
    # process prepared for the old one must not serve the new one.
    _changed()


def _checked_permissions(actor, label: str, permissions, errors: dict[str, list[str]]):
    if not label or len(label) > 150:
        errors.setdefault("label", []).append("Give the role a label of 1 to 150 characters.")
    if isinstance(permissions, str) or not all(isinstance(p, str) for p in permissions):
        errors.setdefault("permissions", []).append("Give the permissions as a list of names.")
        permissions = []
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
            f"A role you write cannot grant more than your own tier ({ceiling.label}): {', '.join(above)}."
        )
    _require_holds(actor, [p.name for p in declared], "write that role")
    return declared


def role_create(*, actor, name: str, label: str, permissions: list[str], description: str = "") -> Role:
    """A custom role. Refused: unknown permission names, and any permission above the actor's own tier."""
    label = (label or "").strip()
    slug = slugify(name or label)[:64]
    errors: dict[str, list[str]] = {}
    if not slug:
        errors.setdefault("name", []).append("Give the role a name made of letters, digits or dashes.")
    elif Role.objects.filter(name=slug).exists():
        errors.setdefault("name", []).append(f"A role named '{slug}' already exists.")
    declared = _checked_permissions(actor, label, permissions, errors)
    with transaction.atomic():
        role = Role.objects.create(
            name=slug,
            label=label,
            description=(description or "").strip(),
            tier=highest_tier(declared).key,
            permissions=[p.name for p in declared],
        )
        _audit(
            "access:role:create",
            actor,
            role,
            kind="access:role",
            display=role.name,
            metadata={"permissions": role.permissions},
        )
    return role


def role_update(*, actor, role: Role, label: str | None = None, permissions=None, description: str | None = None):
    """Change a custom role's label, description or permissions (same rules as creating it); system roles refuse."""
    if role.is_system:
        raise ValidationError("System roles cannot be changed: they follow the registry.")
    with transaction.atomic():
        role = Role.objects.select_for_update().get(pk=role.pk)
        label = role.label if label is None else label.strip()
        permissions = role.permissions if permissions is None else permissions
        declared = _checked_permissions(actor, label, permissions, {})
        # Raising a role above the actor's tier is escalation even when the role already exists.
        if not tier_of(role) <= principal_tier(actor):
            raise PermissionDenied(f"The role '{role.name}' grants above your tier; you cannot change it.")
        role.label = label
        if description is not None:
            role.description = description.strip()
        before = {"label": role.label, "permissions": role.permissions}
        role.permissions = [p.name for p in declared]
        role.tier = highest_tier(declared).key
        role.save()
        after = {"label": role.label, "permissions": role.permissions}
        changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
        _audit("access:role:update", actor, role, kind="access:role", display=role.name, changes=changes)
        _changed()
    return role


def role_delete(*, role: Role, actor=None) -> None:
    if role.is_system:
        raise ValidationError("System roles cannot be deleted.")
    if actor is not None and not tier_of(role) <= principal_tier(actor):
        raise PermissionDenied(f"The role '{role.name}' grants above your tier; you cannot delete it.")
    with transaction.atomic():
        locked = Role.objects.select_for_update().filter(pk=role.pk).first()
        if locked is None:
            return
        if locked.assignments.exists():
            raise ValidationError(f"The role '{role.name}' is still assigned; remove its assignments first.")
        _audit("access:role:delete", actor, locked, kind="access:role", display=locked.name)
        locked.delete()


def _graph_changed() -> None:
    bump_access_version()


def _audit(action: str, actor, obj=None, *, kind: str = "", display: str = "", **details) -> None:
    """One audit event for an access-control change, in the change's transaction (apps.audit.recorder)."""
    from apps.audit.recorder import record

    record(
        action,
        actor=actor,
        resource_type=kind,
        resource_id=getattr(obj, "pk", "") or "",
        resource_display=display or (str(obj) if obj is not None else ""),
        **details,
    )


def _changed() -> None:
    """Retire cached answers now (this transaction's own reads) and again at commit (everyone else's)."""
    transaction.on_commit(bump_access_version)
    bump_access_version()


# --- No escalation: nobody hands out what they do not hold ------------------------------------------
# Beyond the tier ceiling: a role, an assignment, a group membership, a grant or a tenant permit can only pass on
# permissions its author holds, over the whole tenant, right now (the engine decides, the author's own roles,
# groups, grants, flags and the tenant's policies included). Tenant administrators hold everything up to their
# tier, so for them this changes nothing; it stops anyone holding a slice of administration from widening it.
# ``actor=None`` is the system itself (migrations, seeders): no check.


def _not_held(actor, permissions) -> list[str]:
    from . import engine

    context = {"source": "task"}
    return sorted(p for p in set(permissions) if not engine.authorize(actor, p, None, context).allowed)


def _require_holds(actor, permissions, what: str) -> None:
    if actor is None:
        return
    if actor.is_superuser or getattr(actor, "is_tenant_admin", False):
        # The top of the tenant (the tier ceiling still applies): they could lift any forbid that stands in
        # their way right now, so one does not stop them handing out what their tier covers.
        return
    missing = _not_held(actor, permissions)
    if missing:
        raise PermissionDenied(
            f"You cannot {what}: it would pass on permissions you do not hold yourself ({', '.join(missing)})."
        )


def _conferred_by_group(group: Group) -> set[str]:
    """Every permission being in ``group`` brings: roles given to it or to a group containing it, tenant permit
    statements naming one of those groups, and object grants to them (counted as the permission itself)."""
    from . import engine, registry
    from .cedar_source import entity_references
    from .selectors import ancestors_of

    reached = {group.pk} | ancestors_of(group.pk)
    names = set(Group.objects.filter(pk__in=reached).values_list("name", flat=True))
    conferred: set[str] = set()
    for assignment in RoleAssignment.objects.filter(group_id__in=reached).select_related("role"):
        conferred.update(assignment.role.permissions)
    every = [p.name for p in registry.all_permissions()]
    for policy in Policy.objects.filter(enabled=True):
        for statement in policy.compiled.values():
            if statement.get("effect") != "permit":
                continue
            if any(ref["type"] == engine.GROUP_TYPE and ref["id"] in names for ref in entity_references(statement)):
                actions = engine._tenant_policy_actions(statement)
                conferred.update(every if actions is None else actions)
    auth_groups = list(
        Group.objects.filter(pk__in=reached).exclude(auth_group=None).values_list("auth_group_id", flat=True)
    )
    if auth_groups:
        from guardian.models import GroupObjectPermission

        conferred.update(
            GroupObjectPermission.objects.filter(group_id__in=auth_groups).values_list(
                "permission__codename", flat=True
            )
        )
    return {name for name in conferred if registry.exists(name)}


_GROUP_NAME = re.compile(r"^[^\x00-\x1f\x7f\"\\]{1,150}$")


def _checked_group_name(name: str, *, exclude: int | None = None) -> str:
    name = (name or "").strip()
    if not _GROUP_NAME.match(name):
        raise ValidationError(
            {"name": "Give the group a name of 1 to 150 characters, without quotes, backslashes or control characters."}
        )
    if Group.objects.filter(name__iexact=name).exclude(pk=exclude).exists():
        raise ValidationError({"name": f"A group named '{name}' already exists."})
    return name


def _policies_naming_group(name: str) -> list[str]:
    from .cedar_source import entity_references
    from .engine import GROUP_TYPE

    return sorted(
        policy.name
        for policy in Policy.objects.all()
        if any(
            ref["type"] == GROUP_TYPE and ref["id"] == name
            for statement in policy.compiled.values()
            for ref in entity_references(statement)
        )
    )


def group_create(*, name: str, description: str = "", actor=None) -> Group:
    name = _checked_group_name(name)
    with transaction.atomic():
        group = Group.objects.create(name=name, description=(description or "").strip())
        _audit("access:group:create", actor, group, kind="access:group")
    return group


def group_update(*, group: Group, name: str | None = None, description: str | None = None, actor=None) -> Group:
    """Rename or describe a group. A rename is refused while a tenant policy names the group (Cedar names it)."""
    with transaction.atomic():
        group = Group.objects.select_for_update().get(pk=group.pk)
        if name is not None and name.strip() != group.name:
            new_name = _checked_group_name(name, exclude=group.pk)
            naming = _policies_naming_group(group.name)
            if naming:
                raise ValidationError(
                    {"name": f"Policies name this group ({', '.join(naming)}): change them before renaming it."}
                )
            _audit("access:group:update", actor, group, kind="access:group", changes={"name": [group.name, new_name]})
            group.name = new_name
        if description is not None:
            group.description = description.strip()
        group.save()
        _changed()
    return group


def group_delete(*, group: Group, actor=None) -> None:
    """Delete a group (its nestings and assignments go with it); refused while a tenant policy names it."""
    held = RoleAssignment.objects.filter(group=group).select_related("role")
    over = RoleAssignment.objects.filter(scope_type="access:group", scope_id=str(group.pk)).select_related("role")
    # Deleting takes roles away from people: the same ceiling as taking them away one by one.
    for assignment in [*held, *over]:
        if actor is not None and not tier_of(assignment.role) <= principal_tier(actor):
            raise PermissionDenied(
                f"Deleting '{group.name}' would take away the role '{assignment.role.name}', above your tier."
            )
    naming = _policies_naming_group(group.name)
    if naming:
        raise ValidationError(f"Policies name the group '{group.name}' ({', '.join(naming)}): change them first.")
    from django.contrib.auth.models import Group as AuthGroup

    with transaction.atomic():
        # Read from the row: the caller's instance predates any grant that gave the group its auth group.
        auth_group_id = Group.objects.filter(pk=group.pk).values_list("auth_group_id", flat=True).first()
        # Roles given over this group's members go with it, not left pointing at nothing.
        RoleAssignment.objects.filter(scope_type="access:group", scope_id=str(group.pk)).delete()
        _audit("access:group:delete", actor, group, kind="access:group")
        group.delete()
        if auth_group_id is not None:
            AuthGroup.objects.filter(pk=auth_group_id).delete()  # its object grants go with it
        _changed()


def require_may_hand_out(actor, *, role: Role | None = None, group: Group | None = None) -> None:
    """Refuse (PermissionDenied) if ``actor`` could not give ``role`` or membership of ``group`` to someone.

    For rules that hand things out later on their author's word (identity's claim mappings): the author
    must be able to do it by hand now. ``actor=None`` is the system itself: no check.
    """
    if actor is None:
        return
    if role is not None:
        ceiling = principal_tier(actor)
        if not tier_of(role) <= ceiling:
            raise PermissionDenied(
                f"You cannot hand out the role '{role.name}': it grants above your tier ({ceiling.label})."
            )
        _require_holds(actor, role.permissions, f"hand out the role '{role.name}'")
    if group is not None:
        _require_holds(actor, _conferred_by_group(group), f"add people to '{group.name}'")


def group_member_add(*, group: Group, user, actor=None) -> None:
    _here(user)
    _require_holds(actor, _conferred_by_group(group), f"add people to '{group.name}'")
    with transaction.atomic():
        group.members.add(user)
        _audit("access:group:update", actor, group, kind="access:group", metadata={"member_added": user.email})
        _changed()


def group_member_remove(*, group: Group, user, actor=None) -> None:
    _require_holds(actor, _conferred_by_group(group), f"take people out of '{group.name}'")
    with transaction.atomic():
        group.members.remove(user)
        _audit("access:group:update", actor, group, kind="access:group", metadata={"member_removed": user.email})
        _changed()


def group_nest(*, parent: Group, child: Group, actor=None) -> GroupNesting:
    """Make ``child`` a member of ``parent``; refused if it would make a cycle or nest deeper than 10."""
    _require_holds(actor, _conferred_by_group(parent), f"put groups inside '{parent.name}'")
    with transaction.atomic():
        # One writer at a time changes the graph, so two nestings cannot together make a cycle.
        list(Group.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
        if child.pk == parent.pk or child.pk in ancestors_of(parent.pk):
            raise ValidationError(f"'{child.name}' already contains '{parent.name}': nesting it would make a cycle.")
        if depth_above(parent.pk) + depth_below(child.pk) + 2 > MAX_GROUP_DEPTH:
            raise ValidationError(f"Groups nest at most {MAX_GROUP_DEPTH} levels deep.")
        nesting, _ = GroupNesting.objects.get_or_create(parent=parent, child=child)
        _audit("access:group:update", actor, parent, kind="access:group", metadata={"group_nested": child.name})
        _changed()
    return nesting


def group_unnest(*, parent: Group, child: Group, actor=None) -> None:
    _require_holds(actor, _conferred_by_group(parent), f"take groups out of '{parent.name}'")
    with transaction.atomic():
        GroupNesting.objects.filter(parent=parent, child=child).delete()
        _audit("access:group:update", actor, parent, kind="access:group", metadata={"group_unnested": child.name})
        _changed()


# --- Role assignments -----------------------------------------------------------------------


def _check_scope(scope_type: str, scope_id: str) -> str:
    """The tenant (no id), or a node of a registered scope type that exists in this schema; its id as stored.

    The id is the row's own primary key written out (``"05"`` names row 5 in SQL but would never match it in a
    decision, so it is stored as ``"5"``).
    """
    if scope_type == RoleAssignment.SCOPE_TENANT:
        if scope_id:
            raise ValidationError({"scope_id": "The whole-tenant scope takes no id."})
        return ""
    declared = registry.scope_type(scope_type)
    if declared is None:
        known = ", ".join(["tenant", *(t.name for t in registry.scope_types())])
        raise ValidationError({"scope_type": f"Unknown scope type '{scope_type}' (known: {known})."})
    if not scope_id or len(scope_id) > 64:
        raise ValidationError({"scope_id": f"Name the {declared.label.lower()} the role applies to."})
    model = apps.get_model(declared.model)
    try:
        found = model.objects.filter(pk=scope_id).values_list("pk", flat=True).first()
    except (ValueError, TypeError, DjangoValidationError):
        found = None
    if found is None:
        raise ValidationError({"scope_id": f"There is no {declared.label.lower()} '{scope_id}'."})
    return str(found)


def _here(user) -> None:
    """Refuse a user object that is not a row of the current schema (another tenant's user, say)."""
    from django.contrib.auth import get_user_model

    # Id, email and the instant it was created: a twin in another schema would have to match all three.
    same = {"pk": user.pk, "email": user.email, "date_joined": user.date_joined}
    if not get_user_model().objects.filter(**same).exists():
        raise ValidationError({"user": "That user is not a member of this tenant."})


def role_assign(*, actor, role: Role, user=None, group: Group | None = None, scope_type: str = "tenant", scope_id=""):
    """Give ``role`` to a user or a group over a scope; refused above the actor's own tier, or twice."""
    if (user is None) == (group is None):
        raise ValidationError("Assign a role to exactly one user or one group.")
    scope_id = str(scope_id or "")
    scope_id = _check_scope(scope_type, scope_id)
    if user is not None:
        _here(user)
    require_may_hand_out(actor, role=role)
    principal = {"user": user} if user is not None else {"group": group}
    if RoleAssignment.objects.filter(role=role, scope_type=scope_type, scope_id=scope_id, **principal).exists():
        raise ValidationError("That role is already assigned there.")
    with transaction.atomic():
        assignment = RoleAssignment.objects.create(role=role, scope_type=scope_type, scope_id=scope_id, **principal)
        _audit(
            "access:assignment:create",
            actor,
            assignment,
            kind="access:assignment",
            metadata=_assignment_facts(assignment),
        )
        _changed()
    return assignment


def _assignment_facts(assignment: RoleAssignment) -> dict:
    holder = {"user": assignment.user.email} if assignment.user_id else {"group": assignment.group.name}
    return {"role": assignment.role.name, **holder, "scope": f"{assignment.scope_type}:{assignment.scope_id or '*'}"}


def role_unassign(*, actor, assignment: RoleAssignment) -> None:
    if actor is not None and not tier_of(assignment.role) <= principal_tier(actor):
        raise PermissionDenied(f"You cannot take away the role '{assignment.role.name}': it is above your tier.")
    with transaction.atomic():
        _audit(
            "access:assignment:delete",
            actor,
            assignment,
            kind="access:assignment",
            metadata=_assignment_facts(assignment),
        )
        assignment.delete()
        _changed()


# --- Tenant policies ------------------------------------------------------------------------------


def policy_check(text: str):
    """(compiled statements by id-less order, problems): Cedar's parse and schema checks, and our own."""
    from . import engine
    from .cedar_source import Problem, check, entity_references, locate

    statements, problems = check(text or "", engine.schema())
    if problems:
        return [], problems
    known = set(Group.objects.values_list("name", flat=True))
    for statement in statements:
        for ref in entity_references(statement):
            if ref["type"] == engine.GROUP_TYPE and ref["id"] not in known:
                where = locate(text, f'"{ref["id"]}"') or Problem("")
                problems.append(Problem(f"There is no group named '{ref['id']}'.", where.line, where.column))
            elif ref["type"] == engine.ACTION_TYPE and ref["id"].startswith(engine.BREAK_GLASS_PREFIX):
                where = locate(text, ref["id"]) or Problem("")
                problems.append(
                    Problem(
                        f"Tenant policies do not apply to '{ref['id']}': policy editing stays open to administrators.",
                        where.line,
                        where.column,
                    )
                )
    return (statements if not problems else []), problems


def _permitted_by(statements: list[dict]) -> set[str]:
    """The actions the permit statements can reach (as the engine applies them): what their author must hold."""
    from django.db import connection
    from django_tenants.utils import get_public_schema_name

    from apps.core.permissions import Tier

    from . import engine

    ceiling = Tier.PROVIDER if connection.schema_name == get_public_schema_name() else Tier.TENANT_ADMIN
    reachable = {
        p.name
        for p in registry.all_permissions()
        if p.tier <= ceiling and not p.name.startswith(engine.BREAK_GLASS_PREFIX)
    }
    permitted: set[str] = set()
    for statement in statements:
        if statement.get("effect") == "permit":
            actions = engine._tenant_policy_actions(statement)
            permitted |= reachable if actions is None else (set(actions) & reachable)
    return permitted


def _compiled(name: str, statements: list[dict]) -> dict[str, dict]:
    if len(statements) == 1:
        return {f"policy/{name}": statements[0]}
    return {f"policy/{name}/{n}": statement for n, statement in enumerate(statements, start=1)}


def policy_save(
    *,
    actor,
    name: str,
    text: str,
    description: str | None = None,
    enabled: bool = True,
    policy: Policy | None = None,
) -> Policy:
    """Create (``policy`` None) or replace a tenant policy; invalid Cedar is refused with line and column."""
    slug = slugify(name or "")[:64]
    errors: dict[str, list[str]] = {}
    if policy is None:
        if not slug:
            errors.setdefault("name", []).append("Give the policy a name made of letters, digits or dashes.")
        elif Policy.objects.filter(name=slug).exists():
            errors.setdefault("name", []).append(f"A policy named '{slug}' already exists.")
    statements, problems = policy_check(text)
    if problems:
        errors.setdefault("text", []).extend(str(problem) for problem in problems)
    if errors:
        raise ValidationError(errors)
    _require_holds(actor, _permitted_by(statements), "save that policy")
    with transaction.atomic():
        policy = Policy(name=slug) if policy is None else Policy.objects.select_for_update().get(pk=policy.pk)
        policy.text = text
        policy.compiled = _compiled(policy.name, statements)
        if description is not None or not policy.pk:
            policy.description = (description or "").strip()  # None keeps a saved policy's description
        policy.enabled = bool(enabled)
        policy.updated_by = actor if getattr(actor, "pk", None) else None
        created = policy.pk is None
        before = "" if created else Policy.objects.filter(pk=policy.pk).values_list("text", flat=True).first()
        policy.save()
        _audit(
            "access:policy:update",
            actor,
            policy,
            kind="access:policy",
            changes={} if before == policy.text else {"text": [before, policy.text]},
            metadata={"created": created, "enabled": policy.enabled},
        )
        _changed()
    return policy


def policy_delete(*, policy: Policy, actor=None) -> None:
    with transaction.atomic():
        _audit("access:policy:update", actor, policy, kind="access:policy", metadata={"deleted": True})
        Policy.objects.filter(pk=policy.pk).delete()
        _changed()


# --- Object grants (django-guardian) ---------------------------------------------------------------


def _grant_target(action: str, kind: str, object_id):
    from django.contrib.auth.models import Permission as DjangoPermission

    from .selectors import content_type_id

    permission = registry.get(action)
    if permission is None:
        raise ValidationError({"permission": f"Unknown permission '{action}'."})
    declared = registry.resource_kind(kind)
    if declared is None or not declared.model:
        raise ValidationError({"kind": f"'{kind}' objects cannot be granted one by one."})
    if action.rsplit(":", 1)[0] != kind:
        raise ValidationError({"permission": f"'{action}' is not a permission on {declared.label.lower()}s."})
    model = apps.get_model(declared.model)
    try:
        obj = model.objects.filter(pk=object_id).first()
    except (ValueError, TypeError, DjangoValidationError):
        obj = None
    if obj is None:
        raise ValidationError({"object_id": f"There is no {declared.label.lower()} '{object_id}'."})
    # Content type ids can differ between schemas: never a process-wide cache (Django's, guardian's) here.
    django_permission, _ = DjangoPermission.objects.get_or_create(
        content_type_id=content_type_id(declared.model), codename=action, defaults={"name": permission.label[:255]}
    )
    return permission, obj, django_permission


def _within_tier(actor, permission: str, verb: str) -> None:
    # Before the object is looked up: else the answer would tell whether an id exists (tenancy:tenant rows are
    # the provider's, in public, which every schema's search path reaches).
    declared = registry.get(permission)
    ceiling = principal_tier(actor)
    if declared is not None and not declared.tier <= ceiling:
        raise PermissionDenied(f"You cannot {verb} '{permission}': it is above your tier ({ceiling.label}).")


def object_grant_add(*, actor, permission: str, kind: str, object_id, user=None, group: Group | None = None):
    """Grant ``permission`` on one object to one user or group (a django-guardian row); never above the actor's tier."""
    from guardian.models import GroupObjectPermission, UserObjectPermission

    if (user is None) == (group is None):
        raise ValidationError("Grant to exactly one user or one group.")
    _within_tier(actor, permission, "grant")
    _, obj, django_permission = _grant_target(permission, kind, object_id)
    if actor is not None:
        from apps.core.authorization import Resource

        from . import engine

        if not engine.authorize(actor, permission, Resource.of(kind, obj), {"source": "task"}).allowed:
            raise PermissionDenied(
                f"You cannot grant '{permission}' on this object: you do not hold it there yourself."
            )
    with transaction.atomic():
        if user is not None:
            _here(user)
            row, _ = UserObjectPermission.objects.get_or_create(
                user=user,
                permission=django_permission,
                content_type_id=django_permission.content_type_id,
                object_pk=str(obj.pk),
            )
        else:
            group = Group.objects.select_for_update().get(pk=group.pk)
            if group.auth_group is None:
                from django.contrib.auth.models import Group as AuthGroup

                group.auth_group = AuthGroup.objects.create(name=f"access-group-{group.pk}")
                group.save(update_fields=["auth_group"])
            row, _ = GroupObjectPermission.objects.get_or_create(
                group=group.auth_group,
                permission=django_permission,
                content_type_id=django_permission.content_type_id,
                object_pk=str(obj.pk),
            )
        _audit(
            "access:grant:create",
            actor,
            obj,
            kind=kind,
            metadata={"permission": permission, "to": user.email if user is not None else f"group {group.name}"},
        )
        _changed()
    return row


def object_grant_remove(*, actor, permission: str, kind: str, object_id, user=None, group: Group | None = None):
    from guardian.models import GroupObjectPermission, UserObjectPermission

    if (user is None) == (group is None):
        raise ValidationError("Name exactly one user or one group.")
    _within_tier(actor, permission, "withdraw")
    _, obj, django_permission = _grant_target(permission, kind, object_id)
    with transaction.atomic():
        rows = {"permission": django_permission, "object_pk": str(obj.pk)}
        _audit(
            "access:grant:delete",
            actor,
            obj,
            kind=kind,
            metadata={"permission": permission, "from": user.email if user is not None else f"group {group.name}"},
        )
        if user is not None:
            UserObjectPermission.objects.filter(user=user, **rows).delete()
        else:
            # From the row, not the caller's instance, which may predate the grant that made the auth group.
            auth_group_id = Group.objects.filter(pk=group.pk).values_list("auth_group_id", flat=True).first()
            if auth_group_id is not None:
                GroupObjectPermission.objects.filter(group_id=auth_group_id, **rows).delete()
        _changed()
