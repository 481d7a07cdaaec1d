"""Any write to what decisions are made from retires the schema's cached answers, whoever made it.

``services`` already bump the access version on each change; these receivers
cover the writes that bypass them (a cascade when a user is deleted, a shell
session, django-guardian's own helpers), once the transaction commits.
"""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from .models import Group, GroupNesting, Policy, Role, RoleAssignment
from .selectors import bump_access_version


def _bump_on_commit(**kwargs) -> None:
    if kwargs.get("raw"):
        return  # loading fixtures
    transaction.on_commit(bump_access_version)


def connect() -> None:
    from guardian.models import GroupObjectPermission, UserObjectPermission

    for model in (Group, GroupNesting, Policy, Role, RoleAssignment, UserObjectPermission, GroupObjectPermission):
        post_save.connect(_bump_on_commit, sender=model, dispatch_uid=f"access.version.save.{model._meta.label}")
        post_delete.connect(_bump_on_commit, sender=model, dispatch_uid=f"access.version.delete.{model._meta.label}")
    m2m_changed.connect(_bump_on_commit, sender=Group.members.through, dispatch_uid="access.version.members")
