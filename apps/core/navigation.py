"""The navigation registry: apps add their pages to the shell's menus without the shell knowing them.

An app registers its entries from ``AppConfig.ready``; the ``navigation``
context processor picks those whose host kind matches the request and whose
``visible(request)`` says yes. Replacing ``visible`` with a call into the
permission engine is how access control will plug in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

PROVIDER = "provider"
TENANT = "tenant"


def signed_in(request: HttpRequest) -> bool:
    return request.user.is_authenticated


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: str
    url_name: str
    menu: str = "main"  # "main" (top bar) or "user" (the account menu)
    hosts: tuple[str, ...] = (TENANT,)
    order: int = 100
    visible: Callable[[HttpRequest], bool] = field(default=signed_in, compare=False)


@dataclass(frozen=True)
class MenuLink:
    key: str
    label: str
    url: str
    active: bool


_registry: dict[str, MenuItem] = {}


def register(item: MenuItem) -> None:
    """Add or replace (by key) a menu entry."""
    _registry[item.key] = item


def unregister(key: str) -> None:
    _registry.pop(key, None)


def menu_for(request: HttpRequest, menu: str) -> list[MenuLink]:
    tenant = getattr(request, "tenant", None)
    if tenant is None:
        return []
    host_kind = PROVIDER if getattr(tenant, "is_provider", False) else TENANT
    links = []
    for item in sorted(_registry.values(), key=lambda i: (i.order, i.label)):
        if item.menu != menu or host_kind not in item.hosts or not item.visible(request):
            continue
        try:
            url = reverse(item.url_name, urlconf=getattr(request, "urlconf", None))
        except NoReverseMatch:
            continue
        active = request.path == url if url == "/" else request.path.startswith(url)
        links.append(MenuLink(item.key, item.label, url, active))
    return links
