"""Where users sit: in the groups they belong to, so that a role can be assigned over a group's members.

``accounts`` cannot import ``access``, so the user model cannot say which
groups it is in; this module tells ``apps.core.authorization`` instead
(registered at start-up).
"""

from django.db.models import Q

from apps.core.authorization import ScopeProvider, register_scope_provider

from .models import Group
from .selectors import _edges, _reach, user_group_ids

GROUP_SCOPE = "access:group"


def _user_scopes(user) -> list[tuple[str, str]]:
    return [(GROUP_SCOPE, str(group_id)) for group_id in sorted(user_group_ids(user))]


def _users_in(scope_type: str, scope_id: str):
    if scope_type != GROUP_SCOPE or not str(scope_id).isdigit():
        return None
    _, children = _edges()
    groups = _reach({int(scope_id)}, children)
    # A subquery, not a join: a user in two of these groups is still one row.
    return Q(pk__in=Group.members.through.objects.filter(group_id__in=groups).values("user_id"))


def install() -> None:
    register_scope_provider("accounts:user", ScopeProvider(scopes_of=_user_scopes, rows_in=_users_in))
