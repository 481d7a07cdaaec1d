"""``{% access_tabs %}``: the sections of /access/ the user may see, as tabs (the "access" menu of the registry)."""

from django import template

from apps.core.navigation import menu_for

register = template.Library()


@register.inclusion_tag("access/_tabs.html", takes_context=True)
def access_tabs(context):
    request = context.get("request")
    return {"links": menu_for(request, "access") if request is not None else []}
