"""``{% can "app:resource:action" [object_kind obj] as allowed %}``: show a control only to those the engine allows.

A hidden button is a courtesy, not the protection: the view behind it checks
again. Answers are memoised per request, so a table of rows costs one
decision per distinct question.
"""

from django import template

from apps.core.authorization import Resource
from apps.core.authorization import can as _can

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context, action: str, kind: str | None = None, obj=None) -> bool:
    request = context.get("request")
    if request is None:
        return False
    resource = Resource.of(kind, obj) if kind and obj is not None else None
    return _can(request, action, resource)
