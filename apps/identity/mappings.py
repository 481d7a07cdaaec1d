"""Claim and attribute mappings: which groups and roles an IdP's assertion grants, at every sign-in.

A provider's rules are read against the asserted attributes (values always
lists of strings, whatever the protocol sent). ``evaluate`` says what they
grant, without touching anything: the preview on the provider's page runs it
on a sample token. ``apply`` makes the user's grants from this provider equal
to that: what matches is added, what a rule of this provider granted earlier
and no longer matches is taken back. Grants made by hand, or by another
provider's rules, are never touched (``MappingGrant`` remembers the rules' own).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from apps.access import services as access_services
from apps.access.models import Group, Role, RoleAssignment
from apps.audit.recorder import record

from .models import ClaimMapping, IdentityProvider, MappingGrant, MappingOperator

MAX_VALUES_PER_CLAIM = 1000  # an assertion naming more groups than this is cut, not trusted to be sane


def normalized_attributes(raw: dict) -> dict[str, list[str]]:
    """Claims or attributes as name → list of strings (scalars become one-item lists; nested objects are skipped)."""
    result: dict[str, list[str]] = {}
    for name, value in (raw or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        kept = [str(v) if not isinstance(v, bool) else ("true" if v else "false") for v in values if _scalar(v)]
        result[str(name)] = kept[:MAX_VALUES_PER_CLAIM]
    return result


def _scalar(value) -> bool:
    return isinstance(value, str | int | float | bool)


def matches(mapping: ClaimMapping, attributes: dict[str, list[str]]) -> bool:
    values = attributes.get(mapping.claim)
    if values is None:
        return False
    if mapping.operator == MappingOperator.IS_PRESENT:
        return True
    if mapping.operator == MappingOperator.HAS_VALUE_STARTING:
        return any(value.startswith(mapping.value) for value in values)
    return mapping.value in values


@dataclass
class Evaluation:
    """What a provider's rules grant for one set of attributes (the preview shows it as it is)."""

    matched: list[ClaimMapping] = field(default_factory=list)
    unmatched: list[ClaimMapping] = field(default_factory=list)

    @property
    def groups(self) -> list[Group]:
        return _unique(m.group for m in self.matched if m.group_id)

    @property
    def roles(self) -> list[Role]:
        return _unique(m.role for m in self.matched if m.role_id)


def _unique(items) -> list:
    seen, result = set(), []
    for item in items:
        if item.pk not in seen:
            seen.add(item.pk)
            result.append(item)
    return result


def evaluate(provider: IdentityProvider, attributes: dict[str, list[str]]) -> Evaluation:
    evaluation = Evaluation()
    for mapping in provider.mappings.select_related("group", "role"):
        (evaluation.matched if matches(mapping, attributes) else evaluation.unmatched).append(mapping)
    return evaluation


@dataclass
class Outcome:
    """What ``apply`` changed for one sign-in."""

    groups_added: list[str] = field(default_factory=list)
    groups_removed: list[str] = field(default_factory=list)
    roles_added: list[str] = field(default_factory=list)
    roles_removed: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict:
        return {name: value for name, value in vars(self).items() if value}

    @property
    def changed(self) -> bool:
        return bool(self.as_metadata())


def apply(*, provider: IdentityProvider, user, attributes: dict[str, list[str]]) -> Outcome:
    """Make ``user``'s grants from ``provider``'s rules match ``attributes``; records what changed."""
    evaluation = evaluate(provider, attributes)
    outcome = Outcome()
    with transaction.atomic():
        held = {(g.group_id, g.role_id): g for g in MappingGrant.objects.filter(provider=provider, user=user)}
        wanted_groups = {group.pk: group for group in evaluation.groups}
        wanted_roles = {role.pk: role for role in evaluation.roles}
        # actor=None: the provider's rules act for the system; their author was checked when saving them.
        for group in wanted_groups.values():
            if (group.pk, None) in held:
                continue
            if group.members.filter(pk=user.pk).exists():
                continue  # given by hand (or by another provider): not this provider's to take back later
            access_services.group_member_add(group=group, user=user, actor=None)
            outcome.groups_added.append(group.name)
            MappingGrant.objects.create(provider=provider, user=user, group=group)
        for role in wanted_roles.values():
            if (None, role.pk) in held:
                continue
            tenant_wide = {"scope_type": RoleAssignment.SCOPE_TENANT, "scope_id": ""}
            if RoleAssignment.objects.filter(role=role, user=user, **tenant_wide).exists():
                continue
            access_services.role_assign(actor=None, role=role, user=user)
            outcome.roles_added.append(role.name)
            MappingGrant.objects.create(provider=provider, user=user, role=role)
        for (group_id, role_id), grant in held.items():
            if group_id is not None and group_id not in wanted_groups:
                access_services.group_member_remove(group=grant.group, user=user, actor=None)
                outcome.groups_removed.append(grant.group.name)
                grant.delete()
            elif role_id is not None and role_id not in wanted_roles:
                assignment = RoleAssignment.objects.filter(
                    role_id=role_id, user=user, scope_type=RoleAssignment.SCOPE_TENANT, scope_id=""
                ).first()
                if assignment is not None:
                    access_services.role_unassign(actor=None, assignment=assignment)
                outcome.roles_removed.append(grant.role.name)
                grant.delete()
        if outcome.changed:
            record(
                "identity:mapping:apply",
                actor=user,
                resource_type="identity.identityprovider",
                resource_id=provider.pk,
                resource_display=provider.name,
                metadata={"provider": provider.slug, **outcome.as_metadata()},
            )
    return outcome
